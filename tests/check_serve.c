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
 * Every wait is bounded and generous ("within 2 s"); nothing sleeps to let
 * something happen.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
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
	ck_assert(r.ran);
	n = sfx_counters(&x);
	ck_assert_uint_eq(n.cancelled[HUPMON_CAUSE_PEER_SHUTDOWN][0], 1);
	ck_assert_uint_eq(n.cancelled[HUPMON_CAUSE_PEER_SHUTDOWN][1], 1);
	ck_assert_uint_eq(n.cancel_latency.count, 2);
	sfx_stop(&x);
}
END_TEST

/* Request, shutdown(SHUT_WR), wait. Policy cancel: cancelled, no answer.
 * Policy wait: answered, counted as answered to a half-closed client. */
START_TEST(test_half_close)
{
	enum serve_half_close half = _i ? SERVE_HALF_WAIT : SERVE_HALF_CANCEL;
	struct sfx x;
	struct sfx_reader rd = {0};
	struct http_resp h;
	struct serve_record r;
	struct serve_counters n;

	sfx_start(&x, SERVE_EPOLL, SERVE_LOOP_THREAD, half, 1);
	rd.fd = sfx_dial(&x);
	sfx_send_work(rd.fd, half == SERVE_HALF_WAIT ? 50 : LONG_MS, 1, 1);
	ck_assert(sfx_watched(&x, 1, SOON_MS));
	shutdown(rd.fd, SHUT_WR);
	if (half == SERVE_HALF_CANCEL) {
		expect_cancelled(&x, 1, HUPMON_CAUSE_PEER_SHUTDOWN, &r);
		ck_assert_int_eq(sfx_read(&rd, SOON_MS, &h), 0);
	} else {
		ck_assert_int_eq(sfx_read(&rd, 10000, &h), 200);
		ck_assert(!h.keep_alive);
		ck_assert(sfx_record(&x, 1, SOON_MS, &r));
		ck_assert_int_eq(r.outcome, SERVE_COMPLETED);
		ck_assert(r.half_closed);
	}
	close(rd.fd);
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
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
