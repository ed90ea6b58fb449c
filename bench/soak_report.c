/* SPDX-License-Identifier: MIT */
/*
 * soak_report: what the soak scenario shows (soak.h): its table of modes,
 * its cycles and identities, its FAIL lines and its JSON.
 */
#include "jw.h"
#include "plot.h"
#include "soak.h"
#include "tab.h"

#include <math.h>
#include <string.h>

/* soak: a row per mode, then the cycles, the identities, the sweep. */
static const struct col soak_cols[] = {
	{"mode", -9, 0, false},	   {"conns", 7, 0, false},
	{"seen", 7, 0, false},	   {"lost", 4, 0, false},
	{"false", 5, 0, false},	   {"dup", 3, 0, false},
	{"wrong", 5, 0, false},	   {"recs", 7, 0, false},
	{"rec-lost", 8, 0, false}, {"2nd-miss", 8, 0, false},
	{"disagree", 8, 0, false}, {"p50", 8, 1, false},
	{"p90", 8, 1, true},	   {"p99", 8, 1, false},
	{"max", 8, 1, true},	   {NULL, 0, 0, false},
};

static const struct col cycle_cols[] = {
	{"cycle", 5, 0, false},		{"end-s", 7, 1, false},
	{"replaced", 9, 0, false},	{"watched", 7, 0, false},
	{"memory-bytes", 12, 0, false}, {"vs-prev", 8, 0, false},
	{"rss-KiB", 8, 0, false},	{NULL, 0, 0, false},
};

static void soak_row(FILE *f, const char *name, const struct soak_tally *t,
		     const char *does, bool all)
{
	struct tab r = {.f = f, .col = soak_cols, .all = all};

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
	if (all)
		fprintf(f, "  %s", does);
	tab_end(&r, NULL);
}

static void soak_cycles(FILE *f, const struct soak_res *s)
{
	tab_head(f, cycle_cols, false, NULL);
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
		tab_end(&t, k == 1 && s->cycles > 1 ? "  (later ones judged "
						      "against it)"
						    : NULL);
	}
}

static void soak_report(FILE *f, const void *res, const struct bctx *x)
{
	const struct soak_res *s = res;
	const struct hupmon_stats *st;

	if (!s->ran)
		return;
	st = &s->st;
	fprintf(f,
		"\n== soak: %zu connections, %u s of churn on one monitor in "
		"compare mode ==\nboth paths, TCP_INFO sweep, period %u ms, "
		"tick %u ms; two threads watch and unwatch, one\nact every %u "
		"us on average; %.1f s in all\n",
		s->n, s->secs, s->period_ms, s->tick_ms, s->pace_us, s->wall_s);
	fprintf(f, "seen/lost: the reports a mode must get; recs: compare "
		   "records (cut: optional); p50..max: µs\nfrom the act to "
		   "the first report's callback\n");
	tab_head(f, soak_cols, x->o->wide, x->o->wide ? "  does" : NULL);
	for (int m = 0; m < SM_COUNT; m++)
		soak_row(f, soak_modes[m].name, &s->t[m], soak_modes[m].does,
			 x->o->wide);
	soak_row(f, "all", &s->t[SM_COUNT], "", x->o->wide);
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
		"gap %.1f ms (bound %u ms),\n%llu overruns; reports: %llu "
		"(escalations %llu), compare outcomes %llu, cut short\n%llu; "
		"RSS max %llu KiB (not judged)\n",
		(unsigned long long)st->sweep_probes,
		(unsigned long long)st->sweep_laps,
		(double)st->sweep_lap_worst_ns / 1e6,
		(double)st->sweep_gap_worst_ns / 1e6, s->period_ms + s->tick_ms,
		(unsigned long long)st->sweep_overruns, s->hangups,
		(unsigned long long)st->escalations, s->outcomes, s->cut_short,
		(unsigned long long)s->rss_max_kib);
}

static void soak_fails(FILE *f, const void *res, const struct bctx *x)
{
	const struct soak_res *s = res;
	const struct soak_tally *a;

	(void)x;
	if (!s->ran)
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

static void tally_json(struct jw *w, const char *name,
		       const struct soak_tally *t)
{
	jw_obj(w, NULL);
	jw_str(w, "mode", name);
	jw_uint(w, "conns", t->conns);
	jw_uint(w, "seen", t->seen);
	jw_uint(w, "lost", t->lost);
	jw_uint(w, "false", t->fals);
	jw_uint(w, "duplicate", t->dup);
	jw_uint(w, "wrong_cause", t->wrong);
	jw_uint(w, "records", t->recs);
	jw_uint(w, "records_lost", t->rec_lost);
	jw_uint(w, "second_missed", t->rec_missed);
	jw_uint(w, "disagree", t->rec_disagree);
	dist_json(w, "latency_us", &t->us);
	jw_end(w);
}

/* Its modes, its cycles and its identities. */
static void soak_json(struct jw *w, const void *res, const struct bctx *x)
{
	const struct soak_res *s = res;

	(void)x;
	jw_uint(w, "n", s->n);
	jw_uint(w, "seconds", s->secs);
	jw_uint(w, "period_ms", s->period_ms);
	jw_uint(w, "tick_ms", s->tick_ms);
	jw_uint(w, "pace_us", s->pace_us);
	jw_num(w, "wall_s", s->wall_s);
	jw_uint(w, "replaced", s->replaced);
	jw_uint(w, "cycles", s->cycles);
	jw_uint(w, "errors", s->errors);
	jw_uint(w, "stray", s->stray);
	jw_uint(w, "rss_max_kib", s->rss_max_kib);
	jw_uint(w, "failures", s->failures);
	jw_bool(w, "cycles_met", s->cycles_ok);
	jw_arr(w, "modes");
	for (int m = 0; m <= SM_COUNT; m++)
		tally_json(w, m < SM_COUNT ? soak_modes[m].name : "all",
			   &s->t[m]);
	jw_end(w);
	jw_arr(w, "cycle_ends");
	for (unsigned k = 0; k <= s->cycles && k <= SOAK_MAX_CYCLES; k++) {
		jw_obj(w, NULL);
		jw_uint(w, "cycle", k);
		jw_num(w, "t_s", s->cyc[k].t_s);
		jw_uint(w, "memory_bytes", s->cyc[k].memory_bytes);
		jw_uint(w, "watched", s->cyc[k].watched);
		jw_uint(w, "rss_kib", s->cyc[k].rss_kib);
		jw_end(w);
	}
	jw_end(w);
	jw_arr(w, "identities");
	for (int i = 0; i < SOAK_IDENTS; i++) {
		jw_obj(w, NULL);
		jw_str(w, "what", s->id[i].what);
		jw_int(w, "lhs", s->id[i].lhs);
		jw_int(w, "rhs", s->id[i].rhs);
		jw_end(w);
	}
	jw_end(w);
	jw_uint(w, "memory_grew_in_cycle", s->grew_at);
}

/* One panel: the act to the first report, a curve per way of ending
 * (Okabe-Ito colours), with the sweep's period and probe-gap bound. */
static void soak_plot(struct plot *pl, const void *res, const struct bctx *x)
{
	static const char *const colour[SM_COUNT] = {
		"#0072b2", "#d55e00", "#009e73", "#cc79a7",
		"#e69f00", "#56b4e9", "#000000"};
	const struct soak_res *s = res;

	(void)x;
	if (!s->ran)
		return;
	plot_panel(pl, PLOT_US, "soak: %zu connections: act to first report",
		   s->n);
	for (int m = 0; m < SM_COUNT; m++) /* sorted by soak_analyse() */
		plot_curve(pl, soak_modes[m].name, colour[m], NULL, false,
			   &s->t[m].lat);
	plot_mark(pl, PLOT_PERIOD, s->period_ms * 1e6);
	plot_mark(pl, PLOT_BOUND, (s->period_ms + s->tick_ms) * 1e6);
}

const struct scenario_ops soak_ops = {
	.explain = "soak (run only when named): one monitor in compare mode; "
		   "each connection ends in a\n"
		   "random mode and must get what its scenario above gets on "
		   "the compare row, each\n"
		   "report then resolved as seen by the second path (the "
		   "TCP_INFO sweep sees every\n"
		   "mode: a miss or a disagreement fails); cut: a FIN "
		   "unwatched at its first report,\n"
		   "its outcome cut short; live: unwatched alive, nothing. "
		   "Lost, false, duplicate,\n"
		   "wrong, a failed counter identity or memory_bytes growing "
		   "after the first cycle\n"
		   "makes the exit status 1; fewer than 2 cycles in --soak-s "
		   "(memory not judged)\n"
		   "is a timing miss (--strict-timing).\n",
	.run = soak_run,
	.analyse = soak_analyse,
	.report = soak_report,
	.fails = soak_fails,
	.json = soak_json,
	.plot = soak_plot,
	.free = soak_free,
};
