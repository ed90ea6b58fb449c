/* SPDX-License-Identifier: MIT */
/*
 * sized: the rule every *_sized entry point applies to the size of the
 * caller's struct (hupmon.h, "ABI"). A struct only ever grows at the end,
 * so a caller built against another header passes its own sizeof:
 *   - below the first release's size, or ending inside a field: -EINVAL
 *     (no header ever had that size: a hand-computed or corrupt size, and
 *     copying it could tear a pointer in half);
 *   - at a boundary up to ours: the fields it lacks read as zero (their
 *     default);
 *   - larger than ours: accepted only if every byte past ours is zero
 *     (a newer caller that set nothing we do not know), else -E2BIG, as
 *     openat2(2) and sched_setattr(2) answer; above HUPMON__SIZED_MAX
 *     -E2BIG whatever it holds, so that a garbage size is never scanned.
 *
 * Each struct's table sits in the file that copies it in. Appending a
 * field: it must start at or past the previous release's sizeof (fill the
 * old tail padding with a reserved field if its alignment would place it
 * earlier: an older caller's padding is not zero), the table's first
 * becomes offsetof that field if it was sizeof, and the field's end
 * (HUPMON__SIZED_END) joins ends[].
 */
#ifndef HUPMON_SIZED_H
#define HUPMON_SIZED_H

#include <stddef.h>

/* The largest size looked at, as the kernel's PAGE_SIZE cap: every struct
 * of hupmon.h stays below it. */
#define HUPMON__SIZED_MAX 4096u

/* Where field f of struct type t ends. */
#define HUPMON__SIZED_END(t, f) (offsetof(t, f) + sizeof(((t *)0)->f))

struct hupmon__sized {
	size_t size;	    /* sizeof the struct in this library */
	size_t first;	    /* the first release's sizeof */
	const size_t *ends; /* ends of the fields appended since, ascending */
	size_t n_ends;
};

/* 0 if a struct of size bytes at p (NULL: its contents are not looked at,
 * for a struct the library only writes) follows the rule above, else
 * -EINVAL or -E2BIG. */
int hupmon__sized_check(const struct hupmon__sized *l, const void *p,
			size_t size);

/* Checks a caller's struct at src of size bytes, and copies it into dst
 * (l->size bytes), its missing fields zeroed: 0, -EINVAL or -E2BIG (dst
 * then untouched). */
int hupmon__sized_copy_in(const struct hupmon__sized *l, void *dst,
			  const void *src, size_t size);

#endif
