/*
 * mem: counted allocations with a failure injector for tests.
 *
 * Kernel facts relied on:
 *   - anonymous private mappings read as zeros and take no memory until a
 *     page is first written;
 *   - mremap(MREMAP_MAYMOVE) resizes a mapping keeping its contents: when
 *     it must move, it moves the page tables (whole page-table pages when
 *     source and destination are aligned alike), not the data, and the
 *     part it adds is zero-filled like a fresh mapping.
 */
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (size_t)ps : 4096;
}

static int mapped(size_t size)
{
	return size >= HUPMON__MEM_MAP;
}

size_t hupmon__mem_size(size_t size)
{
	size_t ps;

	if (!mapped(size))
		return size;
	ps = page_size();
	if (size > SIZE_MAX - ps)
		return SIZE_MAX;
	return (size + ps - 1) / ps * ps;
}

static void *map(size_t size)
{
	void *p = mmap(NULL, hupmon__mem_size(size), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void release(void *p, size_t size)
{
	if (mapped(size))
		munmap(p, hupmon__mem_size(size));
	else
		free(p);
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
		if (p)
			release(p, old);
		mem->bytes -= hupmon__mem_size(old);
		return NULL;
	}
	if (mem->fail_after && --mem->fail_after == 0)
		return NULL;
	if (!p) {
		old = 0;
		q = mapped(new_size) ? map(new_size) : malloc(new_size);
	} else if (mapped(old) && mapped(new_size)) {
		q = mremap(p, hupmon__mem_size(old), hupmon__mem_size(new_size),
			   MREMAP_MAYMOVE);
		if (q == MAP_FAILED)
			q = NULL;
		if (q) {
			size_t pages = hupmon__mem_size(old) / page_size();

			mem->remaps++;
			if (pages > mem->remap_pages_max)
				mem->remap_pages_max = pages;
		}
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
	p = mapped(size) ? map(size) : calloc(1, size);
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
	/* Mapped, a step costs page-table work, not a copy: small steps
	 * keep the slack (memory allocated, not used) to an eighth. */
	while (ncap < want)
		ncap += ncap * elem >= HUPMON__MEM_MAP ? ncap / 8 : ncap / 2;
	if (ncap > UINT32_MAX - 1)
		ncap = UINT32_MAX - 1;
	if (ncap < want || ncap > SIZE_MAX / elem / 2)
		return -ENOMEM;
	/* A mapped block is whole pages: use all of the last one. */
	nsize = hupmon__mem_size((size_t)ncap * elem);
	if (nsize / elem <= UINT32_MAX - 1)
		ncap = nsize / elem;
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
