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

#endif
