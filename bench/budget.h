/* SPDX-License-Identifier: MIT */
/*
 * budget, shards: the sweep's CPU budget seen from outside the library.
 * What each scenario measured (budget.c) and what analysis made of it, for
 * budget_report.c, which shows both.
 */
#ifndef HUPMON_BENCH_BUDGET_H
#define HUPMON_BENCH_BUDGET_H

#include "bench.h"

#define BUDGET_CORE	    0.2	 /* sweep_cpu_budget */
#define BUDGET_SHARE_MIN    0.17 /* the dispatch thread's CPU, core */
#define BUDGET_SHARE_MAX    0.23
#define BUDGET_P99_RATIO    1.5	 /* epoll p99 budgeted / quiet */
#define BUDGET_JUDGE_CLOSES 1000 /* the p99 goal is judged from this many */
#define BUDGET_MAX_SHARDS   2

/* What budget measured; [0]: quiet, [1]: budgeted. */
struct budget_res {
	size_t n;
	unsigned period_ms, tick_ms;
	/* cpu: the dispatch thread's share over the window, the effective
	 * lap's range in it, and the monitor's counters at its end */
	double share, window_s;
	double lap_min_ms, lap_max_ms, lap_last_ms, gap_bound_ms, gap_worst_ms;
	double probes_per_s;
	unsigned long long laps, overruns, piled_up;
	/* rounds: the epoll path's p99 per round and mode, their ratio */
	unsigned rounds, pace_us;
	size_t k; /* closures per mode and round */
	double p99_us[2][BENCH_MAX_ROUNDS], ratio[BENCH_MAX_ROUNDS];
	double share_mean; /* the budgeted runs' dispatch thread, core */
	/* closures made, not reported; compare records, missed by the sweep */
	unsigned long closes[2], late[2], missed_sweep, records;
	/* analyse: the median ratio, and each goal (met: check_ok's word) */
	double ratio_median;
	bool judged; /* enough closures for the p99 goal */
	bool share_met, p99_met, compare_met, reported_met;
};

/* What shards measured, by the number of monitors. */
struct shards_res {
	size_t n;
	unsigned period_ms, tick_ms;
	struct shards_row {
		size_t n_each;
		double lap_ms, cpu_core, capacity;
	} row[BUDGET_MAX_SHARDS]; /* [s - 1]: s monitors */
	double capacity_ratio;
};

/* budget.c: what the scenarios' ops run (budget_report.c fills them); a
 * result is freed with free(). shards judges nothing. */
void *budget_run(const struct bctx *x);
void budget_analyse(void *res, const struct bctx *x);
void *shards_run(const struct bctx *x);

/* Its shape, named by its row of the registry (scenarios.c). */
extern const struct scenario_ops budget_ops, shards_ops;

#endif
