/*
 * registry: slots, generations, free list and the two lookup maps.
 * See registry.h for the id scheme.
 */
#include "registry.h"

#include <errno.h>
#include <string.h>

/* The cookie table stays at most 3/4 full (linear probing stays short). */
#define HASH_MIN 64

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

void hupmon__registry_fini(struct hupmon__registry *r)
{
	hupmon__mem_realloc(r->mem, r->slots,
			    (size_t)r->cap * sizeof(*r->slots), 0);
	hupmon__mem_realloc(r->mem, r->hash, (size_t)r->hcap * sizeof(*r->hash),
			    0);
	hupmon__mem_realloc(r->mem, r->fdmap,
			    (size_t)r->fdcap * sizeof(*r->fdmap), 0);
	hupmon__registry_init(r, r->mem);
}

static void hash_put(uint32_t *tab, uint32_t hcap,
		     const struct hupmon__slot *slots, uint32_t idx)
{
	uint32_t mask = hcap - 1;
	uint32_t i = hash_cookie(slots[idx].cookie, mask);

	while (tab[i])
		i = (i + 1) & mask;
	tab[i] = idx + 1;
}

static int hash_reserve(struct hupmon__registry *r, uint32_t count)
{
	uint32_t ncap = r->hcap ? r->hcap : HASH_MIN;
	uint32_t *tab;

	while ((uint64_t)count * 4 > (uint64_t)ncap * 3)
		ncap *= 2;
	if (ncap == r->hcap)
		return 0;
	tab = hupmon__mem_realloc(r->mem, NULL, 0, (size_t)ncap * sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	memset(tab, 0, (size_t)ncap * sizeof(*tab));
	for (uint32_t i = 0; i < r->hcap; i++)
		if (r->hash[i])
			hash_put(tab, ncap, r->slots, r->hash[i] - 1);
	hupmon__mem_realloc(r->mem, r->hash, (size_t)r->hcap * sizeof(*r->hash),
			    0);
	r->hash = tab;
	r->hcap = ncap;
	return 0;
}

static void hash_del(struct hupmon__registry *r, uint32_t idx)
{
	uint32_t mask = r->hcap - 1;
	uint32_t i = hash_cookie(r->slots[idx].cookie, mask);

	while (r->hash[i] != idx + 1) {
		if (!r->hash[i])
			return; /* not present: nothing to do */
		i = (i + 1) & mask;
	}
	/* Backward-shift deletion: move later entries of the run into the
	 * hole when their home is not between the hole and them. */
	for (uint32_t j = (i + 1) & mask; r->hash[j]; j = (j + 1) & mask) {
		uint32_t home =
			hash_cookie(r->slots[r->hash[j] - 1].cookie, mask);

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
	uint32_t old_fdcap = r->fdcap;
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
	if (want_fd > r->fdcap) {
		err = hupmon__mem_grow(r->mem, (void **)&r->fdmap, &r->fdcap,
				       want_fd, sizeof(*r->fdmap), 64);
		if (err)
			return err;
		memset(r->fdmap + old_fdcap, 0,
		       (size_t)(r->fdcap - old_fdcap) * sizeof(*r->fdmap));
	}
	return 0;
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
	s->level = 0;
	s->cause = 0;
	s->flags = HUPMON__SLOT_LIVE;
	s->cookie = cookie;
	s->user = user;
	hash_put(r->hash, r->hcap, r->slots, idx);
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
	uint32_t mask, i;

	if (!r->hcap)
		return HUPMON__NO_SLOT;
	mask = r->hcap - 1;
	for (i = hash_cookie(cookie, mask); r->hash[i]; i = (i + 1) & mask)
		if (r->slots[r->hash[i] - 1].cookie == cookie)
			return r->hash[i] - 1;
	return HUPMON__NO_SLOT;
}

uint32_t hupmon__registry_find_fd(const struct hupmon__registry *r, int fd)
{
	if (fd < 0 || (uint32_t)fd >= r->fdcap || !r->fdmap[fd])
		return HUPMON__NO_SLOT;
	return r->fdmap[fd] - 1;
}

size_t hupmon__registry_bytes(const struct hupmon__registry *r)
{
	return (size_t)r->cap * sizeof(*r->slots) +
	       (size_t)r->hcap * sizeof(*r->hash) +
	       (size_t)r->fdcap * sizeof(*r->fdmap);
}
