/* SPDX-License-Identifier: MIT */
/*
 * churn_report: churn's text table and its JSON (see churn.c).
 */
#include "churn.h"
#include "tab.h"

#include <math.h>

static const struct col churn_cols[] = {
	{"N", 6, 0},	    {"threads", 7, 0},	   {"method", -14, 0},
	{"watch-ns", 8, 0}, {"unwatch-ns", 10, 0}, {"pair-ns", 8, 0},
	{"x/raw", 6, 2},    {"goal", 6, 2},	   {NULL, 0, 0},
};

void churn_table(FILE *f, const struct results *res)
{
	const struct churn_res *cr = res->churn;

	if (!cr || !cr->ran)
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
	tab_head(f, churn_cols, NULL);
	for (unsigned i = 0; i < cr->nsets; i++) {
		const struct churn_set *s = &cr->set[i];

		for (int k = 0; k < CM_COUNT; k++) {
			struct tab t = {f, churn_cols, false};
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

/* A JSON number, null for NAN. */
static void jnum(FILE *f, const char *key, double x, int prec, bool last)
{
	if (isfinite(x))
		fprintf(f, "\"%s\": %.*f%s", key, prec, x, last ? "" : ", ");
	else
		fprintf(f, "\"%s\": null%s", key, last ? "" : ", ");
}

static void method_json(FILE *f, const struct churn_res *cr,
			const struct churn_set *s, int k)
{
	fprintf(f, "\n       {\"method\": \"%s\", ", churn_method_name[k]);
	jnum(f, "watch_ns", s->med_watch[k], 1, false);
	jnum(f, "unwatch_ns", s->med_unwatch[k], 1, false);
	jnum(f, "pair_ns", s->med_pair[k], 1, false);
	jnum(f, "ratio_to_raw", s->ratio[k], 4, false);
	jnum(f, "goal_ratio", churn_goal[k], 2, false);
	if (isfinite(churn_goal[k]))
		fprintf(f, "\"goal_met\": %s, ", s->met[k] ? "true" : "false");
	else
		fputs("\"goal_met\": null, ", f);
	fputs("\"rounds_pair_ns\": [", f);
	for (unsigned r = 0; r < cr->rounds; r++)
		fprintf(f, "%s%.1f", r ? ", " : "",
			s->watch[k][r] + s->unwatch[k][r]);
	fputs("]}", f);
}

void churn_json(FILE *f, const struct churn_res *cr)
{
	if (!cr || !cr->ran) {
		fputs(",\n  \"churn\": null", f);
		return;
	}
	fprintf(f,
		",\n  \"churn\": {\"rounds\": %u, \"errors\": %llu, "
		"\"wall_s\": %.3f,\n    \"sets\": [",
		cr->rounds, cr->errors, cr->wall_s);
	for (unsigned i = 0; i < cr->nsets; i++) {
		const struct churn_set *s = &cr->set[i];

		fprintf(f,
			"%s\n     {\"n\": %zu, \"threads\": %u, \"methods\": "
			"[",
			i ? "," : "", s->n, s->threads);
		for (int k = 0; k < CM_COUNT; k++) {
			method_json(f, cr, s, k);
			fputs(k + 1 < CM_COUNT ? "," : "]}", f);
		}
	}
	fputs("]}", f);
}
