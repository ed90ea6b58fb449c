/* SPDX-License-Identifier: MIT */
/*
 * summary: the answer first (summary.h).
 */
#include "summary.h"
#include "jw.h"
#include "plot.h"
#include "tab.h"

#include <math.h>
#include <string.h>

/* The scenario whose latency the summary shows: fin, else the first
 * closure-family scenario that ran with a latency to show. */
static const struct scen_run *latency_of(const struct scen_run *runs)
{
	for (int sc = 0; sc < scenario_count; sc++) {
		const struct closure_res *cr = cells_of(&runs[sc]);

		if (cr && runs[sc].x.s->expect[VIS_EPOLL].cause[0] &&
		    !runs[sc].x.s->burst)
			return &runs[sc];
	}
	return NULL;
}

/* The idle scenario's cells: the closure scenario that measures a
 * window of nothing happening. */
static const struct closure_res *idle_of(const struct scen_run *runs)
{
	for (int sc = 0; sc < scenario_count; sc++)
		if (cells_of(&runs[sc]) && runs[sc].x.s->window)
			return cells_of(&runs[sc]);
	return NULL;
}

/* The paths a reader chose: those --paths names, that ran somewhere. */
static bool shown(const struct scen_run *runs, enum bpath_id p)
{
	if (bench_paths[p].hidden || is_floor(p))
		return false;
	for (int sc = 0; sc < scenario_count; sc++) {
		const struct closure_res *cr = cells_of(&runs[sc]);

		if (cr && cr->c[p].ran)
			return true;
	}
	return false;
}

/* Idle CPU, ms per second, per 1 000 watched sockets (NAN: idle did not
 * run this path). */
static double idle_cpu_per_k(const struct scen_run *runs, enum bpath_id p)
{
	const struct closure_res *cr = idle_of(runs);

	if (!cr || !cr->c[p].ran || !cr->c[p].n)
		return NAN;
	return cr->an[p].cpu_per_s * 1000.0 / (double)cr->c[p].n;
}

/* What p missed, over every closure scenario: the unexpected misses with
 * their counts ("rst 3"), then the stages it misses by design ("datafin
 * escalate:rst (expected)"); "none". When that is longer than len - 1:
 * how many of each, and where to look. */
static void missed(char *buf, size_t len, const struct scen_run *runs,
		   enum bpath_id p)
{
	char all[512] = "";
	size_t at = 0;
	unsigned kinds[2] = {0, 0};

	for (int pass = 0; pass < 2; pass++) {
		for (int sc = 0; sc < scenario_count; sc++) {
			const struct closure_res *cr = cells_of(&runs[sc]);

			for (unsigned s = 0; cr && s < BENCH_STAGES; s++) {
				const struct cell *c = &cr->c[p];
				unsigned long long n =
					pass ? c->xmiss[s] : c->miss[s];
				int k;

				if (!c->ran || !n || at >= sizeof(all))
					continue;
				kinds[pass]++;
				k = pass ? snprintf(all + at, sizeof(all) - at,
						    "%s%s", at ? " " : "",
						    stage_name(runs[sc].x.s, s))
					 : snprintf(all + at, sizeof(all) - at,
						    "%s%s %llu", at ? ", " : "",
						    stage_name(runs[sc].x.s, s),
						    n);
				at += k > 0 ? (size_t)k : 0;
			}
		}
		if (pass == 0 && kinds[0] && at < sizeof(all))
			at += (size_t)snprintf(all + at, sizeof(all) - at, ";");
	}
	if (kinds[1] && at < sizeof(all))
		snprintf(all + at, sizeof(all) - at, " (expected)");
	if (!kinds[0] && !kinds[1])
		snprintf(buf, len, "none");
	else if (strlen(all) < len)
		snprintf(buf, len, "%s", all);
	else
		snprintf(buf, len, "%u lost, %u by design (tables)", kinds[0],
			 kinds[1]);
}

static const struct col cols[] = {
	{"path", -13, 0, false},  {"p50", 8, 1, false},
	{"p99", 8, 1, false},	  {"floor50", 7, 1, false},
	{"floor99", 7, 1, false}, {"x50", 5, 2, false},
	{"x99", 5, 2, false},	  {"idle/1k", 7, 2, false},
	{"missed", -1, 0, false}, {NULL, 0, 0, false},
};

static void verdict_line(FILE *f, const struct verdicts *v)
{
	unsigned count = verdict_misses(v, CK_KIND_COUNT),
		 timing = verdict_misses(v, CK_KIND_TIMING);
	fprintf(f,
		"verdict: %s, exit status %d: %u count check(s) failed, %u "
		"timing goal(s) missed%s\n",
		verdict_status(v) ? "FAIL" : "PASS", verdict_status(v), count,
		timing,
		!timing		   ? ""
		: v->strict_timing ? " (failing: --strict-timing)"
				   : " (not failing)");
}

/* Compare mode over every closure scenario: records, who was first. */
struct cmp_total {
	unsigned long long epoll, sweep, missed, disagree;
};

static struct cmp_total cmp_total(const struct scen_run *runs)
{
	struct cmp_total t = {0};

	for (int sc = 0; sc < scenario_count; sc++) {
		const struct closure_res *cr = cells_of(&runs[sc]);

		for (int p = 0; cr && p < BP_COUNT; p++)
			if (cr->c[p].ran && bench_paths[p].compare) {
				t.epoll += cr->c[p].cmp_epoll;
				t.sweep += cr->c[p].cmp_sweep;
				t.missed += cr->c[p].cmp_missed;
				t.disagree += cr->c[p].cmp_disagree;
			}
	}
	return t;
}

void summary_text(FILE *f, const struct scen_run *runs,
		  const struct verdicts *v)
{
	const struct scen_run *lat = latency_of(runs);
	const struct closure_res *cr = lat ? lat->res : NULL;
	struct cmp_total ct = cmp_total(runs);

	fprintf(f, "\n== summary");
	if (lat)
		fprintf(f,
			": %s on loopback, N=%zu, sweep period %u ms; µs from "
			"the act to the callback ==\n",
			lat->x.s->name,
			cr->c[BP_RAW_EPOLL].n ? cr->c[BP_RAW_EPOLL].n
					      : lat->x.o->n,
			lat->x.o->period_ms);
	else
		fprintf(f, " ==\n");
	if (lat) {
		tab_head(f, cols, false, NULL);
		for (int p = 0; p < BP_COUNT; p++) {
			const struct row *a = &cr->an[p];
			const struct row *fl = &cr->an[bench_paths[p].floor];
			struct tab t = {.f = f, .col = cols};
			char miss[33]; /* what is left of 100 columns */

			if (!shown(runs, p))
				continue;
			tab_s(&t, bench_paths[p].name);
			tab_n(&t, cr->c[p].ran ? a->lat[0].p50 : NAN);
			tab_n(&t, cr->c[p].ran ? a->lat[0].p99 : NAN);
			tab_n(&t, cr->c[p].ran ? fl->lat[0].p50 : NAN);
			tab_n(&t, cr->c[p].ran ? fl->lat[0].p99 : NAN);
			tab_n(&t, a->r_p50[0]);
			tab_n(&t, a->r_p99[0]);
			tab_n(&t, idle_cpu_per_k(runs, p));
			missed(miss, sizeof(miss), runs, p);
			tab_s(&t, miss);
			tab_end(&t, NULL);
		}
		fprintf(f, "x50, x99: over its floor (a minimal hand-written "
			   "loop); idle/1k: CPU ms/s per 1 000 idle\nsockets; "
			   "missed: reports that never came, in any closure "
			   "scenario (--explain)\n");
	}
	if (ct.epoll + ct.sweep + ct.missed)
		fprintf(f,
			"compare mode: epoll first %llu, sweep first %llu, "
			"second path missed %llu, disagree %llu\n",
			ct.epoll, ct.sweep, ct.missed, ct.disagree);
	verdict_line(f, v);
}

static const struct col compare_cols[] = {
	{"scenario", -12, 0, false}, {"path", -8, 0, false},
	{"records", 8, 0, false},    {"epoll-1st", 9, 0, false},
	{"sweep-1st", 9, 0, false},  {"2nd-missed", 10, 0, false},
	{"disagree", 8, 0, false},   {"lag-p50", 9, 1, false},
	{"lag-p99", 9, 1, false},    {NULL, 0, 0, false},
};

void summary_compare(FILE *f, const struct scen_run *runs)
{
	bool head = false;

	for (int sc = 0; sc < scenario_count; sc++) {
		const struct closure_res *cr = cells_of(&runs[sc]);

		for (int p = 0; cr && p < BP_COUNT; p++) {
			const struct cell *c = &cr->c[p];
			struct tab t = {.f = f, .col = compare_cols};

			if (!c->ran || !bench_paths[p].compare ||
			    !(c->cmp_epoll || c->cmp_sweep || c->cmp_missed))
				continue;
			if (!head) {
				fprintf(f, "\n== compare mode: who saw each "
					   "hangup first, and how much later "
					   "the other path did (µs) ==\n");
				tab_head(f, compare_cols, false, NULL);
				head = true;
			}
			tab_s(&t, runs[sc].x.s->name);
			tab_s(&t, bench_paths[p].name);
			tab_u(&t, c->cmp_epoll + c->cmp_sweep);
			tab_u(&t, c->cmp_epoll);
			tab_u(&t, c->cmp_sweep);
			tab_u(&t, c->cmp_missed);
			tab_u(&t, c->cmp_disagree);
			tab_n(&t, cr->an[p].lag.p50);
			tab_n(&t, cr->an[p].lag.p99);
			tab_end(&t, NULL);
		}
	}
}

void summary_json(struct jw *w, const struct scen_run *runs,
		  const struct verdicts *v)
{
	const struct scen_run *lat = latency_of(runs);
	const struct closure_res *cr = lat ? lat->res : NULL;
	struct cmp_total ct = cmp_total(runs);

	jw_obj(w, "summary");
	jw_str(w, "latency_scenario", lat ? lat->x.s->name : NULL);
	jw_arr(w, "paths");
	for (int p = 0; cr && p < BP_COUNT; p++) {
		const struct row *a = &cr->an[p];
		const struct row *fl = &cr->an[bench_paths[p].floor];
		char miss[256];

		if (!shown(runs, p))
			continue;
		jw_obj(w, NULL);
		jw_str(w, "path", bench_paths[p].name);
		jw_str(w, "floor", bench_paths[bench_paths[p].floor].name);
		jw_num(w, "p50_us", cr->c[p].ran ? a->lat[0].p50 : NAN);
		jw_num(w, "p99_us", cr->c[p].ran ? a->lat[0].p99 : NAN);
		jw_num(w, "floor_p50_us", cr->c[p].ran ? fl->lat[0].p50 : NAN);
		jw_num(w, "floor_p99_us", cr->c[p].ran ? fl->lat[0].p99 : NAN);
		jw_num(w, "ratio_p50", a->r_p50[0]);
		jw_num(w, "ratio_p99", a->r_p99[0]);
		jw_num(w, "idle_cpu_ms_per_s_per_1000",
		       idle_cpu_per_k(runs, p));
		missed(miss, sizeof(miss), runs, p);
		jw_str(w, "missed", miss);
		jw_end(w);
	}
	jw_end(w);
	jw_obj(w, "compare");
	jw_uint(w, "epoll_first", ct.epoll);
	jw_uint(w, "sweep_first", ct.sweep);
	jw_uint(w, "second_missed", ct.missed);
	jw_uint(w, "disagree", ct.disagree);
	jw_end(w);
	jw_str(w, "verdict", verdict_status(v) ? "FAIL" : "PASS");
	jw_int(w, "exit_status", verdict_status(v));
	jw_end(w);
}

/* The picture's first panel: the summary's scenario, a row per path the
 * table shows (its p50 to its p99, its floor's under it) on the µs axis,
 * with the sweep period and the probe-gap bound when a path of it sweeps. */
void summary_plot(struct plot *pl, const struct scen_run *runs)
{
	const struct scen_run *lat = latency_of(runs);
	const struct closure_res *cr = lat ? lat->res : NULL;
	const struct bopts *o = lat ? lat->x.o : NULL;
	bool sweep = false;

	if (!cr)
		return;
	plot_spans(pl, PLOT_US,
		   "%s on loopback, N=%zu: latency from the client's act to "
		   "the callback, p50 to p99 of each path, its floor's under "
		   "it",
		   lat->x.s->name,
		   cr->c[BP_RAW_EPOLL].n ? cr->c[BP_RAW_EPOLL].n : o->n);
	for (int p = 0; p < BP_COUNT; p++) {
		enum bpath_id fl = bench_paths[p].floor;

		if (!shown(runs, p) || !cr->c[p].ran)
			continue;
		plot_curve(pl, bench_paths[p].name, bench_paths[p].colour,
			   bench_paths[p].dash, false, &cr->c[p].lat[0]);
		plot_curve(pl, bench_paths[fl].name, bench_paths[fl].colour,
			   bench_paths[fl].dash, true, &cr->c[fl].lat[0]);
		sweep |= sweeps(&bench_paths[p]);
	}
	if (sweep) {
		plot_mark(pl, PLOT_PERIOD, o->period_ms * 1e6);
		plot_mark(pl, PLOT_BOUND, (o->period_ms + o->tick_ms) * 1e6);
	}
}
