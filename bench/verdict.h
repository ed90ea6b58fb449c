/* SPDX-License-Identifier: MIT */
/*
 * verdict: every check hupmon-bench makes, its kind, and the exit status.
 *
 * A check is of one of two kinds, declared once, in checks[] (verdict.c):
 *
 *   count:  counts and identities: reports lost, false, duplicate or of the
 *           wrong cause, failed calls, counters that must add up, bytes that
 *           must not grow. They come out the same on a loaded machine and
 *           under a sanitizer; a miss is a bug. A miss prints FAIL and always
 *           makes the exit status 1.
 *   timing: times and CPU: percentiles, CPU shares and budget bands, ratios
 *           of them ("x % of off's", "x a raw floor"), work done in a time.
 *           They follow the machine and its load (other processes, a
 *           sanitizer's slowdown). A miss prints MISSED beside its value
 *           and goal, and makes the exit status 1 only under
 *           --strict-timing, which a benchmark run on a quiet machine asks
 *           for; ctest never does.
 *
 * A scenario hands each judgement to check_ok() (count or timing is the
 * check's, not the caller's), and prints what it returns; only
 * verdict_status() turns misses into the exit status.
 *
 * For tests only: HUPMON_BENCH_FORCE_MISS=key[,key...] makes every
 * judgement of the named checks a miss whatever was measured (the summary
 * says so), so that a test shows what a miss of each kind does to the exit
 * status without a goal that a machine may or may not meet
 * (verdicts_check.sh). An unknown key is a usage error.
 */
#ifndef HUPMON_BENCH_VERDICT_H
#define HUPMON_BENCH_VERDICT_H

#include <stdbool.h>
#include <stdio.h>

enum check_kind { CK_KIND_COUNT, CK_KIND_TIMING };

enum check {
	CK_VISIBILITY,	    /* count: closure rows vs --explain */
	CK_ABANDON,	    /* count: false cancels, lost answers, add-up */
	CK_ABANDON_CPU,	    /* timing: epoll's CPU after clients left */
	CK_ABANDON_P99,	    /* timing: act -> callback p99 */
	CK_ABANDON_GOODPUT, /* timing: work-ms/s against off's */
	CK_SILENT,	    /* count: TIMEOUT reported, nothing else */
	CK_SILENT_LATE,	    /* timing: within bound + margin */
	CK_SOAK,	    /* count: lost..., identities, memory_bytes */
	CK_SOAK_CYCLES,	    /* timing: two churn cycles in --soak-s */
	CK_CHURN,	    /* count: every call, counters add up */
	CK_CHURN_RATIO,	    /* timing: watch + unwatch over raw */
	CK_BUDGET,	    /* count: every closure reported, none missed */
	CK_BUDGET_CPU,	    /* timing: the dispatch thread's CPU share */
	CK_BUDGET_P99,	    /* timing: epoll p99 budgeted / quiet */
	CK_MILLION,	    /* count: no error, bytes per socket */
	CK_MILLION_WATCH,   /* timing: the worst single watch's CPU */
	CK_STALL,	    /* count: stall reports missing or false */
	CK_STALL_LATE,	    /* timing: stall reports within their bound */
	CK_COUNT
};

struct check_def {
	const char *key; /* HUPMON_BENCH_FORCE_MISS, JSON */
	enum check_kind kind;
	const char *what; /* the summary's line; where value and goal are */
};

extern const struct check_def checks[CK_COUNT];

/* What was judged (check_ok), for the summary and the exit status. */
struct verdicts {
	unsigned judged[CK_COUNT], missed[CK_COUNT];
	bool forced[CK_COUNT]; /* HUPMON_BENCH_FORCE_MISS named it */
	bool strict_timing;    /* --strict-timing: timing misses fail too */
};

/* 0 when HUPMON_BENCH_FORCE_MISS is unset or names known checks only,
 * else -EINVAL (with a message on stderr). */
int verdict_env_check(void);
/* One judgement of ck: ok as measured, false if HUPMON_BENCH_FORCE_MISS
 * names ck; recorded, and returned for the caller to print. */
bool check_ok(struct verdicts *v, enum check ck, bool ok);
/* "FAIL" for a count check, "MISSED" for a timing one. */
const char *check_miss_word(enum check ck);
/* The misses of a kind. */
unsigned verdict_misses(const struct verdicts *v, enum check_kind kind);
/* The exit status the misses make: 1 for any count miss, and for any
 * timing miss under --strict-timing; else 0. */
int verdict_status(const struct verdicts *v);
/* Every check judged, its kind and misses (the summary then says the
 * exit status). */
void verdict_summary(FILE *f, const struct verdicts *v);
/* A scenario's goal lines: their head, then one a goal: "met", the miss
 * word, or "-" when it was not judged; what (value and goal); its kind. */
void verdict_goals_head(FILE *f);
void verdict_goal(FILE *f, enum check ck, bool judged, bool ok,
		  const char *what);
/* d += what was judged between before and after (a scenario's share). */
void verdict_add(struct verdicts *d, const struct verdicts *before,
		 const struct verdicts *after);
/* The same as JSON members: "verdicts": [...], "failures" (misses that
 * decide the exit status), "timing_missed", "pass". */
struct jw;
void verdict_json(struct jw *w, const struct verdicts *v);

#endif
