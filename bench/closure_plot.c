/* SPDX-License-Identifier: MIT */
/*
 * closure_plot: a closure-family scenario's latency curves for the picture:
 * a panel per stage on the µs axis, a curve per path that ran in its
 * path's style (paths.c), and, when a path of it sweeps, the sweep period
 * and the probe-gap bound (period + tick: the longest a watched socket
 * goes unprobed) as marks. The A/A control is left out: it is a second
 * raw-epoll curve, its figures are in the tables.
 */
#include "plot.h"

void closure_plot(struct plot *pl, const void *res, const struct bctx *x)
{
	const struct closure_res *cr = res;
	const struct bopts *o = x->o;
	size_t n = cr->c[BP_RAW_EPOLL].n ? cr->c[BP_RAW_EPOLL].n : o->n;
	bool sweep = false;

	for (int p = 0; p < BP_COUNT; p++)
		sweep |= cr->c[p].ran && sweeps(&bench_paths[p]);
	for (unsigned s = 0; s < BENCH_STAGES; s++) {
		if (!x->s->expect[VIS_EPOLL].cause[s])
			continue;
		plot_panel(pl, PLOT_US, "%s, N=%zu: act to callback",
			   stage_name(x->s, s), n);
		for (int p = 0; p < BP_COUNT; p++)
			if (cr->c[p].ran && p != BP_RAW_EPOLL_AA)
				/* sorted by closure_analyse() */
				plot_curve(pl, bench_paths[p].name,
					   bench_paths[p].colour,
					   bench_paths[p].dash, is_floor(p),
					   &cr->c[p].lat[s]);
		if (sweep) {
			plot_mark(pl, PLOT_PERIOD, o->period_ms * 1e6);
			plot_mark(pl, PLOT_BOUND,
				  (o->period_ms + o->tick_ms) * 1e6);
		}
	}
}
