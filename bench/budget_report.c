/* SPDX-License-Identifier: MIT */
/*
 * budget_report: what the budget and shards scenarios show (budget.h):
 * budget's window and rounds with its goals, shards' capacity by the
 * number of monitors, their FAIL lines and their JSON.
 */
#include "budget.h"
#include "jw.h"
#include "tab.h"

#include <math.h>
#include <stdlib.h>

/* budget, cpu: the window's figures (ms unless named). */
static const struct col cpu_cols[] = {
	{"share-core", 10, 3, false}, {"lap-min", 7, 1, false},
	{"lap-max", 7, 1, false},     {"lap-last", 8, 1, false},
	{"gap-bound", 9, 1, false},   {"gap-worst", 9, 1, false},
	{"probes/s", 8, 0, false},    {"laps", 5, 0, false},
	{"overruns", 8, 0, false},    {"piled-up", 8, 0, false},
	{NULL, 0, 0, false},
};

/* budget, rounds: the epoll path's detection p99 (µs) per round. */
static const struct col round_cols[] = {
	{"round", 5, 0, false},
	{"quiet-p99", 9, 1, false},
	{"budgeted-p99", 12, 1, false},
	{"ratio", 6, 2, false},
	{NULL, 0, 0, false},
};

static const struct col shards_cols[] = {
	{"shards", 6, 0, false},      {"n-each", 7, 0, false},
	{"eff-lap-ms", 10, 1, false}, {"cpu-core", 8, 3, false},
	{"capacity", 8, 0, false},    {NULL, 0, 0, false},
};

/* A goal's line: met, not judged, or the check's word for a miss. */
static void budget_goals(FILE *f, const struct budget_res *b)
{
	char buf[160];

	verdict_goals_head(f);
	snprintf(buf, sizeof(buf),
		 "dispatch thread CPU %.3f core over %.1f s (%.2f-%.2f)",
		 b->share, b->window_s, BUDGET_SHARE_MIN, BUDGET_SHARE_MAX);
	verdict_goal(f, CK_BUDGET_CPU, true, b->share_met, buf);
	if (b->judged)
		snprintf(buf, sizeof(buf),
			 "epoll p99 budgeted / quiet %.2f, median of the "
			 "rounds (at most %.1f)",
			 b->ratio_median, BUDGET_P99_RATIO);
	else
		snprintf(buf, sizeof(buf),
			 "epoll p99 budgeted / quiet %.2f: not judged, %lu "
			 "closures (needs %d)",
			 b->ratio_median, b->closes[1], BUDGET_JUDGE_CLOSES);
	verdict_goal(f, CK_BUDGET_P99, b->judged, b->p99_met, buf);
	snprintf(buf, sizeof(buf),
		 "compare under the budget: %lu closures, %lu records, %lu "
		 "missed by the sweep",
		 b->closes[1], b->records, b->missed_sweep);
	verdict_goal(f, CK_BUDGET, true, b->compare_met, buf);
	snprintf(buf, sizeof(buf),
		 "every closure reported: not reported quiet %lu, budgeted %lu",
		 b->late[0], b->late[1]);
	verdict_goal(f, CK_BUDGET, true, b->reported_met, buf);
}

static void budget_report(FILE *f, const void *res, const struct bctx *x)
{
	const struct budget_res *b = res;
	struct tab t = {.f = f, .col = cpu_cols, .all = x->o->wide};

	fprintf(f,
		"\n== budget: the sweep held to %.1f core (sweep_cpu_budget); "
		"N=%zu, period %u ms, tick %u ms ==\n"
		"cpu: sweep only, no events; the dispatch thread's CPU share "
		"over %.1f s, the monitor's\neffective lap (its range over "
		"the window), last lap and probe gaps, ms\n",
		BUDGET_CORE, b->n, b->period_ms, b->tick_ms, b->window_s);
	tab_head(f, cpu_cols, x->o->wide, NULL);
	tab_n(&t, b->share);
	tab_n(&t, b->lap_min_ms);
	tab_n(&t, b->lap_max_ms);
	tab_n(&t, b->lap_last_ms);
	tab_n(&t, b->gap_bound_ms);
	tab_n(&t, b->gap_worst_ms);
	tab_n(&t, b->probes_per_s);
	tab_u(&t, b->laps);
	tab_u(&t, b->overruns);
	tab_u(&t, b->piled_up);
	tab_end(&t, NULL);
	fprintf(f,
		"rounds: %u x %zu FIN closures per mode, paced %u us; quiet "
		"(epoll only) and budgeted\n(both paths, compare) in turn on "
		"the same sockets; the epoll path's detection p99, us;\n"
		"the budgeted dispatch thread's CPU %.3f core (mean, closures "
		"included)\n",
		b->rounds, b->k, b->pace_us, b->share_mean);
	tab_head(f, round_cols, x->o->wide, NULL);
	for (unsigned r = 0; r < b->rounds && r < BENCH_MAX_ROUNDS; r++) {
		t = (struct tab){.f = f, .col = round_cols, .all = x->o->wide};
		tab_u(&t, r);
		tab_n(&t, b->p99_us[0][r]);
		tab_n(&t, b->p99_us[1][r]);
		tab_n(&t, b->ratio[r]);
		tab_end(&t, NULL);
	}
	budget_goals(f, b);
}

static void budget_fails(FILE *f, const void *res, const struct bctx *x)
{
	const struct budget_res *b = res;

	(void)x;
	if (!b->compare_met)
		fprintf(f,
			"FAIL budget: compare under the budget: %lu records "
			"for %lu closures, %lu missed by the sweep\n",
			b->records, b->closes[1], b->missed_sweep);
	if (!b->reported_met)
		fprintf(f,
			"FAIL budget: closures not reported: %lu of %lu quiet, "
			"%lu of %lu budgeted\n",
			b->late[0], b->closes[0], b->late[1], b->closes[1]);
}

static void budget_json(struct jw *w, const void *res, const struct bctx *x)
{
	const struct budget_res *b = res;

	(void)x;
	jw_uint(w, "n", b->n);
	jw_num(w, "budget_core", BUDGET_CORE);
	jw_uint(w, "period_ms", b->period_ms);
	jw_uint(w, "tick_ms", b->tick_ms);
	jw_obj(w, "cpu");
	jw_num(w, "share_core", b->share);
	jw_num(w, "window_s", b->window_s);
	jw_num(w, "goal_min_core", BUDGET_SHARE_MIN);
	jw_num(w, "goal_max_core", BUDGET_SHARE_MAX);
	jw_bool(w, "met", b->share_met);
	jw_num(w, "lap_effective_min_ms", b->lap_min_ms);
	jw_num(w, "lap_effective_max_ms", b->lap_max_ms);
	jw_num(w, "lap_last_ms", b->lap_last_ms);
	jw_num(w, "gap_bound_ms", b->gap_bound_ms);
	jw_num(w, "gap_worst_ms", b->gap_worst_ms);
	jw_num(w, "probes_per_s", b->probes_per_s);
	jw_uint(w, "laps", b->laps);
	jw_uint(w, "overruns", b->overruns);
	jw_uint(w, "piled_up", b->piled_up);
	jw_end(w);
	jw_obj(w, "rounds");
	jw_uint(w, "rounds", b->rounds);
	jw_uint(w, "closes_per_mode_per_round", b->k);
	jw_uint(w, "pace_us", b->pace_us);
	jw_arr(w, "per_round");
	for (unsigned r = 0; r < b->rounds && r < BENCH_MAX_ROUNDS; r++) {
		jw_obj(w, NULL);
		jw_uint(w, "round", r);
		jw_num(w, "quiet_p99_us", b->p99_us[0][r]);
		jw_num(w, "budgeted_p99_us", b->p99_us[1][r]);
		jw_num(w, "ratio", b->ratio[r]);
		jw_end(w);
	}
	jw_end(w);
	jw_num(w, "ratio_median", b->ratio_median);
	jw_num(w, "ratio_goal", BUDGET_P99_RATIO);
	jw_uint(w, "judged_from_closes", BUDGET_JUDGE_CLOSES);
	jw_bool(w, "judged", b->judged);
	jw_met(w, "p99_met", b->judged, b->p99_met);
	jw_uint(w, "closes_quiet", b->closes[0]);
	jw_uint(w, "closes_budgeted", b->closes[1]);
	jw_uint(w, "records", b->records);
	jw_uint(w, "missed_by_sweep", b->missed_sweep);
	jw_bool(w, "compare_met", b->compare_met);
	jw_num(w, "budgeted_share_core_mean", b->share_mean);
	jw_uint(w, "not_reported_quiet", b->late[0]);
	jw_uint(w, "not_reported_budgeted", b->late[1]);
	jw_bool(w, "reported_met", b->reported_met);
	jw_end(w);
}

static void shards_report(FILE *f, const void *res, const struct bctx *x)
{
	const struct shards_res *s = res;

	fprintf(f,
		"\n== shards: N=%zu split evenly between 1 and 2 monitors, "
		"each its own thread ==\neach with a %.1f-core budget; sweep "
		"only, no events, period %u ms, tick %u ms. capacity:\nthe sum "
		"over monitors of n x period / effective lap, the sockets a "
		"period's sweeping\ncovers within the budgets (the client "
		"child shares the cores: a lower bound)\n",
		s->n, BUDGET_CORE, s->period_ms, s->tick_ms);
	tab_head(f, shards_cols, x->o->wide, NULL);
	for (unsigned i = 0; i < BUDGET_MAX_SHARDS; i++) {
		struct tab t = {.f = f, .col = shards_cols, .all = x->o->wide};

		tab_u(&t, i + 1);
		tab_u(&t, s->row[i].n_each);
		tab_n(&t, s->row[i].lap_ms);
		tab_n(&t, s->row[i].cpu_core);
		tab_n(&t, s->row[i].capacity);
		tab_end(&t, NULL);
	}
	fprintf(f,
		"2 shards / 1 shard: %.2f x the capacity (reported, not "
		"judged)\n",
		s->capacity_ratio);
}

static void shards_json(struct jw *w, const void *res, const struct bctx *x)
{
	const struct shards_res *s = res;

	(void)x;
	jw_uint(w, "n", s->n);
	jw_num(w, "budget_core", BUDGET_CORE);
	jw_uint(w, "period_ms", s->period_ms);
	jw_uint(w, "tick_ms", s->tick_ms);
	jw_arr(w, "rows");
	for (unsigned i = 0; i < BUDGET_MAX_SHARDS; i++) {
		jw_obj(w, NULL);
		jw_uint(w, "shards", i + 1);
		jw_uint(w, "n_each", s->row[i].n_each);
		jw_num(w, "lap_effective_ms", s->row[i].lap_ms);
		jw_num(w, "cpu_core", s->row[i].cpu_core);
		jw_num(w, "capacity_sockets", s->row[i].capacity);
		jw_end(w);
	}
	jw_end(w);
	jw_num(w, "capacity_ratio", s->capacity_ratio);
}

const struct scenario_ops budget_ops = {
	.explain = "budget (run only when named): the sweep held to 0.2 core "
		   "(sweep_cpu_budget) over\n"
		   "N sockets whose client ends a child holds. For a window, "
		   "sweep only, no events:\n"
		   "the dispatch thread's CPU share (its thread CPU clock) "
		   "must stay within\n"
		   "0.17-0.23 core. Then rounds of paced FIN closures, a quiet "
		   "run (epoll only) and\n"
		   "a budgeted one (both paths, compare) in turn: every "
		   "closure must be reported,\n"
		   "and the sweep must miss none of compare's records (count "
		   "checks: else exit\n"
		   "status 1). The CPU share and the epoll p99 budgeted / "
		   "quiet (at most 1.5, the\n"
		   "median of per-round ratios, judged from 1 000 closures on) "
		   "are timing checks.\n",
	.run = budget_run,
	.analyse = budget_analyse,
	.report = budget_report,
	.fails = budget_fails,
	.json = budget_json,
	.free = free,
};

const struct scenario_ops shards_ops = {
	.explain = "shards (run only when named): budget's N split evenly "
		   "between 1 and 2\n"
		   "monitors, each with its own dispatch thread and a 0.2-core "
		   "budget, sweep only:\n"
		   "the capacity, the sockets a period's sweeping covers "
		   "within the budgets (the\n"
		   "sum of n x period / effective lap). Reported, not judged: "
		   "it follows the\n"
		   "machine's cores, which the child holding the client ends "
		   "shares.\n",
	.run = shards_run,
	.report = shards_report,
	.json = shards_json,
	.free = free,
};
