/* SPDX-License-Identifier: MIT */
/*
 * check_watch: what a watch checks and what an unwatch may touch.
 *   - The validated watch (TCP_INFO, SO_PROTOCOL, SO_COOKIE) refuses
 *     every socket that is not a connected TCP one, with the documented
 *     error, whatever TCP_INFO itself answered (EOPNOTSUPP, ENOPROTOOPT).
 *   - opts.accepted reads only SO_COOKIE: a TCP socket watched that way is
 *     reported as any other; -EBADF, -ENOTSOCK and -EEXIST still hold; with
 *     stall tracking TCP_INFO's length is read once per monitor.
 *   - A caller that lies with opts.accepted (UDP, listening, unix) harms
 *     nothing else: the other watches keep reporting, the counters add up,
 *     unwatch works.
 *   - hupmon_unwatch issues its EPOLL_CTL_DEL without checking the fd
 *     still holds the watched socket: after dup, dup2 and reuse of the fd
 *     number, in several orders, every other live watch still reports its
 *     hangup exactly once, and the number can be watched again. The
 *     monitors run the epoll path alone, so a registration lost to a
 *     wrong DEL is a lost report (no sweep to make up for it).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
#include "state.h"
#include <sys/epoll.h>

static int accepted_watch(hupmon *m, int fd, void *user, hupmon_id *id)
{
	struct hupmon_watch_opts o = {.user = user, .accepted = true};

	return hupmon_watch_ex(m, fd, &o, id);
}

static void counters_add_up(hupmon *m)
{
	struct hupmon_stats st;

	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watched, st.watches - st.unwatches - st.retired);
}

/* Closes the client *c (FIN): watch id reports it once; with alone, no
 * other report comes meanwhile. */
static void hangup_once_of(hupmon *m, struct fx_rec *rec, hupmon_id id, int *c,
			   bool alone)
{
	size_t before = fx_rec_count(rec);

	fx_close_fin(*c);
	*c = -1;
	ck_assert_msg(fx_dispatch_until_event(m, rec, id,
					      HUPMON_CAUSE_PEER_SHUTDOWN,
					      FX_DEADLINE_MS),
		      "the hangup of a live watch was lost");
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count_id(rec, id), 1);
	if (alone)
		ck_assert_uint_eq(fx_rec_count(rec), before + 1);
}

static void hangup_once(hupmon *m, struct fx_rec *rec, hupmon_id id, int *c)
{
	hangup_once_of(m, rec, id, c, true);
}

/* Puts the file of *from on number to (closing what to held), closes
 * *from; *from becomes to. */
static void move_fd(int *from, int to)
{
	ck_assert_int_eq(dup3(*from, to, O_CLOEXEC), to);
	fx_close_ok(*from);
	*from = to;
}

/* ---- the validated watch and opts.accepted: refusals -------------------- */

/* What a validated watch refuses with -EINVAL, and opts.accepted does not
 * check: sockets that are not TCP (TCP_INFO: EOPNOTSUPP or ENOPROTOOPT)
 * nor a connected Unix stream (case 2: a Unix stream never connected;
 * check_unix has the other Unix refusals). */
static int not_tcp(int i)
{
	switch (i) {
	case 0:
		return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	case 1:
		return socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	case 2:
		return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	case 3:
		return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	case 4:
		return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
			      NETLINK_ROUTE);
	case 5: /* root only: protocol IPPROTO_TCP, but no TCP socket */
		return socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	default:
		return -1;
	}
}

START_TEST(test_validated_refusals)
{
	struct fx_rec rec;
	struct hupmon_stats st;
	unsigned einval = 0;
	hupmon_id id = 0;
	int pfd[2], closed, s, c;
	hupmon *m;

	fx_rec_init(&rec);
	m = fx_new_sweep_monitor(&rec, HUPMON_SWEEP_TCP_INFO, 0, false, false);
	for (int i = 0; i < 6; i++) {
		int fd = not_tcp(i);

		if (fd < 0)
			continue; /* no IPv6, or not root for a raw socket */
		ck_assert_msg(hupmon_watch(m, fd, NULL, &id) == -EINVAL,
			      "socket kind %d was not refused", i);
		einval++;
		fx_close_ok(fd);
	}
	ck_assert_uint_ge(einval, 4);
	/* Not a socket, not open: as they are, both ways. */
	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	ck_assert_int_eq(hupmon_watch(m, pfd[0], NULL, &id), -ENOTSOCK);
	ck_assert_int_eq(accepted_watch(m, pfd[0], NULL, &id), -ENOTSOCK);
	closed = pfd[1];
	fx_close_ok(pfd[1]);
	ck_assert_int_eq(hupmon_watch(m, closed, NULL, &id), -EBADF);
	ck_assert_int_eq(accepted_watch(m, closed, NULL, &id), -EBADF);
	ck_assert_int_eq(accepted_watch(m, -1, NULL, &id), -EBADF);
	fx_close_ok(pfd[0]);
	ck_assert_uint_eq(id, 0);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_EINVAL], einval);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_ENOTSOCK], 2);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_EBADF], 3);
	ck_assert_uint_eq(st.watches, 0);
	ck_assert_uint_eq(st.watched, 0);
	/* A refusal left nothing behind: a real watch still works. */
	fx_pair_ok(AF_INET, &s, &c);
	id = fx_watch_ok(m, s, NULL);
	hangup_once(m, &rec, id, &c);
	fx_unwatch_ok(m, id);
	hupmon_free(m);
	fx_close_ok(s);
	fx_rec_destroy(&rec);
}
END_TEST

/* opts.accepted on an honest TCP socket: reported like any watch, on both
 * paths; a dup, or the same fd, is -EEXIST whichever way it is watched. */
START_TEST(test_accepted_watch)
{
	int family = fx_family_of(_i);
	bool sweep = _i >= 2;
	struct fx_rec rec;
	hupmon *m;
	struct hupmon_event ev;
	hupmon_id id, other = 0;
	int s, c, d, tag;
	uint64_t t;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = sweep ? fx_new_sweep_monitor(&rec, HUPMON_SWEEP_TCP_INFO,
					 HUPMON_PATH_SWEEP, false, false)
		  : fx_new_epoll_monitor(&rec, false);
	fx_pair_ok(family, &s, &c);
	ck_assert_int_eq(accepted_watch(m, s, &tag, &id), 0);
	ck_assert_uint_ne(id, 0);
	d = fcntl(s, F_DUPFD_CLOEXEC, 0);
	ck_assert_int_ge(d, 0);
	ck_assert_int_eq(accepted_watch(m, s, NULL, &other), -EEXIST);
	ck_assert_int_eq(accepted_watch(m, d, NULL, &other), -EEXIST);
	ck_assert_int_eq(hupmon_watch(m, d, NULL, &other), -EEXIST);
	ck_assert_uint_eq(other, 0);
	t = fx_close_fin(c);
	ck_assert(fx_dispatch_until_count(
		m, &rec, 1, sweep ? FX_SWEEP_REPORT_MS : FX_DEADLINE_MS));
	ck_assert(fx_rec_event(&rec, 0, &ev));
	fx_check_event(&ev, sweep ? HUPMON_PATH_SWEEP : HUPMON_PATH_EPOLL, id,
		       s, &tag, HUPMON_CAUSE_PEER_SHUTDOWN, 0, false, t);
	fx_unwatch_ok(m, id);
	counters_add_up(m);
	hupmon_free(m);
	fx_close_ok(d);
	fx_close_ok(s);
	fx_rec_destroy(&rec);
}
END_TEST

/* ---- stall tracking: TCP_INFO's length, once per monitor ---------------- */

struct info_reads {
	unsigned n;
	unsigned cap; /* 0: leave the length alone */
};

static struct info_reads *info_reads; /* the running test's */

static void count_info(struct hupmon *m, int fd, unsigned *len)
{
	struct info_reads *r = info_reads;

	(void)m;
	(void)fd;
	r->n++;
	if (r->cap && *len > r->cap)
		*len = r->cap;
}

static hupmon *stall_monitor(struct info_reads *r)
{
	struct hupmon_config cfg = {.paths = HUPMON_PATH_SWEEP,
				    .sweep_period_ms = 100,
				    .sweep_tick_ms = 10,
				    .stall_ms = 1000};
	hupmon *m;

	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	/* Never dispatched: the only TCP_INFO reads are the watches'. */
	info_reads = r;
	m->tcp_info_hook = count_info;
	return m;
}

START_TEST(test_accepted_reads_info_length_once)
{
	struct info_reads r = {0}, shortr = {.cap = 104};
	struct hupmon_watch_opts off = {.accepted = true, .no_stall = true};
	hupmon *m = stall_monitor(&r);
	hupmon_id id[4];
	int s[4], c[4], u;

	for (int i = 0; i < 4; i++)
		fx_pair_ok(AF_INET, &s[i], &c[i]);
	ck_assert_int_eq(accepted_watch(m, s[0], NULL, &id[0]), 0);
	ck_assert_uint_eq(r.n, 1); /* learnt */
	ck_assert_int_eq(accepted_watch(m, s[1], NULL, &id[1]), 0);
	ck_assert_uint_eq(r.n, 1); /* known: no TCP_INFO */
	id[2] = fx_watch_ok(m, s[2], NULL);
	ck_assert_uint_eq(r.n, 2); /* the validated check's own read */
	/* Known, so a lie (UDP) goes through; its probes would find no TCP
	 * socket. */
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(u, 0);
	ck_assert_int_eq(accepted_watch(m, u, NULL, &id[3]), 0);
	ck_assert_uint_eq(r.n, 2);
	for (int i = 0; i < 4; i++)
		fx_unwatch_ok(m, id[i]);
	counters_add_up(m);
	hupmon_free(m);

	/* A fresh monitor must read it: a UDP lie is then found out, and a
	 * short TCP_INFO refuses stall tracking as for hupmon_watch. */
	m = stall_monitor(&shortr);
	ck_assert_int_eq(accepted_watch(m, u, NULL, &id[3]), -EINVAL);
	ck_assert_int_eq(accepted_watch(m, s[0], NULL, &id[0]), -EOPNOTSUPP);
	ck_assert_int_eq(accepted_watch(m, s[1], NULL, &id[1]), -EOPNOTSUPP);
	ck_assert_int_eq(hupmon_watch(m, s[2], NULL, &id[2]), -EOPNOTSUPP);
	ck_assert_uint_eq(shortr.n, 2);
	ck_assert_int_eq(hupmon_watch_ex(m, s[0], &off, &id[0]), 0);
	fx_unwatch_ok(m, id[0]);
	hupmon_free(m);
	fx_close_ok(u);
	for (int i = 0; i < 4; i++) {
		fx_close_ok(s[i]);
		fx_close_ok(c[i]);
	}
}
END_TEST

/* ---- a caller that lies with opts.accepted ------------------------------ */

enum { LIES = 4 };

/* Sockets that are not connected TCP ones, passed with accepted and family
 * 0 (vouched for as TCP): a UDP socket, a listening one, a unix stream end
 * (*peer: its other end; a lie only about its family, check_unix has the
 * truth), a TCP socket never connected. */
static int lie(int i, int *peer)
{
	int fd = -1, sv[2];

	switch (i) {
	case 0:
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		break;
	case 1:
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(listen(fd, 4), 0);
		break;
	case 2:
		ck_assert_int_eq(
			socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			0);
		fd = sv[0];
		*peer = sv[1];
		break;
	case 3:
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		break;
	}
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* Loop: 0 TCP_INFO sweep, 1 PEEK sweep (both paths each). */
START_TEST(test_accepted_lie_harms_nothing_else)
{
	struct fx_rec rec;
	int fd[LIES], peer = -1, s[2], c[2], tag[2];
	hupmon_id lied[LIES], id[2];
	struct hupmon_stats st;
	hupmon *m;

	fx_rec_init(&rec);
	m = fx_new_sweep_monitor(&rec,
				 _i ? HUPMON_SWEEP_PEEK : HUPMON_SWEEP_TCP_INFO,
				 0, false, false);
	for (int k = 0; k < 2; k++) {
		fx_pair_ok(AF_INET, &s[k], &c[k]);
		ck_assert_int_eq(accepted_watch(m, s[k], &tag[k], &id[k]), 0);
	}
	for (int i = 0; i < LIES; i++) {
		fd[i] = lie(i, &peer);
		ck_assert_int_eq(accepted_watch(m, fd[i], NULL, &lied[i]), 0);
	}
	fx_wait_laps(m, &rec, 3); /* every lie probed, some more than once */
	fx_close_ok(peer);	  /* the unix end sees its peer go */
	fx_dispatch_for(m, FX_QUIET_MS);
	/* The honest watches report, once each, with their own user. */
	for (int k = 0; k < 2; k++) {
		struct hupmon_event ev;

		/* the lies may still report: not alone */
		hangup_once_of(m, &rec, id[k], &c[k], false);
		ck_assert(fx_rec_find(&rec, id[k], 0, &ev));
		ck_assert_ptr_eq(ev.user, &tag[k]);
		ck_assert_int_eq(ev.fd, s[k]);
	}
	counters_add_up(m);
	for (int i = 0; i < LIES; i++)
		fx_unwatch_ok(m, lied[i]);
	for (int k = 0; k < 2; k++)
		fx_unwatch_ok(m, id[k]);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watched, 0);
	ck_assert_uint_eq(st.swept, 0);
	ck_assert_uint_eq(st.unwatches, 2 + LIES);
	counters_add_up(m);
	hupmon_free(m);
	for (int i = 0; i < LIES; i++)
		fx_close_ok(fd[i]);
	for (int k = 0; k < 2; k++)
		fx_close_ok(s[k]);
	fx_rec_destroy(&rec);
}
END_TEST

/* ---- unwatch's EPOLL_CTL_DEL after dup, dup2 and fd reuse --------------- */

/* A dup of the watched socket: the unwatch removes the registration of its
 * own (file, fd) only; the socket can be watched again through the dup or
 * the number, and another watch is untouched. Loop: 0 unwatch with the
 * number still open, 1 after closing it (the DEL then finds no file). */
START_TEST(test_unwatch_after_dup)
{
	struct fx_rec rec;
	hupmon *m = fx_new_epoll_monitor(&rec, false);
	int sa, ca, sb, cb, d, f;
	hupmon_id a, b, a2;

	fx_rec_init(&rec);
	fx_pair_ok(AF_INET, &sa, &ca);
	fx_pair_ok(AF_INET, &sb, &cb);
	a = fx_watch_ok(m, sa, NULL);
	b = fx_watch_ok(m, sb, NULL);
	d = fcntl(sa, F_DUPFD_CLOEXEC, 0);
	ck_assert_int_ge(d, 0);
	f = sa;
	if (_i) {
		fx_close_ok(sa);
		sa = -1;
	}
	fx_unwatch_ok(m, a);
	hangup_once(m, &rec, b, &cb);
	/* Watched again: through the dup, or on its first number. */
	if (!_i)
		fx_close_ok(d);
	else
		move_fd(&d, f);
	a2 = fx_watch_ok(m, f, NULL);
	hangup_once(m, &rec, a2, &ca);
	ck_assert_uint_eq(fx_rec_count_id(&rec, a), 0);
	fx_unwatch_ok(m, a2);
	fx_unwatch_ok(m, b);
	counters_add_up(m);
	hupmon_free(m);
	fx_close_ok(f);
	fx_close_ok(sb);
	fx_rec_destroy(&rec);
}
END_TEST

/*
 * dup2 puts a watched socket back on a number that another watch took
 * over. Y is watched as B on number f; Y lives on in a dup k; f is closed
 * and X put there and watched as A (B retired, its registration (Y, f)
 * left behind); f is closed again and Y dup2'ed back onto it. A's unwatch
 * DELs by number f: it removes B's leftover (Y, f), not C, the live watch
 * of Y through k. Loop: 0 C watched before A's unwatch, 1 after. Then Y
 * is watched again on f (C unwatched first).
 */
START_TEST(test_unwatch_after_dup2_back)
{
	struct fx_rec rec;
	hupmon *m = fx_new_epoll_monitor(&rec, false);
	int sy, cy, sx, cx, f, k, rc;
	hupmon_id a, b, c = 0, again;

	fx_rec_init(&rec);
	fx_pair_ok(AF_INET, &sy, &cy);
	fx_pair_ok(AF_INET, &sx, &cx);
	f = sy;
	b = fx_watch_ok(m, f, NULL);
	k = fcntl(f, F_DUPFD_CLOEXEC, 0);
	ck_assert_int_ge(k, 0);
	fx_close_ok(f);	 /* no unwatch: B keeps its number */
	move_fd(&sx, f); /* X on f */
	a = fx_watch_ok(m, f, NULL);
	ck_assert_int_eq(hupmon_unwatch(m, b), -ENOENT); /* retired */
	fx_close_ok(f);				    /* no unwatch: X is gone */
	ck_assert_int_eq(dup3(k, f, O_CLOEXEC), f); /* Y back on f */
	if (!_i)
		c = fx_watch_ok(m, k, NULL);
	rc = hupmon_unwatch(m, a);
	if (_i)
		c = fx_watch_ok(m, k, NULL);
	hangup_once(m, &rec, c, &cy);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(fx_rec_count_id(&rec, a) + fx_rec_count_id(&rec, b),
			  0);
	/* The number, once C is gone, can be watched again. */
	fx_unwatch_ok(m, c);
	again = fx_watch_ok(m, f, NULL);
	ck_assert(fx_dispatch_until_event(
		m, &rec, again, HUPMON_CAUSE_PEER_SHUTDOWN, FX_DEADLINE_MS));
	fx_unwatch_ok(m, again);
	counters_add_up(m);
	hupmon_free(m);
	fx_close_ok(f);
	fx_close_ok(k);
	fx_close_ok(cx);
	fx_rec_destroy(&rec);
}
END_TEST

/*
 * dup2 of another watched socket over the watched fd: number fa now holds
 * B's socket. A's unwatch DELs (B's socket, fa), which no watch made; B's
 * registration is (B's socket, fb). Loop: bit 0, A's socket lives on in a
 * dup (its registration lingers, and must not report once A is
 * unwatched); bit 1, B's hangup comes before A's unwatch.
 */
START_TEST(test_unwatch_after_dup2_over)
{
	bool keep_a = _i & 1, hangup_first = _i & 2;
	struct fx_rec rec;
	hupmon *m = fx_new_epoll_monitor(&rec, false);
	int sa, ca, sb, cb, keep = -1, rc;
	hupmon_id a, b, other = 0;

	fx_rec_init(&rec);
	fx_pair_ok(AF_INET, &sa, &ca);
	fx_pair_ok(AF_INET, &sb, &cb);
	a = fx_watch_ok(m, sa, NULL);
	b = fx_watch_ok(m, sb, NULL);
	if (keep_a) {
		keep = fcntl(sa, F_DUPFD_CLOEXEC, 0);
		ck_assert_int_ge(keep, 0);
	}
	ck_assert_int_eq(dup3(sb, sa, O_CLOEXEC), sa);
	if (hangup_first)
		hangup_once(m, &rec, b, &cb);
	rc = hupmon_unwatch(m, a);
	if (!hangup_first)
		hangup_once(m, &rec, b, &cb);
	ck_assert_int_eq(rc, 0);
	/* The number holds B's socket, watched: -EEXIST. */
	ck_assert_int_eq(hupmon_watch(m, sa, NULL, &other), -EEXIST);
	if (keep_a) { /* A's socket, watched again through its dup */
		hupmon_id a2 = fx_watch_ok(m, keep, NULL);

		hangup_once(m, &rec, a2, &ca);
		fx_unwatch_ok(m, a2);
	}
	ck_assert_uint_eq(fx_rec_count_id(&rec, a), 0);
	fx_unwatch_ok(m, b);
	counters_add_up(m);
	hupmon_free(m);
	fx_close_ok(sa);
	fx_close_ok(sb);
	fx_close_ok(keep);
	fx_close_ok(ca);
	fx_rec_destroy(&rec);
}
END_TEST

/*
 * Closed without unwatch and the number reused by another watched socket
 * (A retired by B's watch), in the orders the misuse suite does not try:
 * A's stale unwatch before B's hangup; A's socket alive in a dup (its
 * registration (A's socket, f) lingers and must stay silent); then, B
 * unwatched, A's socket put back on f and watched again over its leftover
 * registration. Loop: bit 0 keep A alive; bit 1 B's hangup first.
 */
START_TEST(test_unwatch_after_reuse)
{
	bool keep_a = _i & 1, hangup_first = _i & 2;
	struct fx_rec rec;
	hupmon *m = fx_new_epoll_monitor(&rec, false);
	int sa, ca, sz, cz, f, keep = -1, rc;
	hupmon_id a, b;

	fx_rec_init(&rec);
	fx_pair_ok(AF_INET, &sa, &ca);
	fx_pair_ok(AF_INET, &sz, &cz);
	f = sa;
	a = fx_watch_ok(m, f, NULL);
	if (keep_a) {
		keep = fcntl(f, F_DUPFD_CLOEXEC, 0);
		ck_assert_int_ge(keep, 0);
	}
	fx_close_ok(f); /* no unwatch */
	move_fd(&sz, f);
	b = fx_watch_ok(m, f, NULL);
	if (hangup_first)
		hangup_once(m, &rec, b, &cz);
	rc = hupmon_unwatch(m, a);
	if (!hangup_first)
		hangup_once(m, &rec, b, &cz);
	ck_assert_int_eq(rc, -ENOENT); /* retired by B's watch */
	if (keep_a) {
		hupmon_id a2;

		fx_close_fin(ca); /* A's leftover registration: stale */
		ca = -1;
		fx_dispatch_for(m, FX_QUIET_MS);
		ck_assert_uint_eq(fx_rec_count_id(&rec, a), 0);
		fx_unwatch_ok(m, b);
		move_fd(&keep, f);
		a2 = fx_watch_ok(m, f, NULL);
		ck_assert(fx_dispatch_until_event(m, &rec, a2,
						  HUPMON_CAUSE_PEER_SHUTDOWN,
						  FX_DEADLINE_MS));
		fx_unwatch_ok(m, a2);
	} else {
		fx_unwatch_ok(m, b);
	}
	ck_assert_uint_eq(fx_rec_count_id(&rec, a), 0);
	counters_add_up(m);
	hupmon_free(m);
	fx_close_ok(f);
	fx_close_ok(ca);
	fx_rec_destroy(&rec);
}
END_TEST

/* ---- the unwatch's DEL runs without the lock ---------------------------- */

/* The DEL of the unwatch under test stops in the hook until released. */
static int del_gate[2], del_entered[2];

static int gated_ctl(struct hupmon *m, int op, int fd, struct epoll_event *ev)
{
	char b = 0;

	if (op == EPOLL_CTL_DEL) {
		ck_assert_int_eq(write(del_entered[1], &b, 1), 1);
		ck_assert_int_eq(read(del_gate[0], &b, 1), 1);
	}
	return epoll_ctl(m->epfd, op, fd, ev) < 0 ? -errno : 0;
}

struct bg {
	hupmon *m;
	hupmon_id id;
	int fd, rc;
	_Atomic bool done;
};

static void *bg_unwatch(void *arg)
{
	struct bg *b = arg;

	b->rc = hupmon_unwatch(b->m, b->id);
	b->done = true;
	return NULL;
}

static void *bg_watch(void *arg)
{
	struct bg *b = arg;

	b->rc = hupmon_watch(b->m, b->fd, NULL, &b->id);
	b->done = true;
	return NULL;
}

static unsigned waiters(hupmon *m)
{
	unsigned w;

	pthread_mutex_lock(&m->lock);
	w = m->waiters;
	pthread_mutex_unlock(&m->lock);
	return w;
}

/*
 * A's socket closed without unwatch, its number reused by B's socket, B
 * watched while A's unwatch is inside its EPOLL_CTL_DEL (held there by the
 * hook). That DEL acts on (B's socket, the number): B's watch must wait for
 * it, else the DEL removes B's fresh registration and B's hangup is lost
 * on the epoll path.
 */
START_TEST(test_watch_waits_for_a_running_del)
{
	struct fx_rec rec;
	hupmon *m;
	struct bg u = {0}, w = {0};
	pthread_t tu, tw;
	int sa, ca, sb, cb;
	uint64_t end;
	char b = 0;

	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	ck_assert_int_eq(pipe2(del_gate, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(del_entered, O_CLOEXEC), 0);
	fx_pair_ok(AF_INET, &sa, &ca);
	fx_pair_ok(AF_INET, &sb, &cb);
	u.m = w.m = m;
	u.id = fx_watch_ok(m, sa, NULL);
	m->ctl_hook = gated_ctl;
	ck_assert_int_eq(pthread_create(&tu, NULL, bg_unwatch, &u), 0);
	ck_assert_int_eq(read(del_entered[0], &b, 1), 1);
	move_fd(&sb, sa); /* A's socket gone, B's on its number */
	w.fd = sb;
	ck_assert_int_eq(pthread_create(&tw, NULL, bg_watch, &w), 0);
	/* B's watch either waits for the DEL (right) or is done (wrong) */
	end = fx_now_ns() + 2000000000ull;
	while (!w.done && !waiters(m) && fx_now_ns() < end)
		sched_yield();
	ck_assert_msg(w.done || waiters(m),
		      "B's watch neither done nor waiting");
	ck_assert_int_eq(write(del_gate[1], &b, 1), 1);
	ck_assert_int_eq(pthread_join(tu, NULL), 0);
	ck_assert_int_eq(pthread_join(tw, NULL), 0);
	m->ctl_hook = NULL;
	ck_assert_int_eq(u.rc, 0);
	ck_assert_int_eq(w.rc, 0);
	hangup_once(m, &rec, w.id, &cb);
	fx_unwatch_ok(m, w.id);
	counters_add_up(m);
	hupmon_free(m);
	fx_close_ok(sb);
	fx_close_ok(ca);
	for (int i = 0; i < 2; i++) {
		fx_close_ok(del_gate[i]);
		fx_close_ok(del_entered[i]);
	}
	fx_rec_destroy(&rec);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("watch");

	fx_add_case(su, "validated_refusals", test_validated_refusals, 0, 30);
	fx_add_case(su, "accepted_watch", test_accepted_watch, 4, 30);
	fx_add_case(su, "accepted_info_length_once",
		    test_accepted_reads_info_length_once, 0, 30);
	fx_add_case(su, "accepted_lie", test_accepted_lie_harms_nothing_else, 2,
		    60);
	fx_add_case(su, "unwatch_after_dup", test_unwatch_after_dup, 2, 30);
	fx_add_case(su, "unwatch_after_dup2_back", test_unwatch_after_dup2_back,
		    2, 30);
	fx_add_case(su, "unwatch_after_dup2_over", test_unwatch_after_dup2_over,
		    4, 30);
	fx_add_case(su, "unwatch_after_reuse", test_unwatch_after_reuse, 4, 30);
	fx_add_case(su, "watch_waits_for_del",
		    test_watch_waits_for_a_running_del, 0, 30);
	return fx_run_suite(su);
}
