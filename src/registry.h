/* SPDX-License-Identifier: MIT */
/*
 * registry: the slot table behind hupmon ids. No syscalls, no locking: its
 * callers hold the monitor's lock.
 *
 * An id is generation << 32 | slot index. A slot's generation starts at 1
 * and grows each time the slot is freed (skipping 0 when it wraps), so an id
 * is never 0 and a freed slot's old ids never match again. libev, HAProxy
 * and the Go runtime keep a generation in epoll_data for the same reason: an
 * event queued before an unwatch must not be delivered to the next watcher.
 *
 * Lookups are O(1): by id (index + generation check), by socket identity
 * (SO_COOKIE, an open-addressing table of slot indices, linear probing with
 * backward-shift deletion) and by fd number (a flat array). Every change of
 * the table and of both maps goes through the functions below.
 */
#ifndef HUPMON_REGISTRY_H
#define HUPMON_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "hupmon.h"
#include "mem.h"

#define HUPMON__NO_SLOT UINT32_MAX

enum {
	HUPMON__SLOT_LIVE = 1u << 0,	 /* watched */
	HUPMON__SLOT_FIN = 1u << 1,	 /* a path saw the peer's FIN itself */
	HUPMON__SLOT_ORPHAN = 1u << 2,	 /* fd no longer holds this socket */
	HUPMON__SLOT_CMP = 1u << 3,	 /* compare outcome(s) pending */
	HUPMON__SLOT_CLOSED = 1u << 4,	 /* TCP_INFO saw CLOSE: terminal */
	HUPMON__SLOT_PEEK_OFF = 1u << 5, /* SO_PEEK_OFF on: never peeked */
	HUPMON__SLOT_STALL = 1u << 6,	 /* stall tracking on (sweep.h) */
	HUPMON__SLOT_UNIX = 1u << 7,	 /* a Unix socket: polled, no TCP */
};

/* One watched socket; 32 bytes. All fields under the monitor's lock. */
struct hupmon__slot {
	uint32_t gen;	 /* generation of the current (or next) id */
	int32_t fd;	 /* the watched fd, -1 when free */
	uint32_t link;	 /* free: next free slot; live: HUPMON__NO_SLOT */
	uint8_t error;	 /* SO_ERROR kept by either path, 0 if none */
	uint8_t path;	 /* the path that reported cause; 0: none */
	uint8_t cause;	 /* highest cause reported; its level: detect.h */
	uint8_t flags;	 /* HUPMON__SLOT_* */
	uint64_t cookie; /* SO_COOKIE: the socket's identity */
	void *user;	 /* as given to hupmon_watch */
};
_Static_assert(sizeof(struct hupmon__slot) == 32, "slot stays 32 bytes");

struct hupmon__registry {
	struct hupmon__slot *slots;
	uint32_t cap;	    /* slots allocated */
	uint32_t used;	    /* slots ever handed out (high-water mark) */
	uint32_t live;	    /* slots watched now */
	uint32_t free_head; /* first free slot below used, or NO_SLOT */
	uint32_t *hash;	    /* cookie -> slot + 1 (0: empty); power of 2 */
	uint32_t hcap;
	uint32_t *old; /* the table being emptied into hash while it
			  grows, or NULL; UINT32_MAX: moved out */
	uint32_t ocap;
	uint32_t mig; /* next bucket of old to move */
	void *husks;  /* old tables emptied, a page each (mem.h: retire) */
	/* Work done, for tests that prove O(1) by counting, not timing. */
	struct {
		uint64_t probes;    /* extra buckets visited past the first */
		uint64_t moved;	    /* entries moved from old to hash */
		uint32_t moved_max; /* most moved by one insert or remove */
	} work;
	uint32_t *fdmap; /* fd -> slot + 1 (0: none) */
	uint32_t fdcap;
	struct hupmon__mem *mem;
};

void hupmon__registry_init(struct hupmon__registry *r, struct hupmon__mem *mem);
void hupmon__registry_fini(struct hupmon__registry *r);

/* Makes room for one more socket with this fd, so that insert cannot fail.
 * 0 or -ENOMEM (registry unchanged apart from capacity). */
int hupmon__registry_reserve(struct hupmon__registry *r, int fd);

/* Inserts a live slot (after a successful reserve). Returns its index. */
uint32_t hupmon__registry_insert(struct hupmon__registry *r, int fd,
				 uint64_t cookie, void *user);

/* Frees a live slot: drops it from both maps, bumps its generation. */
void hupmon__registry_remove(struct hupmon__registry *r, uint32_t idx);

/* The live slot with this id, or NULL if the id is 0, stale or unknown. */
struct hupmon__slot *hupmon__registry_get(const struct hupmon__registry *r,
					  hupmon_id id);

/* The live slot index holding this cookie / this fd, or NO_SLOT. */
uint32_t hupmon__registry_find_cookie(const struct hupmon__registry *r,
				      uint64_t cookie);
uint32_t hupmon__registry_find_fd(const struct hupmon__registry *r, int fd);

/* Forgets the fd -> slot mapping of a slot whose fd was reused. */
void hupmon__registry_forget_fd(struct hupmon__registry *r, uint32_t idx);

/* Points fd's entry in the fd map at the live slot idx again: undoes the
 * takeover by an insert of the same fd that was then removed. */
void hupmon__registry_map_fd(struct hupmon__registry *r, int fd, uint32_t idx);

static inline hupmon_id hupmon__make_id(uint32_t gen, uint32_t idx)
{
	return (hupmon_id)gen << 32 | idx;
}

static inline hupmon_id hupmon__slot_id(const struct hupmon__registry *r,
					uint32_t idx)
{
	return hupmon__make_id(r->slots[idx].gen, idx);
}

/* The fd to report for a slot: its fd, or -1 once orphaned (its number no
 * longer holds the socket). */
static inline int hupmon__slot_fd(const struct hupmon__slot *s)
{
	return (s->flags & HUPMON__SLOT_ORPHAN) ? -1 : s->fd;
}

/* Bytes the registry holds (for memory accounting in tests). */
size_t hupmon__registry_bytes(const struct hupmon__registry *r);

#endif
