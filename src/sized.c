/* SPDX-License-Identifier: MIT */
/*
 * sized: the size rule of the *_sized entry points (see sized.h).
 */
#include "sized.h"

#include <errno.h>
#include <string.h>

int hupmon__sized_check(const struct hupmon__sized *l, const void *p,
			size_t size)
{
	const unsigned char *tail = p;

	if (size > HUPMON__SIZED_MAX)
		return -E2BIG;
	if (size >= l->size) {
		for (size_t i = l->size; p && i < size; i++)
			if (tail[i])
				return -E2BIG;
		return 0;
	}
	if (size < l->first)
		return -EINVAL;
	if (size == l->first)
		return 0;
	for (size_t i = 0; i < l->n_ends; i++)
		if (size == l->ends[i])
			return 0;
	return -EINVAL;
}

int hupmon__sized_copy_in(const struct hupmon__sized *l, void *dst,
			  const void *src, size_t size)
{
	int err = hupmon__sized_check(l, src, size);

	if (err)
		return err;
	memset(dst, 0, l->size);
	memcpy(dst, src, size < l->size ? size : l->size);
	return 0;
}
