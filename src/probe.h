/* SPDX-License-Identifier: MIT */
/*
 * probe: the sweep's work: the open slice's sockets probed one by one, and
 * what each probe saw handed to the delivery. See probe.c.
 */
#ifndef HUPMON_PROBE_H
#define HUPMON_PROBE_H

#include <stdint.h>

struct hupmon;

/* Probes up to max of the sockets the open slice still owes, delivering
 * what it finds (drops m->lock around callbacks). The dispatcher serves
 * epoll events between such chunks, so a large slice never holds up the
 * epoll path for longer than one chunk. Returns callbacks run. Under
 * m->lock, on the dispatching thread. */
int hupmon__probe_work(struct hupmon *m, uint32_t max);

#endif
