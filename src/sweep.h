/*
 * sweep: the deadline-peek path. A timerfd (CLOCK_MONOTONIC) in the
 * monitor's epoll set fires once per tick; each tick probes one slice of the
 * sockets under the sweep, so every socket is probed once per lap and a lap
 * takes one period.
 *
 * The sockets under the sweep sit in a dense array, order[0..n), split by
 * the cursor: order[0..cursor) were probed this lap, order[cursor..n) not
 * yet. New sockets join the unprobed end; a removal refills its hole from
 * the same side of the cursor, so a socket watched for a whole lap is
 * probed exactly once in it, whatever the churn around it.
 */
#ifndef HUPMON_SWEEP_H
#define HUPMON_SWEEP_H

#include <stdint.h>

struct hupmon;

struct hupmon__sweep {
	uint32_t *order;       /* slot indices; slot->link is the position */
	uint32_t cap;	       /* entries allocated */
	uint32_t n;	       /* sockets under the sweep */
	uint32_t cursor;       /* next position to probe */
	uint64_t period_ns;    /* read-only after new */
	uint64_t tick_ns;      /* configured tick; read-only after new */
	uint64_t armed_ns;     /* timer interval now, 0: disarmed */
	uint64_t lap_start_ns; /* when the lap under way began, 0: none */
	uint64_t prev_lap_start_ns; /* when the previous lap began, 0: none */
	uint32_t owed;		    /* probes the current slice still owes */
	uint64_t slice_busy_ns;	    /* time spent probing in this slice */
};

/* Makes room for the registry's capacity (called before an insert).
 * 0 or -ENOMEM. Under m->lock. */
int hupmon__sweep_reserve(struct hupmon *m, uint32_t slots);
/* Puts a live slot under the sweep / takes it off. Under m->lock. */
void hupmon__sweep_add(struct hupmon *m, uint32_t idx);
void hupmon__sweep_remove(struct hupmon *m, uint32_t idx);
/* Re-arms the timer for the current number of sockets (disarms at 0).
 * Under m->lock. */
void hupmon__sweep_rearm(struct hupmon *m);
/* Handles a timer expiration: reads it and owes one slice of probes.
 * Dispatching thread, under m->lock. */
void hupmon__sweep_tick(struct hupmon *m);
/* Probes up to max of the sockets the current slice still owes, delivering
 * what it finds (drops m->lock around callbacks). The dispatcher serves
 * epoll events between such chunks, so a large slice never holds up the
 * epoll path for longer than one chunk. Returns callbacks run. */
int hupmon__sweep_work(struct hupmon *m, uint32_t max);
void hupmon__sweep_fini(struct hupmon *m);

#endif
