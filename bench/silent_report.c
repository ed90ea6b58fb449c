/* SPDX-License-Identifier: MIT */
/*
 * silent_report: what the silent scenario shows (silent.h): a row per case
 * and path with its verdict, its FAIL lines and its JSON.
 */
#include "jw.h"
#include "plot.h"
#include "silent.h"
#include "tab.h"

#include <math.h>
#include <string.h>

/* silent: one row per case and path, with its verdict. */
static const struct col silent_cols[] = {
	{"case", -27, 0, false},   {"path", -13, 0, false},
	{"conns", 5, 0, true},	   {"seen", 4, 0, false},
	{"p50-ms", 8, 1, true},	   {"max-ms", 8, 1, false},
	{"bound-ms", 8, 0, false}, {"max/bound", 9, 2, false},
	{NULL, 0, 0, false},
};

static void silent_report(FILE *f, const void *res, const struct bctx *x)
{
	const struct silent_res *s = res;
	unsigned ep = 0, sw = 0;

	if (!s->ran) {
		fprintf(f, "\nsilent: skipped: %s\n", s->skipped);
		return;
	}
	fprintf(f,
		"\n== silent: the client's link down in its namespace; "
		"detection time vs the bound ==\n"
		"ms from just before `ip link set down` (data case: from the "
		"server's write) to\nthe report's detected_ns; %u connections "
		"per case and path, keepalive phases spread\nover the "
		"interval; expected: TIMEOUT (ETIMEDOUT) within bound + %llu "
		"ms, or nothing\n",
		s->conns, SILENT_MARGIN_MS);
	tab_head(f, silent_cols, x->o->wide, "  verdict");
	for (unsigned k = 0; k < SILENT_CASES; k++)
		for (int p = 0; p < BP_COUNT; p++) {
			const struct silent_cell *c = &s->c[k][p];
			double bound = silent_cases[k].bound_ms
					       ? silent_cases[k].bound_ms
					       : NAN;
			char tail[170];
			struct tab t = {
				.f = f, .col = silent_cols, .all = x->o->wide};

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

static void silent_fails(FILE *f, const void *res, const struct bctx *x)
{
	const struct silent_res *s = res;

	(void)x;
	for (int p = 0; s->ran && p < BP_COUNT; p++) {
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

static void row_json(struct jw *w, const struct silent_res *s, unsigned k,
		     enum bpath_id p)
{
	const struct silent_cell *c = &s->c[k][p];
	const struct hupmon_liveness *l = &silent_cases[k].live;
	double bound =
		silent_cases[k].bound_ms ? silent_cases[k].bound_ms : NAN;

	jw_obj(w, NULL);
	jw_str(w, "scenario", "silent");
	jw_str(w, "case", silent_cases[k].key);
	jw_str(w, "path", bench_paths[p].name);
	jw_uint(w, "n", c->conns);
	jw_obj(w, "liveness");
	jw_uint(w, "keepalive_idle_s", l->keepalive_idle_s);
	jw_uint(w, "keepalive_interval_s", l->keepalive_interval_s);
	jw_uint(w, "keepalive_count", l->keepalive_count);
	jw_uint(w, "user_timeout_ms", l->user_timeout_ms);
	jw_end(w);
	jw_str(w, "timed_from", silent_cases[k].data ? "write" : "link_down");
	jw_str(w, "expected_cause",
	       hupmon_cause_name(silent_cases[k].bound_ms ? HUPMON_CAUSE_TIMEOUT
							  : HUPMON_CAUSE_NONE));
	jw_uint(w, "seen", c->seen);
	jw_uint(w, "missed", c->missed);
	jw_uint(w, "late", c->late);
	jw_uint(w, "wrong_cause", c->wrong);
	jw_uint(w, "duplicate", c->dup);
	jw_uint(w, "early", c->early);
	dist_json(w, "detected_ms", &c->ms);
	jw_num(w, "bound_ms", bound);
	jw_num(w, "margin_ms", SILENT_MARGIN_MS);
	jw_num(w, "max_over_bound", c->ms.max / bound);
	jw_obj(w, "first_report_by");
	jw_uint(w, "epoll", c->by_path[HUPMON_PATH_EPOLL]);
	jw_uint(w, "sweep", c->by_path[HUPMON_PATH_SWEEP]);
	jw_end(w);
	jw_str(w, "verdict", c->verdict);
	jw_bool(w, "failed", c->failed);
	jw_bool(w, "late_missed", c->slow);
	jw_end(w);
}

/* Whether it ran (or why not), its paths, then a row per case and path. */
static void silent_json(struct jw *w, const void *res, const struct bctx *x)
{
	const struct silent_res *s = res;

	jw_bool(w, "requested", true);
	jw_bool(w, "ran", s->ran);
	jw_str(w, "skipped", s->ran ? NULL : s->skipped);
	jw_uint(w, "conns_per_case", s->conns);
	jw_uint(w, "window_ms", s->window_ns / 1000000);
	jw_arr(w, "paths");
	for (int p = 0; p < BP_COUNT; p++) {
		if (!(x->s->paths & PATH_BIT(p)))
			continue;
		jw_obj(w, NULL);
		jw_str(w, "path", bench_paths[p].name);
		jw_uint(w, "errors", s->errors[p]);
		jw_uint(w, "stray", s->stray[p]);
		jw_num(w, "wall_ms", s->ran ? s->wall_ms[p] : NAN);
		jw_end(w);
	}
	jw_end(w);
	jw_arr(w, "rows");
	for (unsigned k = 0; s->ran && k < SILENT_CASES; k++)
		for (int p = 0; p < BP_COUNT; p++)
			if (s->c[k][p].ran)
				row_json(w, s, k, p);
	jw_end(w);
}

/* A panel per case that has a bound: link down (or the write) to the
 * report, a curve per path, in the ms group. */
static void silent_plot(struct plot *pl, const void *res, const struct bctx *x)
{
	const struct silent_res *s = res;

	(void)x;
	for (unsigned k = 0; s->ran && k < SILENT_CASES; k++) {
		if (!silent_cases[k].bound_ms)
			continue;
		plot_panel(pl, PLOT_MS,
			   "silent: %s, bound %llu ms: link down to report",
			   silent_cases[k].name,
			   (unsigned long long)silent_cases[k].bound_ms);
		for (int p = 0; p < BP_COUNT; p++)
			if (s->c[k][p].ran) /* sorted by silent_analyse() */
				plot_curve(pl, bench_paths[p].name,
					   bench_paths[p].colour,
					   bench_paths[p].dash, false,
					   &s->c[k][p].det);
	}
}

const struct scenario_ops silent_ops = {
	.explain = "silent (root only, run only when named): the peer vanishes "
		   "without a FIN or RST.\n"
		   "epoll and the sweep see nothing until the kernel gives up, "
		   "which only keepalive\n"
		   "or TCP_USER_TIMEOUT make it do; then both see TIMEOUT "
		   "(ETIMEDOUT). It runs hupmon's\n"
		   "epoll path, TCP_INFO sweep and both (compare off), each on "
		   "fresh connections, for\n"
		   "four cases: keepalive 1s/1s/2 (bound idle + interval x "
		   "count = 3 s); keepalive\n"
		   "1s/1s/2 + user timeout 2 s (bound 2 s); no keepalive, the "
		   "server writes data never\n"
		   "acknowledged, user timeout 2 s (bound 2 s from the write); "
		   "no options (never\n"
		   "reported). A wrong cause, a report with no options, or "
		   "none at all with them\n"
		   "makes the exit status 1; one later than bound + 2 s is a "
		   "timing miss\n"
		   "(--strict-timing). Not root, no iproute2 or no netns/veth "
		   "support:\n"
		   "\"silent: skipped: <why>\", exit status unaffected.\n",
	.run = silent_run,
	.analyse = silent_analyse,
	.report = silent_report,
	.fails = silent_fails,
	.json = silent_json,
	.plot = silent_plot,
	.free = silent_free,
};
