/* SPDX-License-Identifier: MIT */
/*
 * silent: what the silent scenario measures (silent.c) and shows
 * (silent_report.c): a peer that vanishes without a FIN or RST, found by
 * keepalive or TCP_USER_TIMEOUT.
 */
#ifndef HUPMON_BENCH_SILENT_H
#define HUPMON_BENCH_SILENT_H

#include "bench.h"

/* silent: a case is how the connections are configured and what they must
 * then see; each runs on each of silent's paths (silent.c). */
#define SILENT_CASES	 4
#define SILENT_MARGIN_MS 2000ull /* timers fire on jiffies; sweeps lag */

struct silent_case {
	const char *name; /* table */
	const char *key;  /* JSON */
	struct hupmon_liveness live;
	uint64_t bound_ms; /* 0: must not be reported */
	bool data; /* the server writes once the link is down, timed from it */
};

extern const struct silent_case silent_cases[SILENT_CASES];

/* What one case saw on one path (silent_analyse: its verdict). */
struct silent_cell {
	bool ran, failed;    /* failed: the count check */
	bool slow;	     /* the timing check (late) missed */
	unsigned conns;	     /* watched */
	unsigned seen;	     /* reported (first report) within the window */
	unsigned missed;     /* a case with a bound: not reported */
	unsigned late;	     /* reported after bound + margin */
	unsigned wrong;	     /* a report other than TIMEOUT / ETIMEDOUT */
	unsigned dup;	     /* reports after the first */
	unsigned early;	     /* reported while the link was still up */
	unsigned by_path[3]; /* first report by HUPMON_PATH_EPOLL / SWEEP */
	enum hupmon_cause bad_cause; /* the last wrong report, and its */
	int bad_error;		     /* error, for the FAIL line */
	struct vec det; /* ns from the link going down (data: the write) to
			   ev->detected_ns of the first report */
	struct dist ms; /* det in ms */
	char verdict[160];
};

struct silent_res {
	bool ran;	    /* namespaces made, runs attempted */
	char skipped[192];  /* why not, when not ran */
	unsigned conns;	    /* per case and path */
	uint64_t window_ns; /* how long after the link went down we waited */
	/* by path: setup, watch or ip failures; reports naming no conn */
	unsigned errors[BP_COUNT];
	unsigned long long stray[BP_COUNT];
	double wall_ms[BP_COUNT];
	struct silent_cell c[SILENT_CASES][BP_COUNT];
};

/* silent.c: what a scenario's ops run (silent_report.c fills them) */
void *silent_run(const struct bctx *x);
void silent_analyse(void *res, const struct bctx *x);
void silent_free(void *res);

/* Its shape, named by its row of the registry (scenarios.c). */
extern const struct scenario_ops silent_ops;

#endif
