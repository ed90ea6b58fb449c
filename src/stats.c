/* SPDX-License-Identifier: MIT */
/*
 * stats: the counters of struct hupmon_stats. Their histograms' fixed log2
 * buckets (hupmon__hist_add and the public bounds, one rule in one place),
 * hupmon_stats(), the snapshot copied under the monitor's lock, and the
 * sizes a caller's struct hupmon_stats may have (sized.h). The counters
 * themselves are kept in struct hupmon by the module each belongs
 * to; format*.c renders a snapshot.
 */
#include "stats.h"

#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "sized.h"
#include "state.h"
#include "sweep.h"

/* The sizes of a caller's struct hupmon_stats (sized.h): 0.1.0's, the
 * first release, ends where watched_tcp starts; 0.2.0 appended it and
 * watched_unix. */
static const size_t stats_ends[] = {
	HUPMON__SIZED_END(struct hupmon_stats, watched_tcp),
	HUPMON__SIZED_END(struct hupmon_stats, watched_unix),
};
static const struct hupmon__sized stats_sized = {
	.size = sizeof(struct hupmon_stats),
	.first = offsetof(struct hupmon_stats, watched_tcp),
	.ends = stats_ends,
	.n_ends = sizeof(stats_ends) / sizeof(stats_ends[0]),
};

int hupmon__stats_copy_in(struct hupmon_stats *dst,
			  const struct hupmon_stats *s, size_t size)
{
	return hupmon__sized_copy_in(&stats_sized, dst, s, size);
}

/* Bucket i holds (1024 << (i - 1), 1024 << i]: i = bits of (ns-1)/1024. */
static unsigned bucket_of(uint64_t ns)
{
	unsigned i = 0;
	uint64_t v = ns > 1024 ? (ns - 1) >> 10 : 0;

	while (v && i < HUPMON_HIST_BUCKETS - 1) {
		v >>= 1;
		i++;
	}
	return i;
}

void hupmon__hist_add(struct hupmon_hist *h, uint64_t ns)
{
	h->bucket[bucket_of(ns)]++;
	h->count++;
	h->sum_ns = h->sum_ns + ns < h->sum_ns ? UINT64_MAX : h->sum_ns + ns;
}

void hupmon__hist_remove(struct hupmon_hist *h, uint64_t ns)
{
	h->bucket[bucket_of(ns)]--;
	h->count--;
	if (h->sum_ns != UINT64_MAX) /* saturated sums stay saturated */
		h->sum_ns -= ns;
}

uint64_t hupmon_hist_bound_ns(unsigned i)
{
	/* Out-of-range indexes get the last bucket's bound: "everything". */
	if (i >= HUPMON_HIST_BUCKETS - 1)
		return UINT64_MAX;
	return UINT64_C(1024) << i;
}

void hupmon_stats_sized(const hupmon *m, struct hupmon_stats *out,
			size_t out_size)
{
	struct hupmon_stats snap;

	if (!out)
		return;
	/* A size the rule refuses gets no snapshot: zeros, as for no monitor,
	 * over what a struct of that size and ours have in common. The tail
	 * of a larger struct is ours to write: its contents do not matter. */
	if (hupmon__sized_check(&stats_sized, NULL, out_size)) {
		memset(out, 0,
		       out_size < sizeof(snap) ? out_size : sizeof(snap));
		return;
	}
	if (!m) {
		memset(out, 0, out_size);
		return;
	}
	pthread_mutex_lock(hupmon__lock_of(m));
	snap = m->st;
	snap.watched = m->reg.live;
	/* watch.c counts the Unix ones; the others are TCP */
	snap.watched_tcp = m->reg.live - m->st.watched_unix;
	snap.memory_bytes = m->mem.bytes;
	hupmon__sweep_snapshot(m, &snap);
	pthread_mutex_unlock(hupmon__lock_of(m));
	if (out_size > sizeof(snap)) {
		memset((char *)out + sizeof(snap), 0, out_size - sizeof(snap));
		out_size = sizeof(snap);
	}
	memcpy(out, &snap, out_size);
}
