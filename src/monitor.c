/* SPDX-License-Identifier: MIT */
/*
 * monitor: a monitor's life: its configuration (defaults filled in, every
 * value checked), hupmon_new / hupmon_free, and the fds it owns. The rest
 * of struct hupmon belongs to the modules named in state.h.
 *
 * Kernel facts relied on:
 *   - An epoll fd is itself pollable: it reads as ready while its ready
 *     list is not empty, so hupmon_fd() can sit in the application's own
 *     poll or epoll loop.
 *   - The sweep's timerfd (CLOCK_MONOTONIC) and the eventfd that
 *     hupmon_stop() writes sit in the same epoll set, so one epoll_wait
 *     serves sockets, ticks and stop requests.
 */
#include "monitor.h"
#include "state.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "compare.h"
#include "watch.h"
#include "path.h"
#include "sized.h"

#define MAX_PERIOD_MS	  3600000u
#define DEFAULT_PERIOD_MS 1000u
#define DEFAULT_TICK_MS	  10u

/* The sizes of a caller's struct hupmon_config (sized.h): 0.1.0, the first
 * release, is today's struct; no field appended since. */
static const struct hupmon__sized config_sized = {
	.size = sizeof(struct hupmon_config),
	.first = sizeof(struct hupmon_config),
};

const char *hupmon_version(void)
{
	return HUPMON_VERSION_STRING;
}

/* paths 0: the epoll path alone, which costs nothing per idle socket,
 * unless a field only the sweep uses is set (non-zero): then both paths,
 * so no sweep a config asks for is dropped, and a config written for 0.1.0
 * (whose paths 0 meant both) that set one keeps its sweep. The table is in
 * hupmon.h at struct hupmon_config.paths. */
static unsigned default_paths(const struct hupmon_config *c)
{
	bool sweep = c->sweep_method || c->sweep_period_ms ||
		     c->sweep_tick_ms || c->sweep_cpu_budget != 0 ||
		     c->stall_ms || c->on_stall || c->compare ||
		     c->compare_deadline_ms || c->on_compare;

	return sweep ? HUPMON_PATHS_BOTH : HUPMON_PATH_EPOLL;
}

static int normalize_config(struct hupmon_config *c)
{
	if (hupmon__watch_check_liveness(&c->liveness))
		return -EINVAL;
	if (!c->paths)
		c->paths = default_paths(c);
	if (c->paths & ~(unsigned)HUPMON_PATHS_BOTH)
		return -EINVAL;
	if (c->sweep_method == HUPMON_SWEEP_DEFAULT)
		c->sweep_method = HUPMON_SWEEP_TCP_INFO;
	if (c->sweep_method != HUPMON_SWEEP_TCP_INFO &&
	    c->sweep_method != HUPMON_SWEEP_PEEK)
		return -EINVAL;
	if (!c->sweep_period_ms)
		c->sweep_period_ms = DEFAULT_PERIOD_MS;
	if (c->sweep_period_ms > MAX_PERIOD_MS)
		return -EINVAL;
	if (!c->sweep_tick_ms)
		c->sweep_tick_ms = c->sweep_period_ms < DEFAULT_TICK_MS
					   ? c->sweep_period_ms
					   : DEFAULT_TICK_MS;
	if (c->sweep_tick_ms > c->sweep_period_ms)
		return -EINVAL;
	if (c->compare && c->paths != HUPMON_PATHS_BOTH)
		return -EINVAL;
	/* A recv clears the pending error: PEEK cannot keep the promise of
	 * no_touch. Refused whatever the paths, as every sweep setting is
	 * checked on an epoll-only monitor too: a contradiction shows at the
	 * first hupmon_new, not when the sweep is turned on later. */
	if (c->no_touch && c->sweep_method == HUPMON_SWEEP_PEEK)
		return -EINVAL;
	/* A share of one core; false for NaN too. */
	if (!(c->sweep_cpu_budget >= 0 && c->sweep_cpu_budget <= 1))
		return -EINVAL;
	return hupmon__watch_check_stall(c);
}

static int add_own_fd(int epfd, int fd, hupmon_id id)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = id};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void close_fds(struct hupmon *m)
{
	if (m->tfd >= 0)
		close(m->tfd);
	if (m->efd >= 0)
		close(m->efd);
	if (m->epfd >= 0)
		close(m->epfd);
}

static int open_fds(struct hupmon *m)
{
	int err;

	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0)
		return -errno;
	m->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->efd < 0)
		return -errno;
	if (hupmon__has_path(m->paths, HUPMON_PATH_SWEEP)) {
		m->tfd = timerfd_create(CLOCK_MONOTONIC,
					TFD_CLOEXEC | TFD_NONBLOCK);
		if (m->tfd < 0)
			return -errno;
		err = add_own_fd(m->epfd, m->tfd, HUPMON__ID_TIMER);
		if (err)
			return err;
	}
	return add_own_fd(m->epfd, m->efd, HUPMON__ID_WAKE);
}

/* The monitor's lock. Watches from several threads and the dispatcher take
 * it for a microsecond or two each: glibc's adaptive mutex spins briefly
 * before it sleeps, which halved the cost of a watch with two threads
 * watching while the loop dispatches (hupmon-bench --scenarios churn); a
 * sleeping handoff costs more than the critical section. */
static int lock_init(pthread_mutex_t *lock)
{
#ifdef __GLIBC__
	pthread_mutexattr_t a;
	int err = pthread_mutexattr_init(&a);

	if (err)
		return -err;
	err = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
	if (!err)
		err = pthread_mutex_init(lock, &a);
	pthread_mutexattr_destroy(&a);
	return -err;
#else
	return -pthread_mutex_init(lock, NULL);
#endif
}

/* Gives m back through the accountant that allocated it (its own copy of
 * the accountant lives in m). */
static void release(struct hupmon *m)
{
	struct hupmon__mem mem = m->mem;

	hupmon__mem_realloc(&mem, m, sizeof(*m), 0);
	assert(mem.bytes == 0); /* every block went back through it */
}

int hupmon__new(const struct hupmon_config *ucfg, size_t cfg_size,
		uint64_t fail_after, hupmon **out)
{
	struct hupmon_config cfg;
	struct hupmon__mem mem = {.fail_after = fail_after};
	struct hupmon *m;
	int err;

	if (!out)
		return -EINVAL;
	*out = NULL;
	memset(&cfg, 0, sizeof(cfg));
	err = ucfg ? hupmon__sized_copy_in(&config_sized, &cfg, ucfg, cfg_size)
		   : 0;
	if (!err)
		err = normalize_config(&cfg);
	if (err)
		return err;

	m = hupmon__mem_realloc(&mem, NULL, 0, sizeof(*m));
	if (!m)
		return -ENOMEM;
	memset(m, 0, sizeof(*m));
	m->mem = mem;
	m->cfg = cfg;
	m->paths = cfg.paths;
	m->epfd = m->tfd = m->efd = -1;
	hupmon__registry_init(&m->reg, &m->mem);
	hupmon__sweep_init(m);
	hupmon__compare_init(m);
	atomic_init(&m->stop, 0);
	atomic_init(&m->tcp_info_len, 0);

	err = open_fds(m);
	if (err)
		goto out_close;
	err = lock_init(&m->lock);
	if (err)
		goto out_close;
	err = -pthread_cond_init(&m->cb_done, NULL);
	if (err)
		goto out_mutex;
	*out = m;
	return 0;

out_mutex:
	pthread_mutex_destroy(&m->lock);
out_close:
	close_fds(m);
	release(m);
	return err;
}

int hupmon_new_sized(const struct hupmon_config *cfg, size_t cfg_size,
		     hupmon **out)
{
	return hupmon__new(cfg, cfg_size, 0, out);
}

void hupmon__destroy(hupmon *m)
{
	close_fds(m);
	hupmon__sweep_fini(m);
	hupmon__compare_fini(m);
	hupmon__registry_fini(&m->reg);
	pthread_cond_destroy(&m->cb_done);
	pthread_mutex_destroy(&m->lock);
	release(m);
}

/* From a callback the dispatch call that runs it is still using m: mark it,
 * and that call frees m on its way out (it runs no further callback). */
void hupmon_free(hupmon *m)
{
	bool in_callback;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	in_callback = m->inflight &&
		      pthread_equal(m->inflight_thread, pthread_self());
	if (in_callback)
		m->free_pending = true;
	pthread_mutex_unlock(&m->lock);
	if (!in_callback)
		hupmon__destroy(m);
}

int hupmon_fd(const hupmon *m)
{
	return m ? m->epfd : -EINVAL;
}
