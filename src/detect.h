/* SPDX-License-Identifier: MIT */
/*
 * detect: pure classification. Kernel observations in, a hangup cause out.
 * No syscalls, no state: the callers pass what they read.
 *
 * Kernel facts relied on (Linux 6.x; the README's table "What the kernel
 * shows" has them as measured on loopback):
 *   - A FIN sets RCV_SHUTDOWN: EPOLLRDHUP, a 0-byte peek, tcpi_state
 *     CLOSE_WAIT. Half-close and close look the same from our side.
 *   - An RST ends the connection (tcp_done): EPOLLRDHUP|EPOLLHUP|EPOLLERR,
 *     SO_ERROR ECONNRESET, or EPIPE if it arrived in CLOSE_WAIT (tcp_reset),
 *     tcpi_state CLOSE.
 *   - Keepalive / TCP_USER_TIMEOUT give up with SO_ERROR ETIMEDOUT.
 *   - EPOLLERR also fires for a non-empty error queue (timestamps, zerocopy)
 *     with SO_ERROR 0: that is not a hangup.
 *
 * A Unix stream or seqpacket socket, measured on Linux 6.18 with the same
 * registration (socketpair, accept and connect ends alike):
 *   - The peer's shutdown(SHUT_WR) shows as EPOLLRDHUP alone, as a FIN.
 *   - Its end closing (close, exit; only when the last process holding
 *     it lets go) shows as EPOLLRDHUP|EPOLLHUP at once: no FIN-then-close
 *     in two steps. With data of ours unread in its queue, EPOLLERR too
 *     and SO_ERROR ECONNRESET, after a SHUT_WR as well. Its
 *     shutdown(SHUT_RDWR) shows EPOLLRDHUP|EPOLLHUP and sets no error,
 *     whatever is unread; the close after it adds EPOLLERR and
 *     ECONNRESET if data of ours is still unread. So the TCP table above reads
 * right for it: HANGUP, RESET, PEER_SHUTDOWN. ETIMEDOUT and EPIPE never come as
 * its SO_ERROR.
 *   - Its shutdown(SHUT_RD) shows nothing; a write of ours after its close
 *     fails with EPIPE and shows nothing either (no new event, no error).
 *   - poll() returns the same bits as the event mask, so the sweep's probe
 *     of a Unix socket is classified by the same table.
 */
#ifndef HUPMON_DETECT_H
#define HUPMON_DETECT_H

#include <stdbool.h>
#include <stdint.h>

#include "hupmon.h"

/* Levels of the cause order: a socket reports each level at most once. */
enum hupmon__level {
	HUPMON__LEVEL_NONE = 0,
	HUPMON__LEVEL_SHUTDOWN = 1, /* PEER_SHUTDOWN */
	HUPMON__LEVEL_HANGUP = 2,   /* HANGUP */
	HUPMON__LEVEL_FINAL = 3,    /* RESET, TIMEOUT, ERROR */
};

/* The level of a cause (NONE for HUPMON_CAUSE_NONE or junk). Inline: the
 * slot keeps only the cause, so every report and every stall-tracked probe
 * asks it. */
static inline int hupmon__cause_level(enum hupmon_cause cause)
{
	switch (cause) {
	case HUPMON_CAUSE_PEER_SHUTDOWN:
		return HUPMON__LEVEL_SHUTDOWN;
	case HUPMON_CAUSE_HANGUP:
		return HUPMON__LEVEL_HANGUP;
	case HUPMON_CAUSE_RESET:
	case HUPMON_CAUSE_TIMEOUT:
	case HUPMON_CAUSE_ERROR:
		return HUPMON__LEVEL_FINAL;
	default:
		return HUPMON__LEVEL_NONE;
	}
}

/* A socket error to a final cause: ECONNRESET -> RESET, EPIPE -> RESET if a
 * FIN was seen (else ERROR), ETIMEDOUT -> TIMEOUT, other non-zero -> ERROR,
 * 0 -> NONE. */
enum hupmon_cause hupmon__classify_error(int err, bool fin_seen);

/* An epoll event mask plus the socket's known error (SO_ERROR kept by either
 * path, 0 if none or not read) to a cause, NONE if the event means nothing.
 * fin_seen: a FIN is known from an earlier report. */
enum hupmon_cause hupmon__classify_epoll(uint32_t events, int err,
					 bool fin_seen);

/* poll() revents of a Unix socket (asked for POLLRDHUP) plus its known
 * error: classified as the epoll mask with the same bits. */
enum hupmon_cause hupmon__classify_poll(short revents, int err, bool fin_seen);

/* A 1-byte recv(MSG_PEEK|MSG_DONTWAIT) result: rc and its errno (when rc < 0)
 * to a cause; NONE means alive (data, or EAGAIN). */
enum hupmon_cause hupmon__classify_peek(long rc, int err, bool fin_seen);

/* What a TCP_INFO probe should do with tcpi_state. */
enum hupmon__state_verdict {
	HUPMON__STATE_ALIVE = 0,    /* established, or we shut down first */
	HUPMON__STATE_SHUTDOWN,	    /* CLOSE_WAIT: the peer sent a FIN */
	HUPMON__STATE_HANGUP,	    /* LAST_ACK, CLOSING, TIME_WAIT */
	HUPMON__STATE_CLOSED,	    /* CLOSE: gone; the error tells why */
	HUPMON__STATE_NOT_CONNECTED /* LISTEN, SYN_*, unknown: not a peer */
};
enum hupmon__state_verdict hupmon__tcp_state_verdict(unsigned state);

/* tcpi_state plus the socket's known error (0 if none or unread) to a cause;
 * NONE means alive. The error matters only in CLOSE (none: HANGUP). */
enum hupmon_cause hupmon__classify_tcp_state(unsigned state, int err);

#endif
