/* SPDX-License-Identifier: MIT */
/*
 * clock: nanosecond clocks, shared by hupmon-bench and hupmon-serve (and the
 * test suites that link hupmon-serve's library), in library hupmon-lab.
 */
#ifndef HUPMON_BENCH_CLOCK_H
#define HUPMON_BENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds in the units the clocks' readers speak. */
#define NS_PER_US 1000ull
#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull

uint64_t clock_ns(clockid_t id);
/* CLOCK_MONOTONIC */
uint64_t now_ns(void);
/* The calling thread's CPU clock */
uint64_t thread_cpu_ns(void);

#endif
