/* SPDX-License-Identifier: MIT */
/*
 * check_sweep_churn: the sweep under connection churn. Servers watch every
 * connection they accept and unwatch it when it ends, thousands of times a
 * second; none of that may delay the probes of the sockets that stay.
 *
 *   - churn_regression: the reproduction that found the bug. Sweep only,
 *     defaults (TCP_INFO, 1 s period, 10 ms tick), 300 churned + 40
 *     long-lived sockets, a second thread unwatching and re-watching about
 *     2 000 times a second: every long-lived socket's peer close must be
 *     reported by the sweep alone (bound: 3 periods). Before the fix none
 *     was, ever, and no lap completed.
 *   - model: a deterministic model on the sweep's own clock (a test clock
 *     drives the slices, so the sanitizers cannot stretch it). It tracks,
 *     per watched socket, the clock at its last probe, under churn from the
 *     test thread, from the dispatching thread (inside callbacks) and from
 *     a second thread: every socket watched for a whole lap is probed
 *     exactly once in it, no socket waits longer than the probe-gap bound
 *     (period + tick), long-lived sockets' closes are reported by the sweep
 *     alone, and compare outcomes resolve without waiting for a probe.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
#include "clock.h"
#include "deliver.h"
#include "state.h"
#include "probe.h"

/* ---- the reproduction, in real time ------------------------------------ */

#define LONG_LIVED 40
#define CHURNED	   300

struct churner {
	hupmon *m;
	int fd[CHURNED];
	hupmon_id id[CHURNED];
	atomic_bool stop;
	unsigned long ops;
};

static void *churn_thread(void *arg)
{
	struct churner *c = arg;
	uint64_t seed = 12345;
	uint64_t start = fx_now_ns();

	/* About 2 000 re-watches a second, bounded by the stop flag and by
	 * 20 s whatever happens. */
	while (!atomic_load(&c->stop) && fx_now_ns() - start < 20000000000ull) {
		int i = (int)(fx_rand(&seed) % CHURNED);

		ck_assert_int_eq(hupmon_unwatch(c->m, c->id[i]), 0);
		ck_assert_int_eq(hupmon_watch(c->m, c->fd[i], NULL, &c->id[i]),
				 0);
		c->ops++;
		usleep(500);
	}
	return NULL;
}

static bool all_reported(hupmon *m, struct fx_rec *rec, void *arg)
{
	(void)m;
	(void)arg;
	return fx_rec_count(rec) >= LONG_LIVED;
}

START_TEST(test_churn_regression)
{
	static struct churner ch;
	struct fx_rec rec;
	struct hupmon_config cfg = {.on_hangup = fx_rec_on_hangup,
				    .arg = &rec,
				    .paths = HUPMON_PATH_SWEEP};
	int srv[LONG_LIVED], cli[LONG_LIVED], cli_ch[CHURNED];
	hupmon_id id[LONG_LIVED];
	struct hupmon_stats st;
	pthread_t t;
	bool ok;

	memset(&ch, 0, sizeof(ch));
	fx_rec_init(&rec);
	ck_assert_int_eq(hupmon_new(&cfg, &ch.m), 0);
	for (int i = 0; i < LONG_LIVED; i++) {
		fx_pair_ok(AF_INET, &srv[i], &cli[i]);
		id[i] = fx_watch_ok(ch.m, srv[i], NULL);
	}
	for (int i = 0; i < CHURNED; i++) {
		fx_pair_ok(AF_INET, &ch.fd[i], &cli_ch[i]);
		ch.id[i] = fx_watch_ok(ch.m, ch.fd[i], NULL);
	}
	atomic_init(&ch.stop, false);
	ck_assert_int_eq(pthread_create(&t, NULL, churn_thread, &ch), 0);
	/* Let the churn settle in for one period, then close every
	 * long-lived socket's peer. */
	fx_dispatch_for(ch.m, 1000);
	for (int i = 0; i < LONG_LIVED; i++)
		fx_close_fin(cli[i]);
	ok = fx_dispatch_until(ch.m, &rec, all_reported, NULL, 3000);
	atomic_store(&ch.stop, true);
	pthread_join(t, NULL);
	hupmon_stats(ch.m, &st);
	printf("churn_regression: %lu re-watches, %zu of %d closes reported, "
	       "%llu laps, worst lap %.1f ms, worst probe gap %.1f ms\n",
	       ch.ops, fx_rec_count(&rec), LONG_LIVED,
	       (unsigned long long)st.sweep_laps,
	       (double)st.sweep_lap_worst_ns / 1e6,
	       (double)st.sweep_gap_worst_ns / 1e6);
	ck_assert_msg(ok, "%zu of %d long-lived closes reported",
		      fx_rec_count(&rec), LONG_LIVED);
	for (int i = 0; i < LONG_LIVED; i++)
		ck_assert_uint_eq(
			fx_rec_count_id_cause(&rec, id[i],
					      HUPMON_CAUSE_PEER_SHUTDOWN),
			1);
	ck_assert_uint_ge(st.sweep_laps, 2);
	hupmon_free(ch.m);
	for (int i = 0; i < LONG_LIVED; i++)
		fx_close_ok(srv[i]);
	for (int i = 0; i < CHURNED; i++) {
		fx_close_ok(ch.fd[i]);
		fx_close_ok(cli_ch[i]);
	}
	fx_rec_destroy(&rec);
}
END_TEST

/* ---- the model, on a test clock ---------------------------------------- */

#define M_LONG	   40  /* never unwatched; their peers close at lap 12 */
#define M_CHURN	   160 /* unwatched and watched again, inline */
#define M_THREAD   60  /* churned by a second thread, not tracked */
#define M_INST_MAX 20000
#define M_LAPS	   64
#define M_PERIOD   100 /* ms */
#define M_TICK	   10  /* ms */

struct m_inst {
	hupmon_id id;
	uint64_t watched_at, last; /* test clock at the watch, last probe */
	uint64_t lap_from;	   /* laps completed at the watch */
	uint64_t lap_to;	   /* ... at the unwatch */
	bool open;		   /* still watched */
	uint8_t probes[M_LAPS];	   /* probes in each lap */
	unsigned reports;
};

struct model {
	hupmon *m;
	atomic_uint_fast64_t now; /* the test clock */
	int srv[M_LONG + M_CHURN], cli[M_LONG + M_CHURN];
	int t_srv[M_THREAD], t_cli[M_THREAD];
	hupmon_id t_id[M_THREAD];
	int cur[M_LONG + M_CHURN]; /* instance of each socket, -1: none */
	struct m_inst *inst;
	int ninst;
	uint64_t seed;
	uint64_t worst_gap, closed_at;
	unsigned cb_churn;
	bool shrunk, grown;
	atomic_bool stop;
};

static uint64_t m_clock(void *arg)
{
	struct model *md = arg;

	return atomic_load_explicit(&md->now, memory_order_relaxed);
}

static uint64_t m_laps(struct model *md)
{
	struct hupmon_stats st;

	hupmon_stats(md->m, &st);
	return st.sweep_laps;
}

static struct m_inst *m_find(struct model *md, hupmon_id id)
{
	for (int s = 0; s < M_LONG + M_CHURN; s++)
		if (md->cur[s] >= 0 && md->inst[md->cur[s]].id == id)
			return &md->inst[md->cur[s]];
	return NULL;
}

static void m_watch(struct model *md, int s)
{
	struct m_inst *in;

	ck_assert_int_lt(md->ninst, M_INST_MAX);
	in = &md->inst[md->ninst];
	memset(in, 0, sizeof(*in));
	in->watched_at = m_clock(md);
	in->last = in->watched_at;
	in->lap_from = m_laps(md);
	in->open = true;
	ck_assert_int_eq(hupmon_watch(md->m, md->srv[s], NULL, &in->id), 0);
	md->cur[s] = md->ninst++;
}

static void m_unwatch(struct model *md, int s)
{
	struct m_inst *in = &md->inst[md->cur[s]];

	/* The lap under way when it left: if it was the lap's last socket
	 * to probe, its unwatch ends that lap. */
	in->lap_to = m_laps(md);
	ck_assert_int_eq(hupmon_unwatch(md->m, in->id), 0);
	in->open = false;
	md->cur[s] = -1;
}

static void m_churn_one(struct model *md)
{
	int s = M_LONG + (int)(fx_rand(&md->seed) % M_CHURN);

	if (md->cur[s] >= 0)
		m_unwatch(md, s);
	else
		m_watch(md, s);
}

/* Every probe: no tracked socket waited longer than the bound (exact on
 * the test clock: period + tick), none is probed twice in one lap. */
static void m_probe_hook(struct hupmon *m, uint32_t idx, void *arg)
{
	struct model *md = arg;
	struct m_inst *in = m_find(md, hupmon__slot_id(&m->reg, idx));
	uint64_t now = m_clock(md), lap = m->st.sweep_laps;

	if (!in)
		return; /* the second thread's */
	ck_assert_uint_le(now - in->last,
			  (uint64_t)(M_PERIOD + M_TICK) * 1000000u);
	if (now - in->last > md->worst_gap)
		md->worst_gap = now - in->last;
	in->last = now;
	ck_assert_uint_lt(lap, M_LAPS);
	ck_assert_uint_eq(in->probes[lap], 0);
	in->probes[lap]++;
}

/* Reports come on the dispatching thread: churn from there too. */
static void m_on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct model *md = arg;
	struct m_inst *in = m_find(md, ev->id);

	ck_assert_ptr_nonnull(in);
	ck_assert_int_eq(ev->path, HUPMON_PATH_SWEEP);
	ck_assert_int_eq(ev->cause, HUPMON_CAUSE_PEER_SHUTDOWN);
	/* Within the bound of the close, on the test clock. */
	ck_assert_uint_le(ev->detected_ns - md->closed_at,
			  (uint64_t)(M_PERIOD + M_TICK) * 1000000u);
	in->reports++;
	for (int k = 0; k < 5; k++, md->cb_churn++)
		m_churn_one(md);
}

static void *m_thread(void *arg)
{
	struct model *md = arg;
	uint64_t seed = 777, start = fx_now_ns();

	while (!atomic_load(&md->stop) &&
	       fx_now_ns() - start < 20000000000ull) {
		int i = (int)(fx_rand(&seed) % M_THREAD);

		if (md->t_id[i]) {
			ck_assert_int_eq(hupmon_unwatch(md->m, md->t_id[i]), 0);
			md->t_id[i] = 0;
		} else {
			ck_assert_int_eq(hupmon_watch(md->m, md->t_srv[i], NULL,
						      &md->t_id[i]),
					 0);
		}
		usleep(100);
	}
	return NULL;
}

/* One tick on the test clock: the slice, worked off as dispatch would
 * (chunks, callbacks with the lock dropped), then the clock moves on by
 * the tick interval the sweep armed. */
static void m_tick(struct model *md)
{
	hupmon *m = md->m;
	uint64_t step;

	pthread_mutex_lock(&m->lock);
	hupmon__sweep_slice_begin(m, m_clock(md));
	while (m->sweep.slice_open)
		hupmon__probe_work(m, 32);
	hupmon__deliver_expired(m);
	step = m->sweep.armed_ns ? m->sweep.armed_ns : M_TICK * 1000000ull;
	pthread_mutex_unlock(&m->lock);
	atomic_fetch_add(&md->now, step);
}

START_TEST(test_model_probe_gaps_under_churn)
{
	static struct model md;
	struct hupmon_config cfg = {.on_hangup = m_on_hangup,
				    .arg = &md,
				    .paths = HUPMON_PATH_SWEEP,
				    .sweep_period_ms = M_PERIOD,
				    .sweep_tick_ms = M_TICK};
	struct hupmon_stats st;
	pthread_t t;
	unsigned ticks = 0;

	memset(&md, 0, sizeof(md));
	md.inst = calloc(M_INST_MAX, sizeof(*md.inst));
	ck_assert_ptr_nonnull(md.inst);
	md.seed = fx_seed("sweep churn model");
	atomic_init(&md.now, 1000000000ull);
	atomic_init(&md.stop, false);
	ck_assert_int_eq(hupmon_new(&cfg, &md.m), 0);
	md.m->clock_hook = m_clock;
	md.m->clock_hook_arg = &md;
	md.m->probe_hook = m_probe_hook;
	md.m->probe_hook_arg = &md;
	for (int s = 0; s < M_LONG + M_CHURN; s++) {
		fx_pair_ok(AF_INET, &md.srv[s], &md.cli[s]);
		md.cur[s] = -1;
		m_watch(&md, s);
	}
	for (int i = 0; i < M_THREAD; i++)
		fx_pair_ok(AF_INET, &md.t_srv[i], &md.t_cli[i]);
	ck_assert_int_eq(pthread_create(&t, NULL, m_thread, &md), 0);

	/* 20 re-watches per 10 ms tick: 2 000 a second on the test clock. */
	while (m_laps(&md) < 40) {
		ck_assert_uint_lt(ticks++, 40 * 4 * (M_PERIOD / M_TICK));
		/* Quiet from lap 22 to 30: the shrink and the burst below
		 * must show on their own. */
		for (int k = 0;
		     k < 20 && (m_laps(&md) < 22 || m_laps(&md) > 30); k++)
			m_churn_one(&md);
		if (m_laps(&md) == 12 && !md.closed_at) {
			for (int s = 0; s < M_LONG; s++) {
				fx_close_fin(md.cli[s]);
				md.cli[s] = -1;
				ck_assert(
					fx_wait_fd(md.srv[s], POLLRDHUP, 2000) &
					POLLRDHUP);
			}
			md.closed_at = m_clock(&md);
		}
		if (m_laps(&md) == 24 && !md.shrunk) {
			/* Shrink behind the long-lived sockets: unwatch every
			 * churned socket probed in the last 80 % of a period
			 * (the tail of the queue), so the even share per tick
			 * drops while the head still holds old probes. */
			for (int s = M_LONG; s < M_LONG + M_CHURN; s++)
				if (md.cur[s] >= 0 &&
				    m_clock(&md) - md.inst[md.cur[s]].last <
					    M_PERIOD * 800000ull)
					m_unwatch(&md, s);
			md.shrunk = true;
		}
		if (m_laps(&md) == 27 && !md.grown) {
			for (int s = M_LONG; s < M_LONG + M_CHURN; s++)
				if (md.cur[s] < 0)
					m_watch(&md, s);
			md.grown = true;
		}
		m_tick(&md);
		/* The model: time since each watched socket's last probe
		 * (or its watch) never exceeds the bound. */
		for (int s = 0; s < M_LONG + M_CHURN; s++)
			ck_assert_msg(md.cur[s] < 0 ||
					      m_clock(&md) - md.inst[md.cur[s]]
								      .last <=
						      (M_PERIOD + M_TICK) *
							      1000000ull,
				      "socket %d not probed for %.1f ms", s,
				      (double)(m_clock(&md) -
					       md.inst[md.cur[s]].last) /
					      1e6);
	}
	atomic_store(&md.stop, true);
	pthread_join(t, NULL);

	/* Laps are laps: about one period each, whatever the churn. */
	hupmon_stats(md.m, &st);
	ck_assert_uint_le(ticks, 41 * (M_PERIOD / M_TICK + 1));
	ck_assert_uint_le(st.sweep_lap_worst_ns,
			  (uint64_t)(M_PERIOD + M_TICK) * 1000000u);
	ck_assert_uint_le(st.sweep_gap_worst_ns, st.sweep_gap_bound_ns);
	/* Every socket watched for a whole lap was probed in it. */
	for (int i = 0; i < md.ninst; i++) {
		struct m_inst *in = &md.inst[i];
		uint64_t to = in->open ? st.sweep_laps : in->lap_to;

		for (uint64_t l = in->lap_from + 1; l < to && l < M_LAPS; l++)
			ck_assert_msg(in->probes[l] == 1,
				      "watch %d (laps %llu..%llu) missed lap "
				      "%llu (probes per lap %u %u %u %u, "
				      "watched at %llu ms)",
				      i, (unsigned long long)in->lap_from,
				      (unsigned long long)to,
				      (unsigned long long)l, in->probes[0],
				      in->probes[1], in->probes[2],
				      in->probes[3],
				      (unsigned long long)(in->watched_at -
							   1000000000ull) /
					      1000000);
	}
	/* The long-lived sockets' closes, by the sweep alone, once each. */
	for (int s = 0; s < M_LONG; s++)
		ck_assert_uint_eq(md.inst[md.cur[s]].reports, 1);
	printf("model: %d watches, %u from callbacks, %u ticks, %llu laps, "
	       "worst gap %.1f ms (bound %.1f ms)\n",
	       md.ninst, md.cb_churn, ticks, (unsigned long long)st.sweep_laps,
	       (double)md.worst_gap / 1e6, (double)st.sweep_gap_bound_ns / 1e6);
	hupmon_free(md.m);
	for (int s = 0; s < M_LONG + M_CHURN; s++) {
		fx_close_ok(md.srv[s]);
		fx_close_ok(md.cli[s]);
	}
	for (int i = 0; i < M_THREAD; i++) {
		fx_close_ok(md.t_srv[i]);
		fx_close_ok(md.t_cli[i]);
	}
	free(md.inst);
}
END_TEST

/* ---- compare mode under churn and under stretched laps ----------------- */

static bool all_compared(hupmon *m, struct fx_rec *rec, void *arg)
{
	(void)m;
	return fx_rec_count_cmp(rec) >= *(size_t *)arg;
}

/* The reproduction in compare mode: the epoll path reports at once; each
 * outcome must resolve (the sweep saw it second), never wait on a socket
 * the churn keeps from being probed. */
START_TEST(test_churn_compare_resolves)
{
	static struct churner ch;
	struct fx_rec rec;
	struct hupmon_config cfg = {.on_hangup = fx_rec_on_hangup,
				    .on_compare = fx_rec_on_compare,
				    .arg = &rec,
				    .compare = true,
				    .sweep_period_ms = 100};
	int srv[LONG_LIVED], cli[LONG_LIVED], cli_ch[CHURNED];
	size_t want = LONG_LIVED;
	struct hupmon_stats st;
	pthread_t t;
	bool ok;

	memset(&ch, 0, sizeof(ch));
	fx_rec_init(&rec);
	ck_assert_int_eq(hupmon_new(&cfg, &ch.m), 0);
	for (int i = 0; i < LONG_LIVED; i++) {
		fx_pair_ok(AF_INET, &srv[i], &cli[i]);
		fx_watch_ok(ch.m, srv[i], NULL);
	}
	for (int i = 0; i < CHURNED; i++) {
		fx_pair_ok(AF_INET, &ch.fd[i], &cli_ch[i]);
		ch.id[i] = fx_watch_ok(ch.m, ch.fd[i], NULL);
	}
	atomic_init(&ch.stop, false);
	ck_assert_int_eq(pthread_create(&t, NULL, churn_thread, &ch), 0);
	fx_dispatch_for(ch.m, 300);
	for (int i = 0; i < LONG_LIVED; i++)
		fx_close_fin(cli[i]);
	ok = fx_dispatch_until(ch.m, &rec, all_compared, &want, 3000);
	atomic_store(&ch.stop, true);
	pthread_join(t, NULL);
	hupmon_stats(ch.m, &st);
	ck_assert_msg(ok, "%zu of %d outcomes resolved", fx_rec_count_cmp(&rec),
		      LONG_LIVED);
	ck_assert_uint_eq(
		st.cmp_second[HUPMON_PATH_SWEEP][HUPMON_CAUSE_PEER_SHUTDOWN] +
			st.cmp_second[HUPMON_PATH_EPOLL]
				     [HUPMON_CAUSE_PEER_SHUTDOWN],
		LONG_LIVED);
	ck_assert_uint_eq(
		st.cmp_missed[HUPMON_PATH_SWEEP][HUPMON_CAUSE_PEER_SHUTDOWN],
		0);
	hupmon_free(ch.m);
	for (int i = 0; i < LONG_LIVED; i++)
		fx_close_ok(srv[i]);
	for (int i = 0; i < CHURNED; i++) {
		fx_close_ok(ch.fd[i]);
		fx_close_ok(cli_ch[i]);
	}
	fx_rec_destroy(&rec);
}
END_TEST

/* Every probe costs 2 ms: 60 sockets make a lap of 120 ms against a 20 ms
 * period. The sweep still sees each FIN, one lap late: counted second,
 * never missed (a fixed deadline of two periods counted them missed). */
static void slow_probe(struct hupmon *m, uint32_t idx, void *arg)
{
	uint64_t end = hupmon__now_ns() + 2000000u;

	(void)m;
	(void)idx;
	(void)arg;
	while (hupmon__now_ns() < end)
		;
}

START_TEST(test_compare_counts_laps_not_time)
{
	enum { N = 60, CLOSED = 10 };
	struct fx_rec rec;
	struct hupmon_config cfg = {.on_hangup = fx_rec_on_hangup,
				    .on_compare = fx_rec_on_compare,
				    .arg = &rec,
				    .compare = true,
				    .sweep_period_ms = 20};
	int srv[N], cli[N];
	size_t want = CLOSED;
	struct hupmon_stats st;
	hupmon *m;

	fx_rec_init(&rec);
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	m->probe_hook = slow_probe;
	for (int i = 0; i < N; i++) {
		fx_pair_ok(AF_INET, &srv[i], &cli[i]);
		fx_watch_ok(m, srv[i], NULL);
	}
	fx_dispatch_for(m, 200);
	for (int i = 0; i < CLOSED; i++) {
		fx_close_fin(cli[i]);
		cli[i] = -1;
	}
	ck_assert(fx_dispatch_until(m, &rec, all_compared, &want, 10000));
	hupmon_stats(m, &st);
	ck_assert_uint_gt(st.sweep_lap_worst_ns, 2 * 20 * 1000000ull);
	ck_assert_uint_eq(
		st.cmp_second[HUPMON_PATH_SWEEP][HUPMON_CAUSE_PEER_SHUTDOWN],
		CLOSED);
	ck_assert_uint_eq(
		st.cmp_missed[HUPMON_PATH_SWEEP][HUPMON_CAUSE_PEER_SHUTDOWN],
		0);
	hupmon_free(m);
	for (int i = 0; i < N; i++) {
		fx_close_ok(srv[i]);
		fx_close_ok(cli[i]);
	}
	fx_rec_destroy(&rec);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sweep_churn");
	TCase *tc = tcase_create("churn");

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_churn_regression);
	tcase_add_test(tc, test_model_probe_gaps_under_churn);
	tcase_add_test(tc, test_churn_compare_resolves);
	tcase_add_test(tc, test_compare_counts_laps_not_time);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
