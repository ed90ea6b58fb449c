/* SPDX-License-Identifier: MIT */
/*
 * check_budget: the sweep's CPU budget (sweep_cpu_budget), and the epoll
 * path's priority over a sweep slice.
 *
 * The schedule tests run the sweep on two test clocks, so the sanitizers
 * or a busy machine cannot change what they see: the monitor's clock
 * moves on by the tick interval after each slice (worked off as dispatch
 * does), and the thread CPU clock the budget reads moves on by a set cost
 * at each probe (the probe hook). Laps, slice sizes and the CPU share are
 * then exact. The epoll-first and compare tests dispatch for real, with
 * only the CPU clock a test's, and bound nothing tighter than seconds.
 * Real loopback sockets throughout.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
#include "clock.h"
#include "deliver.h"
#include "state.h"
#include "probe.h"

#define POOL   300
#define SLOTS  4096 /* slot indexes the probe hook accepts */
#define MS     1000000ull
#define PERIOD 100 /* ms */
#define TICK   10  /* ms */

static int server[POOL], client[POOL];

static void setup(void)
{
	fx_setup();
	for (int i = 0; i < POOL; i++)
		fx_pair_ok(AF_INET, &server[i], &client[i]);
}

static void teardown(void)
{
	for (int i = 0; i < POOL; i++) {
		close(server[i]);
		if (client[i] >= 0)
			close(client[i]);
	}
	fx_teardown();
}

/* ---- the two test clocks ------------------------------------------------ */

struct vt {
	hupmon *m;
	uint64_t now;	      /* the monitor's clock */
	uint64_t cpu;	      /* the dispatching thread's CPU clock */
	uint64_t cost;	      /* CPU per probe */
	uint64_t cpu_reads;   /* times the budget read the CPU clock */
	uint64_t last[SLOTS]; /* clock at each slot's last probe (or watch) */
	uint64_t worst_gap;
	unsigned slice, slice_max; /* probes in the slice, the most seen */
	/* epoll first: the epoll path's reports when the first probe of a
	 * dispatch call began, ~0u: no probe yet */
	unsigned epoll_at_probe;
};

static uint64_t vt_clock(void *arg)
{
	return ((struct vt *)arg)->now;
}

static uint64_t vt_cpu(void *arg)
{
	struct vt *v = arg;

	v->cpu_reads++;
	return v->cpu;
}

static void vt_probe(struct hupmon *m, uint32_t idx, void *arg)
{
	struct vt *v = arg;

	ck_assert_uint_lt(idx, SLOTS);
	if (v->now - v->last[idx] > v->worst_gap)
		v->worst_gap = v->now - v->last[idx];
	v->last[idx] = v->now;
	v->cpu += v->cost;
	v->slice++;
	if (v->epoll_at_probe == ~0u)
		v->epoll_at_probe =
			(unsigned)m->st.hangups[HUPMON_PATH_EPOLL]
					       [HUPMON_CAUSE_PEER_SHUTDOWN];
}

static hupmon *vt_new(struct vt *v, double budget, unsigned paths, bool compare,
		      struct fx_rec *rec)
{
	struct hupmon_config cfg = {.paths = paths,
				    .sweep_period_ms = PERIOD,
				    .sweep_tick_ms = TICK,
				    .compare = compare,
				    .sweep_cpu_budget = budget};
	hupmon *m;

	if (rec) {
		cfg.on_hangup = fx_rec_on_hangup;
		cfg.on_compare = fx_rec_on_compare;
		cfg.arg = rec;
	}
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	v->m = m;
	v->now = 1000 * MS;
	v->epoll_at_probe = 0;
	m->clock_hook = vt_clock;
	m->clock_hook_arg = v;
	m->cpu_hook = vt_cpu;
	m->cpu_hook_arg = v;
	m->probe_hook = vt_probe;
	m->probe_hook_arg = v;
	return m;
}

/* Watches server[from..to) on the test clock. */
static void vt_watch(struct vt *v, hupmon_id *id, int from, int to)
{
	for (int i = from; i < to; i++) {
		id[i] = fx_watch_ok(v->m, server[i], NULL);
		ck_assert_uint_lt((uint32_t)id[i], SLOTS);
		v->last[(uint32_t)id[i]] = v->now;
	}
}

/* One tick on the test clock: the slice, worked off in chunks as dispatch
 * does (each chunk's CPU charged to the budget), then the clock moves on
 * by the tick interval. */
static void vt_tick(struct vt *v)
{
	hupmon *m = v->m;
	uint64_t step;

	v->slice = 0;
	pthread_mutex_lock(&m->lock);
	hupmon__sweep_slice_begin(m, v->now);
	while (m->sweep.slice_open) {
		uint64_t cpu = v->cpu;

		hupmon__probe_work(m, 32);
		hupmon__sweep_charge(m, v->cpu - cpu);
	}
	hupmon__deliver_expired(m);
	step = m->sweep.armed_ns ? m->sweep.armed_ns : TICK * MS;
	pthread_mutex_unlock(&m->lock);
	if (v->slice > v->slice_max)
		v->slice_max = v->slice;
	v->now += step;
}

static struct hupmon_stats vt_stats(struct vt *v)
{
	struct hupmon_stats st;

	hupmon_stats(v->m, &st);
	return st;
}

/* Ticks until `laps` more laps completed (at most `max` ticks). */
static void vt_laps(struct vt *v, uint64_t laps, unsigned max)
{
	uint64_t to = vt_stats(v).sweep_laps + laps;

	for (unsigned i = 0; i < max && vt_stats(v).sweep_laps < to; i++)
		vt_tick(v);
	ck_assert_uint_ge(vt_stats(v).sweep_laps, to);
}

/* The CPU share and probes of `ticks` ticks from now on. */
static double vt_share(struct vt *v, unsigned ticks)
{
	uint64_t cpu = v->cpu, now = v->now;

	v->slice_max = 0;
	v->worst_gap = 0;
	for (unsigned i = 0; i < ticks; i++)
		vt_tick(v);
	return (double)(v->cpu - cpu) / (double)(v->now - now);
}

static void assert_near(uint64_t got, uint64_t want, uint64_t slack)
{
	ck_assert_msg(got + slack >= want && got <= want + slack,
		      "%llu, want %llu +- %llu", (unsigned long long)got,
		      (unsigned long long)want, (unsigned long long)slack);
}

/* ---- configuration --------------------------------------------------- */

/* The meter: what one batch of a dispatch call charges to the slice, from
 * the clock readings the loop hands in (budget.h). One row a batch. */
static const struct meter_row {
	const char *what;
	uint64_t mark; /* the meter's mark before the batch */
	bool served;   /* socket events served */
	bool sliced, open, tick_woke;
	uint64_t charge;     /* what the batch charges */
	uint64_t mark_after; /* and the mark it leaves */
} meter_rows[] = {
	/* pre 100, waited at 1000, events served until 1300, work until
	 * 1500 (not read unless sliced) */
	{"no slice: nothing, mark dropped", 900, true, false, false, false, 0,
	 0},
	{"slice after events: only after them", 0, true, true, false, false,
	 200, 0},
	{"the tick alone woke the wait: the wakeup is the slice's", 0, false,
	 true, false, true, 900 + 500, 0},
	{"woken by the tick, but events came too: not the wakeup", 0, true,
	 true, false, true, 200, 0},
	{"the slice goes on: the poll since its last chunk, and a mark", 700,
	 true, true, true, false, 300 + 200, 1500},
	{"a mark after the wait read: nothing before", 1200, false, true, true,
	 false, 500, 1500},
};

START_TEST(test_meter)
{
	const struct meter_row *r = &meter_rows[_i];
	struct hupmon__meter mt;
	uint64_t got;

	hupmon__meter_begin(&mt, true, 100);
	mt.mark = r->mark;
	hupmon__meter_waited(&mt, 1000);
	if (r->served)
		hupmon__meter_served(&mt, 1300);
	got = hupmon__meter_slice(&mt, r->sliced, r->open, r->tick_woke, 1500);
	ck_assert_msg(got == r->charge, "%s: charged %llu, want %llu", r->what,
		      (unsigned long long)got, (unsigned long long)r->charge);
	ck_assert_msg(mt.mark == r->mark_after, "%s: mark %llu, want %llu",
		      r->what, (unsigned long long)mt.mark,
		      (unsigned long long)r->mark_after);
}
END_TEST

START_TEST(test_budget_config)
{
	static const double bad[] = {NAN,  -NAN,     -0.01,
				     1.01, INFINITY, -INFINITY};
	static const double good[] = {0, 1e-9, 0.2, 1};
	struct hupmon_config cfg = {.paths = HUPMON_PATH_SWEEP};
	struct hupmon_stats st;
	hupmon *m = (hupmon *)&cfg;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg.sweep_cpu_budget = bad[i];
		ck_assert_int_eq(hupmon_new(&cfg, &m), -EINVAL);
		ck_assert_ptr_null(m);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cfg.sweep_cpu_budget = good[i];
		ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
		hupmon_stats(m, &st);
		ck_assert_uint_eq(st.sweep_lap_effective_ns, 0); /* disarmed */
		hupmon_free(m);
	}
	/* Epoll only: nothing to budget, still a valid config. */
	cfg.paths = HUPMON_PATH_EPOLL;
	cfg.sweep_cpu_budget = 0.5;
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	hupmon_free(m);
}
END_TEST

/* ---- the schedule on the test clocks ---------------------------------- */

/* 200 sockets at 200 us of CPU each: 40 ms a lap, which a 0.2 budget
 * stretches to 200 ms (period 100 ms). Each 10 ms tick then probes 10
 * sockets, the CPU share is the budget, laps take the effective lap and no
 * socket waits longer than the probe-gap bound. */
START_TEST(test_budget_stretches_the_lap)
{
	static struct vt v;
	hupmon_id id[POOL];
	struct hupmon_stats st;
	double share;
	hupmon *m;

	memset(&v, 0, sizeof(v));
	m = vt_new(&v, 0.2, HUPMON_PATH_SWEEP, false, NULL);
	v.cost = 200000;
	vt_watch(&v, id, 0, 200);
	st = vt_stats(&v);
	/* Nothing measured yet: the period. */
	ck_assert_uint_eq(st.sweep_lap_effective_ns, PERIOD * MS);
	vt_laps(&v, 3, 1000);
	share = vt_share(&v, 200); /* 2 s: ten laps */
	st = vt_stats(&v);
	assert_near(st.sweep_lap_effective_ns, 200 * MS, MS);
	ck_assert_uint_eq(st.sweep_gap_bound_ns,
			  st.sweep_lap_effective_ns + TICK * MS);
	ck_assert_msg(share >= 0.19 && share <= 0.21, "CPU share %.3f", share);
	ck_assert_uint_le(v.slice_max, 11);
	assert_near(st.sweep_lap_last_ns, 200 * MS, TICK * MS);
	ck_assert_uint_le(v.worst_gap, st.sweep_gap_bound_ns);
	ck_assert_uint_le(st.sweep_gap_worst_ns, st.sweep_gap_bound_ns);
	hupmon_free(m);
}
END_TEST

/* 20 sockets at 10 ms of CPU each: a 0.2 budget makes the lap 1 s, and a
 * 10 ms tick owes a fifth of a probe. The remainder carries from tick to
 * tick, so four ticks in five probe nothing and the budget holds (with at
 * least one probe a tick the share would be 1.0, the lap 200 ms). */
START_TEST(test_budget_below_one_probe_a_tick)
{
	static struct vt v;
	hupmon_id id[POOL];
	struct hupmon_stats st;
	double share;
	hupmon *m;

	memset(&v, 0, sizeof(v));
	m = vt_new(&v, 0.2, HUPMON_PATH_SWEEP, false, NULL);
	v.cost = 10 * MS;
	vt_watch(&v, id, 0, 20);
	vt_laps(&v, 3, 2000);
	share = vt_share(&v, 500); /* 5 s: five laps */
	st = vt_stats(&v);
	ck_assert_msg(share >= 0.19 && share <= 0.21, "CPU share %.3f", share);
	assert_near(st.sweep_lap_effective_ns, 1000 * MS, MS);
	assert_near(st.sweep_lap_last_ns, 1000 * MS, TICK * MS);
	ck_assert_uint_le(v.slice_max, 1);
	ck_assert_uint_le(v.worst_gap, st.sweep_gap_bound_ns);
	hupmon_free(m);
}
END_TEST

/* The effective lap follows the load both ways: fewer sockets shorten it
 * at once, more lengthen it; a cheaper probe brings it back to the period
 * within a few laps, and the sweep then keeps the period again. */
START_TEST(test_budget_follows_the_load)
{
	static struct vt v;
	hupmon_id id[POOL];
	struct hupmon_stats st;
	double share;
	hupmon *m;

	memset(&v, 0, sizeof(v));
	m = vt_new(&v, 0.2, HUPMON_PATH_SWEEP, false, NULL);
	v.cost = 200000;
	vt_watch(&v, id, 0, 200);
	vt_laps(&v, 3, 1000);
	assert_near(vt_stats(&v).sweep_lap_effective_ns, 200 * MS, MS);
	/* 150 sockets: 150 ms at once. */
	for (int i = 150; i < 200; i++)
		fx_unwatch_ok(m, id[i]);
	assert_near(vt_stats(&v).sweep_lap_effective_ns, 150 * MS, MS);
	/* 100 sockets: 100 ms, the period; never below it. */
	for (int i = 100; i < 150; i++)
		fx_unwatch_ok(m, id[i]);
	ck_assert_uint_eq(vt_stats(&v).sweep_lap_effective_ns, PERIOD * MS);
	for (int i = 50; i < 100; i++)
		fx_unwatch_ok(m, id[i]);
	ck_assert_uint_eq(vt_stats(&v).sweep_lap_effective_ns, PERIOD * MS);
	/* Back to 200, then a cheaper probe: 200 x 50 us / 0.2 = 50 ms, so
	 * the period again once the cost has followed. */
	vt_watch(&v, id, 50, 200);
	assert_near(vt_stats(&v).sweep_lap_effective_ns, 200 * MS, MS);
	v.cost = 50000;
	for (unsigned i = 0;
	     i < 1000 && vt_stats(&v).sweep_lap_effective_ns > PERIOD * MS; i++)
		vt_tick(&v);
	ck_assert_uint_eq(vt_stats(&v).sweep_lap_effective_ns, PERIOD * MS);
	vt_laps(&v, 2, 1000);
	share = vt_share(&v, 100);
	st = vt_stats(&v);
	assert_near(st.sweep_lap_last_ns, PERIOD * MS, TICK * MS);
	ck_assert_uint_eq(st.sweep_gap_bound_ns, (PERIOD + TICK) * MS);
	ck_assert_uint_le(v.worst_gap, st.sweep_gap_bound_ns);
	ck_assert_uint_le(v.slice_max, 21); /* 200 / 10 ticks, as without */
	ck_assert_msg(share >= 0.09 && share <= 0.11, "CPU share %.3f", share);
	/* Dearer again: stretches again. */
	v.cost = 400000;
	for (unsigned i = 0;
	     i < 1000 && vt_stats(&v).sweep_lap_effective_ns < 390 * MS; i++)
		vt_tick(&v);
	assert_near(vt_stats(&v).sweep_lap_effective_ns, 400 * MS, 10 * MS);
	hupmon_free(m);
}
END_TEST

/* Without a budget nothing changes: the CPU clock is never read, the
 * effective lap is the period whatever probes cost, and so are laps. */
START_TEST(test_no_budget_keeps_the_period)
{
	static struct vt v;
	hupmon_id id[POOL];
	struct hupmon_stats st;
	hupmon *m;

	memset(&v, 0, sizeof(v));
	m = vt_new(&v, 0, HUPMON_PATH_SWEEP, false, NULL);
	v.cost = 2000000; /* 400 ms of CPU a lap of 100 ms */
	vt_watch(&v, id, 0, 200);
	vt_laps(&v, 3, 1000);
	vt_share(&v, 100);
	st = vt_stats(&v);
	ck_assert_uint_eq(st.sweep_lap_effective_ns, PERIOD * MS);
	ck_assert_uint_eq(st.sweep_gap_bound_ns, (PERIOD + TICK) * MS);
	assert_near(st.sweep_lap_last_ns, PERIOD * MS, TICK * MS);
	ck_assert_uint_le(v.slice_max, 21);
	for (int i = 0; i < 200; i++)
		fx_unwatch_ok(m, id[i]);
	ck_assert_uint_eq(vt_stats(&v).sweep_lap_effective_ns, 0);
	hupmon_free(m);
}
END_TEST

/* ---- real dispatch ------------------------------------------------------ */

static bool close_wait(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	return !getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) &&
	       ti.tcpi_state == TCP_CLOSE_WAIT;
}

/* An on_hangup whose work the thread's CPU clock sees: 50 ms each. It is
 * the epoll path's, never the sweep's budget. */
static void costly_hangup(const struct hupmon_event *ev, void *arg)
{
	(void)ev;
	((struct vt *)arg)->cpu += 50 * MS;
}

/* Epoll first. A burst of 200 FINs lands while a tick is already pending,
 * its timer ahead of them in the epoll ready list; the dispatch call that
 * serves them must deliver every one before its slice probes anything.
 * Loop 0: no budget; loop 1: a stretched budgeted sweep (each probe costs
 * 10 ms on the test CPU clock: 300 sockets make a 15 s lap). */
#define BURST 200
START_TEST(test_epoll_first_burst)
{
	static struct vt v;
	hupmon_id id[POOL];
	struct hupmon_stats st;
	hupmon *m;
	uint64_t end, lap;
	int done = 0;

	memset(&v, 0, sizeof(v));
	m = vt_new(&v, _i ? 0.2 : 0, HUPMON_PATHS_BOTH, false, NULL);
	m->clock_hook = NULL; /* the real clock: real ticks */
	v.cost = MS;	      /* a budgeted tick owes 2 probes */
	for (int i = 0; i < POOL; i++)
		id[i] = fx_watch_ok(m, server[i], NULL);
	end = fx_now_ns() + 5000 * MS;
	do
		ck_assert_int_ge(hupmon_dispatch(m, 100), 0);
	while (vt_stats(&v).sweep_probes == 0 && fx_now_ns() < end);
	st = vt_stats(&v);
	ck_assert_uint_gt(st.sweep_probes, 0);
	/* The dispatcher reads the CPU clock for a budget only. */
	if (_i)
		ck_assert_uint_gt(st.sweep_lap_effective_ns, PERIOD * MS);
	else
		ck_assert_uint_eq(v.cpu_reads, 0);
	ck_assert(_i ? v.cpu_reads > 0 : v.cpu_reads == 0);
	/* The next tick first, then the burst behind it. */
	ck_assert(fx_wait_fd(m->tfd, POLLIN, 2000) & POLLIN);
	for (int i = 0; i < BURST; i++) {
		fx_close_fin(client[i]);
		client[i] = -1;
	}
	end = fx_now_ns() + 2000 * MS;
	while (done < BURST && fx_now_ns() < end)
		done = close_wait(server[done]) ? done + 1 : done;
	ck_assert_int_eq(done, BURST);
	v.epoll_at_probe = ~0u;
	lap = vt_stats(&v).sweep_lap_effective_ns;
	m->cfg.on_hangup = costly_hangup; /* no callback ran before */
	m->cfg.arg = &v;
	ck_assert_int_ge(hupmon_dispatch(m, 0), BURST);
	st = vt_stats(&v);
	/* The burst's callbacks (BURST x 50 ms of CPU) are not charged to
	 * the sweep: the cost per probe, so the effective lap, holds. */
	ck_assert_uint_eq(st.sweep_lap_effective_ns, lap);
	ck_assert_uint_eq(
		st.hangups[HUPMON_PATH_EPOLL][HUPMON_CAUSE_PEER_SHUTDOWN],
		BURST);
	ck_assert_msg(v.epoll_at_probe != ~0u, "no probe in the dispatch");
	ck_assert_uint_eq(v.epoll_at_probe, BURST);
	for (int i = 0; i < POOL; i++)
		fx_unwatch_ok(m, id[i]);
	hupmon_free(m);
}
END_TEST

/* Compare mode under a stretched budgeted sweep: its deadline counts laps,
 * so the sweep misses none of the hangups it can see (FIN: CLOSE_WAIT). */
START_TEST(test_compare_under_budget)
{
	static struct vt v;
	struct fx_rec rec;
	hupmon_id id[POOL];
	struct hupmon_stats st;
	hupmon *m;
	const int k = 40;

	memset(&v, 0, sizeof(v));
	fx_rec_init(&rec);
	m = vt_new(&v, 0.2, HUPMON_PATHS_BOTH, true, &rec);
	m->clock_hook = NULL;
	v.cost = 200000; /* 300 sockets: a 300 ms lap */
	for (int i = 0; i < POOL; i++)
		id[i] = fx_watch_ok(m, server[i], NULL);
	fx_dispatch_for(m, 200);
	ck_assert_uint_gt(vt_stats(&v).sweep_lap_effective_ns, PERIOD * MS);
	for (int i = 0; i < k; i++) {
		fx_close_fin(client[i]);
		client[i] = -1;
	}
	ck_assert(fx_dispatch_until_cmp(m, &rec, (size_t)k, 10000));
	st = vt_stats(&v);
	ck_assert_uint_gt(st.sweep_lap_effective_ns, PERIOD * MS);
	for (int c = 1; c <= HUPMON_CAUSE_MAX; c++)
		ck_assert_uint_eq(st.cmp_missed[HUPMON_PATH_SWEEP][c], 0);
	ck_assert_uint_eq(
		st.cmp_second[HUPMON_PATH_SWEEP][HUPMON_CAUSE_PEER_SHUTDOWN] +
			st.cmp_first[HUPMON_PATH_SWEEP]
				    [HUPMON_CAUSE_PEER_SHUTDOWN],
		(uint64_t)k);
	for (int i = 0; i < POOL; i++)
		fx_unwatch_ok(m, id[i]);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("budget");
	TCase *tc = tcase_create("budget");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_meter, 0,
			    sizeof(meter_rows) / sizeof(meter_rows[0]));
	tcase_add_test(tc, test_budget_config);
	tcase_add_test(tc, test_budget_stretches_the_lap);
	tcase_add_test(tc, test_budget_below_one_probe_a_tick);
	tcase_add_test(tc, test_budget_follows_the_load);
	tcase_add_test(tc, test_no_budget_keeps_the_period);
	tcase_add_loop_test(tc, test_epoll_first_burst, 0, 2);
	tcase_add_test(tc, test_compare_under_budget);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
