/* SPDX-License-Identifier: MIT */
/*
 * million: the cost of one watch, and memory per socket, at a million
 * sockets. What it measured (million.c) and what analysis made of it, for
 * million_report.c.
 */
#ifndef HUPMON_BENCH_MILLION_H
#define HUPMON_BENCH_MILLION_H

#include "bench.h"

/* Synthetic entries: a million; --quick a million / 8 (million.c says
 * why a power of two). */
#define MILLION_N	1000000
#define MILLION_N_QUICK (MILLION_N / 8)

/* The goals (README): memory per socket at a million synthetic entries
 * and from 19 900 real sockets on (the fd limit of the machine it was set
 * on); the worst single watch's CPU. */
#define MILLION_GOAL_BYTES  64.0
#define MILLION_GOAL_REAL_N 19900
#define MILLION_GOAL_NS	    1000000.0

/* One phase's single operations, by their place in the phase: the least
 * CPU and wall ns each took over the repetitions (noise is random, the
 * work of a growth comes back at the same place every time), and the
 * worst wall ns of any (scheduling included). */
struct million_ops {
	const char *what; /* the row's name */
	struct vec wall, cpu;
	uint64_t wall_raw;
	/* analyse: the place of the worst CPU one, and (ns) cpu p50, p99.9
	 * and max, wall p99.9 */
	size_t worst_at;
	double cpu_p50, cpu_p999, cpu_max, wall_p999;
};

struct million_res {
	size_t n, real;
	unsigned reps;
	struct million_ops floor, add, del, readd;
	double bytes_entry, bytes_worst, bytes_real, lookup_ns;
	size_t bytes_worst_at;
	/* the real monitor's memory_bytes, and the bookkeeping's (synthetic
	 * watches of the same fd numbers, in the same order, on a monitor of
	 * its own: the twin) */
	uint64_t mem_real, mem_twin;
	uint64_t opened, moves, move_pages_max, copied_max;
	uint32_t moved_max;
	double real_worst_ns, real_p999_ns;
	int err;
	double synthetic_s; /* the synthetic repetitions' wall time */
	/* analyse: the goals, judged when err is 0 (real: and real > 0,
	 * bytes_real from MILLION_GOAL_REAL_N sockets on) */
	double worst_ns; /* the worst single watch's CPU at N */
	bool entry_met, real_met, twin_met, watch_met;
};

/* million.c: what the scenario's ops run (million_report.c fills them) */
void *million_run(const struct bctx *x);
void million_analyse(void *res, const struct bctx *x);
void million_free(void *res);

/* Its shape, named by its row of the registry (scenarios.c). */
extern const struct scenario_ops million_ops;

#endif
