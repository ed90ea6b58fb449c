/* SPDX-License-Identifier: MIT */
/*
 * check_unwatch_before_close: the config's promise that a watched fd is
 * closed only after hupmon_unwatch returned. With it no report reads
 * SO_COOKIE (a FIN costs nothing beyond the event, an RST its SO_ERROR
 * read, a PEEK probe one recv); the watch-time identity is kept (-EEXIST,
 * fd numbers reused after an unwatch); and a broken promise goes wrong
 * exactly as the header says: a report names the other connection.
 * Real loopback sockets; each test checks that it leaks no fd.
 */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
#include "hupmon.h"

static hupmon *new_monitor(struct fx_rec *rec, unsigned paths,
			   enum hupmon_sweep_method method, bool promise)
{
	struct hupmon_config cfg;
	hupmon *m = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.on_hangup = fx_rec_on_hangup;
	cfg.arg = rec;
	cfg.paths = paths;
	cfg.sweep_method = method;
	cfg.sweep_period_ms = FX_SWEEP_PERIOD_MS;
	cfg.sweep_tick_ms = FX_SWEEP_TICK_MS;
	cfg.unwatch_before_close = promise;
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	return m;
}

/* --- the epoll path: FIN and RST without a cookie read ------------------- */

START_TEST(test_epoll_reports_read_no_cookie)
{
	int family = fx_family_of(_i);
	bool rst = _i >= 2;
	enum hupmon_cause want =
		rst ? HUPMON_CAUSE_RESET : HUPMON_CAUSE_PEER_SHUTDOWN;
	struct hupmon_event ev;
	struct hupmon_stats st;
	struct fx_rec rec;
	int s, c, tag;
	hupmon_id id;
	uint64_t t;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = new_monitor(&rec, HUPMON_PATH_EPOLL, HUPMON_SWEEP_DEFAULT, true);
	fx_pair_ok(family, &s, &c);
	id = fx_watch_ok(m, s, &tag);
	t = fx_act(rst ? FX_RST : FX_FIN, &c);
	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_DEADLINE_MS));
	ck_assert(fx_rec_event(&rec, 0, &ev));
	fx_check_event(&ev, HUPMON_PATH_EPOLL, id, s, &tag, want,
		       rst ? ECONNRESET : 0, false, t);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.epoll_cookie_reads, 0);
	ck_assert_uint_eq(st.epoll_error_reads, rst ? 1 : 0);
	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	fx_close_ok(c);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- a PEEK probe is one recv -------------------------------------------- */

static bool laps_at_least(hupmon *m, struct fx_rec *rec, void *arg)
{
	struct hupmon_stats st;

	(void)rec;
	hupmon_stats(m, &st);
	return st.sweep_laps >= *(uint64_t *)arg;
}

START_TEST(test_peek_probe_is_one_recv)
{
	uint64_t laps = 3;
	struct hupmon_event ev;
	struct hupmon_stats st;
	struct fx_rec rec;
	int s, c, tag;
	hupmon_id id;
	uint64_t t;
	hupmon *m;

	fx_rec_init(&rec);
	m = new_monitor(&rec, HUPMON_PATH_SWEEP, HUPMON_SWEEP_PEEK, true);
	fx_pair_ok(AF_INET, &s, &c);
	id = fx_watch_ok(m, s, &tag);
	ck_assert(fx_dispatch_until(m, &rec, laps_at_least, &laps,
				    FX_SWEEP_LAPS_MS(3)));
	fx_get_stats(m, &st);
	ck_assert_uint_ge(st.sweep_probes, 3);
	ck_assert_uint_eq(st.sweep_cookie_reads, 0);
	ck_assert_uint_eq(fx_rec_count(&rec), 0);

	t = fx_close_fin(c);
	c = -1;
	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_SWEEP_REPORT_MS));
	ck_assert(fx_rec_event(&rec, 0, &ev));
	fx_check_event(&ev, HUPMON_PATH_SWEEP, id, s, &tag,
		       HUPMON_CAUSE_PEER_SHUTDOWN, 0, false, t);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.sweep_cookie_reads, 0);
	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- what stays: -EEXIST, and numbers reused after an unwatch ------------- */

START_TEST(test_watch_identity_kept)
{
	struct hupmon_event ev;
	struct fx_rec rec;
	int s, c, s2, c2, tag;
	hupmon_id id, id2, again;
	uint64_t t;
	hupmon *m;

	fx_rec_init(&rec);
	m = new_monitor(&rec, HUPMON_PATHS_BOTH, HUPMON_SWEEP_TCP_INFO, true);
	fx_pair_ok(AF_INET, &s, &c);
	id = fx_watch_ok(m, s, NULL);
	ck_assert_int_eq(hupmon_watch(m, s, NULL, &again), -EEXIST);

	/* As promised: unwatch, close, and the next connection gets the
	 * number. */
	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	fx_close_ok(c);
	fx_pair_ok(AF_INET, &s2, &c2);
	if (s2 != s) {
		ck_assert_int_eq(dup2(s2, s), s);
		fx_close_ok(s2);
		s2 = s;
	}
	id2 = fx_watch_ok(m, s2, &tag);
	ck_assert_uint_ne(id2, id);
	ck_assert_int_eq(hupmon_unwatch(m, id), -ENOENT);
	t = fx_close_fin(c2);
	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_DEADLINE_MS));
	ck_assert(fx_rec_event(&rec, 0, &ev));
	ck_assert_uint_eq(ev.id, id2);
	ck_assert_int_eq(ev.fd, s2);
	ck_assert_ptr_eq(ev.user, &tag);
	ck_assert_uint_ge(ev.detected_ns, t);
	fx_unwatch_ok(m, id2);
	fx_close_ok(s2);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- a broken promise goes wrong as the header says ------------------------
 */

static bool looked(hupmon *m, struct fx_rec *rec, void *arg)
{
	struct hupmon_stats st;

	hupmon_stats(m, &st);
	return fx_rec_count_id(rec, *(hupmon_id *)arg) > 0 ||
	       st.sweep_cookie_reads > 0;
}

/* Watches A, closes it without an unwatch, puts connection B's server end
 * on A's number, and lets B's peer leave: a TCP_INFO sweep probes A's
 * number. Returns how many reports named A's id (with fd n in *fd). */
static size_t broken_promise(bool promise, int *fd)
{
	struct hupmon_event ev;
	struct fx_rec rec;
	int a, ca, b, cb;
	hupmon_id id;
	size_t n;
	hupmon *m;

	fx_rec_init(&rec);
	m = new_monitor(&rec, HUPMON_PATH_SWEEP, HUPMON_SWEEP_TCP_INFO,
			promise);
	fx_pair_ok(AF_INET, &a, &ca);
	fx_pair_ok(AF_INET, &b, &cb);
	id = fx_watch_ok(m, a, NULL);
	ck_assert_int_eq(dup2(b, a), a); /* closes A's socket: no unwatch */
	fx_close_ok(b);
	fx_close_fin(cb);
	/* Until the sweep has looked: a report (promised), or the identity
	 * read that finds B on the number (kept). */
	ck_assert(fx_dispatch_until(m, &rec, looked, &id, FX_SWEEP_REPORT_MS));
	fx_dispatch_for(m, FX_QUIET_MS);
	n = fx_rec_count_id(&rec, id);
	*fd = -2;
	if (n && fx_rec_find(&rec, id, 0, &ev))
		*fd = ev.fd;
	ck_assert_int_eq(hupmon_unwatch(m, id), 0);
	fx_close_ok(a);
	fx_close_ok(ca);
	hupmon_free(m);
	fx_rec_destroy(&rec);
	return n;
}

START_TEST(test_broken_promise)
{
	int fd;

	/* Kept: the probe finds another socket on the number and says
	 * nothing. */
	ck_assert_uint_eq(broken_promise(false, &fd), 0);
	/* Promised and broken: B's hangup is reported as A's, naming the
	 * number B now holds. */
	ck_assert_uint_eq(broken_promise(true, &fd), 1);
	ck_assert_int_ge(fd, 0);
}
END_TEST

static Suite *promise_suite(void)
{
	Suite *su = suite_create("unwatch_before_close");

	/* loops 0-1: FIN over IPv4, IPv6; 2-3: RST */
	fx_add_case(su, "epoll_reports_read_no_cookie",
		    test_epoll_reports_read_no_cookie, 4, 20);
	fx_add_case(su, "peek_probe_is_one_recv", test_peek_probe_is_one_recv,
		    0, 20);
	fx_add_case(su, "watch_identity_kept", test_watch_identity_kept, 0, 20);
	fx_add_case(su, "broken_promise", test_broken_promise, 0, 20);
	return su;
}

int main(void)
{
	return fx_run_suite(promise_suite());
}
