/* SPDX-License-Identifier: MIT */
/*
 * hupmon: tell a Linux server, as fast as the kernel allows, that the peer of
 * a TCP connection has gone (FIN, RST, half-close, error or silent death).
 *
 * Two detection paths watch each socket:
 *   - the epoll path: the socket sits edge-triggered in the monitor's epoll
 *     set for EPOLLRDHUP|EPOLLHUP|EPOLLERR (never EPOLLIN: no data is read);
 *   - the sweep path: a timerfd in the same epoll set drives "deadline peek"
 *     sweeps that probe every socket once per period, a slice per tick, with
 *     recv(MSG_PEEK|MSG_DONTWAIT) or getsockopt(TCP_INFO).
 * Compare mode keeps both paths on each socket and records which one saw
 * each hangup first and by how much.
 *
 * Conventions
 *   - Every function returns 0, a count, or a negative errno value; none
 *     returns -1 with errno set.
 *   - No global state: everything lives in a struct hupmon.
 *   - hupmon never reads, writes, closes or shuts down a watched fd. It peeks
 *     (PEEK method only), reads TCP_INFO and SO_COOKIE, and by default reads
 *     SO_ERROR once the socket reports an error (see no_touch).
 *   - The user unwatches a socket before closing it. A socket closed while
 *     still watched is never reported as another connection that reuses its
 *     fd number, and no probe touches that other connection: see "fd
 *     reuse" at hupmon_watch().
 *   - One thread dispatches (hupmon_dispatch or hupmon_run); any thread may
 *     watch, unwatch, take stats and stop at the same time.
 *   - Callbacks run on the dispatching thread with no internal lock held.
 *     They may call hupmon_watch, hupmon_unwatch, hupmon_stats,
 *     hupmon_stop and hupmon_free (deferred), but not hupmon_dispatch or
 *     hupmon_run (-EDEADLK).
 *   - Every fd the library creates is close-on-exec.
 *
 * ABI: struct hupmon_config and struct hupmon_stats only ever grow at the
 * end. hupmon_new() and hupmon_stats() are inline wrappers that pass the
 * caller's sizeof, so a program built against an older header keeps working
 * with a newer library (new config fields read as zero: their default).
 */
#ifndef HUPMON_H
#define HUPMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HUPMON_API __attribute__((visibility("default")))
#else
#define HUPMON_API
#endif

#define HUPMON_VERSION_MAJOR  0
#define HUPMON_VERSION_MINOR  1
#define HUPMON_VERSION_PATCH  0
#define HUPMON_VERSION_STRING "0.1.0"
/* One number that grows with every release: major * 10000 + minor * 100 +
 * patch. */
#define HUPMON_VERSION                                                         \
	(HUPMON_VERSION_MAJOR * 10000 + HUPMON_VERSION_MINOR * 100 +           \
	 HUPMON_VERSION_PATCH)

/* The version of the library actually linked, as HUPMON_VERSION_STRING. */
HUPMON_API const char *hupmon_version(void);

typedef struct hupmon hupmon;

/* Identifies one watch: generation << 32 | slot. 0 is never a valid id; an id
 * whose socket was unwatched is stale and never becomes valid again (until
 * its 32-bit generation wraps, 4 billion watches of the same slot later). */
typedef uint64_t hupmon_id;

enum hupmon_path {
	HUPMON_PATH_EPOLL = 1,
	HUPMON_PATH_SWEEP = 2,
};
/* struct hupmon_config.paths: a mask of hupmon_path bits; 0 means both. */
#define HUPMON_PATHS_BOTH (HUPMON_PATH_EPOLL | HUPMON_PATH_SWEEP)
/* Size of the arrays indexed by path in struct hupmon_stats ([0] unused). */
#define HUPMON_PATH_COUNT 3

/*
 * Why the peer is gone, in ascending order. A socket reports each step up
 * this order at most once: PEER_SHUTDOWN, then HANGUP, then one final cause
 * (RESET, TIMEOUT or ERROR, whichever is known first). Never the same cause
 * twice, never a lower cause after a higher one, nothing after a final one.
 */
enum hupmon_cause {
	HUPMON_CAUSE_NONE = 0,
	/* The peer shut down its write side: FIN (close or shutdown(SHUT_WR)).
	 * The connection may still carry data towards the peer. The epoll
	 * path cannot tell this from the application's own shutdown(SHUT_RD)
	 * (both raise EPOLLRDHUP): do not shut down reading on a watched
	 * socket. A socket error without the end of the connection (a soft
	 * ICMP error queued with IP_RECVERR) is not a hangup at all. */
	HUPMON_CAUSE_PEER_SHUTDOWN = 1,
	/* Both directions are shut down and no error is known (for example we
	 * shut down our side too, or no_touch hid the error). */
	HUPMON_CAUSE_HANGUP = 2,
	/* The peer reset the connection: ECONNRESET, or EPIPE after a FIN
	 * (the errno the kernel sets for an RST received in CLOSE_WAIT). */
	HUPMON_CAUSE_RESET = 3,
	/* The kernel gave up: keepalive or TCP_USER_TIMEOUT (ETIMEDOUT). */
	HUPMON_CAUSE_TIMEOUT = 4,
	/* Any other socket error (error holds it). */
	HUPMON_CAUSE_ERROR = 5,
};
/* Naming: *_MAX is the largest value of an enum, *_COUNT the size of an
 * array indexed by it. */
#define HUPMON_CAUSE_MAX   5
#define HUPMON_CAUSE_COUNT (HUPMON_CAUSE_MAX + 1) /* [0] unused */

/* Name of a cause ("peer_shutdown", "hangup", "reset", "timeout", "error"),
 * or "none" for anything else. Never NULL. */
HUPMON_API const char *hupmon_cause_name(enum hupmon_cause cause);
/* Name of a path ("epoll", "sweep"), or "none". Never NULL. */
HUPMON_API const char *hupmon_path_name(enum hupmon_path path);

/* One hangup report, passed to on_hangup. Valid only during the callback. */
struct hupmon_event {
	hupmon_id id;		 /* as returned by hupmon_watch */
	int fd;			 /* the watched fd; -1 if its number no
				    longer holds the socket ("fd reuse") */
	void *user;		 /* as given to hupmon_watch */
	enum hupmon_path path;	 /* the path that saw it */
	enum hupmon_cause cause; /* see enum hupmon_cause */
	int error;		 /* errno behind the cause, 0 if unknown */
	bool escalation;	 /* a higher cause after an earlier report */
	uint64_t detected_ns;	 /* CLOCK_MONOTONIC when the path saw it */
};

typedef void hupmon_callback(const struct hupmon_event *ev, void *arg);

/* Compare mode: the outcome of one hangup seen (or missed) by both paths.
 * An outcome cut short by an unwatch is only counted (stats.cmp_cut_short),
 * never passed to on_compare. */
struct hupmon_compare {
	hupmon_id id;
	int fd;
	void *user;
	enum hupmon_cause cause;	/* the cause reported (first path) */
	enum hupmon_cause second_cause; /* what the second path classified;
					   NONE if it missed */
	enum hupmon_path first;		/* the path that saw it first */
	bool missed;			/* the second path did not see it
					   by the compare deadline */
	uint64_t first_ns;		/* CLOCK_MONOTONIC, first path */
	uint64_t lag_ns;		/* second minus first; 0 if missed */
};

typedef void hupmon_compare_callback(const struct hupmon_compare *rec,
				     void *arg);

enum hupmon_sweep_method {
	HUPMON_SWEEP_DEFAULT = 0, /* TCP_INFO */
	/* getsockopt(TCP_INFO), tcpi_state. Sees data-then-FIN and an RST
	 * after a FIN; changes nothing on a live socket. On state CLOSE it
	 * reads SO_ERROR (unless no_touch) to tell RESET/TIMEOUT/ERROR. */
	HUPMON_SWEEP_TCP_INFO = 1,
	/* recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT): 0 is PEER_SHUTDOWN, an
	 * error is classified like the epoll path, data or EAGAIN is alive.
	 * Blind while unread data sits in the receive queue (a peer that sent
	 * data and then closed looks alive forever), and blind to an RST after
	 * a FIN (once a FIN has arrived recv returns 0 before it looks at the
	 * error). A recv clears the socket's pending error, so this method is
	 * refused (-EINVAL) together with no_touch. Each probe first checks
	 * the socket's identity (see "fd reuse"): two syscalls per probe. A
	 * socket with SO_PEEK_OFF enabled when it is watched (TCP: Linux
	 * 6.9+) is probed with TCP_INFO instead, because every peek would
	 * move the application's peek offset; enabling it after the watch
	 * is not supported with this method. */
	HUPMON_SWEEP_PEEK = 2,
};

/*
 * Silent peer death. A peer whose host died or whose cable was cut sends
 * nothing: no FIN, no RST. Neither epoll nor a sweep can ever see that; only
 * the kernel's own probes can: TCP keepalive, and TCP_USER_TIMEOUT, which
 * bounds how long sent data (or keepalive probes) may stay unacknowledged.
 * When they give up, the socket gets ETIMEDOUT and hupmon reports TIMEOUT.
 *
 * Opt-in: these values are written to the socket with setsockopt() at watch
 * time (SO_KEEPALIVE + TCP_KEEPIDLE/KEEPINTVL/KEEPCNT, TCP_USER_TIMEOUT) and
 * are NOT restored on unwatch. 0 leaves an option as the socket has it.
 * A user timeout alone never fires on an idle connection: nothing is sent,
 * so nothing goes unacknowledged. Pair it with keepalive, or rely on it for
 * connections that have data in flight. Worst-case detection: idle +
 * interval * count with keepalive alone; the user timeout when set (it also
 * cuts keepalive probing short).
 */
/* keepalive_interval_s and keepalive_count need keepalive_idle_s (else
 * -EINVAL). */
struct hupmon_liveness {
	uint32_t keepalive_idle_s;     /* 1..32767; 0: keepalive untouched */
	uint32_t keepalive_interval_s; /* 1..32767; 0: kernel default (75 s) */
	uint32_t keepalive_count;      /* 1..127; 0: kernel default (9) */
	uint32_t user_timeout_ms;      /* 1..INT_MAX; 0: untouched */
};

/*
 * Stalls: what only the TCP_INFO sweep can see (the epoll path never can:
 * nothing changes on the socket until the kernel gives up). A connection
 * is stalled when it had data outstanding or queued at every probe for at
 * least stall_ms with no progress (neither tcpi_bytes_acked nor
 * tcpi_delivered moved). Not a hangup: the watch goes on, and hangups are
 * reported as ever. Each episode is reported once when it begins (STALLED,
 * with its reason), at most once more when a ZERO_WINDOW episode escalates
 * to NO_ACK (the peer stopped answering window probes: escalation set),
 * and once when it ends (RECOVERED, at the first probe that shows
 * progress; a new episode then needs a full stall_ms again).
 *
 * Tracking goes on for as long as the connection can still move data:
 * through PEER_SHUTDOWN (the peer half-closed: we may still send, and a
 * half-closed client that stops reading stalls like any other) and through
 * HANGUP short of the socket's end (our own shutdown after theirs, LAST_ACK:
 * the data and our FIN are still queued). It ends, an open episode without
 * RECOVERED (stats.stall_closed), only when the connection is over: a
 * final cause (RESET, TIMEOUT or ERROR, from either path: the kernel ended
 * it and dropped what was queued), or a TCP_INFO probe that finds the
 * socket in CLOSE (whose sample may still show the progress that ended the
 * episode: then RECOVERED comes first). Unwatch ends it with no report.
 */
enum hupmon_stall_kind {
	HUPMON_STALL_KIND_STALLED = 1,
	HUPMON_STALL_KIND_RECOVERED = 2,
};
enum hupmon_stall_reason {
	HUPMON_STALL_REASON_NONE = 0,
	/* The peer's window is shut (tcpi_snd_wnd 0): alive, not reading. */
	HUPMON_STALL_REASON_ZERO_WINDOW = 1,
	/* Window open and nothing acknowledged: either data unacknowledged
	 * and no ACK for stall_ms (the path or the peer died with our data in
	 * flight), or data that never left (nothing in flight, data queued,
	 * and the kernel failed to send it three times: our own link down, no
	 * route, a qdisc dropping everything). */
	HUPMON_STALL_REASON_NO_ACK = 2,
};
#define HUPMON_STALL_REASON_MAX 2
/* Size of the arrays indexed by reason ([0] unused). */
#define HUPMON_STALL_REASON_COUNT (HUPMON_STALL_REASON_MAX + 1)

/* Name of a stall reason ("zero_window", "no_ack"), or "none". Never NULL. */
HUPMON_API const char *hupmon_stall_reason_name(enum hupmon_stall_reason r);

/* One stall report, passed to on_stall. Valid only during the callback. */
struct hupmon_stall_event {
	hupmon_id id;
	int fd; /* the watched fd (its identity checked before the report) */
	void *user;
	enum hupmon_stall_kind kind;
	/* STALLED: why; RECOVERED: the reason of the episode that ended
	 * (NO_ACK after an escalation). */
	enum hupmon_stall_reason reason;
	bool escalation;      /* STALLED: a ZERO_WINDOW episode became NO_ACK */
	uint64_t detected_ns; /* CLOCK_MONOTONIC of the probe that saw it */
};

typedef void hupmon_stall_callback(const struct hupmon_stall_event *ev,
				   void *arg);

/*
 * Monitor configuration. A zero-initialised struct means every default.
 * New fields are only ever added at the end, with 0 meaning "default".
 */
struct hupmon_config {
	/* Called once per reported cause (see enum hupmon_cause), on the
	 * dispatching thread without any internal lock. May be NULL (the
	 * counters still move). */
	hupmon_callback *on_hangup;
	void *arg; /* passed to on_hangup and on_compare */
	/* HUPMON_PATH_EPOLL, HUPMON_PATH_SWEEP or both (0: both). With both
	 * and compare off, the first path to see a cause reports it and the
	 * other path stays silent for that cause. */
	unsigned paths;
	enum hupmon_sweep_method sweep_method; /* default TCP_INFO */
	/*
	 * Sweep period (default 1000 ms; 1..3600000). The sockets under the
	 * sweep are probed in a fixed round-robin order that churn cannot
	 * reorder: a newly watched socket joins behind every socket already
	 * there, and a slice probes at least its even share of the sockets
	 * plus every socket whose last probe is a period old. Hence the
	 * probe-gap bound: a watched socket waits at most one period plus one
	 * tick interval (stats.sweep_gap_bound_ns) between two probes, and
	 * between its watch and its first probe, whatever the churn, as long
	 * as the dispatching thread keeps up (dispatches when hupmon_fd() is
	 * readable; slices shorter than a tick). A lap, every socket present
	 * at its start probed once, then takes about one period. When the
	 * thread cannot keep up, laps and gaps stretch: stats.sweep_overruns,
	 * sweep_piled_up, sweep_lap_worst_ns and sweep_gap_worst_ns show it.
	 */
	uint32_t sweep_period_ms;
	/* A lap is cut into ticks of this length (default 10 ms, at most the
	 * period). With fewer sockets than ticks per period the tick
	 * stretches, so one socket costs one wakeup per period. */
	uint32_t sweep_tick_ms;
	/* Keep both paths on every socket until both saw each reported cause
	 * or the compare deadline passed; needs both paths. Compares hangups
	 * only: stalls are the sweep's alone (the epoll path cannot see
	 * them). */
	bool compare;
	/* Compare deadline. 0 (default): counted in sweep laps, not time: an
	 * outcome is "missed" once the sweep has completed two full laps
	 * after the one under way when the first path reported, without the
	 * second path seeing it, however long laps take (churn, overload).
	 * Otherwise: this many ms after the first path's report. */
	uint32_t compare_deadline_ms;
	/* Receives each compare outcome; may be NULL. Same thread and lock
	 * rules as on_hangup. */
	hupmon_compare_callback *on_compare;
	/*
	 * Default (false): when a socket reports an error, hupmon reads
	 * SO_ERROR once and keeps the value, so it can tell RESET from TIMEOUT
	 * from ERROR. getsockopt(SO_ERROR) clears the socket's pending error:
	 * the application's own next read then returns 0 (end of file) instead
	 * of failing with ECONNRESET; the error is in the hangup event instead.
	 * true: hupmon never calls anything on a watched socket that changes
	 * its state (no SO_ERROR, no recv); the cause is then HANGUP wherever
	 * only SO_ERROR could tell RESET, TIMEOUT or ERROR apart, and the
	 * PEEK sweep method is refused (-EINVAL).
	 */
	bool no_touch;
	/* Keepalive / user timeout applied to every watched socket (all 0:
	 * none); hupmon_watch_ex() overrides it per socket. Invalid values
	 * make hupmon_new fail with -EINVAL. */
	struct hupmon_liveness liveness;
	/*
	 * Stall tracking (see enum hupmon_stall_kind): the threshold in ms, 0
	 * (default): off. Needs the sweep path with the TCP_INFO method and
	 * stall_ms >= 2 x sweep_period_ms, at most 3600000, else hupmon_new
	 * fails with -EINVAL. Detection takes at most stall_ms + 2 x the
	 * probe-gap bound (stats.sweep_gap_bound_ns); data that never left
	 * waits for the kernel's third failed attempt too (RTO + 1 s when a
	 * qdisc drops it, 7 RTOs without a route: 1.2-1.6 s on a LAN). Choose
	 * stall_ms >= the path's worst RTT + 3 RTOs (about 1 s on a LAN; 2 s
	 * to have data that never left within the bound). Each watched socket
	 * costs 8 more bytes, and a tracked one's TCP_INFO probe reads 232
	 * bytes instead of 8 (the same cost: the kernel fills the whole
	 * struct either way).
	 */
	uint32_t stall_ms;
	/* Called for each stall report, on the dispatching thread without
	 * any internal lock, with arg; may be NULL (the counters still move).
	 * Same rules as on_hangup. */
	hupmon_stall_callback *on_stall;
	/*
	 * The most CPU the sweep may take, as a share of one core (0.2: a
	 * fifth), measured as the dispatching thread's CPU time
	 * (CLOCK_THREAD_CPUTIME_ID) around its slices, the callbacks they
	 * run included. 0 (default): no budget. NaN, negative or above 1:
	 * hupmon_new fails with -EINVAL. When probing every socket once per
	 * period would take more, the sweep stretches its lap instead: the
	 * effective lap (stats.sweep_lap_effective_ns) becomes n x the
	 * measured CPU per probe / budget, never shorter than the period,
	 * and shrinks back as sockets or cost fall; the probe-gap bound
	 * becomes the effective lap + tick interval. Ticks keep their
	 * interval; each tick's slice gets smaller. Compare mode's default
	 * deadline counts laps, so it stretches along.
	 */
	double sweep_cpu_budget;
	/*
	 * Default false. true: the caller promises to close a watched fd
	 * only after hupmon_unwatch returned for it (the rule libuv, libevent
	 * and nginx impose anyway). hupmon then trusts that a watched fd
	 * number holds the watched socket and reads no SO_COOKIE before a
	 * report: a FIN costs no syscall beyond the event, an RST only its
	 * SO_ERROR read, a PEEK probe one recv. The watch-time identity stays
	 * (-EEXIST for a socket watched twice, a watch through a dup retiring
	 * the old one), and so does every rule of hupmon_unwatch.
	 * If the promise is broken (a watched fd closed and its number
	 * reused): an event's fd may name the other connection; SO_ERROR, or
	 * a PEEK probe, clears the other socket's pending error; TCP_INFO
	 * probes and stall reports describe the other socket.
	 */
	bool unwatch_before_close;
};

/* Creates a monitor. cfg may be NULL (all defaults). On success stores it in
 * *out and returns 0; on failure *out is set to NULL (if out is not NULL).
 * Errors: -EINVAL (out NULL, or an invalid config: paths outside
 * HUPMON_PATHS_BOTH, unknown sweep method, period above one hour, tick
 * above the period, compare without both paths, PEEK with no_touch, an
 * invalid liveness value, stall_ms without the sweep path, with PEEK, below
 * 2 x the period or above one hour, sweep_cpu_budget NaN, negative or above
 * 1), -ENOMEM, -EMFILE/-ENFILE (no fd for epoll, timerfd or eventfd).
 * Nothing is leaked on failure. Any thread. */
HUPMON_API int hupmon_new_sized(const struct hupmon_config *cfg,
				size_t cfg_size, hupmon **out);
static inline int hupmon_new(const struct hupmon_config *cfg, hupmon **out)
{
	return hupmon_new_sized(cfg, sizeof(*cfg), out);
}

/* Frees the monitor and closes the fds it created. Watched fds are left
 * open and untouched (their epoll registrations go with the epoll fd).
 * NULL is a no-op. No other thread may use m during or after the call.
 * From a callback the free is deferred: the callback returns, no further
 * callback runs, and the hupmon_dispatch call that ran it frees m before it
 * returns (hupmon_run then returns 0), once every thread already inside
 * hupmon_watch or hupmon_unwatch (an unwatch waiting for this very
 * callback, say) has returned. m must not be used after the callback
 * returns, and no call on m may start after hupmon_free. */
HUPMON_API void hupmon_free(hupmon *m);

/*
 * Starts watching the connected TCP socket fd (IPv4 or IPv6). The caller
 * keeps ownership of fd: hupmon never closes it. user is handed back in
 * events. On success stores the new id in *id (may be NULL) and returns 0;
 * on failure *id is left untouched.
 *
 * fd reuse. Unwatch before close. If a watched fd is closed anyway, its
 * number may be reused by an unrelated socket while the watched socket
 * lives on (a dup elsewhere). hupmon then keeps these promises, on both
 * paths and for every cause: the socket's identity (SO_COOKIE, recorded
 * here) is confirmed before any report goes out, before SO_ERROR is read
 * and before a PEEK probe's recv (the only probe that changes a socket:
 * it consumes a pending error); a hangup of the watched socket that its
 * own epoll registration still reports is delivered with fd -1 (never the
 * number that now names another connection; the cause is HANGUP where
 * only SO_ERROR could tell RESET); the sweep stops probing it; no
 * EPOLL_CTL_DEL by fd number ever removes another watch's registration.
 * The cost: one SO_COOKIE getsockopt per report (and per PEEK probe). A watch
 * of the new socket on that number retires the old slot (stats.retired), and so
 * does a watch of the same socket through its dup; the old id becomes stale
 * (-ENOENT).
 *
 * The liveness options are written after the socket is registered: a
 * watch that fails leaves them as they were, except that a failure while
 * writing them (not seen in practice) may leave the ones written before.
 * They are never restored on unwatch.
 *
 * A socket whose peer has already gone (CLOSE_WAIT, or CLOSE: reset, or never
 * connected, which the kernel cannot tell apart) is accepted and reported on
 * the next dispatch (epoll path) or at its first probe (sweep only).
 *
 * The checks cost three getsockopt before the EPOLL_CTL_ADD: TCP_INFO
 * (a TCP socket, and its state: not listening, not connecting), SO_PROTOCOL
 * (not MPTCP, which answers TCP_INFO too) and SO_COOKIE (its identity, for
 * -EEXIST and fd reuse). A server that watches what accept() just gave it
 * can vouch for the first two: hupmon_watch_ex with opts.accepted.
 * hupmon_unwatch costs one EPOLL_CTL_DEL.
 *
 * Errors, with the monitor unchanged:
 *   -EINVAL   m NULL; not a TCP socket over IPv4/IPv6 (UDP, unix, raw,
 *             MPTCP...); listening; connection not yet established
 *             (SYN_SENT, SYN_RECV)
 *   -EBADF    fd negative or not open
 *   -ENOTSOCK fd is not a socket
 *   -EEXIST   this socket is already watched (by this fd or a dup of it,
 *             recognised by its SO_COOKIE)
 *   -ENOMEM   out of memory
 *   -EOPNOTSUPP  stall tracking on and the kernel's TCP_INFO too short
 *             (fewer than 232 bytes: tcpi_snd_wnd needs Linux 5.4)
 *   other     an unexpected error from epoll_ctl or getsockopt
 * Any thread, including from a callback.
 */
HUPMON_API int hupmon_watch(hupmon *m, int fd, void *user, hupmon_id *id);

/* Per-watch options for hupmon_watch_ex(). Zero-initialise; new fields are
 * only added at the end. */
struct hupmon_watch_opts {
	void *user; /* as for hupmon_watch */
	/* Overrides the monitor's liveness for this socket; NULL: use the
	 * monitor's. */
	const struct hupmon_liveness *liveness;
	/* true: no stall tracking for this socket even when the monitor's
	 * stall_ms is set (no stall reports, 8-byte probes; its slot's 8
	 * bytes of state stay allocated with the monitor's others). */
	bool no_stall;
	/*
	 * true: the caller vouches that fd is a connected TCP socket over
	 * IPv4 or IPv6 (not MPTCP) that it has just got from accept() or
	 * accept4(), and hupmon skips the checks that makes redundant (the
	 * TCP_INFO and SO_PROTOCOL reads): it reads only SO_COOKIE, which
	 * the -EEXIST and fd-reuse guarantees need, so a watch costs one
	 * getsockopt and one epoll_ctl. -EBADF and -ENOTSOCK are still
	 * answered; -EEXIST too. With stall tracking on, the monitor's first
	 * such watch also reads TCP_INFO once, for its length.
	 * If the caller is wrong (a UDP, unix or listening socket, a connect
	 * still under way), the watch may succeed where hupmon_watch says
	 * -EINVAL, and that socket's reports may then be wrong or missing
	 * (a sweep probe that finds no TCP socket treats the watch as one
	 * whose fd lost its socket: fd -1, no further probes). Nothing
	 * else is harmed: no crash, no leak, the other watches, the counters
	 * and hupmon_unwatch work as ever.
	 */
	bool accepted;
};

/* hupmon_watch with options. Returns as hupmon_watch; also -EINVAL for an
 * invalid liveness value, checked before any setsockopt (the socket is then
 * untouched). opts NULL is hupmon_watch(m, fd, NULL, id). */
HUPMON_API int hupmon_watch_ex_sized(hupmon *m, int fd,
				     const struct hupmon_watch_opts *opts,
				     size_t opts_size, hupmon_id *id);
static inline int hupmon_watch_ex(hupmon *m, int fd,
				  const struct hupmon_watch_opts *opts,
				  hupmon_id *id)
{
	return hupmon_watch_ex_sized(m, fd, opts, sizeof(*opts), id);
}

/*
 * Stops watching. Returns 0, or -ENOENT for 0, a stale or unknown id, or
 * -EINVAL for a NULL monitor. After it returns, with 0 or -ENOENT, no
 * callback for id runs and hupmon is done with the fd number: called from
 * another thread while a callback for id is running, it waits for that
 * callback to end (from inside that callback, it returns at once); when two
 * threads unwatch one id, the one answered -ENOENT returns only after the
 * other's EPOLL_CTL_DEL. The fd is left open; unwatch before you close it.
 * Any thread, including from a callback.
 *
 * One rule across monitors: a callback must not unwatch an id of another
 * monitor whose callbacks may, in turn, unwatch ids of the first. Each
 * unwatch would wait for the other monitor's running callback, and neither
 * returns. Unwatch ids of the callback's own monitor, or hand the other
 * monitor's unwatch to a thread that runs no callback.
 */
HUPMON_API int hupmon_unwatch(hupmon *m, hupmon_id id);

/*
 * The monitor's epoll fd, to put in your own event loop (poll/epoll for
 * readability), or -EINVAL for NULL. It is readable while work is pending:
 * then call hupmon_dispatch(m, 0). With an edge-triggered outer loop, call
 * hupmon_dispatch(m, 0) until it returns 0 each time the fd fires: that
 * loop ends, since sweep ticks are not counted (an overloaded sweep keeps
 * the timer readable, but a call handles one tick and returns 0 when no
 * socket event came with it).
 * Do not read from, close or add to this fd.
 */
HUPMON_API int hupmon_fd(const hupmon *m);

/*
 * Waits up to timeout_ms (-1: forever, 0: not at all) for kernel events,
 * handles them (hangups, sweep ticks, stop requests) and runs the callbacks.
 * Returns the number of socket events handled (ticks and stop requests are
 * not counted; 0 on timeout or when interrupted by a signal: EINTR is not
 * an error), or -EINVAL (NULL), -EBUSY (another thread is dispatching),
 * -EDEADLK (called from a callback), or epoll_wait's -EBADF, -EFAULT,
 * -EINVAL (the monitor's fd was closed or replaced: misuse), even when
 * some events were handled before. One thread at a time.
 */
HUPMON_API int hupmon_dispatch(hupmon *m, int timeout_ms);

/* Dispatches on the calling thread until hupmon_stop(). Returns 0 after a
 * stop (or a hupmon_free from a callback), or a negative errno as
 * hupmon_dispatch. A stop requested before the call makes it return at
 * once (and is then used up). A refused call (-EDEADLK, -EBUSY) leaves a
 * pending stop for the thread that runs. */
HUPMON_API int hupmon_run(hupmon *m);

/* Asks hupmon_run to return. Any thread, callbacks, and async-signal-safe
 * (an atomic store and a write to an eventfd). NULL is a no-op. Stops are
 * not counted: several before a run make that one run return at once. */
HUPMON_API void hupmon_stop(hupmon *m);

/*
 * Histograms: fixed log2 buckets of nanoseconds. Bucket i counts values v
 * with v <= 1024 << i ns (about 1 us, 2 us, 4 us, ... 1100 s) that no lower
 * bucket counts; the last bucket counts everything above. sum_ns saturates.
 */
#define HUPMON_HIST_BUCKETS 32
struct hupmon_hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t bucket[HUPMON_HIST_BUCKETS];
};
/* Upper bound (ns) of bucket i, or UINT64_MAX for the last one and for
 * any i >= HUPMON_HIST_BUCKETS. In a snapshot, count == sum of bucket[]. */
HUPMON_API uint64_t hupmon_hist_bound_ns(unsigned i);

/* Reasons a watch was refused, indexing stats.watch_rejected. */
enum hupmon_reject {
	HUPMON_REJECT_EBADF = 0,
	HUPMON_REJECT_ENOTSOCK,
	HUPMON_REJECT_EINVAL,
	HUPMON_REJECT_EEXIST,
	HUPMON_REJECT_ENOMEM,
	HUPMON_REJECT_OTHER,
	HUPMON_REJECT_COUNT /* number of reasons */
};
/* "ebadf", "enotsock", ... for a reject index; "unknown" otherwise. */
HUPMON_API const char *hupmon_reject_name(unsigned reject);

/*
 * A consistent snapshot of the counters. Arrays indexed by path are
 * [HUPMON_PATH_EPOLL] and [HUPMON_PATH_SWEEP] (index 0 unused), by cause
 * [HUPMON_CAUSE_PEER_SHUTDOWN .. HUPMON_CAUSE_ERROR] (index 0 unused). All
 * counters count up from hupmon_new; fields marked gauge go up and down.
 */
struct hupmon_stats {
	/* gauges */
	uint64_t watched; /* sockets watched now */
	/* of which under the sweep now: a socket leaves the sweep once it
	 * reported a final cause (in compare mode, once both paths had their
	 * say); with none left the timer is disarmed and laps stop. */
	uint64_t swept;
	uint64_t memory_bytes; /* the library's own heap memory now */

	/* registry */
	uint64_t watches;   /* successful hupmon_watch calls */
	uint64_t unwatches; /* successful hupmon_unwatch calls */
	uint64_t watch_rejected[HUPMON_REJECT_COUNT];
	uint64_t unwatch_rejected; /* unwatch calls answered -ENOENT */
	uint64_t retired; /* slots freed by a watch because their fd no longer
			     held the watched socket (closed without unwatch,
			     number reused) or their socket came back through
			     a dup: watched = watches - unwatches - retired */

	/* hangup reports, by path that reported them x cause */
	uint64_t hangups[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT];
	uint64_t escalations; /* reports that raised an earlier cause */
	uint64_t callbacks;   /* on_hangup + on_compare + on_stall calls */
	struct hupmon_hist callback_duration; /* of both kinds of callback */

	/* epoll path */
	uint64_t epoll_wakeups;	 /* epoll_wait calls that returned events */
	uint64_t epoll_events;	 /* socket events received, stale included */
	uint64_t stale_events;	 /* of which dropped: generation no longer
				    matches (socket unwatched) */
	uint64_t ignored_events; /* events that classify as nothing (for
				    example EPOLLERR for a queued
				    timestamp with no socket error) */

	/* sweep path */
	uint64_t sweep_ticks;	    /* timer expirations handled */
	uint64_t sweep_probes;	    /* sockets probed */
	uint64_t sweep_overruns;    /* slices longer than half a tick */
	uint64_t sweep_piled_up;    /* expirations skipped (timerfd read > 1) */
	uint64_t sweep_laps;	    /* laps completed */
	uint64_t sweep_lap_last_ns; /* duration of the last lap */
	uint64_t sweep_lap_worst_ns;   /* longest lap, the one under way
					  included (a lap that never ends
					  shows here) */
	uint64_t sweep_slice_worst_ns; /* longest slice */
	uint64_t sweep_tick_ns; /* gauge: current tick interval, 0 disarmed */

	/* compare mode, by path x cause */
	uint64_t cmp_first[HUPMON_PATH_COUNT]
			  [HUPMON_CAUSE_COUNT]; /* path saw it first */
	uint64_t cmp_second[HUPMON_PATH_COUNT]
			   [HUPMON_CAUSE_COUNT]; /* path saw it second */
	/* by the path that missed it (the second path) */
	uint64_t cmp_missed[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT];
	/* unwatched before the second path had its turn, by the FIRST path */
	uint64_t cmp_cut_short[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT];
	struct hupmon_hist cmp_lag; /* second minus first */

	/* sweep path: probe gaps */
	/* Longest time a socket waited for a probe: between two probes, or
	 * from its watch to its first probe (to 16 us). Stays within
	 * sweep_gap_bound_ns while the dispatching thread keeps up. */
	uint64_t sweep_gap_worst_ns;
	/* gauge: the probe-gap bound now, sweep period (the effective lap,
	 * with a CPU budget) + tick interval; 0 while disarmed. See
	 * sweep_period_ms and sweep_cpu_budget. */
	uint64_t sweep_gap_bound_ns;

	/* stall reports (sweep path), by reason
	 * [HUPMON_STALL_REASON_ZERO_WINDOW] and [HUPMON_STALL_REASON_NO_ACK]
	 * (index 0 unused) */
	uint64_t stalls[HUPMON_STALL_REASON_COUNT]; /* STALLED reports,
							 escalations included */
	uint64_t stall_recoveries[HUPMON_STALL_REASON_COUNT]; /* RECOVERED,
								   by the
								   episode's
								   reason */
	uint64_t stall_escalations; /* ZERO_WINDOW episodes that became
				       NO_ACK */
	uint64_t stall_closed;	    /* open episodes ended by the end of the
				       connection, no RECOVERED: a final
				       cause (RESET, TIMEOUT, ERROR) or a
				       probe that found CLOSE */

	/* getsockopt calls on watched sockets beyond the probes themselves,
	 * by the path that needed them: SO_COOKIE reads check that an fd
	 * still holds the watched socket before a report goes out (the
	 * fd-reuse promise); SO_ERROR reads tell RESET, TIMEOUT and ERROR
	 * apart (once per socket, kept). A FIN costs the epoll path one
	 * cookie read, an RST one cookie and one error read. */
	uint64_t epoll_cookie_reads;
	uint64_t epoll_error_reads;
	uint64_t sweep_cookie_reads;
	uint64_t sweep_error_reads;
	/* gauge: the lap the sweep keeps now: the period, or longer while
	 * sweep_cpu_budget stretches it; 0 while disarmed. */
	uint64_t sweep_lap_effective_ns;
};

/* Fills *out with a consistent snapshot (taken under the monitor's lock; no
 * per-socket walk). out NULL: does nothing; m NULL: zeroes *out.
 * Any thread, including callbacks. */
HUPMON_API void hupmon_stats_sized(const hupmon *m, struct hupmon_stats *out,
				   size_t out_size);
static inline void hupmon_stats(const hupmon *m, struct hupmon_stats *out)
{
	hupmon_stats_sized(m, out, sizeof(*out));
}

enum hupmon_format {
	HUPMON_FORMAT_TEXT = 1,	      /* aligned, for a person */
	HUPMON_FORMAT_JSON = 2,	      /* one object, stable key names */
	HUPMON_FORMAT_PROMETHEUS = 3, /* text exposition format 0.0.4 */
};

/*
 * Formats a snapshot into buf with snprintf semantics: writes at most len
 * bytes including a terminating NUL (nothing if len is 0; buf may then be
 * NULL) and returns the length the whole output needs, excluding the NUL.
 * Every format ends with a newline. A snapshot struct from an older header
 * (smaller s_size) formats its missing fields as 0. Every rendering emits
 * every field and label combination, zero or not. Keys and metric names
 * are only ever added, never renamed or removed. Returns -EINVAL for a bad
 * format, a NULL snapshot, or buf NULL with len > 0; -EOVERFLOW if the
 * output would exceed INT_MAX bytes. Pure function; any thread.
 *
 * JSON: one object on one line. <causes> is an object with the keys
 * peer_shutdown, hangup, reset, timeout, error; <paths> is {"epoll":
 * <causes>, "sweep": <causes>}. Integers are exact uint64 counts;
 * *_seconds are non-negative decimals (exact nanoseconds).
 *   watched, swept, memory_bytes
 *   registry: {watches, unwatches, unwatch_rejected, retired,
 *              watch_rejected: {ebadf, enotsock, einval, eexist, enomem,
 *                               other}}
 *   hangups: <paths>            reports by the reporting path x cause
 *   escalations, callbacks
 *   epoll: {wakeups, events, stale_events, ignored_events, cookie_reads,
 *           error_reads}
 *   sweep: {ticks, probes, overruns, piled_up, laps, lap_last_seconds,
 *           lap_worst_seconds, slice_worst_seconds, tick_seconds,
 *           gap_worst_seconds, gap_bound_seconds, cookie_reads,
 *           error_reads, lap_effective_seconds}
 *   stall: {zero_window, no_ack, recovered_zero_window, recovered_no_ack,
 *           escalations, closed_by_hangup}   STALLED and RECOVERED reports
 *                                   by reason; closed_by_hangup is
 *                                   stall_closed (the connection's end)
 *   compare: {first: <paths>, second: <paths>, missed: <paths>,
 *             cut_short: <paths>}   missed by the second path, cut_short
 *                                   keyed by the first
 *   histograms: {callback_duration: <hist>, compare_lag: <hist>}
 *   <hist> = {count, sum_seconds, buckets: [{le_seconds, count}, ...]}:
 *     HUPMON_HIST_BUCKETS entries, counts per bucket (not cumulative),
 *     le_seconds null for the last, unbounded one.
 *
 * Prometheus (text exposition 0.0.4), labels path, cause and error:
 *   gauges hupmon_watched_sockets, hupmon_swept_sockets,
 *   hupmon_memory_bytes, hupmon_sweep_lap_last_seconds,
 *   hupmon_sweep_lap_worst_seconds, hupmon_sweep_slice_worst_seconds,
 *   hupmon_sweep_tick_seconds, hupmon_sweep_gap_worst_seconds,
 *   hupmon_sweep_gap_bound_seconds, hupmon_sweep_lap_effective_seconds;
 *   counters hupmon_watches_total,
 *   hupmon_unwatches_total, hupmon_unwatch_rejected_total,
 *   hupmon_retired_total, hupmon_watch_rejected_total{error},
 *   hupmon_hangups_total{path,cause}, hupmon_escalations_total,
 *   hupmon_callbacks_total, hupmon_epoll_{wakeups,events,stale_events,
 *   ignored_events,cookie_reads,error_reads}_total,
 *   hupmon_sweep_{ticks,probes,overruns,piled_up,laps,cookie_reads,
 *   error_reads}_total, hupmon_stalls_{zero_window,no_ack}_total,
 *   hupmon_stall_recoveries_{zero_window,no_ack}_total,
 *   hupmon_stall_escalations_total, hupmon_stall_closed_total,
 *   hupmon_compare_{first,second,missed,cut_short}_total
 *   {path,cause}; histograms hupmon_callback_duration_seconds,
 *   hupmon_compare_lag_seconds.
 */
HUPMON_API int hupmon_stats_format_sized(const struct hupmon_stats *s,
					 size_t s_size, enum hupmon_format f,
					 char *buf, size_t len);
static inline int hupmon_stats_format(const struct hupmon_stats *s,
				      enum hupmon_format f, char *buf,
				      size_t len)
{
	return hupmon_stats_format_sized(s, sizeof(*s), f, buf, len);
}

#ifdef __cplusplus
}
#endif
#endif /* HUPMON_H */
