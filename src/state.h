/* SPDX-License-Identifier: MIT */
/*
 * state: struct hupmon, the state of one monitor, and the ids of its own
 * fds. Every field is tagged with who may touch it. The state of
 * registry.c, sweep.c, compare.c and mem.c sits in a struct of its own
 * that only that module changes; a slot's per-socket fields (cause
 * reported, kept error, flags) are shared by the modules that detect, as
 * registry.h says. The counters in st are kept by the module they count.
 * The monitor's life (new, free) is monitor.h's.
 */
#ifndef HUPMON_STATE_H
#define HUPMON_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct epoll_event;

#include "compare.h"
#include "hupmon.h"
#include "mem.h"
#include "registry.h"
#include "sweep.h"

/* epoll_data ids of the monitor's own fds: generation 0 is never a socket. */
#define HUPMON__ID_TIMER ((hupmon_id)1)
#define HUPMON__ID_WAKE	 ((hupmon_id)2)

struct hupmon__del;

struct hupmon {
	pthread_mutex_t lock;
	/* broadcast to the waiters when a callback ends, when an unwatch's
	 * unlocked EPOLL_CTL_DEL ends, and when a watch or unwatch leaves
	 * while a free is pending (the waits W1-W4 in watch.c) */
	pthread_cond_t cb_done;

	/* read-only after new */
	struct hupmon_config cfg; /* defaults filled in */
	unsigned paths;
	int epfd;
	int tfd; /* timerfd, -1 without the sweep path */
	int efd; /* eventfd for hupmon_stop */

	/* under lock */
	struct hupmon__mem mem;	     /* mem.c */
	struct hupmon__registry reg; /* registry.c */
	struct hupmon__sweep sweep;  /* sweep.c */
	struct hupmon__compare cmp;  /* compare.c */
	struct hupmon_stats st;	     /* stats.c copies it */
	hupmon_id inflight;	     /* deliver.c: id whose callback
					runs now, 0: none */
	pthread_t inflight_thread;   /* valid while inflight != 0 */
	unsigned waiters;	     /* threads in hupmon__wait() on
					cb_done (watch.c lists the waits) */
	struct hupmon__del *dels;    /* watch.c: unwatches whose
					EPOLL_CTL_DEL runs now, unlocked */
	unsigned callers;	     /* watch.c: threads inside a watch or
					an unwatch, which may wait; a
					deferred free waits for them */
	bool dispatching;	     /* loop.c */
	bool free_pending;	     /* hupmon_free called from a callback:
					the dispatch call frees on its way
					out (loop.c) */

	/* Test hook, called under the lock for every probe, 0: none. */
	void (*probe_hook)(struct hupmon *m, uint32_t idx, void *arg);
	void *probe_hook_arg;
	/* Test hook: the clock of the sweep and of detection times, 0: the
	 * CLOCK_MONOTONIC. Set before the first watch. */
	uint64_t (*clock_hook)(void *arg);
	void *clock_hook_arg;
	/* Test hook: the dispatching thread's CPU clock that the sweep's
	 * budget measures, 0: CLOCK_THREAD_CPUTIME_ID. */
	uint64_t (*cpu_hook)(void *arg);
	void *cpu_hook_arg;
	/* Test hooks standing in for epoll_wait / epoll_ctl, 0: the real
	 * ones (failure injection). */
	int (*wait_hook)(struct hupmon *m, struct epoll_event *evs, int max,
			 int timeout_ms);
	int (*ctl_hook)(struct hupmon *m, int op, int fd,
			struct epoll_event *ev);
	/* Test hook: called after every TCP_INFO read of stall tracking
	 * (watch check and probes) with the length the kernel returned; may
	 * shorten it (a kernel older than 5.4). 0: none. A watch with
	 * opts.accepted reads TCP_INFO only while the monitor has not learnt
	 * the length (tcp_info_len): set the hook before the first watch. */
	void (*tcp_info_hook)(struct hupmon *m, int fd, unsigned *len);

	/* any thread, signal handlers */
	atomic_int stop;
	/* watch.c, any thread: the length of this kernel's TCP_INFO as stall
	 * tracking sees it (through tcp_info_hook); 0: not read yet. */
	atomic_uint tcp_info_len;
};

/*
 * The monitor's lock, for the readers of a const monitor (hupmon_stats,
 * hupmon_query). The lock is the one member such a reader changes, and C
 * has no "mutable": the cast is confined to it. It is defined behaviour,
 * since a monitor only ever comes from hupmon_new's allocation, never from
 * an object defined const. Removing it would mean dropping const from the
 * public prototypes (an API change for every caller holding a const hupmon
 * *), or a pointer to the lock kept in struct hupmon by hupmon_new: no
 * cast, but a field and an indirection whose only use is to hide the same
 * fact.
 */
static inline pthread_mutex_t *hupmon__lock_of(const struct hupmon *m)
{
	return (pthread_mutex_t *)&m->lock;
}

/* Waits once on m->cb_done, counted in m->waiters so that whoever changes
 * what a waiter waits for knows to broadcast. Under m->lock. */
static inline void hupmon__wait(struct hupmon *m)
{
	m->waiters++;
	pthread_cond_wait(&m->cb_done, &m->lock);
	m->waiters--;
}

#endif
