/* SPDX-License-Identifier: MIT */
/*
 * budget, shards: the sweep's CPU budget (sweep_cpu_budget 0.2), seen from
 * outside the library. N watched sockets (19 900 by default: the client
 * ends in a child process), the sweep's period and tick the bench's. What
 * each measured goes into its result (budget.h); budget_report.c shows it.
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
#include "budget.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BUDGET	   BUDGET_CORE
#define MAX_SHARDS BUDGET_MAX_SHARDS

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

	bmon_start(&b, o, HUPMON_PATH_SWEEP, BUDGET, c, all, n);
	sleep_ns(settle);
	bmon_mark(&b);
	for (int i = 0; i < 10; i++) {
		uint64_t l = lap_effective(&b);

		lo = l < lo ? l : lo;
		hi = l > hi ? l : hi;
		sleep_ns(win / 10);
	}
	br->share = bmon_share(&b);
	bmon_stop(&b, &st);
	br->n = n;
	br->period_ms = o->period_ms;
	br->tick_ms = o->tick_ms;
	br->window_s = (double)win / 1e9;
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
	double share_sum;
};

/* One run: a monitor over the open connections, k of them closed by the
 * child, the epoll path's detection times into lat; its closures, those
 * not reported and its compare records into br. */
static void one_run(const struct bctx *x, struct child *ch, struct conn *c,
		    size_t n, struct rounds *rs, struct budget_res *br,
		    bool budgeted, size_t k, struct vec *lat, uint64_t *seed)
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
			br->late[budgeted]++;
		conns_close(&c[i], 1);
	}
	br->closes[budgeted] += k;
	if (budgeted) {
		for (int cause = 1; cause <= HUPMON_CAUSE_MAX; cause++)
			br->missed_sweep +=
				st.cmp_missed[HUPMON_PATH_SWEEP][cause];
		br->records += atomic_load(&b.records);
	}
	free(b.t_epoll);
	free(mine);
	free(live);
}

static void rounds(const struct bctx *x, struct child *ch, struct conn *c,
		   size_t n, struct budget_res *br, uint64_t t0)
{
	const struct bopts *o = x->o;
	unsigned nr = o->rounds;
	size_t total = o->closes_set ? o->closes : (o->quick ? 100 : 1000);
	size_t k = (total + nr - 1) / nr;
	struct rounds rs = {0};
	uint64_t seed = o->seed;

	if (2 * k * nr > n)
		k = n / (2 * nr);
	rs.order = shuffled(n, &seed);
	rs.closed = xcalloc(n, sizeof(*rs.closed));
	br->rounds = nr;
	br->pace_us = o->pace_us;
	br->k = k;
	for (unsigned r = 0; r < nr; r++) {
		struct vec lat[2] = {{0}};

		/* quiet first on even rounds, budgeted first on odd ones */
		for (int s = 0; s < 2; s++) {
			bool budgeted = (s + r) % 2;

			one_run(x, ch, c, n, &rs, br, budgeted, k,
				&lat[budgeted], &seed);
		}
		for (int m = 0; m < 2; m++) {
			br->p99_us[m][r] = vec_pct(&lat[m], 99) / 1e3;
			vec_free(&lat[m]);
		}
		br->ratio[r] = br->p99_us[1][r] / br->p99_us[0][r];
		fprintf(stderr,
			"hupmon-bench: %-12s round %u/%u done (%.1f s)\n",
			x->s->name, r + 1, nr, (double)(now_ns() - t0) / 1e9);
	}
	br->share_mean = rs.share_sum / nr;
	free(rs.closed);
	free(rs.order);
}

void *budget_run(const struct bctx *x)
{
	size_t n = budget_n(x->o, x->s);
	struct child *ch = child_start(x->port);
	struct conn *c = xcalloc(n, sizeof(*c));
	size_t *all = xcalloc(n, sizeof(*all));
	struct budget_res *br = xcalloc(1, sizeof(*br));
	uint64_t t0 = now_ns();

	for (size_t i = 0; i < n; i++)
		all[i] = i;
	open_all(x, ch, c, n);
	cpu_window(x, c, n, all, br);
	fprintf(stderr, "hupmon-bench: %-12s cpu done (%.1f s)\n", x->s->name,
		(double)(now_ns() - t0) / 1e9);
	rounds(x, ch, c, n, br, t0);
	conns_close(c, n);
	child_end(ch);
	free(all);
	free(c);
	return br;
}

/* budget's goals. Timing: the dispatch thread's CPU share within the band
 * around the budget; the epoll path's p99 budgeted / quiet, judged from
 * BUDGET_JUDGE_CLOSES budgeted closures on (fewer make a p99 of a handful
 * of samples). Count: the sweep misses none of the hangups compare mode
 * records (TCP_INFO sees a FIN) and a record came for every closure; every
 * closure reported, in both modes. */
void budget_analyse(void *res, const struct bctx *x)
{
	struct budget_res *b = res;
	double ratio[BENCH_MAX_ROUNDS];
	unsigned nr =
		b->rounds < BENCH_MAX_ROUNDS ? b->rounds : BENCH_MAX_ROUNDS;

	/* median() sorts: a copy, the rounds' own stay in order */
	memcpy(ratio, b->ratio, sizeof(ratio));
	b->ratio_median = median(ratio, nr);
	b->share_met = check_ok(x->v, CK_BUDGET_CPU,
				b->share >= BUDGET_SHARE_MIN &&
					b->share <= BUDGET_SHARE_MAX);
	b->judged = b->closes[1] >= BUDGET_JUDGE_CLOSES;
	b->p99_met = b->judged && check_ok(x->v, CK_BUDGET_P99,
					   b->ratio_median <= BUDGET_P99_RATIO);
	b->compare_met =
		check_ok(x->v, CK_BUDGET,
			 !b->missed_sweep && b->records >= b->closes[1]);
	b->reported_met =
		check_ok(x->v, CK_BUDGET, b->late[0] + b->late[1] == 0);
}

/* ---- shards -------------------------------------------------------------- */

void *shards_run(const struct bctx *x)
{
	const struct bopts *o = x->o;
	size_t n = budget_n(o, x->s);
	struct child *ch = child_start(x->port);
	struct conn *c = xcalloc(n, sizeof(*c));
	size_t *all = xcalloc(n, sizeof(*all));
	double cap[MAX_SHARDS + 1] = {0};
	struct shards_res *sr = xcalloc(1, sizeof(*sr));
	uint64_t t0 = now_ns();

	sr->n = n;
	sr->period_ms = o->period_ms;
	sr->tick_ms = o->tick_ms;
	for (size_t i = 0; i < n; i++)
		all[i] = i;
	open_all(x, ch, c, n);
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
		sr->row[s - 1] = (struct shards_row){n / s, lap, share, cap[s]};
		fprintf(stderr,
			"hupmon-bench: %-12s %u monitor%s done (%.1f s)\n",
			x->s->name, s, s > 1 ? "s" : "",
			(double)(now_ns() - t0) / 1e9);
	}
	sr->capacity_ratio = cap[2] / cap[1];
	conns_close(c, n);
	child_end(ch);
	free(all);
	free(c);
	return sr;
}
