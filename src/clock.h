/* SPDX-License-Identifier: MIT */
/*
 * clock: the monitor's time, in nanoseconds of CLOCK_MONOTONIC (it never
 * jumps when the wall clock is set, and clock_gettime reads it in the vDSO,
 * without a syscall), or a test's clock where one is set.
 */
#ifndef HUPMON_CLOCK_H
#define HUPMON_CLOCK_H

#include <stdint.h>

struct hupmon;

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t hupmon__now_ns(void);
/* The monitor's clock: hupmon__now_ns() unless a test set clock_hook. */
uint64_t hupmon__clock(const struct hupmon *m);
/* The calling thread's CPU time in nanoseconds (CLOCK_THREAD_CPUTIME_ID, a
 * system call), or a test's clock where one is set. */
uint64_t hupmon__cpu_clock(const struct hupmon *m);

#endif
