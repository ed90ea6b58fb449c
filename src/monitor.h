/* SPDX-License-Identifier: MIT */
/*
 * monitor: a monitor's life, hupmon_new and hupmon_free (see monitor.c);
 * struct hupmon itself is state.h's.
 */
#ifndef HUPMON_MONITOR_H
#define HUPMON_MONITOR_H

#include <stddef.h>
#include <stdint.h>

#include "hupmon.h"

/* hupmon_new_sized with a test hook: the fail_after-th allocation (counting
 * from 1) fails, 0: none does. */
int hupmon__new(const struct hupmon_config *cfg, size_t cfg_size,
		uint64_t fail_after, hupmon **out);

/* Frees everything: what hupmon_free does when not called from a
 * callback. */
void hupmon__destroy(hupmon *m);

#endif
