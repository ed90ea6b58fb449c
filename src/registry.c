/* SPDX-License-Identifier: MIT */
/*
 * registry: slots, generations, free list and the two lookup maps.
 * See registry.h for the id scheme.
 */
#include "registry.h"

#include <errno.h>
#include <string.h>

/*
 * The cookie table stays at most 3/4 full, so linear probing stays short.
 * It grows incrementally, never in one go (at a million sockets a rebuild
 * holds the lock for tens of ms): a new table twice the size takes every
 * insert, lookups try both, and each insert or remove moves the entries of
 * MIGRATE_STEP buckets of the old table over, so the old one is empty well
 * before the new one fills. The old table marks what left it with a
 * tombstone (never backward-shift: a shift could carry an entry past the
 * migration cursor, and emptying a bucket would cut the probe chains of
 * entries not moved yet). The pages of the old table the cursor has passed
 * are given back as it goes (at 4 B a bucket, a page every 128 operations),
 * so no operation frees the old table (4 MiB at a million) in one go.
 */
#define HASH_MIN     64
#define MIGRATE_STEP 8
#define TOMB	     UINT32_MAX

static uint32_t hash_cookie(uint64_t cookie, uint32_t mask)
{
	/* Cookies are sequential per network namespace: mix before masking. */
	cookie ^= cookie >> 33;
	cookie *= 0xff51afd7ed558ccdULL;
	cookie ^= cookie >> 33;
	return (uint32_t)cookie & mask;
}

void hupmon__registry_init(struct hupmon__registry *r, struct hupmon__mem *mem)
{
	memset(r, 0, sizeof(*r));
	r->free_head = HUPMON__NO_SLOT;
	r->mem = mem;
}

static void free_table(struct hupmon__registry *r, uint32_t *tab, uint32_t cap)
{
	hupmon__mem_realloc(r->mem, tab, (size_t)cap * sizeof(*tab), 0);
}

void hupmon__registry_fini(struct hupmon__registry *r)
{
	hupmon__mem_realloc(r->mem, r->slots,
			    (size_t)r->cap * sizeof(*r->slots), 0);
	free_table(r, r->hash, r->hcap);
	free_table(r, r->old, r->ocap);
	hupmon__mem_free_retired(r->mem, &r->husks);
	hupmon__mem_realloc(r->mem, r->fdmap,
			    (size_t)r->fdcap * sizeof(*r->fdmap), 0);
	hupmon__registry_init(r, r->mem);
}

static void hash_put(struct hupmon__registry *r, uint32_t idx)
{
	uint32_t mask = r->hcap - 1;
	uint32_t i = hash_cookie(r->slots[idx].cookie, mask);

	while (r->hash[i]) {
		i = (i + 1) & mask;
		r->work.probes++;
	}
	r->hash[i] = idx + 1;
}

/* Moves the entries of up to n buckets of the old table to the new one,
 * and gives back the pages of it the cursor has passed. */
static void migrate(struct hupmon__registry *r, uint32_t n)
{
	uint32_t moved = 0;

	for (; n && r->old; n--) {
		uint32_t v = r->old[r->mig];

		if (v && v != TOMB) {
			hash_put(r, v - 1);
			r->old[r->mig] = TOMB;
			moved++;
		}
		if (++r->mig == r->ocap) {
			/* not unmapped now: that costs in proportion to
			 * its range on some VMs (0.5 ms for 4 MiB) */
			hupmon__mem_retire(r->mem, r->old,
					   (size_t)r->ocap * sizeof(*r->old),
					   &r->husks);
			r->old = NULL;
			r->ocap = r->mig = 0;
		}
	}
	if (r->old)
		hupmon__mem_release(r->mem, r->old,
				    (size_t)r->ocap * sizeof(*r->old),
				    (size_t)r->mig * sizeof(*r->old));
	r->work.moved += moved;
	if (moved > r->work.moved_max)
		r->work.moved_max = moved;
}

static int hash_reserve(struct hupmon__registry *r, uint32_t count)
{
	uint32_t ncap = r->hcap ? r->hcap : HASH_MIN;
	uint32_t *tab;

	while ((uint64_t)count * 4 > (uint64_t)ncap * 3)
		ncap *= 2;
	if (ncap == r->hcap)
		return 0;
	/* Cannot happen at MIGRATE_STEP >= 2 (the old table empties before
	 * the new one is 3/4 full), but never lose entries if it did. */
	migrate(r, r->old ? r->ocap : 0);
	tab = hupmon__mem_zalloc(r->mem, (size_t)ncap * sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	if (r->hcap) {
		r->old = r->hash;
		r->ocap = r->hcap;
		r->mig = 0;
	}
	r->hash = tab;
	r->hcap = ncap;
	return 0;
}

/*
 * The bucket of the old table holding the entry with this cookie (want 0)
 * or the value want, or NO_SLOT. Buckets below the cursor are never read
 * (their page may be gone): everything there has left, and an entry still
 * in the table sits at or above the cursor. Its probe chain from its home
 * bucket ran through full buckets only, and the old table only ever turns
 * entries into tombstones, so the part of the chain at or above the cursor
 * is still full: the walk visits exactly that part, starting at the home
 * bucket or the cursor, whichever is higher, and wrapping from the end to
 * the cursor. It stops at an empty bucket, and visits each readable bucket
 * at most once.
 */
static uint32_t old_find(const struct hupmon__registry *r, uint64_t cookie,
			 uint32_t want, uint64_t *probes)
{
	uint32_t i = hash_cookie(cookie, r->ocap - 1);

	if (i < r->mig)
		i = r->mig;
	for (uint32_t n = r->ocap - r->mig; n && r->old[i]; n--) {
		uint32_t v = r->old[i];

		if (v != TOMB &&
		    (want ? v == want : r->slots[v - 1].cookie == cookie))
			return i;
		if (++i == r->ocap)
			i = r->mig;
		++*probes;
	}
	return HUPMON__NO_SLOT;
}

/* The bucket of the new (or only) table holding idx + 1, or NO_SLOT. */
static uint32_t find_new(struct hupmon__registry *r, uint32_t idx)
{
	uint32_t mask = r->hcap - 1;

	for (uint32_t i = hash_cookie(r->slots[idx].cookie, mask); r->hash[i];
	     i = (i + 1) & mask, r->work.probes++)
		if (r->hash[i] == idx + 1)
			return i;
	return HUPMON__NO_SLOT;
}

static void hash_del(struct hupmon__registry *r, uint32_t idx)
{
	uint32_t mask = r->hcap - 1;
	uint32_t i = find_new(r, idx);

	if (i == HUPMON__NO_SLOT) {
		/* Still in the old table: leave a tombstone. */
		if (r->old) {
			i = old_find(r, r->slots[idx].cookie, idx + 1,
				     &r->work.probes);
			if (i != HUPMON__NO_SLOT)
				r->old[i] = TOMB;
		}
		return;
	}
	/* Backward-shift deletion: move later entries of the run into the
	 * hole when their home is not between the hole and them. */
	for (uint32_t j = (i + 1) & mask; r->hash[j]; j = (j + 1) & mask) {
		uint32_t home =
			hash_cookie(r->slots[r->hash[j] - 1].cookie, mask);

		r->work.probes++;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			r->hash[i] = r->hash[j];
			i = j;
		}
	}
	r->hash[i] = 0;
}

int hupmon__registry_reserve(struct hupmon__registry *r, int fd)
{
	uint32_t want_fd = (uint32_t)fd + 1;
	int err;

	if (r->free_head == HUPMON__NO_SLOT && r->used == r->cap) {
		err = hupmon__mem_grow(r->mem, (void **)&r->slots, &r->cap,
				       r->used + 1, sizeof(*r->slots), 16);
		if (err)
			return err;
	}
	err = hash_reserve(r, r->live + 1);
	if (err)
		return err;
	/* The fd map's new entries come zeroed: no fd maps there yet. */
	return hupmon__mem_grow(r->mem, (void **)&r->fdmap, &r->fdcap, want_fd,
				sizeof(*r->fdmap), 64);
}

uint32_t hupmon__registry_insert(struct hupmon__registry *r, int fd,
				 uint64_t cookie, void *user)
{
	struct hupmon__slot *s;
	uint32_t idx;

	if (r->free_head != HUPMON__NO_SLOT) {
		idx = r->free_head;
		r->free_head = r->slots[idx].link;
	} else {
		idx = r->used++;
		r->slots[idx].gen = 1;
	}
	s = &r->slots[idx];
	s->fd = fd;
	s->link = HUPMON__NO_SLOT;
	s->error = 0;
	s->path = 0;
	s->cause = 0;
	s->flags = HUPMON__SLOT_LIVE;
	s->cookie = cookie;
	s->user = user;
	hash_put(r, idx);
	migrate(r, MIGRATE_STEP);
	r->fdmap[fd] = idx + 1;
	r->live++;
	return idx;
}

void hupmon__registry_forget_fd(struct hupmon__registry *r, uint32_t idx)
{
	int fd = r->slots[idx].fd;

	if (fd >= 0 && (uint32_t)fd < r->fdcap && r->fdmap[fd] == idx + 1)
		r->fdmap[fd] = 0;
}

void hupmon__registry_map_fd(struct hupmon__registry *r, int fd, uint32_t idx)
{
	r->fdmap[fd] = idx + 1;
}

void hupmon__registry_remove(struct hupmon__registry *r, uint32_t idx)
{
	struct hupmon__slot *s = &r->slots[idx];

	hash_del(r, idx);
	migrate(r, MIGRATE_STEP);
	hupmon__registry_forget_fd(r, idx);
	s->gen++;
	if (s->gen == 0) /* wrapped: 0 would make id 0 possible */
		s->gen = 1;
	s->fd = -1;
	s->flags = 0;
	s->user = NULL;
	s->link = r->free_head;
	r->free_head = idx;
	r->live--;
}

struct hupmon__slot *hupmon__registry_get(const struct hupmon__registry *r,
					  hupmon_id id)
{
	uint32_t idx = (uint32_t)id;
	uint32_t gen = (uint32_t)(id >> 32);
	struct hupmon__slot *s;

	if (gen == 0 || idx >= r->used)
		return NULL;
	s = &r->slots[idx];
	if (s->gen != gen || !(s->flags & HUPMON__SLOT_LIVE))
		return NULL;
	return s;
}

uint32_t hupmon__registry_find_cookie(const struct hupmon__registry *r,
				      uint64_t cookie)
{
	uint32_t mask = r->hcap - 1, i;
	uint64_t probes = 0;

	if (!r->hcap)
		return HUPMON__NO_SLOT;
	/* the new table has no tombstones */
	for (i = hash_cookie(cookie, mask); r->hash[i]; i = (i + 1) & mask)
		if (r->slots[r->hash[i] - 1].cookie == cookie)
			return r->hash[i] - 1;
	if (!r->old)
		return HUPMON__NO_SLOT;
	i = old_find(r, cookie, 0, &probes);
	return i == HUPMON__NO_SLOT ? i : r->old[i] - 1;
}

uint32_t hupmon__registry_find_fd(const struct hupmon__registry *r, int fd)
{
	if (fd < 0 || (uint32_t)fd >= r->fdcap || !r->fdmap[fd])
		return HUPMON__NO_SLOT;
	return r->fdmap[fd] - 1;
}

size_t hupmon__registry_bytes(const struct hupmon__registry *r)
{
	return hupmon__mem_size((size_t)r->cap * sizeof(*r->slots)) +
	       hupmon__mem_size((size_t)r->hcap * sizeof(*r->hash)) +
	       hupmon__mem_held(r->old, (size_t)r->ocap * sizeof(*r->old)) +
	       hupmon__mem_retired_bytes(r->husks) +
	       hupmon__mem_size((size_t)r->fdcap * sizeof(*r->fdmap));
}
