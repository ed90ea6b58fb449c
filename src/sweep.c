/* SPDX-License-Identifier: MIT */
/*
 * sweep: the sweep's schedule and state: which sockets are under it and in
 * what order (the FIFO queue), the timer, ticks, slices and laps. See
 * sweep.h; the probes themselves are probe.c's.
 *
 * Kernel facts relied on:
 *   - timerfd read() returns the number of expirations since the last read;
 *     more than 1 means ticks piled up while the loop was busy.
 *   - timerfd_settime() restarts the timer's phase, and an it_value of 0
 *     disarms it: an idle sweep costs no wakeups.
 */
#include "sweep.h"

#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "clock.h"
#include "detect.h"
#include "state.h"
#include "path.h"

#define NONE HUPMON__NO_SLOT

void hupmon__sweep_init(struct hupmon *m)
{
	struct hupmon__sweep *sw = &m->sweep;

	sw->period_ns = (uint64_t)m->cfg.sweep_period_ms * 1000000u;
	sw->tick_ns = (uint64_t)m->cfg.sweep_tick_ms * 1000000u;
	sw->head = sw->tail = sw->lap_last = NONE;
	hupmon__budget_init(&sw->budget, m->cfg.sweep_cpu_budget,
			    sw->period_ns);
	sw->lap_ns = sw->period_ns;
}

/* Whether the slot is under the sweep. */
static bool has(const struct hupmon *m, uint32_t idx)
{
	const struct hupmon__sweep *sw = &m->sweep;

	return idx < sw->ready && sw->node[idx].prev != HUPMON__SWEEP_OUT;
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

/* The effective lap, after the number of sockets or the cost changed. */
static void relap(struct hupmon__sweep *sw)
{
	sw->lap_ns = hupmon__budget_lap(&sw->budget, sw->n);
}

/* What a slice owes: its even share of the lap, ceil(n / ticks per lap);
 * stretched by the budget, n x tick interval / effective lap, a fraction
 * whose remainder carries over to the next slice (owe() below): with a
 * share under one probe a tick, most ticks owe nothing, and a socket is
 * probed when it is due, an effective lap after its last probe. */
static double slice_want(const struct hupmon__sweep *sw)
{
	uint64_t ticks = ticks_per_lap(sw);

	if (sw->lap_ns <= sw->period_ns || !sw->armed_ns)
		return (double)((sw->n + ticks - 1) / ticks);
	return (double)sw->n * (double)sw->armed_ns / (double)sw->lap_ns;
}

/* Sets what the open slice still owes from its share and the remainder
 * carried into it, after slice_probed probes, and the remainder it carries
 * to the next one. */
static void owe(struct hupmon__sweep *sw)
{
	double want = slice_want(sw) + sw->carried_in;
	uint32_t whole =
		want < (double)UINT32_MAX ? (uint32_t)want : UINT32_MAX;

	sw->carry = want - (double)whole;
	sw->owed = whole > sw->slice_probed ? whole - sw->slice_probed : 0;
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

/* Re-arms the timer for the current number of sockets (disarms at 0). */
static void rearm(struct hupmon *m)
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
	if (idx < sw->stall_cap)
		memset(&sw->stall[idx], 0, sizeof(sw->stall[idx]));
	push_tail(sw, idx);
	sw->n++;
	relap(sw);
	/* Re-arming restarts the timer's phase, so a watch re-arms only from
	 * idle or when the interval should at least halve (a few sockets
	 * becoming many): at most log2(ticks) times in a row, never a
	 * starved timer under steady churn. Ticks make finer adjustments. */
	if (!sw->armed_ns || wanted_interval(sw) <= sw->armed_ns / 2)
		rearm(m);
}

void hupmon__sweep_remove(struct hupmon *m, uint32_t idx)
{
	struct hupmon__sweep *sw = &m->sweep;
	bool lap_done = false;

	if (!has(m, idx))
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
	relap(sw);
	if (lap_done)
		lap_end(m, hupmon__clock(m));
	if (!sw->n)
		rearm(m);
}

/* True while probing the slot can still tell something: a cause above the
 * one reported, or the sweep's side of a pending compare outcome. */
static bool wanted(const struct hupmon *m, uint32_t idx)
{
	const struct hupmon__slot *s = &m->reg.slots[idx];

	if (!hupmon__has_path(m->paths, HUPMON_PATH_SWEEP) ||
	    (s->flags & HUPMON__SLOT_ORPHAN))
		return false;
	if (s->flags & HUPMON__SLOT_CMP)
		return true;
	return hupmon__cause_level(s->cause) < HUPMON__LEVEL_FINAL &&
	       !(s->flags & HUPMON__SLOT_CLOSED);
}

void hupmon__sweep_update(struct hupmon *m, uint32_t idx)
{
	if (has(m, idx) && !wanted(m, idx))
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

void hupmon__sweep_slice_begin(struct hupmon *m, uint64_t now)
{
	struct hupmon__sweep *sw = &m->sweep;

	if (!sw->n)
		return;
	if (sw->lap_last == NONE)
		lap_begin(sw, now);
	sw->slice_busy_ns = 0;
	sw->slice_probed = 0;
	sw->slice_now = hupmon__sweep_clock(now);
	/* Only a stretched lap carries a remainder from slice to slice. */
	sw->carried_in = sw->lap_ns > sw->period_ns ? sw->carry : 0;
	owe(sw);
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
		rearm(m);
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
	rearm(m);
}

/* The next socket the open slice must probe, or NONE: the slice is done.
 * Beyond what it owes, a slice takes every socket whose last probe will be
 * an effective lap old before the next tick's midpoint; half a tick of
 * slack keeps a socket probed on schedule from being pulled a tick early (a
 * drift that would shorten laps for good). */
static uint32_t slice_next(const struct hupmon__sweep *sw)
{
	uint32_t h = sw->head;
	uint32_t period = (uint32_t)(sw->lap_ns >> HUPMON__SWEEP_SHIFT);
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

uint32_t hupmon__sweep_next(struct hupmon *m, bool *lap_done)
{
	struct hupmon__sweep *sw = &m->sweep;
	struct hupmon__sweep_node *x;
	uint32_t h = slice_next(sw);
	uint64_t gap;

	if (h == NONE)
		return NONE;
	x = &sw->node[h];
	if (sw->owed)
		sw->owed--;
	sw->slice_probed++;
	gap = (uint64_t)(uint32_t)(sw->slice_now - x->last)
	      << HUPMON__SWEEP_SHIFT;
	if (gap > m->st.sweep_gap_worst_ns)
		m->st.sweep_gap_worst_ns = gap;
	x->last = sw->slice_now;
	/* Back to the tail before the probe, which may take it off the
	 * sweep (or drop the lock for callbacks that do). */
	*lap_done = h == sw->lap_last;
	if (*lap_done)
		sw->lap_last = NONE;
	unlink_node(sw, h);
	push_tail(sw, h);
	return h;
}

void hupmon__sweep_lap_done(struct hupmon *m)
{
	lap_end(m, hupmon__clock(m));
}

void hupmon__sweep_slice_spent(struct hupmon *m, uint64_t busy_ns,
			       uint32_t probes, bool done)
{
	struct hupmon__sweep *sw = &m->sweep;

	sw->slice_busy_ns += busy_ns;
	sw->uncharged += probes;
	if (sw->slice_open && done)
		slice_end(m);
}

bool hupmon__sweep_budgeted(const struct hupmon *m)
{
	return hupmon__has_path(m->paths, HUPMON_PATH_SWEEP) &&
	       hupmon__budget_on(&m->sweep.budget);
}

void hupmon__sweep_charge(struct hupmon *m, uint64_t cpu_ns)
{
	struct hupmon__sweep *sw = &m->sweep;
	bool folded;

	if (!hupmon__budget_on(&sw->budget))
		return;
	folded = hupmon__budget_spent(&sw->budget, cpu_ns, sw->uncharged,
				      !sw->slice_open);
	sw->uncharged = 0;
	if (!folded)
		return;
	relap(sw);
	/* What the open slice still owes follows the lap at once: the first
	 * slice, before anything was measured, owes a period's share. */
	if (sw->slice_open)
		owe(sw);
	else
		sw->owed = 0;
}
