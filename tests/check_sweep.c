/* SPDX-License-Identifier: MIT */
/*
 * check_sweep: the sweep's schedule, seen from inside through a test-only
 * probe hook: slice sizes, exactly one probe per socket per lap under churn,
 * tick stretching, the disarmed timer, and overload accounting. Real
 * loopback sockets, all alive: the probes find nothing to report.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
#include "clock.h"
#include "state.h"

#define POOL 240

struct probe_log {
	unsigned this_call; /* probes during the current dispatch call */
	unsigned max_call;
	/* per watch instance: probes per lap */
	struct inst {
		hupmon_id id;
		uint64_t lap_from, lap_to; /* laps counter at watch / unwatch */
		bool open;
		uint8_t probes[64];
	} inst[4096];
	unsigned ninst;
	uint64_t busy_ns; /* burn this long in the next probe (overload) */
};

static int server[POOL], client[POOL];
static int nfd_before;

static void setup(void)
{
	int s, c;

	/* The fixture's listener lives for the whole process: open it first. */
	ck_assert_int_eq(fx_pair(AF_INET, &s, &c), 0);
	close(s);
	close(c);
	nfd_before = fx_count_fds();
	for (int i = 0; i < POOL; i++)
		ck_assert_int_eq(fx_pair(AF_INET, &server[i], &client[i]), 0);
}

static void teardown(void)
{
	for (int i = 0; i < POOL; i++) {
		close(server[i]);
		if (client[i] >= 0)
			close(client[i]);
	}
	ck_assert_int_eq(fx_count_fds(), nfd_before);
}

static struct inst *find_inst(struct probe_log *log, hupmon_id id)
{
	for (unsigned i = log->ninst; i-- > 0;)
		if (log->inst[i].id == id && log->inst[i].open)
			return &log->inst[i];
	return NULL;
}

static void hook(struct hupmon *m, uint32_t idx, void *arg)
{
	struct probe_log *log = arg;
	struct inst *in = find_inst(log, hupmon__slot_id(&m->reg, idx));

	log->this_call++;
	ck_assert_ptr_nonnull(in);
	ck_assert_uint_lt(m->st.sweep_laps, 64);
	in->probes[m->st.sweep_laps]++;
	if (log->busy_ns) {
		uint64_t end = hupmon__now_ns() + log->busy_ns;

		log->busy_ns = 0;
		while (hupmon__now_ns() < end)
			;
	}
}

static hupmon *new_monitor(struct probe_log *log, uint32_t period,
			   uint32_t tick)
{
	struct hupmon_config cfg = {.paths = HUPMON_PATH_SWEEP,
				    .sweep_period_ms = period,
				    .sweep_tick_ms = tick};
	hupmon *m;

	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	m->probe_hook = hook;
	m->probe_hook_arg = log;
	return m;
}

static uint64_t laps(hupmon *m)
{
	struct hupmon_stats st;

	hupmon_stats(m, &st);
	return st.sweep_laps;
}

static void watch(hupmon *m, struct probe_log *log, int i)
{
	struct inst *in = &log->inst[log->ninst++];

	ck_assert_uint_lt(log->ninst, 4096);
	ck_assert_int_eq(hupmon_watch(m, server[i], NULL, &in->id), 0);
	in->lap_from = laps(m);
	in->open = true;
}

static void unwatch(hupmon *m, struct probe_log *log, hupmon_id id)
{
	struct inst *in = find_inst(log, id);

	/* The lap under way when it left (its unwatch may end that lap). */
	in->lap_to = laps(m);
	ck_assert_int_eq(hupmon_unwatch(m, id), 0);
	in->open = false;
}

static void dispatch_once(hupmon *m, struct probe_log *log)
{
	log->this_call = 0;
	ck_assert_int_ge(hupmon_dispatch(m, 100), 0);
	if (log->this_call > log->max_call)
		log->max_call = log->this_call;
}

/* 200 sockets, period 200 ms, tick 10 ms: 20 ticks a lap, 10 a tick. */
/* The sweep's clock, one tick interval (10 ms) per tick handled: the slices
 * see a loop that always keeps up, however late this machine runs the
 * test (a late slice would also catch up with what came due). */
static uint64_t tick_clock(void *arg)
{
	struct hupmon *m = arg;

	return 1000000000ull + m->st.sweep_ticks * 10000000ull;
}

START_TEST(test_slices_stay_within_share)
{
	static struct probe_log log;
	hupmon *m;

	memset(&log, 0, sizeof(log));
	m = new_monitor(&log, 200, 10);
	m->clock_hook = tick_clock;
	m->clock_hook_arg = m;
	for (int i = 0; i < 200; i++)
		watch(m, &log, i);
	for (uint64_t end = fx_now_ns() + 3000000000ull;
	     laps(m) < 3 && fx_now_ns() < end;)
		dispatch_once(m, &log);
	ck_assert_uint_ge(laps(m), 3);
	ck_assert_uint_le(log.max_call, 200 * 10 / 200 + 1);
	ck_assert_uint_ge(log.max_call, 1);
	hupmon_free(m);
}
END_TEST

START_TEST(test_exactly_once_per_lap_under_churn)
{
	static struct probe_log log;
	hupmon_id live[POOL];
	bool watched[POOL] = {false};
	unsigned seed = 4242;
	hupmon *m;

	memset(&log, 0, sizeof(log));
	m = new_monitor(&log, 100, 5);
	memset(live, 0, sizeof(live));
	for (int i = 0; i < POOL / 2; i++) {
		watch(m, &log, i);
		live[i] = log.inst[log.ninst - 1].id;
		watched[i] = true;
	}
	for (uint64_t end = fx_now_ns() + 5000000000ull;
	     laps(m) < 12 && fx_now_ns() < end;) {
		/* Churn between ticks: a few unwatches and watches. */
		for (int k = 0; k < 3; k++) {
			int i = (int)(rand_r(&seed) % POOL);

			if (watched[i]) {
				unwatch(m, &log, live[i]);
				watched[i] = false;
			} else {
				watch(m, &log, i);
				live[i] = log.inst[log.ninst - 1].id;
				watched[i] = true;
			}
		}
		dispatch_once(m, &log);
	}
	ck_assert_uint_ge(laps(m), 12);
	for (unsigned i = 0; i < log.ninst; i++) {
		struct inst *in = &log.inst[i];
		uint64_t to = in->open ? laps(m) : in->lap_to;

		for (uint64_t l = 0; l < 64; l++)
			ck_assert_uint_le(in->probes[l], 1); /* never twice */
		/* Watched for the whole of laps from+1 .. to-1: once each. */
		for (uint64_t l = in->lap_from + 1; l < to; l++)
			ck_assert_msg(in->probes[l] == 1,
				      "watch %u missed lap %llu", i,
				      (unsigned long long)l);
	}
	hupmon_free(m);
}
END_TEST

START_TEST(test_tick_stretches_and_disarms)
{
	static struct probe_log log;
	struct hupmon_stats st;
	hupmon *m;
	uint64_t ticks;

	memset(&log, 0, sizeof(log));
	m = new_monitor(&log, 200, 10);
	hupmon_stats(m, &st);
	ck_assert_uint_eq(st.sweep_tick_ns, 0); /* nothing watched */
	watch(m, &log, 0);
	hupmon_stats(m, &st);
	ck_assert_uint_eq(st.sweep_tick_ns, 200000000ull); /* 1 socket */
	for (int i = 1; i < 4; i++)
		watch(m, &log, i);
	dispatch_once(m, &log); /* a tick re-derives the interval */
	dispatch_once(m, &log);
	dispatch_once(m, &log);
	hupmon_stats(m, &st);
	ck_assert_uint_eq(st.sweep_tick_ns, 50000000ull); /* 4 ticks a lap */
	for (unsigned i = 0; i < log.ninst; i++)
		unwatch(m, &log, log.inst[i].id);
	hupmon_stats(m, &st);
	ck_assert_uint_eq(st.sweep_tick_ns, 0);
	ticks = st.sweep_ticks;
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(hupmon_dispatch(m, 100), 0);
	hupmon_stats(m, &st);
	ck_assert_uint_eq(st.sweep_ticks, ticks);
	hupmon_free(m);
}
END_TEST

/* A probe that stalls the loop for 4.5 ticks: counted (overrun, piled-up
 * expirations, worst slice), and the next slice catches up with what came
 * due meanwhile, once each, not with every expiration that piled up; then
 * slices are back to their share. */
/* The sweep's clock as the timer sees it: one interval (10 ms) per
 * expiration, the piled-up ones included. */
static uint64_t expiry_clock(void *arg)
{
	struct hupmon *m = arg;

	return 1000000000ull +
	       (m->st.sweep_ticks + m->st.sweep_piled_up) * 10000000ull;
}

START_TEST(test_overload_counted_not_compounded)
{
	static struct probe_log log;
	struct hupmon_stats st;
	hupmon *m;

	memset(&log, 0, sizeof(log));
	m = new_monitor(&log, 100, 10); /* 100 sockets: 10 ticks, 10 each */
	m->clock_hook = expiry_clock;
	m->clock_hook_arg = m;
	for (int i = 0; i < 100; i++)
		watch(m, &log, i);
	for (int i = 0; i < 12; i++) /* past the first lap */
		dispatch_once(m, &log);
	log.busy_ns = 45000000ull; /* one probe stalls 4.5 ticks */
	for (int i = 0; i < 20; i++) {
		uint64_t piled;

		hupmon_stats(m, &st);
		piled = st.sweep_piled_up;
		dispatch_once(m, &log);
		hupmon_stats(m, &st);
		/* A slice catches up with what came due while the loop was
		 * held up (the expirations that piled up), once each, never
		 * more: not a lap, not every expiration's slice on top. */
		ck_assert_uint_le(log.this_call,
				  (1 + st.sweep_piled_up - piled) * 10 + 1);
	}
	hupmon_stats(m, &st);
	ck_assert_uint_ge(st.sweep_overruns, 1);
	ck_assert_uint_ge(st.sweep_piled_up, 2);
	ck_assert_uint_ge(st.sweep_slice_worst_ns, 45000000ull);
	hupmon_free(m);
}
END_TEST

/* The sweep empties and refills inside one slice (a callback unwatches
 * every socket and watches a new one): the new socket must still be swept
 * lap after lap. Used to stall: the disarm kept the slice's debt, the new
 * socket was probed against a stale cursor and no lap started again. */
struct refill {
	hupmon *m;
	hupmon_id a, b, c;
	int fd_c;
	int c_reports;
};

static void refill_cb(const struct hupmon_event *ev, void *arg)
{
	struct refill *r = arg;

	if (ev->id == r->a) {
		ck_assert_int_eq(hupmon_unwatch(r->m, r->a), 0);
		ck_assert_int_eq(hupmon_unwatch(r->m, r->b), 0);
		ck_assert_int_eq(hupmon_watch(r->m, r->fd_c, NULL, &r->c), 0);
	} else if (ev->id == r->c) {
		r->c_reports++;
	}
}

START_TEST(test_empty_and_refill_inside_a_slice)
{
	struct refill r = {.fd_c = server[2]};
	struct hupmon_config cfg = {.on_hangup = refill_cb,
				    .arg = &r,
				    .paths = HUPMON_PATH_SWEEP,
				    .sweep_period_ms = 20,
				    .sweep_tick_ms = 20};
	struct hupmon_stats st;
	uint64_t probes;

	ck_assert_int_eq(hupmon_new(&cfg, &r.m), 0);
	ck_assert_int_eq(hupmon_watch(r.m, server[0], NULL, &r.a), 0);
	ck_assert_int_eq(hupmon_watch(r.m, server[1], NULL, &r.b), 0);
	fx_close_fin(client[0]);
	client[0] = -1;
	for (uint64_t end = fx_now_ns() + 2000000000ull;
	     !r.c && fx_now_ns() < end;)
		ck_assert_int_ge(hupmon_dispatch(r.m, 50), 0);
	ck_assert_uint_ne(r.c, 0);
	hupmon_stats(r.m, &st);
	probes = st.sweep_probes;
	fx_close_fin(client[2]);
	client[2] = -1;
	for (uint64_t end = fx_now_ns() + 2000000000ull;
	     !r.c_reports && fx_now_ns() < end;)
		ck_assert_int_ge(hupmon_dispatch(r.m, 50), 0);
	hupmon_stats(r.m, &st);
	ck_assert_uint_gt(st.sweep_probes, probes);
	ck_assert_int_eq(r.c_reports, 1);
	ck_assert_int_eq(hupmon_unwatch(r.m, r.c), 0);
	hupmon_free(r.m);
}
END_TEST

/* A socket in CLOSE without an error (here: never connected) reports
 * HANGUP and, CLOSE being terminal, leaves the sweep: nothing can follow. */
START_TEST(test_close_state_leaves_the_sweep)
{
	static struct probe_log log;
	struct hupmon_stats st;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	hupmon *m;

	memset(&log, 0, sizeof(log));
	m = new_monitor(&log, 20, 10);
	ck_assert_int_ge(fd, 0);
	watch(m, &log, 0); /* a live one, so the timer stays armed */
	log.inst[log.ninst].id = 0;
	ck_assert_int_eq(hupmon_watch(m, fd, NULL, &log.inst[log.ninst].id), 0);
	log.inst[log.ninst++].open = true;
	for (uint64_t end = fx_now_ns() + 2000000000ull; fx_now_ns() < end;) {
		dispatch_once(m, &log);
		hupmon_stats(m, &st);
		if (st.hangups[HUPMON_PATH_SWEEP][HUPMON_CAUSE_HANGUP])
			break;
	}
	ck_assert_uint_eq(st.hangups[HUPMON_PATH_SWEEP][HUPMON_CAUSE_HANGUP],
			  1);
	ck_assert_uint_eq(st.watched, 2);
	ck_assert_uint_eq(st.swept, 1);
	hupmon_free(m);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sweep");
	TCase *tc = tcase_create("schedule");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_slices_stay_within_share);
	tcase_add_test(tc, test_exactly_once_per_lap_under_churn);
	tcase_add_test(tc, test_tick_stretches_and_disarms);
	tcase_add_test(tc, test_overload_counted_not_compounded);
	tcase_add_test(tc, test_empty_and_refill_inside_a_slice);
	tcase_add_test(tc, test_close_state_leaves_the_sweep);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
