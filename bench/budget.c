/* SPDX-License-Identifier: MIT */
/*
 * budget, shards: the sweep's CPU budget (sweep_cpu_budget 0.2), seen from
 * outside the library. N watched sockets (19 900 by default: the client
 * ends in a child process), the sweep's period and tick the bench's. Each
 * prints its table as it runs.
 *
 *   budget, cpu: sweep only, no events. The dispatch thread's CPU share
 *     over a window, read through pthread_getcpuclockid() (so everything
 *     the thread does counts, not only what the library measures), beside
 *     the effective lap the monitor reports (its range over the window).
 *     Goal (a timing check, verdict.h): a share within 0.17-0.23.
 *   budget, rounds: R rounds, each a quiet run (epoll path only) and a
 *     budgeted run (both paths, compare mode), in alternating order, on the
 *     same sockets; in each, K / R FIN closures paced by the child. The
 *     epoll path's detection time (the child's clock before close() to the
 *     report's detected_ns; compare records give it whichever path came
 *     first) and its p99 per round; goal: the median of the per-round p99
 *     ratios budgeted / quiet <= 1.5 (timing; judged from 1 000 closures
 *     on). The compare records: the sweep must miss none (TCP_INFO sees a
 *     FIN), and every closure must be reported (count checks).
 *   shards: the same N split evenly between 1 and 2 monitors, each with
 *     its own dispatch thread and the same budget, sweep only, no events:
 *     capacity = the sum over monitors of n_i x period / effective lap_i,
 *     the sockets a period's worth of sweeping covers within the budgets.
 *     The child that holds the client ends shares the machine's cores, so
 *     on a small machine this is a lower bound.
 */
#include "bench.h"
#include "jw.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BUDGET	     0.2
#define SHARE_MIN    0.17
#define SHARE_MAX    0.23
#define P99_RATIO    1.5
#define JUDGE_CLOSES 1000 /* the p99 goal is judged from this many on */
#define MAX_SHARDS   2

/* What budget measured (res->budget); [0]: quiet, [1]: budgeted. */
struct budget_res {
	size_t n;
	unsigned period_ms, tick_ms;
	/* cpu: the dispatch thread's share over the window, the effective
	 * lap's range in it, and the monitor's counters at its end */
	double share, window_s;
	bool share_met;
	double lap_min_ms, lap_max_ms, lap_last_ms, gap_bound_ms, gap_worst_ms;
	double probes_per_s;
	unsigned long long laps, overruns, piled_up;
	/* rounds */
	unsigned rounds, pace_us;
	size_t k; /* closures per mode and round */
	double p99_us[2][BENCH_MAX_ROUNDS], ratio[BENCH_MAX_ROUNDS];
	double ratio_median, share_mean;
	bool judged, p99_met, compare_met, reported_met;
	unsigned long closes[2], late[2], missed_sweep, records;
};

/* What shards measured (res->shards), by the number of monitors. */
struct shards_res {
	size_t n;
	unsigned period_ms, tick_ms;
	struct shards_row {
		size_t n_each;
		double lap_ms, cpu_core, capacity;
	} row[MAX_SHARDS]; /* [s - 1]: s monitors */
	double capacity_ratio;
};

/* One monitor and its dispatch thread. */
struct bmon {
	hupmon *m;
	pthread_t thr;
	clockid_t cpu; /* the dispatch thread's CPU clock */
	uint64_t cpu0, wall0;
	uint64_t *t_epoll; /* by conn: the epoll path's detected_ns */
	_Atomic unsigned long reports, records;
};

/* user: conn index + 1 */
static void on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct bmon *b = arg;
	size_t i = (size_t)(uintptr_t)ev->user - 1;

	if (ev->path == HUPMON_PATH_EPOLL && !b->t_epoll[i])
		b->t_epoll[i] = ev->detected_ns;
	atomic_fetch_add(&b->reports, 1);
}

static void on_compare(const struct hupmon_compare *rec, void *arg)
{
	struct bmon *b = arg;
	size_t i = (size_t)(uintptr_t)rec->user - 1;

	if (rec->first == HUPMON_PATH_EPOLL)
		b->t_epoll[i] = rec->first_ns;
	else if (!rec->missed)
		b->t_epoll[i] = rec->first_ns + rec->lag_ns;
	atomic_fetch_add(&b->records, 1);
}

static void *dispatch_thread(void *arg)
{
	hupmon_run(arg);
	return NULL;
}

/* A monitor over c[i] for every i in idx[0..k), its thread running. */
static void bmon_start(struct bmon *b, const struct bopts *o, unsigned paths,
		       double budget, struct conn *c, const size_t *idx,
		       size_t k)
{
	struct hupmon_config cfg = {.on_hangup = on_hangup,
				    .on_compare = on_compare,
				    .arg = b,
				    .paths = paths,
				    .sweep_method = HUPMON_SWEEP_TCP_INFO,
				    .sweep_period_ms = o->period_ms,
				    .sweep_tick_ms = o->tick_ms,
				    .compare = paths == HUPMON_PATHS_BOTH,
				    .sweep_cpu_budget = budget};
	int rc = hupmon_new(&cfg, &b->m);

	if (rc)
		die("hupmon_new", -rc);
	for (size_t j = 0; j < k; j++) {
		struct conn *x = &c[idx[j]];

		rc = hupmon_watch(b->m, x->sfd, (void *)(uintptr_t)(idx[j] + 1),
				  &x->id);
		if (rc)
			die("hupmon_watch", -rc);
	}
	rc = pthread_create(&b->thr, NULL, dispatch_thread, b->m);
	if (rc)
		die("pthread_create", rc);
	rc = pthread_getcpuclockid(b->thr, &b->cpu);
	if (rc)
		die("pthread_getcpuclockid", rc);
}

static void bmon_mark(struct bmon *b)
{
	b->cpu0 = clock_ns(b->cpu);
	b->wall0 = now_ns();
}

/* The thread's CPU share since bmon_mark(). */
static double bmon_share(const struct bmon *b)
{
	return (double)(clock_ns(b->cpu) - b->cpu0) /
	       (double)(now_ns() - b->wall0);
}

static uint64_t lap_effective(const struct bmon *b)
{
	struct hupmon_stats st;

	hupmon_stats(b->m, &st);
	return st.sweep_lap_effective_ns;
}

static void bmon_stop(struct bmon *b, struct hupmon_stats *st)
{
	hupmon_stop(b->m);
	pthread_join(b->thr, NULL);
	if (st)
		hupmon_stats(b->m, st);
	hupmon_free(b->m);
	b->m = NULL;
}

static size_t open_all(const struct bctx *x, struct child *ch, struct conn *c,
		       size_t n)
{
	int err;
	size_t got = conns_open(x->lfd, x->port, ch, c, n, &err);

	if (got < n)
		die("connections", err < 0 ? -err : EIO);
	return got;
}

static size_t budget_n(const struct bopts *o, const struct scenario *s)
{
	size_t n = conns_for(o, s);

	if (n < MAX_SHARDS)
		die("budget: too few connections", EINVAL);
	return n;
}

/* ---- budget, cpu --------------------------------------------------------- */

static void cpu_window(const struct bctx *x, struct conn *c, size_t n,
		       const size_t *all, struct budget_res *br)
{
	const struct bopts *o = x->o;
	uint64_t settle = (o->quick ? 300 : 1000) * NS_PER_MS;
	uint64_t win = (o->quick ? 1000 : 4000) * NS_PER_MS, lo = UINT64_MAX,
		 hi = 0;
	struct hupmon_stats st;
	struct bmon b = {0};
	double share;
	bool ok;

	bmon_start(&b, o, HUPMON_PATH_SWEEP, BUDGET, c, all, n);
	sleep_ns(settle);
	bmon_mark(&b);
	for (int i = 0; i < 10; i++) {
		uint64_t l = lap_effective(&b);

		lo = l < lo ? l : lo;
		hi = l > hi ? l : hi;
		sleep_ns(win / 10);
	}
	share = bmon_share(&b);
	bmon_stop(&b, &st);
	ok = check_ok(x->v, CK_BUDGET_CPU,
		      share >= SHARE_MIN && share <= SHARE_MAX);
	printf("budget cpu: N=%zu, sweep only, no events, period %u ms, tick "
	       "%u ms, budget %.2f core\n",
	       n, o->period_ms, o->tick_ms, BUDGET);
	printf("  dispatch thread CPU %.3f core over %.1f s (goal %.2f-%.2f): "
	       "%s\n",
	       share, (double)win / 1e9, SHARE_MIN, SHARE_MAX,
	       ok ? "met" : check_miss_word(CK_BUDGET_CPU));
	printf("  effective lap %.1f-%.1f ms (period %u ms), last lap %.1f ms, "
	       "probe-gap bound %.1f ms, worst gap %.1f ms\n",
	       (double)lo / 1e6, (double)hi / 1e6, o->period_ms,
	       (double)st.sweep_lap_last_ns / 1e6,
	       (double)st.sweep_gap_bound_ns / 1e6,
	       (double)st.sweep_gap_worst_ns / 1e6);
	printf("  %.0f probes/s, %llu laps, %llu overruns, %llu piled up\n",
	       (double)st.sweep_probes / ((double)(settle + win) / 1e9),
	       (unsigned long long)st.sweep_laps,
	       (unsigned long long)st.sweep_overruns,
	       (unsigned long long)st.sweep_piled_up);
	fflush(stdout);
	br->n = n;
	br->period_ms = o->period_ms;
	br->tick_ms = o->tick_ms;
	br->share = share;
	br->window_s = (double)win / 1e9;
	br->share_met = ok;
	br->lap_min_ms = (double)lo / 1e6;
	br->lap_max_ms = (double)hi / 1e6;
	br->lap_last_ms = (double)st.sweep_lap_last_ns / 1e6;
	br->gap_bound_ms = (double)st.sweep_gap_bound_ns / 1e6;
	br->gap_worst_ms = (double)st.sweep_gap_worst_ns / 1e6;
	br->probes_per_s =
		(double)st.sweep_probes / ((double)(settle + win) / 1e9);
	br->laps = st.sweep_laps;
	br->overruns = st.sweep_overruns;
	br->piled_up = st.sweep_piled_up;
}

/* ---- budget, rounds ------------------------------------------------------ */

struct rounds {
	size_t next;   /* the next connection of order to close */
	size_t *order; /* connections in closing order */
	bool *closed;  /* by conn */
	double p99[2][BENCH_MAX_ROUNDS], ratio[BENCH_MAX_ROUNDS];
	unsigned long closes[2], late[2], missed_sweep, records;
	double share_sum;
};

/* One run: a monitor over the open connections, k of them closed by the
 * child, the epoll path's detection times into lat. */
static void one_run(const struct bctx *x, struct child *ch, struct conn *c,
		    size_t n, struct rounds *rs, bool budgeted, size_t k,
		    struct vec *lat, uint64_t *seed)
{
	const struct bopts *o = x->o;
	size_t *live = xcalloc(n, sizeof(*live)), nl = 0;
	size_t *mine = xcalloc(k, sizeof(*mine));
	struct bmon b = {0};
	struct hupmon_stats st;
	uint64_t end;

	for (size_t i = 0; i < n; i++)
		if (!rs->closed[i])
			live[nl++] = i;
	b.t_epoll = xcalloc(n, sizeof(*b.t_epoll));
	bmon_start(&b, o, budgeted ? HUPMON_PATHS_BOTH : HUPMON_PATH_EPOLL,
		   budgeted ? BUDGET : 0, c, live, nl);
	/* A budgeted sweep needs a few laps to measure its cost. */
	sleep_ns((budgeted ? 1000 : 50) * NS_PER_MS);
	bmon_mark(&b);
	for (size_t j = 0; j < k && rs->next < n; j++) {
		size_t i = rs->order[rs->next++];

		mine[j] = i;
		child_act(ch, &c[i], HOW_FIN);
		rs->closed[i] = true;
		sleep_ns(o->pace_us * 500ull +
			 rng_next(seed) % (o->pace_us * 1000ull + 1));
	}
	/* Every report (budgeted: every compare record), within 5 s and
	 * four effective laps. */
	end = now_ns() + 5000 * NS_PER_MS +
	      (budgeted ? 4 * lap_effective(&b) : 0);
	while (now_ns() < end && (budgeted ? atomic_load(&b.records)
					   : atomic_load(&b.reports)) < k)
		sleep_ns(NS_PER_MS);
	if (budgeted)
		rs->share_sum += bmon_share(&b);
	bmon_stop(&b, &st);
	for (size_t j = 0; j < k; j++) {
		size_t i = mine[j];

		if (b.t_epoll[i] > c[i].t_act[0])
			vec_push(lat, b.t_epoll[i] - c[i].t_act[0]);
		else
			rs->late[budgeted]++;
		conns_close(&c[i], 1);
	}
	rs->closes[budgeted] += k;
	if (budgeted) {
		for (int cause = 1; cause <= HUPMON_CAUSE_MAX; cause++)
			rs->missed_sweep +=
				st.cmp_missed[HUPMON_PATH_SWEEP][cause];
		rs->records += atomic_load(&b.records);
	}
	free(b.t_epoll);
	free(mine);
	free(live);
}

static void rounds(const struct bctx *x, struct child *ch, struct conn *c,
		   size_t n, struct budget_res *br)
{
	const struct bopts *o = x->o;
	unsigned nr = o->rounds;
	size_t total = o->closes_set ? o->closes : (o->quick ? 100 : 1000);
	size_t k = (total + nr - 1) / nr;
	struct rounds rs = {0};
	uint64_t seed = o->seed;
	struct verdicts *v = x->v;
	double ratio;
	bool judged, p99_ok = false, cmp_ok, all_ok;

	if (2 * k * nr > n)
		k = n / (2 * nr);
	rs.order = shuffled(n, &seed);
	rs.closed = xcalloc(n, sizeof(*rs.closed));
	printf("budget rounds: %u rounds x %zu FIN closures per mode, paced "
	       "%u us; epoll detection p99 in us\n",
	       nr, k, o->pace_us);
	printf("  %-5s %10s %10s %8s\n", "round", "quiet", "budgeted", "ratio");
	for (unsigned r = 0; r < nr; r++) {
		struct vec lat[2] = {{0}};

		/* quiet first on even rounds, budgeted first on odd ones */
		for (int s = 0; s < 2; s++) {
			bool budgeted = (s + r) % 2;

			one_run(x, ch, c, n, &rs, budgeted, k, &lat[budgeted],
				&seed);
		}
		for (int m = 0; m < 2; m++) {
			rs.p99[m][r] = vec_pct(&lat[m], 99) / 1e3;
			vec_free(&lat[m]);
		}
		rs.ratio[r] = rs.p99[1][r] / rs.p99[0][r];
		printf("  %-5u %10.1f %10.1f %8.2f\n", r, rs.p99[0][r],
		       rs.p99[1][r], rs.ratio[r]);
		fflush(stdout);
	}
	/* median() sorts the ratios: the rounds' own, in order, first */
	memcpy(br->ratio, rs.ratio, sizeof(br->ratio));
	ratio = median(rs.ratio, nr);
	judged = rs.closes[1] >= JUDGE_CLOSES;
	if (judged)
		p99_ok = check_ok(v, CK_BUDGET_P99, ratio <= P99_RATIO);
	cmp_ok = check_ok(v, CK_BUDGET,
			  !rs.missed_sweep && rs.records >= rs.closes[1]);
	all_ok = check_ok(v, CK_BUDGET, rs.late[0] + rs.late[1] == 0);
	printf("  epoll p99 budgeted / quiet: median of per-round ratios %.2f "
	       "(goal <= %.1f): %s\n",
	       ratio, P99_RATIO,
	       !judged	? "not judged (fewer than 1000 closures)"
	       : p99_ok ? "met"
			: check_miss_word(CK_BUDGET_P99));
	printf("  compare mode under the budget: %lu closures, %lu records, "
	       "%lu missed by the sweep (goal 0): %s\n",
	       rs.closes[1], rs.records, rs.missed_sweep,
	       cmp_ok ? "met" : check_miss_word(CK_BUDGET));
	printf("  budgeted dispatch thread CPU %.3f core (mean over rounds, "
	       "closures included); not reported: quiet %lu, budgeted %lu "
	       "(goal 0): %s\n",
	       rs.share_sum / nr, rs.late[0], rs.late[1],
	       all_ok ? "met" : check_miss_word(CK_BUDGET));
	fflush(stdout);
	br->rounds = nr;
	br->pace_us = o->pace_us;
	br->k = k;
	memcpy(br->p99_us, rs.p99, sizeof(br->p99_us));
	br->ratio_median = ratio;
	br->share_mean = rs.share_sum / nr;
	br->judged = judged;
	br->p99_met = p99_ok;
	br->compare_met = cmp_ok;
	br->reported_met = all_ok;
	memcpy(br->closes, rs.closes, sizeof(br->closes));
	memcpy(br->late, rs.late, sizeof(br->late));
	br->missed_sweep = rs.missed_sweep;
	br->records = rs.records;
	free(rs.closed);
	free(rs.order);
}

static void *budget_run(const struct bctx *x)
{
	size_t n = budget_n(x->o, x->s);
	struct child *ch = child_start(x->port);
	struct conn *c = xcalloc(n, sizeof(*c));
	size_t *all = xcalloc(n, sizeof(*all));
	struct budget_res *br = xcalloc(1, sizeof(*br));

	for (size_t i = 0; i < n; i++)
		all[i] = i;
	open_all(x, ch, c, n);
	cpu_window(x, c, n, all, br);
	rounds(x, ch, c, n, br);
	conns_close(c, n);
	child_end(ch);
	free(all);
	free(c);
	return br;
}

/* ---- shards -------------------------------------------------------------- */

static void *shards_run(const struct bctx *x)
{
	const struct bopts *o = x->o;
	size_t n = budget_n(o, x->s);
	struct child *ch = child_start(x->port);
	struct conn *c = xcalloc(n, sizeof(*c));
	size_t *all = xcalloc(n, sizeof(*all));
	double cap[MAX_SHARDS + 1] = {0};
	struct shards_res *sr = xcalloc(1, sizeof(*sr));

	sr->n = n;
	sr->period_ms = o->period_ms;
	sr->tick_ms = o->tick_ms;
	for (size_t i = 0; i < n; i++)
		all[i] = i;
	open_all(x, ch, c, n);
	printf("shards: N=%zu split evenly between monitors, each its own "
	       "dispatch thread and budget %.2f;\nsweep only, no events, "
	       "period %u ms, tick %u ms. capacity = sum of n x period / "
	       "effective lap:\nsockets per period within the budgets (the "
	       "client child shares the cores: a lower bound)\n",
	       n, BUDGET, o->period_ms, o->tick_ms);
	printf("  %-6s %8s %12s %10s %12s\n", "shards", "n each", "eff. lap ms",
	       "cpu core", "capacity");
	for (unsigned s = 1; s <= MAX_SHARDS; s++) {
		struct bmon b[MAX_SHARDS] = {0};
		double share = 0, lap = 0;

		for (unsigned i = 0; i < s; i++)
			bmon_start(&b[i], o, HUPMON_PATH_SWEEP, BUDGET, c,
				   all + n * i / s,
				   n * (i + 1) / s - n * i / s);
		sleep_ns((o->quick ? 300 : 1000) * NS_PER_MS);
		for (unsigned i = 0; i < s; i++)
			bmon_mark(&b[i]);
		sleep_ns((o->quick ? 1000 : 3000) * NS_PER_MS);
		for (unsigned i = 0; i < s; i++) {
			size_t ni = n * (i + 1) / s - n * i / s;
			uint64_t l = lap_effective(&b[i]);

			share += bmon_share(&b[i]);
			lap += (double)l / 1e6 / s;
			cap[s] +=
				l ? (double)ni * o->period_ms * 1e6 / (double)l
				  : 0;
		}
		for (unsigned i = 0; i < s; i++)
			bmon_stop(&b[i], NULL);
		printf("  %-6u %8zu %12.1f %10.3f %12.0f\n", s, n / s, lap,
		       share, cap[s]);
		fflush(stdout);
		sr->row[s - 1] = (struct shards_row){n / s, lap, share, cap[s]};
	}
	printf("  2 shards / 1 shard: %.2fx the capacity\n", cap[2] / cap[1]);
	sr->capacity_ratio = cap[2] / cap[1];
	fflush(stdout);
	conns_close(c, n);
	child_end(ch);
	free(all);
	free(c);
	return sr;
}

/* ---- JSON ---------------------------------------------------------------- */

static void budget_json(struct jw *w, const void *res, const struct bctx *x)
{
	const struct budget_res *b = res;

	(void)x;
	jw_uint(w, "n", b->n);
	jw_num(w, "budget_core", BUDGET);
	jw_uint(w, "period_ms", b->period_ms);
	jw_uint(w, "tick_ms", b->tick_ms);
	jw_obj(w, "cpu");
	jw_num(w, "share_core", b->share);
	jw_num(w, "window_s", b->window_s);
	jw_num(w, "goal_min_core", SHARE_MIN);
	jw_num(w, "goal_max_core", SHARE_MAX);
	jw_bool(w, "met", b->share_met);
	jw_num(w, "lap_effective_min_ms", b->lap_min_ms);
	jw_num(w, "lap_effective_max_ms", b->lap_max_ms);
	jw_num(w, "lap_last_ms", b->lap_last_ms);
	jw_num(w, "gap_bound_ms", b->gap_bound_ms);
	jw_num(w, "gap_worst_ms", b->gap_worst_ms);
	jw_num(w, "probes_per_s", b->probes_per_s);
	jw_uint(w, "laps", b->laps);
	jw_uint(w, "overruns", b->overruns);
	jw_uint(w, "piled_up", b->piled_up);
	jw_end(w);
	jw_obj(w, "rounds");
	jw_uint(w, "rounds", b->rounds);
	jw_uint(w, "closes_per_mode_per_round", b->k);
	jw_uint(w, "pace_us", b->pace_us);
	jw_arr(w, "per_round");
	for (unsigned r = 0; r < b->rounds && r < BENCH_MAX_ROUNDS; r++) {
		jw_obj(w, NULL);
		jw_uint(w, "round", r);
		jw_num(w, "quiet_p99_us", b->p99_us[0][r]);
		jw_num(w, "budgeted_p99_us", b->p99_us[1][r]);
		jw_num(w, "ratio", b->ratio[r]);
		jw_end(w);
	}
	jw_end(w);
	jw_num(w, "ratio_median", b->ratio_median);
	jw_num(w, "ratio_goal", P99_RATIO);
	jw_uint(w, "judged_from_closes", JUDGE_CLOSES);
	jw_bool(w, "judged", b->judged);
	if (b->judged)
		jw_bool(w, "p99_met", b->p99_met);
	else
		jw_null(w, "p99_met");
	jw_uint(w, "closes_quiet", b->closes[0]);
	jw_uint(w, "closes_budgeted", b->closes[1]);
	jw_uint(w, "records", b->records);
	jw_uint(w, "missed_by_sweep", b->missed_sweep);
	jw_bool(w, "compare_met", b->compare_met);
	jw_num(w, "budgeted_share_core_mean", b->share_mean);
	jw_uint(w, "not_reported_quiet", b->late[0]);
	jw_uint(w, "not_reported_budgeted", b->late[1]);
	jw_bool(w, "reported_met", b->reported_met);
	jw_end(w);
}

static void shards_json(struct jw *w, const void *res, const struct bctx *x)
{
	const struct shards_res *s = res;

	(void)x;
	jw_uint(w, "n", s->n);
	jw_num(w, "budget_core", BUDGET);
	jw_uint(w, "period_ms", s->period_ms);
	jw_uint(w, "tick_ms", s->tick_ms);
	jw_arr(w, "rows");
	for (unsigned i = 0; i < MAX_SHARDS; i++) {
		jw_obj(w, NULL);
		jw_uint(w, "shards", i + 1);
		jw_uint(w, "n_each", s->row[i].n_each);
		jw_num(w, "lap_effective_ms", s->row[i].lap_ms);
		jw_num(w, "cpu_core", s->row[i].cpu_core);
		jw_num(w, "capacity_sockets", s->row[i].capacity);
		jw_end(w);
	}
	jw_end(w);
	jw_num(w, "capacity_ratio", s->capacity_ratio);
}

const struct scenario_ops budget_ops = {
	.run = budget_run,
	.json = budget_json,
	.free = free,
};

const struct scenario_ops shards_ops = {
	.run = shards_run,
	.json = shards_json,
	.free = free,
};
