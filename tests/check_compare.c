/* SPDX-License-Identifier: MIT */
/*
 * check_compare: compare mode end to end over real loopback sockets, both
 * paths on every socket: for each hangup, a record of which path saw it
 * first, the other's classification and lag or its miss, and the counters
 * that add them up; a miss the PEEK sweep cannot avoid (data then FIN);
 * outcomes cut short by an unwatch inside the first report's callback.
 * (Compare mode under churn and overload: check_sweep_churn.)
 *
 * The sweep is the fixture's (FX_SWEEP_*: a 100 ms period, 10 ms ticks).
 */
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fixture.h"
#include "hupmon.h"

#define NS_PER_MS 1000000u

/* --- compare mode on many sockets ---------------------------------------- */

START_TEST(test_compare_many)
{
	int family = fx_family_of(_i);
	enum hupmon_sweep_method method = fx_method_of(_i);
	const int n = fx_scaled(1000), k = fx_scaled(200);
	const uint64_t deadline_ns =
		2 * FX_SWEEP_PERIOD_MS * (uint64_t)NS_PER_MS;
	uint64_t first[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT] = {{0}};
	uint64_t missed[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT] = {{0}};
	uint64_t second[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT] = {{0}};
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
	ck_assert_int_eq(ev.cause, HUPMON_CAUSE_PEER_SHUTDOWN);
	ck_assert_uint_ge(ev.detected_ns, t);
	ck_assert(fx_rec_cmp(&rec, 0, &cr));
	ck_assert_uint_eq(cr.id, id);
	ck_assert_int_eq(cr.first, HUPMON_PATH_EPOLL);
	ck_assert_int_eq(cr.cause, HUPMON_CAUSE_PEER_SHUTDOWN);
	ck_assert(cr.missed);
	ck_assert_int_eq(cr.second_cause, HUPMON_CAUSE_NONE);
	ck_assert_uint_eq(cr.lag_ns, 0);

	fx_get_stats(m, &st);
	ck_assert_uint_eq(
		st.cmp_missed[HUPMON_PATH_SWEEP][HUPMON_CAUSE_PEER_SHUTDOWN],
		1);
	ck_assert_uint_eq(
		st.cmp_first[HUPMON_PATH_EPOLL][HUPMON_CAUSE_PEER_SHUTDOWN], 1);
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
	ck_assert_int_eq(ev.cause,
			 rst ? HUPMON_CAUSE_RESET : HUPMON_CAUSE_PEER_SHUTDOWN);
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

static Suite *compare_suite(void)
{
	Suite *su = suite_create("compare");

	/* loops: 4 = {TCP_INFO, PEEK} x {IPv4, IPv6}; 2 = one axis */
	fx_add_case(su, "compare_many", test_compare_many, 4, 120);
	fx_add_case(su, "compare_peek_data_then_fin",
		    test_compare_peek_data_then_fin, 2, 20);
	/* 4 = {FIN, RST} x {TCP_INFO, PEEK} */
	fx_add_case(su, "compare_cut_short", test_compare_cut_short, 4, 20);
	return su;
}

int main(void)
{
	return fx_run_suite(compare_suite());
}
