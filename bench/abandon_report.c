/* SPDX-License-Identifier: MIT */
/*
 * abandon_report: what the abandon scenario shows (abandon.h): its two
 * tables and its goals, its FAIL lines, its JSON and its curves.
 */
#include "abandon.h"
#include "jw.h"
#include "plot.h"
#include "tab.h"

#include <math.h>
#include <string.h>

/* abandon: one row per mode, counts and CPU, then latencies (ms), then
 * the goals. */
static const struct col abandon_cols[] = {
	{"mode", -8, 0, false},	   {"sent", 6, 0, false},
	{"ans/s", 7, 1, false},	   {"work-ms/s", 9, 1, false},
	{"left", 5, 0, false},	   {"rst", 4, 0, false},
	{"cpu-left", 9, 1, false}, {"%off", 6, 2, false},
	{"policy", 6, 0, true},	   {"half", 4, 0, true},
	{"pc-ran", 6, 0, true},	   {"unseen", 6, 0, false},
	{"false", 5, 0, false},	   {"lost", 4, 0, false},
	{"add-up", 6, 0, false},   {NULL, 0, 0, false},
};

static const struct col abandon_lat_cols[] = {
	{"mode", -8, 0, false},	   {"acts", 5, 0, false},
	{"act-cb50", 8, 3, false}, {"p99", 7, 3, false},
	{"max", 7, 3, false},	   {"early", 5, 0, true},
	{"read-cb50", 9, 3, true}, {"p99", 7, 3, true},
	{"stops", 5, 0, false},	   {"cb-stop50", 9, 3, false},
	{"p99", 7, 3, false},	   {"max", 7, 3, true},
	{"bound-min", 9, 1, true}, {"bound-max", 9, 1, true},
	{"gap", 6, 1, false},	   {NULL, 0, 0, false},
};

static void abandon_lat(struct tab *t, const struct load_lat *l, bool max)
{
	tab_u(t, l->n);
	tab_n(t, l->n ? l->p50_ms : NAN);
	tab_n(t, l->n ? l->p99_ms : NAN);
	if (max)
		tab_n(t, l->n ? l->max_ms : NAN);
}

/* A goal's line, its mode first. */
static void abandon_goal(FILE *f, enum check ck, bool ok, const char *mode,
			 const char *what)
{
	char line[200];

	snprintf(line, sizeof(line), "%-8s %s", mode, what);
	verdict_goal(f, ck, true, ok, line);
}

static void abandon_goals(FILE *f, const struct abandon_res *a)
{
	const struct abandon_mode *off = &a->m[SERVE_OFF];
	char buf[160];

	verdict_goals_head(f);
	for (int i = SERVE_EPOLL; i < ABANDON_MODES; i++) {
		const struct abandon_mode *w = &a->m[i];
		const char *m = serve_mode_name((enum serve_mode)i);

		if (!w->ran)
			continue;
		if (i == SERVE_EPOLL && isfinite(w->cpu_pct_off)) {
			snprintf(buf, sizeof(buf),
				 "CPU after clients left %.1f ms = %.2f %% of "
				 "off's %.1f ms (at most %.0f %%)",
				 w->r.cpu_after_left_ms, w->cpu_pct_off,
				 off->r.cpu_after_left_ms, ABANDON_CPU_PCT_MAX);
			abandon_goal(f, CK_ABANDON_CPU, w->cpu_ok, m, buf);
		}
		if (w->r.act_cb.n) {
			snprintf(
				buf, sizeof(buf),
				"act->callback p99 %.3f ms (at most %.3f ms%s)",
				w->r.act_cb.p99_ms, w->p99_limit_ms,
				i == SERVE_SWEEP ? ": bound + 1 ms" : "");
			abandon_goal(f, CK_ABANDON_P99, w->p99_ok, m, buf);
		}
		if (isfinite(w->goodput_off)) {
			snprintf(buf, sizeof(buf),
				 "goodput %.1f work-ms/s = %.2f x off's %.1f "
				 "(at least 1 x)",
				 w->r.work_ms_per_s, w->goodput_off,
				 off->r.work_ms_per_s);
			abandon_goal(f, CK_ABANDON_GOODPUT, w->goodput_ok, m,
				     buf);
		}
	}
	for (int i = 0; i < ABANDON_MODES; i++) {
		const struct abandon_mode *w = &a->m[i];

		if (!w->ran)
			continue;
		snprintf(buf, sizeof(buf),
			 "%llu false cancellations, %llu lost responses, "
			 "counters %s",
			 (unsigned long long)w->r.false_cancels,
			 (unsigned long long)w->r.lost,
			 w->r.add_up ? "add up" : "DO NOT add up");
		abandon_goal(f, CK_ABANDON, !w->failed, serve_mode_name(i),
			     buf);
	}
}

static void abandon_report(FILE *f, const void *res, const struct bctx *x)
{
	const struct abandon_res *a = res;
	const struct load_opts *lo = &a->lo;
	fprintf(f,
		"\n== abandon: hupmon-serve cancels the work of clients that "
		"left ==\n%u clients, %u round(s) of %u ms per mode, work "
		"%u-%u ms; sessions: %u%% give up (FIN\nor RST), %u%% "
		"half-close and wait, %u%% pipeline 2 + read, %u%% pipeline 2 "
		"+ close, the\nrest wait; half-close policy cancel, %u workers "
		"at %s, sweep TCP_INFO every %d ms\nin %d ms ticks; %.0f s, "
		"load average %.2f %.2f %.2f before, %.2f %.2f %.2f after\n",
		lo->clients, a->rounds, lo->duration_ms, lo->min_ms, lo->max_ms,
		lo->abandon_pct, lo->half_pct, lo->pipe_read_pct,
		lo->pipe_close_pct, a->workers, a->sched ? a->sched : "-",
		SERVE_SWEEP_PERIOD_MS, SERVE_SWEEP_TICK_MS, a->wall_s,
		a->load_before[0], a->load_before[1], a->load_before[2],
		a->load_after[0], a->load_after[1], a->load_after[2]);
	tab_head(f, abandon_cols, x->o->wide, NULL);
	for (int i = 0; i < ABANDON_MODES; i++) {
		const struct abandon_mode *w = &a->m[i];
		const struct load_result *r = &w->r;
		struct tab t = {.f = f, .col = abandon_cols, .all = x->o->wide};

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
	tab_head(f, abandon_lat_cols, x->o->wide, NULL);
	for (int i = 0; i < ABANDON_MODES; i++) {
		const struct abandon_mode *w = &a->m[i];
		struct tab t = {
			.f = f, .col = abandon_lat_cols, .all = x->o->wide};
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

static void abandon_fails(FILE *f, const void *res, const struct bctx *x)
{
	const struct abandon_res *a = res;

	(void)x;
	for (int i = 0; i < ABANDON_MODES; i++) {
		const struct abandon_mode *w = &a->m[i];

		if (!w->failed)
			continue;
		fprintf(f,
			"FAIL abandon/%s: %s%llu false cancellations, %llu "
			"lost responses, counters %s\n",
			serve_mode_name((enum serve_mode)i),
			w->error ? "could not run; " : "",
			(unsigned long long)w->r.false_cancels,
			(unsigned long long)w->r.lost,
			w->r.add_up ? "add up" : "do not add up");
	}
}

/* A latency of abandon's, ms, with its samples' count. */
static void lat_json(struct jw *w, const char *key, const struct load_lat *l)
{
	jw_obj(w, key);
	jw_uint(w, "count", l->n);
	jw_num(w, "p50", l->n ? l->p50_ms : NAN);
	jw_num(w, "p99", l->n ? l->p99_ms : NAN);
	jw_num(w, "max", l->n ? l->max_ms : NAN);
	jw_end(w);
}

static void mode_json(struct jw *w, const struct abandon_mode *m, int i)
{
	const struct load_result *r = &m->r;
	bool swept = m->bound_max_ns > 0;

	jw_obj(w, NULL);
	jw_str(w, "scenario", "abandon");
	jw_str(w, "mode", serve_mode_name((enum serve_mode)i));
	jw_int(w, "error", m->error);
	jw_uint(w, "sent", r->sent);
	jw_uint(w, "answered", r->answered);
	jw_num(w, "answers_per_s", r->answers_per_s);
	jw_num(w, "work_ms_per_s", r->work_ms_per_s);
	jw_obj(w, "sessions");
	for (int c = 0; c < LOAD_CLASSES; c++)
		jw_uint(w, load_class_name((enum load_class)c), r->sessions[c]);
	jw_end(w);
	jw_uint(w, "left", r->left);
	jw_uint(w, "rst", r->rst);
	jw_uint(w, "unseen", r->unseen);
	jw_num(w, "cpu_after_left_ms", r->cpu_after_left_ms);
	jw_num(w, "cpu_after_left_pct_off",
	       i == SERVE_OFF ? 100 : m->cpu_pct_off);
	jw_num(w, "goodput_over_off", m->goodput_off);
	jw_uint(w, "by_policy", r->by_policy);
	jw_uint(w, "half_answered", r->half_answered);
	jw_uint(w, "half_refused", r->half_refused);
	jw_uint(w, "pipe_close_ran", r->pipe_close_ran);
	jw_uint(w, "false_cancels", r->false_cancels);
	jw_uint(w, "lost", r->lost);
	jw_obj(w, "server");
	jw_uint(w, "requests", r->srv_requests);
	jw_uint(w, "completed", r->srv_completed);
	jw_uint(w, "cancelled", r->srv_cancelled);
	jw_uint(w, "failed", r->srv_failed);
	jw_bool(w, "add_up", r->add_up);
	jw_end(w);
	lat_json(w, "act_callback_ms", &r->act_cb);
	lat_json(w, "read_callback_ms", &r->read_cb);
	lat_json(w, "callback_stop_ms", &r->cb_stop);
	jw_obj(w, "gap_bound_ms");
	jw_num(w, "min", swept ? (double)m->bound_min_ns / 1e6 : NAN);
	jw_num(w, "max", swept ? (double)m->bound_max_ns / 1e6 : NAN);
	jw_end(w);
	jw_num(w, "gap_worst_ms", swept ? (double)m->gap_ns / 1e6 : NAN);
	jw_obj(w, "goals");
	jw_num(w, "p99_limit_ms", m->p99_limit_ms);
	jw_bool(w, "p99_met", m->p99_ok);
	jw_bool(w, "cpu_met", m->cpu_ok);
	jw_bool(w, "goodput_met", m->goodput_ok);
	jw_end(w);
	jw_bool(w, "failed", m->failed);
	jw_end(w);
}

/* Its setup, then a row per mode that ran (or failed to). */
static void abandon_json(struct jw *w, const void *res, const struct bctx *x)
{
	const struct abandon_res *a = res;

	(void)x;
	jw_uint(w, "clients", a->lo.clients);
	jw_uint(w, "rounds", a->rounds);
	jw_uint(w, "round_ms", a->lo.duration_ms);
	jw_arr(w, "work_ms");
	jw_uint(w, NULL, a->lo.min_ms);
	jw_uint(w, NULL, a->lo.max_ms);
	jw_end(w);
	jw_uint(w, "abandon_pct", a->lo.abandon_pct);
	jw_uint(w, "half_pct", a->lo.half_pct);
	jw_uint(w, "pipe_read_pct", a->lo.pipe_read_pct);
	jw_uint(w, "pipe_close_pct", a->lo.pipe_close_pct);
	jw_str(w, "half_close", "cancel");
	jw_uint(w, "workers", a->workers);
	jw_str(w, "worker_sched", a->sched ? a->sched : "");
	jw_int(w, "sweep_period_ms", SERVE_SWEEP_PERIOD_MS);
	jw_int(w, "sweep_tick_ms", SERVE_SWEEP_TICK_MS);
	jw_num(w, "wall_s", a->wall_s);
	jw_arr(w, "loadavg_before");
	for (int i = 0; i < 3; i++)
		jw_num(w, NULL, a->load_before[i]);
	jw_end(w);
	jw_arr(w, "loadavg_after");
	for (int i = 0; i < 3; i++)
		jw_num(w, NULL, a->load_after[i]);
	jw_end(w);
	jw_arr(w, "modes");
	for (int i = 0; i < ABANDON_MODES; i++)
		if (a->m[i].ran || a->m[i].error)
			mode_json(w, &a->m[i], i);
	jw_end(w);
}

/* act -> callback of each mode that has samples (the colour of the path
 * --paths chooses it by). */
static const struct {
	enum serve_mode mode;
	enum bpath_id like;
} curves[] = {{SERVE_EPOLL, BP_EPOLL},
	      {SERVE_SWEEP, BP_TCPINFO},
	      {SERVE_COMPARE, BP_COMPARE}};

static void abandon_plot(struct plot *pl, const void *res, const struct bctx *x)
{
	const struct abandon_res *a = res;

	(void)x;
	plot_panel(pl, PLOT_MS,
		   "abandon: hupmon-serve, %u clients: act to callback",
		   a->lo.clients);
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		plot_curve(pl, serve_mode_name(curves[i].mode),
			   bench_paths[curves[i].like].colour,
			   bench_paths[curves[i].like].dash, false,
			   &a->m[curves[i].mode].act_cb);
	/* the server's sweep (its sweep and compare modes) */
	plot_mark(pl, PLOT_PERIOD, SERVE_SWEEP_PERIOD_MS * 1e6);
	plot_mark(pl, PLOT_BOUND,
		  (SERVE_SWEEP_PERIOD_MS + SERVE_SWEEP_TICK_MS) * 1e6);
}

const struct scenario_ops abandon_ops = {
	.explain = "abandon (run only when named, and by --quick): "
		   "hupmon-serve in this process, its\n"
		   "clients giving up on requests (bench/serve/load.h), hupmon "
		   "off, epoll, the TCP_INFO\n"
		   "sweep and compare. In every mode: no request cancelled "
		   "whose client waited, no\n"
		   "waiting client left without its answer, the server's "
		   "counters add up\n"
		   "(count checks: else exit status 1). Timing checks, "
		   "printed, exit status 1\n"
		   "only with --strict-timing: with the epoll path, CPU after "
		   "clients left at\n"
		   "most 5 % of off's; each mode's act->callback p99 and "
		   "goodput.\n",
	.run = abandon_run,
	.analyse = abandon_analyse,
	.report = abandon_report,
	.fails = abandon_fails,
	.json = abandon_json,
	.plot = abandon_plot,
	.free = abandon_free,
};
