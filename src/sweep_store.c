/* SPDX-License-Identifier: MIT */
/*
 * sweep_store: the sweep's per-slot state, by slot index: the queue nodes
 * and, with stall tracking, the stall records. They grow with the registry
 * (through mem.c, in place) and are set up as the registry hands slots out;
 * and the sweep's gauges in a stats snapshot. The schedule that uses them
 * is sweep.c's.
 */
#include "sweep.h"

#include "clock.h"
#include "state.h"
#include "path.h"

int hupmon__sweep_reserve(struct hupmon *m, uint32_t slots)
{
	struct hupmon__sweep *sw = &m->sweep;
	int err;

	if (!hupmon__has_path(m->paths, HUPMON_PATH_SWEEP))
		return 0;
	err = hupmon__mem_grow(&m->mem, (void **)&sw->node, &sw->cap, slots,
			       sizeof(*sw->node), 16);
	/* Nodes are set up (out of the queue) as the registry hands their
	 * slots out: every slot below reg.used and the next one, which an
	 * insert may take. A node or two per watch, never a whole grown
	 * array at once. */
	while (!err && sw->ready <= m->reg.used && sw->ready < sw->cap)
		sw->node[sw->ready++].prev = HUPMON__SWEEP_OUT;
	if (!err && m->cfg.stall_ms)
		err = hupmon__mem_grow(&m->mem, (void **)&sw->stall,
				       &sw->stall_cap, slots,
				       sizeof(*sw->stall), 16);
	return err;
}

void hupmon__sweep_fini(struct hupmon *m)
{
	struct hupmon__sweep *sw = &m->sweep;

	hupmon__mem_realloc(&m->mem, sw->node,
			    (size_t)sw->cap * sizeof(*sw->node), 0);
	sw->node = NULL;
	sw->cap = sw->n = sw->ready = 0;
	hupmon__mem_realloc(&m->mem, sw->stall,
			    (size_t)sw->stall_cap * sizeof(*sw->stall), 0);
	sw->stall = NULL;
	sw->stall_cap = 0;
	sw->head = sw->tail = sw->lap_last = HUPMON__NO_SLOT;
}

struct hupmon__stall *hupmon__sweep_stall(struct hupmon *m, uint32_t idx)
{
	struct hupmon__sweep *sw = &m->sweep;

	if (idx >= sw->stall_cap ||
	    !(m->reg.slots[idx].flags & HUPMON__SLOT_STALL))
		return NULL;
	return &sw->stall[idx];
}

enum hupmon_stall_reason hupmon__sweep_stall_reason(const struct hupmon *m,
						    uint32_t idx)
{
	const struct hupmon__sweep *sw = &m->sweep;
	uint8_t flags = m->reg.slots[idx].flags;

	if (idx >= sw->stall_cap || !(flags & HUPMON__SLOT_STALL) ||
	    (flags & HUPMON__SLOT_ORPHAN))
		return HUPMON_STALL_REASON_NONE;
	switch (hupmon__stall_episode(&sw->stall[idx])) {
	case HUPMON__STALL_ZERO_WINDOW:
		return HUPMON_STALL_REASON_ZERO_WINDOW;
	case HUPMON__STALL_NO_ACK:
		return HUPMON_STALL_REASON_NO_ACK;
	default:
		return HUPMON_STALL_REASON_NONE;
	}
}

/* The duration of the lap under way so far, 0: none. */
static uint64_t lap_age(const struct hupmon *m, uint64_t now)
{
	const struct hupmon__sweep *sw = &m->sweep;

	if (sw->lap_last == HUPMON__NO_SLOT || !sw->lap_start_ns ||
	    now < sw->lap_start_ns)
		return 0;
	return now - sw->lap_start_ns;
}

void hupmon__sweep_snapshot(const struct hupmon *m, struct hupmon_stats *snap)
{
	const struct hupmon__sweep *sw = &m->sweep;
	uint64_t age;

	snap->swept = sw->n;
	snap->sweep_tick_ns = sw->armed_ns;
	/* The effective lap (the period without a budget) and the probe-gap
	 * bound, effective lap + tick interval; 0 while disarmed. */
	snap->sweep_lap_effective_ns = sw->armed_ns ? sw->lap_ns : 0;
	snap->sweep_gap_bound_ns = sw->armed_ns ? sw->lap_ns + sw->armed_ns : 0;
	/* A lap that never ends must show: count the one under way. */
	age = lap_age(m, hupmon__clock(m));
	if (age > snap->sweep_lap_worst_ns)
		snap->sweep_lap_worst_ns = age;
}
