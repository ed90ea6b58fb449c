/* SPDX-License-Identifier: MIT */
/*
 * budget: the sweep's CPU budget: a smoothed CPU cost per probe, and the
 * effective lap it implies. See budget.h; sweep.c schedules by it.
 *
 * The cost is an average weighted by probes: a fold of k probes moves it
 * k / WINDOW of the way to what they cost (all the way from WINDOW on), so
 * slices of a few probes cannot swing it, and a steady load is followed
 * within a few thousand probes: the lap stretches as the cost or the
 * number of sockets grows and shrinks back to the period when they fall.
 */
#include "budget.h"

#define COST_SHIFT 4  /* cost in 1/16 ns */
#define FOLD	   64 /* probes measured before a fold */
#define WINDOW	   512

void hupmon__budget_init(struct hupmon__budget *b, double share,
			 uint64_t period_ns)
{
	*b = (struct hupmon__budget){.share = share, .period_ns = period_ns};
}

bool hupmon__budget_spent(struct hupmon__budget *b, uint64_t cpu_ns,
			  uint32_t probes, bool flush)
{
	uint64_t sample;
	int64_t step;

	b->acc_cpu_ns += cpu_ns;
	b->acc_probes += probes;
	if (!b->acc_probes || (b->acc_probes < FOLD && !flush))
		return false;
	sample = (b->acc_cpu_ns << COST_SHIFT) / b->acc_probes;
	if (!b->cost || b->acc_probes >= WINDOW) {
		b->cost = sample;
	} else {
		step = ((int64_t)sample - (int64_t)b->cost) *
		       (int64_t)b->acc_probes / WINDOW;
		b->cost = (uint64_t)((int64_t)b->cost + step);
	}
	if (!b->cost) /* measured, if below the clock's resolution */
		b->cost = 1;
	b->acc_cpu_ns = 0;
	b->acc_probes = 0;
	return true;
}

uint64_t hupmon__budget_lap(const struct hupmon__budget *b, uint32_t n)
{
	double lap;

	if (!hupmon__budget_on(b) || !b->cost)
		return b->period_ns;
	lap = (double)n * (double)b->cost / (1 << COST_SHIFT) / b->share;
	if (lap <= (double)b->period_ns)
		return b->period_ns;
	if (lap >= (double)HUPMON__BUDGET_LAP_MAX_NS)
		return HUPMON__BUDGET_LAP_MAX_NS;
	return (uint64_t)lap;
}

uint64_t hupmon__meter_slice(struct hupmon__meter *mt, bool sliced, bool open,
			     bool tick_woke, uint64_t now)
{
	/* Before the batch's events: the poll since the last batch that
	 * worked on the slice, or the wait that only the tick ended. */
	uint64_t from = mt->mark		   ? mt->mark
			: tick_woke && !mt->served ? mt->pre
						   : 0;
	uint64_t ns;

	if (!sliced) {
		mt->mark = 0;
		return 0;
	}
	ns = (from && from < mt->before ? mt->before - from : 0) +
	     (now > mt->after ? now - mt->after : 0);
	mt->mark = open ? now : 0;
	return ns;
}
