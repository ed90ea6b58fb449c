/* SPDX-License-Identifier: MIT */
/*
 * closure_plot: a closure-family scenario's latency curves for the picture:
 * a panel per stage, a curve per path that ran (floors dashed).
 */
#include "plot.h"

void closure_plot(struct plot *pl, const void *res, const struct bctx *x)
{
	const struct closure_res *cr = res;
	const struct bopts *o = x->o;

	for (unsigned s = 0; s < BENCH_STAGES; s++) {
		size_t n = cr->c[BP_RAW_EPOLL].n ? cr->c[BP_RAW_EPOLL].n : o->n;

		if (!x->s->expect[VIS_EPOLL].cause[s])
			continue;
		plot_panel(pl,
			   "%s: latency CDF, N=%zu, sweep period %u ms / tick "
			   "%u ms",
			   stage_name(x->s, s), n, o->period_ms, o->tick_ms);
		for (int p = 0; p < BP_COUNT; p++)
			if (cr->c[p].ran) /* sorted by closure_analyse() */
				plot_curve(pl, bench_paths[p].name,
					   bench_paths[p].colour, is_floor(p),
					   &cr->c[p].lat[s]);
	}
}
