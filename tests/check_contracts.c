/* SPDX-License-Identifier: MIT */
/*
 * check_contracts: promises of the header that a hostile user once broke,
 * one test each (every one failed before its fix):
 *   - a refused hupmon_run (from a callback, or while another thread runs)
 *     leaves a pending stop for the real one;
 *   - the PEEK sweep never moves an application's SO_PEEK_OFF;
 *   - closed without unwatch and the fd number reused: no report names the
 *     unrelated connection, no hangup is lost, no probe consumes the
 *     unrelated socket's error, the socket can be watched again through a
 *     live dup, and watched = watches - unwatches - retired holds;
 *   - a compare record skipped because an earlier callback unwatched its
 *     socket counts as cut short, so callbacks = hangups + outcomes;
 *   - hupmon_free from a callback is safe (deferred);
 *   - an edge-triggered outer loop calling hupmon_dispatch(m, 0) until it
 *     returns 0 ends, even when sweep slices take longer than a tick.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fixture.h"
#include "state.h"

#ifndef SO_PEEK_OFF
#define SO_PEEK_OFF 42
#endif

#define NS_PER_MS 1000000ull

/* ---- hupmon_run keeps a pending stop ----------------------------------- */

struct runner {
	hupmon *m;
	int rc;
	atomic_bool done;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;

	r->rc = hupmon_run(r->m);
	atomic_store(&r->done, true);
	return NULL;
}

/* Waits up to ms for the runner to return. */
static bool joined_within(pthread_t t, struct runner *r, int ms)
{
	for (uint64_t end = fx_now_ns() + (uint64_t)ms * NS_PER_MS;
	     fx_now_ns() < end && !atomic_load(&r->done);)
		usleep(1000);
	if (!atomic_load(&r->done))
		return false;
	pthread_join(t, NULL);
	return true;
}

/* The runner sits in a callback (so it surely dispatches) while another
 * thread stops it and then calls hupmon_run, which must be refused without
 * taking the stop: released, the runner must return. */
struct holder {
	atomic_bool inside, release;
};

static void hold(const struct hupmon_event *ev, void *arg)
{
	struct holder *h = arg;

	(void)ev;
	atomic_store(&h->inside, true);
	for (uint64_t end = fx_now_ns() + 5000 * NS_PER_MS;
	     !atomic_load(&h->release) && fx_now_ns() < end;)
		usleep(1000);
}

START_TEST(test_refused_run_keeps_the_stop)
{
	struct holder h;
	struct hupmon_config cfg = {
		.on_hangup = hold, .arg = &h, .paths = HUPMON_PATH_EPOLL};
	struct runner r = {0};
	pthread_t t;
	int s, c, rc;
	bool ok;

	atomic_init(&h.inside, false);
	atomic_init(&h.release, false);
	atomic_init(&r.done, false);
	ck_assert_int_eq(hupmon_new(&cfg, &r.m), 0);
	fx_pair_ok(AF_INET, &s, &c);
	fx_watch_ok(r.m, s, NULL);
	ck_assert_int_eq(pthread_create(&t, NULL, run_thread, &r), 0);
	fx_close_fin(c);
	for (uint64_t end = fx_now_ns() + 2000 * NS_PER_MS;
	     !atomic_load(&h.inside) && fx_now_ns() < end;)
		usleep(1000);
	ck_assert(atomic_load(&h.inside));
	hupmon_stop(r.m);
	rc = hupmon_run(r.m); /* another thread runs: refused */
	atomic_store(&h.release, true);
	ok = joined_within(t, &r, 2000);
	if (!ok) { /* let the runner go before failing */
		hupmon_stop(r.m);
		pthread_join(t, NULL);
	}
	ck_assert_int_eq(rc, -EBUSY);
	ck_assert_msg(ok, "the refused run swallowed the stop: run hangs");
	ck_assert_int_eq(r.rc, 0);
	hupmon_free(r.m);
	fx_close_ok(s);
}
END_TEST

struct in_cb {
	hupmon *m;
	int run_rc;
};

static void stop_then_run(const struct hupmon_event *ev, void *arg)
{
	struct in_cb *x = arg;

	(void)ev;
	hupmon_stop(x->m);
	x->run_rc = hupmon_run(x->m);
}

START_TEST(test_run_from_callback_keeps_the_stop)
{
	struct in_cb x = {.run_rc = 1};
	struct hupmon_config cfg = {.on_hangup = stop_then_run,
				    .arg = &x,
				    .paths = HUPMON_PATH_EPOLL};
	struct runner r = {0};
	pthread_t t;
	int s, c;
	bool ok;

	ck_assert_int_eq(hupmon_new(&cfg, &x.m), 0);
	r.m = x.m;
	atomic_init(&r.done, false);
	fx_pair_ok(AF_INET, &s, &c);
	fx_watch_ok(x.m, s, NULL);
	ck_assert_int_eq(pthread_create(&t, NULL, run_thread, &r), 0);
	fx_close_fin(c);
	ok = joined_within(t, &r, 2000);
	if (!ok) {
		hupmon_stop(r.m);
		pthread_join(t, NULL);
	}
	ck_assert_int_eq(x.run_rc, -EDEADLK);
	ck_assert_msg(ok, "the refused run swallowed the stop: run hangs");
	hupmon_free(x.m);
	fx_close_ok(s);
}
END_TEST

/* ---- SO_PEEK_OFF ------------------------------------------------------- */

START_TEST(test_peek_probe_keeps_peek_offset)
{
	struct hupmon_config cfg = {.paths = HUPMON_PATH_SWEEP,
				    .sweep_method = HUPMON_SWEEP_PEEK,
				    .sweep_period_ms = 10,
				    .sweep_tick_ms = 10};
	struct hupmon_stats st;
	char buf[16];
	int s, c, off = 0;
	hupmon *m;

	fx_pair_ok(AF_INET, &s, &c);
	if (setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) < 0) {
		/* TCP supports it from Linux 6.9: nothing to protect. */
		ck_assert_int_eq(errno, EOPNOTSUPP);
		fx_close_ok(s);
		fx_close_ok(c);
		return;
	}
	ck_assert_int_eq(send(c, "ABCDEFGHIJ", 10, 0), 10);
	ck_assert(fx_wait_fd(s, POLLIN, 2000) & POLLIN);
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	fx_watch_ok(m, s, NULL);
	do {
		fx_dispatch_for(m, 20);
		hupmon_stats(m, &st);
	} while (st.sweep_probes < 5);
	ck_assert_int_eq(recv(s, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT),
			 10);
	ck_assert_msg(memcmp(buf, "ABCDEFGHIJ", 10) == 0,
		      "the application's peek offset moved: read %.10s", buf);
	/* and the sweep still sees the FIN behind the data (TCP_INFO) */
	fx_close_fin(c);
	for (uint64_t end = fx_now_ns() + 2000 * NS_PER_MS;
	     fx_now_ns() < end;) {
		fx_dispatch_for(m, 20);
		hupmon_stats(m, &st);
		if (st.hangups[HUPMON_PATH_SWEEP][HUPMON_CAUSE_PEER_SHUTDOWN])
			break;
	}
	ck_assert_uint_eq(
		st.hangups[HUPMON_PATH_SWEEP][HUPMON_CAUSE_PEER_SHUTDOWN], 1);
	hupmon_free(m);
	fx_close_ok(s);
}
END_TEST

/* ---- closed without unwatch, number reused ----------------------------- */

/* Closes fd (its file lives on in a dup, returned) and puts an unrelated
 * connection's server end on the same number; *other_c is its client. */
static int reuse_number(int fd, int *other_c)
{
	int keep = dup(fd), s2;

	ck_assert_int_ge(keep, 0);
	fx_pair_ok(AF_INET, &s2, other_c);
	fx_close_ok(fd);
	ck_assert_int_eq(dup2(s2, fd), fd);
	fx_close_ok(s2);
	return keep;
}

static bool any_event(hupmon *m, struct fx_rec *rec, void *arg)
{
	(void)m;
	(void)arg;
	return fx_rec_count(rec) > 0;
}

/* The epoll path, FIN and RST: the hangup of the watched socket (alive in a
 * dup) is reported, and never with the fd number that now names the
 * unrelated connection. */
START_TEST(test_reused_number_epoll)
{
	bool rst = _i;
	struct fx_rec rec;
	struct hupmon_config cfg = {.on_hangup = fx_rec_on_hangup,
				    .arg = &rec,
				    .paths = HUPMON_PATH_EPOLL};
	struct hupmon_event ev;
	int s, c, c2, keep;
	hupmon_id id;
	hupmon *m;

	fx_rec_init(&rec);
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	fx_pair_ok(AF_INET, &s, &c);
	id = fx_watch_ok(m, s, NULL);
	keep = reuse_number(s, &c2);
	if (rst)
		fx_close_rst(c);
	else
		fx_close_fin(c);
	ck_assert_msg(fx_dispatch_until(m, &rec, any_event, NULL, 2000),
		      "the hangup was lost");
	ck_assert(fx_rec_event(&rec, 0, &ev));
	ck_assert_uint_eq(ev.id, id);
	ck_assert_int_ne(ev.fd, s);
	ck_assert_int_eq(ev.cause, rst ? HUPMON_CAUSE_HANGUP
				       : HUPMON_CAUSE_PEER_SHUTDOWN);
	ck_assert_int_eq(hupmon_unwatch(m, id), 0);
	hupmon_free(m);
	fx_close_ok(keep);
	fx_close_ok(s); /* the unrelated connection */
	fx_close_ok(c2);
	fx_rec_destroy(&rec);
}
END_TEST

/* The PEEK sweep must not recv on a number that holds another socket: that
 * socket's pending ECONNRESET would be consumed and its owner read EOF. */
START_TEST(test_reused_number_peek_keeps_their_error)
{
	struct hupmon_config cfg = {.paths = HUPMON_PATH_SWEEP,
				    .sweep_method = HUPMON_SWEEP_PEEK,
				    .sweep_period_ms = 10,
				    .sweep_tick_ms = 10};
	struct hupmon_stats st;
	int s, c, s2, c2;
	char b;
	hupmon *m;

	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	fx_pair_ok(AF_INET, &s, &c);
	fx_watch_ok(m, s, NULL);
	fx_pair_ok(AF_INET, &s2, &c2);
	fx_close_ok(s); /* closed without unwatch */
	fx_close_ok(c);
	ck_assert_int_eq(dup2(s2, s), s);
	fx_close_ok(s2);
	fx_close_rst(c2); /* the unrelated socket now holds ECONNRESET */
	ck_assert(fx_wait_fd(s, POLLIN, 2000));
	fx_dispatch_for(m, 200); /* 20 periods */
	hupmon_stats(m, &st);
	ck_assert_uint_ge(st.sweep_probes, 1);
	errno = 0;
	ck_assert_int_eq(recv(s, &b, 1, MSG_DONTWAIT), -1);
	ck_assert_msg(errno == ECONNRESET,
		      "the unrelated socket's error was consumed (errno %d)",
		      errno);
	hupmon_free(m);
	fx_close_ok(s);
}
END_TEST

/* Once the sweep found the number reused, the socket (alive in a dup) can
 * be watched again through the dup, and its hangup is reported; an unwatch
 * of the old id counts once, so the counters add up. */
START_TEST(test_orphan_watched_again_through_dup)
{
	struct fx_rec rec;
	struct hupmon_config cfg = {.on_hangup = fx_rec_on_hangup,
				    .arg = &rec,
				    .sweep_period_ms = 10,
				    .sweep_tick_ms = 10};
	struct hupmon_stats st;
	int s, c, c2, keep, rc;
	hupmon_id id, id2 = 0;
	hupmon *m;

	fx_rec_init(&rec);
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	fx_pair_ok(AF_INET, &s, &c);
	id = fx_watch_ok(m, s, NULL);
	keep = reuse_number(s, &c2);
	fx_close_fin(c2); /* news to the sweep: it checks the identity */
	c2 = -1;
	fx_dispatch_for(m, 100); /* the sweep meets the other socket */
	rc = hupmon_watch(m, keep, NULL, &id2);
	ck_assert_int_eq(rc, 0);
	fx_close_fin(c);
	ck_assert(fx_dispatch_until_event(m, &rec, id2,
					  HUPMON_CAUSE_PEER_SHUTDOWN, 2000));
	ck_assert_int_eq(hupmon_unwatch(m, id), rc == 0 ? -ENOENT : 0);
	hupmon_stats(m, &st);
	ck_assert_uint_eq(st.watched, st.watches - st.unwatches - st.retired);
	fx_unwatch_ok(m, id2);
	hupmon_stats(m, &st);
	ck_assert_uint_eq(st.watched, 0);
	ck_assert_uint_eq(st.watched, st.watches - st.unwatches - st.retired);
	hupmon_free(m);
	fx_close_ok(keep);
	fx_close_ok(s);
	fx_close_ok(c2);
	fx_rec_destroy(&rec);
}
END_TEST

/* An orphan (the sweep found its number reused) unwatched by the user is
 * counted once, as an unwatch. */
START_TEST(test_orphan_unwatched_counts_once)
{
	struct hupmon_config cfg = {.sweep_period_ms = 10, .sweep_tick_ms = 10};
	struct hupmon_stats st;
	int s, c, c2, keep;
	hupmon_id id;
	hupmon *m;

	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	fx_pair_ok(AF_INET, &s, &c);
	id = fx_watch_ok(m, s, NULL);
	keep = reuse_number(s, &c2);
	fx_close_fin(c2); /* news to the sweep: it checks the identity */
	c2 = -1;
	fx_dispatch_for(m, 100);
	fx_unwatch_ok(m, id);
	hupmon_stats(m, &st);
	ck_assert_uint_eq(st.watched, 0);
	ck_assert_uint_eq(st.watches, 1);
	ck_assert_uint_eq(st.unwatches + st.retired, 1);
	hupmon_free(m);
	fx_close_ok(keep);
	fx_close_ok(c);
	fx_close_ok(s);
	fx_close_ok(c2);
}
END_TEST

/* ---- a compare record after its socket was unwatched ------------------- */

struct unwatcher {
	hupmon *m;
	unsigned hangups, compares;
};

static void count_hangup(const struct hupmon_event *ev, void *arg)
{
	struct unwatcher *u = arg;

	(void)ev;
	u->hangups++;
}

static void unwatch_on_compare(const struct hupmon_compare *rec, void *arg)
{
	struct unwatcher *u = arg;

	u->compares++;
	hupmon_unwatch(u->m, rec->id);
}

static uint64_t cells(const uint64_t a[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT])
{
	uint64_t n = 0;

	for (int p = 0; p < 3; p++)
		for (int k = 0; k <= HUPMON_CAUSE_MAX; k++)
			n += a[p][k];
	return n;
}

/* The epoll path reports the FIN, then the RST that our write provokes
 * (two dispatches: queued together they would make one event), both before
 * the sweep's first probe (3 s period), which then resolves two levels at
 * once: two records queued; the first callback unwatches. */
START_TEST(test_compare_record_after_unwatch_is_cut_short)
{
	struct unwatcher u = {0};
	struct hupmon_config cfg = {.on_hangup = count_hangup,
				    .on_compare = unwatch_on_compare,
				    .arg = &u,
				    .compare = true,
				    .sweep_period_ms = 3000};
	struct hupmon_stats st;
	int s, c;
	hupmon *m;

	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	u.m = m;
	fx_pair_ok(AF_INET, &s, &c);
	fx_watch_ok(m, s, NULL);
	fx_close_fin(c);
	for (uint64_t end = fx_now_ns() + 2000 * NS_PER_MS;
	     u.hangups < 1 && fx_now_ns() < end;)
		ck_assert_int_ge(hupmon_dispatch(m, 50), 0);
	ck_assert_int_eq(send(s, "x", 1, MSG_NOSIGNAL), 1);
	for (uint64_t end = fx_now_ns() + 2000 * NS_PER_MS;
	     u.hangups < 2 && fx_now_ns() < end;)
		ck_assert_int_ge(hupmon_dispatch(m, 50), 0);
	ck_assert_uint_eq(u.compares, 0); /* the sweep has not probed yet */
	for (uint64_t end = fx_now_ns() + 8000 * NS_PER_MS;
	     !u.compares && fx_now_ns() < end;)
		ck_assert_int_ge(hupmon_dispatch(m, 50), 0);
	fx_dispatch_for(m, 100);
	hupmon_stats(m, &st);
	ck_assert_uint_eq(u.compares, 1);
	ck_assert_uint_eq(u.hangups, 2);
	ck_assert_uint_eq(st.callbacks, u.hangups + u.compares);
	/* outcomes recorded = callbacks run; the other one was cut short */
	ck_assert_uint_eq(cells(st.cmp_first), u.compares);
	ck_assert_uint_eq(cells(st.cmp_cut_short), 1);
	hupmon_free(m);
	fx_close_ok(s);
}
END_TEST

/* ---- hupmon_free from a callback --------------------------------------- */

struct freer {
	hupmon *m;
	int calls;
};

static void free_in_callback(const struct hupmon_event *ev, void *arg)
{
	struct freer *f = arg;

	(void)ev;
	f->calls++;
	hupmon_free(f->m);
}

START_TEST(test_free_from_callback)
{
	struct freer f = {0};
	struct hupmon_config cfg = {.on_hangup = free_in_callback,
				    .arg = &f,
				    .paths = HUPMON_PATH_EPOLL};
	int s[2], c[2], rc, fds;

	for (int i = 0; i < 2; i++)
		fx_pair_ok(AF_INET, &s[i], &c[i]);
	fds = fx_count_fds();
	ck_assert_int_eq(hupmon_new(&cfg, &f.m), 0);
	for (int i = 0; i < 2; i++) {
		fx_watch_ok(f.m, s[i], NULL);
		fx_close_fin(c[i]);
		ck_assert(fx_wait_fd(s[i], POLLRDHUP, 2000) & POLLRDHUP);
	}
	/* Both hangups are ready; the first callback frees the monitor: the
	 * call returns, the second callback never runs, nothing leaks. */
	rc = hupmon_dispatch(f.m, 1000);
	ck_assert_int_ge(rc, 1);
	ck_assert_int_eq(f.calls, 1);
	/* the monitor's 3 fds closed (and the 2 clients) */
	ck_assert_int_eq(fx_count_fds(), fds - 2);
	for (int i = 0; i < 2; i++)
		fx_close_ok(s[i]);
}
END_TEST

/* ---- an edge-triggered outer loop ends --------------------------------- */

static void slow_probe(struct hupmon *m, uint32_t idx, void *arg)
{
	uint64_t end = hupmon__now_ns() + 3 * NS_PER_MS;

	(void)m;
	(void)idx;
	(void)arg;
	while (hupmon__now_ns() < end)
		;
}

START_TEST(test_edge_triggered_drain_ends)
{
	struct hupmon_config cfg = {.paths = HUPMON_PATH_SWEEP,
				    .sweep_period_ms = 20,
				    .sweep_tick_ms = 1};
	struct pollfd p;
	int s[20], c[20];
	hupmon *m;

	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	m->probe_hook = slow_probe; /* a slice of one probe takes 3 ticks */
	for (int i = 0; i < 20; i++) {
		fx_pair_ok(AF_INET, &s[i], &c[i]);
		fx_watch_ok(m, s[i], NULL);
	}
	for (int round = 0; round < 5; round++) {
		int calls = 0;

		p.fd = hupmon_fd(m);
		p.events = POLLIN;
		ck_assert_int_eq(poll(&p, 1, 2000), 1);
		/* hupmon_fd()'s pattern for an edge-triggered outer loop. */
		while (hupmon_dispatch(m, 0) > 0)
			ck_assert_msg(++calls < 50,
				      "dispatch(m, 0) never returned 0");
	}
	hupmon_free(m);
	for (int i = 0; i < 20; i++) {
		fx_close_ok(s[i]);
		fx_close_ok(c[i]);
	}
}
END_TEST

/* ---- errors of epoll_wait and epoll_ctl (injected) --------------------- */

static int wait_calls;

/* First call: a full batch of stop wake-ups (so dispatch asks again at
 * once); second: the epoll fd is gone. */
static int wait_then_ebadf(struct hupmon *m, struct epoll_event *evs, int max,
			   int timeout_ms)
{
	(void)m;
	(void)timeout_ms;
	if (wait_calls++ == 0) {
		for (int i = 0; i < max; i++) {
			evs[i].events = EPOLLIN;
			evs[i].data.u64 = HUPMON__ID_WAKE;
		}
		return max;
	}
	errno = EBADF;
	return -1;
}

START_TEST(test_dispatch_returns_wait_errors)
{
	hupmon *m;

	ck_assert_int_eq(hupmon_new(NULL, &m), 0);
	wait_calls = 0;
	m->wait_hook = wait_then_ebadf;
	ck_assert_int_eq(hupmon_dispatch(m, 0), -EBADF);
	ck_assert_int_eq(wait_calls, 2);
	m->wait_hook = NULL;
	ck_assert_int_eq(hupmon_dispatch(m, 0), 0); /* and goes on */
	hupmon_free(m);
}
END_TEST

static int ctl_add_fails(struct hupmon *m, int op, int fd,
			 struct epoll_event *ev)
{
	(void)m;
	(void)fd;
	(void)ev;
	return op == EPOLL_CTL_ADD ? -ENOSPC : 0;
}

static int int_opt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	ck_assert_int_eq(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

/* A watch that fails at epoll_ctl (ENOSPC: fs.epoll.max_user_watches)
 * leaves the socket's options as they were; the monitor is unchanged. */
START_TEST(test_failed_watch_leaves_the_socket_alone)
{
	struct hupmon_config cfg = {.liveness = {.keepalive_idle_s = 5,
						 .keepalive_interval_s = 2,
						 .keepalive_count = 3,
						 .user_timeout_ms = 3000}};
	struct hupmon_stats st;
	int s, c, idle;
	hupmon_id id = 0;
	hupmon *m;

	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	fx_pair_ok(AF_INET, &s, &c);
	idle = int_opt(s, IPPROTO_TCP, TCP_KEEPIDLE);
	m->ctl_hook = ctl_add_fails;
	ck_assert_int_eq(hupmon_watch(m, s, NULL, &id), -ENOSPC);
	ck_assert_uint_eq(id, 0);
	ck_assert_int_eq(int_opt(s, SOL_SOCKET, SO_KEEPALIVE), 0);
	ck_assert_int_eq(int_opt(s, IPPROTO_TCP, TCP_KEEPIDLE), idle);
	ck_assert_int_eq(int_opt(s, IPPROTO_TCP, TCP_USER_TIMEOUT), 0);
	hupmon_stats(m, &st);
	ck_assert_uint_eq(st.watched, 0);
	ck_assert_uint_eq(st.swept, 0);
	m->ctl_hook = NULL;
	id = fx_watch_ok(m, s, NULL);
	ck_assert_int_eq(int_opt(s, SOL_SOCKET, SO_KEEPALIVE), 1);
	ck_assert_int_eq(int_opt(s, IPPROTO_TCP, TCP_KEEPIDLE), 5);
	ck_assert_int_eq(int_opt(s, IPPROTO_TCP, TCP_USER_TIMEOUT), 3000);
	fx_unwatch_ok(m, id);
	hupmon_free(m);
	fx_close_ok(s);
	fx_close_ok(c);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("contracts");
	TCase *tc = tcase_create("contracts");

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_refused_run_keeps_the_stop);
	tcase_add_test(tc, test_run_from_callback_keeps_the_stop);
	tcase_add_test(tc, test_peek_probe_keeps_peek_offset);
	tcase_add_loop_test(tc, test_reused_number_epoll, 0, 2);
	tcase_add_test(tc, test_reused_number_peek_keeps_their_error);
	tcase_add_test(tc, test_orphan_watched_again_through_dup);
	tcase_add_test(tc, test_orphan_unwatched_counts_once);
	tcase_add_test(tc, test_compare_record_after_unwatch_is_cut_short);
	tcase_add_test(tc, test_free_from_callback);
	tcase_add_test(tc, test_edge_triggered_drain_ends);
	tcase_add_test(tc, test_dispatch_returns_wait_errors);
	tcase_add_test(tc, test_failed_watch_leaves_the_socket_alone);
	suite_add_tcase(su, tc);
	return fx_run_suite(su);
}
