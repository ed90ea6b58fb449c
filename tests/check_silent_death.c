/* SPDX-License-Identifier: MIT */
/*
 * check_silent_death: silent peer death. Two network namespaces joined by a
 * veth pair; the client's end of the link is taken down (in the client's
 * namespace, so the server keeps its routes and sees no unreachable error)
 * and the peer vanishes without a FIN or RST. Only keepalive and
 * TCP_USER_TIMEOUT can turn that into an event: each configured connection
 * must be reported as TIMEOUT within its bound plus a margin, and one with
 * no options must not be reported at all in that time.
 *
 * The lab (namespaces, veth pair) is bench/lab/netns.c, shared with
 * hupmon-bench's silent scenario. Needs root (CAP_NET_ADMIN) and iproute2:
 * otherwise prints why and exits 77 (CTest SKIP_RETURN_CODE). The namespaces
 * are removed at exit.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
#include "hupmon.h"
#include "lab/netns.h"

#define MARGIN_NS 2000000000ull /* generous: timers fire on jiffies */

/* One connection across the link: each end in its own side's namespace. */
static void connect_across(int lfd, uint16_t port, int *srv, int *cli)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

	inet_pton(AF_INET, NETNS_SRV_ADDR, &a.sin_addr);
	*cli = netns_socket(NETNS_CLI);
	ck_assert_int_ge(*cli, 0);
	ck_assert_int_eq(connect(*cli, (struct sockaddr *)&a, sizeof(a)), 0);
	*srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(*srv, 0);
}

/* Packets sent plus received on the server's end of the link. */
static uint64_t link_packets(void)
{
	char cmd[256];
	unsigned long long rx = 0, tx = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "ip netns exec %s cat /sys/class/net/%s/statistics/rx_packets "
		 "/sys/class/net/%s/statistics/tx_packets",
		 netns_name(NETNS_SRV), netns_dev(NETNS_SRV),
		 netns_dev(NETNS_SRV));
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%llu %llu", &rx, &tx), 2);
	pclose(f);
	return rx + tx;
}

struct rec {
	uint64_t at[8];
	enum hupmon_cause cause[8];
	int error[8];
	int count;
};

static void on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct rec *r = arg;
	uintptr_t i = (uintptr_t)ev->user;

	if (!r->at[i]) {
		r->at[i] = ev->detected_ns;
		r->cause[i] = ev->cause;
		r->error[i] = ev->error;
		r->count++;
	}
}

enum { KA, KA_UT, UT_DATA, NONE, NCONN };

START_TEST(test_silent_death_reported_as_timeout)
{
	static const char *name[NCONN] = {
		"keepalive 1s/1s/2", "keepalive + user timeout 2s",
		"data in flight + user timeout 2s", "no options"};
	const struct hupmon_liveness live[NCONN] = {
		[KA] = {.keepalive_idle_s = 1,
			.keepalive_interval_s = 1,
			.keepalive_count = 2},
		[KA_UT] = {.keepalive_idle_s = 1,
			   .keepalive_interval_s = 1,
			   .keepalive_count = 2,
			   .user_timeout_ms = 2000},
		[UT_DATA] = {.user_timeout_ms = 2000},
		[NONE] = {0},
	};
	/* Bounds from the moment the peer vanished (data: from the write). */
	const uint64_t bound_ns[NCONN] = {3000000000ull, 2000000000ull,
					  2000000000ull, 0};
	struct rec r;
	struct hupmon_config cfg = {.on_hangup = on_hangup, .arg = &r};
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int lfd, srv[NCONN], cli[NCONN];
	uint64_t down, wrote, end, pkts;
	hupmon *m;

	memset(&r, 0, sizeof(r));
	inet_pton(AF_INET, NETNS_SRV_ADDR, &a.sin_addr);
	lfd = netns_socket(NETNS_SRV);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	for (int i = 0; i < NCONN; i++) {
		struct hupmon_watch_opts o = {.user = (void *)(uintptr_t)i,
					      .liveness = &live[i]};

		connect_across(lfd, ntohs(a.sin_port), &srv[i], &cli[i]);
		ck_assert_int_eq(hupmon_watch_ex(m, srv[i], &o, NULL), 0);
	}
	/* Nothing while the link is up (keepalive probes are answered). The
	 * packets crossing the link meanwhile are the keepalive's cost: only
	 * the two keepalive connections send anything while idle. */
	pkts = link_packets();
	for (end = fx_now_ns() + 3000000000ull; fx_now_ns() < end;)
		hupmon_dispatch(m, 100);
	ck_assert_int_eq(r.count, 0);
	pkts = link_packets() - pkts;
	printf("netns: idle cost with keepalive idle 1 s: %llu packets in 3 s "
	       "for 2 connections = %.0f packets per connection per minute\n",
	       (unsigned long long)pkts, (double)pkts / 2 * 20);

	down = fx_now_ns();
	ck_assert_int_eq(netns_link(false, NULL, 0), 0);
	wrote = fx_now_ns();
	ck_assert_int_eq(send(srv[UT_DATA], "x", 1, MSG_NOSIGNAL), 1);
	/* Dispatch for the whole window, so that "no options" is shown to
	 * stay silent for longer than every bound plus its margin. */
	end = down + bound_ns[KA] + MARGIN_NS + 1000000000ull;
	while (fx_now_ns() < end)
		hupmon_dispatch(m, 100);

	for (int i = 0; i < NCONN; i++) {
		uint64_t from = i == UT_DATA ? wrote : down;

		if (r.at[i])
			printf("netns: %-34s TIMEOUT after %4llu ms "
			       "(bound %llu ms)\n",
			       name[i],
			       (unsigned long long)(r.at[i] - from) / 1000000,
			       (unsigned long long)bound_ns[i] / 1000000);
		else
			printf("netns: %-34s not reported\n", name[i]);
	}
	for (int i = 0; i < NCONN; i++) {
		uint64_t from = i == UT_DATA ? wrote : down;

		if (i == NONE) {
			ck_assert_msg(!r.at[i], "reported without options");
			continue;
		}
		ck_assert_msg(r.at[i], "%s: not reported", name[i]);
		ck_assert_int_eq(r.cause[i], HUPMON_CAUSE_TIMEOUT);
		ck_assert_int_eq(r.error[i], ETIMEDOUT);
		ck_assert_uint_le(r.at[i] - from, bound_ns[i] + MARGIN_NS);
	}
	hupmon_free(m);
	for (int i = 0; i < NCONN; i++) {
		close(srv[i]);
		close(cli[i]);
	}
	close(lfd);
}
END_TEST

START_TEST(test_invalid_liveness_leaves_socket_untouched)
{
	struct hupmon_liveness bad[] = {
		{.keepalive_idle_s = 32768},
		{.keepalive_idle_s = 1, .keepalive_interval_s = 40000},
		{.keepalive_idle_s = 1, .keepalive_count = 128},
		{.keepalive_interval_s = 5}, /* interval without keepalive */
		{.user_timeout_ms = 0x80000000u},
	};
	struct hupmon_config cfg = {0};
	int s, c, v;
	socklen_t len = sizeof(v);
	hupmon *m;

	ck_assert_int_eq(fx_pair(AF_INET, &s, &c), 0);
	ck_assert_int_eq(hupmon_new(NULL, &m), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hupmon_watch_opts o = {.liveness = &bad[i]};
		hupmon *m2 = NULL;

		ck_assert_int_eq(hupmon_watch_ex(m, s, &o, NULL), -EINVAL);
		cfg.liveness = bad[i];
		ck_assert_int_eq(hupmon_new(&cfg, &m2), -EINVAL);
		ck_assert_ptr_null(m2);
	}
	ck_assert_int_eq(getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, &len), 0);
	ck_assert_int_eq(v, 0);
	len = sizeof(v);
	ck_assert_int_eq(getsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &len),
			 0);
	ck_assert_int_eq(v, 0);
	/* A valid one is applied. */
	{
		struct hupmon_liveness ok = {.keepalive_idle_s = 7,
					     .keepalive_interval_s = 3,
					     .keepalive_count = 4,
					     .user_timeout_ms = 1234};
		struct hupmon_watch_opts o = {.liveness = &ok};

		ck_assert_int_eq(hupmon_watch_ex(m, s, &o, NULL), 0);
		len = sizeof(v);
		getsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &v, &len);
		ck_assert_int_eq(v, 7);
		len = sizeof(v);
		getsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &len);
		ck_assert_int_eq(v, 1234);
		len = sizeof(v);
		getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, &len);
		ck_assert_int_eq(v, 1);
	}
	hupmon_free(m);
	close(s);
	close(c);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("silent_death");
	TCase *tc = tcase_create("silent");
	SRunner *sr;
	char why[192];
	int failed;

	if (netns_up("hupmon", why, sizeof(why))) {
		printf("SKIP: %s\n", why);
		return 77;
	}
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_silent_death_reported_as_timeout);
	tcase_add_test(tc, test_invalid_liveness_leaves_socket_untouched);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	netns_down();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
