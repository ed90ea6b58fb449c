/*
 * check_e2e_sweep: the sweep path end to end over real loopback sockets,
 * for both probe methods (TCP_INFO and PEEK), and compare mode (both paths
 * on every socket), against the contract in hupmon.h.
 *
 * The sweep runs with a 100 ms period and 10 ms ticks. Waits for a report
 * allow several periods plus 2 s; "nothing is reported" checks wait for a
 * number of completed laps (stats.sweep_laps), not for a fixed time.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
#include "hupmon.h"

#define NS_PER_MS 1000000u

/* --- one closure, seen by the sweep alone ------------------------------- */

/* want NONE: the method must stay blind for 5 laps. */
static void sweep_single(int i, enum fx_action a, enum hupmon_cause want,
			 int want_err)
{
	int family = fx_family_of(i);
	enum hupmon_sweep_method method = fx_method_of(i);
	struct fx_rec rec;
	struct hupmon_event ev;
	struct hupmon_stats st0, st;
	int s, c, tag;
	hupmon_id id;
	uint64_t t;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_sweep_monitor(&rec, method, HUPMON_PATH_SWEEP, false, false);
	fx_pair_ok(family, &s, &c);
	id = fx_watch_ok(m, s, &tag);
	fx_wait_laps(m, &rec, 1); /* the sweep is running; alive so far */
	ck_assert_uint_eq(fx_rec_count(&rec), 0);

	fx_get_stats(m, &st0);
	t = fx_act(a, &c);
	if (want == HUPMON_CAUSE_NONE) {
		fx_wait_laps(m, &rec, 5);
		ck_assert_msg(fx_rec_count(&rec) == 0,
			      "%s reported a closure it cannot see",
			      fx_method_name(method));
		fx_get_stats(m, &st);
		ck_assert_uint_ge(st.sweep_probes, st0.sweep_probes + 4);
	} else {
		ck_assert_msg(
			fx_dispatch_until_count(m, &rec, 1, FX_SWEEP_REPORT_MS),
			"%s: no report within %d ms", fx_method_name(method),
			FX_SWEEP_REPORT_MS);
		ck_assert(fx_rec_event(&rec, 0, &ev));
		fx_check_event(&ev, HUPMON_PATH_SWEEP, id, s, &tag, want,
			       want_err, false, t);
		fx_quiet_laps(m, &rec, 3);
		ck_assert_uint_eq(fx_rec_count(&rec), 1);
		fx_get_stats(m, &st);
		ck_assert_uint_eq(st.hangups[HUPMON_PATH_SWEEP][want], 1);
	}
	for (int k = 0; k <= HUPMON_CAUSE_MAX; k++)
		ck_assert_uint_eq(st.hangups[HUPMON_PATH_EPOLL][k], 0);

	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	fx_close_ok(c);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}

START_TEST(test_sweep_fin)
{
	sweep_single(_i, FX_FIN, HUPMON_PEER_SHUTDOWN, 0);
}
END_TEST

START_TEST(test_sweep_half_close)
{
	sweep_single(_i, FX_HALF, HUPMON_PEER_SHUTDOWN, 0);
}
END_TEST

START_TEST(test_sweep_rst)
{
	sweep_single(_i, FX_RST, HUPMON_RESET, ECONNRESET);
}
END_TEST

START_TEST(test_sweep_data_then_fin)
{
	/* PEEK sees the unread data and takes the socket for alive. */
	if (fx_method_of(_i) == HUPMON_SWEEP_PEEK)
		sweep_single(_i, FX_DATA_FIN, HUPMON_CAUSE_NONE, 0);
	else
		sweep_single(_i, FX_DATA_FIN, HUPMON_PEER_SHUTDOWN, 0);
}
END_TEST

/* --- FIN, then our write draws an RST ------------------------------------ */

START_TEST(test_sweep_rst_after_fin)
{
	int family = fx_family_of(_i);
	enum hupmon_sweep_method method = fx_method_of(_i);
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
	m = fx_new_sweep_monitor(&rec, method, HUPMON_PATH_SWEEP, false, false);
	fx_pair_ok(family, &s, &c);
	id = fx_watch_ok(m, s, &tag);

	t = fx_close_fin(c);
	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_SWEEP_REPORT_MS));
	ck_assert(fx_rec_event(&rec, 0, &ev));
	fx_check_event(&ev, HUPMON_PATH_SWEEP, id, s, &tag,
		       HUPMON_PEER_SHUTDOWN, 0, false, t);

	t = fx_now_ns();
	ck_assert_int_eq(send(s, "x", 1, MSG_NOSIGNAL), 1); /* once only */
	if (method == HUPMON_SWEEP_TCP_INFO) {
		ck_assert_msg(
			fx_dispatch_until_count(m, &rec, 2, FX_SWEEP_REPORT_MS),
			"tcp_info: no escalation after the RST");
		ck_assert(fx_rec_event(&rec, 1, &ev));
		fx_check_event(&ev, HUPMON_PATH_SWEEP, id, s, &tag,
			       HUPMON_RESET, EPIPE, true, t);
		fx_quiet_laps(m, &rec, 3);
		ck_assert_uint_eq(fx_rec_count(&rec), 2);
		fx_get_stats(m, &st);
		ck_assert_uint_eq(st.escalations, 1);
	} else {
		/* recv returns 0 once a FIN has arrived, before it looks at
		 * the error: PEEK cannot see this RST. */
		fx_wait_laps(m, &rec, 5);
		ck_assert_uint_eq(fx_rec_count(&rec), 1);
		fx_get_stats(m, &st);
		ck_assert_uint_eq(st.escalations, 0);
	}

	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- alive sockets are never reported ----------------------------------- */

START_TEST(test_sweep_alive)
{
	enum { N = 12 };
	enum hupmon_sweep_method method = fx_method_of(_i);
	struct fx_rec rec;
	struct hupmon_stats st0, st;
	int s[N], c[N];
	hupmon_id id[N];
	int n = 0;
	hupmon *m;

	fx_rec_init(&rec);
	m = fx_new_sweep_monitor(&rec, method, HUPMON_PATH_SWEEP, false, false);
	for (int i = 0; i < N; i++) {
		int family = fx_family_of(i);

		if (!fx_family_available(family))
			continue;
		fx_pair_ok(family, &s[n], &c[n]);
		id[n] = fx_watch_ok(m, s[n], NULL);
		/* Unread data, and data in flight the other way: alive. */
		if (i % 3 == 1)
			ck_assert_int_eq(send(c[n], "ping", 4, MSG_NOSIGNAL),
					 4);
		if (i % 3 == 2)
			ck_assert_int_eq(send(s[n], "pong", 4, MSG_NOSIGNAL),
					 4);
		n++;
	}
	fx_get_stats(m, &st0);
	ck_assert_uint_eq(st0.swept, (uint64_t)n);
	fx_wait_laps(m, &rec, 5);
	ck_assert_uint_eq(fx_rec_count(&rec), 0);
	fx_get_stats(m, &st);
	/* 5 completed laps hold at least 4 whole ones. */
	ck_assert_uint_ge(st.sweep_probes, st0.sweep_probes + 4 * (uint64_t)n);
	ck_assert_uint_eq(fx_sum_cells(st.hangups), 0);

	for (int i = 0; i < n; i++) {
		fx_unwatch_ok(m, id[i]);
		fx_close_ok(s[i]);
		fx_close_ok(c[i]);
	}
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- TCP_INFO with no_touch: the error stays with the application ------- */

START_TEST(test_sweep_no_touch)
{
	int family = fx_family_of(_i);
	struct fx_rec rec;
	struct hupmon_event ev;
	int s[2], c[2], tag[2], err;
	hupmon_id id[2];
	uint64_t t[2];
	char b;
	ssize_t n;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_sweep_monitor(&rec, HUPMON_SWEEP_TCP_INFO, HUPMON_PATH_SWEEP,
				 false, true);
	for (int i = 0; i < 2; i++) {
		fx_pair_ok(family, &s[i], &c[i]);
		id[i] = fx_watch_ok(m, s[i], &tag[i]);
	}
	t[0] = fx_close_rst(c[0]);
	t[1] = fx_close_fin(c[1]);
	ck_assert(fx_dispatch_until_count(m, &rec, 2, FX_SWEEP_REPORT_MS));
	fx_quiet_laps(m, &rec, 3);
	ck_assert_uint_eq(fx_rec_count(&rec), 2);

	/* RST: only the state is known, CLOSE, so HANGUP. */
	ck_assert(fx_rec_find(&rec, id[0], 0, &ev));
	fx_check_event(&ev, HUPMON_PATH_SWEEP, id[0], s[0], &tag[0],
		       HUPMON_HANGUP, 0, false, t[0]);
	ck_assert(fx_rec_find(&rec, id[1], 0, &ev));
	fx_check_event(&ev, HUPMON_PATH_SWEEP, id[1], s[1], &tag[1],
		       HUPMON_PEER_SHUTDOWN, 0, false, t[1]);
	n = recv(s[0], &b, 1, MSG_DONTWAIT);
	err = errno;
	ck_assert_msg(n == -1 && err == ECONNRESET,
		      "app recv gave %zd (%s), want ECONNRESET", n,
		      strerror(err));

	for (int i = 0; i < 2; i++) {
		fx_unwatch_ok(m, id[i]);
		fx_close_ok(s[i]);
	}
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- stats: ticks and probes move; idle means a disarmed timer ---------- */

static bool pred_ticks(hupmon *m, struct fx_rec *rec, void *arg)
{
	struct hupmon_stats st;

	(void)rec;
	hupmon_stats(m, &st);
	return st.sweep_ticks >= *(const uint64_t *)arg;
}

static bool pred_disarmed(hupmon *m, struct fx_rec *rec, void *arg)
{
	struct hupmon_stats st;

	(void)rec;
	(void)arg;
	hupmon_stats(m, &st);
	return st.sweep_tick_ns == 0;
}

START_TEST(test_sweep_stats_idle)
{
	enum hupmon_sweep_method method = fx_method_of(_i * 2);
	struct fx_rec rec;
	struct hupmon_stats st0, st;
	uint64_t target;
	long handled;
	int s, c;
	hupmon_id id;
	hupmon *m;

	fx_rec_init(&rec);
	m = fx_new_sweep_monitor(&rec, method, HUPMON_PATH_SWEEP, false, false);

	/* Nothing watched: no timer, no wakeups. */
	fx_get_stats(m, &st0);
	ck_assert_uint_eq(st0.sweep_tick_ns, 0);
	ck_assert_uint_eq(st0.swept, 0);
	handled = fx_dispatch_for(m, 3 * FX_SWEEP_PERIOD_MS);
	ck_assert_int_eq(handled, 0);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.sweep_ticks, st0.sweep_ticks);

	fx_pair_ok(AF_INET, &s, &c);
	id = fx_watch_ok(m, s, NULL);
	fx_get_stats(m, &st0);
	ck_assert_uint_eq(st0.swept, 1);
	target = st0.sweep_ticks + 3;
	ck_assert_msg(fx_dispatch_until(m, &rec, pred_ticks, &target,
					FX_SWEEP_LAPS_MS(3)),
		      "the sweep timer does not tick");
	fx_get_stats(m, &st);
	ck_assert_uint_gt(st.sweep_tick_ns, 0);
	/* one socket: the tick stretches, but never beyond the period */
	ck_assert_uint_le(st.sweep_tick_ns,
			  (uint64_t)FX_SWEEP_PERIOD_MS * NS_PER_MS);
	ck_assert_uint_gt(st.sweep_probes, st0.sweep_probes);
	fx_wait_laps(m, &rec, 2);
	fx_get_stats(m, &st);
	ck_assert_uint_ge(st.sweep_laps, 2);
	ck_assert_uint_gt(st.sweep_lap_last_ns, 0);
	ck_assert_uint_ge(st.sweep_lap_worst_ns, st.sweep_lap_last_ns);
	ck_assert_uint_eq(fx_rec_count(&rec), 0);

	/* Unwatched: the timer is disarmed (at once, or at the next tick
	 * that finds nothing), then nothing wakes us up any more. */
	fx_unwatch_ok(m, id);
	ck_assert_msg(fx_dispatch_until(m, &rec, pred_disarmed, NULL,
					FX_SWEEP_LAPS_MS(2)),
		      "the sweep timer stays armed with nothing watched");
	fx_get_stats(m, &st0);
	ck_assert_uint_eq(st0.swept, 0);
	ck_assert_uint_eq(st0.watched, 0);
	handled = fx_dispatch_for(m, 3 * FX_SWEEP_PERIOD_MS);
	ck_assert_int_eq(handled, 0);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.sweep_ticks, st0.sweep_ticks);
	ck_assert_uint_eq(st.sweep_probes, st0.sweep_probes);
	ck_assert_uint_eq(st.sweep_tick_ns, 0);

	fx_close_ok(s);
	fx_close_ok(c);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- compare mode on many sockets ---------------------------------------- */

START_TEST(test_compare_many)
{
	int family = fx_family_of(_i);
	enum hupmon_sweep_method method = fx_method_of(_i);
	const int n = fx_scaled(1000), k = fx_scaled(200);
	const uint64_t deadline_ns =
		2 * FX_SWEEP_PERIOD_MS * (uint64_t)NS_PER_MS;
	uint64_t first[3][HUPMON_CAUSE_MAX + 1] = {{0}};
	uint64_t missed[3][HUPMON_CAUSE_MAX + 1] = {{0}};
	uint64_t second[3][HUPMON_CAUSE_MAX + 1] = {{0}};
	uint64_t n_second = 0;
	struct fx_rec rec;
	struct hupmon_stats st;
	int *s, *c;
	hupmon_id *id;
	enum hupmon_cause *want;
	uint64_t seed;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	printf("compare_many: %s, %s\n", fx_family_name(family),
	       fx_method_name(method));
	seed = fx_seed("compare_many");
	s = calloc(n, sizeof(*s));
	c = calloc(n, sizeof(*c));
	id = calloc(n, sizeof(*id));
	want = calloc(n, sizeof(*want));
	ck_assert(s && c && id && want);
	fx_rec_init(&rec);
	m = fx_new_sweep_monitor(&rec, method, 0, true, false);
	for (int i = 0; i < n; i++) {
		fx_pair_ok(family, &s[i], &c[i]);
		id[i] = fx_watch_ok(m, s[i], &s[i]);
	}
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watched, (uint64_t)n);
	ck_assert_uint_eq(st.swept, (uint64_t)n);

	fx_close_random(c, want, n, k, &seed);

	ck_assert_msg(fx_dispatch_until_cmp(m, &rec, k, FX_SWEEP_REPORT_MS),
		      "only %zu compare records for %d closures",
		      fx_rec_count_cmp(&rec), k);
	fx_quiet_laps(m, &rec, 3); /* past every compare deadline */
	ck_assert_uint_eq(fx_rec_count(&rec), (size_t)k);
	ck_assert_uint_eq(fx_rec_count_cmp(&rec), (size_t)k);

	for (int i = 0; i < n; i++) {
		struct hupmon_event ev;
		struct hupmon_compare cr;

		if (want[i] == HUPMON_CAUSE_NONE) {
			ck_assert_msg(fx_rec_count_id(&rec, id[i]) == 0,
				      "alive socket %d reported", i);
			ck_assert_uint_eq(fx_rec_count_cmp_id(&rec, id[i]), 0);
			continue;
		}
		ck_assert_msg(fx_rec_count_id(&rec, id[i]) == 1,
			      "socket %d: %zu reports", i,
			      fx_rec_count_id(&rec, id[i]));
		ck_assert(fx_rec_find(&rec, id[i], 0, &ev));
		ck_assert_msg(ev.cause == want[i], "socket %d: %s, want %s", i,
			      hupmon_cause_name(ev.cause),
			      hupmon_cause_name(want[i]));
		ck_assert_uint_eq(fx_rec_count_cmp_id(&rec, id[i]), 1);
		ck_assert(fx_rec_find_cmp(&rec, id[i], &cr));
		ck_assert_int_eq(cr.fd, s[i]);
		ck_assert_ptr_eq(cr.user, &s[i]);
		ck_assert_int_eq(cr.cause, ev.cause);
		ck_assert_int_eq(cr.first, ev.path);
		ck_assert_uint_eq(cr.first_ns, ev.detected_ns);
		first[cr.first][cr.cause]++;
		if (cr.missed) {
			ck_assert_int_eq(cr.second_cause, HUPMON_CAUSE_NONE);
			ck_assert_uint_eq(cr.lag_ns, 0);
			missed[HUPMON_PATHS_BOTH - cr.first][cr.cause]++;
		} else {
			ck_assert_msg(cr.second_cause == cr.cause,
				      "socket %d: first %s saw %s, second "
				      "classified %s",
				      i, hupmon_path_name(cr.first),
				      hupmon_cause_name(cr.cause),
				      hupmon_cause_name(cr.second_cause));
			ck_assert_msg(cr.lag_ns <=
					      deadline_ns + FX_SWEEP_PERIOD_MS *
								    NS_PER_MS,
				      "lag %llu ns beyond the compare deadline",
				      (unsigned long long)cr.lag_ns);
			second[HUPMON_PATHS_BOTH - cr.first][cr.cause]++;
			n_second++;
		}
	}

	fx_get_stats(m, &st);
	for (int p = 1; p < 3; p++) {
		for (int q = 1; q <= HUPMON_CAUSE_MAX; q++) {
			ck_assert_uint_eq(st.cmp_first[p][q], first[p][q]);
			ck_assert_uint_eq(st.cmp_second[p][q], second[p][q]);
			ck_assert_uint_eq(st.cmp_missed[p][q], missed[p][q]);
		}
	}
	ck_assert_uint_eq(st.cmp_lag.count, n_second);
	ck_assert_uint_eq(fx_sum_cells(st.hangups), (uint64_t)k);
	ck_assert_uint_eq(fx_sum_cells(st.cmp_cut_short), 0);
	printf("compare_many: %llu of %d seen by both paths\n",
	       (unsigned long long)n_second, k);

	for (int i = 0; i < n; i++) {
		fx_unwatch_ok(m, id[i]);
		fx_close_ok(s[i]);
		fx_close_ok(c[i]);
	}
	hupmon_free(m);
	fx_rec_destroy(&rec);
	free(s);
	free(c);
	free(id);
	free(want);
}
END_TEST

/* --- compare with PEEK: data-then-FIN is a sweep miss -------------------- */

START_TEST(test_compare_peek_data_then_fin)
{
	int family = fx_family_of(_i);
	struct fx_rec rec;
	struct hupmon_compare cr;
	struct hupmon_event ev;
	struct hupmon_stats st;
	int s, c;
	hupmon_id id;
	uint64_t t;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_sweep_monitor(&rec, HUPMON_SWEEP_PEEK, 0, true, false);
	fx_pair_ok(family, &s, &c);
	id = fx_watch_ok(m, s, NULL);

	t = fx_data_then_fin(c);
	ck_assert_msg(fx_dispatch_until_cmp(m, &rec, 1, FX_SWEEP_REPORT_MS),
		      "no compare record");
	fx_quiet_laps(m, &rec, 3);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);
	ck_assert_uint_eq(fx_rec_count_cmp(&rec), 1);
	ck_assert(fx_rec_event(&rec, 0, &ev));
	ck_assert_int_eq(ev.path, HUPMON_PATH_EPOLL);
	ck_assert_int_eq(ev.cause, HUPMON_PEER_SHUTDOWN);
	ck_assert_uint_ge(ev.detected_ns, t);
	ck_assert(fx_rec_cmp(&rec, 0, &cr));
	ck_assert_uint_eq(cr.id, id);
	ck_assert_int_eq(cr.first, HUPMON_PATH_EPOLL);
	ck_assert_int_eq(cr.cause, HUPMON_PEER_SHUTDOWN);
	ck_assert(cr.missed);
	ck_assert_int_eq(cr.second_cause, HUPMON_CAUSE_NONE);
	ck_assert_uint_eq(cr.lag_ns, 0);

	fx_get_stats(m, &st);
	ck_assert_uint_eq(
		st.cmp_missed[HUPMON_PATH_SWEEP][HUPMON_PEER_SHUTDOWN], 1);
	ck_assert_uint_eq(st.cmp_first[HUPMON_PATH_EPOLL][HUPMON_PEER_SHUTDOWN],
			  1);
	ck_assert_uint_eq(fx_sum_cells(st.cmp_second), 0);
	ck_assert_uint_eq(st.cmp_lag.count, 0);

	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- compare: unwatched inside the first callback ------------------------ */

struct cut {
	hupmon *m;
	hupmon_id id;
	int rc;
	bool unwatched;
	int late_compares; /* on_compare for id after unwatch returned */
};

static void cut_hook(struct fx_rec *rec, const struct hupmon_event *ev)
{
	struct cut *x = rec->hook_arg;

	if (ev->id != x->id || x->unwatched)
		return;
	x->rc = hupmon_unwatch(x->m, ev->id);
	x->unwatched = true;
}

static void cut_cmp_hook(struct fx_rec *rec, const struct hupmon_compare *cr)
{
	struct cut *x = rec->hook_arg;

	if (cr->id == x->id && x->unwatched)
		x->late_compares++;
}

START_TEST(test_compare_cut_short)
{
	bool rst = _i % 2;
	enum hupmon_sweep_method method = fx_method_of(_i);
	struct fx_rec rec;
	struct hupmon_event ev;
	struct hupmon_stats st;
	struct cut x;
	int s, c, s2, c2;
	hupmon_id id2;
	hupmon *m;

	fx_rec_init(&rec);
	memset(&x, 0, sizeof(x));
	rec.on_event = cut_hook;
	rec.on_compare = cut_cmp_hook;
	rec.hook_arg = &x;
	m = fx_new_sweep_monitor(&rec, method, 0, true, false);
	x.m = m;
	fx_pair_ok(AF_INET, &s, &c);
	x.id = fx_watch_ok(m, s, NULL);

	if (rst)
		fx_close_rst(c);
	else
		fx_close_fin(c);
	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_SWEEP_REPORT_MS));
	/* Nothing is watched now, so the sweep stops lapping: dispatch for
	 * a fixed time well past the compare deadline instead. */
	fx_dispatch_for(m, 5 * FX_SWEEP_PERIOD_MS);
	ck_assert(x.unwatched);
	ck_assert_int_eq(x.rc, 0);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);
	ck_assert(fx_rec_event(&rec, 0, &ev));
	ck_assert_int_eq(ev.cause, rst ? HUPMON_RESET : HUPMON_PEER_SHUTDOWN);
	ck_assert_msg(x.late_compares == 0,
		      "on_compare ran for an id after its unwatch returned");
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.cmp_cut_short[ev.path][ev.cause], 1);
	ck_assert_uint_eq(fx_sum_cells(st.cmp_cut_short), 1);
	ck_assert_uint_eq(st.watched, 0);
	ck_assert_uint_eq(st.swept, 0);

	/* The monitor carries on: a later closure is compared normally. */
	fx_pair_ok(AF_INET, &s2, &c2);
	id2 = fx_watch_ok(m, s2, NULL);
	fx_close_fin(c2);
	ck_assert(fx_dispatch_until_cmp(m, &rec, 1, FX_SWEEP_REPORT_MS));
	ck_assert_uint_eq(fx_rec_count_id(&rec, id2), 1);
	ck_assert_uint_eq(fx_rec_count_cmp_id(&rec, id2), 1);

	fx_unwatch_ok(m, id2);
	fx_close_ok(s2);
	fx_close_ok(s);
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
	tcase_add_loop_test(tc, t, 0, loops);
	suite_add_tcase(su, tc);
}

static Suite *sweep_suite(void)
{
	Suite *su = suite_create("e2e_sweep");

	/* loops: 4 = {TCP_INFO, PEEK} x {IPv4, IPv6}; 2 = one axis */
	add(su, "sweep_fin", test_sweep_fin, 4, 20);
	add(su, "sweep_half_close", test_sweep_half_close, 4, 20);
	add(su, "sweep_rst", test_sweep_rst, 4, 20);
	add(su, "sweep_data_then_fin", test_sweep_data_then_fin, 4, 20);
	add(su, "sweep_rst_after_fin", test_sweep_rst_after_fin, 4, 20);
	add(su, "sweep_alive", test_sweep_alive, 4, 20);
	add(su, "sweep_no_touch", test_sweep_no_touch, 2, 20);
	add(su, "sweep_stats_idle", test_sweep_stats_idle, 2, 20);
	add(su, "compare_many", test_compare_many, 4, 120);
	add(su, "compare_peek_data_then_fin", test_compare_peek_data_then_fin,
	    2, 20);
	/* 4 = {FIN, RST} x {TCP_INFO, PEEK} */
	add(su, "compare_cut_short", test_compare_cut_short, 4, 20);
	return su;
}

int main(void)
{
	return fx_run_suite(sweep_suite());
}
