/* SPDX-License-Identifier: MIT */
/*
 * check_stall_netns: stall reports across a real link (root). The lab of
 * check_silent_death (bench/lab/netns.c: two namespaces, a veth pair).
 *
 *   - The client's end of the link goes down while the server has data in
 *     flight: STALLED/NO_ACK within 3 s (stall_ms 1 s, period 100 ms), and
 *     the kernel's TIMEOUT (TCP_USER_TIMEOUT 6 s) still follows, closing the
 *     episode without RECOVERED.
 *   - A slow lossy link (tbf rate 10 mbit, latency 50 ms: packets queue and
 *     drop) carrying a continuous transfer for 10 s with the same stall_ms:
 *     no stall report, and the link really was lossy (tc drops or
 *     tcpi_total_retrans > 0).
 *   - Data that never left: the server's own side fails to send (a qdisc
 *     that drops every packet, or its link down: no route), then 64 KiB are
 *     written. Nothing is in flight, the window is open, only the kernel's
 *     probe timer retries: STALLED/NO_ACK within 3 s (stall_ms 1 s; the
 *     kernel's third failed attempt comes 1.2-1.6 s after the write), and
 *     RECOVERED once the side works again.
 *
 * Needs root (CAP_NET_ADMIN), iproute2 and tc with tbf: otherwise prints why
 * and exits 77. The namespaces are removed at exit.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "detect_stall.h"
#include "fixture.h"
#include "hupmon.h"
#include "lab/netns.h"

#define STALL_MS  1000
#define PERIOD_MS 100
#define DETECT_NS 3000000000ull
#define UT_MS	  6000
#define MARGIN_NS 3000000000ull
#define LOSSY_S	  10

static int lfd = -1;
static uint16_t lport;

static void listen_srv(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);

	if (lfd >= 0)
		return;
	inet_pton(AF_INET, NETNS_SRV_ADDR, &a.sin_addr);
	lfd = netns_socket(NETNS_SRV);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	lport = ntohs(a.sin_port);
}

/* One connection across the link; the server end non-blocking. */
static void connect_across(int *srv, int *cli)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(lport)};

	inet_pton(AF_INET, NETNS_SRV_ADDR, &a.sin_addr);
	*cli = netns_socket(NETNS_CLI);
	ck_assert_int_ge(*cli, 0);
	ck_assert_int_eq(connect(*cli, (struct sockaddr *)&a, sizeof(a)), 0);
	*srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	ck_assert_int_ge(*srv, 0);
	ck_assert_int_eq(fcntl(*cli, F_SETFL, O_NONBLOCK), 0);
}

static hupmon *new_monitor(struct fx_stall_log *l)
{
	struct hupmon_config cfg = {.on_hangup = fx_stall_log_on_hangup,
				    .on_stall = fx_stall_log_on_stall,
				    .arg = l,
				    .sweep_period_ms = PERIOD_MS,
				    .stall_ms = STALL_MS};
	hupmon *m = NULL;

	memset(l, 0, sizeof(*l));
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	return m;
}

START_TEST(test_link_down_no_ack_then_timeout)
{
	struct fx_stall_log l;
	hupmon *m = new_monitor(&l);
	struct hupmon_liveness live = {.user_timeout_ms = UT_MS};
	struct hupmon_watch_opts o = {.liveness = &live};
	struct hupmon_stats st;
	int srv, cli;
	hupmon_id id;
	uint64_t wrote, end, stall_at = 0, timeout_at = 0, bound_ms;

	listen_srv();
	connect_across(&srv, &cli);
	ck_assert_int_eq(hupmon_watch_ex(m, srv, &o, &id), 0);
	fx_dispatch_for(m, 3 * PERIOD_MS);
	ck_assert_uint_eq(l.nst, 0);

	fx_get_stats(m, &st);
	bound_ms = STALL_MS + 2 * st.sweep_gap_bound_ns / 1000000u;
	ck_assert_int_eq(netns_link(false, NULL, 0), 0);
	wrote = fx_now_ns();
	ck_assert_uint_gt(netns_fill(srv, 65536), 0);
	end = wrote + (uint64_t)UT_MS * 1000000u + MARGIN_NS;
	while (fx_now_ns() < end && !timeout_at) {
		ck_assert_int_ge(hupmon_dispatch(m, 20), 0);
		if (!stall_at && l.nst)
			stall_at = l.st[0].detected_ns;
		if (l.nhup)
			timeout_at = l.hup[l.nhup - 1].detected_ns;
	}
	fx_dispatch_for(m, 3 * PERIOD_MS);
	printf("netns: link down, data in flight: NO_ACK after %llu ms "
	       "(bound stall_ms + 2 x probe-gap bound = %llu ms), TIMEOUT "
	       "after %llu ms (user timeout %u ms)\n",
	       stall_at ? (unsigned long long)(stall_at - wrote) / 1000000 : 0,
	       (unsigned long long)bound_ms,
	       timeout_at ? (unsigned long long)(timeout_at - wrote) / 1000000
			  : 0,
	       UT_MS);
	ck_assert_msg(stall_at, "no stall report");
	ck_assert_int_eq(l.st[0].kind, HUPMON_STALL_KIND_STALLED);
	ck_assert_int_eq(l.st[0].reason, HUPMON_STALL_REASON_NO_ACK);
	ck_assert_uint_le(stall_at - wrote, DETECT_NS);
	ck_assert_msg(timeout_at, "no TIMEOUT");
	ck_assert_int_eq(l.hup[l.nhup - 1].cause, HUPMON_CAUSE_TIMEOUT);
	ck_assert_uint_gt(timeout_at, stall_at);
	/* one episode, closed by the hangup: no RECOVERED */
	ck_assert_uint_eq(l.nst, 1);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.stalls[HUPMON_STALL_REASON_NO_ACK], 1);
	ck_assert_uint_eq(st.stall_closed, 1);
	ck_assert_uint_eq(st.stall_recoveries[HUPMON_STALL_REASON_NO_ACK], 0);
	ck_assert_int_eq(netns_link(true, NULL, 0), 0);
	hupmon_free(m);
	close(srv);
	close(cli);
}
END_TEST

START_TEST(test_tbf_lossy_no_stall)
{
	struct fx_stall_log l;
	hupmon *m;
	struct hupmon__tcp_info ti;
	socklen_t tlen = sizeof(ti);
	char why[192];
	int srv, cli;
	hupmon_id id;
	uint64_t end;
	size_t sent = 0, got = 0;
	long drops;

	if (netns_sh(why, sizeof(why),
		     "ip netns exec %s tc qdisc replace dev %s root tbf rate "
		     "10mbit burst 32kbit latency 50ms",
		     netns_name(NETNS_SRV), netns_dev(NETNS_SRV))) {
		ck_abort_msg("tc tbf: %s", why);
	}
	m = new_monitor(&l);
	listen_srv();
	connect_across(&srv, &cli);
	id = fx_watch_ok(m, srv, NULL);
	end = fx_now_ns() + LOSSY_S * 1000000000ull;
	while (fx_now_ns() < end) {
		sent += netns_fill(srv, 1u << 20);
		got += netns_drain(cli);
		ck_assert_int_ge(hupmon_dispatch(m, 1), 0);
	}
	memset(&ti, 0, sizeof(ti));
	ck_assert_int_eq(getsockopt(srv, IPPROTO_TCP, TCP_INFO, &ti, &tlen), 0);
	drops = netns_tc_drops();
	printf("netns: tbf 10 mbit/50 ms, %d s: %zu bytes received (%.1f "
	       "Mbit/s), tc drops %ld, tcpi_total_retrans %u, stall reports "
	       "%zu\n",
	       LOSSY_S, got, (double)got * 8 / LOSSY_S / 1e6, drops,
	       ti.total_retrans, l.nst);
	ck_assert_msg(drops > 0 || ti.total_retrans > 0,
		      "the link was not lossy");
	ck_assert_uint_gt(got, 0);
	ck_assert_uint_eq(l.nst, 0);
	fx_unwatch_ok(m, id);
	hupmon_free(m);
	close(srv);
	close(cli);
	netns_sh(NULL, 0, "ip netns exec %s tc qdisc del dev %s root",
		 netns_name(NETNS_SRV), netns_dev(NETNS_SRV));
	(void)sent;
}
END_TEST

/* The server's side fails to send (_i 0: a pfifo qdisc of limit 0 drops
 * every packet; 1: its link is down), or works again. */
static void server_side(bool broken, int how)
{
	char why[192];
	int rc;

	if (how == 0)
		rc = netns_sh(why, sizeof(why),
			      broken ? "ip netns exec %s tc qdisc replace dev "
				       "%s root pfifo limit 0"
				     : "ip netns exec %s tc qdisc del dev %s "
				       "root",
			      netns_name(NETNS_SRV), netns_dev(NETNS_SRV));
	else
		rc = netns_sh(why, sizeof(why), "ip -n %s link set %s %s",
			      netns_name(NETNS_SRV), netns_dev(NETNS_SRV),
			      broken ? "down" : "up");
	ck_assert_msg(rc == 0, "server side %s: %s",
		      broken ? "broken" : "restored", why);
}

START_TEST(test_never_sent_no_ack)
{
	static const char *const how[] = {"qdisc drops all", "link down"};
	struct fx_stall_log l;
	hupmon *m = new_monitor(&l);
	struct hupmon__tcp_info ti;
	socklen_t tlen = sizeof(ti);
	int srv, cli;
	hupmon_id id;
	uint64_t wrote, repaired, end, stall_at = 0, rec_at = 0;

	listen_srv();
	connect_across(&srv, &cli);
	id = fx_watch_ok(m, srv, NULL);
	fx_dispatch_for(m, 3 * PERIOD_MS);
	server_side(true, _i);
	wrote = fx_now_ns();
	ck_assert_uint_eq(netns_fill(srv, 65536), 65536);
	end = wrote + DETECT_NS;
	while (fx_now_ns() < end && !l.nst)
		ck_assert_int_ge(hupmon_dispatch(m, 20), 0);
	if (l.nst)
		stall_at = l.st[0].detected_ns;
	/* What it was: nothing in flight, everything queued, window open,
	 * the probe timer failing. */
	memset(&ti, 0, sizeof(ti));
	ck_assert_int_eq(getsockopt(srv, IPPROTO_TCP, TCP_INFO, &ti, &tlen), 0);
	server_side(false, _i);
	repaired = fx_now_ns();
	end = repaired + 10000000000ull;
	while (fx_now_ns() < end && l.nst < 2)
		ck_assert_int_ge(hupmon_dispatch(m, 20), 0);
	if (l.nst >= 2)
		rec_at = l.st[1].detected_ns;
	printf("netns: %s, 64 KiB never sent: NO_ACK after %llu ms (stall_ms "
	       "%d, or the kernel's third failed attempt if later; "
	       "tcpi_unacked %u, notsent %u, snd_wnd %u, probes %u), "
	       "RECOVERED %llu ms after the repair\n",
	       how[_i],
	       stall_at ? (unsigned long long)(stall_at - wrote) / 1000000 : 0,
	       STALL_MS, ti.unacked, ti.notsent_bytes, ti.snd_wnd, ti.probes,
	       rec_at ? (unsigned long long)(rec_at - repaired) / 1000000 : 0);
	fflush(stdout);
	ck_assert_uint_eq(ti.unacked, 0);
	ck_assert_uint_gt(ti.notsent_bytes, 0);
	ck_assert_uint_gt(ti.snd_wnd, 0);
	ck_assert_msg(stall_at, "no stall report within %llu ms",
		      (unsigned long long)DETECT_NS / 1000000);
	ck_assert_int_eq(l.st[0].kind, HUPMON_STALL_KIND_STALLED);
	ck_assert_int_eq(l.st[0].reason, HUPMON_STALL_REASON_NO_ACK);
	ck_assert(!l.st[0].escalation);
	ck_assert_uint_ge(stall_at - wrote, (uint64_t)STALL_MS * 1000000u);
	ck_assert_msg(rec_at, "no RECOVERED after the repair");
	ck_assert_int_eq(l.st[1].kind, HUPMON_STALL_KIND_RECOVERED);
	ck_assert_int_eq(l.st[1].reason, HUPMON_STALL_REASON_NO_ACK);
	ck_assert_uint_eq(l.nhup, 0);
	fx_unwatch_ok(m, id);
	hupmon_free(m);
	close(srv);
	close(cli);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("stall_netns");
	TCase *tc = tcase_create("stall");
	SRunner *sr;
	char why[192];
	int failed;

	if (netns_up("hupst", why, sizeof(why))) {
		printf("SKIP: %s\n", why);
		return 77;
	}
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_link_down_no_ack_then_timeout);
	tcase_add_test(tc, test_tbf_lossy_no_stall);
	tcase_add_loop_test(tc, test_never_sent_no_ack, 0, 2);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	netns_down();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
