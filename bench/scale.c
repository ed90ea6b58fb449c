/* SPDX-License-Identifier: MIT */
/*
 * scale: N up to the fd ceiling. A child process holds the client ends so
 * that the parent's fd table holds only server ends (about 19 900 of them
 * under a 20 000 limit). Per path: the time to watch and to unwatch each
 * socket, the library's heap bytes per watched socket (memory_bytes /
 * watched), the sweep's worst lap, and the latency of paced FIN closures
 * done by the child (it timestamps just before close() and sends the time
 * back). CPU is the parent's only (RUSAGE_SELF).
 */
#include "bench.h"

#include <math.h>

/* The cost an operator's /metrics handler pays: one snapshot plus its
 * Prometheus text, on a monitor holding all N sockets. Median of 1001. */
static double stats_cost_ns(hupmon *m)
{
	enum { REPS = 1001 };
	static char buf[1 << 16];
	static double t[REPS];
	struct hupmon_stats st;

	for (int i = 0; i < REPS; i++) {
		uint64_t t0 = now_ns();

		hupmon_stats(m, &st);
		if (hupmon_stats_format(&st, HUPMON_FORMAT_PROMETHEUS, buf,
					sizeof(buf)) < 0)
			return NAN;
		t[i] = (double)(now_ns() - t0);
	}
	return median(t, REPS);
}

void scale_round(struct run *r, unsigned round)
{
	struct cell *cell = r->cell;
	double *v = cell->fig[round];
	uint64_t t = now_ns();

	if (path_watch(r)) {
		cell->errors++;
		return;
	}
	v[FIG_WATCH_NS] = (double)(now_ns() - t) / (double)r->n;
	if (r->m) /* a monitor's, not a floor's */
		v[FIG_STATS_NS] = stats_cost_ns(r->m);
	run_closures(r, round, r->o->closes < r->n ? r->o->closes : r->n);
	t = now_ns();
	if (path_unwatch(r))
		cell->errors++;
	v[FIG_UNWATCH_NS] = (double)(now_ns() - t) / (double)r->n;
	if (cell->have_stats && cell->stats.watched)
		v[FIG_BYTES_SOCK] = (double)cell->stats.memory_bytes /
				    (double)cell->stats.watched;
}

/* One round: every path once, on as many connections as the fd limit
 * allows. */
void *scale_run(const struct bctx *x)
{
	struct closure_res *cr = xcalloc(1, sizeof(*cr));
	enum bpath_id order[BP_COUNT];
	uint64_t t0 = now_ns();
	size_t n;

	run_order(x->s, x->o, 0, order, &n);
	for (size_t i = 0; i < n; i++) {
		run_one(x, cr, order[i], 0);
		fprintf(stderr,
			"hupmon-bench: scale        %-13s done (%.1f s)\n",
			bench_paths[order[i]].name,
			(double)(now_ns() - t0) / 1e9);
	}
	return cr;
}
