/* SPDX-License-Identifier: MIT */
/*
 * probe: the sweep's work. Works off the open slice one socket at a time,
 * probes each with recv(MSG_PEEK) or getsockopt(TCP_INFO) (a Unix socket
 * with poll()), and hands what the probe saw to the delivery
 * (hupmon__deliver_report). The schedule (which socket, when) is
 * sweep.c's.
 *
 * Kernel facts relied on:
 *   - recv(MSG_PEEK|MSG_DONTWAIT) returns data or EAGAIN on a live socket,
 *     0 once a FIN has arrived (SOCK_DONE is checked before sk_err, so an
 *     RST after a FIN stays invisible), the pending error after an RST
 *     without FIN (and clears it), ENOTCONN on a TCP socket never connected.
 *     Unread data hides a FIN behind it: the peek returns the data.
 *   - getsockopt(TCP_INFO) changes nothing; tcpi_state is the first byte, so
 *     8 bytes are asked for. CLOSE carries no errno: SO_ERROR tells why.
 *   - tcp_get_info() fills the whole struct whatever length is asked for,
 *     so a socket under stall tracking reads 232 bytes (up to tcpi_snd_wnd)
 *     at the cost of 8, and its sample feeds the stall classifier.
 *   - A hangup short of CLOSE leaves data to deliver (measured on 6.18):
 *     after the peer's FIN (CLOSE_WAIT) we may still send, and a peer that
 *     half-closed and stopped reading shuts its window on MBs of ours;
 *     after our own shutdown(SHUT_WR) in CLOSE_WAIT (LAST_ACK) the data
 *     and our FIN wait behind that window (tcpi_notsent_bytes counts the
 *     FIN). Only CLOSE ends it: once the peer has acknowledged everything,
 *     FIN included, tcpi_state is CLOSE and tcpi_bytes_acked still reads
 *     the final count (the last sample shows the progress); after an RST
 *     or a timeout the queues are purged and nothing moves again.
 *
 *   - A Unix stream or seqpacket socket has no TCP_INFO (EOPNOTSUPP) and
 *     no progress counter (SIOCOUTQ counts the memory of our unread
 *     buffers, 768 bytes for one unread byte, not bytes), and a peek
 *     serves it badly: it returns 0 for the peer's shutdown(SHUT_WR) and
 *     for its close alike, consumes the ECONNRESET its close may leave,
 *     and reads an empty seqpacket message as end of file. poll(fd,
 *     POLLRDHUP, 0) reads what the epoll path sees (detect.h) and changes
 *     nothing, pending error included: a Unix socket is polled, whatever
 *     the method, so no_touch holds. A seqpacket socket answers poll()
 *     and epoll as a stream one does for every act of its peer, and an
 *     empty message shows nothing: hupmon watches both kinds. A closed
 *     fd polls POLLNVAL.
 *   - A Unix socket shows HUP for good once its peer's end closed, but
 *     also after our own shutdown of both directions, and the peer's
 *     close may then still bring ECONNRESET: no probe tells a finished
 *     Unix connection, so unlike TCP's CLOSE nothing ends its probes
 *     short of a final cause (or the unwatch).
 *
 * Stall tracking of a socket therefore goes on through PEER_SHUTDOWN and
 * HANGUP, and ends when the connection is over: a final cause (RESET,
 * TIMEOUT, ERROR, from either path) or CLOSE seen by a probe (deliver.c
 * closes the episode; a CLOSE sample may still report RECOVERED first), or
 * the unwatch.
 */
#include "probe.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include "clock.h"
#include "deliver.h"
#include "detect.h"
#include "state.h"
#include "sock.h"
#include "sweep.h"

/* tcpi_state of the socket, or -1; with ti, the whole sample up to
 * tcpi_snd_wnd (*full: the kernel returned all of it). */
static int tcp_sample(struct hupmon *m, const struct hupmon__slot *s,
		      struct hupmon__tcp_info *ti, bool *full)
{
	socklen_t len = sizeof(*ti);
	unsigned got;

	if (getsockopt(s->fd, IPPROTO_TCP, TCP_INFO, ti, &len) < 0)
		return -1;
	got = len;
	if (m->tcp_info_hook)
		m->tcp_info_hook(m, s->fd, &got);
	*full = got >= HUPMON__TCP_INFO_STALL_LEN;
	return got ? ti->state : -1;
}

/* tcpi_state of the socket, or -1. */
static int tcp_state(const struct hupmon__slot *s)
{
	struct {
		uint8_t state; /* first byte of struct tcp_info */
		uint8_t rest[7];
	} ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(s->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -1;
	return ti.state;
}

static bool connection_closed(const struct hupmon__slot *s)
{
	return tcp_state(s) == TCP_CLOSE;
}

/*
 * The probes say what the state of the socket on s->fd means, in r->cause.
 * Before that may be reported, the fd must be shown to still hold the
 * watched socket (it may have been closed and its number reused):
 * r->identified tells whether the probe already did (it must, before it
 * reads or stores an error); otherwise the delivery checks, but only when
 * the result is news. A probe returns false when it found another socket
 * (or none) on the number: the slot is then an orphan.
 */

/* recv(MSG_PEEK). */
static bool probe_peek(struct hupmon *m, struct hupmon__slot *s,
		       struct hupmon__report *r)
{
	char b;
	ssize_t rc;
	int err;
	bool fin = (s->flags & HUPMON__SLOT_FIN) != 0;

	/* A recv consumes a pending error: never on a number that may hold
	 * an unrelated socket now (closed without unwatch, number reused).
	 * This costs PEEK a second syscall per probe (none when the user
	 * promised unwatch_before_close); TCP_INFO changes nothing and
	 * checks only before it reports. */
	if (!hupmon__sock_confirm(m, s, HUPMON_PATH_SWEEP))
		return false;
	r->identified = true;
	rc = recv(s->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	err = rc < 0 ? errno : 0;
	r->cause = HUPMON_CAUSE_NONE;
	if (rc > 0 || err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
		return true;
	if (rc < 0 && err != ENOTCONN) {
		/* A live socket can return an error too: a soft error
		 * queued with IP_RECVERR (an ICMP unreachable). Only a
		 * connection the kernel has ended (CLOSE) is a hangup; the
		 * recv consumed the soft error, which PEEK cannot avoid. */
		if (!connection_closed(s))
			return true;
		if (!s->error)
			s->error = err > 255 ? 255 : (uint8_t)err;
	}
	/* The epoll path may have consumed the error an RST left (SO_ERROR),
	 * so the peek now reads 0 where, alone, it would have read the error.
	 * Alone it reads the error unless a FIN came first (then 0: blind):
	 * and EPIPE is exactly the error of an RST after a FIN. */
	if (rc == 0 && s->error && s->error != EPIPE && !fin)
		r->cause = hupmon__classify_error(s->error, false);
	else
		r->cause = hupmon__classify_peek((long)rc, err, fin);
	return true;
}

/* poll(POLLRDHUP) of a Unix socket. The error is read, as on the epoll
 * path, only once the peer's end is gone (ERR with HUP), and only from
 * the socket watched. */
static bool probe_poll(struct hupmon *m, struct hupmon__slot *s,
		       struct hupmon__report *r)
{
	struct pollfd p = {.fd = s->fd, .events = POLLRDHUP};

	r->cause = HUPMON_CAUSE_NONE;
	if (poll(&p, 1, 0) < 0)
		return true; /* ENOMEM, EINTR: nothing seen this lap */
	if (p.revents & POLLNVAL)
		return false; /* closed: it holds no socket */
	if ((p.revents & POLLERR) && (p.revents & POLLHUP) && !s->error &&
	    !m->cfg.no_touch) {
		if (!hupmon__sock_confirm(m, s, HUPMON_PATH_SWEEP))
			return false;
		r->identified = true;
		hupmon__sock_keep_error(m, s, HUPMON_PATH_SWEEP);
	}
	r->cause = hupmon__classify_poll(p.revents, s->error,
					 (s->flags & HUPMON__SLOT_FIN) != 0);
	return true;
}

/* getsockopt(TCP_INFO); with st, the whole sample into ti (*full: all of
 * it came). */
static bool probe_tcp_info(struct hupmon *m, struct hupmon__slot *s,
			   struct hupmon__stall *st,
			   struct hupmon__tcp_info *ti, bool *full,
			   struct hupmon__report *r)
{
	int state = st ? tcp_sample(m, s, ti, full) : tcp_state(s);

	if (state < 0)
		return false; /* EBADF, ENOTSOCK, EOPNOTSUPP */
	if (hupmon__tcp_state_verdict((unsigned)state) ==
	    HUPMON__STATE_CLOSED) {
		if (!hupmon__sock_confirm(m, s, HUPMON_PATH_SWEEP))
			return false;
		r->identified = true;
		/* Terminal: nothing can follow, so no further probes. */
		hupmon__sock_keep_error(m, s, HUPMON_PATH_SWEEP);
		s->flags |= HUPMON__SLOT_CLOSED;
	}
	r->cause = hupmon__classify_tcp_state((unsigned)state, s->error);
	return true;
}

/* A tracked socket's sample through the stall classifier: a verdict goes
 * into *r beside what the probe saw of the hangup. Once the connection is
 * over (CLOSE, or a final cause) the sample can only end an open episode
 * with the progress it shows (RECOVERED); deliver.c closes whatever is
 * left open. */
static void stall_look(struct hupmon *m, const struct hupmon__slot *s,
		       struct hupmon__stall *st,
		       const struct hupmon__tcp_info *ti,
		       struct hupmon__report *r)
{
	enum hupmon__stall_verdict open = hupmon__stall_episode(st);
	struct hupmon__stall next = *st;
	enum hupmon__stall_verdict v;
	bool escalation, over;

	over = (s->flags & HUPMON__SLOT_CLOSED) ||
	       hupmon__cause_level(s->cause) >= HUPMON__LEVEL_FINAL ||
	       hupmon__cause_level(r->cause) >= HUPMON__LEVEL_FINAL;
	if (over && open == HUPMON__STALL_NONE)
		return;
	v = hupmon__stall_step(&next, ti, hupmon__clock(m) / 1000000u,
			       m->cfg.stall_ms, &escalation);
	if (over && v != HUPMON__STALL_RECOVERED)
		return;
	*st = next;
	r->escalation = escalation;
	switch (v) {
	case HUPMON__STALL_NONE:
		return;
	case HUPMON__STALL_ZERO_WINDOW:
		r->stall = HUPMON_STALL_KIND_STALLED;
		r->reason = HUPMON_STALL_REASON_ZERO_WINDOW;
		break;
	case HUPMON__STALL_NO_ACK:
		r->stall = HUPMON_STALL_KIND_STALLED;
		r->reason = HUPMON_STALL_REASON_NO_ACK;
		break;
	case HUPMON__STALL_RECOVERED:
		r->stall = HUPMON_STALL_KIND_RECOVERED;
		r->reason = open == HUPMON__STALL_ZERO_WINDOW
				    ? HUPMON_STALL_REASON_ZERO_WINDOW
				    : HUPMON_STALL_REASON_NO_ACK;
		break;
	}
}

/* Probes the socket of slot idx and delivers what it saw. Returns
 * callbacks run. */
static int probe(struct hupmon *m, uint32_t idx)
{
	struct hupmon__slot *s = &m->reg.slots[idx];
	struct hupmon__report r = {.path = HUPMON_PATH_SWEEP};
	struct hupmon__stall *st;
	struct hupmon__tcp_info ti;
	bool full = false, same;

	m->st.sweep_probes++;
	if (m->probe_hook)
		m->probe_hook(m, idx, m->probe_hook_arg);
	st = hupmon__sweep_stall(m, idx); /* NULL: not tracked */
	if (s->flags & HUPMON__SLOT_UNIX)
		same = probe_poll(m, s, &r);
	else if (m->cfg.sweep_method == HUPMON_SWEEP_PEEK &&
		 !(s->flags & HUPMON__SLOT_PEEK_OFF))
		same = probe_peek(m, s, &r);
	else
		same = probe_tcp_info(m, s, st, &ti, &full, &r);
	if (!same) {
		hupmon__sock_orphan(m, idx);
		return 0;
	}
	r.laps = hupmon__sweep_laps(m);
	/* What the probe saw of the hangup, and of a stall (whatever the
	 * state: a half-closed connection can stall): one report. */
	if (st && full)
		stall_look(m, s, st, &ti, &r);
	return hupmon__deliver_report(m, idx, &r);
}

int hupmon__probe_work(struct hupmon *m, uint32_t max)
{
	uint64_t start = hupmon__now_ns();
	uint32_t idx = HUPMON__NO_SLOT, done;
	int ran = 0;

	for (done = 0; done < max; done++) {
		bool lap_done;

		idx = hupmon__sweep_next(m, &lap_done);
		if (idx == HUPMON__NO_SLOT)
			break;
		ran += probe(m, idx);
		if (lap_done)
			hupmon__sweep_lap_done(m);
	}
	hupmon__sweep_slice_spent(m, hupmon__now_ns() - start, done,
				  idx == HUPMON__NO_SLOT);
	return ran;
}
