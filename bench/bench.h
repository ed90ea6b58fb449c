/* SPDX-License-Identifier: MIT */
/*
 * hupmon-bench: shared types.
 *
 * A "path" is one way of detecting hangups: a hupmon monitor configured one
 * way (epoll, sweep-peek, sweep-tcpinfo, compare) or a raw, hand-written loop
 * that does the minimum any correct monitor must (raw-epoll, raw-peek,
 * raw-tcpinfo). Every library path is measured beside its raw baseline, on
 * fresh loopback connections of its own, round after round.
 *
 * A "scenario" is one thing measured, and one shape to the driver
 * (main.c): a struct scenario_ops that its own file fills (run, analyse,
 * report, fails, json, plot, free), named by its row of the registry
 * (scenarios.c); what it measured lives behind it (run returns it), not in
 * a struct the scenarios share. The closure family (fin, rst, half,
 * datafin, escalate, burst, idle, interference, scale) is one set of ops
 * over a cell per path (struct closure_res, run.c and the closure_*.c
 * files); silent, soak, abandon, churn, stall, budget, shards and million
 * each have their own.
 *
 * In the closure family a run fills cells (struct cell) with what it
 * measured; closure_analyse() turns them into rows (struct row: ratios,
 * medians, verdicts); every verdict is a check of verdict.h, count or
 * timing, and only verdict.c turns them into the exit status. The text
 * tables, the JSON, the picture and the metrics only print rows.
 */
#ifndef HUPMON_BENCH_H
#define HUPMON_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "lab/clock.h"
#include "hupmon.h"
#include "verdict.h"

#define BENCH_MAX_ROUNDS 64
#define BENCH_STAGES	 2 /* escalate: the FIN, then the RST it provokes */
/* Bit in conn.seen for "a compare record arrived" (causes use bits 1..5). */
#define SEEN_CMP (1u << 7)

/* The registry (scenarios.c) holds at most this many scenarios; a
 * scenario is its index there. */
#define SC_MAX 32

enum bpath_id {
	BP_EPOLL,
	/* the epoll path with unwatch_before_close: no identity reads */
	BP_EPOLL_PROMISE,
	BP_PEEK,
	BP_TCPINFO,
	BP_COMPARE,
	BP_RAW_EPOLL,
	BP_RAW_PEEK,
	BP_RAW_TCPINFO,
	/* A/A control: raw-epoll against itself, in the same rounds (what
	 * a ratio to the floor moves by noise alone); runs with epoll */
	BP_RAW_EPOLL_AA,
	/* interference only: both paths, latency of the epoll path */
	BP_EPOLL_UNDER_TCPINFO,
	BP_EPOLL_UNDER_PEEK,
	/* silent only: both paths, compare off */
	BP_BOTH,
	BP_COUNT
};

/* Which row of the expected-visibility table a path follows. */
enum vis { VIS_EPOLL, VIS_PEEK, VIS_COUNT };

#define PATH_BIT(p) (1u << (p))

struct run;
struct conn;

/* What a path does on one run: a hupmon monitor (lib_ops, lib.c) or a raw
 * loop (the floors: raw_ops, raw.c). open and watch are timed together (scale).
 */
struct path_ops {
	int (*open)(struct run *r); /* the monitor, or the loop's sets */
	int (*watch)(struct run *r, struct conn *c);   /* a server end */
	int (*unwatch)(struct run *r, struct conn *c); /* a server end */
	void (*loop)(struct run *r);		       /* the loop thread */
	void (*stop)(struct run *r); /* makes the loop thread return */
	/* The loop's counters so far (sweep_probes, sweep_overruns,
	 * sweep_lap_worst_ns); true when st is a monitor's own snapshot. */
	bool (*counters)(struct run *r, struct hupmon_stats *st);
	void (*close)(struct run *r);
};

extern const struct path_ops lib_ops, raw_ops, raw_poll_ops;

struct bpath {
	const char *name;
	const char *what;   /* one line for the legend */
	const char *colour; /* its curves */
	/* their stroke-dasharray (NULL: solid): a floor's dotted, a sweep's
	 * other method dashed, so the two sweeps differ without colour */
	const char *dash;
	const struct path_ops *ops;
	unsigned paths; /* a monitor's config.paths */
	/* how a sweep probes; HUPMON_SWEEP_DEFAULT: it does not sweep */
	enum hupmon_sweep_method method;
	bool compare;	     /* a monitor's compare mode */
	bool promise;	     /* a monitor's unwatch_before_close */
	enum bpath_id floor; /* latency floor; itself for a floor */
	/* CPU and per-probe floors, PATH_BITs (0: the floor). Compare mode
	 * sweeps too, so its CPU is set against raw-epoll + raw-tcpinfo and
	 * its probes against raw-tcpinfo. */
	unsigned cpu_floors, probe_floors;
	enum vis vis;
	bool epoll_time; /* latency = the epoll path's time (compare recs) */
	bool hidden;	 /* not named in --paths: it runs ... */
	unsigned with;	 /* ... when one of these PATH_BITs is chosen */
};

extern const struct bpath bench_paths[BP_COUNT];

static inline bool sweeps(const struct bpath *p)
{
	return p->method != HUPMON_SWEEP_DEFAULT;
}

struct bopts {
	size_t n;	 /* connections per run */
	bool n_set;	 /* --n given */
	unsigned closes; /* closures per scenario and path, over all rounds */
	bool closes_set; /* --closes given (silent: connections per case) */
	unsigned rounds; /* rounds per scenario */
	unsigned period_ms, tick_ms; /* a sweep's */
	unsigned pace_us;	     /* mean gap between two closures */
	unsigned idle_ms;	     /* length of one idle round */
	/* after watching, before the first act: 0 means 2 periods + 2 ms
	 * for paths that sweep, 2 ms for the others */
	unsigned settle_ms;
	unsigned soak_s; /* soak: seconds of churn */
	bool sweep_set;	 /* --period-ms or --tick-ms given */
	unsigned long long seed;
	bool quick, explain, help;
	bool wide;	    /* every column of every table (default: <= 100) */
	bool strict_timing; /* timing misses fail too (verdict.h) */
	bool scen[SC_MAX];  /* by registry index */
	bool path[BP_COUNT];
	const char *json, *svg, *metrics;
	FILE *json_f, *svg_f, *metrics_f; /* opened before the run */
	unsigned abandon_ms, abandon_pct; /* abandon: round length, share */
	enum hupmon_format metrics_format;
	unsigned fd_hard; /* RLIMIT_NOFILE hard limit */
};

/* One connection: the client end acts, the server end is watched. */
struct conn {
	int cfd;       /* client end; -1 once closed or held by the child */
	int sfd;       /* server end (watched) */
	uint16_t port; /* client's port, names the connection to the child */
	bool acted;    /* the client acted (set before t_act, main thread) */
	hupmon_id id;
	uint64_t t_act[BENCH_STAGES]; /* CLOCK_MONOTONIC just before the act */
	_Atomic unsigned seen;	      /* bit per cause reported, SEEN_CMP */
	/* by cause, written by the loop thread, read once it is joined */
	uint32_t nrep[HUPMON_CAUSE_COUNT];
	uint64_t t_cb[HUPMON_CAUSE_COUNT];    /* clock at the callback */
	uint64_t t_det[HUPMON_CAUSE_COUNT];   /* ev->detected_ns */
	uint64_t t_epoll[HUPMON_CAUSE_COUNT]; /* epoll path (compare) */
	uint8_t top;			      /* highest cause reported */
	uint8_t by;	   /* lib: the path of the first report */
	int error;	   /* lib: the error of the last report */
	bool order_bad;	   /* a report no kernel sends: a lower cause after a
			     higher one, no cause, a timeout but not ETIMEDOUT */
	uint32_t misattr;  /* event whose id or fd is not this conn's */
	uint8_t raw_level; /* raw loops: ladder level reported so far */
};

/* A growable array of nanosecond samples. */
struct vec {
	uint64_t *v;
	size_t n, cap;
};

/* The figures of one round of one path, by name (NAN: not measured). The
 * latency figures come in pairs, one per stage: fig_stage(FIG_P50, s). */
enum fig {
	FIG_P50,	/* latency, ns, first stage */
	FIG_P50_STAGE2, /* second stage */
	FIG_P99,
	FIG_P99_STAGE2,
	FIG_P90,
	FIG_P90_STAGE2,
	FIG_CPU_MS,    /* RUSAGE_SELF delta */
	FIG_LOOP_MS,   /* the loop thread's CPU in the window */
	FIG_NS_PROBE,  /* loop thread CPU / probes */
	FIG_SPAN_MS,   /* burst: first action to last detection */
	FIG_CPU_PER_S, /* idle: CPU ms per second */
	FIG_WAKE_S,    /* idle: loop wakeups per second */
	FIG_WATCH_NS,  /* scale: per socket */
	FIG_UNWATCH_NS,
	FIG_STATS_NS,	/* scale: median hupmon_stats + Prometheus format */
	FIG_BYTES_SOCK, /* scale: the monitor's heap bytes per socket */
	/* a monitor's SO_COOKIE and SO_ERROR reads per hangup report, of
	 * the path(s) that reported */
	FIG_COOKIE_REP,
	FIG_ERROR_REP,
	FIG_COUNT
};

static inline enum fig fig_stage(enum fig f, unsigned stage)
{
	return (enum fig)(f + stage);
}

/* Everything measured for one scenario x path, summed over rounds. */
/* A report that never came, as the FAIL line shows it (the first few of a
 * cell): which connection and stage, and what that connection did get. */
struct miss_note {
	unsigned round;
	uint32_t conn;		    /* index in the run */
	uint8_t stage;		    /* 0: the first */
	uint8_t want, top;	    /* the cause missed; the highest got */
	uint64_t top_ns, stage2_ns; /* from the act to the report of top,
				     * to the second stage's act; 0: none */
};
#define CELL_NOTES 4

struct cell {
	bool ran;
	unsigned rounds;
	size_t n; /* connections of a run */
	unsigned long long seen[BENCH_STAGES], miss[BENCH_STAGES];
	unsigned long long xmiss[BENCH_STAGES]; /* expected misses */
	unsigned long long acted, fals, dup, wrong;
	unsigned long long errors;    /* watch or loop failures */
	struct vec lat[BENCH_STAGES]; /* action to callback */
	struct vec det[BENCH_STAGES]; /* action to ev->detected_ns */
	double fig[BENCH_MAX_ROUNDS][FIG_COUNT];
	double cpu_ms, loop_cpu_ms, wall_ms;
	unsigned long long probes, wakeups, overruns, lap_worst_ns;
	/* compare records: who saw it first, the other never did, they
	 * disagree on the cause */
	unsigned long long cmp_epoll, cmp_sweep, cmp_missed, cmp_disagree;
	unsigned long long cmp_norecord; /* reported, without a record */
	struct vec cmp_lag;
	bool have_stats;
	struct hupmon_stats stats; /* the last round's monitor */
	struct miss_note notes[CELL_NOTES];
	unsigned nnotes;
};

/* A distribution of samples, in the unit asked for (NAN: no sample). */
struct dist {
	size_t n;
	double min, p50, p90, p99, max;
};

/* What analysis made of one scenario x path; every output reads it. */
struct row {
	bool failed;
	struct dist lat[BENCH_STAGES], det[BENCH_STAGES]; /* µs */
	double r_p50[BENCH_STAGES], r_p99[BENCH_STAGES];  /* over the floor */
	double r_p90[BENCH_STAGES];
	double cookie_rep, error_rep; /* medians over rounds */
	double r_cpu;	  /* loop CPU (window: CPU per s) over the CPU floor */
	bool r_cpu_noise; /* window: floor under 1 ms/s, no ratio to show */
	double ns_probe, r_probe;
	double span_ms, r_span;	   /* burst: medians over rounds */
	double cpu_per_s, wake_s;  /* window: medians over rounds */
	double probes_per_s;	   /* over the wall time */
	double r_watch, r_unwatch; /* scale: over raw-epoll */
	struct dist lag;	   /* µs */
};

/* What the scale and soak child does to a client end (conn.c: FIN, RST,
 * half-close, data-then-FIN); DROP closes an end an act left open (half)
 * or never touched, timing nothing. */
enum child_how { HOW_FIN, HOW_RST, HOW_HALF, HOW_DATAFIN, HOW_DROP };

/* What the closure family (every scenario of bench_closure_ops and
 * scale_ops) measured: a cell per path, and analyse's row of it. */
struct closure_res {
	struct cell c[BP_COUNT];
	struct row an[BP_COUNT]; /* closure_analyse() */
};

/* One run: one path on fresh connections for one round of one scenario. */
struct run {
	const struct bopts *o;
	const struct bpath *p;
	int sc;			  /* its index in the registry */
	const struct scenario *s; /* its row (struct bctx) */
	struct cell *cell; /* the loop thread adds compare records to it */
	struct conn *c;
	size_t n;
	struct child *child; /* scale: holds the client ends */
	pthread_t thr;
	atomic_bool stop;
	hupmon *m;
	struct raw *raw;
	/* the loop thread counts; others may read (idle snapshots) */
	_Atomic uint64_t wakeups, probes;
	uint64_t loop_cpu_ns; /* the loop thread's CPU, set when it ends */
	_Atomic uint64_t raw_overruns, raw_lap_worst_ns; /* raw sweeps */
	/* what was counted before the measured window (idle) */
	uint64_t wakeups0, probes0, cpu0_ns;
	int loop_err;
	uint64_t stray; /* reports whose user is none of this run's conns */
};

/* util.c */
double self_cpu_ms(void);
void sleep_ns(uint64_t ns);
uint64_t rng_next(uint64_t *state);
/* 0 .. n-1 in a random order (free it). */
size_t *shuffled(size_t n, uint64_t *state);
int vec_push(struct vec *v, uint64_t x);
void vec_free(struct vec *v);
/* Nearest-rank percentile of v (sorted in place), NAN if empty. */
double vec_pct(struct vec *v, double pct);
/* The same of a v already sorted (closure_analyse, dist_of sort theirs). */
double pct_sorted(const struct vec *v, double pct);
/* The distribution of v (sorted in place), each sample divided by unit. */
struct dist dist_of(struct vec *v, double unit);
/* d as a JSON object under key: count, p50, p90, p99, max. */
struct jw;
void dist_json(struct jw *w, const char *key, const struct dist *d);
double median(double *v, size_t n);
/* Every figure of a round to NAN: not measured (yet). */
void figs_reset(double *fig);
void die(const char *what, int err) __attribute__((noreturn));
void *xcalloc(size_t n, size_t size); /* dies when out of memory */
/* Closes an output file: 0, or -errno of a write or of the close. */
int file_close(FILE *f);

struct scenario;
struct jw;
struct plot;

/* What every step of one scenario shares. The driver (main.c) reads the
 * registry (scenarios.c) and hands a scenario its own row here: the code a
 * row names never reads the registry. */
struct bctx {
	const struct bopts *o;
	int sc;			  /* its index in the registry */
	const struct scenario *s; /* scenarios[sc] */
	struct verdicts *v;	  /* every check is judged into it */
	int lfd;		  /* loopback listener */
	uint16_t port;
	/* report: the previous scenario printed (or not) the same table, so
	 * this one prints the title and the header (or only its rows) */
	bool head;
};

/* What a scenario is to the driver: one of these, filled in the scenario's
 * own file and named by its row of the registry. run measures and returns
 * what it measured (allocated; it dies when out of memory), which only the
 * scenario's own functions read; the driver calls analyse once every
 * chosen scenario ran, then report, fails, json and plot (each may be NULL:
 * nothing of that kind to show), and free. */
struct scenario_ops {
	/* --explain's paragraph: what it does and how it is judged (NULL:
	 * the visibility table says it all) */
	const char *explain;
	bool cells; /* the closure family: what run returns is a closure_res */
	void *(*run)(const struct bctx *x);
	/* its figures from its samples, its checks (x->v) */
	void (*analyse)(void *res, const struct bctx *x);
	/* its table(s) on stdout: at most 100 columns unless x->o->wide */
	void (*report)(FILE *f, const void *res, const struct bctx *x);
	/* a FAIL line per failed count check, for the end of the report */
	void (*fails)(FILE *f, const void *res, const struct bctx *x);
	/* the members of its JSON object (the driver opens and closes it,
	 * under the scenario's name): every figure, count and verdict */
	void (*json)(struct jw *w, const void *res, const struct bctx *x);
	/* its latency distributions as curves of the picture (svg.c) */
	void (*plot)(struct plot *pl, const void *res, const struct bctx *x);
	void (*free)(void *res);
};

struct expect {
	enum hupmon_cause cause[BENCH_STAGES]; /* NONE: no such stage */
	bool miss_ok[BENCH_STAGES];	       /* a miss is expected */
};

/* The text tables of the closure family: a closure-family scenario prints
 * its rows into one of them (closure_report.c), below the previous
 * scenario's when they share it. */
enum table { TB_CLOSURES, TB_BURST, TB_IDLE, TB_INTERF, TB_SCALE };

/* A row of the registry (scenarios.c): what a scenario is, and its entry
 * points. */
struct scenario {
	const char *name;
	const char *does; /* what the client does (--explain) */
	/* --help's line of it (usage.c): what a reader learns from it, and
	 * its run time at the defaults (measured, "~9 s") */
	const char *shows, *takes;
	const char *stage2; /* the second stage's row name */
	const struct scenario_ops *ops;
	/* run_one: one round of one path on fresh connections */
	void (*round)(struct run *r, unsigned round);
	void (*act)(struct conn *c); /* the client's act */
	/* the second stage, once the first is seen or wait_ns passed (then
	 * it returns false) */
	bool (*then)(struct conn *c, uint64_t wait_ns, uint64_t delay_ns);
	enum table table;
	unsigned paths;	 /* PATH_BITs that can run in it */
	unsigned always; /* PATH_BITs that run whatever --paths says */
	struct expect expect[VIS_COUNT];
	const char *expect_text[VIS_COUNT]; /* --explain, if not expect */
	size_t n, n_quick; /* connections when --n is not given (0: --n) */
	bool optional;	   /* runs only when named */
	bool quick_off;	   /* --quick leaves it out unless named */
	bool quick_on;	   /* --quick runs it, optional as it is */
	bool cells;  /* the closure family: its results are a closure_res */
	bool burst;  /* all N acted back to back, unpaced */
	bool window; /* measures a fixed-length window (idle) */
	bool det_latency; /* latency to ev->detected_ns, not the callback */
	bool child;	  /* a child process holds the client ends */
	/* not of the closure family, yet opens conns_for() connections and
	 * acts on --closes of them a round: both are fitted to it */
	bool conns;
	/* --closes means connections per case, at most this (0: closures) */
	unsigned closes_max;
};

/* Read by main.c and the outputs; a scenario gets its row as an argument. */
extern const struct scenario scenarios[];
extern const int scenario_count;

/* What the driver keeps of one chosen scenario: its context and what its
 * run returned. */
struct scen_run {
	bool ran;
	struct bctx x;
	void *res;
	struct verdicts v; /* the checks its run and analyse judged */
};

/* The cells of a closure-family scenario that ran, else NULL. */
static inline const struct closure_res *cells_of(const struct scen_run *r)
{
	return r->ran && r->res && r->x.s->ops->cells ? r->res : NULL;
}

/* paths.c */
bool is_floor(enum bpath_id p);
/* The name of a scenario's stage (escalate's second is escalate:rst). */
static inline const char *stage_name(const struct scenario *s, unsigned stage)
{
	return stage && s->stage2 ? s->stage2 : s->name;
}

/* conn.c */
/* Binds fd (or returns it: < 0, -errno) to addr, any port, and listens;
 * the fd, or -errno with fd closed. */
int listener_open(int fd, const char *addr, int backlog, uint16_t *port);
struct child;
size_t conns_open(int lfd, uint16_t port, struct child *ch, struct conn *c,
		  size_t n, int *err);
void conns_close(struct conn *c, size_t n);
/* A report on c (lib.c, raw.c, soak.c): its cause and when it was detected. */
void bench_record(struct conn *c, enum hupmon_cause cause, uint64_t det_ns);
void act_close(struct conn *c);
void act_rst(struct conn *c);
void act_half(struct conn *c);
void act_datafin(struct conn *c);
bool act_escalate(struct conn *c, uint64_t wait_ns, uint64_t delay_ns);
struct child *child_start(uint16_t port);
void child_act(struct child *ch, struct conn *c, enum child_how how);
void child_end(struct child *ch);

/* run.c */
int path_watch(struct run *r);
int path_unwatch(struct run *r);
void loop_start(struct run *r);
void loop_stop(struct run *r);
/* The measured window: k acts on the connections in a seeded random order,
 * paced, then the wait for their reports; into r->cell->fig[round]. */
void run_closures(struct run *r, unsigned round, size_t k);
void run_order(const struct scenario *s, const struct bopts *o, unsigned round,
	       enum bpath_id *out, size_t *n);
void run_one(const struct bctx *x, struct closure_res *cr, enum bpath_id pid,
	     unsigned round);
/* Every round of the scenario over its paths: a struct closure_res. */
void *closure_run(const struct bctx *x);
/* Connections of a run: --n or the scenario's own, within the fd limit. */
size_t conns_for(const struct bopts *o, const struct scenario *s);
void closure_round(struct run *r, unsigned round);
void idle_round(struct run *r, unsigned round);

/* scale.c */
void scale_round(struct run *r, unsigned round);
void *scale_run(const struct bctx *x); /* one round per path */

/* expect.c */
/* Adds a joined run's outcome to its cell (and fig[round]). */
void eval_run(const struct run *r, unsigned round);
/* Connections still owed a visible report (or a compare record). */
size_t pending(const struct run *r, const size_t *idx, size_t k);

/* The closure family's steps (closure_analyse.c, closure_report.c,
 * closure_json.c, closure_plot.c), on a struct closure_res. */
void closure_analyse(void *res, const struct bctx *x);
void closure_report(FILE *f, const void *res, const struct bctx *x);
void closure_fails(FILE *f, const void *res, const struct bctx *x);
void closure_json(struct jw *w, const void *res, const struct bctx *x);
/* A cell's stage s, round by round: "rounds": [{p50_us, p90_us, p99_us}]
 * (closure_json.c; unix_report.c's cells are the family's too). */
void cell_rounds_json(struct jw *w, const struct cell *c, unsigned s);
void closure_plot(struct plot *pl, const void *res, const struct bctx *x);

/* explain.c: --explain */
void explain(FILE *f);

/* options.c: the command line into o, or exit 2 with "bad --X: value
 * (why)" before any work; then, with the fd limit raised, what it allows
 * (and the output files opened). */
int options_parse(struct bopts *o, int argc, char **argv); /* -EINVAL: an
							       unknown option */
void options_fit(struct bopts *o);
/* "min..max" of a number option into buf, NULL if it takes none. */
const char *option_range(const char *name, char *buf, size_t len);

/* json.c: the --json document: the summary, the machine, the options,
 * every scenario that ran under its name, the verdicts. */
int write_json(FILE *f, const struct bopts *o, const struct scen_run *runs,
	       const struct verdicts *v);
/* metrics.c: --metrics, one monitor's counters */
int write_metrics(FILE *f, enum hupmon_format fmt, const struct scen_run *runs);

/* Prints --help to f and exits with status (usage.c). */
void __attribute__((noreturn)) usage(FILE *f, int status);

#endif
