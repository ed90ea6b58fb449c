/* SPDX-License-Identifier: MIT */
/*
 * clock: the monitor's time (CLOCK_MONOTONIC, or a test's clock).
 */
#include "clock.h"

#include <time.h>

#include "state.h"

uint64_t hupmon__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t hupmon__clock(const struct hupmon *m)
{
	return m->clock_hook ? m->clock_hook(m->clock_hook_arg)
			     : hupmon__now_ns();
}

uint64_t hupmon__cpu_clock(const struct hupmon *m)
{
	struct timespec ts;

	if (m->cpu_hook)
		return m->cpu_hook(m->cpu_hook_arg);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
