/* SPDX-License-Identifier: MIT */
/*
 * detect: the classification tables. Pure functions; see detect.h for the
 * kernel facts they encode.
 */
#include "detect.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>

enum hupmon_cause hupmon__classify_error(int err, bool fin_seen)
{
	switch (err) {
	case 0:
		return HUPMON_CAUSE_NONE;
	case ECONNRESET:
		return HUPMON_CAUSE_RESET;
	case EPIPE:
		/* tcp_reset() sets EPIPE for an RST received in CLOSE_WAIT. */
		return fin_seen ? HUPMON_CAUSE_RESET : HUPMON_CAUSE_ERROR;
	case ETIMEDOUT:
		return HUPMON_CAUSE_TIMEOUT;
	default:
		return HUPMON_CAUSE_ERROR;
	}
}

enum hupmon_cause hupmon__classify_epoll(uint32_t events, int err,
					 bool fin_seen)
{
	const uint32_t any = EPOLLRDHUP | EPOLLHUP | EPOLLERR;

	if (!(events & any))
		return HUPMON_CAUSE_NONE;
	/* Every error that ends a connection goes through tcp_done(), which
	 * shuts down both directions: EPOLLHUP. An error without it is a
	 * soft one on a live connection (an ICMP unreachable queued with
	 * IP_RECVERR) and is not a hangup. A kept error wins even if this
	 * event lacks EPOLLERR: the other path may have read (and so
	 * cleared) SO_ERROR before epoll_wait re-polled the socket. */
	if (err && (events & EPOLLHUP))
		return hupmon__classify_error(
			err, fin_seen || (events & EPOLLRDHUP));
	if (events & EPOLLHUP)
		return HUPMON_CAUSE_HANGUP;
	if (events & EPOLLRDHUP)
		return HUPMON_CAUSE_PEER_SHUTDOWN;
	/* EPOLLERR alone: a queued error-queue message (timestamps,
	 * zerocopy) or a soft error on a live connection. Not a hangup. */
	return HUPMON_CAUSE_NONE;
}

enum hupmon_cause hupmon__classify_poll(short revents, int err, bool fin_seen)
{
	uint32_t events = (revents & POLLRDHUP ? EPOLLRDHUP : 0) |
			  (revents & POLLHUP ? EPOLLHUP : 0) |
			  (revents & POLLERR ? EPOLLERR : 0);

	return hupmon__classify_epoll(events, err, fin_seen);
}

enum hupmon_cause hupmon__classify_peek(long rc, int err, bool fin_seen)
{
	if (rc > 0)
		return HUPMON_CAUSE_NONE;
	if (rc == 0)
		return HUPMON_CAUSE_PEER_SHUTDOWN;
	if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
		return HUPMON_CAUSE_NONE;
	/* A TCP socket in CLOSE with no error and no shutdown: never
	 * connected, or its error was consumed. Gone, cause unknown. */
	if (err == ENOTCONN)
		return HUPMON_CAUSE_HANGUP;
	return hupmon__classify_error(err, fin_seen);
}

enum hupmon__state_verdict hupmon__tcp_state_verdict(unsigned state)
{
	switch (state) {
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT1: /* we shut down our side; the peer has not */
	case TCP_FIN_WAIT2:
		return HUPMON__STATE_ALIVE;
	case TCP_CLOSE_WAIT:
		return HUPMON__STATE_SHUTDOWN;
	case TCP_LAST_ACK:
	case TCP_CLOSING:
	case TCP_TIME_WAIT:
		return HUPMON__STATE_HANGUP;
	case TCP_CLOSE:
		return HUPMON__STATE_CLOSED;
	default: /* SYN_SENT, SYN_RECV, LISTEN, NEW_SYN_RECV, unknown */
		return HUPMON__STATE_NOT_CONNECTED;
	}
}

enum hupmon_cause hupmon__classify_tcp_state(unsigned state, int err)
{
	switch (hupmon__tcp_state_verdict(state)) {
	case HUPMON__STATE_SHUTDOWN:
		return HUPMON_CAUSE_PEER_SHUTDOWN;
	case HUPMON__STATE_HANGUP:
		return HUPMON_CAUSE_HANGUP;
	case HUPMON__STATE_CLOSED:
		/* EPIPE as SO_ERROR only comes from an RST in CLOSE_WAIT, so
		 * in CLOSE it implies the FIN came first. No error: an
		 * orderly close, or one whose error was already consumed. */
		return err ? hupmon__classify_error(err, true)
			   : HUPMON_CAUSE_HANGUP;
	case HUPMON__STATE_ALIVE:
	case HUPMON__STATE_NOT_CONNECTED:
	default:
		return HUPMON_CAUSE_NONE;
	}
}
