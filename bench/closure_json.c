/* SPDX-License-Identifier: MIT */
/*
 * closure_json: a closure-family scenario's figures as JSON: one object per
 * path that ran (its stages, totals, compare records and per-round figures),
 * under the scenario's key of the --json document (json.c).
 */
#include "bench.h"
#include "jw.h"

#include <math.h>

void cell_rounds_json(struct jw *w, const struct cell *c, unsigned s)
{
	jw_arr(w, "rounds");
	for (unsigned r = 0; r < c->rounds; r++) {
		jw_obj(w, NULL);
		jw_num(w, "p50_us", c->fig[r][fig_stage(FIG_P50, s)] / 1e3);
		jw_num(w, "p90_us", c->fig[r][fig_stage(FIG_P90, s)] / 1e3);
		jw_num(w, "p99_us", c->fig[r][fig_stage(FIG_P99, s)] / 1e3);
		jw_end(w);
	}
	jw_end(w);
}

static void stage(struct jw *w, const struct closure_res *cr,
		  const struct scenario *sc, enum bpath_id p, unsigned s)
{
	const struct cell *c = &cr->c[p];
	const struct row *a = &cr->an[p];
	const struct expect *e = &sc->expect[bench_paths[p].vis];

	jw_obj(w, NULL);
	jw_str(w, "name", stage_name(sc, s));
	jw_str(w, "cause", hupmon_cause_name(e->cause[s]));
	jw_uint(w, "seen", c->seen[s]);
	jw_uint(w, "missed", c->miss[s]);
	jw_uint(w, "expected_missed", c->xmiss[s]);
	dist_json(w, "latency_us", &a->lat[s]);
	dist_json(w, "detected_us", &a->det[s]);
	jw_num(w, "ratio_p50", a->r_p50[s]);
	jw_num(w, "ratio_p90", a->r_p90[s]);
	jw_num(w, "ratio_p99", a->r_p99[s]);
	cell_rounds_json(w, c, s);
	jw_end(w);
}

/* The figures of a round that "per_round" shows, by their keys. */
static const char *const round_key[FIG_COUNT] = {
	[FIG_CPU_MS] = "cpu_ms",
	[FIG_NS_PROBE] = "ns_per_probe",
	[FIG_SPAN_MS] = "burst_span_ms",
	[FIG_CPU_PER_S] = "idle_cpu_ms_per_s",
	[FIG_WAKE_S] = "idle_wakeups_per_s",
	[FIG_WATCH_NS] = "watch_ns",
	[FIG_UNWATCH_NS] = "unwatch_ns",
	[FIG_COOKIE_REP] = "cookie_reads_per_report",
	[FIG_ERROR_REP] = "error_reads_per_report",
};

static void totals(struct jw *w, const struct cell *c, const struct row *a)
{
	jw_uint(w, "false", c->fals);
	jw_uint(w, "duplicate", c->dup);
	jw_uint(w, "wrong_cause", c->wrong);
	jw_uint(w, "errors", c->errors);
	jw_bool(w, "failed", a->failed);
	jw_num(w, "cpu_ms", c->cpu_ms);
	jw_num(w, "cpu_ratio", a->r_cpu);
	jw_num(w, "loop_cpu_ms", c->loop_cpu_ms);
	jw_num(w, "wall_ms", c->wall_ms);
	jw_uint(w, "probes", c->probes);
	jw_num(w, "ns_per_probe", a->ns_probe);
	jw_num(w, "probe_ratio", a->r_probe);
	jw_uint(w, "wakeups", c->wakeups);
	jw_uint(w, "sweep_overruns", c->overruns);
	jw_num(w, "sweep_lap_worst_ms", (double)c->lap_worst_ns / 1e6);
	jw_num(w, "sweep_slice_worst_ms",
	       c->have_stats ? (double)c->stats.sweep_slice_worst_ns / 1e6
			     : NAN);
	jw_num(w, "stats_format_ns", c->fig[0][FIG_STATS_NS]);
	jw_num(w, "bytes_per_socket", c->fig[0][FIG_BYTES_SOCK]);
}

static void compare(struct jw *w, const struct cell *c, const struct row *a)
{
	jw_obj(w, "compare");
	jw_uint(w, "epoll_first", c->cmp_epoll);
	jw_uint(w, "sweep_first", c->cmp_sweep);
	jw_uint(w, "second_missed", c->cmp_missed);
	jw_uint(w, "disagree", c->cmp_disagree);
	jw_uint(w, "without_record", c->cmp_norecord);
	dist_json(w, "lag_us", &a->lag);
	jw_end(w);
}

static void path(struct jw *w, const struct closure_res *cr,
		 const struct scenario *sc, enum bpath_id p)
{
	const struct cell *c = &cr->c[p];

	jw_obj(w, NULL);
	jw_str(w, "scenario", sc->name);
	jw_str(w, "path", bench_paths[p].name);
	jw_str(w, "floor",
	       is_floor(p) ? "" : bench_paths[bench_paths[p].floor].name);
	jw_uint(w, "n", c->n);
	jw_uint(w, "rounds", c->rounds);
	jw_uint(w, "closures", c->acted);
	jw_arr(w, "stages");
	for (unsigned s = 0; s < BENCH_STAGES; s++)
		if (sc->expect[bench_paths[p].vis].cause[s])
			stage(w, cr, sc, p, s);
	jw_end(w);
	totals(w, c, &cr->an[p]);
	if (bench_paths[p].compare)
		compare(w, c, &cr->an[p]);
	jw_arr(w, "per_round");
	for (unsigned r = 0; r < c->rounds; r++) {
		jw_obj(w, NULL);
		for (int i = 0; i < FIG_COUNT; i++)
			if (round_key[i])
				jw_num(w, round_key[i], c->fig[r][i]);
		jw_end(w);
	}
	jw_end(w);
	jw_end(w);
}

void closure_json(struct jw *w, const void *res, const struct bctx *x)
{
	const struct closure_res *cr = res;

	jw_arr(w, "paths");
	for (int p = 0; p < BP_COUNT; p++)
		if (cr->c[p].ran)
			path(w, cr, x->s, p);
	jw_end(w);
}
