/*
 * check_e2e_core: the epoll path end to end over real loopback sockets
 * (127.0.0.1 and ::1), against the contract in hupmon.h.
 *
 * Every wait dispatches in short slices until the expected report arrives or
 * a generous deadline passes; every "nothing is reported" check dispatches
 * for a bounded quiet time. Each test checks that it leaks no fd.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "hupmon.h"

/* --- one closure, one report ------------------------------------------- */

static void single_closure(int family, enum fx_action a, enum hupmon_cause want,
			   int want_err)
{
	struct fx_rec rec;
	struct hupmon_event ev;
	struct hupmon_stats st;
	int s, c, tag;
	hupmon_id id;
	uint64_t t;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fx_pair_ok(family, &s, &c);
	id = fx_watch_ok(m, s, &tag);

	/* Alive so far: a dispatch reports nothing. */
	ck_assert_int_eq(hupmon_dispatch(m, 0), 0);
	ck_assert_uint_eq(fx_rec_count(&rec), 0);

	t = fx_act(a, &c);
	ck_assert_msg(fx_dispatch_until_count(m, &rec, 1, FX_DEADLINE_MS),
		      "no report within %d ms", FX_DEADLINE_MS);
	ck_assert(fx_rec_event(&rec, 0, &ev));
	fx_check_event(&ev, HUPMON_PATH_EPOLL, id, s, &tag, want, want_err,
		       false, t);

	/* Nothing else follows: the state does not change any more. */
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);

	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.hangups[HUPMON_PATH_EPOLL][want], 1);
	ck_assert_uint_eq(st.hangups[HUPMON_PATH_SWEEP][want], 0);
	ck_assert_uint_eq(st.escalations, 0);
	ck_assert_uint_eq(st.callbacks, 1);
	ck_assert_uint_ge(st.epoll_events, 1);

	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	fx_close_ok(c);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}

START_TEST(test_fin)
{
	single_closure(fx_family_of(_i), FX_FIN, HUPMON_PEER_SHUTDOWN, 0);
}
END_TEST

START_TEST(test_half_close)
{
	single_closure(fx_family_of(_i), FX_HALF, HUPMON_PEER_SHUTDOWN, 0);
}
END_TEST

START_TEST(test_data_then_fin)
{
	single_closure(fx_family_of(_i), FX_DATA_FIN, HUPMON_PEER_SHUTDOWN, 0);
}
END_TEST

START_TEST(test_rst)
{
	single_closure(fx_family_of(_i), FX_RST, HUPMON_RESET, ECONNRESET);
}
END_TEST

/* --- FIN, then our write draws an RST: escalation to RESET/EPIPE -------- */

START_TEST(test_fin_then_write)
{
	int family = fx_family_of(_i);
	struct fx_rec rec;
	struct hupmon_event ev;
	struct hupmon_stats st;
	int s, c, tag;
	hupmon_id id;
	uint64_t t;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fx_pair_ok(family, &s, &c);
	id = fx_watch_ok(m, s, &tag);

	t = fx_close_fin(c);
	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_DEADLINE_MS));
	ck_assert(fx_rec_event(&rec, 0, &ev));
	fx_check_event(&ev, HUPMON_PATH_EPOLL, id, s, &tag,
		       HUPMON_PEER_SHUTDOWN, 0, false, t);

	/* The client's socket is closed: our byte draws an RST, which the
	 * kernel turns into EPIPE in CLOSE_WAIT. Write once only: a second
	 * write would consume the pending error. */
	t = fx_now_ns();
	ck_assert_int_eq(send(s, "x", 1, MSG_NOSIGNAL), 1);
	ck_assert_msg(fx_dispatch_until_count(m, &rec, 2, FX_DEADLINE_MS),
		      "no escalation after the RST");
	ck_assert(fx_rec_event(&rec, 1, &ev));
	fx_check_event(&ev, HUPMON_PATH_EPOLL, id, s, &tag, HUPMON_RESET, EPIPE,
		       true, t);

	/* RESET is final. */
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count(&rec), 2);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.escalations, 1);
	ck_assert_uint_eq(st.hangups[HUPMON_PATH_EPOLL][HUPMON_PEER_SHUTDOWN],
			  1);
	ck_assert_uint_eq(st.hangups[HUPMON_PATH_EPOLL][HUPMON_RESET], 1);

	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- watched only after the peer is gone -------------------------------- */

static void watch_after(int family, bool rst)
{
	struct fx_rec rec;
	struct hupmon_event ev;
	int s, c, tag, rc;
	short seen, want_bits = rst ? POLLHUP : POLLRDHUP;
	hupmon_id id;
	uint64_t t;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fx_pair_ok(family, &s, &c);

	t = rst ? fx_close_rst(c) : fx_close_fin(c);
	/* poll() reads no error and consumes nothing: it only tells us the
	 * FIN or RST has reached s. */
	seen = fx_wait_fd(s, POLLRDHUP, FX_DEADLINE_MS);
	ck_assert_msg(seen & want_bits, "the %s never arrived (revents %#x)",
		      rst ? "RST" : "FIN", (unsigned)seen);

	id = fx_watch_ok(m, s, &tag);
	/* Reported on the very next dispatch: the event is already queued. */
	rc = hupmon_dispatch(m, FX_DEADLINE_MS);
	ck_assert_int_ge(rc, 1);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);
	ck_assert(fx_rec_event(&rec, 0, &ev));
	if (rst)
		fx_check_event(&ev, HUPMON_PATH_EPOLL, id, s, &tag,
			       HUPMON_RESET, ECONNRESET, false, t);
	else
		fx_check_event(&ev, HUPMON_PATH_EPOLL, id, s, &tag,
			       HUPMON_PEER_SHUTDOWN, 0, false, t);

	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);

	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}

START_TEST(test_watch_after_fin)
{
	watch_after(fx_family_of(_i), false);
}
END_TEST

START_TEST(test_watch_after_rst)
{
	watch_after(fx_family_of(_i), true);
}
END_TEST

/* --- a dup of a watched socket is the same socket ----------------------- */

START_TEST(test_dup_eexist)
{
	int family = fx_family_of(_i);
	struct fx_rec rec;
	struct hupmon_stats st;
	struct hupmon_event ev;
	int s, c, d, tag;
	hupmon_id id, other = 0;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fx_pair_ok(family, &s, &c);
	id = fx_watch_ok(m, s, &tag);

	d = fcntl(s, F_DUPFD_CLOEXEC, 0);
	ck_assert_int_ge(d, 0);
	ck_assert_int_eq(hupmon_watch(m, d, NULL, &other), -EEXIST);
	ck_assert_int_eq(hupmon_watch(m, s, NULL, &other), -EEXIST);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_EEXIST], 2);
	ck_assert_uint_eq(st.watches, 1);
	ck_assert_uint_eq(st.watched, 1);

	/* The original watch is unharmed. */
	fx_close_fin(c);
	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_DEADLINE_MS));
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);
	ck_assert(fx_rec_event(&rec, 0, &ev));
	ck_assert_uint_eq(ev.id, id);
	ck_assert_int_eq(ev.cause, HUPMON_PEER_SHUTDOWN);

	fx_unwatch_ok(m, id);
	fx_close_ok(d);
	fx_close_ok(s);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- alive sockets are never reported ----------------------------------- */

START_TEST(test_alive_never_reported)
{
	enum { N = 16 };
	struct fx_rec rec;
	struct hupmon_stats st;
	int s[N], c[N];
	hupmon_id id[N];
	int n = 0;
	hupmon *m;

	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	for (int i = 0; i < N; i++) {
		int family = fx_family_of(i);

		if (!fx_family_available(family))
			continue;
		fx_pair_ok(family, &s[n], &c[n]);
		id[n] = fx_watch_ok(m, s[n], NULL);
		/* Traffic both ways changes nothing: EPOLLIN is not
		 * watched and the connection is still up. */
		if (i % 4 == 1)
			ck_assert_int_eq(send(c[n], "ping", 4, MSG_NOSIGNAL),
					 4);
		if (i % 4 == 2)
			ck_assert_int_eq(send(s[n], "pong", 4, MSG_NOSIGNAL),
					 4);
		n++;
	}
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count(&rec), 0);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watched, (uint64_t)n);
	ck_assert_uint_eq(st.swept, 0);
	for (int p = 0; p < 3; p++)
		for (int k = 0; k <= HUPMON_CAUSE_MAX; k++)
			ck_assert_uint_eq(st.hangups[p][k], 0);

	for (int i = 0; i < n; i++) {
		fx_unwatch_ok(m, id[i]);
		fx_close_ok(s[i]);
		fx_close_ok(c[i]);
	}
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- no_touch: the pending error stays with the application ------------- */

START_TEST(test_no_touch)
{
	int family = fx_family_of(_i);
	bool no_touch = _i >= 2;
	struct fx_rec rec;
	struct hupmon_event ev;
	char b;
	ssize_t n;
	int s, c, tag, err;
	hupmon_id id;
	uint64_t t;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, no_touch);
	fx_pair_ok(family, &s, &c);
	id = fx_watch_ok(m, s, &tag);

	t = fx_close_rst(c);
	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_DEADLINE_MS));
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);
	ck_assert(fx_rec_event(&rec, 0, &ev));

	n = recv(s, &b, 1, MSG_DONTWAIT);
	err = errno;
	if (no_touch) {
		/* hupmon never read SO_ERROR: only HANGUP is known, and
		 * the application still sees the reset itself. */
		fx_check_event(&ev, HUPMON_PATH_EPOLL, id, s, &tag,
			       HUPMON_HANGUP, 0, false, t);
		ck_assert_msg(n == -1 && err == ECONNRESET,
			      "no_touch: app recv gave %zd (%s), want "
			      "ECONNRESET",
			      n, strerror(err));
	} else {
		/* Default: hupmon read (and so cleared) SO_ERROR; the
		 * event carries it and the app's read sees end of file. */
		fx_check_event(&ev, HUPMON_PATH_EPOLL, id, s, &tag,
			       HUPMON_RESET, ECONNRESET, false, t);
		ck_assert_msg(n == 0,
			      "default: app recv gave %zd (%s), want 0 (the "
			      "error was consumed)",
			      n, n < 0 ? strerror(err) : "data");
	}

	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- fd reuse ----------------------------------------------------------- */

/* Makes *s hold fd number want (free, or held by *c which is moved away). */
static void move_to(int *s, int *c, int want)
{
	if (*s == want)
		return;
	if (*c == want) {
		int moved = fcntl(*c, F_DUPFD_CLOEXEC, want + 1);

		ck_assert_int_ge(moved, 0);
		fx_close_ok(*c);
		*c = moved;
	}
	ck_assert_int_eq(dup3(*s, want, O_CLOEXEC), want);
	fx_close_ok(*s);
	*s = want;
}

START_TEST(test_fd_reuse)
{
	int family = fx_family_of(_i);
	struct fx_rec rec;
	struct hupmon_event ev;
	int s1, c1, s2, c2, fdnum, tag1, tag2;
	hupmon_id id1, id2;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fx_pair_ok(family, &s1, &c1);
	id1 = fx_watch_ok(m, s1, &tag1);
	fdnum = s1;
	fx_unwatch_ok(m, id1);
	fx_close_ok(s1);
	fx_close_ok(c1);

	fx_pair_ok(family, &s2, &c2);
	move_to(&s2, &c2, fdnum);
	ck_assert_int_eq(s2, fdnum);
	id2 = fx_watch_ok(m, s2, &tag2);
	ck_assert_msg(id2 != id1, "a new watch reused a stale id");

	ck_assert_int_eq(hupmon_unwatch(m, id1), -ENOENT);

	fx_close_fin(c2);
	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_DEADLINE_MS));
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);
	ck_assert_uint_eq(fx_rec_count_id(&rec, id1), 0);
	ck_assert(fx_rec_event(&rec, 0, &ev));
	ck_assert_uint_eq(ev.id, id2);
	ck_assert_ptr_eq(ev.user, &tag2);
	ck_assert_int_eq(ev.cause, HUPMON_PEER_SHUTDOWN);

	/* The stale id stays stale. */
	ck_assert_int_eq(hupmon_unwatch(m, id1), -ENOENT);
	fx_unwatch_ok(m, id2);
	fx_close_ok(s2);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* A socket closed while still watched (against the rules) must never be
 * reported as the connection that reuses its fd number. */
START_TEST(test_fd_reuse_closed_while_watched)
{
	int family = fx_family_of(_i);
	struct fx_rec rec;
	struct hupmon_event ev;
	struct hupmon_stats st;
	int s1, c1, s2, c2, fdnum, tag1, tag2, rc;
	hupmon_id id1, id2;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fx_pair_ok(family, &s1, &c1);
	id1 = fx_watch_ok(m, s1, &tag1);
	fdnum = s1;
	fx_close_ok(s1); /* no unwatch */
	fx_close_ok(c1);
	fx_dispatch_for(m, FX_QUIET_MS / 3);

	fx_pair_ok(family, &s2, &c2);
	move_to(&s2, &c2, fdnum);
	id2 = fx_watch_ok(m, s2, &tag2); /* a different socket: no -EEXIST */
	ck_assert_msg(id2 != id1, "a new watch reused the old id");
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.retired, 1);
	ck_assert_uint_eq(st.watched, 1);

	fx_close_fin(c2);
	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_DEADLINE_MS));
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);
	ck_assert_uint_eq(fx_rec_count_id(&rec, id1), 0);
	ck_assert(fx_rec_event(&rec, 0, &ev));
	ck_assert_uint_eq(ev.id, id2);
	ck_assert_ptr_eq(ev.user, &tag2);

	/* The retired id is stale. */
	rc = hupmon_unwatch(m, id1);
	ck_assert_int_eq(rc, -ENOENT);
	fx_unwatch_ok(m, id2);
	fx_close_ok(s2);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- unwatch racing a running callback ---------------------------------- */

#define RACE_WINDOW_MS 150
#define HANDSHAKE_MS   5000

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
			fx_rec_count_id_cause(&rec, r.id, HUPMON_PEER_SHUTDOWN),
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

/* --- many sockets, random closures -------------------------------------- */

START_TEST(test_many_random_closures)
{
	int family = fx_family_of(_i);
	const int n = fx_scaled(1000), k = fx_scaled(200);
	struct fx_rec rec;
	struct hupmon_stats st;
	int *s, *c;
	hupmon_id *id;
	enum hupmon_cause *want;
	uint64_t seed;
	size_t reported;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	seed = fx_seed("many_random_closures");
	s = calloc(n, sizeof(*s));
	c = calloc(n, sizeof(*c));
	id = calloc(n, sizeof(*id));
	want = calloc(n, sizeof(*want));
	ck_assert(s && c && id && want);
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	for (int i = 0; i < n; i++) {
		fx_pair_ok(family, &s[i], &c[i]);
		id[i] = fx_watch_ok(m, s[i], &s[i]);
	}
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watched, (uint64_t)n);

	fx_close_random(c, want, n, k, &seed);

	ck_assert_msg(fx_dispatch_until_count(m, &rec, k, 2 * FX_DEADLINE_MS),
		      "only %zu of %d closures reported", fx_rec_count(&rec),
		      k);
	fx_dispatch_for(m, FX_QUIET_MS);
	reported = fx_rec_count(&rec);
	ck_assert_msg(reported == (size_t)k, "%zu reports for %d closures",
		      reported, k);
	for (int i = 0; i < n; i++) {
		size_t cnt = fx_rec_count_id(&rec, id[i]);

		if (want[i] == HUPMON_CAUSE_NONE) {
			ck_assert_msg(cnt == 0, "alive socket %d reported", i);
			continue;
		}
		ck_assert_msg(cnt == 1, "socket %d reported %zu times", i, cnt);
		ck_assert_msg(fx_rec_count_id_cause(&rec, id[i], want[i]) == 1,
			      "socket %d: wrong cause (want %s)", i,
			      hupmon_cause_name(want[i]));
	}
	for (size_t i = 0; i < reported; i++) {
		struct hupmon_event ev;

		ck_assert(fx_rec_event(&rec, i, &ev));
		ck_assert_int_eq(*(int *)ev.user, ev.fd);
	}

	for (int i = 0; i < n; i++) {
		fx_unwatch_ok(m, id[i]);
		fx_close_ok(s[i]);
		fx_close_ok(c[i]);
	}
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watched, 0);
	hupmon_free(m);
	fx_rec_destroy(&rec);
	free(s);
	free(c);
	free(id);
	free(want);
}
END_TEST

/* --- bad input ---------------------------------------------------------- */

/* A non-blocking connect left in SYN_SENT: the listener's accept queue is
 * full (backlog 0 holds one connection), so the kernel drops our SYN.
 * Returns -1 (after printing why) if the state cannot be reached. */
static int syn_sent_socket(int family, int *lfd, int *queued)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct tcp_info ti;
	socklen_t tlen = sizeof(ti);
	int fd;

	*lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*lfd, 0);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = family;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr =
			htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	ck_assert_int_eq(bind(*lfd, (struct sockaddr *)&ss,
			      family == AF_INET ? sizeof(struct sockaddr_in)
						: sizeof(struct sockaddr_in6)),
			 0);
	ck_assert_int_eq(listen(*lfd, 0), 0);
	ck_assert_int_eq(getsockname(*lfd, (struct sockaddr *)&ss, &len), 0);

	*queued = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*queued, 0);
	ck_assert_int_eq(connect(*queued, (struct sockaddr *)&ss, len), 0);

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	if (connect(fd, (struct sockaddr *)&ss, len) == 0 ||
	    errno != EINPROGRESS)
		goto not_reached;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tlen) < 0 ||
	    ti.tcpi_state != TCP_SYN_SENT)
		goto not_reached;
	return fd;
not_reached:
	printf("note: could not hold a %s socket in SYN_SENT: row skipped\n",
	       fx_family_name(family));
	fx_close_ok(fd);
	return -1;
}

static void check_bad_configs(void)
{
	struct hupmon_config cfg;
	hupmon *m = NULL;

	struct {
		const char *what;
		unsigned paths;
		int method;
		uint32_t period, tick;
		bool compare, no_touch;
	} bad[] = {
		{"paths 4", 4, 0, 0, 0, false, false},
		{"paths 7", 7, 0, 0, 0, false, false},
		{"period above one hour", 0, 0, 3600001, 0, false, false},
		{"tick above period", 0, 0, 100, 101, false, false},
		{"tick above default period", 0, 0, 0, 1001, false, false},
		{"compare with epoll only", HUPMON_PATH_EPOLL, 0, 0, 0, true,
		 false},
		{"compare with sweep only", HUPMON_PATH_SWEEP, 0, 0, 0, true,
		 false},
		{"PEEK with no_touch", 0, HUPMON_SWEEP_PEEK, 0, 0, false, true},
		{"sweep method 9", 0, 9, 0, 0, false, false},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		memset(&cfg, 0, sizeof(cfg));
		cfg.paths = bad[i].paths;
		cfg.sweep_method = (enum hupmon_sweep_method)bad[i].method;
		cfg.sweep_period_ms = bad[i].period;
		cfg.sweep_tick_ms = bad[i].tick;
		cfg.compare = bad[i].compare;
		cfg.no_touch = bad[i].no_touch;
		m = NULL;
		rc = hupmon_new(&cfg, &m);
		ck_assert_msg(rc == -EINVAL, "config '%s': %d, want -EINVAL",
			      bad[i].what, rc);
	}

	memset(&cfg, 0, sizeof(cfg));
	ck_assert_int_eq(hupmon_new(&cfg, NULL), -EINVAL);

	/* Limits that are valid. */
	cfg.sweep_period_ms = 3600000;
	cfg.sweep_tick_ms = 3600000;
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	hupmon_free(m);
	memset(&cfg, 0, sizeof(cfg));
	cfg.compare = true; /* paths 0 means both */
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	hupmon_free(m);
	/* A zeroed config and NULL both mean every default. */
	memset(&cfg, 0, sizeof(cfg));
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	hupmon_free(m);
	ck_assert_int_eq(hupmon_new(NULL, &m), 0);
	hupmon_free(m);
	/* An older, shorter config: the missing fields read as zero. */
	memset(&cfg, 0xff, sizeof(cfg));
	cfg.on_hangup = NULL;
	cfg.arg = NULL;
	cfg.paths = HUPMON_PATH_EPOLL;
	cfg.sweep_method = HUPMON_SWEEP_DEFAULT;
	ck_assert_int_eq(hupmon_new_sized(&cfg,
					  offsetof(struct hupmon_config,
						   sweep_period_ms),
					  &m),
			 0);
	hupmon_free(m);
	hupmon_free(NULL); /* no-op */
}

START_TEST(test_bad_input)
{
	struct fx_rec rec;
	struct hupmon_stats st;
	struct hupmon_event ev;
	int pfd[2], usp[2];
	int closed, memfd, devnull, unconn, s, c;
	int ebadf = 0, enotsock = 0, einval = 0;
	hupmon_id id = 0, stale, unconn_id;
	hupmon *m;

	check_bad_configs();

	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);

	/* NULL monitor */
	fx_pair_ok(AF_INET, &s, &c);
	ck_assert_int_eq(hupmon_watch(NULL, s, NULL, &id), -EINVAL);
	ck_assert_int_eq(hupmon_unwatch(NULL, 1), -EINVAL);
	ck_assert_int_eq(hupmon_dispatch(NULL, 0), -EINVAL);
	ck_assert_int_eq(hupmon_fd(NULL), -EINVAL);
	ck_assert_int_eq(hupmon_run(NULL), -EINVAL);
	hupmon_stop(NULL); /* no-op */

	/* Not an open fd */
	ck_assert_int_eq(hupmon_watch(m, -1, NULL, &id), -EBADF);
	ebadf++;
	closed = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(closed, 0);
	fx_close_ok(closed);
	ck_assert_int_eq(hupmon_watch(m, closed, NULL, &id), -EBADF);
	ebadf++;

	/* Not a socket */
	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	ck_assert_int_eq(hupmon_watch(m, pfd[0], NULL, &id), -ENOTSOCK);
	ck_assert_int_eq(hupmon_watch(m, pfd[1], NULL, &id), -ENOTSOCK);
	enotsock += 2;
	memfd = memfd_create("hupmon-e2e", MFD_CLOEXEC); /* a regular file */
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(hupmon_watch(m, memfd, NULL, &id), -ENOTSOCK);
	enotsock++;
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(devnull, 0);
	ck_assert_int_eq(hupmon_watch(m, devnull, NULL, &id), -ENOTSOCK);
	enotsock++;

	/* Sockets that are not a connected TCP stream */
	ck_assert_int_eq(
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, usp), 0);
	ck_assert_int_eq(hupmon_watch(m, usp[0], NULL, &id), -EINVAL);
	einval++;
	for (int f = 0; f < 2; f++) {
		int family = fx_family_of(f);
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int udp, lfd, queued, syn, lsn;

		if (!fx_family_available(family))
			continue;
		udp = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(udp, 0);
		ck_assert_int_eq(hupmon_watch(m, udp, NULL, &id), -EINVAL);
		einval++;
		/* a connected UDP socket is still not TCP */
		ck_assert_int_eq(getsockname(s, (struct sockaddr *)&ss, &len),
				 0);
		if (family == AF_INET) {
			ck_assert_int_eq(
				connect(udp, (struct sockaddr *)&ss, len), 0);
			ck_assert_int_eq(hupmon_watch(m, udp, NULL, &id),
					 -EINVAL);
			einval++;
		}
		fx_close_ok(udp);

		/* a listening socket */
		lsn = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(lsn, 0);
		ck_assert_int_eq(listen(lsn, 8), 0); /* autobinds */
		ck_assert_int_eq(hupmon_watch(m, lsn, NULL, &id), -EINVAL);
		einval++;
		fx_close_ok(lsn);

		syn = syn_sent_socket(family, &lfd, &queued);
		if (syn >= 0) {
			ck_assert_int_eq(hupmon_watch(m, syn, NULL, &id),
					 -EINVAL);
			einval++;
			fx_close_ok(syn);
		}
		fx_close_ok(queued);
		fx_close_ok(lfd);
	}

	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_EBADF], ebadf);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_ENOTSOCK], enotsock);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_EINVAL], einval);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_EEXIST], 0);
	ck_assert_uint_eq(st.watches, 0);
	ck_assert_uint_eq(st.watched, 0);

	/* Unwatch of ids that are not live */
	ck_assert_int_eq(hupmon_unwatch(m, 0), -ENOENT);
	ck_assert_int_eq(hupmon_unwatch(m, ((hupmon_id)77 << 32) | 12345),
			 -ENOENT);
	stale = fx_watch_ok(m, s, NULL);
	fx_unwatch_ok(m, stale);
	ck_assert_int_eq(hupmon_unwatch(m, stale), -ENOENT);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.unwatch_rejected, 3);

	/* A never-connected TCP socket: accepted, reported at once. */
	unconn = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(unconn, 0);
	unconn_id = fx_watch_ok(m, unconn, NULL);
	ck_assert_int_ge(hupmon_dispatch(m, FX_DEADLINE_MS), 1);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);
	ck_assert(fx_rec_event(&rec, 0, &ev));
	ck_assert_uint_eq(ev.id, unconn_id);
	ck_assert_msg(ev.cause == HUPMON_HANGUP, "never connected: %s",
		      hupmon_cause_name(ev.cause));
	ck_assert_int_eq(ev.error, 0);
	fx_unwatch_ok(m, unconn_id);
	fx_close_ok(unconn);

	/* After all that the monitor still works. */
	id = fx_watch_ok(m, s, NULL);
	ck_assert_uint_ne(id, stale);
	fx_close_fin(c);
	ck_assert(fx_dispatch_until_event(m, &rec, id, HUPMON_PEER_SHUTDOWN,
					  FX_DEADLINE_MS));
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count(&rec), 2);
	fx_unwatch_ok(m, id);

	fx_close_ok(s);
	fx_close_ok(pfd[0]);
	fx_close_ok(pfd[1]);
	fx_close_ok(memfd);
	fx_close_ok(devnull);
	fx_close_ok(usp[0]);
	fx_close_ok(usp[1]);
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
	ck_assert_uint_eq(fx_rec_count_id_cause(&rec, id, HUPMON_PEER_SHUTDOWN),
			  1);
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

/* --- the monitor's fd in a foreign event loop --------------------------- */

START_TEST(test_fd_pollable)
{
	int family = fx_family_of(_i);
	struct fx_rec rec;
	struct pollfd p;
	int s, c, fd, rc;
	hupmon_id id;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fd = hupmon_fd(m);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(hupmon_fd(m), fd);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	fx_pair_ok(family, &s, &c);
	id = fx_watch_ok(m, s, NULL);

	/* Nothing pending: not readable. */
	p.fd = fd;
	p.events = POLLIN;
	p.revents = 0;
	ck_assert_int_eq(poll(&p, 1, 0), 0);

	fx_close_fin(c);
	ck_assert_int_eq(fx_wait_fd(fd, POLLIN, FX_DEADLINE_MS) & POLLIN,
			 POLLIN);
	ck_assert_uint_eq(fx_rec_count(&rec), 0); /* nothing ran by itself */
	/* Drain as an edge-triggered outer loop would. */
	for (int i = 0; i < 100; i++) {
		rc = hupmon_dispatch(m, 0);
		ck_assert_int_ge(rc, 0);
		if (rc == 0)
			break;
	}
	ck_assert_uint_eq(fx_rec_count_id_cause(&rec, id, HUPMON_PEER_SHUTDOWN),
			  1);
	p.revents = 0;
	ck_assert_int_eq(poll(&p, 1, 0), 0);

	/* A stop request also makes it readable. */
	hupmon_stop(m);
	ck_assert_int_eq(fx_wait_fd(fd, POLLIN, FX_DEADLINE_MS) & POLLIN,
			 POLLIN);
	ck_assert_int_eq(hupmon_run(m), 0);

	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- stats -------------------------------------------------------------- */

START_TEST(test_stats_gauges)
{
	int family = fx_family_of(_i);
	struct fx_rec rec;
	struct hupmon_stats st;
	int s[3], c[3];
	hupmon_id id[3];
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watched, 0);
	ck_assert_uint_eq(st.watches, 0);
	for (int i = 0; i < 3; i++) {
		fx_pair_ok(family, &s[i], &c[i]);
		id[i] = fx_watch_ok(m, s[i], NULL);
		fx_get_stats(m, &st);
		ck_assert_uint_eq(st.watched, (uint64_t)i + 1);
		ck_assert_uint_eq(st.watches, (uint64_t)i + 1);
	}
	ck_assert_uint_eq(st.swept, 0); /* epoll path only */

	fx_unwatch_ok(m, id[0]);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watched, 2);
	ck_assert_uint_eq(st.unwatches, 1);
	ck_assert_uint_eq(st.watches, 3);

	fx_close_rst(c[1]);
	c[1] = -1;
	fx_close_fin(c[2]);
	c[2] = -1;
	ck_assert(fx_dispatch_until_count(m, &rec, 2, FX_DEADLINE_MS));
	fx_dispatch_for(m, FX_QUIET_MS / 3);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.hangups[HUPMON_PATH_EPOLL][HUPMON_RESET], 1);
	ck_assert_uint_eq(st.hangups[HUPMON_PATH_EPOLL][HUPMON_PEER_SHUTDOWN],
			  1);
	ck_assert_uint_eq(st.callbacks, 2);
	ck_assert_uint_eq(st.callback_duration.count, 2);
	ck_assert_uint_ge(st.epoll_events, 2);
	ck_assert_uint_ge(st.epoll_wakeups, 1);
	ck_assert_uint_eq(st.sweep_ticks, 0);
	ck_assert_uint_eq(st.sweep_probes, 0);
	ck_assert_uint_gt(st.memory_bytes, 0);
	/* Reported sockets stay watched until unwatched. */
	ck_assert_uint_eq(st.watched, 2);

	for (int i = 0; i < 3; i++) {
		if (i > 0)
			fx_unwatch_ok(m, id[i]);
		fx_close_ok(s[i]);
		fx_close_ok(c[i]);
	}
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watched, 0);
	ck_assert_uint_eq(st.unwatches, 3);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* Unwatched before dispatch: whatever the kernel queued is not reported. */
START_TEST(test_unwatch_before_dispatch)
{
	int family = fx_family_of(_i);
	struct fx_rec rec;
	struct hupmon_stats st;
	int s, c;
	hupmon_id id;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fx_pair_ok(family, &s, &c);
	id = fx_watch_ok(m, s, NULL);
	fx_close_fin(c);
	ck_assert(fx_wait_fd(s, POLLRDHUP, FX_DEADLINE_MS) & POLLRDHUP);
	fx_unwatch_ok(m, id);
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count(&rec), 0);
	fx_get_stats(m, &st);
	/* Dropped as stale, or removed from the ready list by EPOLL_CTL_DEL
	 * before epoll_wait saw it: either way at most one, never reported. */
	ck_assert_uint_le(st.stale_events, 1);
	ck_assert_uint_eq(st.hangups[HUPMON_PATH_EPOLL][HUPMON_PEER_SHUTDOWN],
			  0);
	fx_close_ok(s);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* Two closures in one epoll_wait batch; the first callback unwatches the
 * other socket, whose event is already fetched: it must be dropped and
 * counted stale. */
struct cross {
	hupmon *m;
	hupmon_id id[2];
	int rc;
	int unwatched; /* index unwatched by the first callback, or -1 */
};

static void cross_hook(struct fx_rec *rec, const struct hupmon_event *ev)
{
	struct cross *x = rec->hook_arg;

	if (x->unwatched >= 0)
		return;
	x->unwatched = ev->id == x->id[0] ? 1 : 0;
	x->rc = hupmon_unwatch(x->m, x->id[x->unwatched]);
}

START_TEST(test_stale_event_dropped)
{
	int family = fx_family_of(_i);
	struct fx_rec rec;
	struct hupmon_stats st;
	struct cross x;
	int s[2], c[2];
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	memset(&x, 0, sizeof(x));
	x.unwatched = -1;
	rec.on_event = cross_hook;
	rec.hook_arg = &x;
	m = fx_new_epoll_monitor(&rec, false);
	x.m = m;
	for (int i = 0; i < 2; i++) {
		fx_pair_ok(family, &s[i], &c[i]);
		x.id[i] = fx_watch_ok(m, s[i], NULL);
	}
	fx_close_fin(c[0]);
	fx_close_rst(c[1]);
	ck_assert(fx_wait_fd(s[0], POLLRDHUP, FX_DEADLINE_MS) & POLLRDHUP);
	ck_assert(fx_wait_fd(s[1], POLLRDHUP, FX_DEADLINE_MS) & POLLHUP);

	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_DEADLINE_MS));
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_int_ge(x.unwatched, 0);
	ck_assert_int_eq(x.rc, 0);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);
	ck_assert_uint_eq(fx_rec_count_id(&rec, x.id[x.unwatched]), 0);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.stale_events, 1);
	ck_assert_uint_eq(st.watched, 1);

	fx_unwatch_ok(m, x.id[1 - x.unwatched]);
	for (int i = 0; i < 2; i++)
		fx_close_ok(s[i]);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- suite -------------------------------------------------------------- */

static void add(Suite *su, const char *name, const TTest *t, int loops,
		int timeout_s)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, timeout_s);
	if (loops > 0)
		tcase_add_loop_test(tc, t, 0, loops);
	else
		tcase_add_test(tc, t);
	suite_add_tcase(su, tc);
}

static Suite *core_suite(void)
{
	Suite *su = suite_create("e2e_core");

	/* loops: 2 = IPv4 and IPv6 */
	add(su, "fin", test_fin, 2, 10);
	add(su, "half_close", test_half_close, 2, 10);
	add(su, "data_then_fin", test_data_then_fin, 2, 10);
	add(su, "rst", test_rst, 2, 10);
	add(su, "fin_then_write", test_fin_then_write, 2, 10);
	add(su, "watch_after_fin", test_watch_after_fin, 2, 10);
	add(su, "watch_after_rst", test_watch_after_rst, 2, 10);
	add(su, "dup_eexist", test_dup_eexist, 2, 10);
	add(su, "alive_never_reported", test_alive_never_reported, 0, 10);
	add(su, "no_touch", test_no_touch, 4, 10);
	add(su, "fd_reuse", test_fd_reuse, 2, 10);
	add(su, "fd_reuse_closed_while_watched",
	    test_fd_reuse_closed_while_watched, 2, 10);
	add(su, "unwatch_races_callback", test_unwatch_races_callback, 2, 60);
	add(su, "unwatch_in_callback", test_unwatch_in_callback, 2, 10);
	add(su, "many_random_closures", test_many_random_closures, 2, 120);
	add(su, "bad_input", test_bad_input, 0, 30);
	add(su, "stop_from_thread", test_stop_from_thread, 0, 20);
	add(su, "stop_from_signal", test_stop_from_signal, 0, 20);
	add(su, "fd_pollable", test_fd_pollable, 2, 10);
	add(su, "stats_gauges", test_stats_gauges, 2, 10);
	add(su, "unwatch_before_dispatch", test_unwatch_before_dispatch, 2, 10);
	add(su, "stale_event_dropped", test_stale_event_dropped, 2, 10);
	return su;
}

int main(void)
{
	return fx_run_suite(core_suite());
}
