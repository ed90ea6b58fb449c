/* SPDX-License-Identifier: MIT */
/*
 * watch: what a watch and an unwatch do. The checks on the socket, the
 * liveness options written to it, and the watch itself (registry slot,
 * epoll registration, sweep, compare record), which reserves everything
 * that can fail before it changes anything; unwatch, and the retiring of
 * a watch whose fd number now holds another socket.
 *
 * What a watch costs in syscalls (each getsockopt about a third of an
 * EPOLL_CTL_ADD + DEL pair): TCP_INFO, SO_PROTOCOL and SO_COOKIE, then
 * EPOLL_CTL_ADD; a Unix socket TCP_INFO (which fails), getpeername,
 * SO_TYPE and SO_COOKIE; with opts.accepted only SO_COOKIE and
 * EPOLL_CTL_ADD, for either family (the caller names it: an option, as
 * a read of SO_DOMAIN would cost a vouched TCP watch a third more). An
 * unwatch is one EPOLL_CTL_DEL. The checks and the kernel facts behind
 * them: sock.h.
 *
 * Kernel facts relied on:
 *   - EPOLL_CTL_ADD of an already shut-down socket queues the event at
 *     once: a socket watched after its peer left is reported on the next
 *     dispatch.
 *   - An epoll registration belongs to (file, fd): it survives in a dup and
 *     dies with the last close, and the fd number may then be reused by an
 *     unrelated socket. EPOLL_CTL_ADD, MOD and DEL name the pair (the file
 *     the fd number holds now, the number). Generations in data.u64 drop
 *     the old file's events; SO_COOKIE tells whether an fd still holds the
 *     watched socket.
 *   - TCP_KEEPIDLE and TCP_KEEPINTVL take 1..32767 s, TCP_KEEPCNT 1..127
 *     (the kernel's MAX_TCP_KEEP* limits); TCP_USER_TIMEOUT takes ms as an
 *     int. A Unix socket refuses each of them with EOPNOTSUPP (it takes
 *     SO_KEEPALIVE, which does nothing there): its liveness options are
 *     not written. They are not needed: a Unix peer is a process on this
 *     host, and the kernel closes its end (HANGUP or RESET) when the last
 *     holder closes it or exits, however it dies.
 *
 * Locking and waiting. m->lock is never held across a callback, a blocking
 * syscall or a wait (pthread_cond_wait gives it up). Four waits exist, all
 * on m->cb_done:
 *   W1  a watch of fd number n waits while an unwatch's EPOLL_CTL_DEL of n
 *       runs (wait_del);
 *   W2  an unwatch answered -ENOENT waits while another thread's unwatch of
 *       the same id still makes its DEL (wait_del), so a returned unwatch
 *       always means hupmon is done with the fd number;
 *   W3  an unwatch waits for the running callback of its id to end, unless
 *       it is that callback (wait_callback);
 *   W4  a deferred hupmon_free waits, on the dispatching thread after the
 *       callback returned, for every thread still inside watch or unwatch
 *       (m->callers) before it frees the monitor (loop.c).
 * The rule that keeps this free of cycles: no thread waits while it has a
 * DEL pending. An unwatch pushes its DEL, unlocks, makes it, relocks and
 * pops it, and only then waits (W3). So a DEL holder waits for nothing and
 * W1 and W2 always end. W3 waits for the dispatching thread's callback,
 * which can only be in W1 or W2 (they end), in W3 for its own id (not a
 * wait), or in W3 for another id (impossible: one callback runs at a time).
 * W4 starts after the callback ended, when every W3 of this monitor is
 * released, and waits for threads in W1-W3, which end. Across two monitors
 * W3 can form a cycle that no rule here breaks: see hupmon_unwatch in
 * hupmon.h.
 */
#include "watch.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "compare.h"
#include "detect_stall.h"
#include "state.h"
#include "sock.h"
#include "sweep.h"
#include "path.h"
#include "sized.h"

/* 0.1.0's struct hupmon_watch_opts, the first release: its size is the
 * smallest a caller may pass. */
struct opts_0_1_0 {
	void *user;
	const struct hupmon_liveness *liveness;
	bool no_stall;
	bool accepted;
};
_Static_assert(offsetof(struct hupmon_watch_opts, family) >=
		       sizeof(struct opts_0_1_0),
	       "a field appended starts past 0.1.0's padding (sized.h)");

/* The sizes of a caller's struct hupmon_watch_opts (sized.h): 0.1.0's,
 * then 0.2.0 appended family and its tail (reserved fills 0.1.0's
 * padding, reserved_tail the struct's own). */
static const size_t opts_ends[] = {
	HUPMON__SIZED_END(struct hupmon_watch_opts, family),
	HUPMON__SIZED_END(struct hupmon_watch_opts, reserved_tail),
};
static const struct hupmon__sized opts_sized = {
	.size = sizeof(struct hupmon_watch_opts),
	.first = sizeof(struct opts_0_1_0),
	.ends = opts_ends,
	.n_ends = sizeof(opts_ends) / sizeof(opts_ends[0]),
};

int hupmon__watch_check_liveness(const struct hupmon_liveness *l)
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

/* epoll_ctl on the monitor's epoll fd (or its test hook): 0 or -errno. */
static int ctl(struct hupmon *m, int op, int fd, struct epoll_event *ev)
{
	if (m->ctl_hook)
		return m->ctl_hook(m, op, fd, ev);
	return epoll_ctl(m->epfd, op, fd, ev) < 0 ? -errno : 0;
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

int hupmon__watch_check_stall(const struct hupmon_config *c)
{
	/* Stalls are seen in TCP_INFO only, by a sweep that samples each
	 * socket at least twice within stall_ms. */
	if (c->stall_ms &&
	    (!hupmon__has_path(c->paths, HUPMON_PATH_SWEEP) ||
	     c->sweep_method != HUPMON_SWEEP_TCP_INFO ||
	     (uint64_t)c->stall_ms < 2 * (uint64_t)c->sweep_period_ms ||
	     c->stall_ms > HUPMON__STALL_MAX_MS))
		return -EINVAL;
	return 0;
}

/* Whether stall tracking applies to the socket, as far as the options
 * say: the checks may still find a Unix socket, which never has it (no
 * progress counter: hupmon.h). */
static bool stall_wanted(const struct hupmon *m,
			 const struct hupmon_watch_opts *opts)
{
	return m->cfg.stall_ms && !opts->no_stall;
}

/* Stall tracking reads TCP_INFO up to tcpi_snd_wnd (Linux 5.4): refuse it
 * rather than guess on a kernel that returns less. */
static int stall_check(unsigned info_len)
{
	return info_len < HUPMON__TCP_INFO_STALL_LEN ? -EOPNOTSUPP : 0;
}

/* A recv(MSG_PEEK) moves the socket's peek offset when SO_PEEK_OFF is on
 * (TCP supports it since Linux 6.9): such a socket is probed with TCP_INFO
 * even by a PEEK sweep, so hupmon never moves what the application peeks
 * next. Read once, at watch time (enabling it later is not seen). */
static uint8_t peek_offset_on(const struct hupmon *m, int fd)
{
	int off = -1;
	socklen_t len = sizeof(off);

	if (!hupmon__has_path(m->paths, HUPMON_PATH_SWEEP) ||
	    m->cfg.sweep_method != HUPMON_SWEEP_PEEK)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, &len) < 0 || off < 0)
		return 0;
	return HUPMON__SLOT_PEEK_OFF;
}

/* The slot's flags for what the checks found: a Unix socket is polled by
 * the sweep, never peeked nor stall-tracked. */
static uint8_t slot_flags(const struct hupmon *m, int fd, bool unix_sock,
			  bool stall)
{
	if (unix_sock)
		return HUPMON__SLOT_UNIX;
	return (uint8_t)(peek_offset_on(m, fd) |
			 (stall ? HUPMON__SLOT_STALL : 0));
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

/* A watch ends (unwatch or retire): the slot leaves the registry and the
 * count of its family. */
static void forget(struct hupmon *m, uint32_t idx)
{
	if (m->reg.slots[idx].flags & HUPMON__SLOT_UNIX)
		m->st.watched_unix--;
	hupmon__registry_remove(&m->reg, idx);
}

/* The slot's fd number now holds another socket: drop the slot. Its epoll
 * registration belongs to the old file, so no EPOLL_CTL_DEL by fd number
 * here (that would remove the new socket's); events the old file may still
 * raise carry the old generation and are dropped. */
static void retire(struct hupmon *m, uint32_t idx)
{
	hupmon__sweep_remove(m, idx);
	hupmon__compare_cut_short(m, idx);
	m->st.retired++;
	forget(m, idx);
}

/* Undoes an insert whose registration or options failed. */
static void unwind(struct hupmon *m, uint32_t idx, int fd, uint32_t old)
{
	hupmon__registry_remove(&m->reg, idx);
	if (old != HUPMON__NO_SLOT)
		hupmon__registry_map_fd(&m->reg, fd, old);
}

static int watch_locked(struct hupmon *m, int fd, void *user, uint64_t cookie,
			const struct hupmon_liveness *live, uint8_t flags,
			hupmon_id *id)
{
	struct epoll_event ev = {
		.events = EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLET,
	};
	uint32_t idx, old, same;
	int err;

	/* The same socket watched already: -EEXIST, unless that watch lost
	 * its fd (closed, number reused) and this is the socket again
	 * through a live dup: then this watch replaces it. */
	same = hupmon__registry_find_cookie(&m->reg, cookie);
	if (same != HUPMON__NO_SLOT &&
	    !(m->reg.slots[same].flags & HUPMON__SLOT_ORPHAN))
		return -EEXIST;
	err = hupmon__registry_reserve(&m->reg, fd);
	if (!err)
		err = hupmon__sweep_reserve(m, m->reg.cap);
	if (!err)
		err = hupmon__compare_reserve(m);
	if (err)
		return err;

	/* Nothing that can fail changes the monitor or the socket before
	 * it is known to succeed: insert, register, then write the options
	 * (a failed watch leaves them as they were), and only then retire
	 * the slots this socket replaces. */
	old = hupmon__registry_find_fd(&m->reg, fd);
	idx = hupmon__registry_insert(&m->reg, fd, cookie, user);
	m->reg.slots[idx].flags |= flags;
	if (hupmon__has_path(m->paths, HUPMON_PATH_EPOLL)) {
		ev.data.u64 = hupmon__slot_id(&m->reg, idx);
		err = ctl(m, EPOLL_CTL_ADD, fd, &ev);
		/* EEXIST: this very (file, fd) is still registered from a
		 * retired watch (closed while a dup lived on, then put back
		 * on the same number). Take the registration over. */
		if (err == -EEXIST)
			err = ctl(m, EPOLL_CTL_MOD, fd, &ev);
		if (err) {
			unwind(m, idx, fd, old);
			return err;
		}
	}
	/* Not for a Unix socket, which takes none of them (top of file). */
	if (!(flags & HUPMON__SLOT_UNIX))
		err = apply_liveness(fd, live);
	if (err) {
		if (hupmon__has_path(m->paths, HUPMON_PATH_EPOLL))
			ctl(m, EPOLL_CTL_DEL, fd, NULL);
		unwind(m, idx, fd, old);
		return err;
	}
	if (old != HUPMON__NO_SLOT)
		retire(m, old);
	if (same != HUPMON__NO_SLOT && same != old)
		retire(m, same);
	if (flags & HUPMON__SLOT_UNIX)
		m->st.watched_unix++;
	hupmon__compare_watch(m, idx);
	if (hupmon__has_path(m->paths, HUPMON_PATH_SWEEP))
		hupmon__sweep_add(m, idx);
	if (id)
		*id = hupmon__slot_id(&m->reg, idx);
	return 0;
}

/* An unwatch's EPOLL_CTL_DEL, made without the lock: its fd number and id,
 * in m->dels (on the unwatching thread's stack) until the DEL returned. */
struct hupmon__del {
	int fd;
	hupmon_id id;
	struct hupmon__del *next;
};

static bool del_running(const struct hupmon *m, int fd, hupmon_id id)
{
	for (const struct hupmon__del *d = m->dels; d; d = d->next)
		if (d->fd == fd || d->id == id)
			return true;
	return false;
}

/* Waits while a DEL of fd number fd (W1) or of id (W2) runs, -1 and 0
 * matching none: the DEL acts on whatever file the number holds, so it
 * must be over before a watch registers that number, or before an unwatch
 * tells its caller that the number is free (see hupmon_unwatch). Under
 * m->lock. */
static void wait_del(struct hupmon *m, int fd, hupmon_id id)
{
	while (del_running(m, fd, id))
		hupmon__wait(m);
}

/* A call that may give up m->lock to wait enters and leaves under the
 * lock, so that a deferred hupmon_free waits for it (W4). */
static void call_enter(struct hupmon *m)
{
	m->callers++;
}

static void call_leave(struct hupmon *m)
{
	m->callers--;
	if (m->free_pending && m->waiters)
		pthread_cond_broadcast(&m->cb_done);
}

int hupmon_watch_ex_sized(hupmon *m, int fd,
			  const struct hupmon_watch_opts *uopts,
			  size_t opts_size, hupmon_id *id)
{
	struct hupmon_watch_opts opts;
	struct hupmon_liveness live;
	struct hupmon__sock_seen seen = {0};
	uint8_t flags = 0;
	bool stall;
	int err;

	if (!m)
		return -EINVAL;
	memset(&opts, 0, sizeof(opts));
	err = uopts ? hupmon__sized_copy_in(&opts_sized, &opts, uopts,
					    opts_size)
		    : 0;
	live = opts.liveness ? *opts.liveness : m->cfg.liveness;
	stall = stall_wanted(m, &opts);
	if (!err && fd < 0)
		err = -EBADF;
	else if (!err)
		err = hupmon__sock_check(m, fd, &opts, stall, &seen);
	stall = stall && !seen.unix_sock;
	if (!err)
		err = hupmon__watch_check_liveness(&live);
	if (!err && stall)
		err = stall_check(seen.info_len);
	if (!err)
		flags = slot_flags(m, fd, seen.unix_sock, stall);
	pthread_mutex_lock(&m->lock);
	call_enter(m);
	if (!err)
		wait_del(m, fd, 0);
	if (!err)
		err = watch_locked(m, fd, opts.user, seen.cookie, &live, flags,
				   id);
	if (err)
		count_reject(m, err);
	else
		m->st.watches++;
	call_leave(m);
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* The callback for this id may be running on the dispatching thread: wait
 * for it to end (W3), unless we are that callback. Under m->lock, with no
 * DEL of ours pending. */
static void wait_callback(struct hupmon *m, hupmon_id id)
{
	while (id && m->inflight == id &&
	       !pthread_equal(m->inflight_thread, pthread_self()))
		hupmon__wait(m);
}

int hupmon_watch(hupmon *m, int fd, void *user, hupmon_id *id)
{
	struct hupmon_watch_opts opts = {.user = user};

	return hupmon_watch_ex_sized(m, fd, &opts, sizeof(opts), id);
}

int hupmon_unwatch(hupmon *m, hupmon_id id)
{
	struct hupmon__slot *s;
	struct hupmon__del del = {.fd = -1}, **pp;
	uint32_t idx = (uint32_t)id;
	int err = 0;

	if (!m)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	call_enter(m);
	s = hupmon__registry_get(&m->reg, id);
	if (!s) {
		/* Already unwatched (by its own callback, say, by another
		 * thread whose DEL may still run, or retired by a watch), but
		 * a callback for it may still be running: the contract holds
		 * for this caller too. */
		m->st.unwatch_rejected++;
		wait_del(m, -1, id);
		err = -ENOENT;
		goto out_wait;
	}
	hupmon__sweep_remove(m, idx);
	hupmon__compare_cut_short(m, idx);
	/*
	 * No identity check before the EPOLL_CTL_DEL, although the user may
	 * have closed the fd and its number may hold another file now. The
	 * DEL acts on the registration (file now at s->fd, s->fd) in this
	 * monitor's epoll set, if there is one. Every registration in that
	 * set was made (ADD, or MOD taking one over) by a watch of that fd
	 * number, and every watch of a number retires the slot the fd map
	 * holds for it: as this slot is live, no watch of s->fd came after
	 * its own. So the pair is this slot's own registration, or one left
	 * behind by a watch made before it, already retired (its events are
	 * dropped by generation), or none (ENOENT, ignored): never another
	 * live watch's. The monitor's own timerfd and eventfd hold their
	 * numbers for its whole life, so no watched number is theirs.
	 * (tests/check_watch.c: dup, dup2 and reuse.) An orphan's number is
	 * known to hold another file: no DEL at all, as promised for fd
	 * reuse.
	 *
	 * The DEL runs without the lock (with two threads watching, a lock
	 * held across it serialised every watch behind every DEL). The
	 * argument above still holds: the slot leaves the registry first, and
	 * a watch of the same number waits in wait_del() until this DEL is
	 * over, so no registration made after this unwatch began can be hit.
	 * An event the registration raises meanwhile carries a dead
	 * generation and is dropped. The DEL comes before the wait for a
	 * running callback, never after it: see the top of this file.
	 */
	if (hupmon__has_path(m->paths, HUPMON_PATH_EPOLL) &&
	    !(s->flags & HUPMON__SLOT_ORPHAN)) {
		del.fd = s->fd;
		del.id = id;
		del.next = m->dels;
		m->dels = &del;
	}
	forget(m, idx);
	m->st.unwatches++;
	if (del.fd >= 0) {
		pthread_mutex_unlock(&m->lock);
		ctl(m, EPOLL_CTL_DEL, del.fd, NULL);
		pthread_mutex_lock(&m->lock);
		for (pp = &m->dels; *pp != &del; pp = &(*pp)->next)
			;
		*pp = del.next;
		if (m->waiters)
			pthread_cond_broadcast(&m->cb_done);
	}
out_wait:
	wait_callback(m, id);
	call_leave(m);
	pthread_mutex_unlock(&m->lock);
	return err;
}

void hupmon__watch_dump_waits(struct hupmon *m, FILE *out)
{
	bool locked = pthread_mutex_trylock(&m->lock) == 0;

	fprintf(out,
		"monitor %p (%s): callback running for id %#llx%s, "
		"dispatching %d, free pending %d, waiters %u, inside watch or "
		"unwatch %u, DELs under way:",
		(void *)m,
		locked ? "locked for the dump" : "lock busy: unlocked read",
		(unsigned long long)m->inflight,
		m->inflight ? " (on its dispatching thread)" : "",
		m->dispatching, m->free_pending, m->waiters, m->callers);
	if (!m->dels)
		fputs(" none", out);
	for (const struct hupmon__del *d = m->dels; d; d = d->next)
		fprintf(out, " (fd %d, id %#llx)", d->fd,
			(unsigned long long)d->id);
	fputc('\n', out);
	if (locked)
		pthread_mutex_unlock(&m->lock);
}
