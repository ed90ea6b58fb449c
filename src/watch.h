/* SPDX-License-Identifier: MIT */
/*
 * watch: hupmon_watch / hupmon_unwatch, and the liveness options they
 * write to a socket. See watch.c.
 */
#ifndef HUPMON_WATCH_H
#define HUPMON_WATCH_H

#include <stdio.h>

#include "hupmon.h"

/* 0 if every liveness option is in the kernel's range (and interval and
 * count come with keepalive), else -EINVAL. */
int hupmon__watch_check_liveness(const struct hupmon_liveness *l);

/* 0 if stall tracking is off or can work with this (normalised) config:
 * the sweep path, the TCP_INFO method, stall_ms >= 2 x the period and
 * within what the classifier can time; else -EINVAL. */
int hupmon__watch_check_stall(const struct hupmon_config *c);

/* For a test's hang watchdog: prints the monitor's waiting state (the
 * running callback, the dispatching role, threads waiting and inside watch
 * or unwatch, the DELs under way) to out. Takes m->lock only if it is free
 * (a hang may hold it): the values are then read unlocked and may be torn,
 * which the output says. */
void hupmon__watch_dump_waits(struct hupmon *m, FILE *out);

#endif
