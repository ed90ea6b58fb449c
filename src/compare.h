/* SPDX-License-Identifier: MIT */
/*
 * compare: compare mode's records. For each level of the cause order a
 * socket reports, which path saw it first and when the other path saw it
 * (or that it missed it); the outcome is recorded once both paths had their
 * chance, and queued as a struct hupmon_compare for the delivery.
 *
 * The second path's chance is counted in sweep laps (the caller passes the
 * sweep's lap count as a value), or in time with compare_deadline_ms. Slots
 * with outcomes still to record sit on a pending list, so that outcomes
 * come due with nobody probing their socket.
 *
 * compare.c calls nothing above it: deliver.c calls it, and it only fills
 * the queue it is handed. Every function is a no-op outside compare mode.
 */
#ifndef HUPMON_COMPARE_H
#define HUPMON_COMPARE_H

#include <stdbool.h>
#include <stdint.h>

#include "hupmon.h"

struct hupmon;
struct hupmon__outq;

/* What each path saw of one socket. */
struct hupmon__cmp {
	uint64_t t[2][3];   /* [path - 1][level - 1]: first time the path saw
			       that level or higher, 0: not yet */
	uint32_t pend_prev; /* list of slots with outcomes pending:
			       HUPMON__CMP_OFF_LIST when not on it */
	uint32_t pend_next;
	uint16_t lap[3];  /* [level - 1]: sweep laps completed when the level
			     was reported (its outcome waits two more) */
	uint8_t reported; /* bit level - 1: level reported (callback) */
	uint8_t resolved; /* bit level - 1: outcome recorded */
	uint8_t first[3]; /* [level - 1]: the path that reported it */
	uint8_t final[2]; /* [path - 1]: final cause the path classified */
};
#define HUPMON__CMP_OFF_LIST (UINT32_MAX - 1)

/* All under the monitor's lock, except deadline_ns (read-only after new). */
struct hupmon__compare {
	struct hupmon__cmp *rec; /* [cap] by slot in compare mode, else NULL */
	uint32_t cap;
	uint32_t ready;	      /* records set up, from 0 (reserve) */
	uint32_t pend_head;   /* slots with outcomes pending (SLOT_CMP) */
	uint32_t scan;	      /* next slot of a pending scan, or NO_SLOT */
	uint64_t scan_laps;   /* sweep laps at the last scan */
	uint64_t deadline_ns; /* compare_deadline_ms, 0: count laps */
};

/* Sets compare mode up from m->cfg (nothing allocated yet). */
void hupmon__compare_init(struct hupmon *m);
void hupmon__compare_fini(struct hupmon *m);
/* Makes room for the registry's capacity (called before an insert).
 * 0 or -ENOMEM. Under m->lock. */
int hupmon__compare_reserve(struct hupmon *m);
/* A fresh record for a slot just watched. Under m->lock. */
void hupmon__compare_watch(struct hupmon *m, uint32_t idx);

/* Has path not yet seen level (or higher) of a slot with outcomes pending?
 * Such a sighting is news to compare mode. Under m->lock. */
bool hupmon__compare_unseen(const struct hupmon *m, uint32_t idx,
			    enum hupmon_path path, int level);
/* path saw cause, of that level, at now; reported: the sighting raised the
 * slot's level (path reported it first, with laps sweep laps completed), so
 * its outcome is now pending. Under m->lock. */
void hupmon__compare_observe(struct hupmon *m, uint32_t idx,
			     enum hupmon_path path, enum hupmon_cause cause,
			     int level, uint64_t now, uint64_t laps,
			     bool reported);
/* Records the outcomes of the slot that are known or whose deadline passed
 * (laps: sweep laps completed now), queueing records in q. Under m->lock. */
void hupmon__compare_expire(struct hupmon *m, uint32_t idx, uint64_t now,
			    uint64_t laps, struct hupmon__outq *q);

/* The slot's socket is gone from its fd: its outcomes wait for the unwatch
 * or retire that counts them as cut short. Under m->lock. */
void hupmon__compare_orphan(struct hupmon *m, uint32_t idx);
/* Unwatch or retire: counts the outcomes still pending as cut short.
 * Under m->lock. */
void hupmon__compare_cut_short(struct hupmon *m, uint32_t idx);

/* An outcome recorded (and queued for on_compare) whose socket an earlier
 * callback unwatched before it could be delivered: counted as cut short
 * instead, so on_compare calls = outcomes recorded. */
void hupmon__compare_uncount(struct hupmon *m,
			     const struct hupmon_compare *rec);

/* A scan of the pending list, once per completed sweep lap: begin returns
 * false if there is nothing to scan (not compare mode, or no lap completed
 * since the last scan); next returns the next slot, or NO_SLOT. A slot that
 * leaves the list during the scan (callbacks may unwatch) is stepped over.
 * Under m->lock. */
bool hupmon__compare_scan_begin(struct hupmon *m, uint64_t laps);
uint32_t hupmon__compare_scan_next(struct hupmon *m);

#endif
