/* SPDX-License-Identifier: MIT */
/*
 * analyse: what the measured cells mean, once, before anything is printed.
 * Each cell that ran becomes a row: its distributions, its ratios to its
 * floors (medians over rounds of per-round ratios), its medians over rounds
 * and whether it broke the visibility table. Every scenario's checks that
 * were not judged while it ran are judged here, once (verdict.h).
 */
#include "apart.h"
#include "abandon.h"

#include <math.h>

static bool positive(double x)
{
	return isfinite(x) && x > 0;
}

/* Median over rounds of a figure of p divided by the sum of the same figure
 * of its floors (PATH_BITs; 0: its latency floor) in the same round, over
 * the rounds where both are positive. */
static double ratio(const struct results *res, enum scen sc, enum bpath_id p,
		    unsigned floors, enum fig fig)
{
	const struct cell *a = &res->c[sc][p];
	double r[BENCH_MAX_ROUNDS];
	unsigned rounds = a->rounds, k = 0;

	floors = floors ? floors : PATH_BIT(bench_paths[p].floor);
	if (!a->ran || (floors & PATH_BIT(p)))
		return NAN;
	for (int b = 0; b < BP_COUNT; b++)
		if (floors & PATH_BIT(b)) {
			if (!res->c[sc][b].ran)
				return NAN;
			if (res->c[sc][b].rounds < rounds)
				rounds = res->c[sc][b].rounds;
		}
	for (unsigned i = 0; i < rounds; i++) {
		double y = 0;

		for (int b = 0; b < BP_COUNT; b++)
			if (floors & PATH_BIT(b))
				y += res->c[sc][b].fig[i][fig];
		if (positive(a->fig[i][fig]) && positive(y))
			r[k++] = a->fig[i][fig] / y;
	}
	return median(r, k);
}

/* CPU against the path's CPU floor (compare: raw-epoll + raw-tcpinfo). */
static double ratio_cpu(const struct results *res, enum scen sc,
			enum bpath_id p)
{
	unsigned mask = bench_paths[p].cpu_floors;
	bool window = scenarios[sc].window;

	/* compare's two floors run rounds of other lengths (escalate waits
	 * for each path's own report), so their CPU only adds up to a fair
	 * floor over fixed-length windows. */
	if (mask && !window)
		return NAN;
	return ratio(res, sc, p, mask, window ? FIG_CPU_PER_S : FIG_LOOP_MS);
}

/* p99 against the floor: median of per-round ratios when rounds hold 100
 * samples or more, else the ratio of the pooled p99s (with fewer samples a
 * round's p99 is its maximum). */
static double ratio_p99(const struct results *res, enum scen sc,
			enum bpath_id p, unsigned s)
{
	enum bpath_id b = bench_paths[p].floor;
	const struct cell *c = &res->c[sc][p];

	if (b == p || !res->c[sc][b].ran)
		return NAN;
	if (c->rounds && c->seen[s] / c->rounds >= 100)
		return ratio(res, sc, p, 0, fig_stage(FIG_P99, s));
	return res->an[sc][p].lat[s].p99 / res->an[sc][b].lat[s].p99;
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

static void figures(const struct results *res, enum scen sc, enum bpath_id p,
		    struct row *a)
{
	const struct cell *c = &res->c[sc][p];
	enum bpath_id fl = bench_paths[p].floor;
	unsigned raw_epoll = PATH_BIT(BP_RAW_EPOLL);

	a->r_watch = a->r_unwatch = NAN;
	for (unsigned s = 0; s < BENCH_STAGES; s++) {
		a->r_p50[s] = ratio(res, sc, p, 0, fig_stage(FIG_P50, s));
		a->r_p99[s] = ratio_p99(res, sc, p, s);
		a->r_p90[s] = ratio(res, sc, p, 0, fig_stage(FIG_P90, s));
	}
	a->cookie_rep = round_median(c, FIG_COOKIE_REP);
	a->error_rep = round_median(c, FIG_ERROR_REP);
	a->r_cpu = ratio_cpu(res, sc, p);
	/* Both sleeping loops cost ~0.5 ms/s: no ratio worth printing
	 * below 1 ms/s of floor. */
	a->r_cpu_noise = scenarios[sc].window &&
			 !(round_median(&res->c[sc][fl], FIG_CPU_PER_S) >= 1.0);
	a->ns_probe =
		c->probes ? c->loop_cpu_ms * 1e6 / (double)c->probes : NAN;
	a->r_probe =
		ratio(res, sc, p, bench_paths[p].probe_floors, FIG_NS_PROBE);
	a->span_ms = round_median(c, FIG_SPAN_MS);
	a->r_span = ratio(res, sc, p, 0, FIG_SPAN_MS);
	a->cpu_per_s = round_median(c, FIG_CPU_PER_S);
	a->wake_s = round_median(c, FIG_WAKE_S);
	a->probes_per_s = (double)c->probes / (c->wall_ms / 1e3);
	if (!is_floor(p)) { /* scale: against raw-epoll's epoll_ctl */
		a->r_watch = ratio(res, sc, p, raw_epoll, FIG_WATCH_NS);
		a->r_unwatch = ratio(res, sc, p, raw_epoll, FIG_UNWATCH_NS);
	}
}

/* abandon: the goals as figures. Count checks: an error, a false
 * cancellation, a lost response or counters that do not add up, in any
 * mode. Timing checks: the epoll path's CPU after clients left at most 5 %
 * of off's (the margin is about a hundredfold: a queued request is dropped,
 * a running one stops within a 0.25 ms chunk; a sanitizer or a loaded
 * machine eats into it), each mode's act -> callback p99 and its goodput
 * against off's (under other processes' load the dispatching thread waits
 * for a CPU, README, and goodput follows that load). */
void abandon_analyse(struct results *res)
{
	struct abandon_res *a = res->abandon;
	const struct abandon_mode *off = a ? &a->m[SERVE_OFF] : NULL;

	for (int i = 0; a && i < ABANDON_MODES; i++) {
		struct abandon_mode *w = &a->m[i];
		const struct load_result *r = &w->r;

		w->cpu_pct_off = w->goodput_off = w->p99_limit_ms = NAN;
		if (w->ran || w->error)
			w->failed = !check_ok(&res->v, CK_ABANDON,
					      !w->error && !r->false_cancels &&
						      !r->lost && r->add_up);
		if (!w->ran || i == SERVE_OFF)
			continue;
		w->p99_limit_ms = ABANDON_P99_SLACK_MS;
		if (i == SERVE_SWEEP) /* the smallest bound seen: see README */
			w->p99_limit_ms += (double)w->bound_min_ns / 1e6;
		if (off->ran && off->r.cpu_after_left_ms > 0)
			w->cpu_pct_off = 100 * r->cpu_after_left_ms /
					 off->r.cpu_after_left_ms;
		if (off->ran && off->r.work_ms_per_s > 0)
			w->goodput_off =
				r->work_ms_per_s / off->r.work_ms_per_s;
		w->cpu_ok = w->cpu_pct_off <= ABANDON_CPU_PCT_MAX;
		if (i == SERVE_EPOLL && isfinite(w->cpu_pct_off))
			w->cpu_ok =
				check_ok(&res->v, CK_ABANDON_CPU, w->cpu_ok);
		/* no act -> callback sample: no p99 to judge */
		w->p99_ok = r->act_cb.n &&
			    check_ok(&res->v, CK_ABANDON_P99,
				     r->act_cb.p99_ms <= w->p99_limit_ms);
		w->goodput_ok = isfinite(w->goodput_off) &&
				check_ok(&res->v, CK_ABANDON_GOODPUT,
					 w->goodput_off >= 1);
	}
}

void analyse(struct results *res)
{
	res->metrics_sc = res->metrics_p = -1;
	for (int sc = 0; sc < SC_COUNT; sc++)
		for (int p = 0; p < BP_COUNT; p++) {
			struct cell *c = &res->c[sc][p];
			struct row *a = &res->an[sc][p];

			distributions(c, a);
			a->failed = (c->ran || c->errors) &&
				    !check_ok(&res->v, CK_VISIBILITY,
					      !cell_failed(c));
			/* --metrics: the last compare monitor, else the
			 * last library monitor */
			if (c->have_stats &&
			    (res->metrics_p != BP_COMPARE || p == BP_COMPARE)) {
				res->metrics_sc = sc;
				res->metrics_p = p;
			}
		}
	for (int sc = 0; sc < SC_COUNT; sc++)
		for (int p = 0; p < BP_COUNT; p++)
			figures(res, sc, p, &res->an[sc][p]);
	abandon_analyse(res);
	silent_analyse(res);
	soak_analyse(res);
	churn_judge(res);
	/* stall.c counts its own failures as it runs */
	if (res->ran[SC_STALL]) {
		check_ok(&res->v, CK_STALL, !res->stall_failures);
		check_ok(&res->v, CK_STALL_LATE, !res->stall_late);
	}
}
