/* SPDX-License-Identifier: MIT */
/*
 * unix_floor: raw-poll, the floor of the sweep on Unix stream sockets: the
 * least a sweep must do for them. A timerfd in an epoll set ticks every
 * tick; each tick polls the next N*tick/period sockets round-robin, each
 * with poll(fd, POLLRDHUP, 0), so every socket is polled once a period
 * (fewer sockets than ticks a period stretch the tick, as hupmon's sweep
 * and raw.c's sweeps do). raw.c's peek and TCP_INFO probes cannot stand in:
 * a Unix socket has no TCP_INFO, and a peek returns 0 for the peer's close
 * and its SHUT_WR alike.
 *
 * Kernel facts relied on (Linux 6.x, a connected Unix stream socket):
 *   - poll() returns the bits an epoll registration would: POLLRDHUP once
 *     the peer shut down writing (SHUT_WR), POLLRDHUP|POLLHUP once its end
 *     closed (close, exit, SHUT_RDWR), with POLLERR and SO_ERROR
 *     ECONNRESET too when data of ours was left unread in it. poll() with
 *     timeout 0 changes nothing; reading SO_ERROR clears the error, once.
 * Each socket reports each level of the cause ladder once (shutdown,
 * hangup, final), as raw.c's loops do; one with a final cause leaves the
 * sweep.
 */
#include "unix.h"

#include <errno.h>
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

/* A floor's state hangs from r->raw (struct raw is raw.c's): this one's
 * is a struct poll_sweep, converted to and from that pointer. */
struct poll_sweep {
	int ep, evfd, tfd;
	size_t cursor, slice;
	uint64_t tick_ns, lap_start_ns;
};

static struct poll_sweep *sweep_of(const struct run *r)
{
	return (struct poll_sweep *)(void *)r->raw;
}

static void report(struct conn *c, enum hupmon_cause cause)
{
	int lv = cause < LEVEL_FINAL ? (int)cause : LEVEL_FINAL;

	if (lv <= c->raw_level)
		return;
	c->raw_level = (uint8_t)lv;
	bench_record(c, cause, now_ns());
}

static void probe(struct conn *c)
{
	struct pollfd p = {.fd = c->sfd, .events = POLLRDHUP};
	int err = 0;
	socklen_t len = sizeof(err);

	if (poll(&p, 1, 0) <= 0)
		return;
	if ((p.revents & POLLERR) &&
	    !getsockopt(c->sfd, SOL_SOCKET, SO_ERROR, &err, &len) && err) {
		report(c, err == ECONNRESET ? HUPMON_CAUSE_RESET
					    : HUPMON_CAUSE_ERROR);
		return;
	}
	if (p.revents & POLLHUP)
		report(c, HUPMON_CAUSE_HANGUP);
	else if (p.revents & POLLRDHUP)
		report(c, HUPMON_CAUSE_PEER_SHUTDOWN);
}

/* The next slice; overrun and lap figures as raw.c measures its own. */
static void on_tick(struct run *r)
{
	struct poll_sweep *w = sweep_of(r);
	uint64_t expirations, start = now_ns();
	size_t done = 0;
	bool wrapped = false;

	if (read(w->tfd, &expirations, sizeof(expirations)) < 0)
		return;
	for (size_t seen = 0; done < w->slice && seen < r->n; seen++) {
		struct conn *c = &r->c[w->cursor];

		wrapped |= w->cursor == 0;
		w->cursor = (w->cursor + 1) % r->n;
		if (c->raw_level >= LEVEL_FINAL)
			continue;
		probe(c);
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

static void poll_loop(struct run *r)
{
	struct epoll_event ev[4];
	bool stop = false;

	while (!stop) {
		int k = epoll_wait(sweep_of(r)->ep, ev, 4, -1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r->loop_err = -errno;
			break;
		}
		for (int i = 0; i < k; i++) {
			if (ev[i].data.u64 == TAG_STOP)
				stop = true;
			else
				on_tick(r);
		}
		r->wakeups += !stop; /* the stop wakeup is not counted */
	}
}

static int add_fd(int ep, int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int arm_timer(struct run *r)
{
	struct poll_sweep *w = sweep_of(r);
	uint64_t period = (uint64_t)r->o->period_ms * NS_PER_MS;
	uint64_t tick = (uint64_t)r->o->tick_ms * NS_PER_MS;
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
	if (w->tfd < 0 || timerfd_settime(w->tfd, 0, &its, NULL))
		return -errno;
	return add_fd(w->ep, w->tfd, TAG_TIMER);
}

static int poll_open(struct run *r)
{
	struct poll_sweep *w = xcalloc(1, sizeof(*w));

	r->raw = (struct raw *)(void *)w;
	w->tfd = -1;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->ep < 0 || w->evfd < 0 || add_fd(w->ep, w->evfd, TAG_STOP))
		return -errno;
	return arm_timer(r);
}

/* The sweep walks r->c: nothing to add or remove per socket. */
static int poll_watch(struct run *r, struct conn *c)
{
	(void)r;
	(void)c;
	return 0;
}

static void poll_stop(struct run *r)
{
	uint64_t one = 1;

	if (write(sweep_of(r)->evfd, &one, sizeof(one)) < 0)
		die("raw-poll stop", errno);
}

static bool poll_counters(struct run *r, struct hupmon_stats *st)
{
	*st = (struct hupmon_stats){.sweep_probes = r->probes,
				    .sweep_overruns = r->raw_overruns,
				    .sweep_lap_worst_ns = r->raw_lap_worst_ns};
	return false;
}

static void poll_close(struct run *r)
{
	struct poll_sweep *w = sweep_of(r);

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

const struct path_ops unix_poll_ops = {
	.open = poll_open,
	.watch = poll_watch,
	.unwatch = poll_watch,
	.loop = poll_loop,
	.stop = poll_stop,
	.counters = poll_counters,
	.close = poll_close,
};
