/* SPDX-License-Identifier: MIT */
/*
 * check_registry: the slot table: ids, generations, free list, growth and
 * both lookup maps. No sockets.
 */
#include <check.h>

#include "fixture.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "state.h"
#include "registry.h"

static struct hupmon__mem mem;
static struct hupmon__registry reg;

static void setup(void)
{
	memset(&mem, 0, sizeof(mem));
	hupmon__registry_init(&reg, &mem);
}

static void teardown(void)
{
	hupmon__registry_fini(&reg);
	ck_assert_uint_eq(mem.bytes, 0);
}

static hupmon_id add(int fd, uint64_t cookie)
{
	uint32_t idx;
	int err = hupmon__registry_reserve(&reg, fd);

	if (err) /* not ck_assert: a million of them cost seconds */
		ck_abort_msg("reserve of fd %d: %d", fd, err);
	idx = hupmon__registry_insert(&reg, fd, cookie, (void *)(intptr_t)fd);
	return hupmon__slot_id(&reg, idx);
}

START_TEST(test_ids_never_zero_and_lookup)
{
	hupmon_id a = add(3, 100), b = add(4, 200);

	ck_assert_uint_ne(a, 0);
	ck_assert_uint_ne(b, 0);
	ck_assert_uint_ne(a, b);
	ck_assert_ptr_nonnull(hupmon__registry_get(&reg, a));
	ck_assert_int_eq(hupmon__registry_get(&reg, b)->fd, 4);
	ck_assert_ptr_null(hupmon__registry_get(&reg, 0));
	ck_assert_ptr_null(hupmon__registry_get(&reg, (uint32_t)a));
	ck_assert_ptr_null(hupmon__registry_get(&reg, a + 1000));
	ck_assert_uint_eq(hupmon__registry_find_cookie(&reg, 200), (uint32_t)b);
	ck_assert_uint_eq(hupmon__registry_find_cookie(&reg, 300),
			  HUPMON__NO_SLOT);
	ck_assert_uint_eq(hupmon__registry_find_fd(&reg, 3), (uint32_t)a);
	ck_assert_uint_eq(hupmon__registry_find_fd(&reg, 5), HUPMON__NO_SLOT);
	ck_assert_uint_eq(hupmon__registry_find_fd(&reg, -1), HUPMON__NO_SLOT);
	ck_assert_uint_eq(reg.live, 2);
}
END_TEST

START_TEST(test_stale_after_remove_and_reuse)
{
	hupmon_id a = add(3, 100), b;

	hupmon__registry_remove(&reg, (uint32_t)a);
	ck_assert_ptr_null(hupmon__registry_get(&reg, a));
	ck_assert_uint_eq(hupmon__registry_find_cookie(&reg, 100),
			  HUPMON__NO_SLOT);
	ck_assert_uint_eq(hupmon__registry_find_fd(&reg, 3), HUPMON__NO_SLOT);
	b = add(3, 101); /* same fd number, new socket: reuses the slot */
	ck_assert_uint_eq((uint32_t)b, (uint32_t)a);
	ck_assert_uint_ne(b, a);
	ck_assert_ptr_null(hupmon__registry_get(&reg, a));
	ck_assert_ptr_nonnull(hupmon__registry_get(&reg, b));
	ck_assert_uint_eq(reg.live, 1);
}
END_TEST

START_TEST(test_generation_wraps_past_zero)
{
	hupmon_id a = add(3, 100), b;

	reg.slots[(uint32_t)a].gen = UINT32_MAX;
	a = hupmon__slot_id(&reg, (uint32_t)a);
	hupmon__registry_remove(&reg, (uint32_t)a);
	b = add(3, 101);
	ck_assert_uint_eq(b >> 32, 1); /* skipped 0 */
	ck_assert_uint_ne(b, 0);
	ck_assert_ptr_null(hupmon__registry_get(&reg, a));
	ck_assert_ptr_nonnull(hupmon__registry_get(&reg, b));
}
END_TEST

START_TEST(test_growth_and_churn)
{
	enum { N = 5000 };
	static hupmon_id ids[N];
	unsigned seed = 12345;

	for (int i = 0; i < N; i++)
		ids[i] = add(i + 10, 1000 + (uint64_t)i * 7);
	ck_assert_uint_ge(reg.cap, N);
	ck_assert_uint_le(reg.cap, N + N / 2 + 16);
	/* Remove a random half, then check every lookup. */
	for (int i = 0; i < N; i++) {
		if (rand_r(&seed) & 1) {
			hupmon__registry_remove(&reg, (uint32_t)ids[i]);
			ck_assert_ptr_null(hupmon__registry_get(&reg, ids[i]));
			ids[i] = 0;
		}
	}
	for (int i = 0; i < N; i++) {
		uint32_t c = hupmon__registry_find_cookie(
			&reg, 1000 + (uint64_t)i * 7);
		uint32_t f = hupmon__registry_find_fd(&reg, i + 10);

		if (ids[i]) {
			ck_assert_uint_eq(c, (uint32_t)ids[i]);
			ck_assert_uint_eq(f, (uint32_t)ids[i]);
		} else {
			ck_assert_uint_eq(c, HUPMON__NO_SLOT);
			ck_assert_uint_eq(f, HUPMON__NO_SLOT);
		}
	}
	/* Freed slots are reused before the table grows. */
	{
		uint32_t cap = reg.cap, used = reg.used;

		for (int i = 0; i < N; i++)
			if (!ids[i])
				ids[i] = add(i + 10, 900000 + (uint64_t)i);
		ck_assert_uint_eq(reg.cap, cap);
		ck_assert_uint_eq(reg.used, used);
		ck_assert_uint_eq(reg.live, N);
	}
	ck_assert_uint_eq(mem.bytes, hupmon__registry_bytes(&reg));
}
END_TEST

START_TEST(test_reserve_fails_cleanly)
{
	hupmon_id a = add(3, 100);
	uint32_t cap = reg.cap;
	int err = 0;

	/* Fill the slots, then make the next growth fail. */
	for (uint32_t i = reg.used; i < cap; i++)
		add((int)i + 10, 5000 + i);
	mem.fail_after = 1;
	err = hupmon__registry_reserve(&reg, 100000);
	ck_assert_int_eq(err, -ENOMEM);
	ck_assert_uint_eq(reg.cap, cap);
	ck_assert_ptr_nonnull(hupmon__registry_get(&reg, a));
	mem.fail_after = 0;
	ck_assert_int_eq(hupmon__registry_reserve(&reg, 100000), 0);
}
END_TEST

/* A million synthetic entries: insert, find by cookie and by fd, remove
 * half, reinsert on the same fd numbers and slots. O(1) is proven by
 * counting work, not by time: buckets probed per operation stay a small
 * constant on average, and no insert or remove moves more than a few
 * entries of a growing table (the growth is spread over the operations
 * that follow it, never done in one go). */
START_TEST(test_a_million_entries)
{
	const uint32_t n = (uint32_t)fx_scaled(1000000);
	uint64_t ops = 0, probes;
	double per_op;

	for (uint32_t i = 0; i < n; i++, ops++)
		add((int)i, 0x100000000ull + i);
	ck_assert_uint_eq(reg.live, n);
	for (uint32_t i = 0; i < n; i++) {
		ck_assert_uint_eq(
			hupmon__registry_find_cookie(&reg, 0x100000000ull + i),
			hupmon__registry_find_fd(&reg, (int)i));
		ck_assert_uint_ne(hupmon__registry_find_fd(&reg, (int)i),
				  HUPMON__NO_SLOT);
	}
	/* remove every other one, then put new sockets on those numbers */
	for (uint32_t i = 0; i < n; i += 2, ops++)
		hupmon__registry_remove(&reg,
					hupmon__registry_find_fd(&reg, (int)i));
	ck_assert_uint_eq(reg.live, n - (n + 1) / 2);
	for (uint32_t i = 0; i < n; i += 2, ops++)
		add((int)i, 0x900000000ull + i);
	ck_assert_uint_eq(reg.live, n);
	ck_assert_uint_le(reg.used, n); /* freed slots were reused */
	for (uint32_t i = 0; i < n; i++) {
		uint64_t c = (i % 2 ? 0x100000000ull : 0x900000000ull) + i;
		uint32_t idx = hupmon__registry_find_cookie(&reg, c);

		ck_assert_uint_ne(idx, HUPMON__NO_SLOT);
		ck_assert_int_eq(reg.slots[idx].fd, (int)i);
	}
	ck_assert_uint_eq(hupmon__registry_find_cookie(&reg, 0x100000000ull),
			  HUPMON__NO_SLOT);
	probes = reg.work.probes;
	per_op = (double)probes / (double)ops;
	printf("registry at %u entries: %.2f extra buckets probed per insert "
	       "or remove; at most %u entries moved by one operation; "
	       "%.1f bytes per entry\n",
	       n, per_op, reg.work.moved_max,
	       (double)hupmon__registry_bytes(&reg) / n);
	ck_assert_msg(per_op < 3.0, "%.2f buckets per operation", per_op);
	ck_assert_uint_le(reg.work.moved_max, 8); /* MIGRATE_STEP */
	ck_assert_uint_gt(reg.work.moved, 0);	  /* the table did grow */
	/* No operation frees more than a page: the old tables' pages went
	 * back one at a time (8 buckets of 4 B per operation pass at most
	 * one page), the last one when the table was retired (its header's
	 * page kept, no mapping unmapped: that costs by its size on some
	 * VMs). */
	ck_assert_uint_gt(mem.released, 0);
	ck_assert_uint_le(mem.release_pages_max, 1);
	ck_assert_uint_eq(mem.free_pages_max, 0);
	ck_assert_ptr_nonnull(reg.husks);
	ck_assert_uint_eq(mem.bytes, hupmon__registry_bytes(&reg));
}
END_TEST

/* mem: a heap block that grows into a mapping keeps its data, and every
 * entry added reads zero; memory_bytes counts whole pages of a mapping and
 * goes back to 0; a failed growth leaves the block as it was. */
START_TEST(test_mem_grow_into_a_mapping)
{
	struct hupmon__mem mm = {0};
	uint32_t *a = NULL, cap = 0, small;
	void *p;

	ck_assert_int_eq(
		hupmon__mem_grow(&mm, (void **)&a, &cap, 100, sizeof(*a), 16),
		0);
	ck_assert_uint_eq(mm.bytes, cap * sizeof(*a));
	for (uint32_t i = 0; i < cap; i++)
		ck_assert_uint_eq(a[i], 0);
	for (uint32_t i = 0; i < cap; i++)
		a[i] = i + 1;
	small = cap;
	ck_assert_int_eq(hupmon__mem_grow(&mm, (void **)&a, &cap, 100000,
					  sizeof(*a), 16),
			 0);
	ck_assert_uint_ge(cap * sizeof(*a), HUPMON__MEM_MAP);
	ck_assert_uint_eq(mm.bytes, hupmon__mem_size(cap * sizeof(*a)));
	ck_assert_uint_eq(mm.bytes % (size_t)sysconf(_SC_PAGESIZE), 0);
	ck_assert_uint_eq(mm.copied_max, small * sizeof(*a));
	for (uint32_t i = 0; i < cap; i++)
		ck_assert_uint_eq(a[i], i < small ? i + 1 : 0);
	/* grown in place from here on: nothing copied, nothing moved */
	p = a;
	ck_assert_int_eq(hupmon__mem_grow(&mm, (void **)&a, &cap, cap + 1,
					  sizeof(*a), 16),
			 0);
	ck_assert_ptr_eq(a, p);
	ck_assert_uint_eq(mm.copied_max, small * sizeof(*a));
	ck_assert_uint_eq(mm.moves, 0);
	ck_assert_uint_eq(mm.opened, 1);
	ck_assert_uint_eq(mm.bytes, hupmon__mem_size(cap * sizeof(*a)));
	/* a failed growth: -ENOMEM, block, capacity and bytes unchanged */
	{
		uint32_t c = cap;
		size_t b = mm.bytes;

		a[cap - 1] = 7;
		mm.fail_after = 1;
		ck_assert_int_eq(hupmon__mem_grow(&mm, (void **)&a, &cap,
						  cap * 2, sizeof(*a), 16),
				 -ENOMEM);
		ck_assert_ptr_eq(a, p);
		ck_assert_uint_eq(cap, c);
		ck_assert_uint_eq(mm.bytes, b);
		ck_assert_uint_eq(a[cap - 1], 7);
	}
	/* shrink back to the heap: the data kept, then freed to 0 bytes */
	p = hupmon__mem_realloc(&mm, a, cap * sizeof(*a), 64);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(((uint32_t *)p)[15], 16);
	ck_assert_uint_eq(mm.bytes, 64);
	hupmon__mem_realloc(&mm, p, 64, 0);
	ck_assert_uint_eq(mm.bytes, 0);
}
END_TEST

/* Bytes of the whole pages of [p, p + to) after the page p is in: what
 * hupmon__mem_release gives back of a mapped block's data below to,
 * computed from the addresses alone. */
static size_t whole_pages_below(const void *p, size_t to)
{
	uintptr_t ps = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)p / ps + 1) * ps;
	uintptr_t hi = ((uintptr_t)p + to) / ps * ps;

	return hi > lo ? hi - lo : 0;
}

/* How many pages of [p, p + len) (page-aligned) are in memory. */
static size_t resident(const void *p, size_t len)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE), n = 0;
	unsigned char vec[256];

	ck_assert_uint_le(len / ps, sizeof(vec));
	ck_assert_int_eq(mincore((void *)p, len, vec), 0);
	for (size_t i = 0; i < len / ps; i++)
		n += vec[i] & 1;
	return n;
}

/* mem: a mapped block gives back the whole pages of its data below a
 * point, once (a second call gives nothing back), counted out of
 * memory_bytes at once; the pages really leave memory; the data above is
 * kept; the free subtracts only what is left; a heap block gives nothing
 * back. */
START_TEST(test_mem_release_pages)
{
	const size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	const size_t size = 40 * ps;
	struct hupmon__mem mm = {0};
	unsigned char *p = hupmon__mem_zalloc(&mm, size), *q;
	size_t full = hupmon__mem_size(size), lo, got;

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(mm.bytes, full);
	memset(p, 0xab, size);
	lo = ((uintptr_t)p / ps + 1) * ps - (uintptr_t)p; /* first page */
	/* below the first whole page: nothing */
	ck_assert_uint_eq(hupmon__mem_release(&mm, p, size, lo), 0);
	ck_assert_uint_eq(mm.bytes, full);
	/* 10.5 pages in: the whole ones */
	got = hupmon__mem_release(&mm, p, size, lo + 10 * ps + ps / 2);
	ck_assert_uint_eq(got, 10 * ps);
	ck_assert_uint_eq(got, whole_pages_below(p, lo + 10 * ps + ps / 2));
	ck_assert_uint_eq(mm.bytes, full - got);
	ck_assert_uint_eq(hupmon__mem_held(p, size), full - got);
	ck_assert_uint_eq(mm.released, 10);
	ck_assert_uint_eq(mm.release_pages_max, 10);
	ck_assert_uint_eq(resident(p + lo, 10 * ps), 0);
	ck_assert_uint_eq(resident(p + lo + 10 * ps, ps), 1);
	/* again, or less: nothing more */
	ck_assert_uint_eq(hupmon__mem_release(&mm, p, size, lo + 10 * ps), 0);
	ck_assert_uint_eq(hupmon__mem_release(&mm, p, size, lo + 5 * ps), 0);
	ck_assert_uint_eq(mm.bytes, full - got);
	/* the half page passed is kept, and so is everything above */
	for (size_t i = lo + 10 * ps; i < size; i++)
		ck_assert_uint_eq(p[i], 0xab);
	/* one more page; then past the end: only whole pages of the data */
	ck_assert_uint_eq(hupmon__mem_release(&mm, p, size, lo + 11 * ps), ps);
	ck_assert_uint_eq(mm.release_pages_max, 10);
	got = hupmon__mem_release(&mm, p, size, SIZE_MAX);
	ck_assert_uint_eq(got + 11 * ps, whole_pages_below(p, size));
	ck_assert_uint_eq(mm.bytes, full - whole_pages_below(p, size));
	/* the free: the header's page and the last one */
	hupmon__mem_realloc(&mm, p, size, 0);
	ck_assert_uint_eq(mm.bytes, 0);
	ck_assert_uint_eq(mm.free_pages_max, 2);
	/* retired blocks: a page each until freed; a heap one just freed */
	{
		void *chain = NULL;

		p = hupmon__mem_zalloc(&mm, size);
		q = hupmon__mem_zalloc(&mm, 1000);
		ck_assert_ptr_nonnull(p);
		ck_assert_ptr_nonnull(q);
		memset(p, 1, size);
		hupmon__mem_release(&mm, p, size, size / 2);
		hupmon__mem_retire(&mm, p, size, &chain);
		hupmon__mem_retire(&mm, q, 1000, &chain);
		ck_assert_ptr_nonnull(chain);
		ck_assert_uint_eq(mm.bytes, ps);
		ck_assert_uint_eq(hupmon__mem_retired_bytes(chain), ps);
		ck_assert_uint_eq(resident(p + lo, 30 * ps), 0);
		hupmon__mem_free_retired(&mm, &chain);
		ck_assert_ptr_null(chain);
		ck_assert_uint_eq(mm.bytes, 0);
	}
	/* a heap block: nothing, and nothing counted */
	q = hupmon__mem_zalloc(&mm, 1000);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(hupmon__mem_release(&mm, q, 1000, 1000), 0);
	ck_assert_uint_eq(hupmon__mem_held(q, 1000), 1000);
	ck_assert_uint_eq(mm.bytes, 1000);
	hupmon__mem_realloc(&mm, q, 1000, 0);
	ck_assert_uint_eq(mm.bytes, 0);
	ck_assert_uint_eq(mm.free_pages_max, 2);
}
END_TEST

/* While the old cookie table empties into the new one, its pages go back
 * one at a time, and nothing reads them again: every live entry is still
 * found by cookie (in either table), every removed one missed, removals
 * of entries still in the old table work, memory_bytes stays exactly
 * what the tables hold, a failed allocation changes nothing. Inserts up to
 * the growth that makes the 2^17-bucket table (512 KiB) the old one, then
 * removes every third entry and inserts new ones until it is gone. */
START_TEST(test_lookups_while_the_old_table_goes)
{
	enum { MAX = 160000 };
	static uint8_t live[MAX];
	const size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	uint32_t n = 0, checks = 0, ocap;
	bool mincore_seen = false;

	while (!(reg.old && reg.ocap == 1u << 17)) {
		ck_assert_uint_lt(n, MAX);
		add((int)n, 0x100000000ull + n);
		live[n++] = 1;
	}
	ocap = reg.ocap;
	/* ck_assert costs a write to Check's pipe even when it holds: the
	 * checks run per operation fail with ck_abort_msg instead */
	for (uint32_t k = 0; reg.old; k++) {
		uint64_t released = mem.released;
		size_t gone;
		bool check_all = k % 997 == 0;

		if (n == MAX)
			ck_abort_msg("the old table never emptied");
		if (k % 3 == 0) {
			uint32_t j = (uint32_t)(((uint64_t)k * 7919) % n);

			if (live[j]) {
				hupmon__registry_remove(
					&reg,
					hupmon__registry_find_fd(&reg, (int)j));
				live[j] = 0;
			}
		} else {
			add((int)n, 0x100000000ull + n);
			live[n++] = 1;
		}
		/* at most a page per operation, counted exactly */
		if (mem.released - released > 1)
			ck_abort_msg(
				"op %u gave back %llu pages", k,
				(unsigned long long)(mem.released - released));
		if (mem.bytes != hupmon__registry_bytes(&reg))
			ck_abort_msg("op %u: memory_bytes %zu, held %zu", k,
				     mem.bytes, hupmon__registry_bytes(&reg));
		if (!reg.old)
			break;
		gone = hupmon__mem_size((size_t)ocap * 4) -
		       hupmon__mem_held(reg.old, (size_t)ocap * 4);
		if (gone != whole_pages_below(reg.old, (size_t)reg.mig * 4))
			ck_abort_msg("op %u: %zu bytes given back, cursor at "
				     "%u",
				     k, gone, reg.mig);
		/* half way: the pages passed have left memory */
		if (!mincore_seen && reg.mig >= ocap / 2) {
			const char *first =
				(const char *)(((uintptr_t)reg.old / ps + 1) *
					       ps);
			size_t len = gone < 200 * ps ? gone : 200 * ps;

			ck_assert_uint_gt(gone, 0);
			ck_assert_uint_eq(resident(first, len), 0);
			mincore_seen = check_all = true;
			/* a failed allocation (the fd map) changes nothing */
			mem.fail_after = 1;
			ck_assert_int_eq(
				hupmon__registry_reserve(&reg, 10 * MAX),
				-ENOMEM);
			mem.fail_after = 0;
			ck_assert_uint_eq(mem.bytes,
					  hupmon__registry_bytes(&reg));
		}
		if (!check_all)
			continue;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t idx = hupmon__registry_find_cookie(
				&reg, 0x100000000ull + i);

			if (live[i] ? idx == HUPMON__NO_SLOT ||
					      reg.slots[idx].fd != (int)i
				    : idx != HUPMON__NO_SLOT)
				ck_abort_msg("op %u, cursor %u: cookie of %u "
					     "(%s) gave slot %u",
					     k, reg.mig, i,
					     live[i] ? "live" : "removed", idx);
		}
		checks++;
	}
	ck_assert(mincore_seen);
	ck_assert_uint_gt(checks, 10);
	for (uint32_t i = 0; i < n; i++)
		if (hupmon__registry_find_cookie(&reg, 0x100000000ull + i) !=
		    (live[i] ? hupmon__registry_find_fd(&reg, (int)i)
			     : HUPMON__NO_SLOT))
			ck_abort_msg("cookie of %u, after the move", i);
	/* the pages went one at a time, the last when the table was retired
	 * (its header's page kept until fini): nothing unmapped */
	ck_assert_uint_ge(mem.released, (size_t)ocap * 4 / ps - 1);
	ck_assert_uint_le(mem.release_pages_max, 1);
	ck_assert_uint_eq(mem.free_pages_max, 0);
	ck_assert_ptr_nonnull(reg.husks);
	ck_assert_uint_eq(mem.bytes, hupmon__registry_bytes(&reg));
}
END_TEST

/* The million with a monitor: the registry and the sweep's bookkeeping
 * (reserve, both maps, the sweep's FIFO queue, a lap of it), paths both,
 * compare off, stall tracking off, synthetic fds and cookies, never
 * probed. O(1) per watch by counting: no growth copies more than a small
 * heap block (mapped arrays grow in place: nothing moved), no operation
 * moves more than MIGRATE_STEP cookie-table entries or sets up more than
 * one sweep node, and memory per entry is within 64 bytes at 19 900 and
 * at a million (not at every size: right after the cookie table doubles,
 * while the old one empties, it is a few bytes more). */
static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static uint32_t watch_synthetic(struct hupmon *m, int fd, uint64_t cookie)
{
	uint32_t ready = m->sweep.ready, idx;

	ck_assert_int_eq(hupmon__registry_reserve(&m->reg, fd), 0);
	ck_assert_int_eq(hupmon__sweep_reserve(m, m->reg.cap), 0);
	ck_assert_int_eq(hupmon__compare_reserve(m), 0);
	ck_assert_uint_le(m->sweep.ready - ready, 1);
	idx = hupmon__registry_insert(&m->reg, fd, cookie, NULL);
	hupmon__compare_watch(m, idx);
	hupmon__sweep_add(m, idx);
	return idx;
}

START_TEST(test_a_million_watches_with_the_sweep)
{
	const uint32_t n = (uint32_t)fx_scaled(1000000);
	struct hupmon_config cfg = {.paths = HUPMON_PATHS_BOTH,
				    .sweep_period_ms = 1000,
				    .sweep_tick_ms = 10};
	struct hupmon *m;
	uint8_t *probed = calloc(n, 1);
	uint32_t q = 0, laps, lapn;
	double per;

	ck_assert_ptr_nonnull(probed);
	fake_now = 1000000000ull;
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	m->clock_hook = fake_clock;
	for (uint32_t i = 0; i < n; i++) {
		watch_synthetic(m, (int)i, 0x100000000ull + i);
		/* the goal's sizes: 19 900 (the scale bench's, under a
		 * 20 000 fd limit) and a million */
		per = (double)m->mem.bytes / (i + 1);
		if (i + 1 == 19900 || i + 1 == 1000000)
			ck_assert_msg(per <= 64.0, "%.1f bytes per entry at %u",
				      per, i + 1);
	}
	per = (double)m->mem.bytes / n;
	printf("monitor at %u entries (paths both): %.1f bytes per entry; "
	       "%llu arrays grown in place, %llu moved; most bytes copied "
	       "by one growth %zu\n",
	       n, per, (unsigned long long)m->mem.opened,
	       (unsigned long long)m->mem.moves, m->mem.copied_max);
	ck_assert_uint_lt(m->mem.copied_max, HUPMON__MEM_MAP);
	ck_assert_uint_eq(m->mem.moves, 0);
	ck_assert_uint_le(m->reg.work.moved_max, 8);
	ck_assert_uint_eq(m->sweep.n, n);
	/* unwatch every other, watch new sockets on those fd numbers: the
	 * freed slots are reused, nothing grows */
	for (uint32_t i = 0; i < n; i += 2) {
		uint32_t idx = hupmon__registry_find_fd(&m->reg, (int)i);

		hupmon__sweep_remove(m, idx);
		hupmon__registry_remove(&m->reg, idx);
	}
	{
		size_t bytes = m->mem.bytes;
		uint32_t used = m->reg.used;

		for (uint32_t i = 0; i < n; i += 2)
			watch_synthetic(m, (int)i, 0x900000000ull + i);
		ck_assert_uint_eq(m->reg.used, used);
		ck_assert_uint_eq(m->mem.bytes, bytes);
	}
	ck_assert_uint_eq(m->sweep.n, n);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t c = (i % 2 ? 0x100000000ull : 0x900000000ull) + i;

		ck_assert_uint_eq(hupmon__registry_find_cookie(&m->reg, c),
				  hupmon__registry_find_fd(&m->reg, (int)i));
	}
	/* the queue holds every live slot once */
	for (uint32_t i = m->sweep.head; i != HUPMON__NO_SLOT;
	     i = m->sweep.node[i].next, q++)
		ck_assert_uint_le(q, n);
	ck_assert_uint_eq(q, n);
	/* a lap, tick by tick: every socket probed exactly once */
	laps = (uint32_t)hupmon__sweep_laps(m);
	lapn = 0;
	for (uint32_t t = 0; t < 200 && hupmon__sweep_laps(m) == laps; t++) {
		uint32_t idx;
		bool done = false;

		fake_now += 10000000ull;
		hupmon__sweep_slice_begin(m, fake_now);
		while ((idx = hupmon__sweep_next(m, &done)) !=
		       HUPMON__NO_SLOT) {
			ck_assert_uint_eq(probed[m->reg.slots[idx].fd]++, 0);
			lapn++;
			if (done)
				hupmon__sweep_lap_done(m);
			if (hupmon__sweep_laps(m) != laps)
				break;
		}
		hupmon__sweep_slice_spent(m, 0, 0, true);
	}
	ck_assert_uint_eq(hupmon__sweep_laps(m), laps + 1);
	ck_assert_uint_eq(lapn, n);
	/* no watch or unwatch freed more than a few pages at once */
	ck_assert_uint_gt(m->mem.released, 0);
	ck_assert_uint_le(m->mem.release_pages_max, 1);
	ck_assert_uint_eq(m->mem.free_pages_max, 0);
	free(probed);
	hupmon_free(m);
}
END_TEST

/* A watch of an fd already mapped to a slot inserts a second slot, which
 * takes the fd over; if that watch then fails, the first gets it back. */
START_TEST(test_fd_map_restored)
{
	hupmon_id a = add(7, 100), b = add(7, 200);

	ck_assert_uint_eq(hupmon__registry_find_fd(&reg, 7), (uint32_t)b);
	hupmon__registry_remove(&reg, (uint32_t)b);
	ck_assert_uint_eq(hupmon__registry_find_fd(&reg, 7), HUPMON__NO_SLOT);
	hupmon__registry_map_fd(&reg, 7, (uint32_t)a);
	ck_assert_uint_eq(hupmon__registry_find_fd(&reg, 7), (uint32_t)a);
	ck_assert_ptr_nonnull(hupmon__registry_get(&reg, a));
	ck_assert_uint_eq(hupmon__registry_find_cookie(&reg, 100), (uint32_t)a);
}
END_TEST

static Suite *registry_suite(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("ids");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ids_never_zero_and_lookup);
	tcase_add_test(tc, test_stale_after_remove_and_reuse);
	tcase_add_test(tc, test_generation_wraps_past_zero);
	tcase_add_test(tc, test_fd_map_restored);
	suite_add_tcase(s, tc);
	tc = tcase_create("growth");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_growth_and_churn);
	tcase_add_test(tc, test_reserve_fails_cleanly);
	tcase_add_test(tc, test_mem_grow_into_a_mapping);
	tcase_add_test(tc, test_mem_release_pages);
	tcase_add_test(tc, test_lookups_while_the_old_table_goes);
	suite_add_tcase(s, tc);
	tc = tcase_create("million");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_a_million_entries);
	tcase_add_test(tc, test_a_million_watches_with_the_sweep);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run_suite(registry_suite());
}
