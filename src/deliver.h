/*
 * deliver: the queue of reports that a detection produces under m->lock and
 * that are delivered (callbacks run) after the lock is dropped.
 */
#ifndef HUPMON_DELIVER_H
#define HUPMON_DELIVER_H

#include <stdbool.h>

#include "hupmon.h"

/* What a detection produces, delivered after the lock is dropped. */
struct hupmon__out {
	bool compare; /* else a hangup event */
	struct hupmon_event ev;
	struct hupmon_compare rec;
};
#define HUPMON__OUT_MAX 8
struct hupmon__outq {
	unsigned n;
	struct hupmon__out item[HUPMON__OUT_MAX];
};

#endif
