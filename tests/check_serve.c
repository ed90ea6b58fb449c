/* SPDX-License-Identifier: MIT */
/*
 * check_serve: hupmon-serve (bench/serve/server.h) in this process against
 * clients written here, over loopback: what each client does (wait, FIN, RST,
 * half-close, pipelining, a byte left unread) against what the server
 * records and counts, in every hupmon mode and both loops; then 64 clients
 * with random abandonment (bench/serve/load.h) whose counters must add up,
 * with no false cancellation and no lost response. curl, promtool and
 * Prometheus are in check_serve_curl.
 *
 * The --unix listener (serve_opts.unix_path), in a short folder under /tmp
 * or at an abstract name: its clients watched as Unix sockets (the stats'
 * watched_unix), each peer act with the cause the kernel gives for it
 * (close: HANGUP; shutdown(SHUT_WR): PEER_SHUTDOWN; close with our answer
 * unread: RESET), beside a TCP listener; which file at its path it takes
 * over (a stale socket file), which it refuses and leaves (a regular file,
 * a directory, a live server's socket), and its file removed at stop.
 *
 * Every wait is bounded and generous ("within 2 s"); nothing sleeps to let
 * something happen.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fixture.h"
#include "serve/addr.h"
#include "serve/server.h"
#include "serve_fixture.h"
#include "serve/load.h"

#define SOON_MS 2000 /* "within 2 s" */
#define LONG_MS 5000 /* W of a request that must not run to its end */

/* The loop tests run each hupmon mode with each loop: index i. */
static enum serve_mode mode_of(int i)
{
	return (enum serve_mode)(i % 4);
}

static enum serve_loop loop_of(int i)
{
	return i < 4 ? SERVE_LOOP_THREAD : SERVE_LOOP_ACCEPTOR;
}

/* ... the same over the three modes that watch (epoll, sweep, compare). */
static enum serve_mode on_mode_of(int i)
{
	return (enum serve_mode)(1 + i % 3);
}

static enum serve_loop on_loop_of(int i)
{
	return i < 3 ? SERVE_LOOP_THREAD : SERVE_LOOP_ACCEPTOR;
}

/* A client whose k requests (ids from id) the server has read: the first
 * is watched. */
static int in_flight(struct sfx *x, unsigned ms, uint64_t id, int k)
{
	int fd = sfx_dial(x);

	sfx_send_work(fd, ms, id, k);
	ck_assert(sfx_watched(x, 1, SOON_MS));
	return fd;
}

static void expect_cancelled(struct sfx *x, uint64_t id,
			     enum hupmon_cause cause, struct serve_record *r)
{
	ck_assert_msg(sfx_record(x, id, SOON_MS, r),
		      "request %llu: no record within 2 s",
		      (unsigned long long)id);
	ck_assert_int_eq(r->outcome, SERVE_CANCELLED);
	ck_assert_str_eq(hupmon_cause_name(r->cause), hupmon_cause_name(cause));
	ck_assert_uint_lt(r->cpu_ns, (uint64_t)LONG_MS * 1000000u);
}

static void expect_adds_up(struct sfx *x)
{
	struct serve_counters n = sfx_counters(x);

	ck_assert_uint_eq(n.requests, serve_completed(&n) +
					      serve_cancelled(&n) +
					      serve_failed(&n));
}

/* Two requests, one after the other on a keep-alive connection: both
 * answered, none cancelled, each watched only while in flight. */
START_TEST(test_answered)
{
	struct sfx x;
	struct sfx_reader rd = {0};
	struct http_resp h;
	struct serve_record r;
	struct hupmon_stats st;

	sfx_start(&x, mode_of(_i), loop_of(_i), SERVE_HALF_CANCEL, 0);
	rd.fd = sfx_dial(&x);
	for (uint64_t id = 1; id <= 2; id++) {
		sfx_send_work(rd.fd, 5, id, 1);
		ck_assert_int_eq(sfx_read(&rd, 10000, &h), 200);
		ck_assert_uint_eq(h.id, id);
		ck_assert(h.keep_alive);
		ck_assert(sfx_record(&x, id, SOON_MS, &r));
		ck_assert_int_eq(r.outcome, SERVE_COMPLETED);
		ck_assert(r.ran && !r.half_closed && r.cpu_ns >= 5000000u);
	}
	hupmon_stats(serve_monitor(x.srv), &st);
	ck_assert_uint_eq(st.watches, mode_of(_i) == SERVE_OFF ? 0 : 2);
	ck_assert_uint_eq(st.watched, 0);
	close(rd.fd);
	ck_assert_uint_eq(sfx_counters(&x).completed[0], 2);
	expect_adds_up(&x);
	sfx_stop(&x);
}
END_TEST

/* A running request whose client closes (FIN) or resets stops within 2 s;
 * the cause tells which. */
START_TEST(test_fin_and_rst_cancel)
{
	struct sfx x;
	struct serve_record r;

	sfx_start(&x, on_mode_of(_i), on_loop_of(_i), SERVE_HALF_CANCEL, 1);
	close(in_flight(&x, LONG_MS, 1, 1));
	expect_cancelled(&x, 1, HUPMON_CAUSE_PEER_SHUTDOWN, &r);
	sfx_reset(in_flight(&x, LONG_MS, 2, 1));
	expect_cancelled(&x, 2, HUPMON_CAUSE_RESET, &r);
	ck_assert(sfx_watched(&x, 0, SOON_MS));
	expect_adds_up(&x);
	sfx_stop(&x);
}
END_TEST

/* One worker busy with A; B waits in the queue, its client leaves: B is
 * dropped without running. */
START_TEST(test_queued_dropped)
{
	struct sfx x;
	struct serve_record r;
	struct serve_counters n;
	int a, b;

	sfx_start(&x, SERVE_EPOLL, loop_of(_i * 4), SERVE_HALF_CANCEL, 1);
	a = in_flight(&x, LONG_MS, 1, 1);
	b = sfx_dial(&x);
	sfx_send_work(b, LONG_MS, 2, 1);
	ck_assert(sfx_watched(&x, 2, SOON_MS));
	close(b);
	expect_cancelled(&x, 2, HUPMON_CAUSE_PEER_SHUTDOWN, &r);
	ck_assert(!r.ran);
	ck_assert_uint_eq(r.cpu_ns, 0);
	close(a);
	expect_cancelled(&x, 1, HUPMON_CAUSE_PEER_SHUTDOWN, &r);
	/* A ran, unless the worker had not picked it up yet when its client
	 * left (a loaded machine: nothing tells the test it started); B,
	 * queued behind A, cannot have run either way. */
	n = sfx_counters(&x);
	ck_assert_uint_eq(n.cancelled[HUPMON_CAUSE_PEER_SHUTDOWN][0],
			  r.ran ? 1 : 2);
	ck_assert_uint_eq(n.cancelled[HUPMON_CAUSE_PEER_SHUTDOWN][1],
			  r.ran ? 1 : 0);
	ck_assert_uint_eq(n.cancel_latency.count, 2);
	sfx_stop(&x);
}
END_TEST

/* Request 1 on a new connection, shutdown(SHUT_WR), wait. Policy cancel:
 * cancelled, no answer. Policy wait: answered, to a half-closed client.
 * Over TCP and over Unix alike. */
static void half_close_request(struct sfx *x, enum serve_half_close half)
{
	struct sfx_reader rd = {0};
	struct http_resp h;
	struct serve_record r;

	rd.fd = sfx_dial(x);
	sfx_send_work(rd.fd, half == SERVE_HALF_WAIT ? 50 : LONG_MS, 1, 1);
	ck_assert(sfx_watched(x, 1, SOON_MS));
	shutdown(rd.fd, SHUT_WR);
	if (half == SERVE_HALF_CANCEL) {
		expect_cancelled(x, 1, HUPMON_CAUSE_PEER_SHUTDOWN, &r);
		ck_assert_int_eq(sfx_read(&rd, SOON_MS, &h), 0);
	} else {
		ck_assert_int_eq(sfx_read(&rd, 10000, &h), 200);
		ck_assert(!h.keep_alive);
		ck_assert(sfx_record(x, 1, SOON_MS, &r));
		ck_assert_int_eq(r.outcome, SERVE_COMPLETED);
	}
	ck_assert(r.half_closed);
	close(rd.fd);
}

START_TEST(test_half_close)
{
	enum serve_half_close half = _i ? SERVE_HALF_WAIT : SERVE_HALF_CANCEL;
	struct sfx x;
	struct serve_counters n;

	sfx_start(&x, SERVE_EPOLL, SERVE_LOOP_THREAD, half, 1);
	half_close_request(&x, half);
	n = sfx_counters(&x);
	ck_assert_uint_eq(n.half_close[half == SERVE_HALF_WAIT], 1);
	ck_assert_uint_eq(n.completed[1], half == SERVE_HALF_WAIT);
	sfx_stop(&x);
}
END_TEST

/* Two requests sent back to back on one keep-alive connection: both
 * answered, in order. */
START_TEST(test_pipelined_answered)
{
	struct sfx x;
	struct sfx_reader rd = {0};
	struct http_resp h;

	sfx_start(&x, mode_of(_i), loop_of(_i), SERVE_HALF_CANCEL, 0);
	rd.fd = sfx_dial(&x);
	sfx_send_work(rd.fd, 5, 1, 2);
	for (uint64_t id = 1; id <= 2; id++) {
		ck_assert_int_eq(sfx_read(&rd, 10000, &h), 200);
		ck_assert_uint_eq(h.id, id);
	}
	close(rd.fd);
	ck_assert_uint_eq(sfx_counters(&x).completed[0], 2);
	expect_adds_up(&x);
	sfx_stop(&x);
}
END_TEST

/* Two requests sent back to back, then close: both cancelled or dropped. */
START_TEST(test_pipelined_then_close)
{
	struct sfx x;
	struct serve_record r;

	sfx_start(&x, on_mode_of(_i), on_loop_of(_i), SERVE_HALF_CANCEL, 1);
	close(in_flight(&x, LONG_MS, 1, 2));
	expect_cancelled(&x, 1, HUPMON_CAUSE_PEER_SHUTDOWN, &r);
	expect_cancelled(&x, 2, HUPMON_CAUSE_PEER_SHUTDOWN, &r);
	ck_assert(!r.ran);
	ck_assert_uint_eq(sfx_counters(&x).requests, 2);
	expect_adds_up(&x);
	sfx_stop(&x);
}
END_TEST

/* Go issue 37145: a pipelined byte the server has not read sits in the
 * receive queue ahead of the FIN. The epoll path and the TCP_INFO sweep
 * still see the FIN. */
START_TEST(test_unread_byte_then_close)
{
	struct sfx x;
	struct serve_record r;
	int fd;

	sfx_start(&x, on_mode_of(_i), on_loop_of(_i), SERVE_HALF_CANCEL, 1);
	fd = in_flight(&x, LONG_MS, 1, 1); /* read: no more reads */
	sfx_send(fd, "G");
	close(fd);
	expect_cancelled(&x, 1, HUPMON_CAUSE_PEER_SHUTDOWN, &r);
	sfx_stop(&x);
}
END_TEST

/* What the server does not serve is answered 4xx, closed and counted as
 * failed; /metrics is not counted at all. */
START_TEST(test_bad_requests)
{
	static const char *const reqs[] = {
		"GET /nothing HTTP/1.1\r\n\r\n",
		"POST /work?ms=1 HTTP/1.1\r\n\r\n",
		"GET /work?ms=abc HTTP/1.1\r\n\r\n",
		"GET /work?ms=1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
		"NONSENSE\r\n\r\n",
	};
	static const int want[] = {404, 405, 400, 400, 400};
	struct sfx x;
	struct http_resp h;
	struct serve_counters n;

	sfx_start(&x, SERVE_EPOLL, SERVE_LOOP_THREAD, SERVE_HALF_CANCEL, 1);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct sfx_reader rd = {.fd = sfx_dial(&x)};

		sfx_send(rd.fd, reqs[i]);
		ck_assert_int_eq(sfx_read(&rd, SOON_MS, &h), want[i]);
		ck_assert(!h.keep_alive);
		ck_assert_int_eq(sfx_read(&rd, SOON_MS, &h), 0); /* closed */
		close(rd.fd);
	}
	{
		struct sfx_reader rd = {.fd = sfx_dial(&x)};

		sfx_send(rd.fd, "GET /metrics HTTP/1.1\r\n\r\n");
		ck_assert_int_eq(sfx_read(&rd, SOON_MS, &h), 200);
		ck_assert(h.keep_alive);
		close(rd.fd);
	}
	n = sfx_counters(&x);
	ck_assert_uint_eq(n.requests, 5);
	ck_assert_uint_eq(n.failed[SERVE_FAIL_BAD_REQUEST], 5);
	sfx_stop(&x);
}
END_TEST

/* One exposition: every family declared once, before its samples, and the
 * server's own counters among them, as they are. */
START_TEST(test_metrics_one_exposition)
{
	struct sfx x;
	struct serve_record r;
	char *text, *line, *save, names[64][96];
	int nnames = 0;
	long len;

	sfx_start(&x, mode_of(_i), SERVE_LOOP_THREAD, SERVE_HALF_CANCEL, 1);
	if (mode_of(_i) != SERVE_OFF) {
		close(in_flight(&x, LONG_MS, 1, 1));
		expect_cancelled(&x, 1, HUPMON_CAUSE_PEER_SHUTDOWN, &r);
	}
	(void)sfx_counters(&x); /* settled */
	len = serve_metrics(x.srv, &text);
	ck_assert_int_gt(len, 0);
	ck_assert_uint_eq(strlen(text), (size_t)len);
	ck_assert(strstr(text, "\nhupmon_serve_cancelled_total{cause=\"peer_"
			       "shutdown\",stage=\"running\"} ") != NULL);
	ck_assert(strstr(text, "\nhupmon_serve_requests_in_flight 0\n"));
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[96];
		bool known = false;

		if (sscanf(line, "# TYPE %95s", name) == 1) {
			for (int i = 0; i < nnames; i++)
				ck_assert_msg(strcmp(names[i], name) != 0,
					      "family %s repeated", name);
			ck_assert_int_lt(nnames, 64);
			strcpy(names[nnames++], name);
			continue;
		}
		if (line[0] == '#')
			continue;
		/* a sample: its family (name minus a histogram suffix) is
		 * the last one declared */
		ck_assert_int_gt(nnames, 0);
		known = strncmp(line, names[nnames - 1],
				strlen(names[nnames - 1])) == 0;
		ck_assert_msg(known, "sample outside its family: %s", line);
	}
	ck_assert_int_ge(nnames, 40);
	free(text);
	sfx_stop(&x);
}
END_TEST

/* 64 clients, 30 % giving up at random (FIN or RST), half-closers,
 * pipeliners: nothing cancelled that should not be, no answer lost, and
 * the server's counters (read from its /metrics) add up. */
START_TEST(test_abandon_load)
{
	struct load_opts o;
	struct load_result r;
	struct load *l;
	struct serve_opts so = {
		.mode = mode_of(_i),
		.loop = loop_of(_i),
		.on_record = load_record,
		.workers_nice = true, /* see sfx_start() */
	};
	struct serve *s;

	load_defaults(&o);
	o.duration_ms = (unsigned)(1500 * fx_scale());
	o.seed = fx_seed("abandon load");
	l = load_new(&o);
	ck_assert_ptr_nonnull(l);
	so.arg = l;
	ck_assert_int_eq(serve_start(&so, &s), 0);
	ck_assert_int_eq(load_run(l, NULL, serve_port(s), &r), 0);
	serve_stop(s);
	load_free(l);
	printf("abandon %s/%s: %llu sent, %llu answered, %llu left, "
	       "%llu records, %llu cancelled, %.1f ms CPU after leaving\n",
	       serve_mode_name(so.mode), serve_loop_name(so.loop),
	       (unsigned long long)r.sent, (unsigned long long)r.answered,
	       (unsigned long long)r.left, (unsigned long long)r.records,
	       (unsigned long long)r.srv_cancelled, r.cpu_after_left_ms);
	ck_assert(r.add_up);
	ck_assert_uint_eq(r.false_cancels, 0);
	ck_assert_uint_eq(r.lost, 0);
	ck_assert_uint_eq(r.dial_failed, 0);
	ck_assert_uint_gt(r.answered, 0);
	ck_assert_uint_eq(r.records, r.srv_requests);
	ck_assert_uint_eq(r.records + r.unseen, r.sent);
	if (so.mode == SERVE_OFF)
		ck_assert_uint_eq(r.srv_cancelled, 0);
	if (so.mode == SERVE_EPOLL || so.mode == SERVE_COMPARE)
		ck_assert_uint_eq(r.pipe_close_ran, 0);
}
END_TEST

/* Stopping with a request running and one queued ends both (failed, shut
 * down) and closes everything. */
START_TEST(test_stop_with_work)
{
	struct sfx x;
	struct serve_record r;
	int a, b;

	sfx_start(&x, mode_of(_i), loop_of(_i), SERVE_HALF_CANCEL, 1);
	a = sfx_dial(&x);
	sfx_send_work(a, LONG_MS, 1, 1);
	b = sfx_dial(&x);
	sfx_send_work(b, LONG_MS, 2, 1);
	ck_assert(sfx_requests(&x, 2, SOON_MS));
	serve_stop(x.srv);
	for (uint64_t id = 1; id <= 2; id++) {
		ck_assert(sfx_record(&x, id, 0, &r));
		ck_assert_int_eq(r.outcome, SERVE_FAILED);
		ck_assert_int_eq(r.fail, SERVE_FAIL_SHUTDOWN);
	}
	x.srv = NULL;
	close(a);
	close(b);
	sfx_stop(&x);
}
END_TEST

/* ---- the Unix listener ---------------------------------------------- */

/* Requests cancelled for cause c, queued or running (a request watched may
 * not have reached its worker yet when its client leaves). */
static uint64_t cancelled_by(const struct serve_counters *n,
			     enum hupmon_cause c)
{
	return n->cancelled[c][0] + n->cancelled[c][1];
}

/* A server with the Unix listener only, at dir/s. */
static void start_unix(struct sfx *x, const char *dir, char path[64],
		       enum serve_mode mode, enum serve_loop loop,
		       enum serve_half_close half)
{
	struct serve_opts o = {
		.mode = mode,
		.loop = loop,
		.half_close = half,
		.workers = 1,
		.unix_path = sfx_dir_path(dir, "s", path),
		.no_tcp = true,
	};

	sfx_start_opts(x, &o);
	ck_assert_uint_eq(sfx_port(x), 0); /* no TCP listener */
}

/* Over the Unix listener, in every watching mode and both loops: an answer
 * to a client that waits; a close in flight is HANGUP (not PEER_SHUTDOWN
 * as over TCP) and a close with our answer unread RESET, each cancelled
 * within 2 s; the watches counted as Unix ones; the socket file gone
 * after the stop. */
START_TEST(test_unix_peer_acts)
{
	struct sfx x;
	struct sfx_reader rd = {0};
	struct http_resp h;
	struct serve_record r;
	struct serve_counters n;
	char dir[32], path[64];
	int fd;

	sfx_dir_make(dir);
	start_unix(&x, dir, path, on_mode_of(_i), on_loop_of(_i),
		   SERVE_HALF_CANCEL);
	rd.fd = sfx_dial(&x);
	sfx_send_work(rd.fd, 5, 1, 1);
	ck_assert_int_eq(sfx_read(&rd, 10000, &h), 200);
	ck_assert_uint_eq(h.id, 1);
	ck_assert(sfx_record(&x, 1, SOON_MS, &r));
	ck_assert_int_eq(r.outcome, SERVE_COMPLETED);
	close(rd.fd);

	fd = in_flight(&x, LONG_MS, 2, 1);
	ck_assert(sfx_watched_by_family(&x, 0, 1, SOON_MS));
	close(fd);
	expect_cancelled(&x, 2, HUPMON_CAUSE_HANGUP, &r);
	ck_assert(!r.half_closed); /* no PEER_SHUTDOWN before it */

	/* 3 is answered and left unread; 4 runs when the client closes */
	fd = sfx_dial(&x);
	sfx_send(fd, "GET /work?ms=1 HTTP/1.1\r\nX-Request-Id: 3\r\n\r\n"
		     "GET /work?ms=5000 HTTP/1.1\r\nX-Request-Id: 4\r\n\r\n");
	ck_assert(sfx_requests(&x, 4, SOON_MS));
	ck_assert(sfx_watched(&x, 1, SOON_MS)); /* 4's watch: 3 unwatched */
	close(fd);
	expect_cancelled(&x, 4, HUPMON_CAUSE_RESET, &r);
	ck_assert(sfx_record(&x, 3, 0, &r));
	ck_assert_int_eq(r.outcome, SERVE_COMPLETED);

	ck_assert(sfx_watched_by_family(&x, 0, 0, SOON_MS));
	n = sfx_counters(&x);
	ck_assert_uint_eq(serve_completed(&n), 2);
	ck_assert_uint_eq(cancelled_by(&n, HUPMON_CAUSE_HANGUP), 1);
	ck_assert_uint_eq(cancelled_by(&n, HUPMON_CAUSE_RESET), 1);
	ck_assert_uint_eq(n.half_close[0] + n.half_close[1], 0);
	expect_adds_up(&x);
	sfx_stop(&x);
	sfx_dir_remove(dir); /* empty: the socket file went with the server */
}
END_TEST

/* shutdown(SHUT_WR) over Unix is PEER_SHUTDOWN, as over TCP: cancelled
 * under the cancel policy, answered under wait. Under wait a close is
 * still cancelled (HANGUP): over Unix the two are told apart. */
START_TEST(test_unix_half_close)
{
	enum serve_half_close half = _i ? SERVE_HALF_WAIT : SERVE_HALF_CANCEL;
	struct sfx x;
	struct serve_record r;
	struct serve_counters n;
	char dir[32], path[64];

	sfx_dir_make(dir);
	start_unix(&x, dir, path, SERVE_EPOLL, SERVE_LOOP_THREAD, half);
	half_close_request(&x, half);
	close(in_flight(&x, LONG_MS, 2, 1));
	expect_cancelled(&x, 2, HUPMON_CAUSE_HANGUP, &r);
	n = sfx_counters(&x);
	ck_assert_uint_eq(n.half_close[half == SERVE_HALF_WAIT], 1);
	ck_assert_uint_eq(cancelled_by(&n, HUPMON_CAUSE_HANGUP), 1);
	sfx_stop(&x);
	sfx_dir_remove(dir);
}
END_TEST

/* Both listeners: a TCP client and a Unix one in flight at once, counted
 * by family (the stats and /metrics' gauges); a close of each cancels its
 * request with its family's cause. An abstract name leaves no file. */
START_TEST(test_unix_beside_tcp)
{
	char name[64];
	struct serve_opts o = {
		.mode = SERVE_EPOLL,
		.workers = 2,
		.unix_path = name,
	};
	struct sfx x;
	struct sfx_reader m = {0};
	struct serve_record r;
	uint64_t v;
	int t, u;

	snprintf(name, sizeof(name), "@hupmon-check-serve-%d", (int)getpid());
	sfx_start_opts(&x, &o);
	ck_assert_uint_ne(sfx_port(&x), 0);
	t = sfx_dial(&x); /* TCP */
	sfx_send_work(t, LONG_MS, 1, 1);
	u = sfx_dial_unix(&x);
	sfx_send_work(u, LONG_MS, 2, 1);
	ck_assert(sfx_watched_by_family(&x, 1, 1, SOON_MS));
	m.fd = sfx_dial_unix(&x);
	ck_assert(sfx_metric(&m, "hupmon_watched_unix_sockets", &v));
	ck_assert_uint_eq(v, 1);
	ck_assert(sfx_metric(&m, "hupmon_watched_tcp_sockets", &v));
	ck_assert_uint_eq(v, 1);
	ck_assert(sfx_metric(&m, "hupmon_watched_sockets", &v));
	ck_assert_uint_eq(v, 2);
	close(t);
	expect_cancelled(&x, 1, HUPMON_CAUSE_PEER_SHUTDOWN, &r);
	close(u);
	expect_cancelled(&x, 2, HUPMON_CAUSE_HANGUP, &r);
	ck_assert(sfx_watched_by_family(&x, 0, 0, SOON_MS));
	close(m.fd);
	expect_adds_up(&x);
	sfx_stop(&x);
}
END_TEST

/* A file of size n at path, written with n bytes of 'z'. */
static void put_file(const char *path, size_t n)
{
	char buf[64];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	memset(buf, 'z', sizeof(buf));
	ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
	close(fd);
}

/* A socket file at path that nobody listens on: bound, then closed. */
static void put_stale_socket(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
}

/* The errno of a connect() to the socket file at path (0 if it connects). */
static int connect_errno(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	ck_assert_int_ge(fd, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	rc = connect(fd, (struct sockaddr *)&a, sizeof(a)) ? errno : 0;
	close(fd);
	return rc;
}

/* serve_start() with the Unix listener only, at path. */
static int try_start(const char *path, struct serve **out)
{
	struct serve_opts o = {
		.mode = SERVE_EPOLL,
		.workers = 1,
		.workers_nice = true,
		.unix_path = path,
		.no_tcp = true,
	};

	return serve_start(&o, out);
}

/* What the listener does with the file at its path: a stale socket file
 * is replaced (and served); a regular file, a directory and a live
 * server's socket are refused and left as they were; no fd is left open
 * by a refusal (the fixture counts them). */
START_TEST(test_unix_path_rules)
{
	struct sfx x;
	struct sfx_reader rd = {0};
	struct http_resp h;
	struct serve *s = NULL;
	struct stat st, st2;
	char dir[32], path[64], other[64];
	char longer[SERVE_UNIX_NAME_MAX + 3]; /* 109 bytes and a NUL */

	sfx_dir_make(dir);
	sfx_dir_path(dir, "s", path);
	put_stale_socket(path);
	ck_assert_int_eq(connect_errno(path), ECONNREFUSED);
	start_unix(&x, dir, path, SERVE_EPOLL, SERVE_LOOP_THREAD,
		   SERVE_HALF_CANCEL);
	ck_assert_int_eq(lstat(path, &st2), 0);
	ck_assert(S_ISSOCK(st2.st_mode));
	rd.fd = sfx_dial(&x); /* a listener there now */
	sfx_send_work(rd.fd, 1, 1, 1);
	ck_assert_int_eq(sfx_read(&rd, 10000, &h), 200);
	close(rd.fd);

	/* a live server's socket: refused, that server's file and service
	 * untouched */
	ck_assert_int_eq(try_start(path, &s), -EADDRINUSE);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_uint_eq(st.st_ino, st2.st_ino);
	ck_assert_int_eq(st.st_ctim.tv_nsec, st2.st_ctim.tv_nsec);
	rd.fd = sfx_dial(&x);
	sfx_send_work(rd.fd, 1, 2, 1);
	ck_assert_int_eq(sfx_read(&rd, 10000, &h), 200);
	close(rd.fd);

	/* its file replaced by another socket file while it runs (which
	 * may well get the freed inode's number): not removed at stop */
	ck_assert_int_eq(unlink(path), 0);
	put_stale_socket(path);
	sfx_stop(&x);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));

	/* a regular file, a directory: refused, left in place */
	ck_assert_int_eq(unlink(path), 0);
	put_file(path, 3);
	ck_assert_int_eq(try_start(path, &s), -EEXIST);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_size, 3);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(try_start(path, &s), -EEXIST);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(rmdir(path), 0);

	/* no such folder; names of 108 bytes (107 fit); nowhere to listen */
	ck_assert_int_eq(try_start(sfx_dir_path(dir, "no/s", other), &s),
			 -ENOENT);
	memset(longer, 'n', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	longer[0] = '@'; /* and 108 bytes */
	ck_assert_int_eq(try_start(longer, &s), -ENAMETOOLONG);
	longer[0] = '/';
	longer[SERVE_UNIX_NAME_MAX + 1] = '\0'; /* 108 bytes */
	ck_assert_int_eq(try_start(longer, &s), -ENAMETOOLONG);
	ck_assert_int_eq(try_start(NULL, &s), -EINVAL);
	ck_assert_ptr_null(s);
	sfx_dir_remove(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("serve");
	TCase *tc = tcase_create("serve");

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_answered, 0, 8);
	tcase_add_loop_test(tc, test_fin_and_rst_cancel, 0, 6);
	tcase_add_loop_test(tc, test_queued_dropped, 0, 2);
	tcase_add_loop_test(tc, test_half_close, 0, 2);
	tcase_add_loop_test(tc, test_pipelined_answered, 0, 8);
	tcase_add_loop_test(tc, test_pipelined_then_close, 0, 6);
	tcase_add_loop_test(tc, test_unread_byte_then_close, 0, 6);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_loop_test(tc, test_metrics_one_exposition, 0, 4);
	tcase_add_loop_test(tc, test_abandon_load, 0, 8);
	tcase_add_loop_test(tc, test_stop_with_work, 0, 8);
	tcase_add_loop_test(tc, test_unix_peer_acts, 0, 6);
	tcase_add_loop_test(tc, test_unix_half_close, 0, 2);
	tcase_add_test(tc, test_unix_beside_tcp);
	tcase_add_test(tc, test_unix_path_rules);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
