/* SPDX-License-Identifier: MIT */
/*
 * outq: the queue of reports made under m->lock and delivered once it is
 * dropped (deliver.c runs it); deliver.c and compare.c fill it. A leaf:
 * calls nothing of the library.
 */
#ifndef HUPMON_OUTQ_H
#define HUPMON_OUTQ_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "hupmon.h"

/* What a detection produces, delivered after the lock is dropped. */
struct hupmon__out {
	bool compare; /* else a hangup event, or a stall event */
	bool stall;
	struct hupmon_event ev;
	struct hupmon_compare rec;
	struct hupmon_stall_event sev;
};
/* What one observation can queue: its own events (a hangup event, and a
 * stall event when a probe's sample shows both) and one compare outcome
 * per level of the cause order that may come due at the same look. */
#define HUPMON__OUT_CAP (2 + 3)
struct hupmon__outq {
	unsigned n;
	struct hupmon__out item[HUPMON__OUT_CAP];
};

/* The next free entry of q. The bound is derived, so it cannot be
 * exceeded: if it ever were, a report would be lost in silence, so this
 * stops loudly. */
static inline struct hupmon__out *hupmon__outq_push(struct hupmon__outq *q)
{
	if (q->n >= HUPMON__OUT_CAP) {
		fputs("hupmon: report queue bound exceeded\n", stderr);
		abort();
	}
	return &q->item[q->n++];
}

#endif
