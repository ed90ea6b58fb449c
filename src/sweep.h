/* SPDX-License-Identifier: MIT */
/*
 * sweep: the deadline-peek path's schedule and state. A timerfd
 * (CLOCK_MONOTONIC) in the monitor's epoll set fires once per tick; each
 * tick opens one slice of the sockets under the sweep, which probe.c works
 * off (the probes, and what they report, are probe.c's).
 *
 * The sockets under the sweep form one FIFO queue, a doubly linked list
 * through per-slot nodes: a slice probes from the head and puts each probed
 * socket back at the tail; a new socket joins at the tail. Nobody ever
 * overtakes anybody, so churn around a socket cannot delay it: everything
 * ahead of it when it was last probed is probed before it again.
 *
 * A slice probes at least ceil(n / ticks per lap) sockets (that spreads the
 * work evenly over the period) and, beyond that, every socket whose last
 * probe (or watch) is a period old. So, while the dispatching thread keeps
 * up, no socket waits more than the probe-gap bound, period + tick interval,
 * between two probes, or between its watch and its first probe.
 *
 * With a CPU budget (budget.h) the period gives way to the effective lap
 * L >= period: n x the measured CPU per probe / budget. A slice then probes
 * ceil(n x tick interval / L) sockets plus every socket whose last probe is
 * L old, so laps take about L, the sweep's CPU stays within the budget, and
 * the probe-gap bound is L + tick interval. Without a budget L is the
 * period and everything is as above.
 *
 * A lap is counted over the sockets in the queue when it begins, up to the
 * one at the tail then (lap_last): it ends when that one is probed, or
 * unwatched with nothing of the lap left before it. A socket watched during
 * a lap joins behind lap_last and so waits for the next lap; a socket
 * watched for a whole lap is probed exactly once in it.
 */
#ifndef HUPMON_SWEEP_H
#define HUPMON_SWEEP_H

#include <stdbool.h>
#include <stdint.h>

#include "budget.h"
#include "detect_stall.h"
#include "hupmon.h"

struct hupmon;

/* One per registry slot. */
struct hupmon__sweep_node {
	uint32_t prev, next; /* FIFO neighbours, HUPMON__NO_SLOT at the ends;
				prev == HUPMON__SWEEP_OUT: not in the queue */
	uint32_t last;	     /* sweep clock at the last probe (or the watch) */
};

/* Sweep clock: CLOCK_MONOTONIC ns >> HUPMON__SWEEP_SHIFT (16.4 us units) in
 * 32 bits, compared by signed difference: valid across 9.7 hours, many times
 * the longest period. */
#define HUPMON__SWEEP_SHIFT 14
#define HUPMON__SWEEP_OUT   (UINT32_MAX - 1)

struct hupmon__sweep {
	struct hupmon__sweep_node *node; /* [cap], by slot index */
	uint32_t cap;			 /* nodes allocated */
	uint32_t ready;			 /* nodes set up, from 0 (reserve) */
	uint32_t n;			 /* sockets under the sweep */
	uint32_t head, tail;		 /* HUPMON__NO_SLOT when empty */
	uint32_t lap_last;		 /* last socket of the lap under way, or
					    HUPMON__NO_SLOT: no lap under way */
	uint64_t period_ns;		 /* read-only after new */
	uint64_t tick_ns;      /* configured tick; read-only after new */
	uint64_t armed_ns;     /* timer interval now, 0: disarmed */
	uint64_t lap_start_ns; /* when the lap under way began */
	uint32_t owed;	       /* probes the slice owes whatever is due */
	/* Under a stretched lap: the fraction of a probe the share left over
	 * (carry), and what the open slice began with (carried_in). */
	double carry, carried_in;
	bool slice_open;	/* a slice is being worked off */
	uint32_t slice_now;	/* sweep clock when the slice began */
	uint64_t slice_busy_ns; /* time spent probing in this slice */
	uint32_t slice_probed;	/* sockets probed in this slice */
	uint32_t uncharged;	/* probes since the last CPU charge */
	uint64_t lap_ns; /* effective lap now: the period, or longer to keep
			    within the CPU budget */
	struct hupmon__budget budget;
	/* Stall tracking's per-socket state, by slot index; allocated only
	 * when the monitor's stall_ms is set (else NULL). */
	struct hupmon__stall *stall;
	uint32_t stall_cap;
};

/* Sweep clock of a CLOCK_MONOTONIC time. */
static inline uint32_t hupmon__sweep_clock(uint64_t ns)
{
	return (uint32_t)(ns >> HUPMON__SWEEP_SHIFT);
}

/* Sets the sweep up from m->cfg (empty, disarmed). */
void hupmon__sweep_init(struct hupmon *m);
/* Makes room for the registry's capacity (called before an insert).
 * 0 or -ENOMEM. Under m->lock. */
int hupmon__sweep_reserve(struct hupmon *m, uint32_t slots);
/* Puts a live slot under the sweep. Under m->lock. */
void hupmon__sweep_add(struct hupmon *m, uint32_t idx);
/* Takes the slot off the sweep, if it is under it. Under m->lock. */
void hupmon__sweep_remove(struct hupmon *m, uint32_t idx);
/* Takes the slot off the sweep once probing it can tell nothing more (a
 * final cause, TCP_INFO saw CLOSE, an orphan) unless compare mode still
 * waits for the sweep's side of an outcome. Call after the slot's state
 * changed. Under m->lock. */
void hupmon__sweep_update(struct hupmon *m, uint32_t idx);
/* Handles a timer expiration: reads it and opens a slice. Dispatching
 * thread, under m->lock. */
void hupmon__sweep_tick(struct hupmon *m);
/* Opens a slice at time now (the tick without the timerfd: tests drive the
 * sweep's clock through this). Under m->lock. */
void hupmon__sweep_slice_begin(struct hupmon *m, uint64_t now);
/* The next socket the open slice must probe, moved to the tail of the
 * queue and stamped as probed now, or HUPMON__NO_SLOT when the slice is
 * done. *lap_done: it was the last socket of the lap under way; call
 * hupmon__sweep_lap_done() once its probe is over. Under m->lock. */
uint32_t hupmon__sweep_next(struct hupmon *m, bool *lap_done);
/* Ends the lap under way and begins the next. Under m->lock. */
void hupmon__sweep_lap_done(struct hupmon *m);
/* A chunk of the slice probed `probes` sockets in busy_ns; done:
 * hupmon__sweep_next() found nothing more to probe, so the slice (if still
 * open) ends. Under m->lock. */
void hupmon__sweep_slice_spent(struct hupmon *m, uint64_t busy_ns,
			       uint32_t probes, bool done);
/* Whether the sweep keeps a CPU budget: then the dispatcher measures the
 * thread CPU its slices take and charges it here (the chunks of probes
 * since the last charge, and the dispatch work between them). The
 * effective lap, and what the open slice still owes, follow. Under
 * m->lock. */
bool hupmon__sweep_budgeted(const struct hupmon *m);
void hupmon__sweep_charge(struct hupmon *m, uint64_t cpu_ns);
/* Whether a slice is open: the dispatcher keeps working it off. Under
 * m->lock. */
bool hupmon__sweep_slice_open(const struct hupmon *m);
/* Sweep laps completed (compare mode counts its deadline in them). Under
 * m->lock. */
uint64_t hupmon__sweep_laps(const struct hupmon *m);
/* Fills the sweep's gauges of a stats snapshot (taken from m->st): swept,
 * tick interval, effective lap, probe-gap bound, and the lap under way in
 * the worst lap.
 * Under m->lock. */
void hupmon__sweep_snapshot(const struct hupmon *m, struct hupmon_stats *snap);
void hupmon__sweep_fini(struct hupmon *m);
/* The stall state of a slot whose stall tracking is on
 * (HUPMON__SLOT_STALL), else NULL. Reset when the slot joins the sweep.
 * Under m->lock. */
struct hupmon__stall *hupmon__sweep_stall(struct hupmon *m, uint32_t idx);
/* The reason of the slot's open stall episode (NO_ACK once escalated), or
 * NONE: no episode open, no stall tracking for it, or an orphan (never
 * probed again; its last sample may have been another socket's, so an
 * episode its state shows may never have been reported). Under m->lock. */
enum hupmon_stall_reason hupmon__sweep_stall_reason(const struct hupmon *m,
						    uint32_t idx);

#endif
