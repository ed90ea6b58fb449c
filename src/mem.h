/*
 * mem: the monitor's own allocations, counted, with a test-only failure
 * injector. All memory hupmon allocates goes through here, so the reported
 * memory_bytes is exact and every allocation can be made to fail.
 */
#ifndef HUPMON_MEM_H
#define HUPMON_MEM_H

#include <stddef.h>
#include <stdint.h>

struct hupmon__mem {
	size_t bytes; /* live bytes allocated through this accountant */
	/* Test hook: when non-zero, counts down on each allocation; the
	 * allocation that brings it to zero fails. */
	uint64_t fail_after;
};

/* realloc with accounting: old is the current size of p (0 if p is NULL).
 * Returns NULL on failure, leaving p as it was. new == 0 frees p. */
void *hupmon__mem_realloc(struct hupmon__mem *mem, void *p, size_t old,
			  size_t new_size);

/* A zeroed block (calloc: large ones come as untouched zero pages, so a
 * big table costs no memset up front). NULL on failure. Free it with
 * hupmon__mem_realloc(mem, p, size, 0). */
void *hupmon__mem_zalloc(struct hupmon__mem *mem, size_t size);

/* Grows an array of elem-sized entries to at least want entries (geometric,
 * factor 1.5, at least min_cap). Updates *cap. 0 or -ENOMEM (unchanged). */
int hupmon__mem_grow(struct hupmon__mem *mem, void **p, uint32_t *cap,
		     uint32_t want, size_t elem, uint32_t min_cap);

#endif
