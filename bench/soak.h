/* SPDX-License-Identifier: MIT */
/*
 * soak: what the soak scenario measures (soak.c) and shows (soak_report.c):
 * N connections churned for a set time in compare mode, judged by the
 * monitor's own counters and memory.
 */
#ifndef HUPMON_BENCH_SOAK_H
#define HUPMON_BENCH_SOAK_H

#include "bench.h"

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

/* soak.c: what a scenario's ops run (soak_report.c fills them) */
void *soak_run(const struct bctx *x);
void soak_analyse(void *res, const struct bctx *x);
void soak_free(void *res);

/* Its shape, named by its row of the registry (scenarios.c). */
extern const struct scenario_ops soak_ops;

#endif
