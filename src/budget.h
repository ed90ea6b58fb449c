/* SPDX-License-Identifier: MIT */
/*
 * budget: the sweep's CPU budget (sweep_cpu_budget). The thread CPU that
 * the sweep's slices take, measured around each chunk of probes (the
 * callbacks they run included), is folded into a smoothed cost per probe;
 * the effective lap is the time n probes at that cost take within the
 * budget, n x cost / budget, never shorter than the period. Without a
 * budget, or before anything was measured, the effective lap is the period.
 */
#ifndef HUPMON_BUDGET_H
#define HUPMON_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

/* The longest effective lap: the longest period. */
#define HUPMON__BUDGET_LAP_MAX_NS (3600ull * 1000000000u)

struct hupmon__budget {
	double share;	     /* of one core, 0: no budget; read-only */
	uint64_t period_ns;  /* read-only */
	uint64_t cost;	     /* smoothed CPU per probe in ns << 4, 0: not
				measured yet */
	uint64_t acc_cpu_ns; /* measured, not folded into cost yet */
	uint32_t acc_probes;
};

void hupmon__budget_init(struct hupmon__budget *b, double share,
			 uint64_t period_ns);
/* Whether there is a budget to keep. */
static inline bool hupmon__budget_on(const struct hupmon__budget *b)
{
	return b->share > 0;
}
/* probes took cpu_ns of thread CPU. Folds what was measured into the cost
 * once enough probes were (or at flush, the end of a slice): true when the
 * cost changed, so the effective lap may have. */
bool hupmon__budget_spent(struct hupmon__budget *b, uint64_t cpu_ns,
			  uint32_t probes, bool flush);
/* The effective lap for n sockets, in ns. */
uint64_t hupmon__budget_lap(const struct hupmon__budget *b, uint32_t n);

#endif
