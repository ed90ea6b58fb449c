/* SPDX-License-Identifier: MIT */
/*
 * raw: the floors. Minimal hand-written loops that do what any correct
 * hangup monitor must, and nothing more, for hupmon's figures to be read
 * against:
 *   - raw-epoll: every server end edge-triggered in one epoll set for
 *     EPOLLRDHUP|EPOLLHUP|EPOLLERR; SO_ERROR read on an EPOLLERR (it is the
 *     only way to tell an RST from a timeout).
 *   - raw-peek / raw-tcpinfo: a timerfd in an epoll set ticks every tick;
 *     each tick probes the next N*tick/period sockets round-robin with
 *     recv(MSG_PEEK|MSG_DONTWAIT) or getsockopt(TCP_INFO), so every socket is
 *     probed once per period. Fewer sockets than ticks per period stretch the
 *     tick, as hupmon's sweep does. A tick that finds the timer expired more
 *     than once still probes one slice.
 *   - raw-poll (raw_poll_ops): the same sweep for Unix stream sockets,
 *     which have no TCP_INFO and whose peek tells the peer's close from its
 *     SHUT_WR no better than a FIN: poll(fd, POLLRDHUP, 0), which returns
 *     the bits an epoll registration would (POLLRDHUP after SHUT_WR,
 *     POLLHUP too once the peer's end closed, POLLERR and SO_ERROR
 *     ECONNRESET when data of ours was left unread in it) and changes
 *     nothing.
 * Each socket reports each level of the cause ladder once (shutdown, hangup,
 * final), like hupmon; a socket with a final cause leaves the sweep.
 */
#include "bench.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define TAG_STOP    UINT64_MAX
#define TAG_TIMER   (UINT64_MAX - 1)
#define LEVEL_FINAL 3

struct raw {
	int ep, evfd, tfd;
	void (*probe)(struct conn *c); /* sweeps */
	size_t cursor, slice;
	uint64_t tick_ns, lap_start_ns;
};

/* The ladder: PEER_SHUTDOWN (1), HANGUP (2), then any final cause. */
static void raw_report(struct conn *c, enum hupmon_cause cause)
{
	int lv = cause < LEVEL_FINAL ? (int)cause : LEVEL_FINAL;

	if (lv <= c->raw_level)
		return;
	c->raw_level = (uint8_t)lv;
	bench_record(c, cause, now_ns());
}

static enum hupmon_cause err_cause(int err)
{
	switch (err) {
	case ECONNRESET:
	case EPIPE: /* an RST received in CLOSE_WAIT */
		return HUPMON_CAUSE_RESET;
	case ETIMEDOUT:
		return HUPMON_CAUSE_TIMEOUT;
	case ENOTCONN:
		return HUPMON_CAUSE_HANGUP;
	default:
		return HUPMON_CAUSE_ERROR;
	}
}

static int so_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return errno;
	return err;
}

static void on_epoll(struct conn *c, uint32_t events)
{
	if (events & EPOLLERR) {
		int err = so_error(c->sfd);

		if (err) {
			raw_report(c, err_cause(err));
			return;
		}
	}
	if (events & EPOLLHUP)
		raw_report(c, HUPMON_CAUSE_HANGUP);
	else if (events & EPOLLRDHUP)
		raw_report(c, HUPMON_CAUSE_PEER_SHUTDOWN);
}

static void probe_peek(struct conn *c)
{
	char b;
	ssize_t k = recv(c->sfd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	if (k == 0)
		raw_report(c, HUPMON_CAUSE_PEER_SHUTDOWN);
	else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		 errno != EINTR)
		raw_report(c, err_cause(errno));
}

/* tcpi_state is the first byte of struct tcp_info: asking for 8 bytes is
 * enough, and copies less than the whole struct. */
static void probe_tcpinfo(struct conn *c)
{
	uint8_t ti[8];
	socklen_t len = sizeof(ti);
	int err;

	if (getsockopt(c->sfd, IPPROTO_TCP, TCP_INFO, ti, &len))
		return;
	switch (ti[0]) {
	case TCP_CLOSE_WAIT:
		raw_report(c, HUPMON_CAUSE_PEER_SHUTDOWN);
		break;
	case TCP_LAST_ACK:
	case TCP_CLOSING:
	case TCP_TIME_WAIT:
		raw_report(c, HUPMON_CAUSE_HANGUP);
		break;
	case TCP_CLOSE:
		err = so_error(c->sfd);
		raw_report(c, err ? err_cause(err) : HUPMON_CAUSE_HANGUP);
		break;
	default:
		break;
	}
}

/* A Unix stream socket, polled: its bits read as on_epoll() reads them. */
_Static_assert(POLLRDHUP == EPOLLRDHUP && POLLHUP == EPOLLHUP &&
		       POLLERR == EPOLLERR,
	       "poll and epoll share their bits");
static void probe_poll(struct conn *c)
{
	struct pollfd p = {.fd = c->sfd, .events = POLLRDHUP};

	if (poll(&p, 1, 0) > 0)
		on_epoll(c, (uint32_t)p.revents);
}

/* The next slice of the sweep; its overrun and lap figures as hupmon
 * measures its own. */
static void on_tick(struct run *r)
{
	struct raw *w = r->raw;
	uint64_t expirations, start = now_ns();
	size_t done = 0;
	bool wrapped = false;

	if (read(w->tfd, &expirations, sizeof(expirations)) < 0)
		return;
	for (size_t seen = 0; done < w->slice && seen < r->n; seen++) {
		struct conn *c = &r->c[w->cursor];

		if (w->cursor == 0)
			wrapped = true;
		w->cursor = (w->cursor + 1) % r->n;
		if (c->raw_level >= LEVEL_FINAL)
			continue;
		w->probe(c);
		done++;
	}
	r->probes += done;
	if (now_ns() - start > w->tick_ns / 2)
		r->raw_overruns++;
	if (wrapped && w->lap_start_ns &&
	    start - w->lap_start_ns > r->raw_lap_worst_ns)
		r->raw_lap_worst_ns = start - w->lap_start_ns;
	if (wrapped)
		w->lap_start_ns = start;
}

static void raw_loop(struct run *r)
{
	struct epoll_event ev[256];
	bool stop = false;

	while (!stop) {
		int k = epoll_wait(r->raw->ep, ev, 256, -1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r->loop_err = -errno;
			break;
		}
		for (int i = 0; i < k; i++) {
			if (ev[i].data.u64 == TAG_STOP)
				stop = true;
			else if (ev[i].data.u64 == TAG_TIMER)
				on_tick(r);
			else
				on_epoll(&r->c[ev[i].data.u64], ev[i].events);
		}
		r->wakeups += !stop; /* the stop wakeup is not counted */
	}
}

static int add_fd(int ep, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = {.events = events, .data.u64 = tag};

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int arm_timer(struct run *r)
{
	struct raw *w = r->raw;
	uint64_t period = (uint64_t)r->o->period_ms * 1000000u;
	uint64_t tick = (uint64_t)r->o->tick_ms * 1000000u;
	struct itimerspec its;

	if (!r->n)
		return 0;
	if (r->n * tick < period)
		tick = period / r->n; /* one wakeup per socket per period */
	w->slice = (size_t)((r->n * tick + period - 1) / period);
	w->tick_ns = tick;
	its.it_interval.tv_sec = (time_t)(tick / 1000000000u);
	its.it_interval.tv_nsec = (long)(tick % 1000000000u);
	its.it_value = its.it_interval;
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (w->tfd < 0)
		return -errno;
	if (timerfd_settime(w->tfd, 0, &its, NULL))
		return -errno;
	return add_fd(w->ep, w->tfd, EPOLLIN, TAG_TIMER);
}

/* Sets up the loop's epoll set with its stop event and, for a sweep, its
 * timer; in r->raw. */
static int raw_open(struct run *r)
{
	struct raw *w = xcalloc(1, sizeof(*w));

	r->raw = w;
	w->tfd = -1;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	w->probe =
		r->p->method == HUPMON_SWEEP_PEEK ? probe_peek : probe_tcpinfo;
	if (w->ep < 0 || w->evfd < 0 ||
	    add_fd(w->ep, w->evfd, EPOLLIN, TAG_STOP))
		return -errno;
	return sweeps(r->p) ? arm_timer(r) : 0;
}

/* raw-poll: raw_open's sweep, probing with poll(). */
static int raw_poll_open(struct run *r)
{
	int rc = raw_open(r);

	r->raw->probe = probe_poll;
	return rc;
}

/* raw-epoll watches each server end; a sweep probes them from its timer. */
static int raw_watch(struct run *r, struct conn *c)
{
	const uint32_t ev = EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLET;

	return sweeps(r->p) ? 0 : add_fd(r->raw->ep, c->sfd, ev, c - r->c);
}

static int raw_unwatch(struct run *r, struct conn *c)
{
	if (!sweeps(r->p) && epoll_ctl(r->raw->ep, EPOLL_CTL_DEL, c->sfd, NULL))
		return -errno;
	return 0;
}

static void raw_stop(struct run *r)
{
	uint64_t one = 1;

	if (write(r->raw->evfd, &one, sizeof(one)) < 0)
		die("raw stop", errno);
}

static bool raw_counters(struct run *r, struct hupmon_stats *st)
{
	*st = (struct hupmon_stats){.sweep_probes = r->probes,
				    .sweep_overruns = r->raw_overruns,
				    .sweep_lap_worst_ns = r->raw_lap_worst_ns};
	return false;
}

static void raw_close(struct run *r)
{
	struct raw *w = r->raw;

	if (!w)
		return;
	if (w->tfd >= 0)
		close(w->tfd);
	if (w->evfd >= 0)
		close(w->evfd);
	if (w->ep >= 0)
		close(w->ep);
	free(w);
	r->raw = NULL;
}

const struct path_ops raw_ops = {
	.open = raw_open,
	.watch = raw_watch,
	.unwatch = raw_unwatch,
	.loop = raw_loop,
	.stop = raw_stop,
	.counters = raw_counters,
	.close = raw_close,
};

const struct path_ops raw_poll_ops = {
	.open = raw_poll_open,
	.watch = raw_watch,
	.unwatch = raw_unwatch,
	.loop = raw_loop,
	.stop = raw_stop,
	.counters = raw_counters,
	.close = raw_close,
};
