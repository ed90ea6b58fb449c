/*
 * mem: counted allocations with a failure injector for tests.
 */
#include "mem.h"

#include <errno.h>
#include <stdlib.h>

void *hupmon__mem_realloc(struct hupmon__mem *mem, void *p, size_t old,
			  size_t new_size)
{
	void *q;

	if (new_size == 0) {
		free(p);
		mem->bytes -= old;
		return NULL;
	}
	if (mem->fail_after && --mem->fail_after == 0)
		return NULL;
	q = realloc(p, new_size);
	if (!q)
		return NULL;
	mem->bytes = mem->bytes - old + new_size;
	return q;
}

void *hupmon__mem_zalloc(struct hupmon__mem *mem, size_t size)
{
	void *p;

	if (mem->fail_after && --mem->fail_after == 0)
		return NULL;
	p = calloc(1, size);
	if (p)
		mem->bytes += size;
	return p;
}

int hupmon__mem_grow(struct hupmon__mem *mem, void **p, uint32_t *cap,
		     uint32_t want, size_t elem, uint32_t min_cap)
{
	uint64_t ncap = *cap;
	void *q;

	if (want <= *cap)
		return 0;
	if (ncap < min_cap)
		ncap = min_cap;
	while (ncap < want)
		ncap += ncap / 2;
	if (ncap > UINT32_MAX - 1)
		ncap = UINT32_MAX - 1;
	if (ncap < want || ncap > SIZE_MAX / elem)
		return -ENOMEM;
	q = hupmon__mem_realloc(mem, *p, (size_t)*cap * elem,
				(size_t)ncap * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = (uint32_t)ncap;
	return 0;
}
