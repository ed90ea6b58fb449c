/* SPDX-License-Identifier: MIT */
/*
 * churn: what a server pays per connection to watch it when accepted and
 * unwatch it when it ends, against the floor: a raw epoll_ctl ADD + DEL
 * pair on the same sockets (churn.c runs it, churn_report.c prints it).
 */
#ifndef HUPMON_BENCH_CHURN_H
#define HUPMON_BENCH_CHURN_H

#include "bench.h"

/* What is timed on each socket. */
enum churn_method {
	CM_RAW,	     /* epoll_ctl ADD, then DEL, on an epoll fd of our own */
	CM_WATCH,    /* hupmon_watch, then hupmon_unwatch */
	CM_ACCEPTED, /* hupmon_watch_ex with opts.accepted, hupmon_unwatch */
	CM_COUNT
};

#define CHURN_SETS	 4  /* 2 sizes x 1 or 2 watching threads */
#define CHURN_MAX_ROUNDS 63 /* 2 x --rounds + 1, at most */

struct churn_set {
	size_t n;	  /* sockets */
	unsigned threads; /* watching threads (2: the loop dispatches) */
	/* ns per socket, by method and round: the watch pass, the unwatch
	 * pass */
	double watch[CM_COUNT][CHURN_MAX_ROUNDS];
	double unwatch[CM_COUNT][CHURN_MAX_ROUNDS];
	/* churn_analyse: medians over rounds; ratio: of the per-round
	 * ratios of watch + unwatch to raw's */
	double med_watch[CM_COUNT], med_unwatch[CM_COUNT], med_pair[CM_COUNT];
	double ratio[CM_COUNT];
	bool met[CM_COUNT]; /* churn_judge: the ratio's goal (timing) */
};

struct churn_res {
	bool ran;
	unsigned rounds;
	unsigned nsets;
	struct churn_set set[CHURN_SETS];
	unsigned long long errors; /* failed calls, counters that differ */
	double wall_s;
};

extern const char *const churn_method_name[CM_COUNT];
/* The goal for the ratio to raw (NAN: none). */
extern const double churn_goal[CM_COUNT];

/* churn.c: what a scenario's ops run (churn_report.c fills them) */
void *churn_run(const struct bctx *x);
void churn_judge(void *res, const struct bctx *x); /* its checks */

/* Its shape, named by its row of the registry (scenarios.c). */
extern const struct scenario_ops churn_ops;

#endif
