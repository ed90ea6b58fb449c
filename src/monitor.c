/*
 * monitor: hupmon_new/free, watch/unwatch, the reactor (epoll_wait and
 * dispatch), run/stop, and the shared per-socket state both paths update.
 *
 * Kernel facts relied on:
 *   - Edge-triggered EPOLLRDHUP|EPOLLHUP|EPOLLERR without EPOLLIN: one event
 *     per state change, no data consumed; a later RST after a FIN gives a
 *     second event. EPOLL_CTL_ADD of an already shut-down socket queues the
 *     event at once.
 *   - getsockopt(SO_ERROR) clears the pending error (sock_error()), so it is
 *     read at most once per socket and kept in the slot for both paths.
 *   - An epoll registration belongs to (file, fd): it survives in a dup and
 *     dies with the last close, and the fd number may then be reused by an
 *     unrelated socket. Generations in data.u64 drop the old file's events;
 *     SO_COOKIE tells whether an fd still holds the watched socket.
 */
#include "monitor.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "compare.h"
#include "deliver.h"
#include "detect.h"
#include "probe.h"
#include "sock.h"
#include "stats.h"

#define MAX_PERIOD_MS	  3600000u
#define DEFAULT_PERIOD_MS 1000u
#define DEFAULT_TICK_MS	  10u
#define EVENTS_PER_WAIT	  64
/* An edge-triggered outer loop needs the ready list drained: dispatch keeps
 * calling epoll_wait(0) while batches come back full, up to this many. */
#define MAX_BATCHES 16
/* Probes between two looks at epoll while a sweep slice is worked off:
 * about 50 us of TCP_INFO probes on the machine DESIGN.md measured. */
#define SWEEP_CHUNK 32

const char *hupmon_version(void)
{
	return HUPMON_VERSION_STRING;
}

/* ---- configuration ------------------------------------------------------ */

static int check_liveness(const struct hupmon_liveness *l)
{
	if (l->keepalive_idle_s > 32767 || l->keepalive_interval_s > 32767 ||
	    l->keepalive_count > 127 || l->user_timeout_ms > INT_MAX)
		return -EINVAL;
	/* Interval and count mean nothing without keepalive. */
	if (!l->keepalive_idle_s &&
	    (l->keepalive_interval_s || l->keepalive_count))
		return -EINVAL;
	return 0;
}

static int set_int(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v)) < 0 ? -errno : 0;
}

/* Writes the liveness options to the socket (values already checked). */
static int apply_liveness(int fd, const struct hupmon_liveness *l)
{
	int err = 0;

	if (l->keepalive_idle_s) {
		err = set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE,
			      (int)l->keepalive_idle_s);
		if (!err && l->keepalive_interval_s)
			err = set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL,
				      (int)l->keepalive_interval_s);
		if (!err && l->keepalive_count)
			err = set_int(fd, IPPROTO_TCP, TCP_KEEPCNT,
				      (int)l->keepalive_count);
		if (!err)
			err = set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
	}
	if (!err && l->user_timeout_ms)
		err = set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT,
			      (int)l->user_timeout_ms);
	return err;
}

static int normalize_config(struct hupmon_config *c)
{
	if (check_liveness(&c->liveness))
		return -EINVAL;
	if (!c->paths)
		c->paths = HUPMON_PATHS_BOTH;
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
	/* A recv clears the pending error: PEEK cannot keep its promise. */
	if (c->no_touch && c->sweep_method == HUPMON_SWEEP_PEEK &&
	    (c->paths & HUPMON_PATH_SWEEP))
		return -EINVAL;
	return 0;
}

/* ---- new / free --------------------------------------------------------- */

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
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0)
		return -errno;
	m->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->efd < 0)
		return -errno;
	if (m->paths & HUPMON_PATH_SWEEP) {
		m->tfd = timerfd_create(CLOCK_MONOTONIC,
					TFD_CLOEXEC | TFD_NONBLOCK);
		if (m->tfd < 0)
			return -errno;
		if (add_own_fd(m->epfd, m->tfd, HUPMON__ID_TIMER) < 0)
			return -errno;
	}
	return add_own_fd(m->epfd, m->efd, HUPMON__ID_WAKE);
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
	if (ucfg)
		memcpy(&cfg, ucfg,
		       cfg_size < sizeof(cfg) ? cfg_size : sizeof(cfg));
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

	err = open_fds(m);
	if (err)
		goto out_close;
	err = -pthread_mutex_init(&m->lock, NULL);
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
	free(m);
	return err;
}

int hupmon_new_sized(const struct hupmon_config *cfg, size_t cfg_size,
		     hupmon **out)
{
	return hupmon__new(cfg, cfg_size, 0, out);
}

void hupmon_free(hupmon *m)
{
	if (!m)
		return;
	close_fds(m);
	hupmon__sweep_fini(m);
	hupmon__compare_fini(m);
	hupmon__registry_fini(&m->reg);
	pthread_cond_destroy(&m->cb_done);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* ---- watch / unwatch ---------------------------------------------------- */

/* Checks that fd is a connected TCP socket and reads its identity. */
static int check_socket(int fd, uint64_t *cookie)
{
	struct {
		uint8_t state; /* first byte of struct tcp_info */
		uint8_t rest[7];
	} ti;
	int v;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0)
		return -errno; /* EBADF, ENOTSOCK */
	if (v != SOCK_STREAM)
		return -EINVAL;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0)
		return -errno;
	if (v != AF_INET && v != AF_INET6)
		return -EINVAL;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) < 0)
		return -errno;
	if (v != IPPROTO_TCP)
		return -EINVAL;
	len = sizeof(ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	if (hupmon__tcp_state_verdict(ti.state) == HUPMON__STATE_NOT_CONNECTED)
		return -EINVAL; /* listening, or connect still under way */
	len = sizeof(*cookie);
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) < 0)
		return -errno;
	return 0;
}

static void count_reject(struct hupmon *m, int err)
{
	unsigned r;

	switch (err) {
	case -EBADF:
		r = HUPMON_REJECT_EBADF;
		break;
	case -ENOTSOCK:
		r = HUPMON_REJECT_ENOTSOCK;
		break;
	case -EINVAL:
		r = HUPMON_REJECT_EINVAL;
		break;
	case -EEXIST:
		r = HUPMON_REJECT_EEXIST;
		break;
	case -ENOMEM:
		r = HUPMON_REJECT_ENOMEM;
		break;
	default:
		r = HUPMON_REJECT_OTHER;
		break;
	}
	m->st.watch_rejected[r]++;
}

/* The slot's fd number now holds another socket: drop the slot. Its epoll
 * registration belongs to the old file, so no EPOLL_CTL_DEL by fd number
 * here (that would remove the new socket's); events the old file may still
 * raise carry the old generation and are dropped. */
static void retire(struct hupmon *m, uint32_t idx)
{
	struct hupmon__slot *s = &m->reg.slots[idx];

	hupmon__sweep_remove(m, idx);
	hupmon__compare_cut_short(m, idx);
	if (!(s->flags & HUPMON__SLOT_ORPHAN))
		m->st.retired++;
	hupmon__registry_remove(&m->reg, idx);
}

static int watch_locked(struct hupmon *m, int fd, void *user, uint64_t cookie,
			const struct hupmon_liveness *live, hupmon_id *id)
{
	struct epoll_event ev = {
		.events = EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLET,
	};
	uint32_t idx, old;
	int err;

	if (hupmon__registry_find_cookie(&m->reg, cookie) != HUPMON__NO_SLOT)
		return -EEXIST;
	err = hupmon__registry_reserve(&m->reg, fd);
	if (!err)
		err = hupmon__sweep_reserve(m, m->reg.cap);
	if (!err)
		err = hupmon__compare_reserve(m);
	if (!err)
		err = apply_liveness(fd, live);
	if (err)
		return err;

	/* Everything that can fail comes before anything that changes the
	 * monitor: insert, register, and only then retire a slot whose fd
	 * number this socket now holds. */
	old = hupmon__registry_find_fd(&m->reg, fd);
	idx = hupmon__registry_insert(&m->reg, fd, cookie, user);
	if (m->paths & HUPMON_PATH_EPOLL) {
		ev.data.u64 = hupmon__slot_id(&m->reg, idx);
		err = epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno
								     : 0;
		/* EEXIST: this very (file, fd) is still registered from a
		 * retired watch (closed while a dup lived on, then put back
		 * on the same number). Take the registration over. */
		if (err == -EEXIST)
			err = epoll_ctl(m->epfd, EPOLL_CTL_MOD, fd, &ev) < 0
				      ? -errno
				      : 0;
		if (err) {
			hupmon__registry_remove(&m->reg, idx);
			if (old != HUPMON__NO_SLOT)
				m->reg.fdmap[fd] = old + 1;
			return err;
		}
	}
	if (old != HUPMON__NO_SLOT)
		retire(m, old);
	hupmon__compare_watch(m, idx);
	if (m->paths & HUPMON_PATH_SWEEP)
		hupmon__sweep_add(m, idx);
	if (id)
		*id = hupmon__slot_id(&m->reg, idx);
	return 0;
}

int hupmon_watch_ex_sized(hupmon *m, int fd,
			  const struct hupmon_watch_opts *uopts,
			  size_t opts_size, hupmon_id *id)
{
	struct hupmon_watch_opts opts;
	struct hupmon_liveness live;
	uint64_t cookie = 0;
	int err;

	if (!m)
		return -EINVAL;
	memset(&opts, 0, sizeof(opts));
	if (uopts)
		memcpy(&opts, uopts,
		       opts_size < sizeof(opts) ? opts_size : sizeof(opts));
	live = opts.liveness ? *opts.liveness : m->cfg.liveness;
	err = fd < 0 ? -EBADF : check_socket(fd, &cookie);
	if (!err)
		err = check_liveness(&live);
	pthread_mutex_lock(&m->lock);
	if (!err)
		err = watch_locked(m, fd, opts.user, cookie, &live, id);
	if (err)
		count_reject(m, err);
	else
		m->st.watches++;
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* The callback for this id may be running on the dispatching thread: wait
 * for it to end, unless we are that callback. Under m->lock. */
static void wait_callback(struct hupmon *m, hupmon_id id)
{
	while (id && m->inflight == id &&
	       !pthread_equal(m->inflight_thread, pthread_self())) {
		m->waiters++;
		pthread_cond_wait(&m->cb_done, &m->lock);
		m->waiters--;
	}
}

int hupmon_watch(hupmon *m, int fd, void *user, hupmon_id *id)
{
	struct hupmon_watch_opts opts = {.user = user};

	return hupmon_watch_ex_sized(m, fd, &opts, sizeof(opts), id);
}

int hupmon_unwatch(hupmon *m, hupmon_id id)
{
	struct hupmon__slot *s;
	uint32_t idx = (uint32_t)id;

	if (!m)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	s = hupmon__registry_get(&m->reg, id);
	if (!s) {
		/* Already unwatched (by its own callback, say, or retired by
		 * a watch), but a callback for it may still be running: the
		 * contract holds for this caller too. */
		m->st.unwatch_rejected++;
		wait_callback(m, id);
		pthread_mutex_unlock(&m->lock);
		return -ENOENT;
	}
	hupmon__sweep_remove(m, idx);
	hupmon__compare_cut_short(m, idx);
	/* Only delete the registration if the fd still holds our socket: if
	 * the user closed it first, the number may belong to another. */
	if ((m->paths & HUPMON_PATH_EPOLL) &&
	    !(s->flags & HUPMON__SLOT_ORPHAN) && hupmon__sock_same(s))
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	hupmon__registry_remove(&m->reg, idx);
	m->st.unwatches++;
	wait_callback(m, id);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/* ---- the reactor -------------------------------------------------------- */

int hupmon_fd(const hupmon *m)
{
	return m ? m->epfd : -EINVAL;
}

static int socket_event(struct hupmon *m, hupmon_id id, uint32_t events)
{
	struct hupmon__slot *s = hupmon__registry_get(&m->reg, id);
	uint32_t idx = (uint32_t)id;
	/* The event comes from the socket's own registration: identified. */
	struct hupmon__report r = {.kind = HUPMON__REPORT_HANGUP,
				   .path = HUPMON_PATH_EPOLL,
				   .identified = true};
	enum hupmon_cause cause;
	bool fin;

	if (!s || (s->flags & HUPMON__SLOT_ORPHAN)) {
		m->st.stale_events++;
		return 0;
	}
	m->st.epoll_events++;
	/* SO_ERROR only once the connection is over (EPOLLHUP): reading it
	 * on a bare EPOLLERR would steal a soft error from a live socket. */
	if ((events & EPOLLERR) && (events & EPOLLHUP) && !s->error &&
	    !m->cfg.no_touch) {
		/* SO_ERROR by fd number: make sure it is still our socket. */
		if (!hupmon__sock_same(s)) {
			hupmon__sock_orphan(m, idx);
			m->st.stale_events++;
			return 0;
		}
		hupmon__sock_keep_error(m, s);
	}
	fin = (s->flags & HUPMON__SLOT_FIN) != 0;
	cause = hupmon__classify_epoll(events, s->error, fin);
	if (!cause) {
		m->st.ignored_events++;
		return 0;
	}
	r.cause = cause;
	r.laps = hupmon__sweep_laps(m);
	return hupmon__deliver_report(m, idx, &r);
}

static void drain_wake(struct hupmon *m)
{
	uint64_t v;

	while (read(m->efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

/* Handles one epoll_wait batch. At most one timer expiration per dispatch
 * call is taken (ticked): a later one stays readable for the next call, so
 * an overloaded sweep cannot keep one call going forever. Under m->lock.
 * Returns the events handled. */
static int handle_batch(struct hupmon *m, const struct epoll_event *evs, int n,
			bool *ticked)
{
	int handled = 0;

	if (n > 0)
		m->st.epoll_wakeups++;
	for (int i = 0; i < n; i++) {
		hupmon_id id = evs[i].data.u64;

		if (id == HUPMON__ID_TIMER) {
			if (*ticked)
				continue;
			*ticked = true;
			hupmon__sweep_tick(m);
		} else if (id == HUPMON__ID_WAKE) {
			drain_wake(m);
		} else {
			socket_event(m, id, evs[i].events);
		}
		handled++;
	}
	return handled;
}

int hupmon_dispatch(hupmon *m, int timeout_ms)
{
	struct epoll_event evs[EVENTS_PER_WAIT];
	bool ticked = false;
	int handled = 0;

	if (!m)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	if (m->inflight && pthread_equal(m->inflight_thread, pthread_self())) {
		pthread_mutex_unlock(&m->lock);
		return -EDEADLK;
	}
	if (m->dispatching) {
		pthread_mutex_unlock(&m->lock);
		return -EBUSY;
	}
	m->dispatching = true;
	pthread_mutex_unlock(&m->lock);

	/* Drain the ready list (an edge-triggered outer loop needs it), and
	 * work off a sweep slice in chunks with epoll_wait(0) in between, so
	 * socket events wait for at most one chunk of probes. */
	for (int batch = 0;; batch++) {
		int n = epoll_wait(m->epfd, evs, EVENTS_PER_WAIT,
				   batch ? 0 : timeout_ms);
		int err = n < 0 ? errno : 0;
		bool owed;

		pthread_mutex_lock(&m->lock);
		if (n > 0)
			handled += handle_batch(m, evs, n, &ticked);
		if (hupmon__sweep_slice_open(m))
			hupmon__probe_work(m, SWEEP_CHUNK);
		hupmon__deliver_expired(m);
		owed = hupmon__sweep_slice_open(m);
		if (n < 0 && err != EINTR && !owed) {
			m->dispatching = false;
			pthread_mutex_unlock(&m->lock);
			return handled ? handled : -err;
		}
		pthread_mutex_unlock(&m->lock);
		if (owed)
			continue;
		if (n < EVENTS_PER_WAIT || batch >= MAX_BATCHES)
			break;
	}
	pthread_mutex_lock(&m->lock);
	m->dispatching = false;
	pthread_mutex_unlock(&m->lock);
	return handled;
}

int hupmon_run(hupmon *m)
{
	if (!m)
		return -EINVAL;
	for (;;) {
		int rc;

		if (atomic_exchange(&m->stop, 0))
			return 0;
		rc = hupmon_dispatch(m, -1);
		if (rc < 0)
			return rc;
	}
}

void hupmon_stop(hupmon *m)
{
	uint64_t one = 1;
	int saved = errno; /* async-signal-safe: leave errno as found */
	ssize_t rc;

	if (!m)
		return;
	atomic_store(&m->stop, 1);
	rc = write(m->efd, &one, sizeof(one));
	(void)rc; /* EAGAIN: the counter is already non-zero, fine */
	errno = saved;
}

/* ---- stats -------------------------------------------------------------- */

void hupmon_stats_sized(const hupmon *cm, struct hupmon_stats *out,
			size_t out_size)
{
	struct hupmon *m = (struct hupmon *)cm;
	struct hupmon_stats snap;

	if (!out)
		return;
	if (!m) {
		memset(out, 0, out_size);
		return;
	}
	pthread_mutex_lock(&m->lock);
	snap = m->st;
	snap.watched = m->reg.live;
	snap.memory_bytes = m->mem.bytes;
	hupmon__sweep_snapshot(m, &snap);
	pthread_mutex_unlock(&m->lock);
	if (out_size > sizeof(snap)) {
		memset((char *)out + sizeof(snap), 0, out_size - sizeof(snap));
		out_size = sizeof(snap);
	}
	memcpy(out, &snap, out_size);
}
