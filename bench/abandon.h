/* SPDX-License-Identifier: MIT */
/*
 * abandon: hupmon-serve (serve/server.h) embedded in hupmon-bench, its
 * clients (serve/load.h) giving up on requests, once per hupmon mode
 * (abandon.c). What it measured and what analysis made of it, for
 * abandon_report.c.
 */
#ifndef HUPMON_BENCH_ABANDON_H
#define HUPMON_BENCH_ABANDON_H

#include "bench.h"
#include "serve/load.h"

#define ABANDON_MODES 4 /* by enum serve_mode: off, epoll, sweep, compare */

/* The goals of issue 18, as limits. */
#define ABANDON_CPU_PCT_MAX 5.0 /* epoll: CPU after clients left, % of off */
#define ABANDON_P99_SLACK_MS                                                   \
	1.0 /* act->callback p99: epoll 1 ms, sweep its bound + 1 ms */

struct abandon_mode {
	bool ran;  /* chosen, and every round was made */
	int error; /* a negative errno: the server or a round failed */
	struct load_result r; /* every round pooled */
	struct vec act_cb;    /* ns, sorted: client act -> hupmon callback */
	/* the probe-gap bounds seen while something was swept, the longest
	 * probe gap (hupmon_stats, sampled every ms) */
	uint64_t bound_min_ns, bound_max_ns, gap_ns;
	/* analysis */
	bool failed;	     /* count: false cancels, lost, counters */
	double cpu_pct_off;  /* CPU after clients left, % of off's */
	double goodput_off;  /* work-ms/s over off's */
	double p99_limit_ms; /* the act->callback p99 goal */
	bool cpu_ok, p99_ok, goodput_ok; /* timing goals met */
};

struct abandon_res {
	struct load_opts lo;
	unsigned rounds, workers;
	const char *sched; /* how the server's workers were lowered */
	double load_before[3], load_after[3]; /* getloadavg */
	double wall_s;
	struct abandon_mode m[ABANDON_MODES];
};

/* abandon.c: what a scenario's ops run (abandon_report.c fills them) */
void *abandon_run(const struct bctx *x);
void abandon_analyse(void *res, const struct bctx *x);
void abandon_free(void *res);

/* Its shape, named by its row of the registry (scenarios.c). */
extern const struct scenario_ops abandon_ops;

#endif
