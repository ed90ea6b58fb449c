/* SPDX-License-Identifier: MIT */
/*
 * check_waits: the waits inside the monitor never form a cycle between
 * legal calls (src/watch.c lists them). Each case forces one interleaving
 * with barriers on the monitor's own waiting state, then waits for every
 * call to return with a generous deadline: a deadlock fails the test with
 * a message instead of hanging it.
 *
 *   - an unwatch of X from another thread while X's callback runs, and that
 *     callback watches the same fd number (the same socket, or a new one
 *     put on the number after its own unwatch answered -ENOENT);
 *   - hupmon_free from X's callback while another thread waits in an
 *     unwatch of X for that callback (the free waits for it to leave);
 *   - two threads unwatch one id: the one answered -ENOENT returns only
 *     after the winner's EPOLL_CTL_DEL (held in a test hook).
 *
 * Real loopback sockets; each test checks that it leaks no fd.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "hupmon.h"
#include "state.h"

/* Long enough for any machine to reach a barrier; a deadlock exceeds it. */
#define BARRIER_MS 5000

/* --- a small shared state, waited on with deadlines --------------------- */

struct waits {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	hupmon *m;
	hupmon_id id;
	int fd;	      /* the watched server end */
	int other_fd; /* another connection's server end (reuse case) */
	int mode;     /* what the callback does, enum below */

	bool in_cb;	   /* X's callback started */
	bool cb_done;	   /* ... and returned */
	bool unwatch_done; /* the other thread's unwatch returned */
	int unwatch_rc;
	int cb_unwatch_rc; /* the callback's own unwatch of X */
	int cb_watch_rc;   /* the callback's watch of the number */
	hupmon_id new_id;
	hupmon_id hangup_ids[8];
	int hangups;
	bool dispatcher_done;
	int dispatch_rc;
};

enum { CB_WATCH_SAME, CB_REWATCH_REUSED, CB_FREE };

static void waits_init(struct waits *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->fd = w->other_fd = -1;
}

static void waits_destroy(struct waits *w)
{
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Waits until *flag or ms pass; returns *flag. */
static bool wait_flag(struct waits *w, const bool *flag, int ms)
{
	struct timespec ts;
	bool v;

	deadline_in(&ts, ms);
	pthread_mutex_lock(&w->lock);
	while (!*flag &&
	       pthread_cond_timedwait(&w->cond, &w->lock, &ts) != ETIMEDOUT)
		;
	v = *flag;
	pthread_mutex_unlock(&w->lock);
	return v;
}

static void set_flag(struct waits *w, bool *flag)
{
	pthread_mutex_lock(&w->lock);
	*flag = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Waits until some thread waits inside the monitor (m->waiters), or ms
 * pass. Polls: the monitor's own condition variable is not ours to wait
 * on, and the poll has a bound. */
static bool monitor_has_waiter(hupmon *m, int ms)
{
	uint64_t end = fx_now_ns() + (uint64_t)ms * 1000000u;
	struct timespec pause = {0, 1000000};
	bool yes = false;

	while (!yes && fx_now_ns() < end) {
		pthread_mutex_lock(&m->lock);
		yes = m->waiters > 0;
		pthread_mutex_unlock(&m->lock);
		if (!yes)
			nanosleep(&pause, NULL);
	}
	return yes;
}

/* --- the callback and the two threads ----------------------------------- */

static void on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct waits *w = arg;
	bool first;

	pthread_mutex_lock(&w->lock);
	if (w->hangups < 8)
		w->hangup_ids[w->hangups] = ev->id;
	w->hangups++;
	first = ev->id == w->id && !w->in_cb;
	pthread_mutex_unlock(&w->lock);
	if (!first)
		return;
	set_flag(w, &w->in_cb);
	/* The other thread is now parked in hupmon_unwatch(X), waiting for
	 * this callback. */
	ck_assert_msg(monitor_has_waiter(w->m, BARRIER_MS),
		      "the unwatching thread never waited for the callback");
	switch (w->mode) {
	case CB_WATCH_SAME:
		w->cb_watch_rc = hupmon_watch(w->m, w->fd, NULL, &w->new_id);
		break;
	case CB_REWATCH_REUSED:
		/* As a server does: unwatch (already done by the other
		 * thread: -ENOENT), close, and a new connection gets the
		 * same number. */
		w->cb_unwatch_rc = hupmon_unwatch(w->m, ev->id);
		ck_assert_int_eq(close(w->fd), 0);
		ck_assert_int_eq(dup2(w->other_fd, w->fd), w->fd);
		w->cb_watch_rc = hupmon_watch(w->m, w->fd, NULL, &w->new_id);
		break;
	case CB_FREE:
		hupmon_free(w->m);
		break;
	}
	set_flag(w, &w->cb_done);
}

static void *unwatcher(void *arg)
{
	struct waits *w = arg;
	int rc;

	ck_assert(wait_flag(w, &w->in_cb, BARRIER_MS));
	rc = hupmon_unwatch(w->m, w->id);
	pthread_mutex_lock(&w->lock);
	w->unwatch_rc = rc;
	w->unwatch_done = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Dispatches until X's callback has returned (or the deadline passed):
 * on a thread of its own, so that a deadlock inside the callback is seen
 * by the test's thread instead of hanging it. After a free from the
 * callback the dispatch call is the last one. */
static void *dispatcher(void *arg)
{
	struct waits *w = arg;
	uint64_t end = fx_now_ns() + 3ull * BARRIER_MS * 1000000u;
	int rc = 0;
	bool done = false;

	while (!done && rc >= 0 && fx_now_ns() < end) {
		rc = hupmon_dispatch(w->m, 50);
		pthread_mutex_lock(&w->lock);
		done = w->cb_done;
		pthread_mutex_unlock(&w->lock);
	}
	pthread_mutex_lock(&w->lock);
	w->dispatch_rc = rc;
	w->dispatcher_done = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static hupmon *new_monitor(struct waits *w)
{
	struct hupmon_config cfg = {
		.paths = HUPMON_PATH_EPOLL,
		.on_hangup = on_hangup,
		.arg = w,
	};
	hupmon *m = NULL;

	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	return m;
}

static bool hangup_seen(struct waits *w, hupmon_id id)
{
	bool seen = false;

	pthread_mutex_lock(&w->lock);
	for (int i = 0; i < w->hangups && i < 8; i++)
		seen |= w->hangup_ids[i] == id;
	pthread_mutex_unlock(&w->lock);
	return seen;
}

/* The free case's stand-in for epoll_ctl: a DEL made after X's callback
 * returned (by an unwatch that waited for it before its DEL) is held until
 * the dispatch call that frees the monitor has returned (or 1 s), and
 * notes whether it had: then the monitor was freed under that unwatch. */
static struct waits *free_case;
static bool freed_under_unwatch;

static int free_case_ctl(struct hupmon *m, int op, int fd,
			 struct epoll_event *ev)
{
	struct waits *w = free_case;

	if (op == EPOLL_CTL_DEL) {
		pthread_mutex_lock(&w->lock);
		bool late = w->cb_done;
		pthread_mutex_unlock(&w->lock);
		if (late && wait_flag(w, &w->dispatcher_done, 1000))
			freed_under_unwatch = true;
	}
	return epoll_ctl(m->epfd, op, fd, ev) < 0 ? -errno : 0;
}

/* Runs one case: X watched, its peer FINs, another thread unwatches X
 * while X's callback (mode) runs. Returns with every thread joined, or
 * fails the test if one is stuck. */
static void run_case(struct waits *w, int mode)
{
	pthread_t disp, unw;
	int c, other_c = -1;

	w->mode = mode;
	w->m = new_monitor(w);
	if (mode == CB_FREE) {
		free_case = w;
		w->m->ctl_hook = free_case_ctl;
	}
	fx_pair_ok(AF_INET, &w->fd, &c);
	if (mode == CB_REWATCH_REUSED)
		fx_pair_ok(AF_INET, &w->other_fd, &other_c);
	w->id = fx_watch_ok(w->m, w->fd, NULL);
	ck_assert_int_eq(pthread_create(&unw, NULL, unwatcher, w), 0);
	ck_assert_int_eq(pthread_create(&disp, NULL, dispatcher, w), 0);
	fx_close_fin(c);

	ck_assert_msg(wait_flag(w, &w->unwatch_done, 3 * BARRIER_MS) &&
			      wait_flag(w, &w->dispatcher_done, 3 * BARRIER_MS),
		      "deadlock: unwatch %s, callback %s, dispatch %s",
		      w->unwatch_done ? "returned" : "stuck",
		      w->cb_done ? "returned" : "stuck",
		      w->dispatcher_done ? "returned" : "stuck");
	ck_assert_int_eq(pthread_join(unw, NULL), 0);
	ck_assert_int_eq(pthread_join(disp, NULL), 0);
	ck_assert_int_eq(w->unwatch_rc, 0);
	if (other_c >= 0)
		fx_close_ok(other_c);
}

/* --- 1. the callback watches the number its unwatch is removing ---------- */

START_TEST(test_callback_watches_same_number)
{
	struct waits w;

	waits_init(&w);
	run_case(&w, CB_WATCH_SAME);
	/* The watch made inside the callback is live: the peer has left, so
	 * its registration reports at once, unless a late DEL removed it. */
	ck_assert_int_eq(w.cb_watch_rc, 0);
	ck_assert_uint_ne(w.new_id, 0);
	for (int i = 0; i < 40 && !hangup_seen(&w, w.new_id); i++)
		ck_assert_int_ge(hupmon_dispatch(w.m, 50), 0);
	ck_assert_msg(hangup_seen(&w, w.new_id),
		      "the watch made in the callback was never reported");
	fx_unwatch_ok(w.m, w.new_id);
	fx_close_ok(w.fd);
	hupmon_free(w.m);
	waits_destroy(&w);
}
END_TEST

START_TEST(test_callback_rewatches_reused_number)
{
	struct waits w;

	waits_init(&w);
	run_case(&w, CB_REWATCH_REUSED);
	ck_assert_int_eq(w.cb_unwatch_rc, -ENOENT);
	ck_assert_int_eq(w.cb_watch_rc, 0);
	/* The new connection on the old number is watched: its peer already
	 * left (closed in run_case). */
	for (int i = 0; i < 40 && !hangup_seen(&w, w.new_id); i++)
		ck_assert_int_ge(hupmon_dispatch(w.m, 50), 0);
	ck_assert_msg(hangup_seen(&w, w.new_id),
		      "the connection watched on the reused number was never "
		      "reported");
	fx_unwatch_ok(w.m, w.new_id);
	fx_close_ok(w.fd);
	fx_close_ok(w.other_fd);
	hupmon_free(w.m);
	waits_destroy(&w);
}
END_TEST

/* --- 2. a deferred free while another thread waits for the callback ------ */

START_TEST(test_free_from_callback_while_unwatch_waits)
{
	struct waits w;

	waits_init(&w);
	run_case(&w, CB_FREE);
	ck_assert_int_ge(w.dispatch_rc, 0);
	ck_assert_msg(!freed_under_unwatch,
		      "hupmon_free from the callback freed the monitor while "
		      "an unwatch waiting for that callback was still in it");
	fx_close_ok(w.fd);
	waits_destroy(&w);
}
END_TEST

/* --- 3. two unwatches of one id: -ENOENT only after the DEL -------------- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool in_del;
	bool release;
	bool del_over;
} hold = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false,
	  false};

/* Holds an EPOLL_CTL_DEL until the test releases it. */
static int held_ctl(struct hupmon *m, int op, int fd, struct epoll_event *ev)
{
	struct timespec ts;
	int rc;

	if (op == EPOLL_CTL_DEL) {
		deadline_in(&ts, 3 * BARRIER_MS);
		pthread_mutex_lock(&hold.lock);
		hold.in_del = true;
		pthread_cond_broadcast(&hold.cond);
		while (!hold.release &&
		       pthread_cond_timedwait(&hold.cond, &hold.lock, &ts) !=
			       ETIMEDOUT)
			;
		pthread_mutex_unlock(&hold.lock);
	}
	rc = epoll_ctl(m->epfd, op, fd, ev) < 0 ? -errno : 0;
	if (op == EPOLL_CTL_DEL) {
		pthread_mutex_lock(&hold.lock);
		hold.del_over = true;
		pthread_mutex_unlock(&hold.lock);
	}
	return rc;
}

struct loser {
	hupmon *m;
	hupmon_id id;
	int rc;
	bool done;
	bool del_over_at_return;
};

static void *unwatch_thread(void *arg)
{
	struct loser *l = arg;
	int rc = hupmon_unwatch(l->m, l->id);

	pthread_mutex_lock(&hold.lock);
	l->rc = rc;
	l->del_over_at_return = hold.del_over;
	l->done = true;
	pthread_cond_broadcast(&hold.cond);
	pthread_mutex_unlock(&hold.lock);
	return NULL;
}

static bool hold_wait(const bool *flag, int ms)
{
	struct timespec ts;
	bool v;

	deadline_in(&ts, ms);
	pthread_mutex_lock(&hold.lock);
	while (!*flag &&
	       pthread_cond_timedwait(&hold.cond, &hold.lock, &ts) != ETIMEDOUT)
		;
	v = *flag;
	pthread_mutex_unlock(&hold.lock);
	return v;
}

START_TEST(test_enoent_waits_for_winners_del)
{
	struct waits w;
	struct loser win, lose;
	pthread_t tw, tl;
	bool early;
	int c;

	waits_init(&w);
	w.m = new_monitor(&w);
	w.m->ctl_hook = held_ctl;
	fx_pair_ok(AF_INET, &w.fd, &c);
	w.id = fx_watch_ok(w.m, w.fd, NULL);

	win = (struct loser){.m = w.m, .id = w.id};
	lose = win;
	ck_assert_int_eq(pthread_create(&tw, NULL, unwatch_thread, &win), 0);
	ck_assert_msg(hold_wait(&hold.in_del, BARRIER_MS),
		      "the winner's DEL never started");
	ck_assert_int_eq(pthread_create(&tl, NULL, unwatch_thread, &lose), 0);
	/* The loser must wait for the DEL still held: it either parks in
	 * the monitor, or (wrongly) returns at once. */
	for (int i = 0; i < 5000; i++) {
		struct timespec pause = {0, 1000000};
		bool parked;

		pthread_mutex_lock(&w.m->lock);
		parked = w.m->waiters > 0;
		pthread_mutex_unlock(&w.m->lock);
		pthread_mutex_lock(&hold.lock);
		early = lose.done;
		pthread_mutex_unlock(&hold.lock);
		if (parked || early)
			break;
		nanosleep(&pause, NULL);
	}
	ck_assert_msg(!early,
		      "unwatch answered %d while the other thread's "
		      "EPOLL_CTL_DEL of the same id still ran",
		      lose.rc);
	pthread_mutex_lock(&hold.lock);
	hold.release = true;
	pthread_cond_broadcast(&hold.cond);
	pthread_mutex_unlock(&hold.lock);
	ck_assert(hold_wait(&win.done, 3 * BARRIER_MS));
	ck_assert(hold_wait(&lose.done, 3 * BARRIER_MS));
	ck_assert_int_eq(pthread_join(tw, NULL), 0);
	ck_assert_int_eq(pthread_join(tl, NULL), 0);
	ck_assert_int_eq(win.rc, 0);
	ck_assert_int_eq(lose.rc, -ENOENT);
	ck_assert(lose.del_over_at_return);

	fx_close_ok(c);
	fx_close_ok(w.fd);
	hupmon_free(w.m);
	waits_destroy(&w);
}
END_TEST

static Suite *waits_suite(void)
{
	Suite *su = suite_create("waits");

	fx_add_case(su, "callback_watches_same_number",
		    test_callback_watches_same_number, 0, 60);
	fx_add_case(su, "callback_rewatches_reused_number",
		    test_callback_rewatches_reused_number, 0, 60);
	fx_add_case(su, "free_from_callback_while_unwatch_waits",
		    test_free_from_callback_while_unwatch_waits, 0, 60);
	fx_add_case(su, "enoent_waits_for_winners_del",
		    test_enoent_waits_for_winners_del, 0, 60);
	return su;
}

int main(void)
{
	return fx_run_suite(waits_suite());
}
