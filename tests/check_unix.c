/* SPDX-License-Identifier: MIT */
/*
 * check_unix: Unix-domain stream and seqpacket sockets, end to end. Each act
 * of the peer on every path: the epoll path alone, the sweep alone with
 * either method, compare mode with either method, and both paths with
 * no_touch; on the three ways to a connected socket (socketpair; accept and
 * connect, through a listener in a short temporary directory or under an
 * abstract name) and on a seqpacket pair. Then: a live idle client, what a
 * watch refuses, both ends of one pair, a dup and fd reuse, opts.accepted
 * with its family, a monitor with liveness options or stall tracking, and
 * the counters per family.
 *
 * Kernel facts the expectations rest on (measured on Linux 6.18, for the
 * socketpair, accepted and connecting ends alike, stream and seqpacket):
 *   - the peer's close() with nothing of ours unread, or its
 *     shutdown(SHUT_RDWR): EPOLLRDHUP|EPOLLHUP at once, no error: HANGUP;
 *   - its close() with data of ours unread in its queue: EPOLLERR too, and
 *     SO_ERROR ECONNRESET: RESET (after a shutdown(SHUT_WR) as well, or
 *     after our own shutdown of both directions);
 *   - its shutdown(SHUT_WR): EPOLLRDHUP alone: PEER_SHUTDOWN;
 *   - its shutdown(SHUT_RD): nothing at all; our next write fails with
 *     EPIPE and still nothing shows;
 *   - our write after its close fails with EPIPE: no new event, and
 *     SO_ERROR stays 0;
 *   - a forked child that holds the peer's end keeps it open: nothing
 *     shows until the last holder closes it;
 *   - an empty seqpacket message shows nothing (a peek would read it as an
 *     end of file; hupmon polls Unix sockets).
 * Waits are the fixture's: a report within FX_SWEEP_REPORT_MS, "nothing
 * more" over completed sweep laps or FX_QUIET_MS on the epoll path alone.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "hupmon.h"

/* --- the monitors ------------------------------------------------------- */

struct cfgdef {
	const char *name;
	unsigned paths;
	enum hupmon_sweep_method method;
	bool compare;
	bool no_touch;
};

static const struct cfgdef cfgs[] = {
	{"epoll", HUPMON_PATH_EPOLL, HUPMON_SWEEP_TCP_INFO, false, false},
	{"sweep tcp_info", HUPMON_PATH_SWEEP, HUPMON_SWEEP_TCP_INFO, false,
	 false},
	{"sweep peek", HUPMON_PATH_SWEEP, HUPMON_SWEEP_PEEK, false, false},
	{"compare tcp_info", HUPMON_PATHS_BOTH, HUPMON_SWEEP_TCP_INFO, true,
	 false},
	{"compare peek", HUPMON_PATHS_BOTH, HUPMON_SWEEP_PEEK, true, false},
	{"both no_touch", HUPMON_PATHS_BOTH, HUPMON_SWEEP_TCP_INFO, false,
	 true},
};
#define N_CFGS ((int)(sizeof(cfgs) / sizeof(cfgs[0])))

static bool has_sweep(const struct cfgdef *c)
{
	return (c->paths & HUPMON_PATH_SWEEP) != 0;
}

/* --- connected Unix sockets --------------------------------------------- */

enum kind { K_PAIR, K_ACCEPTED, K_CONNECTED, K_SEQPACKET, N_KINDS };

static const char *const kind_name[N_KINDS] = {
	[K_PAIR] = "socketpair stream end",
	[K_ACCEPTED] = "accepted stream end (path)",
	[K_CONNECTED] = "connecting stream end (abstract)",
	[K_SEQPACKET] = "socketpair seqpacket end",
};

/* A listening Unix socket: bound to dir/s (dir a fresh temporary
 * directory), or to an abstract name when abstract. */
struct ulisten {
	int fd;
	char dir[32];
	struct sockaddr_un sun;
	socklen_t len;
};

static void ulisten_open(struct ulisten *l, int type, bool abstract)
{
	static unsigned seq;

	memset(l, 0, sizeof(*l));
	l->sun.sun_family = AF_UNIX;
	if (abstract) {
		int n = snprintf(
			l->sun.sun_path + 1, sizeof(l->sun.sun_path) - 1,
			"hupmon-check-unix-%d-%u", (int)getpid(), seq++);

		l->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				     1 + (size_t)n);
	} else {
		snprintf(l->dir, sizeof(l->dir), "/tmp/hupmon-u-XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(l->dir));
		snprintf(l->sun.sun_path, sizeof(l->sun.sun_path), "%s/s",
			 l->dir);
		l->len = sizeof(l->sun);
	}
	l->fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(l->fd, 0);
	ck_assert_int_eq(bind(l->fd, (struct sockaddr *)&l->sun, l->len), 0);
	ck_assert_int_eq(listen(l->fd, 8), 0);
}

static void ulisten_close(struct ulisten *l)
{
	fx_close_ok(l->fd);
	if (l->dir[0]) {
		ck_assert_int_eq(unlink(l->sun.sun_path), 0);
		ck_assert_int_eq(rmdir(l->dir), 0);
	}
}

/* A client connected to l: *c the connecting end, *s the accepted one. */
static void uconnect(const struct ulisten *l, int type, int *s, int *c)
{
	*c = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*c, 0);
	ck_assert_int_eq(connect(*c, (const struct sockaddr *)&l->sun, l->len),
			 0);
	*s = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(*s, 0);
}

/* A connected socket of kind k: *ours the end to watch, *peer the other. */
static void upair(enum kind k, int *ours, int *peer)
{
	struct ulisten l;
	int sv[2];

	switch (k) {
	case K_PAIR:
	case K_SEQPACKET:
		ck_assert_int_eq(socketpair(AF_UNIX,
					    (k == K_PAIR ? SOCK_STREAM
							 : SOCK_SEQPACKET) |
						    SOCK_CLOEXEC,
					    0, sv),
				 0);
		*ours = sv[0];
		*peer = sv[1];
		return;
	case K_ACCEPTED:
		ulisten_open(&l, SOCK_STREAM, false);
		uconnect(&l, SOCK_STREAM, ours, peer);
		ulisten_close(&l);
		return;
	case K_CONNECTED:
	default:
		ulisten_open(&l, SOCK_STREAM, true);
		uconnect(&l, SOCK_STREAM, peer, ours);
		ulisten_close(&l);
		return;
	}
}

static void send_byte(int fd)
{
	ck_assert_int_eq(send(fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT), 1);
}

/* Our write once the peer cannot read: EPIPE, and no error kept on the
 * socket (SO_ERROR 0). */
static void write_gets_epipe(int fd)
{
	int err = -1;
	socklen_t len = sizeof(err);

	ck_assert_int_eq(send(fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	ck_assert_int_eq(err, 0);
}

/* --- one watched socket under one monitor ------------------------------- */

struct run {
	const struct cfgdef *cfg;
	enum kind kind;
	struct fx_rec rec;
	hupmon *m;
	int ours, peer, tag;
	hupmon_id id;
	char what[96];
};

/* The loop index picks the monitor and the kind of socket: each monitor
 * once, each kind at least once, in N_CFGS runs. */
#define N_RUNS N_CFGS

static void run_begin(struct run *r, int i, enum kind kind)
{
	memset(r, 0, sizeof(*r));
	r->cfg = &cfgs[i % N_CFGS];
	r->kind = kind;
	snprintf(r->what, sizeof(r->what), "%s, %s", r->cfg->name,
		 kind_name[kind]);
	fx_rec_init(&r->rec);
	r->m = fx_new_sweep_monitor(&r->rec, r->cfg->method, r->cfg->paths,
				    r->cfg->compare, r->cfg->no_touch);
	upair(kind, &r->ours, &r->peer);
	r->id = fx_watch_ok(r->m, r->ours, &r->tag);
	/* alive so far, the sweep under way */
	if (has_sweep(r->cfg))
		fx_wait_laps(r->m, &r->rec, 1);
	ck_assert_msg(fx_rec_count(&r->rec) == 0, "%s: a live socket reported",
		      r->what);
}

static void run_end(struct run *r)
{
	fx_unwatch_ok(r->m, r->id);
	fx_close_ok(r->ours);
	fx_close_ok(r->peer);
	hupmon_free(r->m);
	fx_rec_destroy(&r->rec);
}

/* What a cause becomes when no_touch hides the error: HANGUP. */
static enum hupmon_cause seen_as(const struct run *r, enum hupmon_cause c)
{
	return r->cfg->no_touch && c == HUPMON_CAUSE_RESET ? HUPMON_CAUSE_HANGUP
							   : c;
}

/* Waits for the watch's report number nth (from 0) and checks it: cause
 * (as no_touch shows it), its errno, an escalation after the first, the
 * path that may report it, the time; in compare mode also the outcome:
 * both paths saw it. */
static void expect(struct run *r, size_t nth, enum hupmon_cause cause,
		   uint64_t after)
{
	enum hupmon_cause want = seen_as(r, cause);
	struct hupmon_event ev;
	struct hupmon_compare cmp;
	enum hupmon_path path;

	ck_assert_msg(fx_dispatch_until_count(r->m, &r->rec, nth + 1,
					      FX_SWEEP_REPORT_MS),
		      "%s: no %s report within %d ms", r->what,
		      hupmon_cause_name(want), FX_SWEEP_REPORT_MS);
	ck_assert(fx_rec_find(&r->rec, r->id, nth, &ev));
	path = r->cfg->paths == HUPMON_PATHS_BOTH ? ev.path : r->cfg->paths;
	ck_assert_msg(ev.cause == want, "%s: report %zu is %s, want %s",
		      r->what, nth, hupmon_cause_name(ev.cause),
		      hupmon_cause_name(want));
	fx_check_event(&ev, path, r->id, r->ours, &r->tag, want,
		       want == HUPMON_CAUSE_RESET ? ECONNRESET : 0, nth > 0,
		       after);
	if (!r->cfg->compare)
		return;
	ck_assert_msg(fx_dispatch_until_cmp(r->m, &r->rec, nth + 1,
					    FX_SWEEP_REPORT_MS),
		      "%s: no compare outcome for %s", r->what,
		      hupmon_cause_name(want));
	ck_assert(fx_rec_cmp(&r->rec, nth, &cmp));
	ck_assert_uint_eq(cmp.id, r->id);
	ck_assert_msg(!cmp.missed && cmp.cause == want &&
			      cmp.second_cause == want,
		      "%s: compare %s first by %s, second %s%s", r->what,
		      hupmon_cause_name(cmp.cause), hupmon_path_name(cmp.first),
		      hupmon_cause_name(cmp.second_cause),
		      cmp.missed ? " (missed)" : "");
}

/* Nothing more for a while: two completed laps of the sweep (or its
 * periods, once nothing is left under it), or FX_QUIET_MS on the epoll
 * path alone; then exactly n reports, and n compare outcomes. */
static void quiet(struct run *r, size_t n)
{
	if (has_sweep(r->cfg))
		fx_quiet_laps(r->m, &r->rec, 2);
	else
		fx_dispatch_for(r->m, FX_QUIET_MS);
	ck_assert_msg(fx_rec_count(&r->rec) == n, "%s: %zu reports, want %zu",
		      r->what, fx_rec_count(&r->rec), n);
	if (r->cfg->compare)
		ck_assert_uint_eq(fx_rec_count_cmp(&r->rec), n);
}

/* --- the peer's acts ---------------------------------------------------- */

static void close_peer(struct run *r)
{
	fx_close_ok(r->peer);
	r->peer = -1;
}

/* close(), nothing of ours unread: HANGUP. */
static void act_close(struct run *r)
{
	uint64_t t = fx_now_ns();

	close_peer(r);
	expect(r, 0, HUPMON_CAUSE_HANGUP, t);
	quiet(r, 1);
}

/* close() with our byte unread in its queue: RESET, ECONNRESET. */
static void act_close_unread(struct run *r)
{
	uint64_t t;

	send_byte(r->ours);
	t = fx_now_ns();
	close_peer(r);
	expect(r, 0, HUPMON_CAUSE_RESET, t);
	quiet(r, 1);
}

/* shutdown(SHUT_WR): PEER_SHUTDOWN, and nothing more while it stays. */
static void act_shut_wr(struct run *r)
{
	uint64_t t = fx_now_ns();

	ck_assert_int_eq(shutdown(r->peer, SHUT_WR), 0);
	expect(r, 0, HUPMON_CAUSE_PEER_SHUTDOWN, t);
	quiet(r, 1);
}

/* shutdown(SHUT_RDWR): as a close, HANGUP. */
static void act_shut_rdwr(struct run *r)
{
	uint64_t t = fx_now_ns();

	ck_assert_int_eq(shutdown(r->peer, SHUT_RDWR), 0);
	expect(r, 0, HUPMON_CAUSE_HANGUP, t);
	quiet(r, 1);
}

/* shutdown(SHUT_RDWR) with our data unread: HANGUP all the same (a
 * shutdown sets no error); its close then drops the data: RESET, an
 * escalation (under no_touch, HANGUP again: nothing more). */
static void act_shut_rdwr_unread_then_close(struct run *r)
{
	uint64_t t;

	send_byte(r->ours);
	t = fx_now_ns();
	ck_assert_int_eq(shutdown(r->peer, SHUT_RDWR), 0);
	expect(r, 0, HUPMON_CAUSE_HANGUP, t);
	t = fx_now_ns();
	close_peer(r);
	if (seen_as(r, HUPMON_CAUSE_RESET) == HUPMON_CAUSE_HANGUP) {
		quiet(r, 1);
		return;
	}
	expect(r, 1, HUPMON_CAUSE_RESET, t);
	quiet(r, 2);
}

/* shutdown(SHUT_RD): nothing shows, not even after our write's EPIPE. */
static void act_shut_rd(struct run *r)
{
	ck_assert_int_eq(shutdown(r->peer, SHUT_RD), 0);
	quiet(r, 0);
	write_gets_epipe(r->ours);
	quiet(r, 0);
}

/* It wrote, we did not read, it closed: HANGUP (a TCP peer doing the
 * same shows a FIN; for Unix the close is one step). */
static void act_data_then_close(struct run *r)
{
	uint64_t t;

	send_byte(r->peer);
	t = fx_now_ns();
	close_peer(r);
	expect(r, 0, HUPMON_CAUSE_HANGUP, t);
	quiet(r, 1);
}

/* shutdown(SHUT_WR), then close() with our byte unread: PEER_SHUTDOWN,
 * then RESET as an escalation. */
static void act_shut_wr_then_close_unread(struct run *r)
{
	uint64_t t;

	send_byte(r->ours);
	t = fx_now_ns();
	ck_assert_int_eq(shutdown(r->peer, SHUT_WR), 0);
	expect(r, 0, HUPMON_CAUSE_PEER_SHUTDOWN, t);
	t = fx_now_ns();
	close_peer(r);
	expect(r, 1, HUPMON_CAUSE_RESET, t);
	quiet(r, 2);
}

/* close(), then our write: HANGUP; the write's EPIPE raises nothing. */
static void act_close_then_write(struct run *r)
{
	uint64_t t = fx_now_ns();

	close_peer(r);
	expect(r, 0, HUPMON_CAUSE_HANGUP, t);
	write_gets_epipe(r->ours);
	quiet(r, 1);
}

/* A forked child holds its end: its own close() shows nothing until the
 * child, the last holder, exits: then HANGUP. */
static void act_forked_holder(struct run *r)
{
	int go[2], status;
	uint64_t t;
	pid_t pid;
	char b;

	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* the child: hold every fd until the pipe closes */
		close(go[1]);
		while (read(go[0], &b, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	fx_close_ok(go[0]);
	close_peer(r);
	quiet(r, 0);
	t = fx_now_ns();
	fx_close_ok(go[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	expect(r, 0, HUPMON_CAUSE_HANGUP, t);
	quiet(r, 1);
}

/* A live idle client, bytes unread both ways: nothing, over three laps
 * of the sweep (each probing the socket) or FX_QUIET_MS. */
static void act_idle(struct run *r)
{
	struct hupmon_stats st0, st;

	send_byte(r->ours);
	send_byte(r->peer);
	fx_get_stats(r->m, &st0);
	if (has_sweep(r->cfg)) {
		fx_wait_laps(r->m, &r->rec, 3);
		fx_get_stats(r->m, &st);
		ck_assert_uint_ge(st.sweep_probes, st0.sweep_probes + 3);
	}
	quiet(r, 0);
}

static const struct {
	const char *name;
	void (*act)(struct run *r);
} acts[] = {
	{"close", act_close},
	{"close, our data unread", act_close_unread},
	{"shutdown(SHUT_WR)", act_shut_wr},
	{"shutdown(SHUT_RDWR)", act_shut_rdwr},
	{"SHUT_RDWR with our data unread, then close",
	 act_shut_rdwr_unread_then_close},
	{"shutdown(SHUT_RD)", act_shut_rd},
	{"its data unread, close", act_data_then_close},
	{"SHUT_WR, then close with our data unread",
	 act_shut_wr_then_close_unread},
	{"close, then our write", act_close_then_write},
	{"a forked child holds its end", act_forked_holder},
	{"idle", act_idle},
};
#define N_ACTS ((int)(sizeof(acts) / sizeof(acts[0])))

/* Loop index: act (i / N_RUNS) x run (i % N_RUNS). */
START_TEST(test_peer_act)
{
	struct run r;
	int run = _i % N_RUNS;

	run_begin(&r, run, (enum kind)(run % N_KINDS));
	printf("%s: %s\n", acts[_i / N_RUNS].name, r.what);
	acts[_i / N_RUNS].act(&r);
	run_end(&r);
}
END_TEST

/* Our own shutdown of both directions: HANGUP (as for TCP); the peer's
 * later close with our byte unread still escalates to RESET, so neither
 * path stops looking at a Unix socket after a HANGUP (no_touch: the error
 * unknown, nothing more than HANGUP). */
START_TEST(test_own_shutdown_then_reset)
{
	struct run r;
	uint64_t t;

	run_begin(&r, _i, K_PAIR);
	send_byte(r.ours);
	t = fx_now_ns();
	ck_assert_int_eq(shutdown(r.ours, SHUT_RDWR), 0);
	expect(&r, 0, HUPMON_CAUSE_HANGUP, t);
	if (has_sweep(r.cfg))
		fx_wait_laps(r.m, &r.rec, 1); /* probed after the HANGUP */
	t = fx_now_ns();
	close_peer(&r);
	if (!r.cfg->no_touch)
		expect(&r, 1, HUPMON_CAUSE_RESET, t);
	quiet(&r, r.cfg->no_touch ? 1 : 2);
	run_end(&r);
}
END_TEST

/* An empty seqpacket message is no end of file: nothing, on any path. */
START_TEST(test_seqpacket_empty_message)
{
	struct run r;

	run_begin(&r, _i, K_SEQPACKET);
	ck_assert_int_eq(send(r.peer, "", 0, MSG_NOSIGNAL), 0);
	if (has_sweep(r.cfg))
		fx_wait_laps(r.m, &r.rec, 2);
	quiet(&r, 0);
	run_end(&r);
}
END_TEST

/* --- what a watch refuses ----------------------------------------------- */

/* Each fd must be refused with -EINVAL by a validated watch; returns how
 * many were tried. */
static unsigned refuse_all(hupmon *m, const int *fd, const char *const *what,
			   unsigned n)
{
	hupmon_id id = 0;

	for (unsigned i = 0; i < n; i++) {
		int rc = hupmon_watch(m, fd[i], NULL, &id);

		ck_assert_msg(rc == -EINVAL, "%s: %d, want -EINVAL", what[i],
			      rc);
	}
	ck_assert_uint_eq(id, 0);
	return n;
}

START_TEST(test_refusals)
{
	struct fx_rec rec;
	struct hupmon_stats st;
	struct ulisten ls, lq, ld;
	struct hupmon_watch_opts bad = {.accepted = true};
	static const int bad_families[] = {-1, 99, AF_PACKET, AF_NETLINK};
	int dg[2], fd[9], s, p, n = 0, einval;
	hupmon_id id = 0;
	hupmon *m;
	const char *what[9] = {
		"a datagram pair's end",
		"the other end",
		"a datagram socket never connected",
		"a datagram socket connected to a bound one",
		"a stream socket never connected",
		"a seqpacket socket never connected",
		"a stream socket bound, not listening",
		"a listening stream socket (path)",
		"a listening seqpacket socket (abstract)",
	};

	fx_rec_init(&rec);
	m = fx_new_sweep_monitor(&rec, HUPMON_SWEEP_TCP_INFO, HUPMON_PATHS_BOTH,
				 false, false);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, dg),
			 0);
	fd[n++] = dg[0];
	fd[n++] = dg[1];
	fd[n++] = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	/* bound datagram socket ld; fd[3] connected to it */
	ld.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(ld.fd, 0);
	memset(&ld.sun, 0, sizeof(ld.sun));
	ld.sun.sun_family = AF_UNIX;
	snprintf(ld.sun.sun_path + 1, sizeof(ld.sun.sun_path) - 1,
		 "hupmon-check-unix-dgram-%d", (int)getpid());
	ld.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			     strlen(ld.sun.sun_path + 1));
	ck_assert_int_eq(bind(ld.fd, (struct sockaddr *)&ld.sun, ld.len), 0);
	fd[n] = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd[n], 0);
	ck_assert_int_eq(connect(fd[n], (struct sockaddr *)&ld.sun, ld.len), 0);
	n++;
	fd[n++] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	fd[n++] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	/* bound, never listening: an autobind to an abstract name */
	fd[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd[n], 0);
	ck_assert_int_eq(
		bind(fd[n], (struct sockaddr *)&ld.sun, sizeof(sa_family_t)),
		0);
	n++;
	ulisten_open(&ls, SOCK_STREAM, false);
	ulisten_open(&lq, SOCK_SEQPACKET, true);
	fd[n++] = ls.fd;
	fd[n++] = lq.fd;
	for (int i = 0; i < n; i++)
		ck_assert_int_ge(fd[i], 0);
	einval = (int)refuse_all(m, fd, what, (unsigned)n);

	/* opts.accepted with a family it does not know: -EINVAL before the
	 * fd is looked at, even a good one. */
	upair(K_PAIR, &s, &p);
	for (size_t i = 0; i < sizeof(bad_families) / sizeof(int); i++) {
		bad.family = bad_families[i];
		ck_assert_int_eq(hupmon_watch_ex(m, s, &bad, &id), -EINVAL);
		ck_assert_int_eq(hupmon_watch_ex(m, -1, &bad, &id), -EBADF);
		einval++;
	}
	ck_assert_uint_eq(id, 0);

	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_EINVAL],
			  (uint64_t)einval);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_EBADF],
			  sizeof(bad_families) / sizeof(int));
	ck_assert_uint_eq(st.watches, 0);
	ck_assert_uint_eq(st.watched, 0);
	ck_assert_uint_eq(st.watched_unix, 0);

	/* The monitor still watches the good one. */
	id = fx_watch_ok(m, s, NULL);
	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	fx_close_ok(p);
	for (int i = 0; i < n - 2; i++)
		fx_close_ok(fd[i]);
	fx_close_ok(ld.fd);
	ulisten_close(&ls);
	ulisten_close(&lq);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- both ends of one pair, a dup, fd reuse ----------------------------- */

/* Both ends of one socketpair are two sockets (two cookies): both are
 * watched, a dup of either is -EEXIST, and each reports what the other
 * does. Both paths, no compare. */
START_TEST(test_both_ends)
{
	struct fx_rec rec;
	struct hupmon_event ev;
	struct hupmon_stats st;
	int a, b, d, ta, tb;
	hupmon_id ia, ib, other = 0;
	hupmon *m;

	fx_rec_init(&rec);
	m = fx_new_sweep_monitor(&rec, HUPMON_SWEEP_TCP_INFO, HUPMON_PATHS_BOTH,
				 false, false);
	upair(_i ? K_SEQPACKET : K_PAIR, &a, &b);
	ia = fx_watch_ok(m, a, &ta);
	ib = fx_watch_ok(m, b, &tb);
	ck_assert_uint_ne(ia, ib);
	d = fcntl(a, F_DUPFD_CLOEXEC, 0);
	ck_assert_int_ge(d, 0);
	ck_assert_int_eq(hupmon_watch(m, d, NULL, &other), -EEXIST);
	fx_close_ok(d);
	d = fcntl(b, F_DUPFD_CLOEXEC, 0);
	ck_assert_int_ge(d, 0);
	ck_assert_int_eq(hupmon_watch(m, d, NULL, &other), -EEXIST);
	ck_assert_int_eq(hupmon_watch(m, b, NULL, &other), -EEXIST);
	fx_close_ok(d);
	ck_assert_uint_eq(other, 0);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_EEXIST], 3);
	ck_assert_uint_eq(st.watched_unix, 2);

	/* a shuts its write side: b hears it, a nothing of its own */
	ck_assert_int_eq(shutdown(a, SHUT_WR), 0);
	ck_assert(fx_dispatch_until_event(
		m, &rec, ib, HUPMON_CAUSE_PEER_SHUTDOWN, FX_SWEEP_REPORT_MS));
	fx_quiet_laps(m, &rec, 2);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);
	ck_assert_uint_eq(fx_rec_count_id(&rec, ia), 0);
	/* b too: both ends are now shut both ways: HANGUP on each (b's an
	 * escalation) */
	ck_assert_int_eq(shutdown(b, SHUT_WR), 0);
	ck_assert(fx_dispatch_until_event(m, &rec, ia, HUPMON_CAUSE_HANGUP,
					  FX_SWEEP_REPORT_MS));
	ck_assert(fx_dispatch_until_event(m, &rec, ib, HUPMON_CAUSE_HANGUP,
					  FX_SWEEP_REPORT_MS));
	fx_quiet_laps(m, &rec, 2);
	ck_assert_uint_eq(fx_rec_count(&rec), 3);
	ck_assert(fx_rec_find(&rec, ib, 1, &ev));
	ck_assert(ev.escalation);
	ck_assert_ptr_eq(ev.user, &tb);
	ck_assert(fx_rec_find(&rec, ia, 0, &ev));
	ck_assert(!ev.escalation);
	ck_assert_ptr_eq(ev.user, &ta);

	fx_unwatch_ok(m, ia);
	fx_unwatch_ok(m, ib);
	fx_close_ok(a);
	fx_close_ok(b);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* Puts the socket of *from on fd number to (closing what to held), closes
 * *from; *from becomes to. */
static void move_fd(int *from, int to)
{
	if (*from == to)
		return;
	ck_assert_int_eq(dup3(*from, to, O_CLOEXEC), to);
	fx_close_ok(*from);
	*from = to;
}

/* Moves *other out of the way if it holds number to. */
static void vacate(int *other, int to)
{
	int moved;

	if (*other != to)
		return;
	moved = fcntl(*other, F_DUPFD_CLOEXEC, to + 1);
	ck_assert_int_ge(moved, 0);
	fx_close_ok(*other);
	*other = moved;
}

static bool pred_unswept(hupmon *m, struct fx_rec *rec, void *arg)
{
	struct hupmon_stats st;

	(void)rec;
	(void)arg;
	hupmon_stats(m, &st);
	return st.swept == 0;
}

/* Loop: 0 epoll alone, 1 sweep TCP_INFO, 2 sweep PEEK. A watched Unix
 * socket closed without an unwatch while a dup keeps it alive, its number
 * reused by another Unix socket, which is then watched: the old watch is
 * retired (its id stale), the old socket's hangup is never reported as
 * the new one's, and the new one reports its own with its fd. */
START_TEST(test_fd_reuse)
{
	struct run r;
	struct hupmon_stats st;
	struct hupmon_event ev;
	int d, a2, p2, tag2, fdnum;
	hupmon_id id2;
	uint64_t t;

	run_begin(&r, _i, K_PAIR);
	d = fcntl(r.ours, F_DUPFD_CLOEXEC, 0);
	ck_assert_int_ge(d, 0);
	fdnum = r.ours;
	fx_close_ok(r.ours); /* no unwatch: the socket lives on in d */
	r.ours = -1;
	upair(K_SEQPACKET, &a2, &p2);
	vacate(&p2, fdnum);
	move_fd(&a2, fdnum);
	id2 = fx_watch_ok(r.m, a2, &tag2);
	ck_assert_uint_ne(id2, r.id);
	fx_get_stats(r.m, &st);
	ck_assert_uint_eq(st.retired, 1);
	ck_assert_uint_eq(st.watched, 1);
	ck_assert_uint_eq(st.watched_unix, 1);
	ck_assert_int_eq(hupmon_unwatch(r.m, r.id), -ENOENT);

	/* the old socket's peer leaves: nobody's report */
	close_peer(&r);
	quiet(&r, 0);
	/* the new one's: reported for it */
	t = fx_now_ns();
	fx_close_ok(p2);
	ck_assert(fx_dispatch_until_count(r.m, &r.rec, 1, FX_SWEEP_REPORT_MS));
	ck_assert(fx_rec_event(&r.rec, 0, &ev));
	fx_check_event(&ev, r.cfg->paths, id2, fdnum, &tag2,
		       HUPMON_CAUSE_HANGUP, 0, false, t);
	quiet(&r, 1);

	fx_unwatch_ok(r.m, id2);
	fx_close_ok(a2);
	fx_close_ok(d);
	hupmon_free(r.m);
	fx_rec_destroy(&r.rec);
}
END_TEST

/* Loop: 0 epoll alone, 1 sweep TCP_INFO, 2 sweep PEEK. The number of a
 * watched Unix socket closed without an unwatch (a dup keeps the socket)
 * now holds another Unix socket, not watched. Its peer's close is never
 * reported for the old watch; the old socket's own close still is on the
 * epoll path (its registration is its own), with fd -1; the sweep, which
 * looks by number, stops probing the number. */
START_TEST(test_fd_reuse_orphan)
{
	struct run r;
	struct hupmon_event ev;
	int d, x, px, fdnum;
	uint64_t t;

	run_begin(&r, _i, K_PAIR);
	d = fcntl(r.ours, F_DUPFD_CLOEXEC, 0);
	ck_assert_int_ge(d, 0);
	fdnum = r.ours;
	upair(K_PAIR, &x, &px);
	vacate(&px, fdnum);
	move_fd(&x, fdnum); /* closes the watched number: no unwatch */
	r.ours = -1;

	fx_close_ok(px); /* the other socket's peer leaves */
	if (has_sweep(r.cfg)) {
		/* a probe saw another socket on the number: no more probes */
		ck_assert(fx_dispatch_until(r.m, &r.rec, pred_unswept, NULL,
					    FX_SWEEP_REPORT_MS));
		fx_dispatch_for(r.m, 2 * FX_SWEEP_PERIOD_MS);
		ck_assert_uint_eq(fx_rec_count(&r.rec), 0);
	} else {
		quiet(&r, 0);
	}
	t = fx_now_ns();
	close_peer(&r); /* the watched socket's peer leaves */
	if (r.cfg->paths == HUPMON_PATH_EPOLL) {
		ck_assert(fx_dispatch_until_count(r.m, &r.rec, 1,
						  FX_DEADLINE_MS));
		ck_assert(fx_rec_event(&r.rec, 0, &ev));
		fx_check_event(&ev, HUPMON_PATH_EPOLL, r.id, -1, &r.tag,
			       HUPMON_CAUSE_HANGUP, 0, false, t);
		quiet(&r, 1);
	} else {
		quiet(&r, 0);
	}
	fx_unwatch_ok(r.m, r.id);
	fx_close_ok(x);
	fx_close_ok(d);
	hupmon_free(r.m);
	fx_rec_destroy(&r.rec);
}
END_TEST

/* --- options: accepted, liveness, stall tracking ------------------------ */

static int int_opt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	ck_assert_int_eq(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

/* A monitor with liveness options set: the Unix socket is watched (none
 * written to it), the TCP one gets them; per-watch liveness alike; a bad
 * value is still -EINVAL for a Unix socket. */
START_TEST(test_liveness_skipped)
{
	struct hupmon_liveness live = {.keepalive_idle_s = 30,
				       .keepalive_interval_s = 5,
				       .keepalive_count = 3,
				       .user_timeout_ms = 1000};
	struct hupmon_liveness bad = {.keepalive_count = 3};
	struct hupmon_watch_opts opts = {.liveness = &live};
	struct hupmon_config cfg;
	struct fx_rec rec;
	struct hupmon_event ev;
	int u, up, u2, up2, s, c;
	hupmon_id iu, iu2, is;
	uint64_t t;
	hupmon *m;

	fx_rec_init(&rec);
	memset(&cfg, 0, sizeof(cfg));
	cfg.paths = HUPMON_PATHS_BOTH;
	cfg.sweep_period_ms = FX_SWEEP_PERIOD_MS;
	cfg.sweep_tick_ms = FX_SWEEP_TICK_MS;
	cfg.liveness = live;
	cfg.on_hangup = fx_rec_on_hangup;
	cfg.arg = &rec;
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);

	upair(K_ACCEPTED, &u, &up);
	iu = fx_watch_ok(m, u, NULL);
	ck_assert_int_eq(int_opt(u, SOL_SOCKET, SO_KEEPALIVE), 0);
	upair(K_SEQPACKET, &u2, &up2);
	ck_assert_int_eq(hupmon_watch_ex(m, u2, &opts, &iu2), 0);
	opts.liveness = &bad;
	ck_assert_int_eq(hupmon_watch_ex(m, up2, &opts, NULL), -EINVAL);
	fx_pair_ok(AF_INET, &s, &c);
	is = fx_watch_ok(m, s, NULL);
	ck_assert_int_eq(int_opt(s, SOL_SOCKET, SO_KEEPALIVE), 1);
	ck_assert_int_eq(int_opt(s, IPPROTO_TCP, TCP_KEEPIDLE), 30);
	ck_assert_int_eq(int_opt(s, IPPROTO_TCP, TCP_USER_TIMEOUT), 1000);

	t = fx_now_ns();
	fx_close_ok(up);
	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_SWEEP_REPORT_MS));
	ck_assert(fx_rec_event(&rec, 0, &ev));
	fx_check_event(&ev, ev.path, iu, u, NULL, HUPMON_CAUSE_HANGUP, 0, false,
		       t);

	fx_unwatch_ok(m, iu);
	fx_unwatch_ok(m, iu2);
	fx_unwatch_ok(m, is);
	fx_close_ok(u);
	fx_close_ok(u2);
	fx_close_ok(up2);
	fx_close_ok(s);
	fx_close_ok(c);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* opts.accepted with family AF_UNIX: the accepted end is watched (no
 * liveness written, though the monitor has some: with family 0 the same
 * end is vouched for as TCP and the options fail it) and reports what its
 * peer does. */
START_TEST(test_accepted_family)
{
	struct hupmon_watch_opts opts = {.accepted = true};
	struct hupmon_config cfg;
	struct fx_rec rec;
	struct hupmon_stats st;
	struct hupmon_event ev;
	int u, up, s, c, tag;
	hupmon_id iu, is;
	uint64_t t;
	hupmon *m;

	fx_rec_init(&rec);
	memset(&cfg, 0, sizeof(cfg));
	cfg.paths = HUPMON_PATHS_BOTH;
	cfg.sweep_method = _i ? HUPMON_SWEEP_PEEK : HUPMON_SWEEP_TCP_INFO;
	cfg.sweep_period_ms = FX_SWEEP_PERIOD_MS;
	cfg.sweep_tick_ms = FX_SWEEP_TICK_MS;
	cfg.liveness.keepalive_idle_s = 30;
	cfg.on_hangup = fx_rec_on_hangup;
	cfg.arg = &rec;
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);

	upair(K_ACCEPTED, &u, &up);
	ck_assert_int_eq(hupmon_watch_ex(m, u, &opts, &iu), -EOPNOTSUPP);
	opts.family = AF_UNIX;
	opts.user = &tag;
	ck_assert_int_eq(hupmon_watch_ex(m, u, &opts, &iu), 0);
	ck_assert_int_eq(int_opt(u, SOL_SOCKET, SO_KEEPALIVE), 0);
	fx_pair_ok(AF_INET, &s, &c);
	opts.family = AF_INET;
	opts.user = NULL;
	ck_assert_int_eq(hupmon_watch_ex(m, s, &opts, &is), 0);
	ck_assert_int_eq(int_opt(s, SOL_SOCKET, SO_KEEPALIVE), 1);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watched_unix, 1);
	ck_assert_uint_eq(st.watched_tcp, 1);

	send_byte(u);
	t = fx_now_ns();
	fx_close_ok(up);
	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_SWEEP_REPORT_MS));
	ck_assert(fx_rec_event(&rec, 0, &ev));
	fx_check_event(&ev, ev.path, iu, u, &tag, HUPMON_CAUSE_RESET,
		       ECONNRESET, false, t);
	fx_quiet_laps(m, &rec, 2);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);

	fx_unwatch_ok(m, iu);
	fx_unwatch_ok(m, is);
	fx_close_ok(u);
	fx_close_ok(s);
	fx_close_ok(c);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

static void count_stall(const struct hupmon_stall_event *ev, void *arg)
{
	(void)ev;
	(*(int *)arg)++;
}

static bool pred_two_resets(hupmon *m, struct fx_rec *rec, void *arg)
{
	struct hupmon_stats st;

	(void)rec;
	(void)arg;
	hupmon_stats(m, &st);
	return st.hangups[HUPMON_PATH_EPOLL][HUPMON_CAUSE_RESET] +
		       st.hangups[HUPMON_PATH_SWEEP][HUPMON_CAUSE_RESET] >=
	       2;
}

/* A monitor with stall tracking: a Unix socket is watched as no_stall
 * (validated or accepted): a peer that stops reading while our writes
 * fill its queue is no stall report, for longer than a stall would take
 * (stall_ms plus two probe-gap bounds); its close is still reported. */
START_TEST(test_stall_tracking_skips_unix)
{
	struct hupmon_watch_opts acc = {.accepted = true, .family = AF_UNIX};
	struct hupmon_config cfg;
	struct hupmon_stats st;
	int u, up, a, ap, stalls = 0;
	hupmon_id iu, ia;
	unsigned laps;
	hupmon *m;
	char buf[4096];

	memset(&cfg, 0, sizeof(cfg));
	memset(buf, 'x', sizeof(buf));
	cfg.paths = HUPMON_PATHS_BOTH;
	cfg.sweep_method = HUPMON_SWEEP_TCP_INFO;
	cfg.sweep_period_ms = FX_SWEEP_PERIOD_MS;
	cfg.sweep_tick_ms = FX_SWEEP_TICK_MS;
	cfg.stall_ms = 2 * FX_SWEEP_PERIOD_MS;
	cfg.on_stall = count_stall;
	cfg.arg = &stalls;
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);

	upair(K_PAIR, &u, &up);
	ck_assert_int_eq(hupmon_watch(m, u, NULL, &iu), 0);
	upair(K_ACCEPTED, &a, &ap);
	ck_assert_int_eq(hupmon_watch_ex(m, a, &acc, &ia), 0);
	/* the peers stop reading; our queues fill */
	for (int k = 0; k < 4096; k++)
		if (send(u, buf, sizeof(buf), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			break;
	for (int k = 0; k < 4096; k++)
		if (send(a, buf, sizeof(buf), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			break;
	ck_assert_int_eq(errno, EAGAIN);
	/* stall_ms + 2 x (period + tick), in laps, and one more */
	laps = (cfg.stall_ms + 2 * (FX_SWEEP_PERIOD_MS + FX_SWEEP_TICK_MS)) /
		       FX_SWEEP_PERIOD_MS +
	       2;
	fx_wait_laps(m, NULL, laps);
	fx_get_stats(m, &st);
	ck_assert_int_eq(stalls, 0);
	ck_assert_uint_eq(st.stalls[HUPMON_STALL_REASON_ZERO_WINDOW] +
				  st.stalls[HUPMON_STALL_REASON_NO_ACK],
			  0);
	ck_assert_uint_eq(st.watched_unix, 2);
	ck_assert_uint_ge(st.sweep_probes, 2 * laps);
	/* their closes, with our data unread: RESET on both */
	fx_close_ok(up);
	fx_close_ok(ap);
	ck_assert(fx_dispatch_until(m, NULL, pred_two_resets, NULL,
				    FX_SWEEP_REPORT_MS));
	fx_dispatch_for(m, FX_QUIET_MS);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(
		st.hangups[HUPMON_PATH_EPOLL][HUPMON_CAUSE_RESET] +
			st.hangups[HUPMON_PATH_SWEEP][HUPMON_CAUSE_RESET],
		2);

	fx_unwatch_ok(m, iu);
	fx_unwatch_ok(m, ia);
	fx_close_ok(u);
	fx_close_ok(a);
	hupmon_free(m);
}
END_TEST

/* --- counters ----------------------------------------------------------- */

/* watched_tcp and watched_unix follow watches, unwatches and retires, and
 * add up to watched; the renderings show them. */
START_TEST(test_counters)
{
	struct fx_rec rec;
	struct hupmon_stats st;
	int s, c, u, up, q, qp, fdnum;
	hupmon_id is, iu, iq;
	char text[1 << 15];
	hupmon *m;

	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fx_pair_ok(AF_INET, &s, &c);
	upair(K_PAIR, &u, &up);
	upair(K_SEQPACKET, &q, &qp);
	is = fx_watch_ok(m, s, NULL);
	iu = fx_watch_ok(m, u, NULL);
	iq = fx_watch_ok(m, q, NULL);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watched, 3);
	ck_assert_uint_eq(st.watched_tcp, 1);
	ck_assert_uint_eq(st.watched_unix, 2);
	ck_assert_int_gt(hupmon_stats_format(&st, HUPMON_FORMAT_PROMETHEUS,
					     text, sizeof(text)),
			 0);
	ck_assert_ptr_nonnull(
		strstr(text, "\nhupmon_watched_unix_sockets 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nhupmon_watched_tcp_sockets 1\n"));
	ck_assert_int_gt(hupmon_stats_format(&st, HUPMON_FORMAT_JSON, text,
					     sizeof(text)),
			 0);
	ck_assert_ptr_nonnull(strstr(text, "\"watched_unix\":2,"));

	fx_unwatch_ok(m, iu);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watched_unix, 1);
	ck_assert_uint_eq(st.watched_tcp, 1);

	/* the seqpacket end's number closed unwatched, reused by the TCP
	 * client end, which is then watched: the Unix watch is retired */
	fdnum = q;
	move_fd(&c, fdnum);
	q = -1;
	ck_assert(fx_watch_ok(m, c, NULL) != iq);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.retired, 1);
	ck_assert_uint_eq(st.watched, 2);
	ck_assert_uint_eq(st.watched_unix, 0);
	ck_assert_uint_eq(st.watched_tcp, 2);
	ck_assert_int_eq(hupmon_unwatch(m, iq), -ENOENT);

	fx_unwatch_ok(m, is);
	fx_close_ok(s);
	fx_close_ok(c);
	fx_close_ok(u);
	fx_close_ok(up);
	fx_close_ok(qp);
	hupmon_free(m); /* the TCP client's watch goes with the monitor */
	fx_rec_destroy(&rec);
}
END_TEST

/* --- suite -------------------------------------------------------------- */

static Suite *unix_suite(void)
{
	Suite *su = suite_create("unix");

	fx_add_case(su, "peer_act", test_peer_act, N_ACTS * N_RUNS, 30);
	fx_add_case(su, "own_shutdown_then_reset", test_own_shutdown_then_reset,
		    N_CFGS, 30);
	fx_add_case(su, "seqpacket_empty_message", test_seqpacket_empty_message,
		    N_CFGS, 30);
	fx_add_case(su, "refusals", test_refusals, 0, 30);
	fx_add_case(su, "both_ends", test_both_ends, 2, 30);
	fx_add_case(su, "fd_reuse", test_fd_reuse, 3, 30);
	fx_add_case(su, "fd_reuse_orphan", test_fd_reuse_orphan, 3, 30);
	fx_add_case(su, "liveness_skipped", test_liveness_skipped, 0, 30);
	fx_add_case(su, "accepted_family", test_accepted_family, 2, 30);
	fx_add_case(su, "stall_tracking_skips_unix",
		    test_stall_tracking_skips_unix, 0, 30);
	fx_add_case(su, "counters", test_counters, 0, 30);
	return su;
}

int main(void)
{
	return fx_run_suite(unix_suite());
}
