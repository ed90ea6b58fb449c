/* SPDX-License-Identifier: MIT */
/*
 * mem: counted allocations with a failure injector for tests.
 *
 * A mapped block (HUPMON__MEM_MAP bytes or more) is a header and the data,
 * at the start of a reservation of address space (HUPMON__MEM_RESERVE, or
 * just what it needs when that much address space cannot be had): only
 * its first pages are accessible, and growing it makes the next pages
 * accessible where they are. Nothing is copied or moved, whatever its
 * size; only a block outgrowing its reservation moves to a reservation
 * twice as large (mremap: page tables, not data).
 *
 * Kernel facts relied on:
 *   - a private anonymous PROT_NONE mapping reserves address space only:
 *     no memory, no commit charge; mprotect() making part of it writable
 *     charges that part, whose pages read as zeros and take memory only
 *     once written;
 *   - mremap(MREMAP_MAYMOVE | MREMAP_FIXED) moves a mapping's pages to a
 *     new address by moving page-table entries, keeping the contents;
 *   - madvise(MADV_DONTNEED) on part of a private anonymous mapping frees
 *     those pages and keeps the mapping (they would read as zeros; the
 *     commit charge stays with the mapping until it goes). Freeing written
 *     pages is not
 *     free (a munmap of a written 4 MiB block took 0.2-0.7 ms of CPU on
 *     the VM this was measured on), and a munmap pays for all of them at
 *     once: emptied from its start, a block gives them back a page or so
 *     at a time (hupmon__mem_release), and its free pays for the rest.
 */
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* In front of a mapped block's data. */
struct head {
	size_t reserved; /* bytes of address space, header included */
	size_t open;	 /* of which readable and writable */
	size_t cut;	 /* pages from the second up to this offset given
			    back (none while it is at most a page) */
	void *next;	 /* retired: the next on the chain */
};
#define HEAD 64

static size_t page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (size_t)ps : 4096;
}

static int mapped(size_t size)
{
	return size >= HUPMON__MEM_MAP;
}

static size_t pages(size_t bytes)
{
	size_t ps = page_size();

	if (bytes > SIZE_MAX - ps)
		return SIZE_MAX;
	return (bytes + ps - 1) / ps * ps;
}

size_t hupmon__mem_size(size_t size)
{
	return mapped(size) ? pages(HEAD + size) : size;
}

static struct head *head_of(void *p)
{
	return (struct head *)((char *)p - HEAD);
}

static void *reserve_none(size_t bytes)
{
	void *b = mmap(NULL, bytes, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return b == MAP_FAILED ? NULL : b;
}

static void *reserve(size_t reserved, size_t open)
{
	struct head *h = reserve_none(reserved);

	if (!h)
		return NULL;
	if (mprotect(h, open, PROT_READ | PROT_WRITE)) {
		munmap(h, reserved);
		return NULL;
	}
	h->reserved = reserved;
	h->open = open;
	h->cut = 0;
	return (char *)h + HEAD;
}

static void *map(size_t size)
{
	size_t open = hupmon__mem_size(size);
	void *p = NULL;

	if (open < HUPMON__MEM_RESERVE)
		p = reserve(HUPMON__MEM_RESERVE, open);
	/* not that much address space (RLIMIT_AS, 32 bits): what it needs */
	return p ? p : reserve(open, open);
}

/* Bytes given back from the block whose header is h. */
static size_t given_back(const struct head *h)
{
	return h->cut > page_size() ? h->cut - page_size() : 0;
}

size_t hupmon__mem_held(const void *p, size_t size)
{
	if (!p || !mapped(size))
		return hupmon__mem_size(size);
	return hupmon__mem_size(size) -
	       given_back((const struct head *)((const char *)p - HEAD));
}

/* Gives back the pages of h from the last given back up to end. */
static size_t give_back(struct hupmon__mem *mem, struct head *h, size_t end)
{
	size_t ps = page_size(), from = h->cut > ps ? h->cut : ps, n;

	if (end <= from)
		return 0;
	/* madvise frees the pages and leaves the mapping as it is: nothing
	 * can be unmapped by a call that fails half way (a failed
	 * mmap(MAP_FIXED) may leave a hole that another mapping then takes).
	 * mprotect makes them fault if ever read again; if it fails they
	 * read as zeros, and nobody reads them. */
	if (madvise((char *)h + from, end - from, MADV_DONTNEED))
		return 0;
	mprotect((char *)h + from, end - from, PROT_NONE);
	h->cut = end;
	mem->bytes -= end - from;
	n = (end - from) / ps;
	mem->released += n;
	if (n > mem->release_pages_max)
		mem->release_pages_max = n;
	return end - from;
}

size_t hupmon__mem_release(struct hupmon__mem *mem, void *p, size_t size,
			   size_t to)
{
	if (!p || !mapped(size))
		return 0;
	if (to > size)
		to = size;
	/* within the block's open pages */
	return give_back(mem, head_of(p),
			 (HEAD + to) / page_size() * page_size());
}

void hupmon__mem_retire(struct hupmon__mem *mem, void *p, size_t size,
			void **chain)
{
	struct head *h;

	if (!p || !mapped(size)) {
		hupmon__mem_realloc(mem, p, size, 0);
		return;
	}
	h = head_of(p);
	give_back(mem, h, h->open);
	if (h->cut != h->open) { /* refused: unmapped after all */
		hupmon__mem_realloc(mem, p, size, 0);
		return;
	}
	h->next = *chain;
	*chain = h;
}

void hupmon__mem_free_retired(struct hupmon__mem *mem, void **chain)
{
	while (*chain) {
		struct head *h = *chain;

		*chain = h->next;
		mem->bytes -= h->open - given_back(h);
		munmap(h, h->reserved);
	}
}

size_t hupmon__mem_retired_bytes(const void *chain)
{
	size_t n = 0;

	for (const struct head *h = chain; h; h = h->next)
		n += h->open - given_back(h);
	return n;
}

static void release(void *p, size_t size)
{
	if (mapped(size))
		munmap(head_of(p), head_of(p)->reserved);
	else
		free(p);
}

/* Resizes a mapped block to size bytes of data: in place within its
 * reservation, else moved to one twice as large. */
static void *resize(struct hupmon__mem *mem, void *p, size_t size)
{
	struct head *h = head_of(p);
	size_t open = hupmon__mem_size(size), old_open = h->open;
	size_t old_res = h->reserved, res = old_res;
	char *b;

	if (open < old_open) { /* shrinks: gives the rest back */
		munmap((char *)h + open, old_res - open);
		h->reserved = h->open = open;
		return p;
	}
	if (open <= old_res) {
		if (open > old_open &&
		    mprotect((char *)h + old_open, open - old_open,
			     PROT_READ | PROT_WRITE))
			return NULL;
		h->open = open;
		mem->opened++;
		return p;
	}
	while (res < open && res <= SIZE_MAX / 2)
		res *= 2;
	b = res >= open ? reserve_none(res) : NULL;
	if (!b)
		b = reserve_none(res = open);
	if (!b)
		return NULL;
	if (mprotect(b + old_open, open - old_open, PROT_READ | PROT_WRITE) ||
	    mremap(h, old_open, old_open, MREMAP_MAYMOVE | MREMAP_FIXED, b) ==
		    MAP_FAILED) {
		munmap(b, res);
		return NULL;
	}
	/* what is left of the old reservation: its PROT_NONE part */
	munmap((char *)h + old_open, old_res - old_open);
	h = (struct head *)b;
	h->reserved = res;
	h->open = open;
	mem->moves++;
	if (old_open / page_size() > mem->move_pages_max)
		mem->move_pages_max = old_open / page_size();
	return b + HEAD;
}

static void copied(struct hupmon__mem *mem, size_t n)
{
	mem->copied += n;
	if (n > mem->copied_max)
		mem->copied_max = n;
}

/* Moves a block to a new size where one side is mapped and the other is
 * not (the data copied is under HUPMON__MEM_MAP). */
static void *move(struct hupmon__mem *mem, void *p, size_t old, size_t nsize)
{
	size_t keep = old < nsize ? old : nsize;
	void *q = mapped(nsize) ? map(nsize) : malloc(nsize);

	if (!q)
		return NULL;
	if (keep)
		memcpy(q, p, keep);
	copied(mem, keep);
	release(p, old);
	return q;
}

void *hupmon__mem_realloc(struct hupmon__mem *mem, void *p, size_t old,
			  size_t new_size)
{
	void *q;

	if (new_size == 0) {
		size_t held = hupmon__mem_held(p, old);

		if (p && mapped(old) &&
		    held / page_size() > mem->free_pages_max)
			mem->free_pages_max = held / page_size();
		if (p)
			release(p, old);
		mem->bytes -= held;
		return NULL;
	}
	if (mem->fail_after && --mem->fail_after == 0)
		return NULL;
	if (!p) {
		old = 0;
		q = mapped(new_size) ? map(new_size) : malloc(new_size);
	} else if (mapped(old) && mapped(new_size)) {
		q = resize(mem, p, new_size);
	} else if (!mapped(old) && !mapped(new_size)) {
		q = realloc(p, new_size);
		if (q)
			copied(mem, old < new_size ? old : new_size);
	} else {
		q = move(mem, p, old, new_size);
	}
	if (!q)
		return NULL;
	mem->bytes =
		mem->bytes - hupmon__mem_size(old) + hupmon__mem_size(new_size);
	return q;
}

void *hupmon__mem_zalloc(struct hupmon__mem *mem, size_t size)
{
	void *p;

	if (mem->fail_after && --mem->fail_after == 0)
		return NULL;
	/* a table that is replaced, never grown: no reservation beyond it */
	p = mapped(size)
		    ? reserve(hupmon__mem_size(size), hupmon__mem_size(size))
		    : calloc(1, size);
	if (p)
		mem->bytes += hupmon__mem_size(size);
	return p;
}

int hupmon__mem_grow(struct hupmon__mem *mem, void **p, uint32_t *cap,
		     uint32_t want, size_t elem, uint32_t min_cap)
{
	uint64_t ncap = *cap;
	size_t old = (size_t)*cap * elem, nsize;
	void *q;

	if (want <= *cap)
		return 0;
	if (ncap < min_cap)
		ncap = min_cap;
	/* Mapped, a step opens pages where they are (no copy): small steps
	 * keep the slack (memory allocated, not used) to a sixteenth. */
	while (ncap < want)
		ncap += ncap * elem >= HUPMON__MEM_MAP ? ncap / 16 : ncap / 2;
	if (ncap > UINT32_MAX - 1)
		ncap = UINT32_MAX - 1;
	if (ncap < want || ncap > SIZE_MAX / elem / 2)
		return -ENOMEM;
	/* A mapped block is whole pages: use all of the last one. */
	nsize = hupmon__mem_size((size_t)ncap * elem);
	if (mapped(nsize) && (nsize - HEAD) / elem <= UINT32_MAX - 1)
		ncap = (nsize - HEAD) / elem;
	nsize = (size_t)ncap * elem;
	q = hupmon__mem_realloc(mem, *p, old, nsize);
	if (!q)
		return -ENOMEM;
	/* Mapped, the pages added are zero already (grown, or fresh when
	 * the block just left the heap); a heap block is zeroed by hand. */
	if (!mapped(nsize))
		memset((char *)q + old, 0, nsize - old);
	*p = q;
	*cap = (uint32_t)ncap;
	return 0;
}
