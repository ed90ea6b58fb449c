/* SPDX-License-Identifier: MIT */
/*
 * stall: what only the TCP_INFO sweep can see (stall reports). The epoll
 * path sees nothing of a stall: nothing changes on the socket until the
 * kernel gives up.
 *
 *   zero-window (loopback, no root): clients with a small receive buffer
 *     stop reading while the server writes (non-blocking, no user timeout):
 *     STALLED/ZERO_WINDOW, timed from the write that filled the buffer;
 *     then they drain everything: RECOVERED, timed from the start of the
 *     drain.
 *   half-closed (loopback, stall_halfclose.c): clients that shut their
 *     write side and stop reading (CLOSE_WAIT), and the same with the
 *     server then shutting down its own side behind the queued data
 *     (LAST_ACK): STALLED/ZERO_WINDOW, timed from the write.
 *   live look-alikes of data that never left (loopback, stall_unsent.c):
 *     corked writes, a window smaller than a segment, a tiny pacing rate:
 *     no stall report may come.
 *   no-ack (root, silent's lab): the client's link goes down while the
 *     server has data in flight, TCP_USER_TIMEOUT 10 s: STALLED/NO_ACK
 *     against the kernel's TIMEOUT, both timed from the write.
 *   never sent (root, stall_unsent.c): the server's own side cannot send
 *     (a qdisc that drops everything; its link down): STALLED/NO_ACK,
 *     timed from the write, with stall_ms 2 s.
 *   tbf 10mbit/50ms, tbf 1mbit/400ms (root): a continuous transfer for 10 s
 *     over a slow link that queues and drops: no stall report may come
 *     (stall_ms 1 s, and 3 s for the harsher link by the README's rule);
 *     tc drops and tcpi_total_retrans show the link was lossy.
 *   bookkeeping: CPU per probe of a TCP_INFO sweep over the same loopback
 *     sockets (idle, and with a shut window) with stall tracking on and
 *     off.
 *
 * Bound: stall_ms + 2 x the probe-gap bound (stats.sweep_gap_bound_ns);
 * RECOVERED: one probe-gap bound. A missing report, a wrong reason, any
 * report on a lossy link or a live look-alike, or a case that could not
 * be set up is a failure (a count check: exit status 1); a report past its
 * bound misses a timing check (verdict.h). The lab is removed at the end.
 * What each case measured is kept in its row (stall.h); stall_report.c
 * prints them.
 */
#include "stall.h"
#include "lab/netns.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNS	   STALL_CONNS
#define PERIOD	   STALL_PERIOD
#define CPU_SOCK   500
#define CPU_ROUNDS 9

/* Loopback: ZERO_WINDOW, then RECOVERED. */
static void zero_window(const struct bctx *x, struct stall_res *sr)
{
	struct sconn c[CONNS];
	struct slog l = {.c = c, .n = CONNS};
	hupmon *m = stall_monitor(&l, 1000);
	struct vec st = {0}, rec = {0};
	uint64_t gap, end;
	unsigned bad = 0;

	memset(c, 0, sizeof(c));
	for (unsigned i = 0; i < CONNS; i++) {
		struct hupmon_watch_opts o = {.user = &c[i]};

		if (stall_pair(x->lfd, false, x->port, 4096, &c[i].sfd,
			       &c[i].cfd) ||
		    hupmon_watch_ex(m, c[i].sfd, &o, &c[i].id))
			die("stall: loopback pair", errno);
	}
	stall_dispatch_for(m, 3 * PERIOD * NS_PER_MS);
	gap = stall_gap_bound(m);
	/* The windows shut one by one, spread over a period. */
	for (unsigned i = 0; i < CONNS; i++) {
		c[i].sent = netns_fill(c[i].sfd, 1u << 24);
		c[i].t_fail = now_ns();
		stall_dispatch_for(m, PERIOD * NS_PER_MS / CONNS);
	}
	end = now_ns() + 4000 * NS_PER_MS;
	while (now_ns() < end && l.stalls < CONNS)
		hupmon_dispatch(m, 10);
	for (unsigned i = 0; i < CONNS; i++) {
		if (c[i].t_stall)
			vec_push(&st, c[i].t_stall - c[i].t_fail);
		bad += c[i].t_stall &&
		       c[i].reason != HUPMON_STALL_REASON_ZERO_WINDOW;
	}
	stall_drain_each(m, c, CONNS, &rec);
	stall_dispatch_for(m, 1000 * NS_PER_MS);
	stall_fig(stall_row("loopback ZERO_WINDOW", &st,
			    1000 + 2.0 * (double)gap / 1e6, CONNS,
			    bad + l.stray, "(stall_ms 1000)", sr),
		  "stall_ms", 1000, 0);
	stall_brief(stall_row("loopback RECOVERED", &rec, (double)gap / 1e6,
			      CONNS, l.recs - rec.n, "(from the drain)", sr),
		    "from the drain");
	hupmon_free(m);
	stall_close(c, CONNS);
	vec_free(&st);
	vec_free(&rec);
}

/* Root: link down with data in flight; NO_ACK against TIMEOUT. */
static void no_ack(int lfd, uint16_t port, struct stall_res *sr)
{
	struct sconn c[CONNS];
	struct slog l = {.c = c, .n = CONNS};
	struct hupmon_liveness live = {.user_timeout_ms = 10000};
	hupmon *m = stall_monitor(&l, 1000);
	struct vec st = {0}, to = {0};
	struct stall_row *row;
	uint64_t gap, end;
	unsigned bad = 0;

	memset(c, 0, sizeof(c));
	for (unsigned i = 0; i < CONNS; i++) {
		struct hupmon_watch_opts o = {.user = &c[i], .liveness = &live};

		if (stall_pair(lfd, true, port, 0, &c[i].sfd, &c[i].cfd) ||
		    hupmon_watch_ex(m, c[i].sfd, &o, &c[i].id))
			die("stall: lab pair", errno);
	}
	stall_dispatch_for(m, 3 * PERIOD * NS_PER_MS);
	gap = stall_gap_bound(m);
	netns_link(false, NULL, 0);
	for (unsigned i = 0; i < CONNS; i++) {
		c[i].t_fail = now_ns();
		netns_fill(c[i].sfd, 65536);
		stall_dispatch_for(m, PERIOD * NS_PER_MS / CONNS);
	}
	end = now_ns() + 14000 * NS_PER_MS;
	while (now_ns() < end && l.hups < CONNS)
		hupmon_dispatch(m, 10);
	for (unsigned i = 0; i < CONNS; i++) {
		if (c[i].t_stall)
			vec_push(&st, c[i].t_stall - c[i].t_fail);
		if (c[i].t_hup && c[i].cause == HUPMON_CAUSE_TIMEOUT)
			vec_push(&to, c[i].t_hup - c[i].t_fail);
		bad += c[i].t_stall &&
		       c[i].reason != HUPMON_STALL_REASON_NO_ACK;
	}
	stall_fig(stall_row("link down: NO_ACK", &st,
			    1000 + 2.0 * (double)gap / 1e6, CONNS, bad + l.recs,
			    "(stall_ms 1000)", sr),
		  "stall_ms", 1000, 0);
	row = stall_row("link down: kernel TIMEOUT", &to, 10000 + 2000, CONNS,
			0, "(TCP_USER_TIMEOUT 10 s)", sr);
	stall_fig(row, "user_timeout_ms", 10000, 0);
	stall_brief(row, "TCP_USER_TIMEOUT 10 s");
	netns_link(true, NULL, 0);
	hupmon_free(m);
	stall_close(c, CONNS);
	vec_free(&st);
	vec_free(&to);
}

/* Root: a continuous transfer over a tbf link: no stall may come. */
static void lossy(int lfd, uint16_t port, const char *rate, unsigned lat_ms,
		  uint32_t stall_ms, struct stall_res *sr)
{
	struct sconn c = {0};
	struct slog l = {.c = &c, .n = 1};
	struct hupmon_watch_opts o = {.user = &c};
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	char why[192], name[64], note[128];
	struct stall_row *row;
	hupmon *m;
	uint64_t end;
	size_t got = 0;
	long drops;

	if (netns_sh(
		    why, sizeof(why),
		    "ip netns exec %s tc qdisc replace dev %s root tbf rate %s "
		    "burst 32kbit latency %ums",
		    netns_name(NETNS_SRV), netns_dev(NETNS_SRV), rate,
		    lat_ms)) {
		stall_error(sr, "tbf %s: %s", rate, why);
		return;
	}
	m = stall_monitor(&l, stall_ms);
	if (stall_pair(lfd, true, port, 0, &c.sfd, &c.cfd) ||
	    hupmon_watch_ex(m, c.sfd, &o, &c.id))
		die("stall: lab pair", errno);
	end = now_ns() + 10000 * NS_PER_MS;
	while (now_ns() < end) {
		netns_fill(c.sfd, 1u << 20);
		got += netns_drain(c.cfd);
		hupmon_dispatch(m, 1);
	}
	memset(&ti, 0, sizeof(ti));
	getsockopt(c.sfd, IPPROTO_TCP, TCP_INFO, &ti, &tl);
	drops = netns_tc_drops();
	snprintf(name, sizeof(name), "tbf %s/%u ms, 10 s", rate, lat_ms);
	snprintf(note, sizeof(note),
		 "(stall_ms %u; %.2f Mbit/s, tc drops %ld, retrans %u)",
		 stall_ms, (double)got * 8 / 10 / 1e6, drops,
		 ti.tcpi_total_retrans);
	/* A link that dropped nothing tested nothing. */
	row = stall_row_silent(name, l.stalls + l.recs,
			       drops <= 0 && !ti.tcpi_total_retrans, note, sr);
	stall_fig(row, "stall_ms", stall_ms, 0);
	stall_fig(row, "tbf_latency_ms", lat_ms, 0);
	stall_fig(row, "mbit_per_s", (double)got * 8 / 10 / 1e6, 3);
	stall_fig(row, "tc_drops", (double)drops, 0);
	stall_fig(row, "retrans", ti.tcpi_total_retrans, 0);
	stall_brief(row, "tc drops %ld", drops);
	hupmon_free(m);
	stall_close(&c, 1);
	netns_sh(NULL, 0, "ip netns exec %s tc qdisc del dev %s root",
		 netns_name(NETNS_SRV), netns_dev(NETNS_SRV));
}

/* CPU per probe of a TCP_INFO sweep over the sockets, stall tracking on
 * (stall_ms at its maximum, so no report is made: the classifier's cost
 * alone) or off. */
static double cpu_per_probe(int *sfd, unsigned n, bool on)
{
	struct slog l = {0};
	hupmon *m = stall_monitor(&l, on ? 3600000 : 0);
	struct hupmon_stats st;
	uint64_t p0;
	hupmon_id id;
	double cpu;

	for (unsigned i = 0; i < n; i++)
		if (hupmon_watch(m, sfd[i], NULL, &id))
			die("stall: watch", EINVAL);
	stall_dispatch_for(m, 1 * PERIOD * NS_PER_MS);
	hupmon_stats(m, &st);
	p0 = st.sweep_probes;
	cpu = self_cpu_ms();
	stall_dispatch_for(m, 6 * PERIOD * NS_PER_MS);
	cpu = self_cpu_ms() - cpu;
	hupmon_stats(m, &st);
	hupmon_free(m);
	return cpu * 1e6 / (double)(st.sweep_probes - p0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The kernel's side alone: getsockopt(TCP_INFO) of 8 bytes (a plain probe)
 * against 232 (a tracked socket's), over the same sockets, alternating;
 * the median per call of 9 rounds each, into sc. */
static void syscall_cost(const int *sfd, unsigned n, struct stall_cpu *sc)
{
	double t[2][CPU_ROUNDS];
	uint64_t ti[64]; /* the kernel's struct tcp_info: 280 bytes here */

	for (int r = 0; r < CPU_ROUNDS; r++)
		for (int big = 0; big < 2; big++) {
			uint64_t t0 = now_ns();

			for (int k = 0; k < 20; k++)
				for (unsigned i = 0; i < n; i++) {
					socklen_t len = big ? 232 : 8;

					getsockopt(sfd[i], IPPROTO_TCP,
						   TCP_INFO, &ti, &len);
				}
			t[big][r] = (double)(now_ns() - t0) / (20.0 * n);
		}
	qsort(t[0], CPU_ROUNDS, sizeof(t[0][0]), cmp_double);
	qsort(t[1], CPU_ROUNDS, sizeof(t[1][0]), cmp_double);
	sc->tcp_info_8_ns = t[0][CPU_ROUNDS / 2];
	sc->tcp_info_232_ns = t[1][CPU_ROUNDS / 2];
}

/* Alternating rounds, off then on, on the same sockets: idle ones (the
 * classifier's shortest path) and ones whose window is shut (a streak
 * without progress: its longest path). The added CPU is the median over
 * rounds of (on / off) measured in the same round. */
static void bookkeeping(const struct bctx *x, struct stall_res *sr)
{
	static int sfd[CPU_SOCK], cfd[CPU_SOCK];

	for (int shut = 0; shut < 2; shut++) {
		double off[CPU_ROUNDS], on[CPU_ROUNDS], ratio[CPU_ROUNDS];
		int snd = 16384;
		struct stall_cpu *sc = &sr->cpu[sr->ncpu++];

		for (unsigned i = 0; i < CPU_SOCK; i++) {
			if (stall_pair(x->lfd, false, x->port, shut ? 4096 : 0,
				       &sfd[i], &cfd[i]))
				die("stall: loopback pair", errno);
			setsockopt(sfd[i], SOL_SOCKET, SO_SNDBUF, &snd,
				   sizeof(snd));
			if (shut)
				netns_fill(sfd[i], 1u << 20);
		}
		for (int r = 0; r < CPU_ROUNDS; r++) {
			off[r] = cpu_per_probe(sfd, CPU_SOCK, false);
			on[r] = cpu_per_probe(sfd, CPU_SOCK, true);
			ratio[r] = on[r] / off[r];
		}
		syscall_cost(sfd, CPU_SOCK, sc);
		qsort(off, CPU_ROUNDS, sizeof(off[0]), cmp_double);
		qsort(on, CPU_ROUNDS, sizeof(on[0]), cmp_double);
		qsort(ratio, CPU_ROUNDS, sizeof(ratio[0]), cmp_double);
		sc->sockets = shut ? "shut-window" : "idle";
		sc->n = CPU_SOCK;
		sc->rounds = CPU_ROUNDS;
		sc->off_ns = off[CPU_ROUNDS / 2];
		sc->on_ns = on[CPU_ROUNDS / 2];
		sc->added_pct = (ratio[CPU_ROUNDS / 2] - 1) * 100;
		sc->added_min_pct = (ratio[0] - 1) * 100;
		sc->added_max_pct = (ratio[CPU_ROUNDS - 1] - 1) * 100;
		for (unsigned i = 0; i < CPU_SOCK; i++) {
			close(sfd[i]);
			close(cfd[i]);
		}
	}
}

void *stall_run(const struct bctx *x)
{
	struct stall_res *sr = xcalloc(1, sizeof(*sr));
	uint64_t t0 = now_ns();
	char why[192];
	int lfd;
	uint16_t port;

	zero_window(x, sr);
	stall_half_closed(x, false, sr);
	stall_half_closed(x, true, sr);
	stall_unsent_lookalikes(x, sr);
	fprintf(stderr, "hupmon-bench: %-12s loopback done (%.1f s)\n",
		x->s->name, (double)(now_ns() - t0) / 1e9);
	bookkeeping(x, sr);
	fprintf(stderr, "hupmon-bench: %-12s bookkeeping done (%.1f s)\n",
		x->s->name, (double)(now_ns() - t0) / 1e9);
	if (netns_up("hupstall", why, sizeof(why))) {
		snprintf(sr->lab_skipped, sizeof(sr->lab_skipped), "%s", why);
		fprintf(stderr, "hupmon-bench: %-12s namespaces skipped: %s\n",
			x->s->name, why);
		return sr;
	}
	sr->lab = true;
	lfd = netns_socket(NETNS_SRV);
	lfd = lfd < 0 ? lfd : listener_open(lfd, NETNS_SRV_ADDR, 64, &port);
	if (lfd < 0)
		die("stall: lab listener", -lfd);
	no_ack(lfd, port, sr);
	stall_never_sent(lfd, port, false, sr);
	stall_never_sent(lfd, port, true, sr);
	lossy(lfd, port, "10mbit", 50, 1000, sr);
	lossy(lfd, port, "1mbit", 400, 3000, sr);
	close(lfd);
	netns_down();
	fprintf(stderr, "hupmon-bench: %-12s namespaces done (%.1f s)\n",
		x->s->name, (double)(now_ns() - t0) / 1e9);
	return sr;
}

/* A row with a report missing or false, or (silent) a report at all or a
 * case that never showed its shape, fails (count); a report after its
 * bound is late (timing). A case that could not be set up fails too. */
void stall_analyse(void *res, const struct bctx *x)
{
	struct stall_res *sr = res;

	sr->failed = sr->setup_failed;
	sr->late = 0;
	for (unsigned i = 0; i < sr->nrow; i++) {
		struct stall_row *r = &sr->row[i];

		r->failed = r->silent ? r->fals || r->untested
				      : r->reported != r->want || r->fals;
		r->late = !r->silent && r->reported && r->max_ms > r->bound_ms;
		sr->failed += r->failed;
		sr->late += r->late;
	}
	check_ok(x->v, CK_STALL, !sr->failed);
	check_ok(x->v, CK_STALL_LATE, !sr->late);
}
