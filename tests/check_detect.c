/* SPDX-License-Identifier: MIT */
/*
 * check_detect: the classification tables, row by row. No sockets.
 */
#include <check.h>

#include "fixture.h"
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "detect.h"

#define RD EPOLLRDHUP
#define HU EPOLLHUP
#define ER EPOLLERR

static const struct {
	uint32_t events;
	int err;
	bool fin;
	enum hupmon_cause want;
} epoll_rows[] = {
	/* the README's kernel table, and detect.h */
	{RD, 0, false, HUPMON_CAUSE_PEER_SHUTDOWN},	       /* close() FIN */
	{RD | HU | ER, ECONNRESET, false, HUPMON_CAUSE_RESET}, /* RST */
	{RD | HU | ER, EPIPE, false, HUPMON_CAUSE_RESET}, /* RST after FIN */
	{HU | ER, EPIPE, true, HUPMON_CAUSE_RESET},	  /* FIN seen earlier */
	{HU | ER, EPIPE, false, HUPMON_CAUSE_ERROR}, /* EPIPE, no FIN known */
	{RD | HU | ER, ETIMEDOUT, false, HUPMON_CAUSE_TIMEOUT}, /* keepalive */
	{RD | HU | ER, EHOSTUNREACH, false, HUPMON_CAUSE_ERROR},
	{RD | HU | ER, 0, false,
	 HUPMON_CAUSE_HANGUP},			  /* no_touch: error unknown */
	{RD | HU, 0, false, HUPMON_CAUSE_HANGUP}, /* both sides shut down */
	{HU, 0, false, HUPMON_CAUSE_HANGUP},	  /* never connected */
	{ER, 0, false, HUPMON_CAUSE_NONE},	  /* error queue only */
	/* an error without HUP: a soft error, the connection lives on */
	{ER, EHOSTUNREACH, false, HUPMON_CAUSE_NONE},
	{RD | ER, EHOSTUNREACH, false, HUPMON_CAUSE_PEER_SHUTDOWN},
	/* the other path read SO_ERROR first: ERR gone from the re-poll */
	{RD | HU, ECONNRESET, false, HUPMON_CAUSE_RESET},
	/* a bare RDHUP is a FIN, whatever error is kept */
	{RD, ECONNRESET, false, HUPMON_CAUSE_PEER_SHUTDOWN},
	{0, 0, false, HUPMON_CAUSE_NONE},
	{EPOLLIN | EPOLLOUT, ECONNRESET, false, HUPMON_CAUSE_NONE},
};

START_TEST(test_epoll_table)
{
	uint32_t ev = epoll_rows[_i].events;

	ck_assert_msg(hupmon__classify_epoll(ev, epoll_rows[_i].err,
					     epoll_rows[_i].fin) ==
			      epoll_rows[_i].want,
		      "row %d: events %#x err %d", _i, ev, epoll_rows[_i].err);
}
END_TEST

/* poll() of a Unix socket: what its peer's acts show (detect.h), as
 * measured; the bits a probe does not ask for change nothing. */
static const struct {
	short revents;
	int err;
	enum hupmon_cause want;
} poll_rows[] = {
	{0, 0, HUPMON_CAUSE_NONE},		       /* alive, or SHUT_RD */
	{POLLRDHUP, 0, HUPMON_CAUSE_PEER_SHUTDOWN},    /* shutdown(SHUT_WR) */
	{POLLRDHUP | POLLHUP, 0, HUPMON_CAUSE_HANGUP}, /* close, SHUT_RDWR */
	/* close with our data unread */
	{POLLRDHUP | POLLHUP | POLLERR, ECONNRESET, HUPMON_CAUSE_RESET},
	/* ... its error read by the epoll path: ERR gone */
	{POLLRDHUP | POLLHUP, ECONNRESET, HUPMON_CAUSE_RESET},
	/* ... no_touch: the error unknown */
	{POLLRDHUP | POLLHUP | POLLERR, 0, HUPMON_CAUSE_HANGUP},
	{POLLHUP, 0, HUPMON_CAUSE_HANGUP}, /* unconnected */
	{POLLIN | POLLOUT | POLLPRI, ECONNRESET, HUPMON_CAUSE_NONE},
	{POLLNVAL, 0, HUPMON_CAUSE_NONE}, /* the probe's own business */
};

START_TEST(test_poll_table)
{
	ck_assert_msg(hupmon__classify_poll(poll_rows[_i].revents,
					    poll_rows[_i].err,
					    false) == poll_rows[_i].want,
		      "row %d: revents %#x err %d", _i,
		      (unsigned)poll_rows[_i].revents, poll_rows[_i].err);
}
END_TEST

/* Every row of the epoll table, in poll bits: the same cause. */
START_TEST(test_poll_as_epoll)
{
	uint32_t ev = epoll_rows[_i].events;
	short revents = (short)((ev & EPOLLRDHUP ? POLLRDHUP : 0) |
				(ev & EPOLLHUP ? POLLHUP : 0) |
				(ev & EPOLLERR ? POLLERR : 0) |
				(ev & EPOLLIN ? POLLIN : 0) |
				(ev & EPOLLOUT ? POLLOUT : 0));

	ck_assert_int_eq(hupmon__classify_poll(revents, epoll_rows[_i].err,
					       epoll_rows[_i].fin),
			 epoll_rows[_i].want);
}
END_TEST

static const struct {
	long rc;
	int err;
	bool fin;
	enum hupmon_cause want;
} peek_rows[] = {
	{1, 0, false, HUPMON_CAUSE_NONE}, /* data: alive (or data-then-FIN) */
	{-1, EAGAIN, false, HUPMON_CAUSE_NONE},
	{-1, EINTR, false, HUPMON_CAUSE_NONE},
	{0, 0, false, HUPMON_CAUSE_PEER_SHUTDOWN},
	{-1, ECONNRESET, false, HUPMON_CAUSE_RESET},
	{-1, ETIMEDOUT, false, HUPMON_CAUSE_TIMEOUT},
	{-1, EPIPE, true, HUPMON_CAUSE_RESET},
	{-1, ENOTCONN, false, HUPMON_CAUSE_HANGUP},
	{-1, EHOSTUNREACH, false, HUPMON_CAUSE_ERROR},
};

START_TEST(test_peek_table)
{
	ck_assert_int_eq(hupmon__classify_peek(peek_rows[_i].rc,
					       peek_rows[_i].err,
					       peek_rows[_i].fin),
			 peek_rows[_i].want);
}
END_TEST

static const struct {
	unsigned state;
	int err;
	enum hupmon_cause want;
} state_rows[] = {
	{TCP_ESTABLISHED, 0, HUPMON_CAUSE_NONE},
	{TCP_FIN_WAIT1, 0, HUPMON_CAUSE_NONE},
	{TCP_FIN_WAIT2, 0, HUPMON_CAUSE_NONE},
	{TCP_CLOSE_WAIT, 0, HUPMON_CAUSE_PEER_SHUTDOWN},
	{TCP_CLOSE_WAIT, ECONNRESET, HUPMON_CAUSE_PEER_SHUTDOWN},
	{TCP_LAST_ACK, 0, HUPMON_CAUSE_HANGUP},
	{TCP_CLOSING, 0, HUPMON_CAUSE_HANGUP},
	{TCP_TIME_WAIT, 0, HUPMON_CAUSE_HANGUP},
	{TCP_CLOSE, 0, HUPMON_CAUSE_HANGUP},
	{TCP_CLOSE, ECONNRESET, HUPMON_CAUSE_RESET},
	{TCP_CLOSE, EPIPE, HUPMON_CAUSE_RESET},
	{TCP_CLOSE, ETIMEDOUT, HUPMON_CAUSE_TIMEOUT},
	{TCP_CLOSE, ENETUNREACH, HUPMON_CAUSE_ERROR},
	{TCP_SYN_SENT, 0, HUPMON_CAUSE_NONE},
	{TCP_SYN_RECV, 0, HUPMON_CAUSE_NONE},
	{TCP_LISTEN, 0, HUPMON_CAUSE_NONE},
	{200, 0, HUPMON_CAUSE_NONE},
};

START_TEST(test_state_table)
{
	ck_assert_int_eq(hupmon__classify_tcp_state(state_rows[_i].state,
						    state_rows[_i].err),
			 state_rows[_i].want);
}
END_TEST

START_TEST(test_state_verdicts)
{
	ck_assert_int_eq(hupmon__tcp_state_verdict(TCP_LISTEN),
			 HUPMON__STATE_NOT_CONNECTED);
	ck_assert_int_eq(hupmon__tcp_state_verdict(TCP_SYN_SENT),
			 HUPMON__STATE_NOT_CONNECTED);
	ck_assert_int_eq(hupmon__tcp_state_verdict(TCP_CLOSE),
			 HUPMON__STATE_CLOSED);
	ck_assert_int_eq(hupmon__tcp_state_verdict(TCP_ESTABLISHED),
			 HUPMON__STATE_ALIVE);
}
END_TEST

START_TEST(test_levels_and_errors)
{
	ck_assert_int_eq(hupmon__cause_level(HUPMON_CAUSE_NONE), 0);
	ck_assert_int_eq(hupmon__cause_level(HUPMON_CAUSE_PEER_SHUTDOWN), 1);
	ck_assert_int_eq(hupmon__cause_level(HUPMON_CAUSE_HANGUP), 2);
	ck_assert_int_eq(hupmon__cause_level(HUPMON_CAUSE_RESET), 3);
	ck_assert_int_eq(hupmon__cause_level(HUPMON_CAUSE_TIMEOUT), 3);
	ck_assert_int_eq(hupmon__cause_level(HUPMON_CAUSE_ERROR), 3);
	ck_assert_int_eq(hupmon__cause_level((enum hupmon_cause)42), 0);
	ck_assert_int_eq(hupmon__classify_error(0, true), HUPMON_CAUSE_NONE);
	ck_assert_int_eq(hupmon__classify_error(EPIPE, false),
			 HUPMON_CAUSE_ERROR);
	ck_assert_int_eq(hupmon__classify_error(EPIPE, true),
			 HUPMON_CAUSE_RESET);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *detect_suite(void)
{
	Suite *s = suite_create("detect");
	TCase *tc = tcase_create("epoll");

	tcase_add_loop_test(tc, test_epoll_table, 0, N(epoll_rows));
	suite_add_tcase(s, tc);
	tc = tcase_create("poll");
	tcase_add_loop_test(tc, test_poll_table, 0, N(poll_rows));
	tcase_add_loop_test(tc, test_poll_as_epoll, 0, N(epoll_rows));
	suite_add_tcase(s, tc);
	tc = tcase_create("peek");
	tcase_add_loop_test(tc, test_peek_table, 0, N(peek_rows));
	suite_add_tcase(s, tc);
	tc = tcase_create("tcp_info");
	tcase_add_loop_test(tc, test_state_table, 0, N(state_rows));
	tcase_add_test(tc, test_state_verdicts);
	suite_add_tcase(s, tc);
	tc = tcase_create("levels");
	tcase_add_test(tc, test_levels_and_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run_suite(detect_suite());
}
