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
#define MS	     1000000ull

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
		       const size_t *all)
{
	const struct bopts *o = x->o;
	uint64_t settle = (o->quick ? 300 : 1000) * MS;
	uint64_t win = (o->quick ? 1000 : 4000) * MS, lo = UINT64_MAX, hi = 0;
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
	sleep_ns((budgeted ? 1000 : 50) * MS);
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
	end = now_ns() + 5000 * MS + (budgeted ? 4 * lap_effective(&b) : 0);
	while (now_ns() < end && (budgeted ? atomic_load(&b.records)
					   : atomic_load(&b.reports)) < k)
		sleep_ns(MS);
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
		   size_t n)
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
	free(rs.closed);
	free(rs.order);
}

void run_budget(const struct bctx *x)
{
	size_t n = budget_n(x->o, x->s);
	struct child *ch = child_start(x->port);
	struct conn *c = xcalloc(n, sizeof(*c));
	size_t *all = xcalloc(n, sizeof(*all));

	for (size_t i = 0; i < n; i++)
		all[i] = i;
	open_all(x, ch, c, n);
	cpu_window(x, c, n, all);
	rounds(x, ch, c, n);
	conns_close(c, n);
	child_end(ch);
	free(all);
	free(c);
}

/* ---- shards -------------------------------------------------------------- */

void run_shards(const struct bctx *x)
{
	const struct bopts *o = x->o;
	size_t n = budget_n(o, x->s);
	struct child *ch = child_start(x->port);
	struct conn *c = xcalloc(n, sizeof(*c));
	size_t *all = xcalloc(n, sizeof(*all));
	double cap[MAX_SHARDS + 1] = {0};

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
		sleep_ns((o->quick ? 300 : 1000) * MS);
		for (unsigned i = 0; i < s; i++)
			bmon_mark(&b[i]);
		sleep_ns((o->quick ? 1000 : 3000) * MS);
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
	}
	printf("  2 shards / 1 shard: %.2fx the capacity\n", cap[2] / cap[1]);
	fflush(stdout);
	conns_close(c, n);
	child_end(ch);
	free(all);
	free(c);
}
