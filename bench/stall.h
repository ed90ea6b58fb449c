/* SPDX-License-Identifier: MIT */
/*
 * hupmon-bench: the stall scenario's parts. stall.c runs the cases in
 * order, keeping what each measured (struct stall_res), and judges the
 * rows; stall_report.c prints them, their FAIL lines and their JSON;
 * stall_harness.c holds what every case uses (the report log, the
 * monitor, connection pairs, a row); each group of cases is a file of its
 * own: stall_halfclose.c (stalls after a half-close, ours or the peer's)
 * and stall_unsent.c (data that never left, and the live connections that
 * look like it).
 */
#ifndef HUPMON_BENCH_STALL_H
#define HUPMON_BENCH_STALL_H

#include "bench.h"

#include <stdbool.h>
#include <stdint.h>

#define STALL_CONNS  8
#define STALL_PERIOD 100 /* sweep period, ms */

/* One connection of a case: the server end (watched) and the client end,
 * and what was reported of it, timed. */
struct sconn {
	int sfd, cfd;
	hupmon_id id;
	uint64_t t_fail, t_stall, t_rec, t_hup;
	enum hupmon_stall_reason reason;
	enum hupmon_cause cause;
	size_t sent;
	/* tcpi_state and tcpi_notsent_bytes when the first STALLED came */
	unsigned stall_state;
	uint32_t stall_notsent;
};

/* The reports of one monitor: the conns are the watches' user pointers. */
struct slog {
	struct sconn *c;
	unsigned n;
	unsigned stalls, recs, hups, stray;
};

/* A monitor reporting into l (period STALL_PERIOD, stall_ms); dies if it
 * cannot be made. */
hupmon *stall_monitor(struct slog *l, uint32_t stall_ms);
/* Dispatches for ns. */
void stall_dispatch_for(hupmon *m, uint64_t ns);
/* A connection: the client from the lab's client namespace (lab) or
 * loopback, to lfd's port; the server end accepted non-blocking, the
 * client made non-blocking after connect. rcvbuf > 0: the client's
 * SO_RCVBUF, set before connect. 0 or -errno. */
int stall_pair(int lfd, bool lab, uint16_t port, int rcvbuf, int *srv,
	       int *cli);
/* For each of the n conns in turn: its client drains what was sent (3 s at
 * most), and the time from the start of the drain to its RECOVERED goes
 * into rec (a conn that never recovers adds nothing). */
void stall_drain_each(hupmon *m, struct sconn *c, unsigned n, struct vec *rec);
/* The probe-gap bound of m now (ns). */
uint64_t stall_gap_bound(hupmon *m);
#define STALL_MAX_ROWS	 24
#define STALL_MAX_FIGS	 6
#define STALL_MAX_ERRORS 8

/* A figure of a row's note, by its JSON key; prec: its decimals. */
struct stall_fig {
	const char *key;
	double x;
	int prec;
};

/* A row of the table. silent: a case that must give no report (want,
 * reported and the times are not its). note: what the JSON and --wide
 * show; brief: the default table's (at most STALL_BRIEF_MAX columns). */
#define STALL_BRIEF_MAX 21
struct stall_row {
	char name[48];
	char note[128];
	char brief[STALL_BRIEF_MAX + 1];
	bool silent;
	bool untested; /* silent: the case never showed its shape */
	unsigned want, reported, fals;
	double p50_ms, max_ms, bound_ms; /* NAN: no report */
	struct stall_fig fig[STALL_MAX_FIGS];
	unsigned nfig;
	/* analyse: a report missing or false (count), one past its bound
	 * (timing) */
	bool failed, late;
};

/* The bookkeeping lines of one kind of socket (idle, shut-window). */
struct stall_cpu {
	const char *sockets;
	unsigned n, rounds;
	double off_ns, on_ns; /* CPU per probe, medians over rounds */
	/* (on / off - 1) x 100: the median and range of per-round ratios */
	double added_pct, added_min_pct, added_max_pct;
	double tcp_info_8_ns, tcp_info_232_ns; /* getsockopt, medians */
};

/* What the stall scenario measured, and what analysis found wrong in it:
 * reports missing or false, or a case that could not be set up (a count
 * check), and reports later than their bound (a timing check: it follows
 * the machine's load). */
struct stall_res {
	struct stall_row row[STALL_MAX_ROWS];
	unsigned nrow;
	struct stall_cpu cpu[2];
	unsigned ncpu;
	bool lab;			   /* the namespace cases ran */
	char lab_skipped[192];		   /* why not ("": they ran) */
	char error[STALL_MAX_ERRORS][224]; /* cases that could not be set up */
	unsigned nerror;
	unsigned setup_failed; /* such cases (error[] keeps the first) */
	/* analyse */
	unsigned failed, late; /* rows (and setup_failed), count and timing */
};

/* A row: how many of want were reported, p50 and max of v (ns) against
 * bound_ms, and the false reports (stall_analyse judges it). Dies when
 * sr's rows are full. */
struct stall_row *stall_row(const char *name, struct vec *v, double bound_ms,
			    unsigned want, unsigned fals, const char *note,
			    struct stall_res *sr);
/* A row for a case that must give no report: its false reports, and
 * whether it never showed its shape (it then tested nothing). */
struct stall_row *stall_row_silent(const char *name, unsigned fals,
				   bool untested, const char *note,
				   struct stall_res *sr);
/* Adds a figure of its note to row. */
void stall_fig(struct stall_row *row, const char *key, double x, int prec);
/* Sets the row's brief note. */
void stall_brief(struct stall_row *row, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A case that could not be set up: counts a failure, and keeps the
 * message in sr. */
void stall_error(struct stall_res *sr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Closes both ends of every conn. */
void stall_close(struct sconn *c, unsigned n);

/* stall_halfclose.c: the half-closed reader, and our own shutdown behind
 * queued data (loopback). */
void stall_half_closed(const struct bctx *x, bool own_shutdown,
		       struct stall_res *sr);

/* stall_unsent.c: data that never left (root: the lab's server side
 * broken, by a qdisc that drops everything or its link down), and the live
 * connections of the same shape that must stay silent (loopback). */
void stall_never_sent(int lfd, uint16_t port, bool link_down,
		      struct stall_res *sr);
void stall_unsent_lookalikes(const struct bctx *x, struct stall_res *sr);

/* stall.c: what the scenario's ops run (stall_report.c fills them); a
 * result is freed with free(). */
void *stall_run(const struct bctx *x);
void stall_analyse(void *res, const struct bctx *x);

/* Its shape, named by its row of the registry (scenarios.c). */
extern const struct scenario_ops stall_ops;

#endif
