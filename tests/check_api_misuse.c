/* SPDX-License-Identifier: MIT */
/*
 * check_api_misuse: calls against the rules of hupmon.h, and what hupmon
 * promises even then: invalid configurations, fds that are not a connected
 * TCP socket, ids that are not live, a socket watched twice (even through
 * a dup), a stale id after its fd number was reused, and a watched socket
 * closed without an unwatch whose fd number then holds another socket.
 * Real loopback sockets; each test checks that it leaks no fd.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fixture.h"
#include "hupmon.h"

/* --- a dup of a watched socket is the same socket ----------------------- */

START_TEST(test_dup_eexist)
{
	int family = fx_family_of(_i);
	struct fx_rec rec;
	struct hupmon_stats st;
	struct hupmon_event ev;
	int s, c, d, tag;
	hupmon_id id, other = 0;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fx_pair_ok(family, &s, &c);
	id = fx_watch_ok(m, s, &tag);

	d = fcntl(s, F_DUPFD_CLOEXEC, 0);
	ck_assert_int_ge(d, 0);
	ck_assert_int_eq(hupmon_watch(m, d, NULL, &other), -EEXIST);
	ck_assert_int_eq(hupmon_watch(m, s, NULL, &other), -EEXIST);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_EEXIST], 2);
	ck_assert_uint_eq(st.watches, 1);
	ck_assert_uint_eq(st.watched, 1);

	/* The original watch is unharmed. */
	fx_close_fin(c);
	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_DEADLINE_MS));
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);
	ck_assert(fx_rec_event(&rec, 0, &ev));
	ck_assert_uint_eq(ev.id, id);
	ck_assert_int_eq(ev.cause, HUPMON_CAUSE_PEER_SHUTDOWN);

	fx_unwatch_ok(m, id);
	fx_close_ok(d);
	fx_close_ok(s);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- fd reuse ----------------------------------------------------------- */

/* Makes *s hold fd number want (free, or held by *c which is moved away). */
static void move_to(int *s, int *c, int want)
{
	if (*s == want)
		return;
	if (*c == want) {
		int moved = fcntl(*c, F_DUPFD_CLOEXEC, want + 1);

		ck_assert_int_ge(moved, 0);
		fx_close_ok(*c);
		*c = moved;
	}
	ck_assert_int_eq(dup3(*s, want, O_CLOEXEC), want);
	fx_close_ok(*s);
	*s = want;
}

START_TEST(test_fd_reuse)
{
	int family = fx_family_of(_i);
	struct fx_rec rec;
	struct hupmon_event ev;
	int s1, c1, s2, c2, fdnum, tag1, tag2;
	hupmon_id id1, id2;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fx_pair_ok(family, &s1, &c1);
	id1 = fx_watch_ok(m, s1, &tag1);
	fdnum = s1;
	fx_unwatch_ok(m, id1);
	fx_close_ok(s1);
	fx_close_ok(c1);

	fx_pair_ok(family, &s2, &c2);
	move_to(&s2, &c2, fdnum);
	ck_assert_int_eq(s2, fdnum);
	id2 = fx_watch_ok(m, s2, &tag2);
	ck_assert_msg(id2 != id1, "a new watch reused a stale id");

	ck_assert_int_eq(hupmon_unwatch(m, id1), -ENOENT);

	fx_close_fin(c2);
	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_DEADLINE_MS));
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);
	ck_assert_uint_eq(fx_rec_count_id(&rec, id1), 0);
	ck_assert(fx_rec_event(&rec, 0, &ev));
	ck_assert_uint_eq(ev.id, id2);
	ck_assert_ptr_eq(ev.user, &tag2);
	ck_assert_int_eq(ev.cause, HUPMON_CAUSE_PEER_SHUTDOWN);

	/* The stale id stays stale. */
	ck_assert_int_eq(hupmon_unwatch(m, id1), -ENOENT);
	fx_unwatch_ok(m, id2);
	fx_close_ok(s2);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* A socket closed while still watched (against the rules) must never be
 * reported as the connection that reuses its fd number. */
START_TEST(test_fd_reuse_closed_while_watched)
{
	int family = fx_family_of(_i);
	struct fx_rec rec;
	struct hupmon_event ev;
	struct hupmon_stats st;
	int s1, c1, s2, c2, fdnum, tag1, tag2, rc;
	hupmon_id id1, id2;
	hupmon *m;

	if (!fx_family_available(family))
		return;
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fx_pair_ok(family, &s1, &c1);
	id1 = fx_watch_ok(m, s1, &tag1);
	fdnum = s1;
	fx_close_ok(s1); /* no unwatch */
	fx_close_ok(c1);
	fx_dispatch_for(m, FX_QUIET_MS / 3);

	fx_pair_ok(family, &s2, &c2);
	move_to(&s2, &c2, fdnum);
	id2 = fx_watch_ok(m, s2, &tag2); /* a different socket: no -EEXIST */
	ck_assert_msg(id2 != id1, "a new watch reused the old id");
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.retired, 1);
	ck_assert_uint_eq(st.watched, 1);

	fx_close_fin(c2);
	ck_assert(fx_dispatch_until_count(m, &rec, 1, FX_DEADLINE_MS));
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);
	ck_assert_uint_eq(fx_rec_count_id(&rec, id1), 0);
	ck_assert(fx_rec_event(&rec, 0, &ev));
	ck_assert_uint_eq(ev.id, id2);
	ck_assert_ptr_eq(ev.user, &tag2);

	/* The retired id is stale. */
	rc = hupmon_unwatch(m, id1);
	ck_assert_int_eq(rc, -ENOENT);
	fx_unwatch_ok(m, id2);
	fx_close_ok(s2);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- bad input ---------------------------------------------------------- */

/* A non-blocking connect left in SYN_SENT: the listener's accept queue is
 * full (backlog 0 holds one connection), so the kernel drops our SYN.
 * Returns -1 (after printing why) if the state cannot be reached. */
static int syn_sent_socket(int family, int *lfd, int *queued)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct tcp_info ti;
	socklen_t tlen = sizeof(ti);
	int fd;

	*lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*lfd, 0);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = family;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr =
			htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	ck_assert_int_eq(bind(*lfd, (struct sockaddr *)&ss,
			      family == AF_INET ? sizeof(struct sockaddr_in)
						: sizeof(struct sockaddr_in6)),
			 0);
	ck_assert_int_eq(listen(*lfd, 0), 0);
	ck_assert_int_eq(getsockname(*lfd, (struct sockaddr *)&ss, &len), 0);

	*queued = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*queued, 0);
	ck_assert_int_eq(connect(*queued, (struct sockaddr *)&ss, len), 0);

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	if (connect(fd, (struct sockaddr *)&ss, len) == 0 ||
	    errno != EINPROGRESS)
		goto not_reached;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tlen) < 0 ||
	    ti.tcpi_state != TCP_SYN_SENT)
		goto not_reached;
	return fd;
not_reached:
	printf("note: could not hold a %s socket in SYN_SENT: row skipped\n",
	       fx_family_name(family));
	fx_close_ok(fd);
	return -1;
}

static void check_bad_configs(void)
{
	struct hupmon_config cfg;
	hupmon *m = NULL;

	struct {
		const char *what;
		unsigned paths;
		int method;
		uint32_t period, tick;
		bool compare, no_touch;
	} bad[] = {
		{"paths 4", 4, 0, 0, 0, false, false},
		{"paths 7", 7, 0, 0, 0, false, false},
		{"period above one hour", 0, 0, 3600001, 0, false, false},
		{"tick above period", 0, 0, 100, 101, false, false},
		{"tick above default period", 0, 0, 0, 1001, false, false},
		{"compare with epoll only", HUPMON_PATH_EPOLL, 0, 0, 0, true,
		 false},
		{"compare with sweep only", HUPMON_PATH_SWEEP, 0, 0, 0, true,
		 false},
		{"PEEK with no_touch", 0, HUPMON_SWEEP_PEEK, 0, 0, false, true},
		{"PEEK with no_touch, sweep only", HUPMON_PATH_SWEEP,
		 HUPMON_SWEEP_PEEK, 0, 0, false, true},
		/* a contradiction, whether the sweep runs or not */
		{"PEEK with no_touch, epoll only", HUPMON_PATH_EPOLL,
		 HUPMON_SWEEP_PEEK, 0, 0, false, true},
		{"sweep method 9", 0, 9, 0, 0, false, false},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		memset(&cfg, 0, sizeof(cfg));
		cfg.paths = bad[i].paths;
		cfg.sweep_method = (enum hupmon_sweep_method)bad[i].method;
		cfg.sweep_period_ms = bad[i].period;
		cfg.sweep_tick_ms = bad[i].tick;
		cfg.compare = bad[i].compare;
		cfg.no_touch = bad[i].no_touch;
		m = NULL;
		rc = hupmon_new(&cfg, &m);
		ck_assert_msg(rc == -EINVAL, "config '%s': %d, want -EINVAL",
			      bad[i].what, rc);
	}

	memset(&cfg, 0, sizeof(cfg));
	ck_assert_int_eq(hupmon_new(&cfg, NULL), -EINVAL);

	/* Limits that are valid. */
	cfg.sweep_period_ms = 3600000;
	cfg.sweep_tick_ms = 3600000;
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	hupmon_free(m);
	memset(&cfg, 0, sizeof(cfg));
	cfg.compare = true; /* paths 0 means both */
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	hupmon_free(m);
	/* A zeroed config and NULL both mean every default. */
	memset(&cfg, 0, sizeof(cfg));
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	hupmon_free(m);
	ck_assert_int_eq(hupmon_new(NULL, &m), 0);
	hupmon_free(m);
	/* The struct's size: check_sized. */
	hupmon_free(NULL); /* no-op */
}

/* An fd opened with O_PATH is open but no socket call sees it (they answer
 * EBADF, as for a closed fd): -ENOTSOCK, whatever file it names, a
 * directory, a unix socket's path or the connected TCP socket s (through
 * /proc/self/fd), with opts.accepted too. Returns the watches refused. */
static int check_o_path(hupmon *m, int s)
{
	struct hupmon_watch_opts acc = {.accepted = true};
	char dir[] = "/tmp/hupmon-opath-XXXXXX", path[64];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	hupmon_id id = 0;
	int fds[3], us, n = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/s", dir);
	us = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(us, 0);
	ck_assert_int_eq(bind(us, (struct sockaddr *)&sun, sizeof(sun)), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", s);
	fds[0] = open("/", O_PATH | O_CLOEXEC);
	fds[1] = open(sun.sun_path, O_PATH | O_CLOEXEC);
	fds[2] = open(path, O_PATH | O_CLOEXEC);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_ge(fds[i], 0);
		ck_assert_msg(hupmon_watch(m, fds[i], NULL, &id) == -ENOTSOCK,
			      "O_PATH fd %d: not -ENOTSOCK", i);
		ck_assert_int_eq(hupmon_watch_ex(m, fds[i], &acc, &id),
				 -ENOTSOCK);
		n += 2;
		fx_close_ok(fds[i]);
	}
	ck_assert_uint_eq(id, 0);
	fx_close_ok(us);
	ck_assert_int_eq(unlink(sun.sun_path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	return n;
}

START_TEST(test_bad_input)
{
	struct fx_rec rec;
	struct hupmon_stats st;
	struct hupmon_event ev;
	struct hupmon_status qs;
	int pfd[2], usp[2];
	int closed, memfd, devnull, unconn, s, c;
	int ebadf = 0, enotsock = 0, einval = 0;
	hupmon_id id = 0, stale, unconn_id;
	hupmon *m;

	check_bad_configs();

	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);

	/* NULL monitor */
	fx_pair_ok(AF_INET, &s, &c);
	ck_assert_int_eq(hupmon_watch(NULL, s, NULL, &id), -EINVAL);
	ck_assert_int_eq(hupmon_unwatch(NULL, 1), -EINVAL);
	ck_assert_int_eq(hupmon_query(NULL, 1, &qs), -EINVAL);
	ck_assert_int_eq(hupmon_dispatch(NULL, 0), -EINVAL);
	ck_assert_int_eq(hupmon_fd(NULL), -EINVAL);
	ck_assert_int_eq(hupmon_run(NULL), -EINVAL);
	hupmon_stop(NULL); /* no-op */

	/* Not an open fd */
	ck_assert_int_eq(hupmon_watch(m, -1, NULL, &id), -EBADF);
	ebadf++;
	closed = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(closed, 0);
	fx_close_ok(closed);
	ck_assert_int_eq(hupmon_watch(m, closed, NULL, &id), -EBADF);
	ebadf++;

	/* Not a socket */
	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	ck_assert_int_eq(hupmon_watch(m, pfd[0], NULL, &id), -ENOTSOCK);
	ck_assert_int_eq(hupmon_watch(m, pfd[1], NULL, &id), -ENOTSOCK);
	enotsock += 2;
	memfd = memfd_create("hupmon-e2e", MFD_CLOEXEC); /* a regular file */
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(hupmon_watch(m, memfd, NULL, &id), -ENOTSOCK);
	enotsock++;
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(devnull, 0);
	ck_assert_int_eq(hupmon_watch(m, devnull, NULL, &id), -ENOTSOCK);
	enotsock++;
	enotsock += check_o_path(m, s);

	/* Sockets that are neither a connected TCP stream nor a connected
	 * Unix stream (a Unix stream pair is watched: check_unix) */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, usp),
			 0);
	ck_assert_int_eq(hupmon_watch(m, usp[0], NULL, &id), -EINVAL);
	einval++;
	for (int f = 0; f < 2; f++) {
		int family = fx_family_of(f);
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int udp, lfd, queued, syn, lsn;

		if (!fx_family_available(family))
			continue;
		udp = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(udp, 0);
		ck_assert_int_eq(hupmon_watch(m, udp, NULL, &id), -EINVAL);
		einval++;
		/* a connected UDP socket is still not TCP */
		ck_assert_int_eq(getsockname(s, (struct sockaddr *)&ss, &len),
				 0);
		if (family == AF_INET) {
			ck_assert_int_eq(
				connect(udp, (struct sockaddr *)&ss, len), 0);
			ck_assert_int_eq(hupmon_watch(m, udp, NULL, &id),
					 -EINVAL);
			einval++;
		}
		fx_close_ok(udp);

		/* a listening socket */
		lsn = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(lsn, 0);
		ck_assert_int_eq(listen(lsn, 8), 0); /* autobinds */
		ck_assert_int_eq(hupmon_watch(m, lsn, NULL, &id), -EINVAL);
		einval++;
		fx_close_ok(lsn);

		syn = syn_sent_socket(family, &lfd, &queued);
		if (syn >= 0) {
			ck_assert_int_eq(hupmon_watch(m, syn, NULL, &id),
					 -EINVAL);
			einval++;
			fx_close_ok(syn);
		}
		fx_close_ok(queued);
		fx_close_ok(lfd);
	}

	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_EBADF], ebadf);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_ENOTSOCK], enotsock);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_EINVAL], einval);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_EEXIST], 0);
	ck_assert_uint_eq(st.watches, 0);
	ck_assert_uint_eq(st.watched, 0);

	/* Unwatch of ids that are not live */
	ck_assert_int_eq(hupmon_unwatch(m, 0), -ENOENT);
	ck_assert_int_eq(hupmon_unwatch(m, ((hupmon_id)77 << 32) | 12345),
			 -ENOENT);
	stale = fx_watch_ok(m, s, NULL);
	fx_unwatch_ok(m, stale);
	ck_assert_int_eq(hupmon_unwatch(m, stale), -ENOENT);
	/* A query of them: -ENOENT too, and no unwatch counted. */
	ck_assert_int_eq(hupmon_query(m, 0, &qs), -ENOENT);
	ck_assert_int_eq(hupmon_query(m, ((hupmon_id)77 << 32) | 12345, &qs),
			 -ENOENT);
	ck_assert_int_eq(hupmon_query(m, stale, &qs), -ENOENT);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.unwatch_rejected, 3);

	/* A never-connected TCP socket: accepted, reported at once. */
	unconn = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(unconn, 0);
	unconn_id = fx_watch_ok(m, unconn, NULL);
	ck_assert_int_ge(hupmon_dispatch(m, FX_DEADLINE_MS), 1);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);
	ck_assert(fx_rec_event(&rec, 0, &ev));
	ck_assert_uint_eq(ev.id, unconn_id);
	ck_assert_msg(ev.cause == HUPMON_CAUSE_HANGUP, "never connected: %s",
		      hupmon_cause_name(ev.cause));
	ck_assert_int_eq(ev.error, 0);
	fx_unwatch_ok(m, unconn_id);
	fx_close_ok(unconn);

	/* After all that the monitor still works. */
	id = fx_watch_ok(m, s, NULL);
	ck_assert_uint_ne(id, stale);
	fx_close_fin(c);
	ck_assert(fx_dispatch_until_event(
		m, &rec, id, HUPMON_CAUSE_PEER_SHUTDOWN, FX_DEADLINE_MS));
	fx_dispatch_for(m, FX_QUIET_MS);
	ck_assert_uint_eq(fx_rec_count(&rec), 2);
	fx_unwatch_ok(m, id);

	fx_close_ok(s);
	fx_close_ok(pfd[0]);
	fx_close_ok(pfd[1]);
	fx_close_ok(memfd);
	fx_close_ok(devnull);
	fx_close_ok(usp[0]);
	fx_close_ok(usp[1]);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* --- suite -------------------------------------------------------------- */

static Suite *misuse_suite(void)
{
	Suite *su = suite_create("api_misuse");

	/* loops: 2 = IPv4 and IPv6 */
	fx_add_case(su, "dup_eexist", test_dup_eexist, 2, 10);
	fx_add_case(su, "fd_reuse", test_fd_reuse, 2, 10);
	fx_add_case(su, "fd_reuse_closed_while_watched",
		    test_fd_reuse_closed_while_watched, 2, 10);
	fx_add_case(su, "bad_input", test_bad_input, 0, 30);
	return su;
}

int main(void)
{
	return fx_run_suite(misuse_suite());
}
