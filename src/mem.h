/* SPDX-License-Identifier: MIT */
/*
 * mem: the monitor's own allocations, counted, with a test-only failure
 * injector. All memory hupmon allocates goes through here, so the reported
 * memory_bytes is exact and every allocation can be made to fail.
 *
 * Small blocks come from malloc. A block of HUPMON__MEM_MAP bytes or more
 * gets a mapping of its own (counted as its whole pages, a 64-byte header
 * included) at the start of a reservation of HUPMON__MEM_RESERVE bytes of
 * address space, which costs no memory: growing it opens the next pages
 * in place, so the arrays indexed by slot (and by fd number) grow by small
 * steps (1/16) without copying or moving anything under the monitor's
 * lock, whatever their size. The pages opened read as zeros and take
 * memory once written. A block that is being emptied from its start (the
 * cookie table's old half) can give its pages back as it goes, a few at a
 * time, instead of all at once when it is freed.
 */
#ifndef HUPMON_MEM_H
#define HUPMON_MEM_H

#include <stddef.h>
#include <stdint.h>

#define HUPMON__MEM_MAP	    ((size_t)64 * 1024)
#define HUPMON__MEM_RESERVE ((size_t)1 << 30)

struct hupmon__mem {
	size_t bytes; /* live bytes allocated through this accountant */
	/* Test hook: when non-zero, counts down on each allocation; the
	 * allocation that brings it to zero fails. */
	uint64_t fail_after;
	/* Work done, for tests that prove a watch O(1) by counting: bytes
	 * copied from an old block to a new one (heap blocks only, so each
	 * under HUPMON__MEM_MAP), the most by one call; mapped blocks grown
	 * in place; mapped blocks moved because they outgrew their
	 * reservation (page tables moved, not data) and the most pages one
	 * such move had. */
	uint64_t copied;
	size_t copied_max;
	uint64_t opened;
	uint64_t moves;
	size_t move_pages_max;
	/* Pages given back early (hupmon__mem_release) and the most by one
	 * call; the most pages a mapped block still held when it was freed
	 * (what one free costs, at about a page's worth of work each). */
	uint64_t released;
	size_t release_pages_max;
	size_t free_pages_max;
};

/* The bytes a block asked for as size occupies (and is counted as): size,
 * or the whole pages of a mapped block's header and data. */
size_t hupmon__mem_size(size_t size);

/* The bytes a block of size bytes at p holds: hupmon__mem_size(size)
 * less what hupmon__mem_release gave back (p may be NULL). */
size_t hupmon__mem_held(const void *p, size_t size);

/* Gives back the whole pages of a mapped block's data below byte to (the
 * page holding the header never) that it still holds: their memory goes at
 * once (madvise), and they are made inaccessible, so a later access faults
 * (the commit charge stays until the block is freed). The caller never touches
 * data below to again; the block may then only be freed (not resized). Returns
 * the bytes given back (0 for a heap block, or if the kernel refused: the pages
 * are then kept, and given back with the next call or the free). */
size_t hupmon__mem_release(struct hupmon__mem *mem, void *p, size_t size,
			   size_t to);

/* Retires a block nothing will read again: a heap block is freed; a
 * mapped one gives back every page but its header's, which keeps its
 * address range reserved and links it onto *chain, to be unmapped by
 * hupmon__mem_free_retired. Unmapping a range costs on some VMs in
 * proportion to its size, whatever it holds (0.5 ms for 4 MiB measured):
 * a retired block costs one page instead. */
void hupmon__mem_retire(struct hupmon__mem *mem, void *p, size_t size,
			void **chain);
void hupmon__mem_free_retired(struct hupmon__mem *mem, void **chain);
/* The bytes the retired blocks on chain hold (a page each). */
size_t hupmon__mem_retired_bytes(const void *chain);

/* realloc with accounting: old is the current size of p (0 if p is NULL),
 * as asked for. Returns NULL on failure, leaving p as it was. new == 0
 * frees p. */
void *hupmon__mem_realloc(struct hupmon__mem *mem, void *p, size_t old,
			  size_t new_size);

/* A zeroed block (a mapped one: no memset up front).
 * NULL on failure. Free it with hupmon__mem_realloc(mem, p, size, 0). */
void *hupmon__mem_zalloc(struct hupmon__mem *mem, size_t size);

/* Grows an array of elem-sized entries to at least want entries (at least
 * min_cap; by half while small, by a sixteenth once mapped, filling its
 * last page). Entries added come zeroed. Updates *cap. 0 or -ENOMEM
 * (unchanged). */
int hupmon__mem_grow(struct hupmon__mem *mem, void **p, uint32_t *cap,
		     uint32_t want, size_t elem, uint32_t min_cap);

#endif
