/* SPDX-License-Identifier: MIT */
/*
 * closure_report: the text tables of the closure family (one per kind of
 * scenario, enum table) and their FAIL lines, printed from what
 * closure_analyse() made of the cells.
 */
#include "bench.h"
#include "tab.h"

#include <math.h>
#include <string.h>

static const char *floor_name(enum bpath_id p)
{
	return is_floor(p) ? "-" : bench_paths[bench_paths[p].floor].name;
}

/* seen miss [xmiss] false dup wrong; a later stage has no totals */
static void counts(struct tab *t, const struct cell *c, unsigned s, bool xmiss)
{
	tab_u(t, c->seen[s]);
	tab_u(t, c->miss[s]);
	if (xmiss)
		tab_u(t, c->xmiss[s]);
	if (s) {
		tab_skip(t, 3);
		return;
	}
	tab_u(t, c->fals);
	tab_u(t, c->dup);
	tab_u(t, c->wrong);
}

/* The tail of a row: FAIL and why, and expected misses. */
static void end_row(struct tab *t, const struct cell *c, unsigned s)
{
	char buf[96] = "";

	if (s == 0 && c->errors)
		snprintf(buf, sizeof(buf), "  FAIL (%llu errors)", c->errors);
	else if (s == 0 && (c->cmp_disagree || c->cmp_norecord))
		snprintf(buf, sizeof(buf),
			 "  FAIL (compare: %llu disagree, %llu without "
			 "record)",
			 c->cmp_disagree, c->cmp_norecord);
	else if (c->miss[s] || (s == 0 && (c->fals || c->dup || c->wrong)))
		snprintf(buf, sizeof(buf), "  FAIL");
	if (c->xmiss[s] && t->all)
		strcat(buf, "  (expected miss)");
	tab_end(t, buf);
}

/* The path, its floor and N. */
static void path_floor_n(struct tab *t, enum bpath_id p, const struct cell *c)
{
	tab_s(t, bench_paths[p].name);
	tab_s(t, floor_name(p));
	tab_u(t, c->n);
}

/* The columns of each kind of table, and how one row fills them. */
typedef void fill_fn(struct tab *t, const struct scenario *sc, enum bpath_id p,
		     unsigned s, const struct cell *c, const struct row *a);

static const struct col closure_cols[] = {
	{"scenario", -12, 0, false}, {"path", -13, 0, false},
	{"floor", -11, 0, true},     {"seen", 5, 0, false},
	{"miss", 4, 0, false},	     {"xmiss", 5, 0, false},
	{"false", 5, 0, false},	     {"dup", 3, 0, false},
	{"wrong", 5, 0, false},	     {"p50", 8, 1, false},
	{"p90", 8, 1, true},	     {"p99", 8, 1, false},
	{"max", 8, 1, true},	     {"p50/fl", 6, 2, false},
	{"p90/fl", 6, 2, true},	     {"p99/fl", 6, 2, false},
	{"cpu-ms", 7, 1, true},	     {"cpu/fl", 6, 2, true},
	{"ns/probe", 8, 0, true},    {"pr/fl", 6, 2, true},
	{"ck/rep", 6, 2, true},	     {"er/rep", 6, 2, true},
	{NULL, 0, 0, false},
};

static void closure_fill(struct tab *t, const struct scenario *sc,
			 enum bpath_id p, unsigned s, const struct cell *c,
			 const struct row *a)
{
	tab_s(t, stage_name(sc, s));
	tab_s(t, bench_paths[p].name);
	tab_s(t, floor_name(p));
	counts(t, c, s, true);
	tab_lat4(t, &a->lat[s]);
	tab_n(t, a->r_p50[s]);
	tab_n(t, a->r_p90[s]);
	tab_n(t, a->r_p99[s]);
	if (s) {
		tab_skip(t, 6);
		return;
	}
	tab_n(t, c->loop_cpu_ms);
	tab_n(t, a->r_cpu);
	tab_n(t, a->ns_probe);
	tab_n(t, a->r_probe);
	tab_n(t, a->cookie_rep);
	tab_n(t, a->error_rep);
}

static const struct col burst_cols[] = {
	{"path", -13, 0, false},  {"floor", -11, 0, true},
	{"N", 6, 0, false},	  {"seen", 5, 0, false},
	{"miss", 4, 0, false},	  {"xmiss", 5, 0, false},
	{"false", 5, 0, false},	  {"dup", 3, 0, false},
	{"wrong", 5, 0, false},	  {"p50", 8, 1, false},
	{"p90", 8, 1, true},	  {"p99", 8, 1, false},
	{"max", 8, 1, true},	  {"span-ms", 8, 2, false},
	{"span/fl", 7, 2, false}, {"cpu-ms", 7, 1, true},
	{"cpu/fl", 6, 2, true},	  {NULL, 0, 0, false},
};

static void burst_fill(struct tab *t, const struct scenario *sc,
		       enum bpath_id p, unsigned s, const struct cell *c,
		       const struct row *a)
{
	(void)sc;
	path_floor_n(t, p, c);
	counts(t, c, s, true);
	tab_lat4(t, &a->lat[s]);
	tab_n(t, a->span_ms);
	tab_n(t, a->r_span);
	tab_n(t, c->loop_cpu_ms);
	tab_n(t, a->r_cpu);
}

static const struct col idle_cols[] = {
	{"path", -13, 0, false},    {"floor", -11, 0, true},
	{"N", 6, 0, false},	    {"cpu-ms/s", 9, 2, false},
	{"cpu/fl", 7, 2, false},    {"wakeups/s", 10, 1, false},
	{"probes/s", 10, 0, false}, {"ns/probe", 8, 0, false},
	{"pr/fl", 6, 2, false},	    {"wall-s", 7, 2, true},
	{NULL, 0, 0, false},
};

static void idle_fill(struct tab *t, const struct scenario *sc, enum bpath_id p,
		      unsigned s, const struct cell *c, const struct row *a)
{
	(void)sc;
	(void)s;
	path_floor_n(t, p, c);
	tab_n(t, a->cpu_per_s);
	tab_n(t, a->r_cpu_noise ? NAN : a->r_cpu);
	tab_n(t, a->wake_s);
	tab_n(t, a->probes_per_s);
	tab_n(t, a->ns_probe);
	tab_n(t, a->r_probe);
	tab_n(t, c->wall_ms / 1e3);
}

static const struct col interf_cols[] = {
	{"path", -13, 0, false},   {"vs", -11, 0, false},
	{"N", 6, 0, false},	   {"seen", 5, 0, false},
	{"miss", 4, 0, false},	   {"false", 5, 0, false},
	{"dup", 3, 0, false},	   {"wrong", 5, 0, false},
	{"p50", 8, 1, false},	   {"p90", 8, 1, true},
	{"p99", 8, 1, false},	   {"max", 8, 1, true},
	{"p50/vs", 6, 2, false},   {"p99/vs", 6, 2, false},
	{"probes/s", 10, 0, true}, {"overruns", 8, 0, true},
	{"lap-ms", 8, 2, true},	   {"cpu-ms", 7, 1, true},
	{NULL, 0, 0, false},
};

static void interf_fill(struct tab *t, const struct scenario *sc,
			enum bpath_id p, unsigned s, const struct cell *c,
			const struct row *a)
{
	(void)sc;
	path_floor_n(t, p, c);
	counts(t, c, s, false);
	tab_lat4(t, &a->lat[s]);
	tab_n(t, a->r_p50[s]);
	tab_n(t, a->r_p99[s]);
	tab_n(t, a->probes_per_s);
	tab_u(t, c->overruns);
	tab_n(t, (double)c->lap_worst_ns / 1e6);
	tab_n(t, c->cpu_ms);
}

static const struct col scale_cols[] = {
	{"path", -13, 0, false},   {"N", 6, 0, false},
	{"watch-us", 8, 2, false}, {"w/fl", 6, 2, false},
	{"unw-us", 8, 2, true},	   {"uw/fl", 6, 2, true},
	{"B/sock", 7, 0, false},   {"seen", 5, 0, false},
	{"miss", 4, 0, false},	   {"false", 5, 0, true},
	{"dup", 3, 0, true},	   {"wrong", 5, 0, true},
	{"p50", 8, 1, false},	   {"p90", 8, 1, true},
	{"p99", 8, 1, false},	   {"max", 8, 1, true},
	{"p50/fl", 6, 2, false},   {"lap-ms", 8, 2, true},
	{"overruns", 8, 0, true},  {"cpu-ms", 7, 1, true},
	{"stats-us", 8, 2, false}, {NULL, 0, 0, false},
};

/* One round: its figures are the scale figures. */
static void scale_fill(struct tab *t, const struct scenario *sc,
		       enum bpath_id p, unsigned s, const struct cell *c,
		       const struct row *a)
{
	(void)sc;
	tab_s(t, bench_paths[p].name);
	tab_u(t, c->n);
	tab_n(t, c->fig[0][FIG_WATCH_NS] / 1e3);
	tab_n(t, a->r_watch);
	tab_n(t, c->fig[0][FIG_UNWATCH_NS] / 1e3);
	tab_n(t, a->r_unwatch);
	tab_n(t, c->fig[0][FIG_BYTES_SOCK]);
	counts(t, c, s, false);
	tab_lat4(t, &a->lat[s]);
	tab_n(t, a->r_p50[s]);
	tab_n(t, (double)c->lap_worst_ns / 1e6);
	tab_u(t, c->overruns);
	tab_n(t, c->cpu_ms);
	tab_n(t, c->fig[0][FIG_STATS_NS] / 1e3);
}

/* By enum table: its title, its columns, how a row fills them. */
static const struct {
	const char *title;
	const struct col *cols;
	fill_fn *fill;
} tables[] = {
	[TB_CLOSURES] = {"closures: µs from the client's act to the callback; "
			 "x/fl: over its floor",
			 closure_cols, closure_fill},
	[TB_BURST] = {"burst: all N closed at once; span: first close to last "
		      "callback",
		      burst_cols, burst_fill},
	[TB_IDLE] = {"idle: N live sockets, nothing happens (per second)",
		     idle_cols, idle_fill},
	[TB_INTERF] = {"interference: epoll-path µs with a sweep walking all "
		       "N, vs without",
		       interf_cols, interf_fill},
	[TB_SCALE] = {"scale: N up to the fd limit; watch, memory and latency "
		      "per path",
		      scale_cols, scale_fill},
};

/* A row per path that ran, per stage it has; the title and the header
 * first when the previous scenario printed another table. */
void closure_report(FILE *f, const void *res, const struct bctx *x)
{
	const struct closure_res *cr = res;
	int tb = (int)x->s->table;

	if (x->head) {
		fprintf(f, "\n== %s ==\n", tables[tb].title);
		tab_head(f, tables[tb].cols, x->o->wide, NULL);
	}
	for (unsigned s = 0; s < BENCH_STAGES; s++)
		for (int p = 0; p < BP_COUNT; p++) {
			const struct cell *c = &cr->c[p];
			struct tab t = {.f = f,
					.col = tables[tb].cols,
					.all = x->o->wide};

			if (!c->ran || (s && !x->s->expect[VIS_EPOLL].cause[s]))
				continue;
			tables[tb].fill(&t, x->s, p, s, c, &cr->an[p]);
			end_row(&t, c, s);
		}
}

/* The first missed reports of a cell: what each connection got instead,
 * in ms from its act (escalate: and when its second stage acted). */
static void miss_notes(FILE *f, const struct cell *c)
{
	for (unsigned i = 0; i < c->nnotes; i++) {
		const struct miss_note *n = &c->notes[i];

		fprintf(f, "  round %u, conn %u: no %s", n->round + 1, n->conn,
			hupmon_cause_name(n->want));
		if (n->top)
			fprintf(f, "; got %s at +%.1f ms",
				hupmon_cause_name(n->top),
				(double)n->top_ns / 1e6);
		else
			fprintf(f, "; got nothing");
		if (n->stage2_ns)
			fprintf(f, "; stage 2 acted at +%.1f ms",
				(double)n->stage2_ns / 1e6);
		fprintf(f, "\n");
	}
}

void closure_fails(FILE *f, const void *res, const struct bctx *x)
{
	const struct closure_res *cr = res;

	for (int p = 0; p < BP_COUNT; p++) {
		const struct cell *c = &cr->c[p];

		if (!cr->an[p].failed)
			continue;
		fprintf(f,
			"FAIL %s/%s: %llu missed, %llu false, %llu duplicate, "
			"%llu wrong-cause, %llu errors, %llu compare records "
			"that disagree, %llu reports without one\n",
			x->s->name, bench_paths[p].name,
			c->miss[0] + c->miss[1], c->fals, c->dup, c->wrong,
			c->errors, c->cmp_disagree, c->cmp_norecord);
		miss_notes(f, c);
	}
}
