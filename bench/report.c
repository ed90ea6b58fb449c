/*
 * report: the aligned tables on stdout (one per kind of scenario, see enum
 * table; silent's; compare mode's), the FAIL lines and the verdict, all
 * printed from what analyse() made of the cells.
 */
#include "abandon.h"

#include <math.h>
#include <string.h>

/* The column printer: a row is started, then filled column by column. */
struct col {
	const char *head;
	int w;	  /* width; < 0: text, left-aligned */
	int prec; /* digits after the point */
};

struct tab {
	FILE *f;
	const struct col *col; /* the next column */
	bool spaced;	       /* one is printed: the next one is spaced */
};

static void tab_head(FILE *f, const struct col *cols, const char *tail)
{
	for (const struct col *c = cols; c->head; c++)
		fprintf(f, "%s%*s", c == cols ? "" : " ", c->w, c->head);
	fprintf(f, "%s\n", tail ? tail : "");
}

/* The separator before a column, and the column, which is then done. */
static const struct col *next(struct tab *t)
{
	if (t->spaced)
		fputc(' ', t->f);
	t->spaced = true;
	return t->col++;
}

static void tab_s(struct tab *t, const char *s)
{
	fprintf(t->f, "%*s", next(t)->w, s);
}

static void tab_n(struct tab *t, double x)
{
	const struct col *c = next(t);

	if (isfinite(x))
		fprintf(t->f, "%*.*f", c->w, c->prec, x);
	else
		fprintf(t->f, "%*s", c->w, "-");
}

static void tab_u(struct tab *t, unsigned long long x)
{
	fprintf(t->f, "%*llu", next(t)->w, x);
}

static void tab_skip(struct tab *t, int n)
{
	while (n-- > 0)
		tab_s(t, "");
}

static void tab_end(struct tab *t, const char *tail)
{
	fprintf(t->f, "%s\n", tail ? tail : "");
}

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

static void lat4(struct tab *t, const struct dist *d)
{
	tab_n(t, d->p50);
	tab_n(t, d->p90);
	tab_n(t, d->p99);
	tab_n(t, d->max);
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
	if (c->xmiss[s])
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
typedef void fill_fn(struct tab *t, enum scen sc, enum bpath_id p, unsigned s,
		     const struct cell *c, const struct row *a);

static const struct col closure_cols[] = {
	{"scenario", -13, 0}, {"path", -14, 0}, {"floor", -11, 0},
	{"seen", 5, 0},	      {"miss", 4, 0},	{"xmiss", 5, 0},
	{"false", 5, 0},      {"dup", 3, 0},	{"wrong", 5, 0},
	{"p50", 8, 1},	      {"p90", 8, 1},	{"p99", 8, 1},
	{"max", 8, 1},	      {"p50/fl", 6, 2}, {"p99/fl", 6, 2},
	{"cpu-ms", 7, 1},     {"cpu/fl", 6, 2}, {"ns/probe", 8, 0},
	{"pr/fl", 6, 2},      {NULL, 0, 0},
};

static void closure_fill(struct tab *t, enum scen sc, enum bpath_id p,
			 unsigned s, const struct cell *c, const struct row *a)
{
	tab_s(t, stage_name(sc, s));
	tab_s(t, bench_paths[p].name);
	tab_s(t, floor_name(p));
	counts(t, c, s, true);
	lat4(t, &a->lat[s]);
	tab_n(t, a->r_p50[s]);
	tab_n(t, a->r_p99[s]);
	if (s) {
		tab_skip(t, 4);
		return;
	}
	tab_n(t, c->loop_cpu_ms);
	tab_n(t, a->r_cpu);
	tab_n(t, a->ns_probe);
	tab_n(t, a->r_probe);
}

static const struct col burst_cols[] = {
	{"path", -14, 0}, {"floor", -11, 0}, {"N", 6, 0},
	{"seen", 5, 0},	  {"miss", 4, 0},    {"xmiss", 5, 0},
	{"false", 5, 0},  {"dup", 3, 0},     {"wrong", 5, 0},
	{"p50", 8, 1},	  {"p90", 8, 1},     {"p99", 8, 1},
	{"max", 8, 1},	  {"span-ms", 8, 2}, {"span/fl", 7, 2},
	{"cpu-ms", 7, 1}, {"cpu/fl", 6, 2},  {NULL, 0, 0},
};

static void burst_fill(struct tab *t, enum scen sc, enum bpath_id p, unsigned s,
		       const struct cell *c, const struct row *a)
{
	(void)sc;
	path_floor_n(t, p, c);
	counts(t, c, s, true);
	lat4(t, &a->lat[s]);
	tab_n(t, a->span_ms);
	tab_n(t, a->r_span);
	tab_n(t, c->loop_cpu_ms);
	tab_n(t, a->r_cpu);
}

static const struct col idle_cols[] = {
	{"path", -14, 0},    {"floor", -11, 0},	 {"N", 6, 0},
	{"cpu-ms/s", 9, 2},  {"cpu/fl", 7, 2},	 {"wakeups/s", 10, 1},
	{"probes/s", 10, 0}, {"ns/probe", 8, 0}, {"pr/fl", 6, 2},
	{"wall-s", 7, 2},    {NULL, 0, 0},
};

static void idle_fill(struct tab *t, enum scen sc, enum bpath_id p, unsigned s,
		      const struct cell *c, const struct row *a)
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
	{"path", -14, 0},   {"vs", -11, 0},   {"N", 6, 0},
	{"seen", 5, 0},	    {"miss", 4, 0},   {"false", 5, 0},
	{"dup", 3, 0},	    {"wrong", 5, 0},  {"p50", 8, 1},
	{"p90", 8, 1},	    {"p99", 8, 1},    {"max", 8, 1},
	{"p50/vs", 6, 2},   {"p99/vs", 6, 2}, {"probes/s", 10, 0},
	{"overruns", 8, 0}, {"lap-ms", 8, 2}, {"cpu-ms", 7, 1},
	{NULL, 0, 0},
};

static void interf_fill(struct tab *t, enum scen sc, enum bpath_id p,
			unsigned s, const struct cell *c, const struct row *a)
{
	(void)sc;
	path_floor_n(t, p, c);
	counts(t, c, s, false);
	lat4(t, &a->lat[s]);
	tab_n(t, a->r_p50[s]);
	tab_n(t, a->r_p99[s]);
	tab_n(t, a->probes_per_s);
	tab_u(t, c->overruns);
	tab_n(t, (double)c->lap_worst_ns / 1e6);
	tab_n(t, c->cpu_ms);
}

static const struct col scale_cols[] = {
	{"path", -14, 0},   {"N", 6, 0},      {"watch-us", 8, 2},
	{"w/fl", 6, 2},	    {"unw-us", 8, 2}, {"uw/fl", 6, 2},
	{"B/sock", 7, 0},   {"seen", 5, 0},   {"miss", 4, 0},
	{"false", 5, 0},    {"dup", 3, 0},    {"wrong", 5, 0},
	{"p50", 8, 1},	    {"p90", 8, 1},    {"p99", 8, 1},
	{"max", 8, 1},	    {"p50/fl", 6, 2}, {"lap-ms", 8, 2},
	{"overruns", 8, 0}, {"cpu-ms", 7, 1}, {"stats-us", 8, 2},
	{NULL, 0, 0},
};

/* One round: its figures are the scale figures. */
static void scale_fill(struct tab *t, enum scen sc, enum bpath_id p, unsigned s,
		       const struct cell *c, const struct row *a)
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
	lat4(t, &a->lat[s]);
	tab_n(t, a->r_p50[s]);
	tab_n(t, (double)c->lap_worst_ns / 1e6);
	tab_u(t, c->overruns);
	tab_n(t, c->cpu_ms);
	tab_n(t, c->fig[0][FIG_STATS_NS] / 1e3);
}

static const struct col compare_cols[] = {
	{"scenario", -13, 0},	{"path", -14, 0},	{"records", 8, 0},
	{"epoll-first", 11, 0}, {"sweep-first", 11, 0}, {"2nd-missed", 10, 0},
	{"disagree", 9, 0},	{"lag-p50", 9, 1},	{"lag-p99", 9, 1},
	{NULL, 0, 0},
};

static void compare_table(FILE *f, const struct results *res)
{
	fprintf(f, "\n== compare mode: who saw each hangup first, and how "
		   "much later the other path did (µs) ==\n");
	tab_head(f, compare_cols, NULL);
	for (int sc = 0; sc < SC_COUNT; sc++)
		for (int p = 0; p < BP_COUNT; p++) {
			const struct cell *c = &res->c[sc][p];
			struct tab t = {.f = f, .col = compare_cols};

			if (!c->ran || !bench_paths[p].compare ||
			    !(c->cmp_epoll || c->cmp_sweep || c->cmp_missed))
				continue;
			tab_s(&t, scenarios[sc].name);
			tab_s(&t, bench_paths[p].name);
			tab_u(&t, c->cmp_epoll + c->cmp_sweep);
			tab_u(&t, c->cmp_epoll);
			tab_u(&t, c->cmp_sweep);
			tab_u(&t, c->cmp_missed);
			tab_u(&t, c->cmp_disagree);
			tab_n(&t, res->an[sc][p].lag.p50);
			tab_n(&t, res->an[sc][p].lag.p99);
			tab_end(&t, NULL);
		}
}

/* By enum table: its title, its columns, how a row fills them. */
static const struct {
	const char *title;
	const struct col *cols;
	fill_fn *fill;
} tables[] = {
	[TB_CLOSURES] = {"closures: µs from the client's act to the callback, "
			 "all rounds pooled; x/fl = median over rounds of "
			 "(path / its floor)",
			 closure_cols, closure_fill},
	[TB_BURST] = {"burst: all N closed back to back (FIN); span = first "
		      "close to last callback",
		      burst_cols, burst_fill},
	[TB_IDLE] = {"idle: N live sockets, nothing happens (medians over "
		     "rounds, per second of idle)",
		     idle_cols, idle_fill},
	[TB_INTERF] = {"interference: epoll-path latency (µs to the epoll "
		       "path's detected_ns) with a sweep walking all N, vs "
		       "without (x/vs: ratio to the row named in vs)",
		       interf_cols, interf_fill},
	[TB_SCALE] = {"scale: N up to the fd ceiling, client ends in a child "
		      "process; w/fl: / raw-epoll (epoll_ctl ADD/DEL); "
		      "stats-us: median of 1001 hupmon_stats + Prometheus "
		      "format calls at N",
		      scale_cols, scale_fill},
};

/* abandon: one row per mode, counts and CPU, then latencies (ms), then
 * the goals. */
static const struct col abandon_cols[] = {
	{"mode", -8, 0},     {"sent", 6, 0},   {"ans/s", 7, 1},
	{"work-ms/s", 9, 1}, {"left", 5, 0},   {"rst", 4, 0},
	{"cpu-left", 9, 1},  {"%off", 6, 2},   {"policy", 6, 0},
	{"half", 4, 0},	     {"pc-ran", 6, 0}, {"unseen", 6, 0},
	{"false", 5, 0},     {"lost", 4, 0},   {"add-up", 6, 0},
	{NULL, 0, 0},
};

static const struct col abandon_lat_cols[] = {
	{"mode", -8, 0},     {"acts", 5, 0},	  {"act-cb50", 8, 3},
	{"p99", 7, 3},	     {"max", 7, 3},	  {"early", 5, 0},
	{"read-cb50", 9, 3}, {"p99", 7, 3},	  {"stops", 5, 0},
	{"cb-stop50", 9, 3}, {"p99", 7, 3},	  {"max", 7, 3},
	{"bound-min", 9, 1}, {"bound-max", 9, 1}, {"gap", 6, 1},
	{NULL, 0, 0},
};

static void abandon_lat(struct tab *t, const struct load_lat *l, bool max)
{
	tab_u(t, l->n);
	tab_n(t, l->n ? l->p50_ms : NAN);
	tab_n(t, l->n ? l->p99_ms : NAN);
	if (max)
		tab_n(t, l->n ? l->max_ms : NAN);
}

static void abandon_goal(FILE *f, bool ok, const char *mode, const char *what)
{
	fprintf(f, "%-6s %-8s %s\n", ok ? "met" : "MISSED", mode, what);
}

static void abandon_goals(FILE *f, const struct abandon_res *a)
{
	const struct abandon_mode *off = &a->m[SERVE_OFF];
	char buf[160];

	fprintf(f, "goals (issue 18; [x]: decides the exit status):\n");
	for (int i = SERVE_EPOLL; i < ABANDON_MODES; i++) {
		const struct abandon_mode *w = &a->m[i];
		const char *m = serve_mode_name((enum serve_mode)i);

		if (!w->ran)
			continue;
		if (i == SERVE_EPOLL && isfinite(w->cpu_pct_off)) {
			snprintf(buf, sizeof(buf),
				 "CPU after clients left %.1f ms = %.2f %% of "
				 "off's %.1f ms (at most %.0f %%) [x]",
				 w->r.cpu_after_left_ms, w->cpu_pct_off,
				 off->r.cpu_after_left_ms, ABANDON_CPU_PCT_MAX);
			abandon_goal(f, w->cpu_ok, m, buf);
		}
		snprintf(buf, sizeof(buf),
			 "act->callback p99 %.3f ms (at most %.3f ms%s)",
			 w->r.act_cb.p99_ms, w->p99_limit_ms,
			 i == SERVE_SWEEP ? ": bound + 1 ms" : "");
		abandon_goal(f, w->p99_ok, m, buf);
		if (isfinite(w->goodput_off)) {
			snprintf(buf, sizeof(buf),
				 "goodput %.1f work-ms/s = %.2f x off's %.1f "
				 "(at least 1 x)",
				 w->r.work_ms_per_s, w->goodput_off,
				 off->r.work_ms_per_s);
			abandon_goal(f, w->goodput_ok, m, buf);
		}
	}
	for (int i = 0; i < ABANDON_MODES; i++) {
		const struct abandon_mode *w = &a->m[i];

		if (!w->ran)
			continue;
		snprintf(buf, sizeof(buf),
			 "%llu false cancellations, %llu lost responses, "
			 "counters %s [x]",
			 (unsigned long long)w->r.false_cancels,
			 (unsigned long long)w->r.lost,
			 w->r.add_up ? "add up" : "DO NOT add up");
		abandon_goal(f, !w->failed, serve_mode_name(i), buf);
	}
}

void abandon_table(FILE *f, const struct results *res)
{
	const struct abandon_res *a = res->abandon;
	const struct load_opts *lo = a ? &a->lo : NULL;

	if (!a)
		return;
	fprintf(f,
		"\n== abandon: hupmon-serve cancels the work of clients that "
		"left; %u clients, %u round(s) of %u ms per mode, work %u-%u "
		"ms ==\nsessions: %u%% give up (FIN or RST), %u%% half-close "
		"and wait, %u%% pipeline 2 + read, %u%% pipeline 2 + close, "
		"the rest wait;\nhalf-close policy cancel, %u workers at %s, "
		"sweep TCP_INFO every %d ms in %d ms ticks; %.0f s,\nload "
		"average %.2f %.2f %.2f before, %.2f %.2f %.2f after\n",
		lo->clients, a->rounds, lo->duration_ms, lo->min_ms, lo->max_ms,
		lo->abandon_pct, lo->half_pct, lo->pipe_read_pct,
		lo->pipe_close_pct, a->workers, a->sched ? a->sched : "-",
		SERVE_SWEEP_PERIOD_MS, SERVE_SWEEP_TICK_MS, a->wall_s,
		a->load_before[0], a->load_before[1], a->load_before[2],
		a->load_after[0], a->load_after[1], a->load_after[2]);
	tab_head(f, abandon_cols, NULL);
	for (int i = 0; i < ABANDON_MODES; i++) {
		const struct abandon_mode *w = &a->m[i];
		const struct load_result *r = &w->r;
		struct tab t = {.f = f, .col = abandon_cols};

		if (!w->ran)
			continue;
		tab_s(&t, serve_mode_name((enum serve_mode)i));
		tab_u(&t, r->sent);
		tab_n(&t, r->answers_per_s);
		tab_n(&t, r->work_ms_per_s);
		tab_u(&t, r->left);
		tab_u(&t, r->rst);
		tab_n(&t, r->cpu_after_left_ms);
		tab_n(&t, i == SERVE_OFF ? 100 : w->cpu_pct_off);
		tab_u(&t, r->by_policy);
		tab_u(&t, r->half_answered);
		tab_u(&t, r->pipe_close_ran);
		tab_u(&t, r->unseen);
		tab_u(&t, r->false_cancels);
		tab_u(&t, r->lost);
		tab_s(&t, r->add_up ? "yes" : "NO");
		tab_end(&t, w->failed ? "  FAIL" : NULL);
	}
	fprintf(f, "latency, ms: act-cb = client's act -> hupmon callback; "
		   "early: acts before the server read\nthe request, timed "
		   "read -> callback; cb-stop = callback -> worker stopped or "
		   "request dropped\n");
	tab_head(f, abandon_lat_cols, NULL);
	for (int i = 0; i < ABANDON_MODES; i++) {
		const struct abandon_mode *w = &a->m[i];
		struct tab t = {.f = f, .col = abandon_lat_cols};
		bool swept = w->bound_max_ns > 0;

		if (!w->ran)
			continue;
		tab_s(&t, serve_mode_name((enum serve_mode)i));
		abandon_lat(&t, &w->r.act_cb, true);
		abandon_lat(&t, &w->r.read_cb, false);
		abandon_lat(&t, &w->r.cb_stop, true);
		tab_n(&t, swept ? (double)w->bound_min_ns / 1e6 : NAN);
		tab_n(&t, swept ? (double)w->bound_max_ns / 1e6 : NAN);
		tab_n(&t, swept ? (double)w->gap_ns / 1e6 : NAN);
		tab_end(&t, NULL);
	}
	abandon_goals(f, a);
}

void abandon_fail_lines(FILE *f, const struct results *res)
{
	const struct abandon_res *a = res->abandon;

	for (int i = 0; a && i < ABANDON_MODES; i++) {
		const struct abandon_mode *w = &a->m[i];

		if (!w->failed)
			continue;
		fprintf(f,
			"FAIL abandon/%s: %s%llu false cancellations, %llu "
			"lost responses, counters %s, CPU after clients left "
			"%.2f %% of off's\n",
			serve_mode_name((enum serve_mode)i),
			w->error ? "could not run; " : "",
			(unsigned long long)w->r.false_cancels,
			(unsigned long long)w->r.lost,
			w->r.add_up ? "add up" : "do not add up",
			w->cpu_pct_off);
	}
}

/* silent: one row per case and path, with its verdict. */
static const struct col silent_cols[] = {
	{"case", -27, 0},   {"path", -14, 0},	 {"conns", 5, 0},
	{"seen", 4, 0},	    {"p50-ms", 8, 1},	 {"max-ms", 8, 1},
	{"bound-ms", 8, 0}, {"max/bound", 9, 2}, {NULL, 0, 0},
};

static void silent_table(FILE *f, const struct results *res)
{
	const struct silent_res *s = res->silent;
	unsigned ep = 0, sw = 0;

	if (!s)
		return;
	if (!s->ran) {
		fprintf(f, "\nsilent: skipped: %s\n", s->skipped);
		return;
	}
	fprintf(f,
		"\n== silent: peer vanished (client's link down in its "
		"namespace); detection time vs the configured bound ==\n"
		"ms from just before `ip link set down` (data case: from the "
		"server's write) to\nthe report's detected_ns; %u connections "
		"per case and path, keepalive phases spread\nover the "
		"interval; expected: TIMEOUT (ETIMEDOUT) within bound + %llu "
		"ms, or nothing\n",
		s->conns, SILENT_MARGIN_MS);
	tab_head(f, silent_cols, "  verdict");
	for (unsigned k = 0; k < SILENT_CASES; k++)
		for (int p = 0; p < BP_COUNT; p++) {
			const struct silent_cell *c = &s->c[k][p];
			double bound = silent_cases[k].bound_ms
					       ? silent_cases[k].bound_ms
					       : NAN;
			char tail[170];
			struct tab t = {.f = f, .col = silent_cols};

			if (!c->ran)
				continue;
			tab_s(&t, silent_cases[k].name);
			tab_s(&t, bench_paths[p].name);
			tab_u(&t, c->conns);
			tab_u(&t, c->seen);
			tab_n(&t, c->ms.p50);
			tab_n(&t, c->ms.max);
			tab_n(&t, bound);
			tab_n(&t, c->ms.max / bound);
			snprintf(tail, sizeof(tail), "  %s", c->verdict);
			tab_end(&t, tail);
		}
	if (!s->c[0][BP_BOTH].ran)
		return;
	for (unsigned k = 0; k < SILENT_CASES; k++) {
		ep += s->c[k][BP_BOTH].by_path[HUPMON_PATH_EPOLL];
		sw += s->c[k][BP_BOTH].by_path[HUPMON_PATH_SWEEP];
	}
	fprintf(f,
		"both (compare off): first report by the epoll path %u, by "
		"the sweep %u\n",
		ep, sw);
}

static void silent_fail_lines(FILE *f, const struct results *res)
{
	const struct silent_res *s = res->silent;

	for (int p = 0; s && s->ran && p < BP_COUNT; p++) {
		if (s->errors[p] || s->stray[p])
			fprintf(f,
				"FAIL silent/%s: %u errors, %llu reports "
				"naming no connection\n",
				bench_paths[p].name, s->errors[p], s->stray[p]);
		for (unsigned k = 0; k < SILENT_CASES; k++)
			if (s->c[k][p].ran && s->c[k][p].failed)
				/* the verdict is "FAIL: why" */
				fprintf(f, "FAIL silent/%s/%s:%s\n",
					silent_cases[k].key,
					bench_paths[p].name,
					s->c[k][p].verdict + strlen("FAIL:"));
	}
}

/* soak: a row per mode, then the cycles, the identities, the sweep. */
static const struct col soak_cols[] = {
	{"mode", -9, 0},       {"conns", 7, 0},	   {"seen", 7, 0},
	{"lost", 4, 0},	       {"false", 5, 0},	   {"dup", 3, 0},
	{"wrong", 5, 0},       {"recs", 7, 0},	   {"rec-lost", 8, 0},
	{"2nd-missed", 10, 0}, {"disagree", 8, 0}, {"p50", 8, 1},
	{"p90", 8, 1},	       {"p99", 8, 1},	   {"max", 8, 1},
	{NULL, 0, 0},
};

static const struct col cycle_cols[] = {
	{"cycle", 5, 0},	 {"end-s", 7, 1},
	{"replaced", 9, 0},	 {"watched", 7, 0},
	{"memory-bytes", 12, 0}, {"vs-prev", 8, 0},
	{"rss-KiB", 8, 0},	 {NULL, 0, 0},
};

static void soak_row(FILE *f, const char *name, const struct soak_tally *t,
		     const char *does)
{
	struct tab r = {.f = f, .col = soak_cols};

	tab_s(&r, name);
	tab_u(&r, t->conns);
	tab_u(&r, t->seen);
	tab_u(&r, t->lost);
	tab_u(&r, t->fals);
	tab_u(&r, t->dup);
	tab_u(&r, t->wrong);
	tab_u(&r, t->recs);
	tab_u(&r, t->rec_lost);
	tab_u(&r, t->rec_missed);
	tab_u(&r, t->rec_disagree);
	lat4(&r, &t->us);
	fprintf(f, "  %s\n", does);
}

static void soak_cycles(FILE *f, const struct soak_res *s)
{
	tab_head(f, cycle_cols, NULL);
	for (unsigned k = 0; k <= s->cycles && k <= SOAK_MAX_CYCLES; k++) {
		const struct soak_cycle *c = &s->cyc[k];
		struct tab t = {.f = f, .col = cycle_cols};

		tab_u(&t, k);
		tab_n(&t, c->t_s);
		tab_u(&t, (unsigned long long)k * s->n);
		tab_u(&t, c->watched);
		tab_u(&t, c->memory_bytes);
		tab_n(&t, k > 1 ? (double)c->memory_bytes -
					  (double)s->cyc[k - 1].memory_bytes
				: NAN);
		tab_u(&t, c->rss_kib);
		tab_end(&t, k == 1 && s->cycles > 1 ? "  (later cycles judged "
						      "against this one's end)"
						    : NULL);
	}
}

static void soak_table(FILE *f, const struct results *res)
{
	const struct soak_res *s = res->soak;
	const struct hupmon_stats *st;

	if (!s || !s->ran)
		return;
	st = &s->st;
	fprintf(f,
		"\n== soak: %zu connections, %u s of churn on one monitor in "
		"compare mode (both paths, TCP_INFO sweep, period %u ms, tick "
		"%u ms); two threads watch and unwatch, one act every %u us "
		"on average; %.1f s in all ==\n",
		s->n, s->secs, s->period_ms, s->tick_ms, s->pace_us, s->wall_s);
	fprintf(f, "seen/lost: the reports a mode must get; recs: compare "
		   "records (cut: optional); p50..max: µs\nfrom the act to "
		   "the first report's callback\n");
	tab_head(f, soak_cols, "  does");
	for (int m = 0; m < SM_COUNT; m++)
		soak_row(f, soak_modes[m].name, &s->t[m], soak_modes[m].does);
	soak_row(f, "all", &s->t[SM_COUNT], "");
	fprintf(f,
		"\n%llu replacements, %u churn cycles (a cycle: every "
		"connection replaced once, N replacements);\nmemory_bytes, "
		"watched and RSS at each cycle's end (0: all N watched, before "
		"the churn)\n",
		s->replaced, s->cycles);
	soak_cycles(f, s);
	fprintf(f, "\nidentities of the final counters (every connection "
		   "unwatched):\n");
	for (int i = 0; i < SOAK_IDENTS; i++)
		fprintf(f, "  %-52s %12lld %12lld  %s\n", s->id[i].what,
			s->id[i].lhs, s->id[i].rhs,
			s->id[i].lhs == s->id[i].rhs ? "ok" : "FAIL");
	fprintf(f,
		"sweep: %llu probes, %llu laps, worst lap %.1f ms, worst probe "
		"gap %.1f ms (bound %u ms), %llu overruns;\nreports: %llu "
		"(escalations %llu), compare outcomes %llu, cut short %llu; "
		"RSS max %llu KiB (not judged)\n",
		(unsigned long long)st->sweep_probes,
		(unsigned long long)st->sweep_laps,
		(double)st->sweep_lap_worst_ns / 1e6,
		(double)st->sweep_gap_worst_ns / 1e6, s->period_ms + s->tick_ms,
		(unsigned long long)st->sweep_overruns, s->hangups,
		(unsigned long long)st->escalations, s->outcomes, s->cut_short,
		(unsigned long long)s->rss_max_kib);
}

static void soak_fail_lines(FILE *f, const struct results *res)
{
	const struct soak_res *s = res->soak;
	const struct soak_tally *a;

	if (!s || !s->ran)
		return;
	a = &s->t[SM_COUNT];
	if (a->lost || a->fals || a->dup || a->wrong || a->rec_lost ||
	    a->rec_missed || a->rec_disagree || s->errors || s->stray)
		fprintf(f,
			"FAIL soak: %llu lost, %llu false, %llu duplicate, "
			"%llu wrong-cause, %llu records lost, %llu missed by "
			"the second path, %llu disagree, %llu errors, %llu "
			"stray\n",
			a->lost, a->fals, a->dup, a->wrong, a->rec_lost,
			a->rec_missed, a->rec_disagree, s->errors, s->stray);
	for (int i = 0; i < SOAK_IDENTS; i++)
		if (s->id[i].lhs != s->id[i].rhs)
			fprintf(f,
				"FAIL soak: identity %s: %lld vs %lld (off by "
				"%+lld)\n",
				s->id[i].what, s->id[i].lhs, s->id[i].rhs,
				s->id[i].lhs - s->id[i].rhs);
	if (s->grew_at)
		fprintf(f,
			"FAIL soak: memory_bytes grew in cycle %u: %llu -> "
			"%llu bytes\n",
			s->grew_at,
			(unsigned long long)s->cyc[s->grew_at - 1].memory_bytes,
			(unsigned long long)s->cyc[s->grew_at].memory_bytes);
	if (s->cycles < 2)
		fprintf(f,
			"FAIL soak: %u churn cycles, memory needs 2 to be "
			"judged (raise --soak-s or lower --pace-us)\n",
			s->cycles);
}

/* A row per path that ran in sc, per stage it has. */
static void rows(FILE *f, const struct results *res, enum scen sc, int tb)
{
	for (unsigned s = 0; s < BENCH_STAGES; s++)
		for (int p = 0; p < BP_COUNT; p++) {
			const struct cell *c = &res->c[sc][p];
			struct tab t = {.f = f, .col = tables[tb].cols};

			if (!c->ran ||
			    (s && !scenarios[sc].expect[VIS_EPOLL].cause[s]))
				continue;
			tables[tb].fill(&t, sc, p, s, c, &res->an[sc][p]);
			end_row(&t, c, s);
		}
}

static bool any_ran(const struct results *res, enum scen sc)
{
	for (int p = 0; p < BP_COUNT; p++)
		if (res->c[sc][p].ran)
			return true;
	return false;
}

/* Every table with a scenario that ran, in enum table order. */
static void loopback_tables(FILE *f, const struct results *res)
{
	for (int tb = 0; tb < (int)(sizeof(tables) / sizeof(tables[0])); tb++) {
		bool head = false;

		for (int sc = 0; sc < SC_COUNT; sc++) {
			if ((int)scenarios[sc].table != tb || !any_ran(res, sc))
				continue;
			if (!head) {
				fprintf(f, "\n== %s ==\n", tables[tb].title);
				tab_head(f, tables[tb].cols, NULL);
				head = true;
			}
			rows(f, res, sc, tb);
		}
	}
}

static void verdict(FILE *f, const struct results *res)
{
	for (int sc = 0; sc < SC_COUNT; sc++)
		for (int p = 0; p < BP_COUNT; p++) {
			const struct cell *c = &res->c[sc][p];

			if (!res->an[sc][p].failed)
				continue;
			fprintf(f,
				"FAIL %s/%s: %llu missed, %llu false, %llu "
				"duplicate, %llu wrong-cause, %llu errors\n",
				scenarios[sc].name, bench_paths[p].name,
				c->miss[0] + c->miss[1], c->fals, c->dup,
				c->wrong, c->errors);
		}
	abandon_fail_lines(f, res);
	silent_fail_lines(f, res);
	soak_fail_lines(f, res);
	fprintf(f, "\nvisibility check: %s\n",
		res->failures ? "FAIL (see FAIL lines; exit status 1)"
			      : "PASS (every path saw what it should, no "
				"false, duplicate or wrong-cause report)");
}

void report_tables(FILE *f, const struct results *res)
{
	loopback_tables(f, res);
	abandon_table(f, res);
	silent_table(f, res);
	soak_table(f, res);
	for (int i = 0; i < SC_COUNT * BP_COUNT; i++)
		if (res->c[i / BP_COUNT][i % BP_COUNT].ran &&
		    bench_paths[i % BP_COUNT].compare) {
			compare_table(f, res);
			break;
		}
	fputc('\n', f);
	verdict(f, res);
}
