/* SPDX-License-Identifier: MIT */
/*
 * paths: the path table. A path is what detects: its operations (lib_ops,
 * lib.c: a hupmon monitor; raw_ops, raw.c: a floor), its monitor's
 * configuration, its floors, its legend. Data only: whatever runs a path
 * reads its row; the ops it names never read the table back.
 */
#include "bench.h"

/* The picture (svg.c): a path's curve is solid, its floor's dotted in the
 * same colour; sweep-tcpinfo is dashed so that it and sweep-peek, whose
 * curves nearly coincide, tell apart without colour. The colours are the
 * Okabe-Ito palette, told apart by colour-blind readers too. */
#define FLOOR_DASH "2 3"

const struct bpath bench_paths[BP_COUNT] = {
	[BP_EPOLL] = {.name = "epoll",
		      .what = "hupmon, epoll path only",
		      .colour = "#0072b2",
		      .ops = &lib_ops,
		      .paths = HUPMON_PATH_EPOLL,
		      .floor = BP_RAW_EPOLL},
	[BP_EPOLL_PROMISE] = {.name = "epoll-promise",
			      .what = "hupmon, epoll path only, "
				      "unwatch_before_close (no identity read)",
			      .colour = "#56b4e9",
			      .ops = &lib_ops,
			      .paths = HUPMON_PATH_EPOLL,
			      .promise = true,
			      .floor = BP_RAW_EPOLL},
	[BP_PEEK] = {.name = "sweep-peek",
		     .what = "hupmon, sweep path, MSG_PEEK probes",
		     .colour = "#d55e00",
		     .ops = &lib_ops,
		     .paths = HUPMON_PATH_SWEEP,
		     .method = HUPMON_SWEEP_PEEK,
		     .floor = BP_RAW_PEEK,
		     .vis = VIS_PEEK},
	[BP_TCPINFO] = {.name = "sweep-tcpinfo",
			.what = "hupmon, sweep path, TCP_INFO probes",
			.colour = "#009e73",
			.dash = "9 3",
			.ops = &lib_ops,
			.paths = HUPMON_PATH_SWEEP,
			.method = HUPMON_SWEEP_TCP_INFO,
			.floor = BP_RAW_TCPINFO},
	[BP_COMPARE] = {.name = "compare",
			.what = "hupmon, both paths (TCP_INFO sweep), compare "
				"mode",
			.colour = "#cc79a7",
			.ops = &lib_ops,
			.paths = HUPMON_PATHS_BOTH,
			.method = HUPMON_SWEEP_TCP_INFO,
			.compare = true,
			.floor = BP_RAW_EPOLL,
			.cpu_floors = PATH_BIT(BP_RAW_EPOLL) |
				      PATH_BIT(BP_RAW_TCPINFO),
			.probe_floors = PATH_BIT(BP_RAW_TCPINFO)},
	[BP_RAW_EPOLL] = {.name = "raw-epoll",
			  .what = "floor: minimal epoll-ET loop",
			  .colour = "#0072b2",
			  .dash = FLOOR_DASH,
			  .ops = &raw_ops,
			  .floor = BP_RAW_EPOLL},
	[BP_RAW_PEEK] = {.name = "raw-peek",
			 .what = "floor: minimal timerfd peek sweep",
			 .colour = "#d55e00",
			 .dash = FLOOR_DASH,
			 .ops = &raw_ops,
			 .method = HUPMON_SWEEP_PEEK,
			 .floor = BP_RAW_PEEK,
			 .vis = VIS_PEEK},
	[BP_RAW_TCPINFO] = {.name = "raw-tcpinfo",
			    .what = "floor: minimal timerfd TCP_INFO sweep",
			    .colour = "#009e73",
			    .dash = FLOOR_DASH,
			    .ops = &raw_ops,
			    .method = HUPMON_SWEEP_TCP_INFO,
			    .floor = BP_RAW_TCPINFO},
	[BP_RAW_EPOLL_AA] = {.name = "raw-epoll-aa",
			     .what = "A/A control: raw-epoll against itself "
				     "(the ratios' noise)",
			     .colour = "#7f7f7f",
			     .dash = FLOOR_DASH,
			     .ops = &raw_ops,
			     .floor = BP_RAW_EPOLL,
			     .hidden = true,
			     .with = PATH_BIT(BP_EPOLL) |
				     PATH_BIT(BP_EPOLL_PROMISE)},
	[BP_EPOLL_UNDER_TCPINFO] = {.name = "epoll+tcpinfo",
				    .what = "epoll path's time while a "
					    "TCP_INFO sweep walks all N "
					    "(compare mode)",
				    .colour = "#e69f00",
				    .ops = &lib_ops,
				    .paths = HUPMON_PATHS_BOTH,
				    .method = HUPMON_SWEEP_TCP_INFO,
				    .compare = true,
				    .floor = BP_EPOLL,
				    .epoll_time = true,
				    .hidden = true,
				    .with = PATH_BIT(BP_TCPINFO) |
					    PATH_BIT(BP_COMPARE)},
	[BP_EPOLL_UNDER_PEEK] = {.name = "epoll+peek",
				 .what = "epoll path's time while a peek "
					 "sweep walks all N (compare mode)",
				 .colour = "#8c564b",
				 .dash = "9 3",
				 .ops = &lib_ops,
				 .paths = HUPMON_PATHS_BOTH,
				 .method = HUPMON_SWEEP_PEEK,
				 .compare = true,
				 .floor = BP_EPOLL,
				 .epoll_time = true,
				 .hidden = true,
				 .with = PATH_BIT(BP_PEEK)},
	[BP_BOTH] = {.name = "both",
		     .what = "hupmon, both paths (TCP_INFO sweep), compare off",
		     .colour = "#17becf",
		     .ops = &lib_ops,
		     .paths = HUPMON_PATHS_BOTH,
		     .method = HUPMON_SWEEP_TCP_INFO,
		     .floor = BP_RAW_EPOLL,
		     .cpu_floors =
			     PATH_BIT(BP_RAW_EPOLL) | PATH_BIT(BP_RAW_TCPINFO),
		     .probe_floors = PATH_BIT(BP_RAW_TCPINFO),
		     .hidden = true},
};

bool is_floor(enum bpath_id p)
{
	return bench_paths[p].floor == p;
}
