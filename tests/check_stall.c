/* SPDX-License-Identifier: MIT */
/*
 * check_stall: stall reports end to end on loopback (no root). A client
 * with a small receive buffer stops reading while the server writes
 * (non-blocking, no user timeout): the server's socket shows a shut window
 * and hupmon reports STALLED/ZERO_WINDOW; the client then drains
 * everything and hupmon reports RECOVERED. Also: the config errors, a
 * kernel whose TCP_INFO is too short (test hook), a reset that closes an
 * open episode without RECOVERED, per-watch off, and no stall on a busy
 * healthy connection. Stall tracking goes on through a half-close: a client
 * that shut its write side and stops reading is reported (CLOSE_WAIT), and
 * so is one whose server then shuts down its own side with data still
 * queued behind the FIN (LAST_ACK); neither PEER_SHUTDOWN nor HANGUP ends
 * the episode, the drain does (RECOVERED).
 *
 * Bounds are generous: "detected within 3 s" of the window shutting with
 * stall_ms = 1 s and a 100 ms period, "none" over several stall_ms. No
 * sleep is synchronisation: every wait dispatches until a condition holds
 * or a deadline passes.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "detect_stall.h"
#include "fixture.h"
#include "hupmon.h"
#include "state.h"

#define STALL_MS  1000
#define PERIOD_MS 100
#define DETECT_MS 3000 /* "detected within 3 s" */

static hupmon *new_monitor(struct fx_stall_log *l, unsigned paths)
{
	struct hupmon_config cfg = {
		.on_hangup = fx_stall_log_on_hangup,
		.on_stall = fx_stall_log_on_stall,
		.arg = l,
		.paths = paths,
		.sweep_period_ms = PERIOD_MS,
		.sweep_tick_ms = 10,
		.stall_ms = STALL_MS,
	};
	hupmon *m = NULL;

	memset(l, 0, sizeof(*l));
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	return m;
}

static size_t count(const struct fx_stall_log *l, hupmon_id id,
		    enum hupmon_stall_kind kind, enum hupmon_stall_reason r)
{
	size_t n = 0;

	for (size_t i = 0; i < l->nst; i++)
		n += l->st[i].id == id && l->st[i].kind == kind &&
		     l->st[i].reason == r;
	return n;
}

/* Dispatches until pred-like: at least want stall events of the kind for
 * id, or deadline; returns whether it got there. */
static bool until_stall(hupmon *m, struct fx_stall_log *l, hupmon_id id,
			enum hupmon_stall_kind kind, enum hupmon_stall_reason r,
			int deadline_ms)
{
	uint64_t end = fx_now_ns() + (uint64_t)deadline_ms * 1000000u;

	while (count(l, id, kind, r) == 0 && fx_now_ns() < end)
		ck_assert_int_ge(hupmon_dispatch(m, 20), 0);
	return count(l, id, kind, r) > 0;
}

START_TEST(test_zero_window_recovered)
{
	struct fx_stall_log l;
	hupmon *m = new_monitor(&l, _i ? HUPMON_PATHS_BOTH : HUPMON_PATH_SWEEP);
	struct hupmon_stats st;
	int srv, cli;
	hupmon_id id;
	size_t sent, got = 0;
	uint64_t t0, end;

	fx_small_pair(&srv, &cli);
	id = fx_watch_ok(m, srv, &l);
	fx_dispatch_for(m, 2 * PERIOD_MS); /* idle: nothing */
	ck_assert_uint_eq(l.nst, 0);

	t0 = fx_now_ns();
	sent = fx_fill(srv);
	ck_assert_uint_gt(sent, 0);
	ck_assert_msg(until_stall(m, &l, id, HUPMON_STALL_KIND_STALLED,
				  HUPMON_STALL_REASON_ZERO_WINDOW, DETECT_MS),
		      "no ZERO_WINDOW within %d ms", DETECT_MS);
	ck_assert_uint_eq(l.nst, 1);
	ck_assert_int_eq(l.st[0].fd, srv);
	ck_assert_ptr_eq(l.st[0].user, &l);
	ck_assert(!l.st[0].escalation);
	/* Not before stall_ms of no progress: the window shut within a
	 * round trip of the fill. */
	ck_assert_uint_ge(l.st[0].detected_ns - t0,
			  (uint64_t)STALL_MS * 1000000u);

	/* The client drains everything: progress, RECOVERED. */
	end = fx_now_ns() + 5000u * 1000000u;
	while (got < sent && fx_now_ns() < end) {
		got += fx_drain(cli);
		ck_assert_int_ge(hupmon_dispatch(m, 5), 0);
	}
	ck_assert_uint_eq(got, sent);
	ck_assert_msg(until_stall(m, &l, id, HUPMON_STALL_KIND_RECOVERED,
				  HUPMON_STALL_REASON_ZERO_WINDOW, DETECT_MS),
		      "no RECOVERED within %d ms", DETECT_MS);
	fx_dispatch_for(m, 2 * STALL_MS); /* quiet: each report once */
	ck_assert_uint_eq(l.nst, 2);
	ck_assert_uint_eq(l.nhup, 0);

	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.stalls[HUPMON_STALL_REASON_ZERO_WINDOW], 1);
	ck_assert_uint_eq(st.stalls[HUPMON_STALL_REASON_NO_ACK], 0);
	ck_assert_uint_eq(st.stall_recoveries[HUPMON_STALL_REASON_ZERO_WINDOW],
			  1);
	ck_assert_uint_eq(st.stall_escalations, 0);
	ck_assert_uint_eq(st.stall_closed, 0);
	ck_assert_uint_eq(st.watched, 1);

	fx_unwatch_ok(m, id);
	hupmon_free(m);
	fx_close_ok(srv);
	fx_close_ok(cli);
}
END_TEST

static int try_new(unsigned paths, enum hupmon_sweep_method method,
		   uint32_t period, uint32_t stall_ms)
{
	struct hupmon_config cfg = {.paths = paths,
				    .sweep_method = method,
				    .sweep_period_ms = period,
				    .stall_ms = stall_ms};
	hupmon *m = (hupmon *)&cfg;
	int err = hupmon_new(&cfg, &m);

	if (!err)
		hupmon_free(m);
	else
		ck_assert_ptr_null(m);
	return err;
}

START_TEST(test_config_errors)
{
	/* the sweep path off */
	ck_assert_int_eq(try_new(HUPMON_PATH_EPOLL, 0, 100, 1000), -EINVAL);
	/* PEEK */
	ck_assert_int_eq(try_new(0, HUPMON_SWEEP_PEEK, 100, 1000), -EINVAL);
	ck_assert_int_eq(
		try_new(HUPMON_PATH_SWEEP, HUPMON_SWEEP_PEEK, 100, 1000),
		-EINVAL);
	/* below 2 x the period, the default period (1 s) included */
	ck_assert_int_eq(try_new(0, 0, 100, 199), -EINVAL);
	ck_assert_int_eq(try_new(0, 0, 0, 1999), -EINVAL);
	ck_assert_int_eq(try_new(0, 0, 100, 200), 0);
	ck_assert_int_eq(try_new(0, 0, 0, 2000), 0);
	/* above what the classifier can time */
	ck_assert_int_eq(try_new(0, 0, 100, HUPMON__STALL_MAX_MS), 0);
	ck_assert_int_eq(try_new(0, 0, 100, HUPMON__STALL_MAX_MS + 1), -EINVAL);
	ck_assert_int_eq(try_new(0, HUPMON_SWEEP_TCP_INFO, 1000, 2000), 0);
	/* off: every other config as before */
	ck_assert_int_eq(try_new(HUPMON_PATH_EPOLL, 0, 0, 0), 0);
	ck_assert_int_eq(try_new(0, HUPMON_SWEEP_PEEK, 100, 0), 0);
}
END_TEST

/* A kernel older than 5.4 returns a TCP_INFO without tcpi_snd_wnd. */
static void short_info(struct hupmon *m, int fd, unsigned *len)
{
	(void)m;
	(void)fd;
	if (*len > 104)
		*len = 104; /* glibc's struct tcp_info */
}

START_TEST(test_short_tcp_info)
{
	struct fx_stall_log l;
	hupmon *m = new_monitor(&l, HUPMON_PATH_SWEEP);
	struct hupmon_watch_opts off = {.user = &l, .no_stall = true};
	struct hupmon_stats st;
	hupmon_id id = 0;
	int srv, cli;

	fx_pair_ok(AF_INET, &srv, &cli);
	m->tcp_info_hook = short_info;
	ck_assert_int_eq(hupmon_watch(m, srv, NULL, &id), -EOPNOTSUPP);
	ck_assert_uint_eq(id, 0);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watched, 0);
	ck_assert_uint_eq(st.swept, 0);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_OTHER], 1);
	/* Without stall tracking the socket is watched as ever. */
	ck_assert_int_eq(hupmon_watch_ex(m, srv, &off, &id), 0);
	ck_assert_uint_ne(id, 0);
	fx_dispatch_for(m, 2 * PERIOD_MS);
	fx_get_stats(m, &st);
	ck_assert_uint_ge(st.sweep_probes, 1);
	fx_unwatch_ok(m, id);
	hupmon_free(m);
	fx_close_ok(srv);
	fx_close_ok(cli);
}
END_TEST

START_TEST(test_hangup_closes_episode)
{
	struct fx_stall_log l;
	hupmon *m = new_monitor(&l, _i ? HUPMON_PATHS_BOTH : HUPMON_PATH_SWEEP);
	struct hupmon_stats st;
	uint64_t end;
	int srv, cli;
	hupmon_id id;

	fx_small_pair(&srv, &cli);
	id = fx_watch_ok(m, srv, NULL);
	ck_assert_uint_gt(fx_fill(srv), 0);
	ck_assert(until_stall(m, &l, id, HUPMON_STALL_KIND_STALLED,
			      HUPMON_STALL_REASON_ZERO_WINDOW, DETECT_MS));
	/* The client goes with unread data: the kernel sends an RST. */
	fx_close_rst(cli);
	end = fx_now_ns() + (uint64_t)FX_SWEEP_REPORT_MS * 1000000u;
	while (l.nhup == 0 && fx_now_ns() < end)
		ck_assert_int_ge(hupmon_dispatch(m, 20), 0);
	ck_assert_uint_ge(l.nhup, 1);
	ck_assert_int_eq(l.hup[l.nhup - 1].cause, HUPMON_CAUSE_RESET);
	fx_dispatch_for(m, 2 * STALL_MS);
	/* No RECOVERED: the episode ended with the connection. */
	ck_assert_uint_eq(l.nst, 1);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.stall_closed, 1);
	ck_assert_uint_eq(st.stall_recoveries[HUPMON_STALL_REASON_ZERO_WINDOW],
			  0);
	fx_unwatch_ok(m, id);
	hupmon_free(m);
	fx_close_ok(srv);
}
END_TEST

/* Dispatches until a hangup report of the cause for id, or deadline;
 * returns whether it came. */
static bool until_hangup(hupmon *m, struct fx_stall_log *l, hupmon_id id,
			 enum hupmon_cause cause, int deadline_ms)
{
	uint64_t end = fx_now_ns() + (uint64_t)deadline_ms * 1000000u;

	for (;;) {
		for (size_t i = 0; i < l->nhup; i++)
			if (l->hup[i].id == id && l->hup[i].cause == cause)
				return true;
		if (fx_now_ns() >= end)
			return false;
		ck_assert_int_ge(hupmon_dispatch(m, 20), 0);
	}
}

/* tcpi_state and tcpi_notsent_bytes of fd. */
static void state_of(int fd, unsigned *state, uint32_t *notsent)
{
	struct hupmon__tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	*state = ti.state;
	*notsent = ti.notsent_bytes;
}

/*
 * The client sends its request and shuts down its write side (a FIN: the
 * server's socket is in CLOSE_WAIT, PEER_SHUTDOWN is reported), then stops
 * reading while the server writes its answer. _i bit 0: both paths (else
 * the sweep alone); bit 1: the server then shuts down its own side, as a
 * close-delimited HTTP/1.0 answer does (LAST_ACK: HANGUP is reported, the
 * data still queued behind our FIN). Either way the stall is reported, and
 * the drain that follows ends the episode with RECOVERED, not a close.
 */
START_TEST(test_half_closed_reader)
{
	bool both = _i & 1, own_shutdown = _i & 2;
	struct fx_stall_log l;
	hupmon *m =
		new_monitor(&l, both ? HUPMON_PATHS_BOTH : HUPMON_PATH_SWEEP);
	struct hupmon_stats st;
	unsigned state;
	uint32_t notsent;
	int srv, cli;
	hupmon_id id;
	size_t sent, got = 0;
	uint64_t t0, end;

	fx_small_pair(&srv, &cli);
	id = fx_watch_ok(m, srv, &l);
	fx_half_close(cli);
	ck_assert_msg(until_hangup(m, &l, id, HUPMON_CAUSE_PEER_SHUTDOWN,
				   FX_SWEEP_REPORT_MS),
		      "no PEER_SHUTDOWN");
	t0 = fx_now_ns();
	sent = fx_fill(srv);
	ck_assert_uint_gt(sent, 0);
	if (own_shutdown) {
		ck_assert_int_eq(shutdown(srv, SHUT_WR), 0);
		ck_assert_msg(until_hangup(m, &l, id, HUPMON_CAUSE_HANGUP,
					   FX_SWEEP_REPORT_MS),
			      "no HANGUP after our shutdown");
	}
	ck_assert_msg(until_stall(m, &l, id, HUPMON_STALL_KIND_STALLED,
				  HUPMON_STALL_REASON_ZERO_WINDOW, DETECT_MS),
		      "no ZERO_WINDOW within %d ms of the write", DETECT_MS);
	ck_assert_uint_ge(l.st[0].detected_ns - t0,
			  (uint64_t)STALL_MS * 1000000u);
	/* What the report is about: our data still queued, in the state the
	 * case is about. */
	state_of(srv, &state, &notsent);
	ck_assert_uint_eq(state, own_shutdown ? TCP_LAST_ACK : TCP_CLOSE_WAIT);
	ck_assert_uint_gt(notsent, 0);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.stall_closed, 0);

	/* The client reads everything: RECOVERED (in LAST_ACK, the probe may
	 * find the connection already closed: its last sample shows the
	 * progress). */
	end = fx_now_ns() + 5000u * 1000000u;
	while (got < sent && fx_now_ns() < end) {
		got += fx_drain(cli);
		ck_assert_int_ge(hupmon_dispatch(m, 5), 0);
	}
	ck_assert_uint_eq(got, sent);
	ck_assert_msg(until_stall(m, &l, id, HUPMON_STALL_KIND_RECOVERED,
				  HUPMON_STALL_REASON_ZERO_WINDOW, DETECT_MS),
		      "no RECOVERED within %d ms", DETECT_MS);
	fx_dispatch_for(m, 3 * PERIOD_MS);
	ck_assert_uint_eq(l.nst, 2);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.stalls[HUPMON_STALL_REASON_ZERO_WINDOW], 1);
	ck_assert_uint_eq(st.stall_recoveries[HUPMON_STALL_REASON_ZERO_WINDOW],
			  1);
	ck_assert_uint_eq(st.stall_closed, 0);
	fx_unwatch_ok(m, id);
	hupmon_free(m);
	fx_close_ok(srv);
	fx_close_ok(cli);
}
END_TEST

/* Two sockets in the same shut-window state, one with stall tracking off:
 * only the other is reported, and the untracked one gets no state. */
START_TEST(test_per_watch_off)
{
	struct fx_stall_log l;
	hupmon *m = new_monitor(&l, HUPMON_PATH_SWEEP);
	struct hupmon_watch_opts off = {.no_stall = true};
	int srv[2], cli[2];
	hupmon_id id[2];

	for (int i = 0; i < 2; i++)
		fx_small_pair(&srv[i], &cli[i]);
	ck_assert_int_eq(hupmon_watch_ex(m, srv[0], &off, &id[0]), 0);
	id[1] = fx_watch_ok(m, srv[1], NULL);
	ck_assert_ptr_null(hupmon__sweep_stall(m, (uint32_t)id[0]));
	ck_assert_ptr_nonnull(hupmon__sweep_stall(m, (uint32_t)id[1]));
	for (int i = 0; i < 2; i++)
		ck_assert_uint_gt(fx_fill(srv[i]), 0);
	ck_assert(until_stall(m, &l, id[1], HUPMON_STALL_KIND_STALLED,
			      HUPMON_STALL_REASON_ZERO_WINDOW, DETECT_MS));
	fx_dispatch_for(m, 3 * STALL_MS);
	ck_assert_uint_eq(l.nst, 1);
	ck_assert_uint_eq(l.st[0].id, id[1]);
	for (int i = 0; i < 2; i++) {
		fx_unwatch_ok(m, id[i]);
		fx_close_ok(srv[i]);
		fx_close_ok(cli[i]);
	}
	hupmon_free(m);
}
END_TEST

/* Off by default: no state allocated, no report, 8-byte probes. */
START_TEST(test_off_by_default)
{
	struct hupmon_config cfg = {.paths = HUPMON_PATH_SWEEP,
				    .sweep_period_ms = PERIOD_MS};
	hupmon *m = NULL;
	int srv, cli;
	hupmon_id id;

	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	fx_small_pair(&srv, &cli);
	id = fx_watch_ok(m, srv, NULL);
	ck_assert_ptr_null(m->sweep.stall);
	ck_assert_ptr_null(hupmon__sweep_stall(m, (uint32_t)id));
	fx_unwatch_ok(m, id);
	hupmon_free(m);
	fx_close_ok(srv);
	fx_close_ok(cli);
}
END_TEST

/* A busy healthy connection: the client reads all the time while the
 * server writes as fast as it can for 3 stall_ms: no stall. */
START_TEST(test_busy_no_stall)
{
	struct fx_stall_log l;
	hupmon *m = new_monitor(&l, HUPMON_PATH_SWEEP);
	uint64_t end = fx_now_ns() + 3u * STALL_MS * 1000000u;
	size_t sent = 0, got = 0;
	int srv, cli;
	hupmon_id id;

	fx_small_pair(&srv, &cli);
	id = fx_watch_ok(m, srv, NULL);
	while (fx_now_ns() < end) {
		sent += fx_fill(srv);
		got += fx_drain(cli);
		ck_assert_int_ge(hupmon_dispatch(m, 0), 0);
	}
	ck_assert_uint_gt(got, 0);
	ck_assert_uint_eq(l.nst, 0);
	(void)sent;
	fx_unwatch_ok(m, id);
	hupmon_free(m);
	fx_close_ok(srv);
	fx_close_ok(cli);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("stall");

	fx_add_case(su, "zero_window_recovered", test_zero_window_recovered, 2,
		    30);
	fx_add_case(su, "config_errors", test_config_errors, 0, 10);
	fx_add_case(su, "short_tcp_info", test_short_tcp_info, 0, 10);
	fx_add_case(su, "hangup_closes_episode", test_hangup_closes_episode, 2,
		    30);
	fx_add_case(su, "half_closed_reader", test_half_closed_reader, 4, 30);
	fx_add_case(su, "per_watch_off", test_per_watch_off, 0, 30);
	fx_add_case(su, "off_by_default", test_off_by_default, 0, 10);
	fx_add_case(su, "busy_no_stall", test_busy_no_stall, 0, 30);
	return fx_run_suite(su);
}
