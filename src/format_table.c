/* SPDX-License-Identifier: MIT */
/*
 * format_table: the descriptor tables (every counter once: JSON key, text
 * label, Prometheus family and help, where it sits in the snapshot), the
 * names of the public enums, and the appender the renderings write with.
 * Pure: no allocation, no lock, no syscall.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "format_table.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *hupmon_cause_name(enum hupmon_cause cause)
{
	switch (cause) {
	case HUPMON_CAUSE_PEER_SHUTDOWN:
		return "peer_shutdown";
	case HUPMON_CAUSE_HANGUP:
		return "hangup";
	case HUPMON_CAUSE_RESET:
		return "reset";
	case HUPMON_CAUSE_TIMEOUT:
		return "timeout";
	case HUPMON_CAUSE_ERROR:
		return "error";
	default:
		return "none";
	}
}

const char *hupmon_path_name(enum hupmon_path path)
{
	switch (path) {
	case HUPMON_PATH_EPOLL:
		return "epoll";
	case HUPMON_PATH_SWEEP:
		return "sweep";
	default:
		return "none";
	}
}

const char *hupmon_stall_reason_name(enum hupmon_stall_reason r)
{
	switch (r) {
	case HUPMON_STALL_REASON_ZERO_WINDOW:
		return "zero_window";
	case HUPMON_STALL_REASON_NO_ACK:
		return "no_ack";
	default:
		return "none";
	}
}

const char *hupmon_reject_name(unsigned reject)
{
	static const char *const names[HUPMON_REJECT_COUNT] = {
		[HUPMON_REJECT_EBADF] = "ebadf",
		[HUPMON_REJECT_ENOTSOCK] = "enotsock",
		[HUPMON_REJECT_EINVAL] = "einval",
		[HUPMON_REJECT_EEXIST] = "eexist",
		[HUPMON_REJECT_ENOMEM] = "enomem",
		[HUPMON_REJECT_OTHER] = "other",
	};

	return reject < HUPMON_REJECT_COUNT ? names[reject] : "unknown";
}

void hupmon__format_printf(struct out *o, const char *fmt, ...)
{
	char *dst = NULL;
	size_t room = 0;
	va_list ap;
	int n;

	if (o->pos < o->len) {
		dst = o->buf + o->pos;
		room = o->len - o->pos;
	}
	va_start(ap, fmt);
	n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->failed = true;
		return;
	}
	o->pos += (size_t)n;
}

struct num hupmon__format_seconds(uint64_t ns)
{
	struct num r;
	uint64_t frac = ns % 1000000000u;
	int n;

	if (!frac) {
		snprintf(r.s, sizeof(r.s), "%" PRIu64, ns / 1000000000u);
		return r;
	}
	n = snprintf(r.s, sizeof(r.s), "%" PRIu64 ".%09" PRIu64,
		     ns / 1000000000u, frac);
	while (n > 0 && r.s[n - 1] == '0')
		r.s[--n] = '\0';
	return r;
}

/*
 * The scalar fields, one table per section, shared by the three renderings
 * so a field cannot be shown under one name and exported under another.
 */
#define FIELD(f) offsetof(struct hupmon_stats, f)

static const struct scalar sockets[] = {
	{"watched", "watched", "watched_sockets", "Sockets watched now.",
	 FIELD(watched), true, UNIT_COUNT},
	{"watched_tcp", "watched tcp", "watched_tcp_sockets",
	 "TCP sockets watched now.", FIELD(watched_tcp), true, UNIT_COUNT},
	{"watched_unix", "watched unix", "watched_unix_sockets",
	 "Unix-domain stream and seqpacket sockets watched now.",
	 FIELD(watched_unix), true, UNIT_COUNT},
	{"swept", "under the sweep", "swept_sockets",
	 "Watched sockets under the sweep path now.", FIELD(swept), true,
	 UNIT_COUNT},
	{"memory_bytes", "memory bytes", "memory_bytes",
	 "Heap memory the library holds now.", FIELD(memory_bytes), true,
	 UNIT_BYTES},
};

static const struct scalar registry[] = {
	{"watches", "watches", "watches_total",
	 "Successful hupmon_watch calls.", FIELD(watches), false, UNIT_COUNT},
	{"unwatches", "unwatches", "unwatches_total",
	 "Successful hupmon_unwatch calls.", FIELD(unwatches), false,
	 UNIT_COUNT},
	{"unwatch_rejected", "unwatch rejected", "unwatch_rejected_total",
	 "Refused hupmon_unwatch calls (unknown or stale id).",
	 FIELD(unwatch_rejected), false, UNIT_COUNT},
	{"retired", "retired", "retired_total",
	 "Watches retired because their fd no longer holds the watched socket.",
	 FIELD(retired), false, UNIT_COUNT},
};

static const struct scalar reports[] = {
	{"escalations", "escalations", "escalations_total",
	 "Hangup reports that raised an earlier cause.", FIELD(escalations),
	 false, UNIT_COUNT},
	{"callbacks", "callbacks", "callbacks_total",
	 "Calls of on_hangup, on_compare and on_stall.", FIELD(callbacks),
	 false, UNIT_COUNT},
};

static const struct scalar epoll[] = {
	{"wakeups", "wakeups", "epoll_wakeups_total",
	 "epoll_wait calls that returned events.", FIELD(epoll_wakeups), false,
	 UNIT_COUNT},
	{"events", "events", "epoll_events_total",
	 "Socket events received from epoll.", FIELD(epoll_events), false,
	 UNIT_COUNT},
	{"stale_events", "stale events", "epoll_stale_events_total",
	 "Events dropped because their socket was unwatched.",
	 FIELD(stale_events), false, UNIT_COUNT},
	{"ignored_events", "ignored events", "epoll_ignored_events_total",
	 "Events that classified as no hangup.", FIELD(ignored_events), false,
	 UNIT_COUNT},
	{"cookie_reads", "cookie reads", "epoll_cookie_reads_total",
	 "SO_COOKIE reads: the fd still holds the socket an event reports.",
	 FIELD(epoll_cookie_reads), false, UNIT_COUNT},
	{"error_reads", "error reads", "epoll_error_reads_total",
	 "SO_ERROR reads: the cause of an error an event reports.",
	 FIELD(epoll_error_reads), false, UNIT_COUNT},
};

static const struct scalar sweep[] = {
	{"ticks", "ticks", "sweep_ticks_total",
	 "Sweep timer expirations handled.", FIELD(sweep_ticks), false,
	 UNIT_COUNT},
	{"probes", "probes", "sweep_probes_total",
	 "Sockets probed by the sweep.", FIELD(sweep_probes), false,
	 UNIT_COUNT},
	{"overruns", "overruns", "sweep_overruns_total",
	 "Sweep slices that took longer than half a tick.",
	 FIELD(sweep_overruns), false, UNIT_COUNT},
	{"piled_up", "piled up", "sweep_piled_up_total",
	 "Sweep timer expirations skipped because they piled up.",
	 FIELD(sweep_piled_up), false, UNIT_COUNT},
	{"laps", "laps", "sweep_laps_total", "Sweep laps completed.",
	 FIELD(sweep_laps), false, UNIT_COUNT},
	{"lap_last_seconds", "last lap", "sweep_lap_last_seconds",
	 "Duration of the last sweep lap.", FIELD(sweep_lap_last_ns), true,
	 UNIT_NS},
	{"lap_worst_seconds", "worst lap", "sweep_lap_worst_seconds",
	 "Duration of the longest sweep lap.", FIELD(sweep_lap_worst_ns), true,
	 UNIT_NS},
	{"slice_worst_seconds", "worst slice", "sweep_slice_worst_seconds",
	 "Duration of the longest sweep slice.", FIELD(sweep_slice_worst_ns),
	 true, UNIT_NS},
	{"tick_seconds", "tick interval", "sweep_tick_seconds",
	 "Current sweep tick interval, 0 while disarmed.", FIELD(sweep_tick_ns),
	 true, UNIT_NS_OR_OFF},
	{"gap_worst_seconds", "worst probe gap", "sweep_gap_worst_seconds",
	 "Longest time a socket waited for a sweep probe.",
	 FIELD(sweep_gap_worst_ns), true, UNIT_NS},
	{"gap_bound_seconds", "probe-gap bound", "sweep_gap_bound_seconds",
	 "Probe-gap bound now: sweep period (the effective lap under a CPU "
	 "budget) plus tick interval, 0 while disarmed.",
	 FIELD(sweep_gap_bound_ns), true, UNIT_NS_OR_OFF},
	{"cookie_reads", "cookie reads", "sweep_cookie_reads_total",
	 "SO_COOKIE reads: the fd still holds the socket a probe looked at.",
	 FIELD(sweep_cookie_reads), false, UNIT_COUNT},
	{"error_reads", "error reads", "sweep_error_reads_total",
	 "SO_ERROR reads: the cause of an error a probe saw.",
	 FIELD(sweep_error_reads), false, UNIT_COUNT},
	{"lap_effective_seconds", "effective lap",
	 "sweep_lap_effective_seconds",
	 "Lap the sweep keeps now: the period, or longer to stay within its "
	 "CPU budget; 0 while disarmed.",
	 FIELD(sweep_lap_effective_ns), true, UNIT_NS_OR_OFF},
};

static const struct scalar stall[] = {
	{"zero_window", "stalled: zero window", "stalls_zero_window_total",
	 "Stall reports: the peer's window shut.",
	 FIELD(stalls[HUPMON_STALL_REASON_ZERO_WINDOW]), false, UNIT_COUNT},
	{"no_ack", "stalled: no ack", "stalls_no_ack_total",
	 "Stall reports: data in flight and no ACK (escalations included).",
	 FIELD(stalls[HUPMON_STALL_REASON_NO_ACK]), false, UNIT_COUNT},
	{"recovered_zero_window", "recovered: zero window",
	 "stall_recoveries_zero_window_total",
	 "Zero-window stall episodes that ended with progress.",
	 FIELD(stall_recoveries[HUPMON_STALL_REASON_ZERO_WINDOW]), false,
	 UNIT_COUNT},
	{"recovered_no_ack", "recovered: no ack",
	 "stall_recoveries_no_ack_total",
	 "No-ACK stall episodes that ended with progress.",
	 FIELD(stall_recoveries[HUPMON_STALL_REASON_NO_ACK]), false,
	 UNIT_COUNT},
	{"escalations", "escalations", "stall_escalations_total",
	 "Zero-window stall episodes that escalated to no-ACK.",
	 FIELD(stall_escalations), false, UNIT_COUNT},
	{"closed_by_hangup", "ended with the connection", "stall_closed_total",
	 "Open stall episodes ended by the connection's end (no recovery).",
	 FIELD(stall_closed), false, UNIT_COUNT},
};

const struct scalars hupmon__format_sockets = {sockets, ARRAY_SIZE(sockets)};
const struct scalars hupmon__format_registry = {registry, ARRAY_SIZE(registry)};
const struct scalars hupmon__format_reports = {reports, ARRAY_SIZE(reports)};
const struct scalars hupmon__format_epoll = {epoll, ARRAY_SIZE(epoll)};
const struct scalars hupmon__format_sweep = {sweep, ARRAY_SIZE(sweep)};
const struct scalars hupmon__format_stall = {stall, ARRAY_SIZE(stall)};

const struct matrix hupmon__format_hangups = {
	"hangups", "hangups", "hangups_total",
	"Hangup reports by the path that reported them and cause.",
	FIELD(hangups)};

const struct matrix hupmon__format_compare[HUPMON__FORMAT_NCOMPARE] = {
	{"first", "first", "compare_first_total",
	 "Compare mode: hangups the path saw first.", FIELD(cmp_first)},
	{"second", "second", "compare_second_total",
	 "Compare mode: hangups the path saw second.", FIELD(cmp_second)},
	{"missed", "missed", "compare_missed_total",
	 "Compare mode: hangups the path missed within the deadline.",
	 FIELD(cmp_missed)},
	{"cut_short", "cut short", "compare_cut_short_total",
	 "Compare mode: hangups seen first by the path and unwatched before "
	 "the other path had its turn.",
	 FIELD(cmp_cut_short)},
};

const struct hist_desc hupmon__format_hists[HUPMON__FORMAT_NHISTS] = {
	{"callback_duration", "callback duration", "callback_duration_seconds",
	 "Time spent in on_hangup, on_compare and on_stall.",
	 FIELD(callback_duration)},
	{"compare_lag", "compare lag", "compare_lag_seconds",
	 "Compare mode: how much later the second path saw a hangup.",
	 FIELD(cmp_lag)},
};
