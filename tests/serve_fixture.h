/* SPDX-License-Identifier: MIT */
/*
 * serve_fixture: hupmon-serve (bench/serve/server.h) started in the test
 * process, the records it hands over, and a few blocking loopback client
 * helpers (TCP, and Unix-domain for its --unix listener), for check_serve
 * and check_serve_curl. Every wait is bounded; helpers that cannot go on
 * fail the running Check test.
 */
#ifndef HUPMON_TEST_SERVE_FIXTURE_H
#define HUPMON_TEST_SERVE_FIXTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "serve/server.h"

#define SFX_RECORDS 256

struct sfx {
	struct serve *srv;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a record arrived */
	struct serve_record rec[SFX_RECORDS];
	size_t n;
};

/* Starts a server on a free loopback port (workers 0: one per CPU). Its
 * workers run at nice +10, not SCHED_IDLE: the suites share the machine's
 * CPUs with other processes, next to which a SCHED_IDLE worker may get no
 * CPU for seconds. */
void sfx_start(struct sfx *x, enum serve_mode mode, enum serve_loop loop,
	       enum serve_half_close half, unsigned workers);
/* The same with the options in *o (its on_record and arg are the
 * fixture's, workers_nice is set). */
void sfx_start_opts(struct sfx *x, const struct serve_opts *o);
void sfx_stop(struct sfx *x);
uint16_t sfx_port(const struct sfx *x);
/* The counters once nothing is in flight (waiting at most 2 s: a request
 * is counted just after its answer is written or its record handed over). */
struct serve_counters sfx_counters(struct sfx *x);

/* Waits at most ms for the record of request id (0: the first record
 * without an id); copies it. */
bool sfx_record(struct sfx *x, uint64_t id, int ms, struct serve_record *out);
/* Waits at most ms until hupmon watches exactly n sockets. */
bool sfx_watched(struct sfx *x, uint64_t n, int ms);
/* Waits at most ms until the server has read n requests. */
bool sfx_requests(struct sfx *x, uint64_t n, int ms);

/* Waits at most ms until hupmon watches exactly tcp TCP sockets and unix
 * Unix ones (the stats' watched_tcp and watched_unix). */
bool sfx_watched_by_family(struct sfx *x, uint64_t tcp, uint64_t unix_n,
			   int ms);

/* A short scratch folder for socket files (mkdtemp under /tmp: a Unix
 * socket's name holds at most 107 bytes) into dir, and dir/name in path;
 * sfx_dir_remove() fails the test unless dir is empty then (a server
 * stopped has removed its socket file). */
void sfx_dir_make(char dir[32]);
const char *sfx_dir_path(const char *dir, const char *name, char path[64]);
void sfx_dir_remove(const char *dir);

/* A blocking client connected to the server: over TCP, or to its Unix
 * listener when it has no TCP one. */
int sfx_dial(const struct sfx *x);
/* A blocking client connected to the server's Unix listener. */
int sfx_dial_unix(const struct sfx *x);
void sfx_send(int fd, const char *s);
/* Sends k requests for /work?ms=ms with ids id, id+1, ... in one write. */
void sfx_send_work(int fd, unsigned ms, uint64_t id, int k);
/* Closes with an RST (SO_LINGER {1, 0}). */
void sfx_reset(int fd);

/* Responses read from one connection, pipelined ones included. */
struct sfx_reader {
	int fd;
	size_t len;
	char buf[65536];
};

/* Reads the next response (at most ms). Returns its status, 0 if the
 * connection ended first, -1 on timeout; *r describes it (its status and
 * X-Request-Id; the body is consumed). */
int sfx_read(struct sfx_reader *rd, int ms, struct http_resp *r);
/* GET /metrics on rd's keep-alive connection (answered within 2 s) and the
 * value of the sample named exactly name (labels included, as printed).
 * Returns false if the answer or the sample is missing. */
bool sfx_metric(struct sfx_reader *rd, const char *name, uint64_t *v);

#endif
