/* SPDX-License-Identifier: MIT */
/*
 * closure_analyse: what the measured cells of a closure-family scenario
 * mean, once, before anything is printed. Each cell that ran becomes a row:
 * its distributions, its ratios to its floors (medians over rounds of
 * per-round ratios, floors of the same scenario), its medians over rounds
 * and whether it broke the visibility table (a count check, verdict.h).
 */
#include "bench.h"

#include <math.h>

static bool positive(double x)
{
	return isfinite(x) && x > 0;
}

/* Median over rounds of a figure of p divided by the sum of the same figure
 * of its floors (PATH_BITs; 0: its latency floor) in the same round, over
 * the rounds where both are positive. */
static double ratio(const struct closure_res *cr, enum bpath_id p,
		    unsigned floors, enum fig fig)
{
	const struct cell *a = &cr->c[p];
	double r[BENCH_MAX_ROUNDS];
	unsigned rounds = a->rounds, k = 0;

	floors = floors ? floors : PATH_BIT(bench_paths[p].floor);
	if (!a->ran || (floors & PATH_BIT(p)))
		return NAN;
	for (int b = 0; b < BP_COUNT; b++)
		if (floors & PATH_BIT(b)) {
			if (!cr->c[b].ran)
				return NAN;
			if (cr->c[b].rounds < rounds)
				rounds = cr->c[b].rounds;
		}
	for (unsigned i = 0; i < rounds; i++) {
		double y = 0;

		for (int b = 0; b < BP_COUNT; b++)
			if (floors & PATH_BIT(b))
				y += cr->c[b].fig[i][fig];
		if (positive(a->fig[i][fig]) && positive(y))
			r[k++] = a->fig[i][fig] / y;
	}
	return median(r, k);
}

/* CPU against the path's CPU floor (compare: raw-epoll + raw-tcpinfo). */
static double ratio_cpu(const struct closure_res *cr, const struct scenario *sc,
			enum bpath_id p)
{
	unsigned mask = bench_paths[p].cpu_floors;
	bool window = sc->window;

	/* compare's two floors run rounds of other lengths (escalate waits
	 * for each path's own report), so their CPU only adds up to a fair
	 * floor over fixed-length windows. */
	if (mask && !window)
		return NAN;
	return ratio(cr, p, mask, window ? FIG_CPU_PER_S : FIG_LOOP_MS);
}

/* p99 against the floor: median of per-round ratios when rounds hold 100
 * samples or more, else the ratio of the pooled p99s (with fewer samples a
 * round's p99 is its maximum). */
static double ratio_p99(const struct closure_res *cr, enum bpath_id p,
			unsigned s)
{
	enum bpath_id b = bench_paths[p].floor;
	const struct cell *c = &cr->c[p];

	if (b == p || !cr->c[b].ran)
		return NAN;
	if (c->rounds && c->seen[s] / c->rounds >= 100)
		return ratio(cr, p, 0, fig_stage(FIG_P99, s));
	return cr->an[p].lat[s].p99 / cr->an[b].lat[s].p99;
}

static double round_median(const struct cell *c, enum fig fig)
{
	double v[BENCH_MAX_ROUNDS];

	for (unsigned r = 0; r < c->rounds; r++)
		v[r] = c->fig[r][fig];
	return median(v, c->rounds);
}

static bool cell_failed(const struct cell *c)
{
	return c->miss[0] || c->miss[1] || c->fals || c->dup || c->wrong ||
	       c->errors || c->cmp_disagree || c->cmp_norecord;
}

/* The samples first (the ratios of pooled p99s read them). */
static void distributions(struct cell *c, struct row *a)
{
	for (unsigned s = 0; s < BENCH_STAGES; s++) {
		a->lat[s] = dist_of(&c->lat[s], 1e3);
		a->det[s] = dist_of(&c->det[s], 1e3);
	}
	a->lag = dist_of(&c->cmp_lag, 1e3);
}

static void figures(const struct closure_res *cr, const struct scenario *sc,
		    enum bpath_id p, struct row *a)
{
	const struct cell *c = &cr->c[p];
	enum bpath_id fl = bench_paths[p].floor;
	unsigned raw_epoll = PATH_BIT(BP_RAW_EPOLL);

	a->r_watch = a->r_unwatch = NAN;
	for (unsigned s = 0; s < BENCH_STAGES; s++) {
		a->r_p50[s] = ratio(cr, p, 0, fig_stage(FIG_P50, s));
		a->r_p99[s] = ratio_p99(cr, p, s);
		a->r_p90[s] = ratio(cr, p, 0, fig_stage(FIG_P90, s));
	}
	a->cookie_rep = round_median(c, FIG_COOKIE_REP);
	a->error_rep = round_median(c, FIG_ERROR_REP);
	a->r_cpu = ratio_cpu(cr, sc, p);
	/* Both sleeping loops cost ~0.5 ms/s: no ratio worth printing
	 * below 1 ms/s of floor. */
	a->r_cpu_noise =
		sc->window && !(round_median(&cr->c[fl], FIG_CPU_PER_S) >= 1.0);
	a->ns_probe =
		c->probes ? c->loop_cpu_ms * 1e6 / (double)c->probes : NAN;
	a->r_probe = ratio(cr, p, bench_paths[p].probe_floors, FIG_NS_PROBE);
	a->span_ms = round_median(c, FIG_SPAN_MS);
	a->r_span = ratio(cr, p, 0, FIG_SPAN_MS);
	a->cpu_per_s = round_median(c, FIG_CPU_PER_S);
	a->wake_s = round_median(c, FIG_WAKE_S);
	a->probes_per_s = (double)c->probes / (c->wall_ms / 1e3);
	if (!is_floor(p)) { /* scale: against raw-epoll's epoll_ctl */
		a->r_watch = ratio(cr, p, raw_epoll, FIG_WATCH_NS);
		a->r_unwatch = ratio(cr, p, raw_epoll, FIG_UNWATCH_NS);
	}
}

void closure_analyse(void *res, const struct bctx *x)
{
	struct closure_res *cr = res;

	for (int p = 0; p < BP_COUNT; p++) {
		struct cell *c = &cr->c[p];
		struct row *a = &cr->an[p];

		distributions(c, a);
		a->failed = (c->ran || c->errors) &&
			    !check_ok(x->v, CK_VISIBILITY, !cell_failed(c));
	}
	for (int p = 0; p < BP_COUNT; p++)
		figures(cr, x->s, p, &cr->an[p]);
}
