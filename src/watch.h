/* SPDX-License-Identifier: MIT */
/*
 * watch: hupmon_watch / hupmon_unwatch, and the liveness options they
 * write to a socket. See watch.c.
 */
#ifndef HUPMON_WATCH_H
#define HUPMON_WATCH_H

#include "hupmon.h"

/* 0 if every liveness option is in the kernel's range (and interval and
 * count come with keepalive), else -EINVAL. */
int hupmon__watch_check_liveness(const struct hupmon_liveness *l);

/* 0 if stall tracking is off or can work with this (normalised) config:
 * the sweep path, the TCP_INFO method, stall_ms >= 2 x the period and
 * within what the classifier can time; else -EINVAL. */
int hupmon__watch_check_stall(const struct hupmon_config *c);

#endif
