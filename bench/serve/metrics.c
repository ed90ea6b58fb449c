/* SPDX-License-Identifier: MIT */
/*
 * metrics: names of the server's options, its counters' totals, and
 * the /metrics exposition of a snapshot of the server (server.c takes it):
 * hupmon's own families (hupmon_stats_format) and then the server's
 * (hupmon_serve_*), one text exposition 0.0.4 in which no family appears twice.
 */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_names[] = {"off", "epoll", "sweep", "compare"};
static const char *const half_names[] = {"cancel", "wait"};
static const char *const loop_names[] = {"thread", "acceptor"};

static int name_parse(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i], s) == 0)
			return i;
	}
	return -1;
}

const char *serve_mode_name(enum serve_mode m)
{
	return (unsigned)m < 4 ? mode_names[m] : "?";
}

const char *serve_half_close_name(enum serve_half_close h)
{
	return (unsigned)h < 2 ? half_names[h] : "?";
}

const char *serve_loop_name(enum serve_loop l)
{
	return (unsigned)l < 2 ? loop_names[l] : "?";
}

int serve_mode_parse(const char *s)
{
	return name_parse(mode_names, 4, s);
}

int serve_half_close_parse(const char *s)
{
	return name_parse(half_names, 2, s);
}

int serve_loop_parse(const char *s)
{
	return name_parse(loop_names, 2, s);
}

uint64_t serve_completed(const struct serve_counters *n)
{
	return n->completed[0] + n->completed[1];
}

uint64_t serve_cancelled(const struct serve_counters *n)
{
	uint64_t sum = 0;

	for (int c = 0; c <= HUPMON_CAUSE_MAX; c++)
		sum += n->cancelled[c][0] + n->cancelled[c][1];
	return sum;
}

uint64_t serve_failed(const struct serve_counters *n)
{
	uint64_t sum = 0;

	for (int f = 0; f < SERVE_FAIL_MAX; f++)
		sum += n->failed[f];
	return sum;
}

/* ---- /metrics ---------------------------------------------------------- */

struct sb {
	char *p;
	size_t len, cap;
	bool oom;
};

static bool sb_room(struct sb *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	while (cap - b->len < need)
		cap *= 2;
	if (cap == b->cap)
		return true;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void sb_printf(struct sb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !sb_room(b, (size_t)n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void family(struct sb *b, const char *name, const char *type,
		   const char *help)
{
	sb_printf(b, "# HELP hupmon_serve_%s %s\n# TYPE hupmon_serve_%s %s\n",
		  name, help, name, type);
}

/* ns as exact decimal seconds, like the library's exposition. */
#define SEC_FMT	    "%" PRIu64 ".%09" PRIu64
#define SEC_ARG(ns) (ns) / 1000000000u, (ns) % 1000000000u

static void server_families(struct sb *b, const struct serve_snapshot *v)
{
	const struct serve_counters *n = &v->n;
	static const char *const stage[2] = {"queued", "running"};
	static const char *const fail[SERVE_FAIL_MAX] = {"bad_request", "write",
							 "shutdown"};
	const struct hupmon_hist *h = &n->cancel_latency;
	const struct serve_opts *o = &v->o;
	uint64_t cum = 0;

	family(b, "info", "gauge", "The server's configuration (always 1).");
	sb_printf(b,
		  "hupmon_serve_info{hupmon=\"%s\",half_close=\"%s\","
		  "loop=\"%s\",workers_sched=\"%s\"} 1\n",
		  serve_mode_name(o->mode),
		  serve_half_close_name(o->half_close),
		  serve_loop_name(o->loop),
		  v->sched[0] == 'S' ? "sched_idle" : "nice_10");
	family(b, "workers", "gauge", "Worker threads.");
	sb_printf(b, "hupmon_serve_workers %u\n", v->workers);
	family(b, "requests_total", "counter",
	       "Requests parsed, /metrics aside.");
	sb_printf(b, "hupmon_serve_requests_total %" PRIu64 "\n", n->requests);
	family(b, "requests_in_flight", "gauge",
	       "Requests parsed and not ended yet (queued or running).");
	sb_printf(b, "hupmon_serve_requests_in_flight %" PRIu64 "\n",
		  n->requests - serve_completed(n) - serve_cancelled(n) -
			  serve_failed(n));
	family(b, "completed_total", "counter",
	       "Requests answered in full, by whether the client had sent a "
	       "FIN first.");
	for (int i = 0; i < 2; i++)
		sb_printf(b,
			  "hupmon_serve_completed_total{half_closed=\"%s\"} "
			  "%" PRIu64 "\n",
			  i ? "true" : "false", n->completed[i]);
	family(b, "cancelled_total", "counter",
	       "Requests cancelled because hupmon reported the client gone, "
	       "by cause and stage (queued: dropped without running).");
	for (int c = 1; c <= HUPMON_CAUSE_MAX; c++)
		for (int r = 0; r < 2; r++)
			sb_printf(b,
				  "hupmon_serve_cancelled_total{cause=\"%s\","
				  "stage=\"%s\"} %" PRIu64 "\n",
				  hupmon_cause_name(c), stage[r],
				  n->cancelled[c][r]);
	family(b, "half_closed_total", "counter",
	       "Requests in flight whose client shut down its sending side "
	       "(peer_shutdown: a TCP FIN, a Unix shutdown(SHUT_WR)), by "
	       "what the half-close policy did.");
	for (int i = 0; i < 2; i++)
		sb_printf(b,
			  "hupmon_serve_half_closed_total{policy=\"%s\"} "
			  "%" PRIu64 "\n",
			  half_names[i], n->half_close[i]);
	family(b, "failed_total", "counter", "Requests not served, by reason.");
	for (int f = 0; f < SERVE_FAIL_MAX; f++)
		sb_printf(b,
			  "hupmon_serve_failed_total{reason=\"%s\"} %" PRIu64
			  "\n",
			  fail[f], n->failed[f]);
	family(b, "work_cpu_seconds_total", "counter",
	       "CPU burnt by /work requests.");
	sb_printf(b, "hupmon_serve_work_cpu_seconds_total " SEC_FMT "\n",
		  SEC_ARG(n->work_cpu_ns));
	family(b, "cpu_after_client_left_seconds_total", "counter",
	       "CPU burnt by cancelled requests after hupmon reported "
	       "their client gone.");
	sb_printf(b,
		  "hupmon_serve_cpu_after_client_left_seconds_total " SEC_FMT
		  "\n",
		  SEC_ARG(n->cpu_after_hangup_ns));
	family(b, "cancel_latency_seconds", "histogram",
	       "From hupmon's report to the request dropped or its worker "
	       "stopped.");
	for (unsigned i = 0; i < HUPMON_HIST_BUCKETS - 1; i++) {
		cum += h->bucket[i];
		sb_printf(b,
			  "hupmon_serve_cancel_latency_seconds_bucket{le="
			  "\"" SEC_FMT "\"} %" PRIu64 "\n",
			  SEC_ARG(hupmon_hist_bound_ns(i)), cum);
	}
	sb_printf(b,
		  "hupmon_serve_cancel_latency_seconds_bucket{le=\"+Inf\"} "
		  "%" PRIu64 "\n"
		  "hupmon_serve_cancel_latency_seconds_sum " SEC_FMT "\n"
		  "hupmon_serve_cancel_latency_seconds_count %" PRIu64 "\n",
		  h->count, SEC_ARG(h->sum_ns), h->count);
}

/* Connections, their timeouts and the acceptor at its limits. */
static void limit_families(struct sb *b, const struct serve_snapshot *v)
{
	const struct serve_counters *n = &v->n;
	static const char *const kind[SERVE_TIMEOUT_MAX] = {"header", "idle",
							    "write"};
	static const char *const err[SERVE_ACCEPT_FAIL_MAX] = {
		"EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"};
	const struct serve_opts *o = &v->o;
	const uint64_t ms[SERVE_TIMEOUT_MAX] = {o->header_timeout_ms,
						o->idle_timeout_ms,
						SERVE_WRITE_TIMEOUT_MS};

	family(b, "connections", "gauge", "Client connections open.");
	sb_printf(b, "hupmon_serve_connections %" PRIu64 "\n", n->connections);
	family(b, "timeout_seconds", "gauge",
	       "How long a connection the acceptor holds may wait: for its "
	       "request head, for its next request, for room to write.");
	for (int k = 0; k < SERVE_TIMEOUT_MAX; k++)
		sb_printf(b,
			  "hupmon_serve_timeout_seconds{kind=\"%s\"} " SEC_FMT
			  "\n",
			  kind[k], SEC_ARG(ms[k] * 1000000u));
	family(b, "timeouts_total", "counter",
	       "Connections closed because their timeout ran out, by kind.");
	for (int k = 0; k < SERVE_TIMEOUT_MAX; k++)
		sb_printf(b,
			  "hupmon_serve_timeouts_total{kind=\"%s\"} %" PRIu64
			  "\n",
			  kind[k], n->timeouts[k]);
	family(b, "accept_calls_total", "counter",
	       "accept4() calls, whatever their result.");
	sb_printf(b, "hupmon_serve_accept_calls_total %" PRIu64 "\n",
		  n->accept_calls);
	family(b, "accept_failed_total", "counter",
	       "accept4() calls that failed for lack of fds or memory, by "
	       "errno; accepting pauses on each.");
	for (int e = 0; e < SERVE_ACCEPT_FAIL_MAX; e++)
		sb_printf(b,
			  "hupmon_serve_accept_failed_total{errno=\"%s\"} "
			  "%" PRIu64 "\n",
			  err[e], n->accept_failed[e]);
	family(b, "accept_pauses_total", "counter",
	       "Times the acceptor stopped polling its listener for lack of "
	       "fds or memory.");
	sb_printf(b, "hupmon_serve_accept_pauses_total %" PRIu64 "\n",
		  n->accept_pauses);
	family(b, "accept_paused", "gauge",
	       "1 while the listener is not polled (accept retried on a "
	       "timer and when a connection closes), else 0.");
	sb_printf(b, "hupmon_serve_accept_paused %d\n", n->accept_paused);
}

long serve_metrics_format(const struct serve_snapshot *v, char **out)
{
	struct sb b = {0};
	int lib;

	lib = hupmon_stats_format(&v->st, HUPMON_FORMAT_PROMETHEUS, NULL, 0);
	if (lib < 0 || !sb_room(&b, (size_t)lib + 1))
		return -ENOMEM;
	b.len = (size_t)hupmon_stats_format(&v->st, HUPMON_FORMAT_PROMETHEUS,
					    b.p, b.cap);
	server_families(&b, v);
	limit_families(&b, v);
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	return (long)b.len;
}
