/* SPDX-License-Identifier: MIT */
/*
 * stats: the counters of struct hupmon_stats: histogram accounting here;
 * the bucket bounds (hupmon_hist_bound_ns) and the snapshot (hupmon_stats)
 * are public, in hupmon.h.
 */
#ifndef HUPMON_STATS_H
#define HUPMON_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "hupmon.h"

/* Counts ns in its log2 bucket (bucket i holds values up to 1024 << i). */
void hupmon__hist_add(struct hupmon_hist *h, uint64_t ns);
/* Takes back one hupmon__hist_add(h, ns). */
void hupmon__hist_remove(struct hupmon_hist *h, uint64_t ns);

/* A caller's struct hupmon_stats of size bytes at s, into dst by the size
 * rule (sized.h): 0, or -EINVAL / -E2BIG with dst untouched. */
int hupmon__stats_copy_in(struct hupmon_stats *dst,
			  const struct hupmon_stats *s, size_t size);

#endif
