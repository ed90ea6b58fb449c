/* SPDX-License-Identifier: MIT */
/*
 * stall_unsent: data that never left, and the live connections that look
 * like it (window open, nothing in flight, data queued).
 *
 *   never sent (root, the lab): the server's side cannot send: a pfifo
 *     qdisc of limit 0 on its end of the link drops every packet, or that
 *     end is down (no route). Each server end then writes 64 KiB; only the
 *     kernel's probe timer retries, and fails: STALLED/NO_ACK, timed from
 *     the write. stall_ms 2 s: the signal, the kernel's third failed
 *     attempt, comes 1.2-1.6 s after the write (detect_stall.h), so with
 *     1 s the report would wait for it past stall_ms + 2 x the probe-gap
 *     bound. Then the side is repaired: RECOVERED within the kernel's next
 *     attempt (its probe interval then, at least 500 ms) + one probe-gap
 *     bound.
 *   live look-alikes (loopback, stall_ms 1 s, 5 s each): corked writes
 *     (the probe timer pushes them within an RTO), a window smaller than a
 *     segment (the reader clamps its window to 1 KiB), a pacing rate of
 *     1000 B/s (MBs wait on the pacing timer): no report may come. Each
 *     must show the shape in its own samples, or it tested nothing.
 */
#include "stall.h"
#include "detect_stall.h"
#include "lab/netns.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define CONNS STALL_CONNS

static int tcp_sample(int fd, struct hupmon__tcp_info *ti)
{
	socklen_t len = sizeof(*ti);

	memset(ti, 0, sizeof(*ti));
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len) ? -errno : 0;
}

/* The server's side of the lab broken (fails every send) or repaired. */
static int server_side(bool link_down, bool broken, struct stall_res *sr)
{
	char why[192];
	int rc;

	if (link_down)
		rc = netns_sh(why, sizeof(why), "ip -n %s link set %s %s",
			      netns_name(NETNS_SRV), netns_dev(NETNS_SRV),
			      broken ? "down" : "up");
	else
		rc = netns_sh(why, sizeof(why),
			      broken ? "ip netns exec %s tc qdisc replace dev "
				       "%s root pfifo limit 0"
				     : "ip netns exec %s tc qdisc del dev %s "
				       "root",
			      netns_name(NETNS_SRV), netns_dev(NETNS_SRV));
	if (rc)
		stall_error(sr, "server side %s: %s",
			    broken ? "broken" : "repaired", why);
	return rc;
}

/* The most the kernel waits before its next send attempt on fd: its probe
 * interval, rto << backoff, or 500 ms when a local drop holds it. */
static uint64_t next_attempt_ns(int fd)
{
	struct hupmon__tcp_info ti;
	uint64_t ns;

	if (tcp_sample(fd, &ti))
		return 0;
	ns = (uint64_t)ti.rto_us * 1000u << (ti.backoff < 10 ? ti.backoff : 10);
	return ns > 500 * NS_PER_MS ? ns : 500 * NS_PER_MS;
}

void stall_never_sent(int lfd, uint16_t port, bool link_down,
		      struct stall_res *sr)
{
	struct sconn c[CONNS];
	struct slog l = {.c = c, .n = CONNS};
	hupmon *m = stall_monitor(&l, 2000);
	struct vec st = {0}, rec = {0};
	struct hupmon_stats hs;
	unsigned bad = 0;
	uint64_t gap, end, repaired, next = 0;
	char note[96];
	struct stall_row *row;

	memset(c, 0, sizeof(c));
	for (unsigned i = 0; i < CONNS; i++)
		if (stall_pair(lfd, true, port, 0, &c[i].sfd, &c[i].cfd))
			die("stall: lab pair", errno);
	/* Broken before the watches, so that the command (which holds this
	 * thread) leaves no gap in the probes the report depends on. */
	if (server_side(link_down, true, sr))
		goto out;
	for (unsigned i = 0; i < CONNS; i++) {
		struct hupmon_watch_opts o = {.user = &c[i]};
		int rc = hupmon_watch_ex(m, c[i].sfd, &o, &c[i].id);

		if (rc)
			die("stall: watch", -rc);
	}
	stall_dispatch_for(m, 3 * STALL_PERIOD * NS_PER_MS);
	gap = stall_gap_bound(m);
	for (unsigned i = 0; i < CONNS; i++) {
		c[i].t_fail = now_ns();
		c[i].sent = netns_fill(c[i].sfd, 65536);
		stall_dispatch_for(m, STALL_PERIOD * NS_PER_MS / CONNS);
	}
	end = now_ns() + 6000 * NS_PER_MS;
	while (now_ns() < end && l.stalls < CONNS)
		hupmon_dispatch(m, 10);
	hupmon_stats(m, &hs);
	for (unsigned i = 0; i < CONNS; i++) {
		uint64_t n = next_attempt_ns(c[i].sfd);

		next = n > next ? n : next;
	}
	server_side(link_down, false, sr);
	repaired = now_ns();
	end = repaired + 10000 * NS_PER_MS;
	while (now_ns() < end && l.recs < CONNS) {
		for (unsigned i = 0; i < CONNS; i++)
			netns_drain(c[i].cfd);
		hupmon_dispatch(m, 10);
	}
	for (unsigned i = 0; i < CONNS; i++) {
		if (c[i].t_stall)
			vec_push(&st, c[i].t_stall - c[i].t_fail);
		if (c[i].t_rec)
			vec_push(&rec, c[i].t_rec - repaired);
		/* It was what it claims: nothing had left. */
		bad += c[i].t_stall &&
		       (c[i].reason != HUPMON_STALL_REASON_NO_ACK ||
			c[i].stall_notsent != c[i].sent || !c[i].sent);
	}
	/* The bound holds while the dispatching thread keeps up: the worst
	 * probe gap shows whether it did. */
	snprintf(note, sizeof(note),
		 "(stall_ms 2000; 64 KiB each; worst probe gap %.0f ms)",
		 (double)hs.sweep_gap_worst_ns / 1e6);
	row = stall_row(link_down ? "unsent, link down: NO_ACK"
				  : "unsent, qdisc: NO_ACK",
			&st, 2000 + 2.0 * (double)gap / 1e6, CONNS,
			bad + l.stray + l.hups, note, sr);
	stall_fig(row, "stall_ms", 2000, 0);
	stall_fig(row, "bytes_each", 65536, 0);
	stall_fig(row, "probe_gap_worst_ms",
		  (double)hs.sweep_gap_worst_ns / 1e6, 3);
	stall_brief(row, "worst gap %.0f ms",
		    (double)hs.sweep_gap_worst_ns / 1e6);
	row = stall_row(link_down ? "unsent, link down: RECOVERED"
				  : "unsent, qdisc: RECOVERED",
			&rec, (double)(next + gap) / 1e6, CONNS, l.recs - rec.n,
			"(from the repair: the kernel's next attempt + gap)",
			sr);
	stall_brief(row, "from the repair");
out:
	hupmon_free(m);
	stall_close(c, CONNS);
	vec_free(&st);
	vec_free(&rec);
}

enum lookalike { LA_CORK, LA_SMALL_WINDOW, LA_PACING, LA_COUNT };

static const char *const la_name[LA_COUNT] = {
	[LA_CORK] = "live: corked writes",
	[LA_SMALL_WINDOW] = "live: window < segment",
	[LA_PACING] = "live: pacing 1000 B/s",
};

/* Sets the conn up as its case wants, the client reading all along. */
static void la_setup(hupmon *m, struct sconn *c, enum lookalike k)
{
	int one = 1, big = 1 << 20, clamp = 1024;
	unsigned rate = 1000;

	switch (k) {
	case LA_CORK:
		setsockopt(c->sfd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one));
		break;
	case LA_SMALL_WINDOW:
		/* A transfer first, so that our MSS is a large window's;
		 * then the reader locks its buffer (no autotuning) and
		 * clamps its window below one segment. */
		netns_fill(c->sfd, 256 * 1024);
		stall_dispatch_for(m, 50 * NS_PER_MS);
		netns_drain(c->cfd);
		setsockopt(c->cfd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		setsockopt(c->cfd, IPPROTO_TCP, TCP_WINDOW_CLAMP, &clamp,
			   sizeof(clamp));
		netns_fill(c->sfd, 1u << 20);
		break;
	case LA_PACING:
		setsockopt(c->sfd, SOL_SOCKET, SO_MAX_PACING_RATE, &rate,
			   sizeof(rate));
		netns_fill(c->sfd, 4u << 20);
		break;
	case LA_COUNT:
		break;
	}
}

/* Whether a sample shows the case's shape: window open, nothing in
 * flight, data queued (for the small window: a window below a segment). */
static bool la_shape(const struct hupmon__tcp_info *ti, enum lookalike k)
{
	bool unsent =
		ti->snd_wnd > 0 && ti->unacked == 0 && ti->notsent_bytes > 0;

	return unsent && (k != LA_SMALL_WINDOW || ti->snd_wnd < ti->snd_mss);
}

static void lookalike(const struct bctx *x, enum lookalike k,
		      struct stall_res *sr)
{
	struct sconn c[CONNS];
	struct slog l = {.c = c, .n = CONNS};
	hupmon *m = stall_monitor(&l, 1000);
	unsigned samples = 0, shaped = 0, probes = 0;
	uint64_t end, next_write = 0, next_look = 0;
	char note[128];
	struct stall_row *row;

	memset(c, 0, sizeof(c));
	for (unsigned i = 0; i < CONNS; i++) {
		struct hupmon_watch_opts o = {.user = &c[i]};

		if (stall_pair(x->lfd, false, x->port, 0, &c[i].sfd,
			       &c[i].cfd) ||
		    hupmon_watch_ex(m, c[i].sfd, &o, &c[i].id))
			die("stall: loopback pair", errno);
		la_setup(m, &c[i], k);
	}
	end = now_ns() + 5000 * NS_PER_MS;
	while (now_ns() < end) {
		uint64_t now = now_ns();

		if (k == LA_CORK && now >= next_write) {
			static const char small[100];

			for (unsigned i = 0; i < CONNS; i++)
				send(c[i].sfd, small, sizeof(small),
				     MSG_NOSIGNAL);
			next_write = now + 300 * NS_PER_MS;
		}
		if (now >= next_look) {
			for (unsigned i = 0; i < CONNS; i++) {
				struct hupmon__tcp_info ti;

				if (tcp_sample(c[i].sfd, &ti))
					continue;
				samples++;
				if (!la_shape(&ti, k))
					continue;
				shaped++;
				probes =
					ti.probes > probes ? ti.probes : probes;
			}
			next_look = now + 20 * NS_PER_MS;
		}
		for (unsigned i = 0; i < CONNS; i++)
			netns_drain(c[i].cfd);
		hupmon_dispatch(m, 5);
	}
	snprintf(note, sizeof(note),
		 "(stall_ms 1000, 5 s; the shape in %u of %u samples, "
		 "tcpi_probes <= %u)",
		 shaped, samples, probes);
	row = stall_row_silent(la_name[k], l.stalls + l.recs + l.stray, !shaped,
			       note, sr);
	stall_brief(row, "shape in %u/%u", shaped, samples);
	stall_fig(row, "stall_ms", 1000, 0);
	stall_fig(row, "window_s", 5, 0);
	stall_fig(row, "samples", samples, 0);
	stall_fig(row, "samples_shaped", shaped, 0);
	stall_fig(row, "tcpi_probes_max", probes, 0);
	hupmon_free(m);
	stall_close(c, CONNS);
}

void stall_unsent_lookalikes(const struct bctx *x, struct stall_res *sr)
{
	for (int k = 0; k < LA_COUNT; k++)
		lookalike(x, (enum lookalike)k, sr);
}
