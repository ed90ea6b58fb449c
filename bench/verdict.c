/* SPDX-License-Identifier: MIT */
/*
 * verdict: the checks' kinds, in one table, and the exit status they make
 * (verdict.h says what each kind is and why).
 */
#include "verdict.h"
#include "jw.h"
#include "tab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FORCE_ENV "HUPMON_BENCH_FORCE_MISS"

/* Each check's kind, and where its value and goal are printed. */
const struct check_def checks[CK_COUNT] = {
	[CK_VISIBILITY] = {"visibility", CK_KIND_COUNT,
			   "every path saw what --explain says (FAIL rows)"},
	[CK_ABANDON] = {"abandon", CK_KIND_COUNT,
			"no false cancel or lost response; add-up (goals)"},
	[CK_ABANDON_CPU] = {"abandon-cpu", CK_KIND_TIMING,
			    "epoll's CPU after clients left, % of off's"},
	[CK_ABANDON_P99] = {"abandon-p99", CK_KIND_TIMING,
			    "act->callback p99 (goals)"},
	[CK_ABANDON_GOODPUT] = {"abandon-goodput", CK_KIND_TIMING,
				"goodput against off's (goals)"},
	[CK_SILENT] = {"silent", CK_KIND_COUNT,
		       "TIMEOUT with options, nothing without (verdict)"},
	[CK_SILENT_LATE] = {"silent-late", CK_KIND_TIMING,
			    "reported within bound + margin (verdict)"},
	[CK_SOAK] = {"soak", CK_KIND_COUNT,
		     "none lost/false/dup/wrong; identities; memory flat"},
	[CK_SOAK_CYCLES] = {"soak-cycles", CK_KIND_TIMING,
			    "2 churn cycles in --soak-s, for the memory check"},
	[CK_CHURN] = {"churn", CK_KIND_COUNT,
		      "every call succeeded, counters add up"},
	[CK_CHURN_RATIO] = {"churn-ratio", CK_KIND_TIMING,
			    "watch + unwatch over raw epoll_ctl (x/raw, goal)"},
	[CK_BUDGET] = {"budget", CK_KIND_COUNT,
		       "every closure reported, compare mode misses none"},
	[CK_BUDGET_CPU] = {"budget-cpu", CK_KIND_TIMING,
			   "the dispatch thread's CPU share (budget goals)"},
	[CK_BUDGET_P99] = {"budget-p99", CK_KIND_TIMING,
			   "epoll p99 budgeted / quiet (budget goals)"},
	[CK_MILLION] = {"million", CK_KIND_COUNT,
			"no error, bytes per entry and socket (million goals)"},
	[CK_MILLION_WATCH] = {"million-watch", CK_KIND_TIMING,
			      "the worst single watch's CPU (million goals)"},
	[CK_STALL] = {"stall", CK_KIND_COUNT,
		      "stall reports missing or false (FAIL rows)"},
	[CK_STALL_LATE] =
		{"stall-late", CK_KIND_TIMING,
		 "within stall_ms + 2 x probe-gap bound (MISSED rows)"},
};

/* Whether the comma-separated list s names key. */
static bool names(const char *s, const char *key)
{
	size_t len = strlen(key);

	for (; s && *s; s = strchr(s, ','), s = s ? s + 1 : NULL)
		if (!strncmp(s, key, len) && (s[len] == ',' || !s[len]))
			return true;
	return false;
}

int verdict_env_check(void)
{
	const char *s = getenv(FORCE_ENV);

	for (; s && *s; s = strchr(s, ','), s = s ? s + 1 : NULL) {
		size_t len = strcspn(s, ",");
		bool known = false;

		for (int ck = 0; ck < CK_COUNT; ck++)
			known |= strlen(checks[ck].key) == len &&
				 !strncmp(s, checks[ck].key, len);
		if (!known) {
			fprintf(stderr, "hupmon-bench: %s: no check '%.*s'\n",
				FORCE_ENV, (int)len, s);
			return -EINVAL;
		}
	}
	return 0;
}

bool check_ok(struct verdicts *v, enum check ck, bool ok)
{
	if (names(getenv(FORCE_ENV), checks[ck].key)) {
		v->forced[ck] = true;
		ok = false;
	}
	v->judged[ck]++;
	v->missed[ck] += !ok;
	return ok;
}

const char *check_miss_word(enum check ck)
{
	return checks[ck].kind == CK_KIND_COUNT ? "FAIL" : "MISSED";
}

static const char *check_kind_name(enum check ck)
{
	return checks[ck].kind == CK_KIND_COUNT ? "count" : "timing";
}

unsigned verdict_misses(const struct verdicts *v, enum check_kind kind)
{
	unsigned n = 0;

	for (int ck = 0; ck < CK_COUNT; ck++)
		n += checks[ck].kind == kind ? v->missed[ck] : 0;
	return n;
}

/* The misses that decide the exit status. */
static unsigned deciding(const struct verdicts *v)
{
	return verdict_misses(v, CK_KIND_COUNT) +
	       (v->strict_timing ? verdict_misses(v, CK_KIND_TIMING) : 0);
}

int verdict_status(const struct verdicts *v)
{
	return deciding(v) ? 1 : 0;
}

static const struct col cols[] = {
	{"kind", -6, 0, false},	  {"check", -15, 0, false},
	{"judged", 6, 0, false},  {"missed", 6, 0, false},
	{"result", -6, 0, false}, {NULL, 0, 0, false},
};

void verdict_summary(FILE *f, const struct verdicts *v)
{
	fprintf(f,
		"verdicts: count checks decide the exit status; timing "
		"checks are printed and\ndecide it only with --strict-timing "
		"(%s here)\n",
		v->strict_timing ? "given" : "not given");
	tab_head(f, cols, false, "  what (where its figures are)");
	for (int ck = 0; ck < CK_COUNT; ck++) {
		struct tab t = {.f = f, .col = cols};

		if (!v->judged[ck])
			continue;
		tab_s(&t, check_kind_name(ck));
		tab_s(&t, checks[ck].key);
		tab_u(&t, v->judged[ck]);
		tab_u(&t, v->missed[ck]);
		tab_s(&t, v->missed[ck] ? check_miss_word(ck) : "met");
		fprintf(f, "  %s%s", checks[ck].what,
			v->forced[ck] ? "; forced by " FORCE_ENV : "");
		tab_end(&t, NULL);
	}
}

void verdict_goals_head(FILE *f)
{
	fprintf(f, "goals ([count] decides the exit status, [timing] only with "
		   "--strict-timing):\n");
}

void verdict_goal(FILE *f, enum check ck, bool judged, bool ok,
		  const char *what)
{
	fprintf(f, "%-6s %s [%s]\n",
		!judged ? "-"
		: ok	? "met"
			: check_miss_word(ck),
		what, check_kind_name(ck));
}

void verdict_add(struct verdicts *d, const struct verdicts *before,
		 const struct verdicts *after)
{
	for (int ck = 0; ck < CK_COUNT; ck++) {
		d->judged[ck] += after->judged[ck] - before->judged[ck];
		d->missed[ck] += after->missed[ck] - before->missed[ck];
		/* forced where this share judged it, not by another's */
		if (after->judged[ck] > before->judged[ck])
			d->forced[ck] |= after->forced[ck];
	}
	d->strict_timing = after->strict_timing;
}

void verdict_json(struct jw *w, const struct verdicts *v)
{
	jw_arr(w, "verdicts");
	for (int ck = 0; ck < CK_COUNT; ck++) {
		if (!v->judged[ck])
			continue;
		jw_obj(w, NULL);
		jw_str(w, "check", checks[ck].key);
		jw_str(w, "kind", check_kind_name(ck));
		jw_uint(w, "judged", v->judged[ck]);
		jw_uint(w, "missed", v->missed[ck]);
		jw_bool(w, "forced", v->forced[ck]);
		jw_end(w);
	}
	jw_end(w);
	jw_uint(w, "failures", deciding(v));
	jw_uint(w, "timing_missed", verdict_misses(v, CK_KIND_TIMING));
	jw_bool(w, "pass", !verdict_status(v));
}
