/* SPDX-License-Identifier: MIT */
/*
 * unix: the closure scenario over Unix-domain stream connections that a
 * server accepted: for each act of the peer (close, close with our data
 * unread, shutdown SHUT_WR, SHUT_RDWR, SHUT_RD, SHUT_WR then close with
 * data unread) and for a live idle control, what hupmon's epoll path, its
 * sweep and compare mode report, each beside a raw floor (unix.c runs it,
 * raw.c's raw_poll_ops is the sweep's floor, unix_report.c shows it).
 *
 * (GNU C defines the macro "unix": no identifier here is that word alone.)
 */
#ifndef HUPMON_BENCH_UNIX_H
#define HUPMON_BENCH_UNIX_H

#include "bench.h"

/* The peer's acts, a row each (stage 2 of escalate: a row of its own). */
enum unix_act {
	UA_CLOSE,     /* close(), nothing unread: HANGUP */
	UA_UNREAD,    /* close() with our data unread: RESET, ECONNRESET */
	UA_SHUT_WR,   /* shutdown(SHUT_WR): PEER_SHUTDOWN */
	UA_SHUT_RDWR, /* shutdown(SHUT_RDWR): HANGUP, as a close */
	UA_SHUT_RD,   /* shutdown(SHUT_RD): nothing */
	UA_ESCALATE,  /* SHUT_WR, then close() with data unread: PS, RESET */
	UA_IDLE,      /* nothing happens: nothing reported */
	UA_COUNT
};

/* The paths: hupmon's, each beside its floor. */
enum unix_path {
	UP_EPOLL,
	UP_SWEEP,
	UP_COMPARE,
	UP_RAW_EPOLL,
	UP_RAW_POLL,
	UP_COUNT
};

struct unix_path_def {
	const struct bpath *p;
	enum unix_path floor; /* itself for a floor */
	unsigned chosen_by;   /* PATH_BITs of --paths that bring it */
};

extern const struct unix_path_def unix_paths[UP_COUNT];

/* Each act as the closure runs read it (run.c: act, then, expect, round),
 * a row that lives here, not in the registry. */
extern const struct scenario unix_acts[UA_COUNT];

/* What analysis made of one act x path. */
struct unix_row {
	bool failed;		       /* the count check (CK_VISIBILITY) */
	struct dist lat[BENCH_STAGES]; /* µs */
	double r_p50[BENCH_STAGES], r_p99[BENCH_STAGES]; /* over the floor */
};

struct unix_res {
	size_t n;				    /* connections of a run */
	unsigned rounds;			    /* rounds that ran */
	unsigned long long resets, reset_errno_bad; /* library RESETs */
	double wall_s;
	struct cell c[UA_COUNT][UP_COUNT];
	struct unix_row an[UA_COUNT][UP_COUNT]; /* unix_analyse */
};

/* unix.c: what the scenario's ops run (unix_report.c fills them) */
void *unix_run(const struct bctx *x);
void unix_analyse(void *res, const struct bctx *x);
void unix_free(void *res);

/* Its shape, named by its row of the registry (scenarios.c). */
extern const struct scenario_ops unix_ops;

#endif
