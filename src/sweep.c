/*
 * sweep: timerfd ticks, per-tick slices, and the two probes.
 *
 * Kernel facts relied on:
 *   - recv(MSG_PEEK|MSG_DONTWAIT) returns data or EAGAIN on a live socket,
 *     0 once a FIN has arrived (SOCK_DONE is checked before sk_err, so an
 *     RST after a FIN stays invisible), the pending error after an RST
 *     without FIN (and clears it), ENOTCONN on a TCP socket never connected.
 *     Unread data hides a FIN behind it: the peek returns the data.
 *   - getsockopt(TCP_INFO) changes nothing; tcpi_state is the first byte, so
 *     8 bytes are asked for. CLOSE carries no errno: SO_ERROR tells why.
 *   - timerfd read() returns the number of expirations since the last read;
 *     more than 1 means ticks piled up while the loop was busy.
 */
#include "sweep.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "detect.h"
#include "monitor.h"

#define PROBE_ORPHAN (-1)

int hupmon__sweep_reserve(struct hupmon *m, uint32_t slots)
{
	if (!(m->paths & HUPMON_PATH_SWEEP))
		return 0;
	return hupmon__mem_grow(&m->mem, (void **)&m->sweep.order,
				&m->sweep.cap, slots, sizeof(uint32_t), 16);
}

void hupmon__sweep_fini(struct hupmon *m)
{
	hupmon__mem_realloc(&m->mem, m->sweep.order,
			    (size_t)m->sweep.cap * sizeof(uint32_t), 0);
	m->sweep.order = NULL;
	m->sweep.cap = m->sweep.n = m->sweep.cursor = 0;
}

static void arm(struct hupmon *m, uint64_t interval_ns)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(interval_ns / 1000000000u);
	its.it_value.tv_nsec = (long)(interval_ns % 1000000000u);
	its.it_interval = its.it_value;
	/* Cannot fail with a valid timerfd and a normalised value. */
	timerfd_settime(m->tfd, 0, &its, NULL);
	m->sweep.armed_ns = interval_ns;
}

/* Ticks per lap: period / tick, but never more than there are sockets, so a
 * few sockets cost one wakeup each per period rather than one per tick. */
static uint64_t ticks_per_lap(const struct hupmon__sweep *sw)
{
	uint64_t ticks = sw->period_ns / sw->tick_ns;

	if (ticks < 1)
		ticks = 1;
	if (sw->n < ticks)
		ticks = sw->n ? sw->n : 1;
	return ticks;
}

static uint64_t wanted_interval(const struct hupmon__sweep *sw)
{
	return sw->n ? sw->period_ns / ticks_per_lap(sw) : 0;
}

void hupmon__sweep_rearm(struct hupmon *m)
{
	struct hupmon__sweep *sw = &m->sweep;
	uint64_t want = wanted_interval(sw);

	if (want == sw->armed_ns)
		return;
	arm(m, want);
	if (!want) {
		/* Idle: forget the slice and lap under way, or a socket
		 * watched before the slice ends would be probed against a
		 * stale cursor and no lap would ever start again. */
		sw->owed = 0;
		sw->cursor = 0;
		sw->lap_start_ns = 0;
		sw->prev_lap_start_ns = 0;
	}
}

void hupmon__sweep_add(struct hupmon *m, uint32_t idx)
{
	struct hupmon__sweep *sw = &m->sweep;

	sw->order[sw->n] = idx;
	m->reg.slots[idx].link = sw->n++;
	/* Re-arming restarts the timer's phase, so a watch re-arms only from
	 * idle or when the interval should at least halve (a few sockets
	 * becoming many): at most log2(ticks) times in a row, never a
	 * starved timer under steady churn. Ticks make finer adjustments. */
	if (!sw->armed_ns || wanted_interval(sw) <= sw->armed_ns / 2)
		hupmon__sweep_rearm(m);
}

static void move(struct hupmon *m, uint32_t from, uint32_t to)
{
	struct hupmon__sweep *sw = &m->sweep;

	if (from == to)
		return;
	sw->order[to] = sw->order[from];
	m->reg.slots[sw->order[to]].link = to;
}

void hupmon__sweep_remove(struct hupmon *m, uint32_t idx)
{
	struct hupmon__sweep *sw = &m->sweep;
	uint32_t pos = m->reg.slots[idx].link;
	uint32_t last = sw->n - 1;

	if (pos < sw->cursor) {
		/* Hole among the probed: fill it with the last probed one,
		 * whose place takes the last unprobed one. */
		uint32_t c1 = sw->cursor - 1;

		move(m, c1, pos);
		move(m, last, c1);
		sw->cursor--;
	} else {
		move(m, last, pos);
	}
	sw->n--;
	m->reg.slots[idx].link = HUPMON__NO_SLOT;
	if (!sw->n)
		hupmon__sweep_rearm(m);
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
 * The probes say what the state of the socket on s->fd means. Before that
 * may be reported, the fd must be shown to still hold the watched socket
 * (it may have been closed and its number reused): *verified tells whether
 * the probe already did (it must, before it reads or stores an error);
 * otherwise probe() checks, but only when the result is news. A socket in
 * CLOSE_WAIT is probed every lap and costs one syscall, not two.
 */

/* recv(MSG_PEEK): a cause, NONE for alive, or PROBE_ORPHAN. */
static int probe_peek(struct hupmon__slot *s, bool *verified)
{
	char b;
	ssize_t rc = recv(s->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	int err = rc < 0 ? errno : 0;
	bool fin = (s->flags & HUPMON__SLOT_FIN) != 0;

	if (rc > 0 || err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
		return HUPMON_CAUSE_NONE;
	if (rc < 0 && err != ENOTCONN) {
		if (!hupmon__same_socket(s))
			return PROBE_ORPHAN;
		*verified = true;
		/* A live socket can return an error too: a soft error
		 * queued with IP_RECVERR (an ICMP unreachable). Only a
		 * connection the kernel has ended (CLOSE) is a hangup; the
		 * recv consumed the soft error, which PEEK cannot avoid. */
		if (!connection_closed(s))
			return HUPMON_CAUSE_NONE;
		if (!s->error)
			s->error = err > 255 ? 255 : (uint8_t)err;
	}
	/* The epoll path may have consumed the error an RST left (SO_ERROR),
	 * so the peek now reads 0 where, alone, it would have read the error.
	 * Alone it reads the error unless a FIN came first (then 0: blind):
	 * and EPIPE is exactly the error of an RST after a FIN. */
	if (rc == 0 && s->error && s->error != EPIPE && !fin)
		return hupmon__classify_error(s->error, false);
	return hupmon__classify_peek((long)rc, err, fin);
}

/* getsockopt(TCP_INFO): a cause, NONE for alive, or PROBE_ORPHAN. */
static int probe_tcp_info(struct hupmon *m, struct hupmon__slot *s,
			  bool *verified)
{
	int state = tcp_state(s);

	if (state < 0)
		return PROBE_ORPHAN; /* EBADF, ENOTSOCK, EOPNOTSUPP */
	if (hupmon__tcp_state_verdict((unsigned)state) ==
	    HUPMON__STATE_CLOSED) {
		if (!hupmon__same_socket(s))
			return PROBE_ORPHAN;
		*verified = true;
		/* Terminal: nothing can follow, so no further probes. */
		hupmon__keep_error(m, s);
		s->flags |= HUPMON__SLOT_CLOSED;
	}
	return hupmon__classify_tcp_state((unsigned)state, s->error);
}

static int probe(struct hupmon *m, uint32_t idx)
{
	struct hupmon__outq q; /* only q.n needs a value */
	struct hupmon__slot *s = &m->reg.slots[idx];
	bool verified = false;
	uint64_t now = 0;
	int cause;

	q.n = 0;
	m->st.sweep_probes++;
	if (m->probe_hook)
		m->probe_hook(m, idx, m->probe_hook_arg);
	if (m->cfg.sweep_method == HUPMON_SWEEP_PEEK)
		cause = probe_peek(s, &verified);
	else
		cause = probe_tcp_info(m, s, &verified);
	if (cause > HUPMON_CAUSE_NONE &&
	    hupmon__is_news(m, idx, HUPMON_PATH_SWEEP,
			    (enum hupmon_cause)cause) &&
	    !verified && !hupmon__same_socket(s))
		cause = PROBE_ORPHAN;
	if (cause == PROBE_ORPHAN) {
		hupmon__orphan(m, idx);
		return 0;
	}
	if (cause != HUPMON_CAUSE_NONE) {
		now = hupmon__now_ns();
		hupmon__observe(m, idx, HUPMON_PATH_SWEEP,
				(enum hupmon_cause)cause, now, &q);
	}
	if (m->cmp && (s->flags & HUPMON__SLOT_CMP)) {
		hupmon__compare_expire(m, idx, now ? now : hupmon__now_ns(),
				       &q);
		if (s->link != HUPMON__NO_SLOT && !hupmon__sweep_wanted(m, idx))
			hupmon__sweep_remove(m, idx);
	}
	return q.n ? hupmon__deliver(m, &q) : 0;
}

static void lap_begin(struct hupmon__sweep *sw, struct hupmon_stats *st,
		      uint64_t now)
{
	/* A lap lasts from its first slice to the next lap's first slice. */
	if (sw->prev_lap_start_ns) {
		st->sweep_lap_last_ns = now - sw->prev_lap_start_ns;
		if (st->sweep_lap_last_ns > st->sweep_lap_worst_ns)
			st->sweep_lap_worst_ns = st->sweep_lap_last_ns;
	}
	sw->lap_start_ns = now;
}

void hupmon__sweep_tick(struct hupmon *m)
{
	struct hupmon__sweep *sw = &m->sweep;
	uint64_t expirations, ticks;

	if (read(m->tfd, &expirations, sizeof(expirations)) !=
	    (ssize_t)sizeof(expirations))
		return; /* re-armed or disarmed since it fired */
	m->st.sweep_ticks++;
	if (expirations > 1)
		m->st.sweep_piled_up += expirations - 1;
	if (!sw->n) {
		hupmon__sweep_rearm(m);
		return;
	}
	sw->slice_busy_ns = 0;
	if (sw->cursor == 0 && !sw->lap_start_ns)
		lap_begin(sw, &m->st, hupmon__now_ns());
	/* One slice per tick, whatever piled up: an overloaded sweep
	 * stretches its lap instead of compounding its work. */
	ticks = ticks_per_lap(sw);
	sw->owed = (uint32_t)((sw->n + ticks - 1) / ticks);
}

static void slice_end(struct hupmon *m)
{
	struct hupmon__sweep *sw = &m->sweep;

	sw->owed = 0;
	if (sw->slice_busy_ns > m->st.sweep_slice_worst_ns)
		m->st.sweep_slice_worst_ns = sw->slice_busy_ns;
	if (sw->armed_ns && sw->slice_busy_ns > sw->armed_ns / 2)
		m->st.sweep_overruns++;
	if (sw->cursor >= sw->n) {
		/* Lap done (counted only if it was timed from its start). */
		if (sw->lap_start_ns) {
			m->st.sweep_laps++;
			sw->prev_lap_start_ns = sw->lap_start_ns;
		}
		sw->lap_start_ns = 0;
		sw->cursor = 0;
	}
	hupmon__sweep_rearm(m);
}

int hupmon__sweep_work(struct hupmon *m, uint32_t max)
{
	struct hupmon__sweep *sw = &m->sweep;
	uint64_t start = hupmon__now_ns();
	int ran = 0;

	for (uint32_t done = 0; sw->owed && done < max && sw->cursor < sw->n;
	     done++) {
		sw->owed--;
		ran += probe(m, sw->order[sw->cursor++]);
	}
	sw->slice_busy_ns += hupmon__now_ns() - start;
	if (!sw->owed || sw->cursor >= sw->n)
		slice_end(m);
	return ran;
}
