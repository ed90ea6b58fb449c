/*
 * stats: histogram accounting for the counters in struct hupmon_stats. The
 * counters themselves live in struct hupmon under its lock; hupmon_stats()
 * copies them (monitor.c) and format.c renders them.
 */
#include "stats.h"

void hupmon__hist_add(struct hupmon_hist *h, uint64_t ns)
{
	unsigned i = 0;
	uint64_t v = ns > 1024 ? (ns - 1) >> 10 : 0;

	/* Bucket i holds (1024 << (i - 1), 1024 << i]: i = bits of (ns-1)/1024.
	 */
	while (v && i < HUPMON_HIST_BUCKETS - 1) {
		v >>= 1;
		i++;
	}
	h->bucket[i]++;
	h->count++;
	h->sum_ns = h->sum_ns + ns < h->sum_ns ? UINT64_MAX : h->sum_ns + ns;
}
