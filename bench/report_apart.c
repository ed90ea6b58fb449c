/* SPDX-License-Identifier: MIT */
/*
 * report_apart: the text tables of the scenarios that run apart from the
 * loopback closures (abandon, soak), and their FAIL lines.
 */
#include "apart.h"
#include "abandon.h"
#include "tab.h"

#include <math.h>
#include <string.h>

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

/* A goal's line: met, or the check's word for a miss, and its kind. */
static void abandon_goal(FILE *f, enum check ck, bool ok, const char *mode,
			 const char *what)
{
	fprintf(f, "%-6s %-8s %s [%s]\n", ok ? "met" : check_miss_word(ck),
		mode, what, check_kind_name(ck));
}

static void abandon_goals(FILE *f, const struct abandon_res *a)
{
	const struct abandon_mode *off = &a->m[SERVE_OFF];
	char buf[160];

	fprintf(f, "goals (issue 18; [count] decides the exit status, [timing] "
		   "only with --strict-timing):\n");
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
			"lost responses, counters %s\n",
			serve_mode_name((enum serve_mode)i),
			w->error ? "could not run; " : "",
			(unsigned long long)w->r.false_cancels,
			(unsigned long long)w->r.lost,
			w->r.add_up ? "add up" : "do not add up");
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
	tab_lat4(&r, &t->us);
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

void soak_table(FILE *f, const struct results *res)
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

void soak_fail_lines(FILE *f, const struct results *res)
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
	if (!s->cycles_ok)
		fprintf(f,
			"%s soak: %u churn cycles in %u s, goal 2: memory "
			"needs 2 to be judged (raise --soak-s or lower "
			"--pace-us)\n",
			check_miss_word(CK_SOAK_CYCLES), s->cycles, s->secs);
}
