/* SPDX-License-Identifier: MIT */
/*
 * loop: the reactor. hupmon_dispatch waits on the monitor's epoll fd and
 * serves what it returns: socket events (the epoll path, classified and
 * handed to the delivery), the sweep's ticks (a slice worked off in chunks
 * between looks at epoll), and stop requests; hupmon_run and hupmon_stop.
 *
 * Kernel facts relied on:
 *   - Edge-triggered EPOLLRDHUP|EPOLLHUP|EPOLLERR without EPOLLIN: one event
 *     per state change, no data consumed; a later RST after a FIN gives a
 *     second event.
 *   - EPOLLERR also fires for a soft error on a live connection; every
 *     error that ends one comes with EPOLLHUP (tcp_done()). SO_ERROR, which
 *     reading clears, is read only then.
 *   - An event queued before an unwatch can still be returned after it:
 *     the generation in data.u64 tells a stale event from a live one.
 *   - An eventfd's counter stays readable until read: stop requests made
 *     while nobody waits are not lost.
 */
#include <errno.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "clock.h"
#include "deliver.h"
#include "detect.h"
#include "monitor.h"
#include "state.h"
#include "probe.h"
#include "sock.h"
#include "sweep.h"

#define EVENTS_PER_WAIT 64
/* An edge-triggered outer loop needs the ready list drained: dispatch keeps
 * calling epoll_wait(0) while batches come back full, up to this many. The
 * same bound holds between two chunks of a sweep slice: socket events come
 * first (a burst of hangups is delivered before the slice goes on), but
 * cannot hold the sweep up for longer than that. */
#define MAX_BATCHES 16
/* Probes between two looks at epoll while a sweep slice is worked off:
 * about 50 us of TCP_INFO probes at the 1.3-1.7 us each that the README's
 * Results measure. */
#define SWEEP_CHUNK 32

static int socket_event(struct hupmon *m, hupmon_id id, uint32_t events)
{
	struct hupmon__slot *s = hupmon__registry_get(&m->reg, id);
	uint32_t idx = (uint32_t)id;
	/* The event comes from the socket's own registration, but the fd
	 * number it was watched on may hold another socket by now (closed
	 * without unwatch, the socket alive in a dup): the delivery checks
	 * before the report goes out, and reports fd -1 if so. */
	struct hupmon__report r = {.path = HUPMON_PATH_EPOLL};
	enum hupmon_cause cause;
	bool fin;

	m->st.epoll_events++;
	if (!s) {
		m->st.stale_events++;
		return 0;
	}
	/* SO_ERROR only once the connection is over (EPOLLHUP): reading it
	 * on a bare EPOLLERR would steal a soft error from a live socket. It
	 * is read by fd number: only from the socket watched. */
	if ((events & EPOLLERR) && (events & EPOLLHUP) && !s->error &&
	    !m->cfg.no_touch && !(s->flags & HUPMON__SLOT_ORPHAN)) {
		if (hupmon__sock_confirm(m, s, HUPMON_PATH_EPOLL)) {
			hupmon__sock_keep_error(m, s, HUPMON_PATH_EPOLL);
			r.identified = true;
		} else {
			hupmon__sock_orphan(m, idx);
		}
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
 * Returns the socket events handled. */
static int handle_batch(struct hupmon *m, const struct epoll_event *evs, int n,
			bool *ticked)
{
	int handled = 0;

	if (n > 0)
		m->st.epoll_wakeups++;
	for (int i = 0; i < n && !m->free_pending; i++) {
		hupmon_id id = evs[i].data.u64;

		if (id == HUPMON__ID_TIMER) {
			if (!*ticked)
				hupmon__sweep_tick(m);
			*ticked = true;
		} else if (id == HUPMON__ID_WAKE) {
			drain_wake(m);
		} else {
			socket_event(m, id, evs[i].events);
			handled++;
		}
	}
	return handled;
}

/* Claims the dispatching role: 0, or -EDEADLK from a callback, -EBUSY
 * while another thread dispatches. Checked before anything is consumed
 * (a pending stop stays pending for the thread that runs). */
static int enter(struct hupmon *m)
{
	int err = 0;

	pthread_mutex_lock(&m->lock);
	if (m->inflight && pthread_equal(m->inflight_thread, pthread_self()))
		err = -EDEADLK;
	else if (m->dispatching)
		err = -EBUSY;
	else
		m->dispatching = true;
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* Gives the role back; frees m if a callback asked for it (then returns
 * true: m is gone), once no other thread is inside a watch or an unwatch:
 * one may have waited for the callback that asked (see watch.c). */
static bool leave(struct hupmon *m)
{
	bool gone;

	pthread_mutex_lock(&m->lock);
	m->dispatching = false;
	gone = m->free_pending;
	while (gone && m->callers)
		hupmon__wait(m);
	pthread_mutex_unlock(&m->lock);
	if (gone)
		hupmon__destroy(m);
	return gone;
}

static int wait_events(struct hupmon *m, struct epoll_event *evs, int max,
		       int timeout_ms)
{
	if (m->wait_hook)
		return m->wait_hook(m, evs, max, timeout_ms);
	return epoll_wait(m->epfd, evs, max, timeout_ms);
}

/* What a dispatch call carries from one epoll_wait batch to the next. */
struct pass {
	bool ticked;	/* took its one timer expiration */
	bool tick_woke; /* the tick alone woke its blocking wait */
	int full;	/* full batches in a row */
	struct hupmon__meter meter;
};

/* The thread's CPU clock for the budget's meter; not read without one. */
static uint64_t cpu(struct hupmon *m, const struct pass *p)
{
	return p->meter.on ? hupmon__cpu_clock(m) : 0;
}

/* Serves a batch: socket events to the delivery, a tick to the sweep.
 * Under m->lock. Returns the socket events handled. */
static int serve(struct hupmon *m, const struct epoll_event *evs, int n,
		 int batch, struct pass *p)
{
	bool unticked = !p->ticked;
	int events;

	p->full = n == EVENTS_PER_WAIT ? p->full + 1 : 0;
	hupmon__meter_waited(&p->meter, cpu(m, p));
	events = n > 0 ? handle_batch(m, evs, n, &p->ticked) : 0;
	if (events)
		hupmon__meter_served(&p->meter, cpu(m, p));
	p->tick_woke = unticked && p->ticked && !batch;
	return events;
}

/* Works a chunk of the open slice, unless full batches say more socket
 * events wait (then up to MAX_BATCHES of them go first), charges what it
 * took to the budget, and lets compare outcomes come due. Under m->lock.
 * Returns whether the slice goes on. */
static bool work(struct hupmon *m, struct pass *p)
{
	bool sliced = !m->free_pending && hupmon__sweep_slice_open(m);

	if (sliced && (!p->full || p->full >= MAX_BATCHES)) {
		hupmon__probe_work(m, SWEEP_CHUNK);
		p->full = 0;
	}
	if (p->meter.on) {
		uint64_t ns = hupmon__meter_slice(
			&p->meter, sliced, hupmon__sweep_slice_open(m),
			p->tick_woke, sliced ? cpu(m, p) : 0);

		if (sliced)
			hupmon__sweep_charge(m, ns);
	}
	if (!m->free_pending)
		hupmon__deliver_expired(m);
	return hupmon__sweep_slice_open(m) && !m->free_pending;
}

/* One dispatch, the role held: wait, serve the batch, work a chunk of the
 * sweep's slice, and again while the slice is owed or batches come back
 * full (an edge-triggered outer loop needs the ready list drained), so
 * socket events wait for at most one chunk of probes. Returns the socket
 * events handled, or -errno. */
static int dispatch(struct hupmon *m, int timeout_ms)
{
	struct epoll_event evs[EVENTS_PER_WAIT];
	struct pass p = {0};
	bool on = hupmon__sweep_budgeted(m); /* read-only after new */
	int handled = 0;

	hupmon__meter_begin(&p.meter, on, on ? hupmon__cpu_clock(m) : 0);
	for (int batch = 0;; batch++) {
		int n = wait_events(m, evs, EVENTS_PER_WAIT,
				    batch ? 0 : timeout_ms);
		bool owed, freed;

		/* EBADF, EFAULT, EINVAL: the epoll fd was closed or replaced
		 * under us. Report it, whatever was handled before. */
		if (n < 0 && errno != EINTR)
			return -errno;
		pthread_mutex_lock(&m->lock);
		handled += serve(m, evs, n, batch, &p);
		owed = work(m, &p);
		freed = m->free_pending;
		pthread_mutex_unlock(&m->lock);
		if (freed)
			break;
		if (owed)
			continue;
		if (n < EVENTS_PER_WAIT || batch >= MAX_BATCHES)
			break;
	}
	return handled;
}

int hupmon_dispatch(hupmon *m, int timeout_ms)
{
	int rc;

	if (!m)
		return -EINVAL;
	rc = enter(m);
	if (rc)
		return rc;
	rc = dispatch(m, timeout_ms);
	leave(m);
	return rc;
}

int hupmon_run(hupmon *m)
{
	int rc;

	if (!m)
		return -EINVAL;
	rc = enter(m);
	if (rc)
		return rc;
	while (!atomic_exchange(&m->stop, 0)) {
		rc = dispatch(m, -1);
		if (rc < 0 || m->free_pending)
			break;
		rc = 0;
	}
	leave(m);
	return rc < 0 ? rc : 0;
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
