/* SPDX-License-Identifier: MIT */
/*
 * check_query: hupmon_query end to end on loopback. A live idle socket
 * reads NONE, no stall; a FIN that reached the socket but no dispatch
 * yet still reads NONE (the query makes no syscall); after the FIN is
 * dispatched it reads PEER_SHUTDOWN, after our write draws the peer's RST
 * RESET/EPIPE, each matching what on_hangup is told, compared inside the
 * callback and after it, on the epoll path, the sweep path and both in
 * compare mode (where the path stays the first one's). With both paths
 * the path is the one whose report the status shows, whichever came first
 * (observations handed to the delivery in a chosen order). Reports only
 * counted (no on_hangup) show too. A stall (a peer that stops reading, its
 * window shut) reads ZERO_WINDOW inside on_stall and after, then NONE
 * after RECOVERED, or after an RST ends the episode. Ids not
 * watched are -ENOENT, NULLs and sizes the ABI rule refuses -EINVAL or
 * -E2BIG, *out untouched. One thread queries every socket while another
 * runs the monitor and the peers leave: the causes it reads only ever
 * rise, and end as the last on_hangup said.
 *
 * Every monitor sets cfg.paths: which paths run is part of each test.
 * Bounds are generous ("within 2 s"); no sleep is synchronisation.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "deliver.h"
#include "fixture.h"
#include "hupmon.h"
#include "state.h"

#define STALL_MS	1000
#define STALL_DETECT_MS 5000 /* stall_ms + two probe-gap bounds, and more */
#define LOG_MAX		16

/* --- what the callbacks were told, and what a query said then ---------- */

struct seen {
	hupmon *m;
	size_t nhup;
	struct hupmon_event hup[LOG_MAX];
	int hup_rc[LOG_MAX];
	struct hupmon_status hup_q[LOG_MAX];
	size_t nst;
	struct hupmon_stall_event st[LOG_MAX];
	int st_rc[LOG_MAX];
	struct hupmon_status st_q[LOG_MAX];
};

/* The dispatching thread is the test's own: no lock. */
static void on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct seen *s = arg;

	if (s->nhup == LOG_MAX)
		return;
	s->hup[s->nhup] = *ev;
	s->hup_rc[s->nhup] = hupmon_query(s->m, ev->id, &s->hup_q[s->nhup]);
	s->nhup++;
}

static void on_stall(const struct hupmon_stall_event *ev, void *arg)
{
	struct seen *s = arg;

	if (s->nst == LOG_MAX)
		return;
	s->st[s->nst] = *ev;
	s->st_rc[s->nst] = hupmon_query(s->m, ev->id, &s->st_q[s->nst]);
	s->nst++;
}

/* The configurations of the loop tests (each path alone, and both in
 * compare mode), and both paths without compare. */
enum { CFG_EPOLL, CFG_SWEEP, CFG_COMPARE, CFG_COUNT, CFG_BOTH = CFG_COUNT };

static const char *cfg_name(int i)
{
	return i == CFG_EPOLL	  ? "epoll"
	       : i == CFG_SWEEP	  ? "sweep"
	       : i == CFG_COMPARE ? "compare"
				  : "both";
}

static hupmon *new_monitor(struct seen *s, int which, bool callbacks,
			   uint32_t stall_ms)
{
	struct hupmon_config cfg;
	int rc;

	memset(s, 0, sizeof(*s));
	memset(&cfg, 0, sizeof(cfg));
	cfg.on_hangup = callbacks ? on_hangup : NULL;
	cfg.on_stall = callbacks && stall_ms ? on_stall : NULL;
	cfg.arg = s;
	cfg.paths = which == CFG_EPOLL	 ? HUPMON_PATH_EPOLL
		    : which == CFG_SWEEP ? HUPMON_PATH_SWEEP
					 : HUPMON_PATHS_BOTH;
	cfg.compare = which == CFG_COMPARE;
	cfg.sweep_method = HUPMON_SWEEP_TCP_INFO;
	cfg.sweep_period_ms = FX_SWEEP_PERIOD_MS;
	cfg.sweep_tick_ms = FX_SWEEP_TICK_MS;
	cfg.stall_ms = stall_ms;
	rc = hupmon_new(&cfg, &s->m);
	ck_assert_msg(rc == 0, "hupmon_new (%s): %d", cfg_name(which), rc);
	return s->m;
}

/* How long a report may take on this configuration. */
static int report_ms(int which)
{
	return which == CFG_EPOLL ? FX_DEADLINE_MS : FX_SWEEP_REPORT_MS;
}

static void expect(const struct hupmon_status *st, enum hupmon_cause cause,
		   int error, enum hupmon_path path,
		   enum hupmon_stall_reason reason, const char *when)
{
	ck_assert_msg(st->cause == cause, "%s: cause %s, want %s", when,
		      hupmon_cause_name(st->cause), hupmon_cause_name(cause));
	ck_assert_msg(st->error == error, "%s: error %d, want %d", when,
		      st->error, error);
	ck_assert_msg(st->path == path, "%s: path %s, want %s", when,
		      hupmon_path_name(st->path), hupmon_path_name(path));
	ck_assert_msg(st->stall_reason == reason,
		      "%s: stall reason %s, want %s", when,
		      hupmon_stall_reason_name(st->stall_reason),
		      hupmon_stall_reason_name(reason));
}

static struct hupmon_status query_ok(hupmon *m, hupmon_id id)
{
	struct hupmon_status st;
	int rc;

	memset(&st, 0xa5, sizeof(st));
	rc = hupmon_query(m, id, &st);
	ck_assert_msg(rc == 0, "hupmon_query(%#llx): %d",
		      (unsigned long long)id, rc);
	return st;
}

/* The query made inside on_hangup number i, against the event. */
static void expect_in_callback(const struct seen *s, size_t i)
{
	const struct hupmon_event *ev = &s->hup[i];

	ck_assert_int_eq(s->hup_rc[i], 0);
	expect(&s->hup_q[i], ev->cause, ev->error, ev->path,
	       HUPMON_STALL_REASON_NONE, "inside on_hangup");
}

/* Dispatches until on_hangup has been told n reports, or ms pass. */
static bool until_hangups(struct seen *s, size_t n, int ms)
{
	uint64_t end = fx_now_ns() + (uint64_t)ms * 1000000u;

	for (int k = 0; k < 100000 && s->nhup < n && fx_now_ns() < end; k++)
		ck_assert_int_ge(hupmon_dispatch(s->m, 20), 0);
	return s->nhup >= n;
}

/* Dispatches until on_stall has been told n reports, or ms pass. */
static bool until_stalls(struct seen *s, size_t n, int ms)
{
	uint64_t end = fx_now_ns() + (uint64_t)ms * 1000000u;

	for (int k = 0; k < 100000 && s->nst < n && fx_now_ns() < end; k++)
		ck_assert_int_ge(hupmon_dispatch(s->m, 20), 0);
	return s->nst >= n;
}

/* --- a live idle socket -------------------------------------------------- */

START_TEST(test_idle)
{
	struct seen s;
	hupmon *m = new_monitor(&s, _i, true, 0);
	struct hupmon_stats stats;
	struct hupmon_status st;
	int srv, cli;
	hupmon_id id;

	fx_pair_ok(AF_INET, &srv, &cli);
	id = fx_watch_ok(m, srv, NULL);
	st = query_ok(m, id);
	expect(&st, HUPMON_CAUSE_NONE, 0, 0, HUPMON_STALL_REASON_NONE,
	       "just watched");
	/* Looked at: every path has had its say (the sweep probed it). */
	if (_i == CFG_EPOLL)
		fx_dispatch_for(m, FX_QUIET_MS);
	else
		fx_wait_laps(m, NULL, 2);
	hupmon_stats(m, &stats);
	ck_assert(_i == CFG_EPOLL || stats.sweep_probes >= 2);
	ck_assert_uint_eq(s.nhup, 0);
	st = query_ok(m, id);
	expect(&st, HUPMON_CAUSE_NONE, 0, 0, HUPMON_STALL_REASON_NONE,
	       "idle, looked at");

	fx_unwatch_ok(m, id);
	hupmon_free(m);
	fx_close_ok(srv);
	fx_close_ok(cli);
}
END_TEST

/* --- FIN, then RST: each cause as on_hangup is told it ------------------ */

START_TEST(test_fin_then_reset)
{
	struct seen s;
	hupmon *m = new_monitor(&s, _i, true, 0);
	enum hupmon_path first;
	struct hupmon_status st;
	int srv, cli, tag;
	hupmon_id id;

	fx_pair_ok(AF_INET, &srv, &cli);
	id = fx_watch_ok(m, srv, &tag);

	/* The FIN has reached the socket, but no dispatch has handled it:
	 * the query does not look at the socket. */
	fx_close_fin(cli);
	ck_assert(fx_wait_fd(srv, POLLRDHUP, FX_DEADLINE_MS) & POLLRDHUP);
	st = query_ok(m, id);
	expect(&st, HUPMON_CAUSE_NONE, 0, 0, HUPMON_STALL_REASON_NONE,
	       "FIN not dispatched yet");

	ck_assert_msg(until_hangups(&s, 1, report_ms(_i)), "%s: no FIN report",
		      cfg_name(_i));
	ck_assert_uint_eq(s.hup[0].id, id);
	ck_assert_int_eq(s.hup[0].cause, HUPMON_CAUSE_PEER_SHUTDOWN);
	first = s.hup[0].path;
	if (_i == CFG_EPOLL)
		ck_assert_int_eq(first, HUPMON_PATH_EPOLL);
	else if (_i == CFG_SWEEP)
		ck_assert_int_eq(first, HUPMON_PATH_SWEEP);
	expect_in_callback(&s, 0);
	st = query_ok(m, id);
	expect(&st, HUPMON_CAUSE_PEER_SHUTDOWN, 0, first,
	       HUPMON_STALL_REASON_NONE, "after the FIN's report");

	/* The client's socket is closed: our byte draws an RST, which the
	 * kernel turns into EPIPE in CLOSE_WAIT. */
	ck_assert_int_eq(send(srv, "x", 1, MSG_NOSIGNAL), 1);
	ck_assert_msg(until_hangups(&s, 2, report_ms(_i)),
		      "%s: no escalation after the RST", cfg_name(_i));
	ck_assert_int_eq(s.hup[1].cause, HUPMON_CAUSE_RESET);
	ck_assert_int_eq(s.hup[1].error, EPIPE);
	ck_assert(s.hup[1].escalation);
	expect_in_callback(&s, 1);
	st = query_ok(m, id);
	expect(&st, HUPMON_CAUSE_RESET, EPIPE, s.hup[1].path,
	       HUPMON_STALL_REASON_NONE, "after the RST's report");

	/* Compare mode: the second path's look at the same causes changes
	 * nothing: the cause and path reported are the first path's. Both
	 * outcomes are in once the second path saw each cause or missed it
	 * (it leaves the sweep then, so laps may stop: not a wait on laps). */
	if (_i == CFG_COMPARE) {
		uint64_t end =
			fx_now_ns() + (uint64_t)FX_SWEEP_REPORT_MS * 1000000u;
		struct hupmon_stats stats;

		do {
			ck_assert_int_ge(hupmon_dispatch(m, 20), 0);
			hupmon_stats(m, &stats);
		} while (fx_sum_cells(stats.cmp_second) +
					 fx_sum_cells(stats.cmp_missed) <
				 2 &&
			 fx_now_ns() < end);
		ck_assert_uint_eq(fx_sum_cells(stats.cmp_second) +
					  fx_sum_cells(stats.cmp_missed),
				  2);
	} else {
		fx_dispatch_for(m, FX_QUIET_MS);
	}
	ck_assert_uint_eq(s.nhup, 2);
	st = query_ok(m, id);
	expect(&st, HUPMON_CAUSE_RESET, EPIPE, s.hup[1].path,
	       HUPMON_STALL_REASON_NONE, "later");

	fx_unwatch_ok(m, id);
	memset(&st, 0x5a, sizeof(st));
	ck_assert_int_eq(hupmon_query(m, id, &st), -ENOENT);
	ck_assert_uint_eq(((unsigned char *)&st)[0], 0x5a);
	hupmon_free(m);
	fx_close_ok(srv);
}
END_TEST

/* --- the path follows the report, whichever path comes first ---------- */

/* With both paths, the sweep may report first (a tick handled before the
 * socket's event in one batch) and the epoll path a higher cause later, or
 * the other way round: the status names the path of the report it shows.
 * The observations are handed to the delivery as the paths would hand
 * them (the same entry both use), on a real watched socket, so that the
 * order is not left to the kernel's. */
static void observe(hupmon *m, hupmon_id id, enum hupmon_path path,
		    enum hupmon_cause cause)
{
	struct hupmon__report r = {
		.path = path, .cause = cause, .identified = true};

	pthread_mutex_lock(&m->lock);
	ck_assert_ptr_nonnull(hupmon__registry_get(&m->reg, id));
	hupmon__deliver_report(m, (uint32_t)id, &r);
	pthread_mutex_unlock(&m->lock);
}

START_TEST(test_path_follows_report)
{
	enum hupmon_path a = _i ? HUPMON_PATH_EPOLL : HUPMON_PATH_SWEEP;
	enum hupmon_path b = _i ? HUPMON_PATH_SWEEP : HUPMON_PATH_EPOLL;
	struct seen s;
	hupmon *m = new_monitor(&s, CFG_BOTH, true, 0);
	struct hupmon_status st;
	int srv, cli;
	hupmon_id id;

	fx_pair_ok(AF_INET, &srv, &cli);
	id = fx_watch_ok(m, srv, NULL);

	observe(m, id, a, HUPMON_CAUSE_PEER_SHUTDOWN);
	observe(m, id, b, HUPMON_CAUSE_PEER_SHUTDOWN); /* not news */
	ck_assert_uint_eq(s.nhup, 1);
	expect_in_callback(&s, 0);
	st = query_ok(m, id);
	expect(&st, HUPMON_CAUSE_PEER_SHUTDOWN, 0, a, HUPMON_STALL_REASON_NONE,
	       "first report");

	observe(m, id, b, HUPMON_CAUSE_HANGUP);
	ck_assert_uint_eq(s.nhup, 2);
	ck_assert_int_eq(s.hup[1].path, b);
	expect_in_callback(&s, 1);
	st = query_ok(m, id);
	expect(&st, HUPMON_CAUSE_HANGUP, 0, b, HUPMON_STALL_REASON_NONE,
	       "escalated by the other path");

	observe(m, id, a, HUPMON_CAUSE_HANGUP); /* not news */
	st = query_ok(m, id);
	expect(&st, HUPMON_CAUSE_HANGUP, 0, b, HUPMON_STALL_REASON_NONE,
	       "the first path again, nothing new");

	fx_unwatch_ok(m, id);
	hupmon_free(m);
	fx_close_ok(srv);
	fx_close_ok(cli);
}
END_TEST

/* --- no on_hangup: reports only counted show all the same -------------- */

START_TEST(test_counted_only)
{
	enum hupmon_path path = _i ? HUPMON_PATH_SWEEP : HUPMON_PATH_EPOLL;
	struct seen s;
	hupmon *m = new_monitor(&s, _i ? CFG_SWEEP : CFG_EPOLL, false, 0);
	uint64_t end = fx_now_ns() + (uint64_t)report_ms(_i) * 1000000u;
	struct hupmon_stats stats;
	struct hupmon_status st;
	int srv, cli;
	hupmon_id id;

	fx_pair_ok(AF_INET, &srv, &cli);
	id = fx_watch_ok(m, srv, NULL);
	fx_close_rst(cli);
	do {
		ck_assert_int_ge(hupmon_dispatch(m, 20), 0);
		hupmon_stats(m, &stats);
	} while (!stats.hangups[path][HUPMON_CAUSE_RESET] && fx_now_ns() < end);
	ck_assert_uint_eq(stats.hangups[path][HUPMON_CAUSE_RESET], 1);
	ck_assert_uint_eq(stats.callbacks, 0);
	st = query_ok(m, id);
	expect(&st, HUPMON_CAUSE_RESET, ECONNRESET, path,
	       HUPMON_STALL_REASON_NONE, "counted, no on_hangup");

	fx_unwatch_ok(m, id);
	hupmon_free(m);
	fx_close_ok(srv);
}
END_TEST

/* --- a stall episode ----------------------------------------------------- */

/* Loop 0: the client drains (RECOVERED); 1: it resets (the episode ends
 * with the connection, no RECOVERED). */
START_TEST(test_stall)
{
	struct seen s;
	hupmon *m = new_monitor(&s, CFG_SWEEP, true, STALL_MS);
	struct hupmon_status st;
	size_t sent, got = 0;
	int srv, cli;
	hupmon_id id;

	fx_small_pair(&srv, &cli);
	id = fx_watch_ok(m, srv, NULL);
	sent = fx_fill(srv);
	ck_assert_uint_gt(sent, 0);
	st = query_ok(m, id);
	expect(&st, HUPMON_CAUSE_NONE, 0, 0, HUPMON_STALL_REASON_NONE,
	       "window just shut");

	ck_assert_msg(until_stalls(&s, 1, STALL_DETECT_MS),
		      "no stall within %d ms", STALL_DETECT_MS);
	ck_assert_int_eq(s.st[0].kind, HUPMON_STALL_KIND_STALLED);
	ck_assert_int_eq(s.st[0].reason, HUPMON_STALL_REASON_ZERO_WINDOW);
	ck_assert_int_eq(s.st_rc[0], 0);
	expect(&s.st_q[0], HUPMON_CAUSE_NONE, 0, 0,
	       HUPMON_STALL_REASON_ZERO_WINDOW, "inside on_stall, STALLED");
	st = query_ok(m, id);
	expect(&st, HUPMON_CAUSE_NONE, 0, 0, HUPMON_STALL_REASON_ZERO_WINDOW,
	       "stalled");

	if (_i == 0) {
		uint64_t end = fx_now_ns() + 5000u * 1000000u;

		while (got < sent && fx_now_ns() < end) {
			got += fx_drain(cli);
			ck_assert_int_ge(hupmon_dispatch(m, 5), 0);
		}
		ck_assert_uint_eq(got, sent);
		ck_assert_msg(until_stalls(&s, 2, STALL_DETECT_MS),
			      "no RECOVERED within %d ms", STALL_DETECT_MS);
		ck_assert_int_eq(s.st[1].kind, HUPMON_STALL_KIND_RECOVERED);
		ck_assert_int_eq(s.st_rc[1], 0);
		expect(&s.st_q[1], HUPMON_CAUSE_NONE, 0, 0,
		       HUPMON_STALL_REASON_NONE, "inside on_stall, RECOVERED");
		st = query_ok(m, id);
		expect(&st, HUPMON_CAUSE_NONE, 0, 0, HUPMON_STALL_REASON_NONE,
		       "recovered");
		fx_close_ok(cli);
	} else {
		size_t k;

		/* The client goes with unread data: the kernel sends an RST. */
		fx_close_rst(cli);
		ck_assert_msg(until_hangups(&s, 1, FX_SWEEP_REPORT_MS),
			      "no RESET report");
		k = s.nhup - 1;
		ck_assert_int_eq(s.hup[k].cause, HUPMON_CAUSE_RESET);
		ck_assert_int_eq(s.hup_rc[k], 0);
		/* The report ends the episode before on_hangup runs. */
		expect(&s.hup_q[k], HUPMON_CAUSE_RESET, s.hup[k].error,
		       HUPMON_PATH_SWEEP, HUPMON_STALL_REASON_NONE,
		       "inside on_hangup, RESET");
		st = query_ok(m, id);
		expect(&st, HUPMON_CAUSE_RESET, s.hup[k].error,
		       HUPMON_PATH_SWEEP, HUPMON_STALL_REASON_NONE, "reset");
		ck_assert_uint_eq(s.nst, 1); /* no RECOVERED */
	}

	fx_unwatch_ok(m, id);
	hupmon_free(m);
	fx_close_ok(srv);
}
END_TEST

/* --- ids not watched, NULLs, sizes --------------------------------------- */

#define POISON 0xa5

static bool untouched(const unsigned char *b, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (b[k] != POISON)
			return false;
	return true;
}

START_TEST(test_bad_calls)
{
	enum { n = sizeof(struct hupmon_status) };
	static const hupmon_id not_ids[] = {
		0, 1, 2, (hupmon_id)77 << 32 | 12345, UINT64_MAX};
	unsigned char b[n + 64];
	struct hupmon_status *st = (struct hupmon_status *)b;
	struct seen s;
	hupmon *m = new_monitor(&s, CFG_EPOLL, true, 0);
	int srv, cli;
	hupmon_id id, stale;

	fx_pair_ok(AF_INET, &srv, &cli);
	stale = fx_watch_ok(m, srv, NULL);
	fx_unwatch_ok(m, stale);
	id = fx_watch_ok(m, srv, NULL); /* the same slot, a new generation */
	ck_assert_uint_eq((uint32_t)id, (uint32_t)stale);

	memset(b, POISON, sizeof(b));
	for (size_t k = 0; k < sizeof(not_ids) / sizeof(not_ids[0]); k++)
		ck_assert_int_eq(hupmon_query(m, not_ids[k], st), -ENOENT);
	ck_assert_int_eq(hupmon_query(m, stale, st), -ENOENT);
	ck_assert(untouched(b, sizeof(b)));

	ck_assert_int_eq(hupmon_query(NULL, id, st), -EINVAL);
	ck_assert_int_eq(hupmon_query(m, id, NULL), -EINVAL);
	ck_assert_int_eq(hupmon_query(NULL, id, NULL), -EINVAL);
	ck_assert_int_eq(hupmon_query_sized(NULL, id, st, 1), -EINVAL);
	ck_assert_int_eq(hupmon_query_sized(m, id, st, 0), -EINVAL);
	ck_assert_int_eq(hupmon_query_sized(m, id, st, 1), -EINVAL);
	ck_assert_int_eq(hupmon_query_sized(m, id, st, n - 4), -EINVAL);
	ck_assert_int_eq(hupmon_query_sized(m, id, st, n - 1), -EINVAL);
	ck_assert_int_eq(hupmon_query_sized(m, id, st, 4097), -E2BIG);
	ck_assert_int_eq(hupmon_query_sized(m, id, st, SIZE_MAX), -E2BIG);
	/* a bad size wins over a bad id: nothing is looked up */
	ck_assert_int_eq(hupmon_query_sized(m, 0, st, 1), -EINVAL);
	ck_assert(untouched(b, sizeof(b)));

	/* A larger struct (a newer header): ours, then zeros, nothing past. */
	ck_assert_int_eq(hupmon_query_sized(m, id, st, n + 8), 0);
	expect(st, HUPMON_CAUSE_NONE, 0, 0, HUPMON_STALL_REASON_NONE,
	       "a larger struct");
	for (size_t k = n; k < n + 8; k++)
		ck_assert_uint_eq(b[k], 0);
	ck_assert(untouched(b + n + 8, sizeof(b) - n - 8));

	fx_unwatch_ok(m, id);
	ck_assert_int_eq(hupmon_query(m, id, st), -ENOENT);
	hupmon_free(m);
	fx_close_ok(srv);
	fx_close_ok(cli);
}
END_TEST

/* --- one thread queries while another runs the monitor ------------------ */

#define CONC_PAIRS_MAX 32

struct conc {
	hupmon *m;
	int n;
	hupmon_id id[CONC_PAIRS_MAX];
	atomic_bool done;
	pthread_mutex_t lock;			/* the fields below */
	enum hupmon_cause last[CONC_PAIRS_MAX]; /* last on_hangup cause */
	size_t reports;
	char bad[256]; /* the first broken rule, "" if none */
	unsigned long queries;
};

static int conc_index(const struct conc *c, hupmon_id id)
{
	for (int i = 0; i < c->n; i++)
		if (c->id[i] == id)
			return i;
	return -1;
}

static void conc_broken(struct conc *c, const char *what, hupmon_id id,
			const struct hupmon_status *st, int rc)
{
	pthread_mutex_lock(&c->lock);
	if (!c->bad[0])
		snprintf(c->bad, sizeof(c->bad),
			 "%s: id %#llx rc %d cause %s error %d path %s "
			 "stall %s",
			 what, (unsigned long long)id, rc,
			 hupmon_cause_name(st->cause), st->error,
			 hupmon_path_name(st->path),
			 hupmon_stall_reason_name(st->stall_reason));
	pthread_mutex_unlock(&c->lock);
}

/* On the dispatching thread: the query matches the event. */
static void conc_on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct conc *c = arg;
	struct hupmon_status st;
	int rc = hupmon_query(c->m, ev->id, &st);
	int i = conc_index(c, ev->id);

	if (rc != 0 || st.cause != ev->cause || st.error != ev->error ||
	    st.path != ev->path || st.stall_reason)
		conc_broken(c, "inside on_hangup", ev->id, &st, rc);
	pthread_mutex_lock(&c->lock);
	if (i >= 0)
		c->last[i] = ev->cause;
	c->reports++;
	pthread_mutex_unlock(&c->lock);
}

/* Level of a cause in the order reports keep (the finals are one step). */
static int level(enum hupmon_cause c)
{
	return c >= HUPMON_CAUSE_RESET ? 3 : (int)c;
}

static void *querier(void *arg)
{
	struct conc *c = arg;
	struct hupmon_status prev[CONC_PAIRS_MAX];
	uint64_t end = fx_now_ns() + 30000ull * 1000000u;
	unsigned long q = 0;

	memset(prev, 0, sizeof(prev));
	for (long pass = 0;
	     pass < 10000000 && !atomic_load(&c->done) && fx_now_ns() < end;
	     pass++) {
		for (int i = 0; i < c->n; i++) {
			struct hupmon_status st;
			int rc = hupmon_query(c->m, c->id[i], &st);
			bool final = level(prev[i].cause) == 3;

			q++;
			if (rc != 0 || (st.cause == 0) != (st.path == 0) ||
			    (st.error && st.cause < HUPMON_CAUSE_RESET) ||
			    st.stall_reason ||
			    level(st.cause) < level(prev[i].cause) ||
			    (final && (st.cause != prev[i].cause ||
				       st.error != prev[i].error)))
				conc_broken(c, "from another thread", c->id[i],
					    &st, rc);
			prev[i] = st;
		}
	}
	pthread_mutex_lock(&c->lock);
	c->queries = q;
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static void *runner(void *arg)
{
	struct conc *c = arg;

	return (void *)(intptr_t)hupmon_run(c->m);
}

static size_t conc_reports(struct conc *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->reports;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* Waits (the monitor runs on its own thread) until want reports came. */
static bool conc_wait(struct conc *c, size_t want, int ms)
{
	uint64_t end = fx_now_ns() + (uint64_t)ms * 1000000u;
	struct pollfd none = {.fd = -1};

	while (conc_reports(c) < want && fx_now_ns() < end)
		poll(&none, 1, 5); /* a pause between looks, not a sync */
	return conc_reports(c) >= want;
}

START_TEST(test_concurrent)
{
	struct hupmon_config cfg;
	struct conc c;
	int srv[CONC_PAIRS_MAX], cli[CONC_PAIRS_MAX];
	pthread_t tq, tr;
	void *run_rc;
	size_t want = 0;

	memset(&c, 0, sizeof(c));
	pthread_mutex_init(&c.lock, NULL);
	c.n = fx_scaled(CONC_PAIRS_MAX);
	memset(&cfg, 0, sizeof(cfg));
	cfg.on_hangup = conc_on_hangup;
	cfg.arg = &c;
	cfg.paths = HUPMON_PATHS_BOTH;
	cfg.sweep_method = HUPMON_SWEEP_TCP_INFO;
	cfg.sweep_period_ms = FX_SWEEP_PERIOD_MS;
	cfg.sweep_tick_ms = FX_SWEEP_TICK_MS;
	ck_assert_int_eq(hupmon_new(&cfg, &c.m), 0);
	for (int i = 0; i < c.n; i++) {
		fx_pair_ok(fx_family_of(i), &srv[i], &cli[i]);
		c.id[i] = fx_watch_ok(c.m, srv[i], NULL);
	}
	ck_assert_int_eq(pthread_create(&tr, NULL, runner, &c), 0);
	ck_assert_int_eq(pthread_create(&tq, NULL, querier, &c), 0);

	/* Every peer leaves: a quarter by RST, the rest by FIN, and half of
	 * those then draw an RST with our write (an escalation). */
	for (int i = 0; i < c.n; i++) {
		if (i % 4 == 3)
			fx_close_rst(cli[i]);
		else
			fx_close_fin(cli[i]);
		want++;
	}
	ck_assert_msg(conc_wait(&c, want, 2 * FX_SWEEP_REPORT_MS),
		      "%zu of %zu reports", conc_reports(&c), want);
	for (int i = 0; i < c.n; i++) {
		if (i % 4 == 0 || i % 4 == 2) {
			ck_assert_int_eq(send(srv[i], "x", 1, MSG_NOSIGNAL), 1);
			want++;
		}
	}
	ck_assert_msg(conc_wait(&c, want, 2 * FX_SWEEP_REPORT_MS),
		      "%zu of %zu reports", conc_reports(&c), want);

	atomic_store(&c.done, true);
	ck_assert_int_eq(pthread_join(tq, NULL), 0);
	hupmon_stop(c.m);
	ck_assert_int_eq(pthread_join(tr, &run_rc), 0);
	ck_assert_int_eq((int)(intptr_t)run_rc, 0);

	ck_assert_msg(!c.bad[0], "%s", c.bad);
	ck_assert_uint_gt(c.queries, 0);
	ck_assert_uint_eq(c.reports, want);
	for (int i = 0; i < c.n; i++) {
		struct hupmon_status st = query_ok(c.m, c.id[i]);

		ck_assert_msg(st.cause == c.last[i],
			      "socket %d: %s, last told %s", i,
			      hupmon_cause_name(st.cause),
			      hupmon_cause_name(c.last[i]));
		ck_assert_int_eq(st.cause, i % 4 == 1
						   ? HUPMON_CAUSE_PEER_SHUTDOWN
						   : HUPMON_CAUSE_RESET);
		fx_unwatch_ok(c.m, c.id[i]);
		fx_close_ok(srv[i]);
	}
	hupmon_free(c.m);
	pthread_mutex_destroy(&c.lock);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("query");

	fx_add_case(su, "idle", test_idle, CFG_COUNT, 30);
	fx_add_case(su, "fin_then_reset", test_fin_then_reset, CFG_COUNT, 30);
	fx_add_case(su, "path_follows_report", test_path_follows_report, 2, 10);
	fx_add_case(su, "counted_only", test_counted_only, 2, 30);
	fx_add_case(su, "stall", test_stall, 2, 30);
	fx_add_case(su, "bad_calls", test_bad_calls, 0, 10);
	fx_add_case(su, "concurrent", test_concurrent, 0, 120);
	return fx_run_suite(su);
}
