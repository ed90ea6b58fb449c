/* SPDX-License-Identifier: MIT */
/*
 * hupmon-serve: a small HTTP/1.1 server that stops working for clients that
 * left, with hupmon (issue 18). server.c is the server, http.c the subset of
 * HTTP/1.1 it speaks, metrics.c its /metrics, main.c the hupmon-serve
 * program; load.h the clients that hupmon-bench's abandon scenario runs
 * against it. See README.md in this folder.
 *
 *   GET /work?ms=W  burns W ms of CPU in chunks of 0.25 ms, checking the
 *                   request's cancel flag between chunks, then answers 200
 *   GET /metrics    hupmon's counters and the server's own, one Prometheus
 *                   text exposition (answered by the acceptor at once; not
 *                   counted in the server's request counters)
 *
 * A connection is watched by hupmon from the moment its request is read
 * until just before its response is written (or it is closed); between two
 * requests of a keep-alive connection it is not watched. When hupmon reports
 * the client gone, a queued request is dropped without running and a
 * running one stops at its next chunk; nothing is answered and the
 * connection is closed.
 *
 * The half-close policy decides what a FIN means (HUPMON_CAUSE_PEER_SHUTDOWN):
 * a client that closed, or one that sent its request, shut down its write side
 * and still waits for the answer? Over TCP the server cannot tell them apart.
 * SERVE_HALF_CANCEL (the default, like nginx's 499) cancels; SERVE_HALF_WAIT
 * keeps working and answers (Go issue 18527), and cancels only on a harder
 * cause (RESET, HANGUP, TIMEOUT, ERROR). A client over the Unix listener
 * (serve_opts.unix_path) is told apart: its shutdown(SHUT_WR) is
 * PEER_SHUTDOWN, as over TCP, but its close is HANGUP (RESET if our answer
 * was left unread), so it is cancelled under either policy.
 *
 * Every request the server parsed ends exactly once: completed, cancelled
 * or failed, so requests = completed + cancelled + failed + in flight.
 *
 * Limits. A connection the acceptor holds waits under a timeout: for a
 * request head to complete (header timeout, from the accept or from the
 * first byte of a keep-alive connection's next request, never restarted by
 * more bytes, so a trickle is cut too), for the next request of a keep-alive
 * connection (idle timeout), for room to write an answer (write timeout, no
 * progress for SERVE_WRITE_TIMEOUT_MS). A request queued or running is not
 * timed. When accept4() fails for lack of fds or memory, the acceptor stops
 * polling the listener and retries every SERVE_ACCEPT_RETRY_MS, or at once
 * when one of its connections closes; meanwhile new clients wait in the
 * listen backlog.
 */
#ifndef HUPMON_SERVE_SERVER_H
#define HUPMON_SERVE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lab/clock.h"
#include "hupmon.h"

/* --hupmon: which detection runs. The sweep: TCP_INFO, a 10 ms period in 1
 * ms ticks (probe-gap bound 11 ms). TCP_INFO, not PEEK: a peek is blind to a
 * FIN behind unread data, such as a pipelined request not read yet. */
enum serve_mode { SERVE_OFF, SERVE_EPOLL, SERVE_SWEEP, SERVE_COMPARE };
#define SERVE_SWEEP_PERIOD_MS 10
#define SERVE_SWEEP_TICK_MS   1

enum serve_half_close { SERVE_HALF_CANCEL, SERVE_HALF_WAIT };

/* --loop: hupmon_run() in a thread of its own, or hupmon_fd() in the
 * acceptor's epoll set with hupmon_dispatch(m, 0) when it is readable. */
enum serve_loop { SERVE_LOOP_THREAD, SERVE_LOOP_ACCEPTOR };

/* Largest W of /work?ms=W. */
#define SERVE_MAX_WORK_MS 600000u

/* Default timeouts (serve_opts, --header-timeout, --idle-timeout); the
 * write timeout (a worker's wait for room to answer too); the retry period
 * of a paused accept. */
#define SERVE_HEADER_TIMEOUT_MS 10000u
#define SERVE_IDLE_TIMEOUT_MS	60000u
#define SERVE_WRITE_TIMEOUT_MS	5000u
#define SERVE_ACCEPT_RETRY_MS	100u

/* Why the acceptor closed a connection it held (see Limits above). */
enum serve_timeout {
	SERVE_TIMEOUT_HEADER, /* the request head was not complete in time */
	SERVE_TIMEOUT_IDLE,   /* no next request on a keep-alive connection */
	SERVE_TIMEOUT_WRITE,  /* the client read none of our answer */
	SERVE_TIMEOUT_MAX
};

/* The accept4() errors that pause accepting: out of fds (the process's,
 * the system's) or of kernel memory. */
enum serve_accept_fail {
	SERVE_ACCEPT_EMFILE,
	SERVE_ACCEPT_ENFILE,
	SERVE_ACCEPT_ENOBUFS,
	SERVE_ACCEPT_ENOMEM,
	SERVE_ACCEPT_FAIL_MAX
};

enum serve_outcome {
	SERVE_COMPLETED, /* the response was written in full */
	SERVE_CANCELLED, /* hupmon reported the client gone: dropped or
			    stopped, not answered */
	SERVE_FAILED,	 /* not served, see enum serve_fail */
};

enum serve_fail {
	SERVE_FAIL_BAD_REQUEST, /* unparsable, unknown path or method: 4xx */
	SERVE_FAIL_WRITE,	/* the response could not be written */
	SERVE_FAIL_SHUTDOWN,	/* the server stopped first */
	SERVE_FAIL_MAX
};

/*
 * One request of /work, from the moment it was read to its end: handed to
 * serve_opts.on_record once it has ended. Times are CLOCK_MONOTONIC ns, 0
 * for what did not happen.
 */
struct serve_record {
	uint64_t req_id; /* its X-Request-Id header, 0 if none */
	unsigned ms;	 /* W */
	enum serve_outcome outcome;
	enum serve_fail fail;	 /* why, if FAILED */
	enum hupmon_cause cause; /* what cancelled it, if CANCELLED */
	bool ran;		 /* a worker started it (else dropped queued) */
	bool half_closed;     /* PEER_SHUTDOWN was reported while in flight */
	uint64_t t_read_ns;   /* parsed */
	uint64_t t_hangup_ns; /* the hupmon callback that cancelled it */
	uint64_t t_end_ns;    /* answered, stopped or dropped */
	/* The run: wall clock at its start and end, the CPU it burnt, and its
	 * last chunk (wall clock at its start, CPU burnt before it). */
	uint64_t run_start_ns, run_end_ns, cpu_ns;
	uint64_t chunk_start_ns, chunk_cpu_ns;
};

typedef void serve_record_fn(const struct serve_record *rec, void *arg);

/* CPU the request burnt after time t: exact at chunk boundaries, spread
 * evenly over the wall clock in between (over the last chunk, and over the
 * run before it). */
uint64_t serve_cpu_after(const struct serve_record *rec, uint64_t t);

struct serve_opts {
	const char *bind; /* as addr.h takes it; NULL: 127.0.0.1 */
	uint16_t port;	  /* 0: a free port (see serve_port) */
	/* A Unix-domain stream listener too, at this name (addr.h's
	 * serve_unix_parse: a file name or "@name", abstract); NULL: none.
	 * A stale socket file there is replaced, any other file refused
	 * (-EEXIST); the file is removed by serve_stop(). */
	const char *unix_path;
	/* No TCP listener (bind and port unused): unix_path only. */
	bool no_tcp;
	unsigned workers; /* 0: one per online CPU */
	enum serve_mode mode;
	enum serve_half_close half_close;
	enum serve_loop loop;
	unsigned header_timeout_ms; /* 0: SERVE_HEADER_TIMEOUT_MS */
	unsigned idle_timeout_ms;   /* 0: SERVE_IDLE_TIMEOUT_MS */
	/* Workers at nice +10 rather than SCHED_IDLE (--workers-nice): for
	 * tests that share the CPU with other processes, where a SCHED_IDLE
	 * worker gets no CPU at all while any normal thread wants it. */
	bool workers_nice;
	/* Optional, for measurements: called once per /work request when it
	 * has ended, on whichever thread ended it (a worker, the hupmon
	 * callback, the acceptor), before the counters count it. */
	serve_record_fn *on_record;
	void *arg;
};

/* The server's own counters. */
struct serve_counters {
	uint64_t requests;			   /* parsed */
	uint64_t completed[2];			   /* [half_closed] */
	uint64_t cancelled[HUPMON_CAUSE_COUNT][2]; /* [cause][ran] */
	uint64_t failed[SERVE_FAIL_MAX];
	/* PEER_SHUTDOWN reported for a request in flight: [0] the policy
	 * cancelled it, [1] the policy let it run */
	uint64_t half_close[2];
	uint64_t work_cpu_ns; /* CPU burnt by /work */
	/* CPU burnt after hupmon reported the client gone (the rest of the
	 * chunk under way), summed over the cancelled requests */
	uint64_t cpu_after_hangup_ns;
	/* hupmon callback -> worker stopped or request dropped */
	struct hupmon_hist cancel_latency;
	/* Connections: open now (a gauge), closed by a timeout. */
	uint64_t connections;
	uint64_t timeouts[SERVE_TIMEOUT_MAX];
	/* The acceptor: accept4() calls (whatever their result), those that
	 * failed for lack of fds or memory, the pauses they caused, and
	 * whether it is paused now. */
	uint64_t accept_calls;
	uint64_t accept_failed[SERVE_ACCEPT_FAIL_MAX];
	uint64_t accept_pauses;
	bool accept_paused;
};

uint64_t serve_completed(const struct serve_counters *n);
uint64_t serve_cancelled(const struct serve_counters *n);
uint64_t serve_failed(const struct serve_counters *n);

struct serve;

/* Starts a server (all its threads). Returns 0 or a negative errno
 * (-EINVAL: no_tcp without unix_path; listener.h's for each listener). */
int serve_start(const struct serve_opts *o, struct serve **out);
/* Stops every thread, ends what is still queued (FAILED, SHUTDOWN), closes
 * every connection and frees the server. NULL is a no-op. */
void serve_stop(struct serve *s);

/* The TCP listener's port; 0 without one. */
uint16_t serve_port(const struct serve *s);
unsigned serve_workers(const struct serve *s);
const struct serve_opts *serve_options(const struct serve *s);
/* How the workers were lowered: "SCHED_IDLE" or "nice +10". */
const char *serve_worker_sched(const struct serve *s);
/* The monitor, for hupmon_stats(); NULL with SERVE_OFF. */
hupmon *serve_monitor(const struct serve *s);
void serve_counters(struct serve *s, struct serve_counters *out);
/* The /metrics exposition into *out (malloc'd, NUL-terminated; the caller
 * frees it). Returns its length or -ENOMEM. */
long serve_metrics(struct serve *s, char **out);

/* What /metrics shows, taken at once (server.c), then formatted
 * (metrics.c) without calling back into the server. */
struct serve_snapshot {
	struct serve_opts o;
	unsigned workers;
	const char *sched;	/* serve_worker_sched() */
	struct hupmon_stats st; /* zeroes with SERVE_OFF */
	struct serve_counters n;
};

/* serve_metrics() of a snapshot. */
long serve_metrics_format(const struct serve_snapshot *v, char **out);

const char *serve_mode_name(enum serve_mode m);
const char *serve_half_close_name(enum serve_half_close h);
const char *serve_loop_name(enum serve_loop l);
/* Parse a name as printed above; -1 if unknown. */
int serve_mode_parse(const char *s);
int serve_half_close_parse(const char *s);
int serve_loop_parse(const char *s);

/* --- the subset of HTTP/1.1 (http.c) ----------------------------------- */

enum http_route {
	HTTP_WORK,	  /* GET /work?ms=W */
	HTTP_METRICS,	  /* GET /metrics */
	HTTP_NOT_FOUND,	  /* another path: 404 */
	HTTP_BAD_METHOD,  /* not GET: 405 */
	HTTP_BAD_REQUEST, /* a bad ms, or a body: 400 */
};

struct http_req {
	enum http_route route;
	unsigned ms;
	uint64_t id; /* X-Request-Id, 0 if none */
	bool keep_alive;
};

/* Parses the request at the start of buf[0..len). Lines may end in CRLF or
 * in a bare LF. Returns its length, 0 if it is not complete yet, -1 if it
 * cannot be parsed at all. */
long http_parse_request(const char *buf, size_t len, struct http_req *r);

struct http_resp {
	int status;
	uint64_t id; /* X-Request-Id, 0 if none */
	bool keep_alive;
	size_t body_off, body_len;
};

/* Parses the response at the start of buf[0..len) (it must carry a
 * Content-Length). Returns its length, 0 if incomplete, -1 if malformed. */
long http_parse_response(const char *buf, size_t len, struct http_resp *r);

/* Formats a response head (status line and headers, with Content-Length
 * body_len and X-Request-Id if id is not 0) into buf, snprintf-style. */
int http_format_head(char *buf, size_t cap, int status, const char *ctype,
		     size_t body_len, bool keep_alive, uint64_t id);

/* Formats GET /work?ms=W with an X-Request-Id, snprintf-style. */
int http_format_work(char *buf, size_t cap, unsigned ms, uint64_t id);

#endif
