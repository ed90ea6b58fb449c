/* SPDX-License-Identifier: MIT */
/*
 * path: the two meanings of enum hupmon_path inside the library. A path is
 * an index: the arrays of struct hupmon_stats, compare mode's records and
 * the reports are indexed by it. A set of paths (hupmon_config.paths,
 * m->paths) is a mask of hupmon__path_bit(). The public HUPMON_PATHS_BOTH
 * makes today's two paths their own bits; a third path (index 3) would
 * get bit 4, and nothing here would change.
 */
#ifndef HUPMON_PATH_H
#define HUPMON_PATH_H

#include <stdbool.h>

#include "hupmon.h"

#define HUPMON__PATH_BIT(p) (1u << ((unsigned)(p)-1))

_Static_assert((HUPMON__PATH_BIT(HUPMON_PATH_EPOLL) |
		HUPMON__PATH_BIT(HUPMON_PATH_SWEEP)) == HUPMON_PATHS_BOTH,
	       "the public mask is the paths' bits");

/* Whether the set of paths mask holds path p. */
static inline bool hupmon__has_path(unsigned mask, enum hupmon_path p)
{
	return (mask & HUPMON__PATH_BIT(p)) != 0;
}

#endif
