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

	ck_assert_int_eq(hupmon__registry_reserve(&reg, fd), 0);
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
	ck_assert_uint_le(reg.work.moved_max, 4);
	ck_assert_uint_gt(reg.work.moved, 0); /* the table did grow */
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
	suite_add_tcase(s, tc);
	tc = tcase_create("million");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_a_million_entries);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run_suite(registry_suite());
}
