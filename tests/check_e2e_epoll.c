/* SPDX-License-Identifier: MIT */
/*
 * check_e2e_epoll: the epoll path end to end over real loopback sockets
 * (127.0.0.1 and ::1), against the contract in hupmon.h: every closure
 * reported once with its cause, escalation, sockets watched after their
 * peer left, no_touch, many sockets, the monitor's fd in an outer poll
 * loop, the counters, and events made stale by an unwatch.
 *
 * Every wait dispatches in short slices until the expected report arrives or
 * a generous deadline passes; every "nothing is reported" check dispatches
 * for a bounded quiet time. Each test checks that it leaks no fd.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
	/* What the report cost beyond the event: one SO_COOKIE read (the fd
	 * still holds the socket), and SO_ERROR only for an error. */
	ck_assert_uint_eq(st.epoll_cookie_reads, 1);
	ck_assert_uint_eq(st.epoll_error_reads, want_err ? 1 : 0);
	ck_assert_uint_eq(st.sweep_cookie_reads + st.sweep_error_reads, 0);

	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	fx_close_ok(c);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}

START_TEST(test_fin)
{
	single_closure(fx_family_of(_i), FX_FIN, HUPMON_CAUSE_PEER_SHUTDOWN, 0);
}
END_TEST

START_TEST(test_half_close)
{
	single_closure(fx_family_of(_i), FX_HALF, HUPMON_CAUSE_PEER_SHUTDOWN,
		       0);
}
END_TEST

START_TEST(test_data_then_fin)
{
	single_closure(fx_family_of(_i), FX_DATA_FIN,
		       HUPMON_CAUSE_PEER_SHUTDOWN, 0);
}
END_TEST

START_TEST(test_rst)
{
	single_closure(fx_family_of(_i), FX_RST, HUPMON_CAUSE_RESET,
		       ECONNRESET);
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
		       HUPMON_CAUSE_PEER_SHUTDOWN, 0, false, t);

	/* The client's socket is closed: our byte draws an RST, which the
	 * kernel turns into EPIPE in CLOSE_WAIT. Write once only: a second
	 * write would consume the pending error. */
	t = fx_now_ns();
	ck_assert_int_eq(send(s, "x", 1, MSG_NOSIGNAL), 1);
	ck_assert_msg(fx_dispatch_until_count(m, &rec, 2, FX_DEADLINE_MS),
		      "no escalation after the RST");
	ck_assert(fx_rec_event(&rec, 1, &ev));
	fx_check_event(&ev, HUPMON_PATH_EPOLL, id, s, &tag, HUPMON_CAUSE_RESET,
		       EPIPE, true, t);

	/* RESET is final. */
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count(&rec), 2);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.escalations, 1);
	ck_assert_uint_eq(
		st.hangups[HUPMON_PATH_EPOLL][HUPMON_CAUSE_PEER_SHUTDOWN], 1);
	ck_assert_uint_eq(st.hangups[HUPMON_PATH_EPOLL][HUPMON_CAUSE_RESET], 1);

	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* The same two steps with no dispatch between them: the FIN and the RST
 * both reach the socket before the path first looks. The socket has one
 * entry on epoll's ready list, so the look returns one event,
 * RDHUP|HUP|ERR, and SO_ERROR holds EPIPE: the socket is past CLOSE_WAIT,
 * and its one report is RESET (not an escalation), with nothing before or
 * after it. hupmon-bench's escalate scenario ran into this when its loop
 * thread waited for a CPU for longer than the bench waited for the FIN
 * report before it wrote. */
START_TEST(test_fin_then_write_unseen)
{
	int family = fx_family_of(_i);
	struct fx_rec rec;
	struct hupmon_event ev;
	struct hupmon_stats st;
	int s, c, tag;
	short seen;
	hupmon_id id;
	uint64_t t;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fx_pair_ok(family, &s, &c);
	id = fx_watch_ok(m, s, &tag);

	fx_close_fin(c);
	seen = fx_wait_fd(s, POLLRDHUP, FX_DEADLINE_MS);
	ck_assert_msg(seen & POLLRDHUP, "the FIN never arrived (revents %#x)",
		      (unsigned)seen);
	t = fx_now_ns();
	ck_assert_int_eq(send(s, "x", 1, MSG_NOSIGNAL), 1);
	/* poll() reads no error: it only tells us the RST has reached s */
	seen = fx_wait_fd(s, POLLHUP, FX_DEADLINE_MS);
	ck_assert_msg(seen & POLLHUP, "the RST never arrived (revents %#x)",
		      (unsigned)seen);

	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_DEADLINE_MS));
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);
	ck_assert(fx_rec_event(&rec, 0, &ev));
	fx_check_event(&ev, HUPMON_PATH_EPOLL, id, s, &tag, HUPMON_CAUSE_RESET,
		       EPIPE, false, t);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.escalations, 0);
	ck_assert_uint_eq(
		st.hangups[HUPMON_PATH_EPOLL][HUPMON_CAUSE_PEER_SHUTDOWN], 0);
	ck_assert_uint_eq(st.hangups[HUPMON_PATH_EPOLL][HUPMON_CAUSE_RESET], 1);
	ck_assert_uint_eq(st.epoll_events, 1);

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
			       HUPMON_CAUSE_RESET, ECONNRESET, false, t);
	else
		fx_check_event(&ev, HUPMON_PATH_EPOLL, id, s, &tag,
			       HUPMON_CAUSE_PEER_SHUTDOWN, 0, false, t);

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
			       HUPMON_CAUSE_HANGUP, 0, false, t);
		ck_assert_msg(n == -1 && err == ECONNRESET,
			      "no_touch: app recv gave %zd (%s), want "
			      "ECONNRESET",
			      n, strerror(err));
	} else {
		/* Default: hupmon read (and so cleared) SO_ERROR; the
		 * event carries it and the app's read sees end of file. */
		fx_check_event(&ev, HUPMON_PATH_EPOLL, id, s, &tag,
			       HUPMON_CAUSE_RESET, ECONNRESET, false, t);
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
	ck_assert_uint_eq(
		fx_rec_count_id_cause(&rec, id, HUPMON_CAUSE_PEER_SHUTDOWN), 1);
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
	ck_assert_uint_eq(st.hangups[HUPMON_PATH_EPOLL][HUPMON_CAUSE_RESET], 1);
	ck_assert_uint_eq(
		st.hangups[HUPMON_PATH_EPOLL][HUPMON_CAUSE_PEER_SHUTDOWN], 1);
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
	ck_assert_uint_eq(
		st.hangups[HUPMON_PATH_EPOLL][HUPMON_CAUSE_PEER_SHUTDOWN], 0);
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

static Suite *epoll_suite(void)
{
	Suite *su = suite_create("e2e_epoll");

	/* loops: 2 = IPv4 and IPv6 */
	fx_add_case(su, "fin", test_fin, 2, 10);
	fx_add_case(su, "half_close", test_half_close, 2, 10);
	fx_add_case(su, "data_then_fin", test_data_then_fin, 2, 10);
	fx_add_case(su, "rst", test_rst, 2, 10);
	fx_add_case(su, "fin_then_write", test_fin_then_write, 2, 10);
	fx_add_case(su, "fin_then_write_unseen", test_fin_then_write_unseen, 2,
		    10);
	fx_add_case(su, "watch_after_fin", test_watch_after_fin, 2, 10);
	fx_add_case(su, "watch_after_rst", test_watch_after_rst, 2, 10);
	fx_add_case(su, "alive_never_reported", test_alive_never_reported, 0,
		    10);
	fx_add_case(su, "no_touch", test_no_touch, 4, 10);
	fx_add_case(su, "many_random_closures", test_many_random_closures, 2,
		    120);
	fx_add_case(su, "fd_pollable", test_fd_pollable, 2, 10);
	fx_add_case(su, "stats_gauges", test_stats_gauges, 2, 10);
	fx_add_case(su, "unwatch_before_dispatch", test_unwatch_before_dispatch,
		    2, 10);
	fx_add_case(su, "stale_event_dropped", test_stale_event_dropped, 2, 10);
	return su;
}

int main(void)
{
	return fx_run_suite(epoll_suite());
}
