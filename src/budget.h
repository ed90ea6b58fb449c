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

/*
 * The meter: which of a dispatch call's thread CPU the sweep's slices took,
 * from readings of the thread's CPU clock that the dispatcher hands in.
 * Charged to a slice: the chunk of probes and the compare expiry after it;
 * the poll between two chunks of the same slice; and the blocking wait of
 * a call that only the tick woke (a sleeping thread takes no CPU: that is
 * the wakeup's cost, tens of microseconds on some machines). Not charged:
 * the socket events a batch served (the epoll path's) and their callbacks.
 */
struct hupmon__meter {
	bool on;	 /* a budget is kept: the clock is read */
	bool served;	 /* this batch served socket events */
	uint64_t pre;	 /* before the call's blocking wait */
	uint64_t mark;	 /* end of the last batch that worked on the slice,
			    0: none */
	uint64_t before; /* after this batch's wait */
	uint64_t after;	 /* after its socket events */
};

/* A dispatch call starts; now: the clock before its blocking wait. */
static inline void hupmon__meter_begin(struct hupmon__meter *mt, bool on,
				       uint64_t now)
{
	*mt = (struct hupmon__meter){.on = on, .pre = now};
}

/* A batch came back from epoll_wait at now. */
static inline void hupmon__meter_waited(struct hupmon__meter *mt, uint64_t now)
{
	mt->before = mt->after = now;
	mt->served = false;
}

/* The batch's socket events, served, ended at now. */
static inline void hupmon__meter_served(struct hupmon__meter *mt, uint64_t now)
{
	mt->after = now;
	mt->served = true;
}

/* The batch's work on the sweep ended at now. sliced: it worked on a slice
 * (else nothing is charged and now is not read); open: the slice goes on;
 * tick_woke: the tick alone woke the call's blocking wait. Returns the CPU
 * to charge to the slice. */
uint64_t hupmon__meter_slice(struct hupmon__meter *mt, bool sliced, bool open,
			     bool tick_woke, uint64_t now);

#endif
