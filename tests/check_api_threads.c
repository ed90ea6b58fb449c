/* SPDX-License-Identifier: MIT */
/*
 * check_api_threads: who may call what, and when. An unwatch from another
 * thread while the callback for its id runs returns only after that
 * callback, and nothing for the id runs after it; an unwatch from inside
 * the id's own callback does not wait for itself; hupmon_stop ends
 * hupmon_run from another thread and from a signal handler.
 * Real loopback sockets; each test checks that it leaks no fd.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "hupmon.h"

#define HANDSHAKE_MS 5000

/* --- unwatch racing a running callback ---------------------------------- */

#define RACE_WINDOW_MS 150

struct race {
	hupmon *m;
	hupmon_id id;
	int server_fd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool in_cb;	      /* the first callback for id has started */
	bool unwatch_calling; /* the other thread is calling unwatch */
	bool unwatch_done;    /* ... and it returned */
	bool cb_ended;	      /* the first callback is about to return */
	bool cb_ended_at_return;
	int unwatch_rc;
	int callbacks_for_id;
	int late_callbacks; /* started after unwatch returned */
};

/* Waits on r->cond until *flag or ms pass; r->lock held. */
static void race_wait(struct race *r, const bool *flag, int ms)
{
	uint64_t end = fx_now_ns() + (uint64_t)ms * 1000000u;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	for (int i = 0; i < 10000 && !*flag && fx_now_ns() < end; i++)
		pthread_cond_timedwait(&r->cond, &r->lock, &ts);
}

static void race_hook(struct fx_rec *rec, const struct hupmon_event *ev)
{
	struct race *r = rec->hook_arg;

	pthread_mutex_lock(&r->lock);
	if (ev->id != r->id) {
		pthread_mutex_unlock(&r->lock);
		return;
	}
	r->callbacks_for_id++;
	if (r->unwatch_done)
		r->late_callbacks++;
	if (r->in_cb) {
		pthread_mutex_unlock(&r->lock);
		return;
	}
	r->in_cb = true;
	pthread_cond_broadcast(&r->cond);
	race_wait(r, &r->unwatch_calling, HANDSHAKE_MS);
	pthread_mutex_unlock(&r->lock);

	/* Queue one more event for id while we still run: our byte draws an
	 * RST (RESET/EPIPE), which must never be reported after unwatch. */
	ck_assert_int_eq(send(r->server_fd, "x", 1, MSG_NOSIGNAL), 1);

	/* Give a wrong unwatch the chance to return while we still run. */
	pthread_mutex_lock(&r->lock);
	race_wait(r, &r->unwatch_done, RACE_WINDOW_MS);
	r->cb_ended = true;
	pthread_mutex_unlock(&r->lock);
}

static void *race_unwatcher(void *arg)
{
	struct race *r = arg;
	int rc;

	pthread_mutex_lock(&r->lock);
	race_wait(r, &r->in_cb, HANDSHAKE_MS);
	r->unwatch_calling = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);

	rc = hupmon_unwatch(r->m, r->id);

	pthread_mutex_lock(&r->lock);
	r->unwatch_rc = rc;
	r->cb_ended_at_return = r->cb_ended;
	r->unwatch_done = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static bool race_over(hupmon *m, struct fx_rec *rec, void *arg)
{
	struct race *r = arg;
	bool done;

	(void)m;
	(void)rec;
	pthread_mutex_lock(&r->lock);
	done = r->unwatch_done;
	pthread_mutex_unlock(&r->lock);
	return done;
}

START_TEST(test_unwatch_races_callback)
{
	int family = fx_family_of(_i);
	struct fx_rec rec;
	struct race r;
	pthread_t th;
	int c;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	for (int round = 0; round < 3; round++) {
		fx_rec_init(&rec);
		memset(&r, 0, sizeof(r));
		pthread_mutex_init(&r.lock, NULL);
		pthread_cond_init(&r.cond, NULL);
		rec.on_event = race_hook;
		rec.hook_arg = &r;
		m = fx_new_epoll_monitor(&rec, false);
		fx_pair_ok(family, &r.server_fd, &c);
		r.m = m;
		r.id = fx_watch_ok(m, r.server_fd, NULL);
		ck_assert_int_eq(pthread_create(&th, NULL, race_unwatcher, &r),
				 0);

		fx_close_fin(c);
		ck_assert_msg(fx_dispatch_until(m, &rec, race_over, &r,
						3 * HANDSHAKE_MS),
			      "unwatch never returned");
		ck_assert_int_eq(pthread_join(th, NULL), 0);
		/* The RST queued during the callback must stay unreported. */
		fx_dispatch_for(m, FX_QUIET_MS);

		ck_assert_int_eq(r.unwatch_rc, 0);
		ck_assert_msg(r.cb_ended_at_return,
			      "hupmon_unwatch returned while the callback "
			      "for its id was still running");
		ck_assert_msg(r.late_callbacks == 0,
			      "%d callbacks for id started after unwatch "
			      "returned",
			      r.late_callbacks);
		ck_assert_int_eq(r.callbacks_for_id, 1);
		ck_assert_uint_eq(fx_rec_count(&rec), 1);
		ck_assert_uint_eq(
			fx_rec_count_id_cause(&rec, r.id,
					      HUPMON_CAUSE_PEER_SHUTDOWN),
			1);

		fx_close_ok(r.server_fd);
		hupmon_free(m);
		pthread_cond_destroy(&r.cond);
		pthread_mutex_destroy(&r.lock);
		fx_rec_destroy(&rec);
	}
}
END_TEST

/* --- unwatch from inside its own callback ------------------------------- */

struct self_unwatch {
	hupmon *m;
	int server_fd;
	int calls;
	int rc;
	int rc_again;
	uint64_t watched_after;
};

static void self_unwatch_hook(struct fx_rec *rec, const struct hupmon_event *ev)
{
	struct self_unwatch *su = rec->hook_arg;
	struct hupmon_stats st;

	su->calls++;
	su->rc = hupmon_unwatch(su->m, ev->id); /* must not wait for itself */
	su->rc_again = hupmon_unwatch(su->m, ev->id);
	hupmon_stats(su->m, &st);
	su->watched_after = st.watched;
	/* An RST that would escalate if the socket were still watched. */
	ck_assert_int_eq(send(su->server_fd, "x", 1, MSG_NOSIGNAL), 1);
}

START_TEST(test_unwatch_in_callback)
{
	int family = fx_family_of(_i);
	struct fx_rec rec;
	struct self_unwatch su;
	int c;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	memset(&su, 0, sizeof(su));
	rec.on_event = self_unwatch_hook;
	rec.hook_arg = &su;
	m = fx_new_epoll_monitor(&rec, false);
	su.m = m;
	fx_pair_ok(family, &su.server_fd, &c);
	fx_watch_ok(m, su.server_fd, NULL);

	fx_close_fin(c);
	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_DEADLINE_MS));
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_int_eq(su.calls, 1);
	ck_assert_int_eq(su.rc, 0);
	ck_assert_int_eq(su.rc_again, -ENOENT);
	ck_assert_uint_eq(su.watched_after, 0);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);

	fx_close_ok(su.server_fd);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- stopping hupmon_run ------------------------------------------------ */

struct stopper {
	hupmon *m;
	pthread_t target; /* thread to signal, when by_signal */
	bool by_signal;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool seen; /* a callback ran: hupmon_run is running */
};

static hupmon *volatile sig_monitor;

static void on_sigusr1(int sig)
{
	(void)sig;
	hupmon_stop(sig_monitor);
}

static void stopper_hook(struct fx_rec *rec, const struct hupmon_event *ev)
{
	struct stopper *sp = rec->hook_arg;

	(void)ev;
	pthread_mutex_lock(&sp->lock);
	sp->seen = true;
	pthread_cond_broadcast(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
}

static void *stopper_main(void *arg)
{
	struct stopper *sp = arg;
	uint64_t end = fx_now_ns() + (uint64_t)HANDSHAKE_MS * 1000000u;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += HANDSHAKE_MS / 1000 + 1;
	pthread_mutex_lock(&sp->lock);
	for (int i = 0; i < 10000 && !sp->seen && fx_now_ns() < end; i++)
		pthread_cond_timedwait(&sp->cond, &sp->lock, &ts);
	pthread_mutex_unlock(&sp->lock);
	/* Stop whether or not the callback came, so the test cannot hang;
	 * the main thread then checks the callback did come first. */
	if (sp->by_signal)
		pthread_kill(sp->target, SIGUSR1);
	else
		hupmon_stop(sp->m);
	return NULL;
}

static void stop_run(bool by_signal)
{
	struct fx_rec rec;
	struct stopper sp;
	struct sigaction sa, old;
	pthread_t th;
	int s, c, rc;
	hupmon_id id;
	hupmon *m;

	fx_rec_init(&rec);
	memset(&sp, 0, sizeof(sp));
	pthread_mutex_init(&sp.lock, NULL);
	pthread_cond_init(&sp.cond, NULL);
	rec.on_event = stopper_hook;
	rec.hook_arg = &sp;
	m = fx_new_epoll_monitor(&rec, false);
	sp.m = m;
	sp.target = pthread_self();
	sp.by_signal = by_signal;

	/* A stop requested before run makes it return at once. */
	hupmon_stop(m);
	ck_assert_int_eq(hupmon_run(m), 0);

	if (by_signal) {
		sig_monitor = m;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sigusr1;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = 0; /* no SA_RESTART: epoll_wait sees EINTR */
		ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
	}
	fx_pair_ok(AF_INET, &s, &c);
	id = fx_watch_ok(m, s, NULL);
	ck_assert_int_eq(pthread_create(&th, NULL, stopper_main, &sp), 0);
	/* The closure's callback tells the other thread run is running;
	 * the earlier stop must not end this run. */
	fx_close_fin(c);
	rc = hupmon_run(m);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(sp.seen, "hupmon_run returned before the closure was "
			       "reported (a stale stop?)");
	ck_assert_uint_eq(
		fx_rec_count_id_cause(&rec, id, HUPMON_CAUSE_PEER_SHUTDOWN), 1);
	if (by_signal) {
		ck_assert_int_eq(sigaction(SIGUSR1, &old, NULL), 0);
		sig_monitor = NULL;
	}

	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	hupmon_free(m);
	pthread_cond_destroy(&sp.cond);
	pthread_mutex_destroy(&sp.lock);
	fx_rec_destroy(&rec);
}

START_TEST(test_stop_from_thread)
{
	stop_run(false);
}
END_TEST

START_TEST(test_stop_from_signal)
{
	stop_run(true);
}
END_TEST

/* --- suite -------------------------------------------------------------- */

static Suite *threads_suite(void)
{
	Suite *su = suite_create("api_threads");

	/* loops: 2 = IPv4 and IPv6 */
	fx_add_case(su, "unwatch_races_callback", test_unwatch_races_callback,
		    2, 60);
	fx_add_case(su, "unwatch_in_callback", test_unwatch_in_callback, 2, 10);
	fx_add_case(su, "stop_from_thread", test_stop_from_thread, 0, 20);
	fx_add_case(su, "stop_from_signal", test_stop_from_signal, 0, 20);
	return su;
}

int main(void)
{
	return fx_run_suite(threads_suite());
}
