/* SPDX-License-Identifier: MIT */
/*
 * load: the clients of the abandon scenario (issue 18), against a
 * hupmon-serve (server.h) at a given address.
 *
 * C client connections at once, each running sessions one after another
 * until the duration is over. A session is one of these classes, drawn at
 * random by the shares in load_opts; each request asks for /work?ms=W, W
 * uniform in [min_ms, max_ms], and carries a unique X-Request-Id:
 *
 *   WAIT        1 to 3 requests on one keep-alive connection, each answer
 *               read, then close
 *   ABANDON     one request; the client gives up at a random moment (uniform
 *               over the round trip its slot last saw) unless answered
 *               first: close (FIN) or RST (SO_LINGER 0), half each
 *   HALF        one request, shutdown(SHUT_WR), then wait for the answer
 *   PIPE_READ   two requests sent back to back, both answers read, close
 *   PIPE_CLOSE  two requests sent back to back, close right after
 *
 * The client takes CLOCK_MONOTONIC just before its close, RST or shutdown
 * (its "act"). Matching the act with the server's side of the same request
 * needs the server's records: run the server in this process with
 * serve_opts.on_record = load_record and .arg = the load. Without records
 * only what a client sees (answers, lost responses) and the server's
 * /metrics are measured.
 */
#ifndef HUPMON_SERVE_LOAD_H
#define HUPMON_SERVE_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server.h"

enum load_class {
	LOAD_WAIT,
	LOAD_ABANDON,
	LOAD_HALF,
	LOAD_PIPE_READ,
	LOAD_PIPE_CLOSE,
	LOAD_CLASSES
};

const char *load_class_name(enum load_class c);

struct load_opts {
	unsigned clients;	 /* connections at once (64) */
	unsigned duration_ms;	 /* sessions start until then (3000) */
	unsigned min_ms, max_ms; /* W (5, 50) */
	unsigned abandon_pct;	 /* shares of sessions, in %: ABANDON (30), */
	unsigned half_pct;	 /* HALF (5), */
	unsigned pipe_read_pct;	 /* PIPE_READ (5), */
	unsigned pipe_close_pct; /* PIPE_CLOSE (5); the rest is WAIT */
	unsigned answer_timeout_ms; /* longest wait for one answer (30000) */
	uint64_t seed;
};

void load_defaults(struct load_opts *o);

/* Order statistics of latency samples, in ms (0 when n is 0). */
struct load_lat {
	size_t n;
	double p50_ms, p99_ms, max_ms;
};

struct load_result {
	double duration_s; /* of every run */
	uint64_t sessions[LOAD_CLASSES];
	uint64_t dial_failed; /* connections the server refused */
	uint64_t sent;	      /* requests sent */
	uint64_t answered;    /* complete answers received */
	/* goodput: answers received within the duration, and the work they
	 * carried (sum of W), per second */
	double answers_per_s, work_ms_per_s;
	uint64_t left; /* requests whose client left before the answer:
			  ABANDON that gave up, PIPE_CLOSE */
	uint64_t rst;  /* of which by RST */
	uint64_t half_answered, half_refused; /* HALF: answered or not */
	uint64_t lost; /* WAIT and PIPE_READ requests with no complete answer:
			  must be 0 */

	/* Matched with the server's records (0 without them). */
	uint64_t records;
	uint64_t unseen; /* sent, never read by the server (no record) */
	/* CPU the server burnt on requests after their client's act (left
	 * requests only; see serve_cpu_after) */
	double cpu_after_left_ms;
	/* client's act -> hupmon callback, for acts on requests the server
	 * had read (and so watched) */
	struct load_lat act_cb;
	/* acts before the server read the request: read -> callback */
	struct load_lat read_cb;
	struct load_lat cb_stop; /* callback -> worker stopped, or dropped */
	uint64_t by_policy;	 /* HALF requests cancelled on PEER_SHUTDOWN */
	/* cancelled although its client had not acted (or acted after the
	 * report): must be 0 */
	uint64_t false_cancels;
	/* PIPE_CLOSE requests the server ran to their end instead of
	 * cancelling (0 with the epoll path) */
	uint64_t pipe_close_ran;

	/* The server's own counters, from its /metrics once it has nothing in
	 * flight (within 30 s of the last session). */
	uint64_t srv_requests, srv_completed, srv_cancelled, srv_failed;
	bool add_up; /* settled, and requests = completed+cancelled+failed */
};

struct load;

/* The latency samples behind load_result's act_cb, read_cb and cb_stop. */
enum load_sample { LOAD_ACT_CB, LOAD_READ_CB, LOAD_CB_STOP, LOAD_SAMPLES };

/* NULL if out of memory. */
struct load *load_new(const struct load_opts *o);
/* A serve_record_fn: pass as serve_opts.on_record with the load as arg. */
void load_record(const struct serve_record *rec, void *arg);
/* Runs the scenario once more, for duration_ms, against host:port (host an
 * IPv4 or IPv6 literal, NULL for 127.0.0.1), and fills *out with every run
 * of this load so far (the server's counters: as it reports them now).
 * Returns 0 or a negative errno. */
int load_run(struct load *l, const char *host, uint16_t port,
	     struct load_result *out);
/* The samples of kind k behind the last load_run's result, in ns, sorted;
 * *n of them. Valid until the next load_run or load_free. */
const uint64_t *load_samples(const struct load *l, enum load_sample k,
			     size_t *n);
void load_free(struct load *l);

#endif
