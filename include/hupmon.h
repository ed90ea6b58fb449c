/* SPDX-License-Identifier: MIT */
/*
 * hupmon: tell a Linux server, as fast as the kernel allows, that the peer of
 * a TCP connection, or of a Unix-domain stream one, has gone, by two
 * paths: epoll (edge-triggered EPOLLRDHUP|EPOLLHUP|EPOLLERR, never
 * EPOLLIN) and timerfd-driven sweeps that probe every socket once per
 * period (MSG_PEEK or TCP_INFO; a Unix socket with poll); compare mode
 * runs both. This header states contracts; README.md explains them, in
 * the sections named here (README "section").
 *
 * Conventions
 *   - Errors: a function that can fail returns 0, a count or a negative
 *     errno value, never -1 with errno set. The others cannot fail: they
 *     return nothing (hupmon_free, hupmon_stop, hupmon_stats), a name, never
 *     NULL (hupmon_version, hupmon_*_name), or a bound (hupmon_hist_bound_ns).
 *   - No global state: everything lives in a struct hupmon.
 *   - Ownership: the caller keeps every fd it watches; hupmon never reads,
 *     writes, closes or shuts one down. It peeks (PEEK method, TCP only),
 *     reads TCP_INFO and SO_COOKIE, polls (Unix sockets), and by default
 *     SO_ERROR once the socket reports an error (see no_touch). hupmon
 *     owns the fds it creates, all close-on-exec, until hupmon_free.
 *     Structs passed in are copied before the call returns; user and arg
 *     are handed back, never dereferenced.
 *   - Unwatch a socket before closing it; if not, see "fd reuse" at
 *     hupmon_watch() and unwatch_before_close.
 *   - Threads: one thread dispatches (hupmon_dispatch or hupmon_run); any
 *     thread may watch, unwatch, query, take stats, stop and call hupmon_fd
 *     at the same time. Each function states its rule.
 *   - Callbacks (on_hangup, on_compare, on_stall) run on the dispatching
 *     thread, one at a time, with no internal lock held. They may call
 *     hupmon_watch, hupmon_unwatch, hupmon_query, hupmon_stats,
 *     hupmon_stop and hupmon_free (deferred), not hupmon_dispatch or
 *     hupmon_run (-EDEADLK). What they are passed is valid only during the
 *     call.
 *
 * ABI: struct hupmon_config, hupmon_watch_opts, hupmon_stats and
 * hupmon_status only ever grow at the end; the inline wrappers (hupmon_new,
 * hupmon_watch_ex, hupmon_query, hupmon_stats, hupmon_stats_format) pass
 * the caller's sizeof, so a program built against an older header keeps
 * working with a newer library (new input fields read as zero: their
 * default). The size a *_sized function takes is a struct's size in some
 * release of this header (the first release that had it has the smallest:
 * 0.1.0 for all but hupmon_status, which came in 0.2.0; every field
 * appended since ends another: 0.2.0 appended hupmon_watch_opts.family and
 * hupmon_stats.watched_tcp and watched_unix), or a larger one. Any other
 * size (smaller, or ending inside a field) is -EINVAL: nothing is read. A
 * larger struct (a newer program) is accepted if every byte past the
 * library's struct is zero, else -E2BIG (it set an option this library
 * does not know), as openat2(2) and sched_setattr(2) do; above 4096 bytes,
 * -E2BIG whatever it holds. The structs the library fills in (hupmon_stats,
 * hupmon_status) take a larger struct's bytes past its own as output:
 * zeroed. hupmon_stats_sized cannot fail: see there.
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
#define HUPMON_VERSION_MINOR  2
#define HUPMON_VERSION_PATCH  0
#define HUPMON_VERSION_STRING "0.2.0"
/* One number that grows with every release: major * 10000 + minor * 100 +
 * patch. */
#define HUPMON_VERSION                                                         \
	(HUPMON_VERSION_MAJOR * 10000 + HUPMON_VERSION_MINOR * 100 +           \
	 HUPMON_VERSION_PATCH)

/* The version of the library actually linked, as HUPMON_VERSION_STRING.
 * Never NULL; any thread. */
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
/* struct hupmon_config.paths: a mask of hupmon_path bits; 0: see there. */
#define HUPMON_PATHS_BOTH (HUPMON_PATH_EPOLL | HUPMON_PATH_SWEEP)
/* Size of the arrays indexed by path in struct hupmon_stats ([0] unused). */
#define HUPMON_PATH_COUNT 3

/*
 * Why the peer is gone, in ascending order. A socket reports each step up
 * this order at most once: PEER_SHUTDOWN, then HANGUP, then one final cause
 * (RESET, TIMEOUT or ERROR, whichever is known first). Never the same cause
 * twice, never a lower cause after a higher one, nothing after a final one.
 * README "What the kernel shows, and what hupmon reports".
 *
 * A Unix-domain peer (stream or seqpacket) is a process on this host: its
 * end closes when the last process holding it closes it or exits (a forked
 * child holding it keeps it open). What each cause means for it is said
 * below ("Unix:"); a write of ours after its close fails with EPIPE but
 * changes nothing the kernel shows, so nothing more is reported.
 */
enum hupmon_cause {
	HUPMON_CAUSE_NONE = 0,
	/* The peer shut down its write side: FIN (close or shutdown(SHUT_WR));
	 * data may still flow towards the peer. The epoll path cannot tell
	 * it from the application's own shutdown(SHUT_RD): do not shut down
	 * reading on a watched socket. A soft error without the end of the
	 * connection (ICMP queued with IP_RECVERR) is no hangup at all.
	 * Unix: shutdown(SHUT_WR) only; its close is HANGUP or RESET. Its
	 * shutdown(SHUT_RD) shows nothing (our next write gets EPIPE). */
	HUPMON_CAUSE_PEER_SHUTDOWN = 1,
	/* Both directions are shut down and no error is known (we shut down
	 * our side too, or no_touch hid the error). Unix: the peer's end
	 * closed (close, exit) with nothing of ours left unread in it, or
	 * the peer shut down both ways (shutdown(SHUT_RDWR), whatever is
	 * unread: a shutdown sets no error; its close with data of ours
	 * unread then escalates to RESET). A Unix socket stays under the
	 * sweep after HANGUP (one poll a lap), so that RESET is seen. */
	HUPMON_CAUSE_HANGUP = 2,
	/* ECONNRESET, or EPIPE after a FIN (an RST received in CLOSE_WAIT).
	 * Unix: the peer's end closed with data of ours unread in it
	 * (ECONNRESET), after a PEER_SHUTDOWN too. */
	HUPMON_CAUSE_RESET = 3,
	/* ETIMEDOUT: keepalive or TCP_USER_TIMEOUT gave up. Never for Unix. */
	HUPMON_CAUSE_TIMEOUT = 4,
	/* Any other socket error (event.error holds it). Not seen for Unix. */
	HUPMON_CAUSE_ERROR = 5,
};
/* Naming: *_MAX is the largest value of an enum, *_COUNT the size of an
 * array indexed by it. */
#define HUPMON_CAUSE_MAX   5
#define HUPMON_CAUSE_COUNT (HUPMON_CAUSE_MAX + 1) /* [0] unused */

/* Name of a cause ("peer_shutdown", "hangup", "reset", "timeout", "error"),
 * or "none" for anything else. Never NULL; any thread. */
HUPMON_API const char *hupmon_cause_name(enum hupmon_cause cause);
/* Name of a path ("epoll", "sweep"), or "none". Never NULL; any thread. */
HUPMON_API const char *hupmon_path_name(enum hupmon_path path);

/* One hangup report, passed to on_hangup. Valid only during the callback. */
struct hupmon_event {
	hupmon_id id;		 /* as returned by hupmon_watch */
	int fd;			 /* the watched fd; -1: lost it (fd reuse) */
	void *user;		 /* as given to hupmon_watch */
	enum hupmon_path path;	 /* the path that saw it */
	enum hupmon_cause cause; /* see enum hupmon_cause */
	int error;		 /* errno behind the cause, 0 if unknown */
	bool escalation;	 /* a higher cause after an earlier report */
	uint64_t detected_ns;	 /* CLOCK_MONOTONIC when the path saw it */
};

typedef void hupmon_callback(const struct hupmon_event *ev, void *arg);

/* Compare mode: the outcome of one hangup seen (or missed) by both paths,
 * passed to on_compare; valid only during the callback. An outcome cut
 * short by an unwatch is only counted (stats.cmp_cut_short), never passed. */
struct hupmon_compare {
	hupmon_id id;
	int fd;
	void *user;
	enum hupmon_cause cause;	/* the cause reported (first path) */
	enum hupmon_cause second_cause; /* the second path's; NONE: missed */
	enum hupmon_path first;		/* the path that saw it first */
	bool missed;	   /* the second path did not see it by the deadline */
	uint64_t first_ns; /* CLOCK_MONOTONIC, first path */
	uint64_t lag_ns;   /* second minus first; 0 if missed */
};

typedef void hupmon_compare_callback(const struct hupmon_compare *rec,
				     void *arg);

/* What each method can and cannot see: README "What the kernel shows, and
 * what hupmon reports". The method is TCP's: a Unix socket is probed with
 * poll(fd, POLLRDHUP, 0) whatever it is (one syscall; it changes nothing,
 * so no_touch holds; the bits it returns are the epoll path's and are
 * classified alike, so compare mode sees the same causes on both paths). */
enum hupmon_sweep_method {
	HUPMON_SWEEP_DEFAULT = 0, /* TCP_INFO */
	/* getsockopt(TCP_INFO), tcpi_state. Sees data-then-FIN and an RST
	 * after a FIN; changes nothing on a live socket. On state CLOSE it
	 * reads SO_ERROR (unless no_touch) to tell RESET/TIMEOUT/ERROR. */
	HUPMON_SWEEP_TCP_INFO = 1,
	/* recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT): 0 is PEER_SHUTDOWN, an
	 * error is classified like the epoll path, data or EAGAIN is alive.
	 * Blind while unread data is queued (data then FIN looks alive
	 * forever) and to an RST after a FIN. The recv clears a pending
	 * error: refused with no_touch. Two syscalls per probe (the identity
	 * check first: fd reuse), one with unwatch_before_close. A socket
	 * with SO_PEEK_OFF on when it is watched is probed with TCP_INFO (a
	 * peek would move its offset); turning it on later is unsupported. */
	HUPMON_SWEEP_PEEK = 2,
};

/* Keepalive and TCP_USER_TIMEOUT, the only way a silently dead peer (no
 * FIN, no RST) is reported: TIMEOUT once the kernel gives up. Written with
 * setsockopt() at watch time, never restored on unwatch. A user timeout
 * alone never fires on an idle connection, and aborts a live peer that
 * keeps its window shut longer. Interval and count need keepalive_idle_s;
 * out of range: -EINVAL (for a Unix socket too). Not written to a Unix
 * socket, which is watched all the same: a peer on the same host cannot
 * die silently (the kernel closes its end when its process exits), and
 * Unix sockets take none of these options. README "Silent peer death:
 * keepalive and TCP_USER_TIMEOUT". */
struct hupmon_liveness {
	uint32_t keepalive_idle_s;     /* 1..32767; 0: keepalive untouched */
	uint32_t keepalive_interval_s; /* 1..32767; 0: kernel default (75 s) */
	uint32_t keepalive_count;      /* 1..127; 0: kernel default (9) */
	uint32_t user_timeout_ms;      /* 1..INT_MAX; 0: untouched */
};

/*
 * Stalls, seen by the TCP_INFO sweep alone: data outstanding or queued at
 * every probe for stall_ms or more with no progress (tcpi_bytes_acked and
 * tcpi_delivered still). Not a hangup: the watch goes on. An episode is
 * reported once when it begins (STALLED), at most once more when
 * ZERO_WINDOW escalates to NO_ACK, and once at the first probe that shows
 * progress (RECOVERED). Tracking goes on through PEER_SHUTDOWN and HANGUP
 * short of the socket's end; a final cause or a probe that finds CLOSE
 * ends an open episode without RECOVERED (stats.stall_closed; RECOVERED
 * first if that probe shows progress), an unwatch with no report. README
 * "Stalls: what only the sweep can see". A Unix socket has no progress
 * counter (nothing tells a peer that stopped reading from one that reads
 * as fast as we write): it is watched as with opts.no_stall, whatever
 * stall_ms says.
 */
enum hupmon_stall_kind {
	HUPMON_STALL_KIND_STALLED = 1,
	HUPMON_STALL_KIND_RECOVERED = 2,
};
enum hupmon_stall_reason {
	HUPMON_STALL_REASON_NONE = 0,
	/* The peer's window is shut (tcpi_snd_wnd 0): alive, not reading. */
	HUPMON_STALL_REASON_ZERO_WINDOW = 1,
	/* Window open and nothing acknowledged for stall_ms (the path or the
	 * peer died with our data in flight), or data that never left (the
	 * kernel failed to send it three times: our link down, no route). */
	HUPMON_STALL_REASON_NO_ACK = 2,
};
#define HUPMON_STALL_REASON_MAX 2
/* Size of the arrays indexed by reason ([0] unused). */
#define HUPMON_STALL_REASON_COUNT (HUPMON_STALL_REASON_MAX + 1)

/* Name of a stall reason ("zero_window", "no_ack"), or "none". Never NULL;
 * any thread. */
HUPMON_API const char *hupmon_stall_reason_name(enum hupmon_stall_reason r);

/* One stall report, passed to on_stall. Valid only during the callback. */
struct hupmon_stall_event {
	hupmon_id id;
	int fd; /* the watched fd (identity checked, as at hupmon_watch) */
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
 * Monitor configuration. A zero-initialised struct means every default;
 * fields are only ever added at the end, with 0 meaning "default". Each
 * field opens with "default D; R:", R the values accepted (any: all). A
 * value outside R makes hupmon_new fail with -EINVAL.
 */
struct hupmon_config {
	/* default NULL; any: called once per reported cause; NULL: counted. */
	hupmon_callback *on_hangup;
	/* default NULL; any: passed to on_hangup, on_compare and on_stall. */
	void *arg;
	/* default 0; 0, EPOLL, SWEEP or both: the paths on each socket.
	 * With both and compare off, the first path to see a cause reports
	 * it and the other stays silent. 0 chooses from the other fields:
	 *
	 *   fields set (non-zero)                       paths 0 means
	 *   none of those below                         EPOLL (no timerfd)
	 *   sweep_method, sweep_period_ms,              EPOLL | SWEEP
	 *   sweep_tick_ms, sweep_cpu_budget,
	 *   stall_ms, on_stall, compare,
	 *   compare_deadline_ms, on_compare (any one)
	 *
	 * So the default costs nothing per idle socket, and no sweep a config
	 * asks for is dropped. 0.1.0 read 0 as both paths always: a program
	 * that set none of these fields now runs without the sweep (README
	 * "Defaults"). An explicit EPOLL with any of them set behaves as the
	 * field says (stall_ms, compare: -EINVAL; the others are checked and
	 * unused). */
	unsigned paths;
	/* default 0 (TCP_INFO); TCP_INFO, or PEEK unless no_touch is set
	 * (whatever the paths): the sweep's probe of a TCP socket (a Unix
	 * one is polled: see enum hupmon_sweep_method). */
	enum hupmon_sweep_method sweep_method;
	/* default 1000; 1..3600000 ms: the sweep period. A socket waits at
	 * most a period plus a tick (stats.sweep_gap_bound_ns; the effective
	 * lap under a CPU budget) between two probes, and from its watch to
	 * its first, whatever the churn, while the dispatching thread keeps
	 * up. README "The sweep's schedule and its CPU budget". */
	uint32_t sweep_period_ms;
	/* default 10, or the period if shorter; 1..sweep_period_ms ms: the
	 * tick. With fewer sockets than ticks per period the tick stretches:
	 * a few sockets cost one wakeup each per period. */
	uint32_t sweep_tick_ms;
	/* default false; true only with both paths: keep both paths on every
	 * socket until both saw each reported cause or the compare deadline
	 * passed. Hangups only: stalls are the sweep's alone. */
	bool compare;
	/* default 0 (two laps); any, in ms: the compare deadline. 0: missed
	 * once the sweep completed two full laps after the one under way at
	 * the first report, however long laps take; else this many ms after
	 * the first report. README "The sweep's schedule and its CPU
	 * budget". */
	uint32_t compare_deadline_ms;
	/* default NULL; any: gets each compare outcome; NULL: counted. */
	hupmon_compare_callback *on_compare;
	/* default false; any. true: hupmon changes no watched socket's state
	 * (no recv; no SO_ERROR read, which clears the error the application
	 * would read next); the cause is then HANGUP wherever only SO_ERROR
	 * tells RESET, TIMEOUT or ERROR apart. README "What the kernel shows,
	 * and what hupmon reports". */
	bool no_touch;
	/* default all 0 (none); see struct hupmon_liveness: for every watched
	 * socket; hupmon_watch_ex() overrides it per socket. */
	struct hupmon_liveness liveness;
	/* default 0 (off); 0, or 2 x sweep_period_ms..3600000 ms with the
	 * sweep path and TCP_INFO: the stall threshold. A report comes within
	 * stall_ms + 2 x the probe-gap bound of the last progress (data that
	 * never left: not before the kernel's third failed send). 8 bytes per
	 * watched socket. TCP only: a Unix socket is watched without it.
	 * README "Stalls: what only the sweep can see". */
	uint32_t stall_ms;
	/* default NULL; any: called per stall report; NULL: counted. */
	hupmon_stall_callback *on_stall;
	/* default 0 (none); 0..1, not NaN: the most CPU the sweep may take, a
	 * share of one core: the dispatching thread's CPU time in its slices,
	 * callbacks included. Past it the lap stretches (never below the
	 * period: stats.sweep_lap_effective_ns); ticks keep their interval.
	 * README "The sweep's schedule and its CPU budget". */
	double sweep_cpu_budget;
	/* default false; any. true: the caller promises to close a watched fd
	 * only after hupmon_unwatch returned for it. No report then reads
	 * SO_COOKIE: a FIN costs no syscall beyond the event, an RST only its
	 * SO_ERROR read, a PEEK probe one recv. The watch-time identity stays
	 * (-EEXIST, retiring through a dup), and so does every rule of
	 * hupmon_unwatch. If the promise is broken (a watched fd closed and
	 * its number reused): an event's fd may name the other connection;
	 * SO_ERROR, or a PEEK probe, clears the other socket's pending error;
	 * TCP_INFO probes and stall reports describe the other socket. */
	bool unwatch_before_close;
};

/*
 * Creates a monitor; cfg (NULL: all defaults, cfg_size not looked at) is
 * copied. On success stores it in *out and returns 0; on failure *out is
 * set to NULL (if out is not NULL) and nothing is leaked. Errors: -EINVAL
 * (out NULL, a config field out of range or refused: see struct
 * hupmon_config, or a cfg_size the ABI rule at the top refuses), -E2BIG (a
 * larger struct with a byte set past the library's, or above 4096 bytes),
 * -ENOMEM, -EMFILE/-ENFILE (no fd for epoll, timerfd or eventfd). Any
 * thread.
 */
HUPMON_API int hupmon_new_sized(const struct hupmon_config *cfg,
				size_t cfg_size, hupmon **out);
static inline int hupmon_new(const struct hupmon_config *cfg, hupmon **out)
{
	return hupmon_new_sized(cfg, sizeof(*cfg), out);
}

/* Frees the monitor and closes the fds it created; watched fds are left
 * open and untouched. NULL is a no-op. No other thread may use m during or
 * after the call. From a callback the free is deferred: no further callback
 * runs, and the hupmon_dispatch call that ran it frees m before it returns
 * (hupmon_run then returns 0), after every thread waiting inside
 * hupmon_watch or hupmon_unwatch (for this very callback, say, or for an
 * unwatch's EPOLL_CTL_DEL) has returned. Apart from those waiters, no
 * other thread may be in a call on m, or start one, from the hupmon_free
 * on; the callback must not use m after it returns. */
HUPMON_API void hupmon_free(hupmon *m);

/*
 * Starts watching fd, a connected TCP socket (IPv4 or IPv6) or a connected
 * Unix-domain stream or seqpacket socket (from accept(), connect() or
 * socketpair(); both ends of one pair are two sockets, each may be
 * watched). The caller keeps fd; user is handed back in reports. On
 * success stores the new id in *id (may be NULL) and returns 0; on failure
 * *id is left untouched and the monitor unchanged. Any thread, including
 * from a callback. Syscalls per watch: README "Watch and unwatch cost".
 *
 * fd reuse. If a watched fd is closed anyway and its number reused while
 * the socket lives on (a dup elsewhere), then on both paths: its identity
 * (SO_COOKIE, recorded here) is confirmed before any report, SO_ERROR read
 * or PEEK probe; a hangup its own registration still reports comes with
 * fd -1 (HANGUP where only SO_ERROR could tell RESET); the sweep stops
 * probing it; no EPOLL_CTL_DEL by number removes another watch's
 * registration. A watch of the new socket on that number, or of the same
 * socket through a dup, retires the old slot (stats.retired; its id then
 * gets -ENOENT). Cost: one SO_COOKIE read per report and per PEEK probe,
 * none with unwatch_before_close (which gives these checks up). README
 * "fd reuse", "Watch and unwatch cost".
 *
 * Liveness options are written after the socket is registered: a failed
 * watch leaves them as they were, except that a failure while writing them
 * (not seen in practice) may leave the ones written before. A socket whose
 * peer has already gone (CLOSE_WAIT, or CLOSE: reset or never connected,
 * which the kernel cannot tell apart) is accepted and reported on the next
 * dispatch (epoll path) or at its first probe.
 *
 * Errors: -EINVAL (m NULL; neither a TCP socket over IPv4/IPv6 nor a Unix
 * stream or seqpacket one: UDP, Unix datagram, raw, MPTCP...; listening;
 * not yet established: SYN_SENT, SYN_RECV; never connected),
 * -EBADF (fd negative or not open), -ENOTSOCK (an open fd that is no
 * socket, an O_PATH fd included, whatever it names), -EEXIST (this socket is
 * already watched, by this fd or a dup: same SO_COOKIE), -ENOMEM,
 * -EOPNOTSUPP (stall tracking on, a TCP socket, and the kernel's TCP_INFO
 * shorter than 232 bytes: tcpi_snd_wnd needs Linux 5.4), or an unexpected
 * error from epoll_ctl, getsockopt or getpeername.
 */
HUPMON_API int hupmon_watch(hupmon *m, int fd, void *user, hupmon_id *id);

/* Per-watch options for hupmon_watch_ex(), copied by the call.
 * Zero-initialise; new fields are only added at the end. */
struct hupmon_watch_opts {
	void *user; /* as for hupmon_watch */
	/* this socket's liveness (copied); NULL: the monitor's */
	const struct hupmon_liveness *liveness;
	/* true: no stall tracking for this socket even when the monitor's
	 * stall_ms is set (no stall reports, 8-byte probes; its slot's 8
	 * bytes of state stay allocated with the monitor's others). */
	bool no_stall;
	/* true: the caller vouches that fd is a connected socket just got
	 * from accept() on a listening socket of the family given below: a
	 * TCP socket over IPv4/IPv6 (not MPTCP), or a Unix stream or
	 * seqpacket socket. The watch skips the checks (TCP_INFO and
	 * SO_PROTOCOL; for Unix getpeername and SO_TYPE) and reads only
	 * SO_COOKIE (-EBADF, -ENOTSOCK, -EEXIST still come; with stall
	 * tracking the monitor's first such TCP watch reads TCP_INFO once,
	 * for its length). If the caller is wrong (a socket of another
	 * family or kind, or not connected), the watch may succeed where
	 * hupmon_watch says -EINVAL and that socket's reports may be wrong
	 * or missing (fd -1, no more probes); nothing else is harmed. README
	 * "Watch and unwatch cost". */
	bool accepted;
	/* 0.1.0's struct ends here; these bytes were its padding: never
	 * read, leave them zero. */
	unsigned char reserved[6];
	/* Since 0.2.0. With accepted: the family of the listening socket:
	 * 0 (TCP, as in 0.1.0), AF_INET or AF_INET6 (TCP), or AF_UNIX (a
	 * Unix stream or seqpacket socket); any other value -EINVAL. Not
	 * looked at without accepted: the checks learn the family. */
	int family;
	/* The struct's tail, a field so that an initializer zeroes it (an
	 * older library refuses a non-zero byte past its struct): never
	 * read, leave it zero. */
	unsigned char reserved_tail[4];
};

/* hupmon_watch with options. Returns as hupmon_watch; also -EINVAL for an
 * invalid liveness value, checked before any setsockopt (the socket is then
 * untouched), for a family that accepted does not know, and for an
 * opts_size the ABI rule at the top refuses, -E2BIG for a larger struct
 * with a byte set past the library's or above 4096 bytes (both before the
 * fd is looked at; counted in watch_rejected as einval and other). opts
 * NULL is hupmon_watch(m, fd, NULL, id), opts_size not looked at. Any
 * thread, including from a callback. */
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
 * Stops watching; the fd is left open. Returns 0, or -ENOENT for 0, a stale
 * or unknown id, or -EINVAL for a NULL monitor. After it returns, with 0 or
 * -ENOENT, no callback for id runs and hupmon is done with the fd number:
 * it waits for a callback for id running on another thread (from inside
 * that callback it returns at once), and an unwatch answered -ENOENT waits
 * for another thread's EPOLL_CTL_DEL of the same id. Any thread, including
 * from a callback. Across monitors: a callback must not unwatch an id of
 * another monitor whose callbacks may unwatch ids of the first (each would
 * wait for the other's running callback, forever); hand such an unwatch to
 * a thread that runs no callback.
 */
HUPMON_API int hupmon_unwatch(hupmon *m, hupmon_id id);

/* What the monitor has reported about one watched socket so far, filled in
 * by hupmon_query(). New fields are only added at the end. */
struct hupmon_status {
	/* The highest cause reported so far, as on_hangup is told it (with
	 * no on_hangup, as stats.hangups counts it); compare mode: the first
	 * path's. NONE: nothing reported yet. */
	enum hupmon_cause cause;
	int error;	       /* errno behind it, as event.error; 0 if none */
	enum hupmon_path path; /* the path that reported it; 0 if none */
	/* The reason of the stall episode open now (STALLED reported, and
	 * neither RECOVERED nor the end of the connection since; NO_ACK once
	 * escalated), NONE when none is open. */
	enum hupmon_stall_reason stall_reason;
};

/*
 * Fills *out with what the monitor knows about id now: for a server that
 * asks "is the client still there?" before costly work, instead of
 * handling callbacks. No syscall: it does not look at the socket but tells
 * what dispatches have seen, so it is only as fresh as the last event or
 * probe of that socket the dispatching thread handled (a FIN that arrived
 * since shows once a dispatch has handled it; while no thread dispatches,
 * nothing new shows), and it may be stale by the time the caller acts on
 * it: the peer may leave right after. A cause or an episode shows from the
 * moment the dispatching thread decides to report it, before on_hangup or
 * on_stall runs: inside on_hangup, while ev->id is watched, it gives ev's
 * cause, error and path; inside on_stall, ev's episode (stall_reason
 * NONE after RECOVERED). Once the fd no longer holds the socket (fd reuse:
 * see hupmon_watch) the sweep stops probing it, and stall_reason is NONE.
 *
 * Returns 0, or -ENOENT for 0, a stale or unknown id (as hupmon_unwatch),
 * -EINVAL for m or out NULL or an out_size the ABI rule at the top
 * refuses, -E2BIG for an out_size above 4096; *out is untouched on error,
 * and a larger struct's bytes past the library's are zeroed. Any thread,
 * including from a callback, while another thread dispatches: it takes the
 * monitor's lock for a few loads, so it waits for the dispatching thread's
 * batch of events or probes under way (never for a callback), and it is
 * not async-signal-safe.
 */
HUPMON_API int hupmon_query_sized(const hupmon *m, hupmon_id id,
				  struct hupmon_status *out, size_t out_size);
static inline int hupmon_query(const hupmon *m, hupmon_id id,
			       struct hupmon_status *out)
{
	return hupmon_query_sized(m, id, out, sizeof(*out));
}

/* The monitor's epoll fd, or -EINVAL for NULL. Any thread. Poll it for
 * readability in your own loop and call hupmon_dispatch(m, 0) when it is
 * readable; with an edge-triggered loop, call it until it returns 0 (that
 * ends: ticks are not counted). hupmon owns the fd for the monitor's life:
 * do not read from, close or add to it. README "The server pattern" (and
 * other event loops: libuv, libevent, io_uring). */
HUPMON_API int hupmon_fd(const hupmon *m);

/* Waits up to timeout_ms (-1: forever, 0: not at all) for kernel events,
 * handles them (hangups, sweep ticks, stop requests) and runs the
 * callbacks. Returns the number of socket events handled (not ticks nor
 * stops; 0 on timeout or a signal: EINTR is no error), or -EINVAL (NULL),
 * -EBUSY (another thread dispatches), -EDEADLK (from a callback), or
 * epoll_wait's -EBADF, -EFAULT, -EINVAL (the monitor's fd closed or
 * replaced: misuse), even after handling some. One thread at a time: to
 * use more cores, one monitor per thread (README "More than one core"). */
HUPMON_API int hupmon_dispatch(hupmon *m, int timeout_ms);

/* Dispatches on the calling thread until hupmon_stop(). Returns 0 after a
 * stop (or a hupmon_free from a callback), or a negative errno as
 * hupmon_dispatch. A stop requested before the call makes it return at
 * once (and is then used up). A refused call (-EDEADLK, -EBUSY) leaves a
 * pending stop for the thread that runs. One thread at a time. */
HUPMON_API int hupmon_run(hupmon *m);

/* Asks hupmon_run to return. Any thread, callbacks, and async-signal-safe
 * (an atomic store and an eventfd write; errno kept). NULL is a no-op.
 * Stops are not counted: several before a run make that one return. */
HUPMON_API void hupmon_stop(hupmon *m);

/* Histograms: fixed log2 buckets of nanoseconds. Bucket i counts the values
 * v <= 1024 << i ns (about 1 us, 2 us, ... 1100 s) that no lower bucket
 * counts; the last counts everything above. sum_ns saturates. */
#define HUPMON_HIST_BUCKETS 32
struct hupmon_hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t bucket[HUPMON_HIST_BUCKETS];
};
/* Upper bound (ns) of bucket i, or UINT64_MAX for the last one and for
 * any i >= HUPMON_HIST_BUCKETS. In a snapshot, count == sum of bucket[].
 * Pure; any thread. */
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
/* "ebadf", "enotsock", ... for a reject index; "unknown" otherwise. Never
 * NULL; any thread. */
HUPMON_API const char *hupmon_reject_name(unsigned reject);

/* A consistent snapshot of the counters. Arrays are indexed by path
 * [EPOLL], [SWEEP], by cause [PEER_SHUTDOWN .. ERROR], by stall reason
 * [ZERO_WINDOW], [NO_ACK]; index 0 is unused. Counters count up from
 * hupmon_new; fields marked gauge go up and down. README "Counters". */
struct hupmon_stats {
	/* gauges */
	uint64_t watched; /* sockets watched now */
	/* of which under the sweep: a socket leaves it after a final cause
	 * (compare mode: once both paths had their say); with none left the
	 * timer is disarmed and laps stop. */
	uint64_t swept;
	uint64_t memory_bytes; /* the library's own heap memory now */

	/* registry */
	uint64_t watches;   /* successful hupmon_watch calls */
	uint64_t unwatches; /* successful hupmon_unwatch calls */
	uint64_t watch_rejected[HUPMON_REJECT_COUNT];
	uint64_t unwatch_rejected; /* unwatch calls answered -ENOENT */
	/* slots retired by a watch (fd reuse, or a dup of their socket):
	 * watched = watches - unwatches - retired */
	uint64_t retired;

	/* hangup reports, by path that reported them x cause */
	uint64_t hangups[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT];
	uint64_t escalations; /* reports that raised an earlier cause */
	uint64_t callbacks;   /* on_hangup + on_compare + on_stall calls */
	/* of the three kinds of callback: on_hangup, on_compare, on_stall */
	struct hupmon_hist callback_duration;

	/* epoll path */
	uint64_t epoll_wakeups; /* epoll_wait calls that returned events */
	uint64_t epoll_events;	/* socket events received, stale included */
	/* of which dropped: generation no longer matches (unwatched) */
	uint64_t stale_events;
	/* events that classify as nothing (EPOLLERR, no socket error) */
	uint64_t ignored_events;

	/* sweep path */
	uint64_t sweep_ticks;	    /* timer expirations handled */
	uint64_t sweep_probes;	    /* sockets probed */
	uint64_t sweep_overruns;    /* slices longer than half a tick */
	uint64_t sweep_piled_up;    /* expirations skipped (timerfd read > 1) */
	uint64_t sweep_laps;	    /* laps completed */
	uint64_t sweep_lap_last_ns; /* gauge: duration of the last lap */
	/* longest lap, the one under way included: a lap that never ends
	 * shows */
	uint64_t sweep_lap_worst_ns;
	uint64_t sweep_slice_worst_ns; /* longest slice */
	uint64_t sweep_tick_ns; /* gauge: current tick interval, 0 disarmed */

	/* compare mode, by path x cause: the path saw it first, second */
	uint64_t cmp_first[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT];
	uint64_t cmp_second[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT];
	/* by the path that missed it (the second path) */
	uint64_t cmp_missed[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT];
	/* unwatched before the second path had its turn, by the FIRST path */
	uint64_t cmp_cut_short[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT];
	struct hupmon_hist cmp_lag; /* second minus first */

	/* Longest time a socket waited for a probe: between two probes, or
	 * from its watch to its first probe (to 16 us). Stays within
	 * sweep_gap_bound_ns while the dispatching thread keeps up. */
	uint64_t sweep_gap_worst_ns;
	/* gauge: the probe-gap bound now, the effective lap + the tick
	 * interval; 0 while disarmed. */
	uint64_t sweep_gap_bound_ns;

	/* stall reports, by reason: STALLED reports (escalations included),
	 * RECOVERED reports (by the episode's reason) */
	uint64_t stalls[HUPMON_STALL_REASON_COUNT];
	uint64_t stall_recoveries[HUPMON_STALL_REASON_COUNT];
	/* ZERO_WINDOW episodes that became NO_ACK */
	uint64_t stall_escalations;
	/* open episodes ended by the end of the connection, no RECOVERED: a
	 * final cause or a probe that found CLOSE */
	uint64_t stall_closed;

	/* getsockopt beyond the probes, by path: SO_COOKIE before a report
	 * (fd reuse), SO_ERROR to tell RESET, TIMEOUT and ERROR apart (once
	 * per socket). README "Watch and unwatch cost". */
	uint64_t epoll_cookie_reads;
	uint64_t epoll_error_reads;
	uint64_t sweep_cookie_reads;
	uint64_t sweep_error_reads;
	/* gauge: the lap the sweep keeps now: the period, or longer while
	 * sweep_cpu_budget stretches it; 0 while disarmed. */
	uint64_t sweep_lap_effective_ns;

	/* Since 0.2.0 (0.1.0's struct ends above). gauges: of the sockets
	 * watched now, the TCP ones and the Unix ones (stream and seqpacket):
	 * watched = watched_tcp + watched_unix (a snapshot of 0.1.0's size,
	 * formatted, shows both as 0: the fields it lacks) */
	uint64_t watched_tcp;
	uint64_t watched_unix;
};

/* Fills *out with a consistent snapshot, taken under the monitor's lock (no
 * per-socket walk). out_size follows the ABI rule at the top, save that a
 * larger struct's bytes past the library's are output: zeroed, whatever
 * they held. A size the rule refuses gets no snapshot but zeros, over its
 * first out_size bytes, or sizeof(struct hupmon_stats) above 4096 (a size
 * it cannot trust): never a torn field nor a write past a struct of the
 * size claimed; hupmon_stats_format_sized(out, out_size, ...) tells such a
 * size (-EINVAL, -E2BIG). out NULL: does nothing; m NULL: zeroes *out
 * alike. Any thread, including from a callback, while another thread
 * dispatches. */
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
 * format, a NULL snapshot, buf NULL with len > 0, or an s_size the ABI
 * rule at the top refuses; -E2BIG for a larger struct with a byte set past
 * the library's (a counter it could not show) or above 4096 bytes;
 * -EOVERFLOW if the output would exceed INT_MAX bytes. buf is untouched
 * on -EINVAL and -E2BIG. Pure function; any thread.
 *
 * JSON keys (one object on one line; a.b is key b in object a, a.{b c} is
 * a.b and a.c, [] an array's elements, <path> epoll and sweep, <cause>
 * peer_shutdown, hangup, reset, timeout and error):
 *   {watched watched_tcp watched_unix swept memory_bytes escalations
 *     callbacks}
 *   registry.{watches unwatches unwatch_rejected retired
 *     watch_rejected.{ebadf enotsock einval eexist enomem other}}
 *   hangups.<path>.<cause>
 *   epoll.{wakeups events stale_events ignored_events cookie_reads
 *     error_reads}
 *   sweep.{ticks probes overruns piled_up laps lap_last_seconds
 *     lap_worst_seconds slice_worst_seconds tick_seconds gap_worst_seconds
 *     gap_bound_seconds cookie_reads error_reads lap_effective_seconds}
 *   stall.{zero_window no_ack recovered_zero_window recovered_no_ack
 *     escalations closed_by_hangup}
 *   compare.{first second missed cut_short}.<path>.<cause>
 *   histograms.{callback_duration compare_lag}.{count sum_seconds
 *     buckets[].{le_seconds count}}
 * Each key shows the stats field of its name, the section's prefix dropped
 * (epoll.events: epoll_events; compare.first: cmp_first) and *_ns in
 * seconds; stall.X is stalls[X], stall.recovered_X stall_recoveries[X],
 * stall.closed_by_hangup stall_closed. Integers are exact uint64 counts;
 * *_seconds non-negative decimals (exact ns). buckets: HUPMON_HIST_BUCKETS
 * counts per bucket (not cumulative), le_seconds null for the last one.
 *
 * Prometheus families ([a,b]: labels a and b):
 *   gauges hupmon_{watched_sockets watched_tcp_sockets
 *     watched_unix_sockets swept_sockets memory_bytes}
 *     hupmon_sweep_{lap_last lap_worst slice_worst tick gap_worst gap_bound
 *     lap_effective}_seconds
 *   counters hupmon_{watches unwatches unwatch_rejected retired escalations
 *     callbacks}_total hupmon_watch_rejected_total[error]
 *     hupmon_hangups_total[path,cause]
 *     hupmon_epoll_{wakeups events stale_events ignored_events cookie_reads
 *     error_reads}_total
 *     hupmon_sweep_{ticks probes overruns piled_up laps cookie_reads
 *     error_reads}_total
 *     hupmon_{stalls stall_recoveries}_{zero_window no_ack}_total
 *     hupmon_stall_{escalations closed}_total
 *     hupmon_compare_{first second missed cut_short}_total[path,cause]
 *   histograms hupmon_{callback_duration compare_lag}_seconds
 *
 * tests/check_header_keys.c holds both lists against the renderings.
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
