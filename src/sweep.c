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
#include "sock.h"

#define PROBE_ORPHAN (-1)
#define NONE	     HUPMON__NO_SLOT

void hupmon__sweep_init(struct hupmon *m)
{
	struct hupmon__sweep *sw = &m->sweep;

	sw->period_ns = (uint64_t)m->cfg.sweep_period_ms * 1000000u;
	sw->tick_ns = (uint64_t)m->cfg.sweep_tick_ms * 1000000u;
	sw->head = sw->tail = sw->lap_last = NONE;
}

int hupmon__sweep_reserve(struct hupmon *m, uint32_t slots)
{
	struct hupmon__sweep *sw = &m->sweep;
	uint32_t old = sw->cap;
	int err;

	if (!(m->paths & HUPMON_PATH_SWEEP))
		return 0;
	err = hupmon__mem_grow(&m->mem, (void **)&sw->node, &sw->cap, slots,
			       sizeof(*sw->node), 16);
	for (uint32_t i = old; !err && i < sw->cap; i++)
		sw->node[i].prev = HUPMON__SWEEP_OUT;
	return err;
}

void hupmon__sweep_fini(struct hupmon *m)
{
	struct hupmon__sweep *sw = &m->sweep;

	hupmon__mem_realloc(&m->mem, sw->node,
			    (size_t)sw->cap * sizeof(*sw->node), 0);
	sw->node = NULL;
	sw->cap = sw->n = 0;
	sw->head = sw->tail = sw->lap_last = NONE;
}

bool hupmon__sweep_has(const struct hupmon *m, uint32_t idx)
{
	const struct hupmon__sweep *sw = &m->sweep;

	return idx < sw->cap && sw->node[idx].prev != HUPMON__SWEEP_OUT;
}

static void push_tail(struct hupmon__sweep *sw, uint32_t idx)
{
	struct hupmon__sweep_node *x = &sw->node[idx];

	x->prev = sw->tail;
	x->next = NONE;
	if (sw->tail != NONE)
		sw->node[sw->tail].next = idx;
	else
		sw->head = idx;
	sw->tail = idx;
}

static void unlink_node(struct hupmon__sweep *sw, uint32_t idx)
{
	struct hupmon__sweep_node *x = &sw->node[idx];

	if (x->prev != NONE)
		sw->node[x->prev].next = x->next;
	else
		sw->head = x->next;
	if (x->next != NONE)
		sw->node[x->next].prev = x->prev;
	else
		sw->tail = x->prev;
	x->prev = HUPMON__SWEEP_OUT;
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

/* The lap under way takes in every socket in the queue now. */
static void lap_begin(struct hupmon__sweep *sw, uint64_t now)
{
	sw->lap_last = sw->tail;
	sw->lap_start_ns = sw->tail != NONE ? now : 0;
}

/* Every socket of the lap was probed (or left): count it, begin the next. */
static void lap_end(struct hupmon *m, uint64_t now)
{
	struct hupmon__sweep *sw = &m->sweep;

	if (sw->lap_start_ns) {
		m->st.sweep_laps++;
		m->st.sweep_lap_last_ns = now - sw->lap_start_ns;
		if (m->st.sweep_lap_last_ns > m->st.sweep_lap_worst_ns)
			m->st.sweep_lap_worst_ns = m->st.sweep_lap_last_ns;
	}
	lap_begin(sw, now);
}

void hupmon__sweep_rearm(struct hupmon *m)
{
	struct hupmon__sweep *sw = &m->sweep;
	uint64_t want = wanted_interval(sw);

	if (want == sw->armed_ns)
		return;
	arm(m, want);
	if (!want) {
		/* Idle: forget the slice and lap under way, so a socket
		 * watched next starts from a clean state. */
		sw->owed = 0;
		sw->slice_open = false;
		sw->lap_last = NONE;
		sw->lap_start_ns = 0;
	}
}

void hupmon__sweep_add(struct hupmon *m, uint32_t idx)
{
	struct hupmon__sweep *sw = &m->sweep;

	sw->node[idx].last = hupmon__sweep_clock(hupmon__clock(m));
	push_tail(sw, idx);
	sw->n++;
	/* Re-arming restarts the timer's phase, so a watch re-arms only from
	 * idle or when the interval should at least halve (a few sockets
	 * becoming many): at most log2(ticks) times in a row, never a
	 * starved timer under steady churn. Ticks make finer adjustments. */
	if (!sw->armed_ns || wanted_interval(sw) <= sw->armed_ns / 2)
		hupmon__sweep_rearm(m);
}

void hupmon__sweep_remove(struct hupmon *m, uint32_t idx)
{
	struct hupmon__sweep *sw = &m->sweep;
	bool lap_done = false;

	if (!hupmon__sweep_has(m, idx))
		return;
	if (idx == sw->lap_last) {
		/* The lap's unprobed sockets run from the head to lap_last:
		 * without lap_last, the one before it ends the lap, and if
		 * there is none the lap is over. */
		if (sw->node[idx].prev == NONE)
			lap_done = true;
		else
			sw->lap_last = sw->node[idx].prev;
	}
	unlink_node(sw, idx);
	sw->n--;
	if (lap_done)
		lap_end(m, hupmon__clock(m));
	if (!sw->n)
		hupmon__sweep_rearm(m);
}

/* True while probing the slot can still tell something: a cause above the
 * one reported, or the sweep's side of a pending compare outcome. */
static bool wanted(const struct hupmon *m, uint32_t idx)
{
	const struct hupmon__slot *s = &m->reg.slots[idx];

	if (!(m->paths & HUPMON_PATH_SWEEP) || (s->flags & HUPMON__SLOT_ORPHAN))
		return false;
	if (s->flags & HUPMON__SLOT_CMP)
		return true;
	return s->level < HUPMON__LEVEL_FINAL &&
	       !(s->flags & HUPMON__SLOT_CLOSED);
}

void hupmon__sweep_update(struct hupmon *m, uint32_t idx)
{
	if (hupmon__sweep_has(m, idx) && !wanted(m, idx))
		hupmon__sweep_remove(m, idx);
}

bool hupmon__sweep_slice_open(const struct hupmon *m)
{
	return m->sweep.slice_open;
}

uint64_t hupmon__sweep_laps(const struct hupmon *m)
{
	return m->st.sweep_laps;
}

/* The duration of the lap under way so far, 0: none. */
static uint64_t lap_age(const struct hupmon *m, uint64_t now)
{
	const struct hupmon__sweep *sw = &m->sweep;

	if (sw->lap_last == NONE || !sw->lap_start_ns || now < sw->lap_start_ns)
		return 0;
	return now - sw->lap_start_ns;
}

void hupmon__sweep_snapshot(const struct hupmon *m, struct hupmon_stats *snap)
{
	const struct hupmon__sweep *sw = &m->sweep;
	uint64_t age;

	snap->swept = sw->n;
	snap->sweep_tick_ns = sw->armed_ns;
	/* The probe-gap bound: period + tick interval, 0 while disarmed. */
	snap->sweep_gap_bound_ns =
		sw->armed_ns ? sw->period_ns + sw->armed_ns : 0;
	/* A lap that never ends must show: count the one under way. */
	age = lap_age(m, hupmon__clock(m));
	if (age > snap->sweep_lap_worst_ns)
		snap->sweep_lap_worst_ns = age;
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
		if (!hupmon__sock_same(s))
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
		if (!hupmon__sock_same(s))
			return PROBE_ORPHAN;
		*verified = true;
		/* Terminal: nothing can follow, so no further probes. */
		hupmon__sock_keep_error(m, s);
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
	    !verified && !hupmon__sock_same(s))
		cause = PROBE_ORPHAN;
	if (cause == PROBE_ORPHAN) {
		hupmon__sock_orphan(m, idx);
		return 0;
	}
	if (cause != HUPMON_CAUSE_NONE) {
		now = hupmon__clock(m);
		hupmon__observe(m, idx, HUPMON_PATH_SWEEP,
				(enum hupmon_cause)cause, now, &q);
	}
	if (m->cmp.rec && (s->flags & HUPMON__SLOT_CMP)) {
		hupmon__compare_expire(m, idx, now ? now : hupmon__clock(m),
				       m->st.sweep_laps, &q);
		hupmon__sweep_update(m, idx);
	}
	return q.n ? hupmon__deliver(m, &q) : 0;
}

void hupmon__sweep_slice_begin(struct hupmon *m, uint64_t now)
{
	struct hupmon__sweep *sw = &m->sweep;
	uint64_t ticks = ticks_per_lap(sw);

	if (!sw->n)
		return;
	if (sw->lap_last == NONE)
		lap_begin(sw, now);
	sw->slice_busy_ns = 0;
	sw->slice_now = hupmon__sweep_clock(now);
	sw->owed = (uint32_t)((sw->n + ticks - 1) / ticks);
	sw->slice_open = true;
}

void hupmon__sweep_tick(struct hupmon *m)
{
	struct hupmon__sweep *sw = &m->sweep;
	uint64_t expirations;

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
	/* One slice per tick, whatever piled up: a slice probes what is
	 * owed and what is due, never a socket twice. */
	hupmon__sweep_slice_begin(m, hupmon__clock(m));
}

static void slice_end(struct hupmon *m)
{
	struct hupmon__sweep *sw = &m->sweep;

	sw->owed = 0;
	sw->slice_open = false;
	if (sw->slice_busy_ns > m->st.sweep_slice_worst_ns)
		m->st.sweep_slice_worst_ns = sw->slice_busy_ns;
	if (sw->armed_ns && sw->slice_busy_ns > sw->armed_ns / 2)
		m->st.sweep_overruns++;
	hupmon__sweep_rearm(m);
}

/* The next socket the open slice must probe, or NONE: the slice is done.
 * Beyond what it owes, a slice takes every socket whose last probe will be
 * a period old before the next tick's midpoint; half a tick of slack keeps
 * a socket probed on schedule from being pulled a tick early (a drift that
 * would shorten laps for good). */
static uint32_t slice_next(const struct hupmon__sweep *sw)
{
	uint32_t h = sw->head;
	uint32_t period = (uint32_t)(sw->period_ns >> HUPMON__SWEEP_SHIFT);
	uint32_t slack = (uint32_t)((sw->armed_ns / 2) >> HUPMON__SWEEP_SHIFT);
	int32_t age;

	if (!sw->slice_open || h == NONE)
		return NONE;
	age = (int32_t)(sw->slice_now - sw->node[h].last);
	if (age <= 0) /* probed in this slice: every socket has been */
		return NONE;
	if (!sw->owed && (uint32_t)age + slack < period)
		return NONE;
	return h;
}

int hupmon__sweep_work(struct hupmon *m, uint32_t max)
{
	struct hupmon__sweep *sw = &m->sweep;
	uint64_t start = hupmon__now_ns();
	uint32_t h = NONE;
	int ran = 0;

	for (uint32_t done = 0; done < max; done++) {
		struct hupmon__sweep_node *x;
		uint64_t gap;
		bool lap_done;

		h = slice_next(sw);
		if (h == NONE)
			break;
		x = &sw->node[h];
		if (sw->owed)
			sw->owed--;
		gap = (uint64_t)(uint32_t)(sw->slice_now - x->last)
		      << HUPMON__SWEEP_SHIFT;
		if (gap > m->st.sweep_gap_worst_ns)
			m->st.sweep_gap_worst_ns = gap;
		x->last = sw->slice_now;
		/* Back to the tail before the probe, which may take it off
		 * the sweep (or drop the lock for callbacks that do). */
		lap_done = h == sw->lap_last;
		if (lap_done)
			sw->lap_last = NONE;
		unlink_node(sw, h);
		push_tail(sw, h);
		ran += probe(m, h);
		if (lap_done)
			lap_end(m, hupmon__clock(m));
	}
	sw->slice_busy_ns += hupmon__now_ns() - start;
	if (sw->slice_open && h == NONE)
		slice_end(m);
	return ran;
}
