/* SPDX-License-Identifier: MIT */
/*
 * check_mptcp: an MPTCP socket is refused (-EINVAL). It answers TCP_INFO
 * with its first subflow's info, so only SO_PROTOCOL (IPPROTO_MPTCP, 262)
 * tells it from TCP; hupmon watches TCP sockets only (an MPTCP connection's
 * subflows come and go under one socket: their hangups are not the
 * connection's). Its own program: without MPTCP in the kernel (or with
 * net.mptcp.enabled = 0) it prints why and exits 77 (skipped).
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* A connected MPTCP socket (to an MPTCP listener on loopback), or -1 with
 * the reason in why. */
static int mptcp_pair(int *srv, char *why, size_t len)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
	int c;

	if (l < 0) {
		snprintf(why, len, "socket(IPPROTO_MPTCP): %s",
			 strerror(errno));
		return -1;
	}
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0) {
		snprintf(why, len, "MPTCP listener: %s", strerror(errno));
		close(l);
		return -1;
	}
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0) {
		snprintf(why, len, "MPTCP connect: %s", strerror(errno));
		if (c >= 0)
			close(c);
		close(l);
		return -1;
	}
	*srv = accept(l, NULL, NULL);
	close(l);
	if (*srv < 0) {
		snprintf(why, len, "MPTCP accept: %s", strerror(errno));
		close(c);
		return -1;
	}
	return c;
}

START_TEST(test_mptcp_refused)
{
	char why[128];
	int srv, cli = mptcp_pair(&srv, why, sizeof(why));
	int proto = 0;
	socklen_t len = sizeof(proto);
	struct hupmon_stats st;
	hupmon_id id = 0;
	hupmon *m;

	ck_assert_msg(cli >= 0, "%s", why);
	ck_assert_int_eq(getsockopt(srv, SOL_SOCKET, SO_PROTOCOL, &proto, &len),
			 0);
	ck_assert_int_eq(proto, IPPROTO_MPTCP);
	ck_assert_int_eq(hupmon_new(NULL, &m), 0);
	ck_assert_int_eq(hupmon_watch(m, srv, NULL, &id), -EINVAL);
	ck_assert_int_eq(hupmon_watch(m, cli, NULL, &id), -EINVAL);
	ck_assert_uint_eq(id, 0);
	hupmon_stats(m, &st);
	ck_assert_uint_eq(st.watched, 0);
	ck_assert_uint_eq(st.watch_rejected[HUPMON_REJECT_EINVAL], 2);
	hupmon_free(m);
	fx_close_ok(srv);
	fx_close_ok(cli);
}
END_TEST

int main(void)
{
	char why[128];
	int srv, cli = mptcp_pair(&srv, why, sizeof(why));
	Suite *s;
	TCase *tc;

	if (cli < 0) {
		printf("check_mptcp: skipped, no MPTCP here (%s)\n", why);
		return 77;
	}
	close(srv);
	close(cli);
	s = suite_create("mptcp");
	tc = tcase_create("refused");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, test_mptcp_refused);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
