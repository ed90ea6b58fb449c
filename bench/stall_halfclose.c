/* SPDX-License-Identifier: MIT */
/*
 * stall_halfclose: stalls after a half-close, on loopback. Clients with a
 * small receive buffer send their FIN (shutdown(SHUT_WR), as a client does
 * once its request is out), and PEER_SHUTDOWN is reported; then the server
 * writes its answer until its send buffer is full, and the clients read
 * nothing.
 *
 *   half-closed: the server's socket is in CLOSE_WAIT with MBs queued
 *     behind a shut window: STALLED/ZERO_WINDOW, timed from the write.
 *   our FIN queued: the server then shuts down its own side, as an answer
 *     delimited by the close does (HTTP/1.0): LAST_ACK, HANGUP reported by
 *     both paths, the data and the FIN still queued: STALLED/ZERO_WINDOW
 *     in the same bound.
 *
 * Then the clients drain everything: RECOVERED, timed from the drain (in
 * LAST_ACK the probe finds the socket closed at once: its last sample shows
 * the progress). Bound: stall_ms + 2 x the probe-gap bound; RECOVERED: one
 * probe-gap bound. False: a wrong reason, a report in another state or with
 * nothing queued, an episode closed without RECOVERED (stall_closed).
 */
#include "stall.h"
#include "lab/netns.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define CONNS STALL_CONNS

/* Every conn reported a hangup (PEER_SHUTDOWN first), or 2 s passed. */
static void wait_hangups(hupmon *m, const struct slog *l)
{
	uint64_t end = now_ns() + 2000 * NS_PER_MS;

	while (now_ns() < end && l->hups < l->n)
		hupmon_dispatch(m, 10);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

void stall_half_closed(const struct bctx *x, bool own_shutdown,
		       struct stall_res *sr)
{
	struct sconn c[CONNS];
	struct slog l = {.c = c, .n = CONNS};
	hupmon *m = stall_monitor(&l, 1000);
	struct vec st = {0}, rec = {0};
	struct hupmon_stats s;
	unsigned bad = 0, want = own_shutdown ? TCP_LAST_ACK : TCP_CLOSE_WAIT;
	uint32_t queued[CONNS];
	uint64_t gap, end;
	char note[128];
	struct stall_row *row;

	memset(c, 0, sizeof(c));
	for (unsigned i = 0; i < CONNS; i++) {
		struct hupmon_watch_opts o = {.user = &c[i]};

		if (stall_pair(x->lfd, false, x->port, 4096, &c[i].sfd,
			       &c[i].cfd) ||
		    hupmon_watch_ex(m, c[i].sfd, &o, &c[i].id))
			die("stall: loopback pair", errno);
		if (shutdown(c[i].cfd, SHUT_WR))
			die("stall: client shutdown", errno);
	}
	wait_hangups(m, &l);
	gap = stall_gap_bound(m);
	/* The windows shut one by one, spread over a period. */
	for (unsigned i = 0; i < CONNS; i++) {
		c[i].sent = netns_fill(c[i].sfd, 1u << 24);
		c[i].t_fail = now_ns();
		if (own_shutdown && shutdown(c[i].sfd, SHUT_WR))
			die("stall: server shutdown", errno);
		stall_dispatch_for(m, STALL_PERIOD * NS_PER_MS / CONNS);
	}
	end = now_ns() + 4000 * NS_PER_MS;
	while (now_ns() < end && l.stalls < CONNS)
		hupmon_dispatch(m, 10);
	for (unsigned i = 0; i < CONNS; i++) {
		queued[i] = c[i].stall_notsent;
		if (c[i].t_stall)
			vec_push(&st, c[i].t_stall - c[i].t_fail);
		bad += c[i].t_stall &&
		       (c[i].reason != HUPMON_STALL_REASON_ZERO_WINDOW ||
			c[i].stall_state != want || !c[i].stall_notsent);
	}
	stall_drain_each(m, c, CONNS, &rec);
	stall_dispatch_for(m, 300 * NS_PER_MS);
	hupmon_stats(m, &s);
	qsort(queued, CONNS, sizeof(queued[0]), cmp_u32);
	snprintf(note, sizeof(note), "(stall_ms 1000; %s, %.1f MB queued)",
		 own_shutdown ? "LAST_ACK" : "CLOSE_WAIT",
		 (double)queued[CONNS / 2] / 1e6);
	row = stall_row(own_shutdown ? "our FIN queued: ZERO_WINDOW"
				     : "half-closed: ZERO_WINDOW",
			&st, 1000 + 2.0 * (double)gap / 1e6, CONNS,
			bad + l.stray + (unsigned)s.stall_closed, note, sr);
	stall_fig(row, "stall_ms", 1000, 0);
	stall_fig(row, "queued_bytes_median", queued[CONNS / 2], 0);
	stall_brief(row, "%.1f MB in %s", (double)queued[CONNS / 2] / 1e6,
		    own_shutdown ? "LAST_ACK" : "CLOSE_WAIT");
	row = stall_row(own_shutdown ? "our FIN queued: RECOVERED"
				     : "half-closed: RECOVERED",
			&rec, (double)gap / 1e6, CONNS, l.recs - rec.n,
			"(from the drain)", sr);
	stall_brief(row, "from the drain");
	hupmon_free(m);
	stall_close(c, CONNS);
	vec_free(&st);
	vec_free(&rec);
}
