/* SPDX-License-Identifier: MIT */
/*
 * hupmon-bench: the types of the scenarios that run apart from the closure
 * tables and keep results of their own: silent (silent.c) and soak
 * (soak.c).
 */
#ifndef HUPMON_BENCH_APART_H
#define HUPMON_BENCH_APART_H

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

/* soak: how a connection ends (soak.c); each a row of its table. */
enum soak_mode {
	SM_FIN,
	SM_RST,
	SM_HALF,
	SM_DATAFIN,
	SM_ESCALATE, /* RST after FIN */
	SM_CUT,	     /* FIN, unwatched at the first report */
	SM_LIVE,     /* unwatched while alive */
	SM_COUNT
};

struct soak_mode_def {
	const char *name, *does;
	enum child_how how;		       /* the client's act */
	enum hupmon_cause cause[BENCH_STAGES]; /* reports it must get */
	int error;			       /* the last one's ev->error */
};

extern const struct soak_mode_def soak_modes[SM_COUNT];

/* What the connections of one mode saw (soak.c counts, analyse reads). */
struct soak_tally {
	unsigned long long conns;	     /* ended this way */
	unsigned long long seen, lost;	     /* expected reports */
	unsigned long long fals, dup, wrong; /* as the closure tables */
	/* compare records: delivered, not delivered although the report
	 * was, the second path missed it, it disagrees on the cause */
	unsigned long long recs, rec_lost, rec_missed, rec_disagree;
	struct vec lat; /* act to the first report's callback, ns */
	struct dist us; /* analyse: lat in µs */
};

#define SOAK_MAX_CYCLES 256
#define SOAK_IDENTS	8

/* One end of a churn cycle (0: all N watched, before the churn). */
struct soak_cycle {
	double t_s; /* since the churn began */
	uint64_t memory_bytes, watched, rss_kib;
};

/* A counter identity: lhs must equal rhs (analyse). */
struct soak_ident {
	const char *what;
	long long lhs, rhs;
};

struct soak_res {
	bool ran;
	size_t n;
	unsigned secs, period_ms, tick_ms, pace_us;
	double wall_s;
	struct soak_tally t[SM_COUNT + 1]; /* [SM_COUNT]: all (analyse) */
	struct soak_cycle cyc[SOAK_MAX_CYCLES + 1];
	unsigned cycles; /* completed (may exceed SOAK_MAX_CYCLES) */
	unsigned long long replaced, watches, unwatches, errors, stray;
	unsigned long long cb_hangup, cb_compare; /* callbacks counted */
	/* reported levels unwatched before their compare record came: the
	 * cut short outcomes the bench expects */
	unsigned long long unresolved;
	uint64_t rss_max_kib;
	struct hupmon_stats st; /* final: every connection unwatched */
	/* analyse() */
	unsigned long long hangups, outcomes, cut_short; /* final, summed */
	struct soak_ident id[SOAK_IDENTS];
	unsigned grew_at;  /* first cycle whose memory_bytes grew, 0: none */
	bool cycles_ok;	   /* timing: two cycles or more, memory judged */
	unsigned failures; /* count checks failed */
};

#endif
