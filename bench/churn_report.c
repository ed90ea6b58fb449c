/* SPDX-License-Identifier: MIT */
/*
 * churn_report: churn's text table and its JSON (see churn.c).
 */
#include "churn.h"
#include "jw.h"
#include "tab.h"

#include <math.h>
#include <stdlib.h>

static const struct col churn_cols[] = {
	{"N", 6, 0, false},	      {"threads", 7, 0, false},
	{"method", -14, 0, false},    {"watch-ns", 8, 0, false},
	{"unwatch-ns", 10, 0, false}, {"pair-ns", 8, 0, false},
	{"x/raw", 6, 2, false},	      {"goal", 6, 2, false},
	{NULL, 0, 0, false},
};

static void churn_report(FILE *f, const void *res, const struct bctx *x)
{
	const struct churn_res *cr = res;

	if (!cr->ran)
		return;
	fprintf(f,
		"\nchurn: watch + unwatch per socket, against a raw epoll_ctl "
		"ADD + DEL pair on the\nsame sockets (ns per socket, medians "
		"over %u rounds, methods alternating; x/raw:\nmedian of the "
		"per-round ratios). Default monitor (both paths, compare off, "
		"no\nliveness options), never dispatched with 1 thread; with "
		"2, two threads watch and\nunwatch halves of the set while "
		"the loop dispatches (hupmon_run; raw: epoll_wait).\n"
		"watch: hupmon_watch; watch-accepted: hupmon_watch_ex with "
		"opts.accepted.\ngoal: a timing goal (MISSED fails the run "
		"only with --strict-timing).\n",
		cr->rounds);
	tab_head(f, churn_cols, x->o->wide, NULL);
	for (unsigned i = 0; i < cr->nsets; i++) {
		const struct churn_set *s = &cr->set[i];

		for (int k = 0; k < CM_COUNT; k++) {
			struct tab t = {f, churn_cols, x->o->wide, false};
			bool goal = isfinite(churn_goal[k]);

			tab_u(&t, s->n);
			tab_u(&t, s->threads);
			tab_s(&t, churn_method_name[k]);
			tab_n(&t, s->med_watch[k]);
			tab_n(&t, s->med_unwatch[k]);
			tab_n(&t, s->med_pair[k]);
			tab_n(&t, s->ratio[k]);
			tab_n(&t, churn_goal[k]);
			tab_end(&t, !goal	? ""
				    : s->met[k] ? " met"
						: " MISSED");
		}
	}
	if (cr->errors)
		fprintf(f,
			"FAIL churn: %llu errors (a failed watch, unwatch or "
			"epoll_ctl, or counters that do not add up)\n",
			cr->errors);
}

static void method_json(struct jw *w, const struct churn_res *cr,
			const struct churn_set *s, int k)
{
	jw_obj(w, NULL);
	jw_str(w, "method", churn_method_name[k]);
	jw_nump(w, "watch_ns", s->med_watch[k], 1);
	jw_nump(w, "unwatch_ns", s->med_unwatch[k], 1);
	jw_nump(w, "pair_ns", s->med_pair[k], 1);
	jw_nump(w, "ratio_to_raw", s->ratio[k], 4);
	jw_nump(w, "goal_ratio", churn_goal[k], 2);
	jw_met(w, "goal_met", isfinite(churn_goal[k]), s->met[k]);
	jw_arr(w, "rounds_pair_ns");
	for (unsigned r = 0; r < cr->rounds; r++)
		jw_nump(w, NULL, s->watch[k][r] + s->unwatch[k][r], 1);
	jw_end(w);
	jw_end(w);
}

static void churn_json(struct jw *w, const void *res, const struct bctx *x)
{
	const struct churn_res *cr = res;

	(void)x;
	jw_uint(w, "rounds", cr->rounds);
	jw_uint(w, "errors", cr->errors);
	jw_num(w, "wall_s", cr->wall_s);
	jw_arr(w, "sets");
	for (unsigned i = 0; i < cr->nsets; i++) {
		const struct churn_set *s = &cr->set[i];

		jw_obj(w, NULL);
		jw_uint(w, "n", s->n);
		jw_uint(w, "threads", s->threads);
		jw_arr(w, "methods");
		for (int k = 0; k < CM_COUNT; k++)
			method_json(w, cr, s, k);
		jw_end(w);
		jw_end(w);
	}
	jw_end(w);
}

const struct scenario_ops churn_ops = {
	.explain = "churn (run only when named): timing, no visibility: watch "
		   "+ unwatch per socket\n"
		   "(hupmon_watch, and hupmon_watch_ex with opts.accepted) "
		   "against a raw epoll_ctl\n"
		   "ADD + DEL pair on the same sockets. A failed call, or "
		   "monitor counters that do\n"
		   "not add up, makes the exit status 1; the x/raw goals are "
		   "timing checks\n"
		   "(--strict-timing).\n",
	.run = churn_run,
	.analyse = churn_judge,
	.report = churn_report,
	.json = churn_json,
	.free = free,
};
