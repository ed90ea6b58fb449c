/* SPDX-License-Identifier: MIT */
/*
 * check_e2e_sweep: the sweep path end to end over real loopback sockets,
 * for both probe methods (TCP_INFO and PEEK), against the contract in
 * hupmon.h: what each method sees and cannot see, escalation, alive
 * sockets, no_touch, and an idle sweep that disarms its timer.
 *
 * The sweep is the fixture's (FX_SWEEP_*: a 100 ms period, 10 ms ticks).
 * Waits for a report allow several periods plus 2 s; "nothing is reported"
 * checks wait for a number of completed laps (stats.sweep_laps), not for a
 * fixed time.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

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
	sweep_single(_i, FX_FIN, HUPMON_CAUSE_PEER_SHUTDOWN, 0);
}
END_TEST

START_TEST(test_sweep_half_close)
{
	sweep_single(_i, FX_HALF, HUPMON_CAUSE_PEER_SHUTDOWN, 0);
}
END_TEST

START_TEST(test_sweep_rst)
{
	sweep_single(_i, FX_RST, HUPMON_CAUSE_RESET, ECONNRESET);
}
END_TEST

START_TEST(test_sweep_data_then_fin)
{
	/* PEEK sees the unread data and takes the socket for alive. */
	if (fx_method_of(_i) == HUPMON_SWEEP_PEEK)
		sweep_single(_i, FX_DATA_FIN, HUPMON_CAUSE_NONE, 0);
	else
		sweep_single(_i, FX_DATA_FIN, HUPMON_CAUSE_PEER_SHUTDOWN, 0);
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
		       HUPMON_CAUSE_PEER_SHUTDOWN, 0, false, t);

	t = fx_now_ns();
	ck_assert_int_eq(send(s, "x", 1, MSG_NOSIGNAL), 1); /* once only */
	if (method == HUPMON_SWEEP_TCP_INFO) {
		ck_assert_msg(
			fx_dispatch_until_count(m, &rec, 2, FX_SWEEP_REPORT_MS),
			"tcp_info: no escalation after the RST");
		ck_assert(fx_rec_event(&rec, 1, &ev));
		fx_check_event(&ev, HUPMON_PATH_SWEEP, id, s, &tag,
			       HUPMON_CAUSE_RESET, EPIPE, true, t);
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
		       HUPMON_CAUSE_HANGUP, 0, false, t[0]);
	ck_assert(fx_rec_find(&rec, id[1], 0, &ev));
	fx_check_event(&ev, HUPMON_PATH_SWEEP, id[1], s[1], &tag[1],
		       HUPMON_CAUSE_PEER_SHUTDOWN, 0, false, t[1]);
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

/* --- suite -------------------------------------------------------------- */

static Suite *sweep_suite(void)
{
	Suite *su = suite_create("e2e_sweep");

	/* loops: 4 = {TCP_INFO, PEEK} x {IPv4, IPv6}; 2 = one axis */
	fx_add_case(su, "sweep_fin", test_sweep_fin, 4, 20);
	fx_add_case(su, "sweep_half_close", test_sweep_half_close, 4, 20);
	fx_add_case(su, "sweep_rst", test_sweep_rst, 4, 20);
	fx_add_case(su, "sweep_data_then_fin", test_sweep_data_then_fin, 4, 20);
	fx_add_case(su, "sweep_rst_after_fin", test_sweep_rst_after_fin, 4, 20);
	fx_add_case(su, "sweep_alive", test_sweep_alive, 4, 20);
	fx_add_case(su, "sweep_no_touch", test_sweep_no_touch, 2, 20);
	fx_add_case(su, "sweep_stats_idle", test_sweep_stats_idle, 2, 20);
	return su;
}

int main(void)
{
	return fx_run_suite(sweep_suite());
}
