/* SPDX-License-Identifier: MIT */
/*
 * scenarios: the registry. One row a scenario: what the client does, which
 * paths run in it (paths.c), what each path must then see (the kernel table
 * in README.md: what epoll, a peek and TCP_INFO show after each act, Linux
 * 6.x, loopback) and its entry points. The driver (main.c) reads it and
 * hands each scenario its own row (struct bctx, struct run); the code a row
 * names never reads the registry, so the registry is above every scenario.
 * The outputs (explain, analyse, report, json, svg), which main calls once
 * the scenarios ran, read the rows' names and expectations here.
 */
#include "abandon.h"
#include "bench.h"
#include "budget.h"
#include "churn.h"
#include "million.h"
#include "silent.h"
#include "soak.h"
#include "stall.h"
#include "unix.h"

#include <stdlib.h>

#define PS    HUPMON_CAUSE_PEER_SHUTDOWN
#define RESET HUPMON_CAUSE_RESET

/* The closure family: every closure kind, burst, idle and interference run
 * rounds of paths on loopback (run.c); scale one round per path to the fd
 * limit (scale.c). Both keep a cell per path (struct closure_res). */
static void closure_free(void *res)
{
	struct closure_res *cr = res;

	for (int p = 0; p < BP_COUNT; p++) {
		struct cell *c = &cr->c[p];

		for (unsigned s = 0; s < BENCH_STAGES; s++) {
			vec_free(&c->lat[s]);
			vec_free(&c->det[s]);
		}
		vec_free(&c->cmp_lag);
	}
	free(cr);
}

static const struct scenario_ops closure_ops = {
	.cells = true,
	.run = closure_run,
	.analyse = closure_analyse,
	.report = closure_report,
	.fails = closure_fails,
	.json = closure_json,
	.plot = closure_plot,
	.free = closure_free,
};

static const struct scenario_ops scale_ops = {
	.cells = true,
	.run = scale_run,
	.analyse = closure_analyse,
	.report = closure_report,
	.fails = closure_fails,
	.json = closure_json,
	.plot = closure_plot,
	.free = closure_free,
};

/* The paths --paths names: each beside its floor in every loopback
 * scenario. */
#define MAIN_PATHS                                                             \
	(PATH_BIT(BP_EPOLL) | PATH_BIT(BP_EPOLL_PROMISE) | PATH_BIT(BP_PEEK) | \
	 PATH_BIT(BP_TCPINFO) | PATH_BIT(BP_COMPARE) |                         \
	 PATH_BIT(BP_RAW_EPOLL) | PATH_BIT(BP_RAW_PEEK) |                      \
	 PATH_BIT(BP_RAW_TCPINFO) | PATH_BIT(BP_RAW_EPOLL_AA))

/* What each row of the visibility table must see (enum vis): the causes of
 * the stages, in order, and those a peek sweep misses by design. */
const struct scenario scenarios[] = {
	{.name = "fin",
	 .does = "close()",
	 .shows = "close(): latency of every path beside its floor",
	 .takes = "~9 s",
	 .ops = &closure_ops,
	 .round = closure_round,
	 .act = act_close,
	 .paths = MAIN_PATHS,
	 .expect = {{.cause = {PS}}, {.cause = {PS}}}},
	{.name = "rst",
	 .does = "SO_LINGER {1,0} + close() (RST)",
	 .shows = "an RST: latency per path, reported as reset",
	 .takes = "~8 s",
	 .ops = &closure_ops,
	 .round = closure_round,
	 .act = act_rst,
	 .paths = MAIN_PATHS,
	 .expect = {{.cause = {RESET}}, {.cause = {RESET}}}},
	{.name = "half",
	 .does = "shutdown(SHUT_WR)",
	 .shows = "shutdown(SHUT_WR): a half-close is a hangup too",
	 .takes = "~8 s",
	 .ops = &closure_ops,
	 .round = closure_round,
	 .act = act_half,
	 .paths = MAIN_PATHS,
	 .expect = {{.cause = {PS}}, {.cause = {PS}}}},
	{.name = "datafin",
	 .does = "send 16 B never read, then close()",
	 .shows = "unread data, then FIN: the peek sweep misses "
		  "it",
	 .takes = "~8 s",
	 .ops = &closure_ops,
	 .round = closure_round,
	 .act = act_datafin,
	 .paths = MAIN_PATHS,
	 .expect = {{.cause = {PS}}, {.cause = {PS}, .miss_ok = {true}}}},
	{.name = "escalate",
	 .does = "close(); server sends 1 B; client answers "
		 "RST",
	 .stage2 = "escalate:rst",
	 .shows = "FIN, then the RST it provokes: peek misses "
		  "the RST",
	 .takes = "~22 s",
	 .ops = &closure_ops,
	 .round = closure_round,
	 .act = act_close,
	 .then = act_escalate,
	 .paths = MAIN_PATHS,
	 .expect = {{.cause = {PS, RESET}},
		    {.cause = {PS, RESET}, .miss_ok = {false, true}}}},
	{.name = "burst",
	 .does = "close() all N back to back",
	 .shows = "all N closed at once: first act to last report",
	 .takes = "~4 s",
	 .ops = &closure_ops,
	 .round = closure_round,
	 .act = act_close,
	 .table = TB_BURST,
	 .paths = MAIN_PATHS,
	 .expect = {{.cause = {PS}}, {.cause = {PS}}},
	 .burst = true},
	{.name = "idle",
	 .does = "nothing: CPU and wakeups of watching N live "
		 "sockets",
	 .shows = "N quiet sockets watched: CPU and wakeups per "
		  "second",
	 .takes = "~17 s",
	 .ops = &closure_ops,
	 .round = idle_round,
	 .table = TB_IDLE,
	 .paths = MAIN_PATHS,
	 .quick_off = true,
	 .window = true},
	{.name = "interference",
	 .does = "close() paced, N large, sweep on vs off",
	 .shows = "epoll latency with a sweep beside it, N 4000",
	 .takes = "~17 s",
	 .ops = &closure_ops,
	 .round = closure_round,
	 .act = act_close,
	 .table = TB_INTERF,
	 .paths = PATH_BIT(BP_EPOLL) | PATH_BIT(BP_RAW_EPOLL) |
		  PATH_BIT(BP_EPOLL_UNDER_TCPINFO) |
		  PATH_BIT(BP_EPOLL_UNDER_PEEK),
	 .always = PATH_BIT(BP_EPOLL) | PATH_BIT(BP_RAW_EPOLL),
	 .expect = {{.cause = {PS}}, {.cause = {PS}}},
	 .n = 4000,
	 .n_quick = 500,
	 .optional = true,
	 .det_latency = true},
	{.name = "scale",
	 .does = "close() paced; clients in a child, N to the fd "
		 "limit",
	 .shows = "N to the fd limit: watch cost, bytes/socket, "
		  "latency",
	 .takes = "~87 s",
	 .ops = &scale_ops,
	 .round = scale_round,
	 .table = TB_SCALE,
	 .paths = MAIN_PATHS,
	 .expect = {{.cause = {PS}}, {.cause = {PS}}},
	 .n = SIZE_MAX, /* up to the fd limit */
	 .n_quick = 2000,
	 .optional = true,
	 .child = true},

	{
		.name = "abandon",
		.does = "HTTP clients give up on "
			"hupmon-serve's work",
		.shows = "HTTP server cancelling work of "
			 "clients that "
			 "left",
		.takes = "~84 s",
		.ops = &abandon_ops,
		.paths = PATH_BIT(BP_EPOLL) | PATH_BIT(BP_TCPINFO) |
			 PATH_BIT(BP_COMPARE),
		.expect_text = {"no false cancel, no lost response",
				"(not run)"},
		.n = 64,
		.n_quick = 16,
		.optional = true,
		.quick_on = true,
	},
	{
		.name = "silent",
		.does = "client's link down in its netns: no FIN/RST "
			"(root)",
		.shows = "peer vanishes (root): keepalive/user timeout "
			 "vs bound",
		.takes = "~22 s",
		.ops = &silent_ops,
		.closes_max = 32,
		.paths = PATH_BIT(BP_EPOLL) | PATH_BIT(BP_TCPINFO) |
			 PATH_BIT(BP_BOTH),
		.expect = {{.cause = {HUPMON_CAUSE_TIMEOUT}}},
		.expect_text = {"timeout if keepalive/user timeout, "
				"else none",
				"(not run)"},
		.optional = true,
	},
	{.name = "soak",
	 .does = "churn for --soak-s: every closure, RST after "
		 "FIN, cut, live",
	 .shows = "--soak-s of churn: no lost or false report, no "
		  "growth",
	 .takes = "~120 s",
	 .ops = &soak_ops,
	 .paths = PATH_BIT(BP_COMPARE),
	 .always = PATH_BIT(BP_COMPARE),
	 .expect = {{.cause = {PS}}},
	 .expect_text = {"per mode as its scenario; records: "
			 "second",
			 "(not run)"},
	 .n = 9900,
	 .n_quick = 1000,
	 .optional = true,
	 .child = true},
	{
		.name = "stall",
		.does = "client stops reading (half-closed too); link "
			"down; never sent; tbf (root)",
		.shows = "peer stops reading: what only the TCP_INFO "
			 "sweep sees",
		.takes = "~89 s",
		.ops = &stall_ops,
		.paths = PATH_BIT(BP_TCPINFO),
		.expect_text = {"epoll: never; sweep-tcpinfo: stall",
				"(not run: PEEK cannot track stalls)"},
		.optional = true,
	},
	{.name = "budget",
	 .does = "sweep within a 0.2-core CPU budget; epoll "
		 "p99 under it",
	 .shows = "sweep held to 0.2 core: its CPU, epoll p99 "
		  "beside it",
	 .takes = "~28 s",
	 .ops = &budget_ops,
	 .expect_text = {"CPU 0.17-0.23 core; compare: sweep "
			 "misses none",
			 "(not run)"},
	 .n = 19900,
	 .n_quick = 2000,
	 .optional = true,
	 .child = true},
	{.name = "shards",
	 .does = "N split between 1 and 2 budgeted monitors",
	 .shows = "N split over 1 and 2 budgeted monitors: "
		  "capacity",
	 .takes = "~17 s",
	 .ops = &shards_ops,
	 .expect_text = {"sweep capacity per shard count "
			 "(reported)",
			 "(not run)"},
	 .n = 19900,
	 .n_quick = 2000,
	 .optional = true,
	 .child = true},
	{.name = "million",
	 .does = "nothing: 1M synthetic watches; real ones to "
		 "the fd limit",
	 .shows = "1M watches: worst single watch, bytes per "
		  "socket",
	 .takes = "~62 s",
	 .ops = &million_ops,
	 .expect_text = {"worst watch <= 1 ms CPU, <= 64 B/socket",
			 "(not run)"},
	 .n = SIZE_MAX, /* real sockets: up to the fd limit */
	 .n_quick = 2000,
	 .optional = true,
	 .child = true},
	{.name = "churn",
	 .does = "nothing: watch + unwatch of N live sockets vs "
		 "epoll_ctl",
	 .shows = "watch + unwatch cost per socket vs raw "
		  "epoll_ctl",
	 .takes = "~13 s",
	 .ops = &churn_ops,
	 .expect_text = {"(timing only: per-socket cost)", "(not run)"},
	 .optional = true,
	 .child = true},
	{.name = "unix",
	 .does = "Unix stream peers: close, unread, SHUT_WR, RDWR, RD, "
		 "escalation",
	 .shows = "Unix stream peers: each act's cause, beside a raw floor",
	 .takes = "~53 s",
	 .ops = &unix_ops,
	 .paths = PATH_BIT(BP_EPOLL) | PATH_BIT(BP_PEEK) |
		  PATH_BIT(BP_TCPINFO) | PATH_BIT(BP_COMPARE),
	 .always = PATH_BIT(BP_EPOLL),
	 .expect_text = {"per act: unix's paragraph below",
			 "per act: unix's paragraph below"},
	 .optional = true,
	 .conns = true},
};

#define ROWS (sizeof(scenarios) / sizeof(scenarios[0]))
const int scenario_count = ROWS;
_Static_assert(ROWS <= SC_MAX, "raise SC_MAX");
