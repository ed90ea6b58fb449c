/* SPDX-License-Identifier: MIT */
/*
 * fuzz_api: random legal calls on one monitor from several threads and from
 * the callbacks themselves, with a hang watchdog and invariants checked as
 * it runs. A plain program, not a Check suite: a hang must be seen and
 * described by the watchdog, not killed by a test timeout.
 *
 *   fuzz_api [--seed N] [--threads T] [--config NAME] [--seconds S]
 *
 * One thread dispatches (hupmon_dispatch with random timeouts, or
 * hupmon_run until someone calls hupmon_stop); T - 1 workers watch (plain,
 * accepted, no_stall, with liveness options, and with a bad liveness value
 * that must be refused), unwatch and query live, stale, running and made-up
 * ids, take stats in every format, stop the loop, try to dispatch (-EBUSY),
 * and act as the peers of a pool of loopback pairs (TCP, and a third of
 * the others Unix stream socketpairs): FIN, RST, half-close, send data the
 * server never reads, or stop reading while the server writes. The
 * callbacks act too: they unwatch, close and reconnect their own socket
 * (the fd number is usually reused at once) and watch the new one, close a
 * socket without unwatching it, unwatch others, watch, query, take stats,
 * stop, and try to dispatch from inside (-EDEADLK). At the end of a run the
 * callback of one socket frees the monitor while another thread waits in
 * an unwatch for that callback.
 *
 * Invariants, each failure naming the seed and the command that replays
 * it (threads make a run differ, the seed fixes each thread's choices):
 *   - no callback for an id starts after an unwatch of that id returned;
 *   - a watch's first cause is reported at most once, and an escalation
 *     only after it;
 *   - a query of a callback's own id from inside it gives what the
 *     callback is told (on_hangup: cause, error and path; on_stall: the
 *     episode open, or not after RECOVERED), or -ENOENT once another
 *     thread's watch retired it; every query answers 0 or -ENOENT, with a
 *     status that holds together;
 *   - a report's fd is the number the socket was watched on while the
 *     socket is open, and -1 once the fuzzer closed it before the report
 *     was made (closes happen only in callbacks, or once the run is over,
 *     so they are ordered with the reports);
 *   - at the end, every watched socket whose peer left in a way the
 *     configured path sees is reported within a bound (PEEK is blind to a
 *     FIN behind unread data; a Unix socket is polled, never blind);
 *   - the counter identities of hupmon.h, and the fuzzer's own counts;
 *   - memory_bytes does not grow from one cycle of identical work to the
 *     next after the first;
 *   - no fd is leaked.
 *
 * Exit: 0 clean, 2 usage or set-up error, 3 an invariant broke, 4 a hang:
 * no call returned for 5 s (x5 with HUPMON_TEST_SCALE=small); the watchdog
 * then prints each thread's call and the monitor's waiting state.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hupmon.h"
#include "state.h"
#include "watch.h"

enum { EXIT_USAGE = 2, EXIT_BROKEN = 3, EXIT_HANG = 4 };

#define POOL 24
/* Slots [0, STEADY) keep their connection and, mostly, their watch: the
 * server writes into a peer with a small window that reads now and then,
 * so stall tracking has episodes to report and end. */
#define STEADY 4
/* Slots past STEADY whose index is a multiple of UNIX_EVERY hold Unix
 * stream socketpairs: watched (with family AF_UNIX when accepted), never
 * stalled, never blind to a close. */
#define UNIX_EVERY  3
#define MAX_THREADS 4
#define PERIOD_MS   50
#define TICK_MS	    5

/* --- configurations ------------------------------------------------------ */

struct fz_config {
	const char *name;
	unsigned paths;
	enum hupmon_sweep_method method;
	bool compare;
	uint32_t stall_ms;
	double budget;
	bool promise; /* unwatch_before_close: never closes without one */
};

static const struct fz_config configs[] = {
	{.name = "epoll", .paths = HUPMON_PATH_EPOLL},
	{.name = "sweep-tcpinfo", .paths = HUPMON_PATH_SWEEP},
	{.name = "sweep-peek",
	 .paths = HUPMON_PATH_SWEEP,
	 .method = HUPMON_SWEEP_PEEK},
	{.name = "both", .paths = HUPMON_PATHS_BOTH},
	{.name = "compare", .paths = HUPMON_PATHS_BOTH, .compare = true},
	{.name = "stall", .paths = HUPMON_PATHS_BOTH, .stall_ms = 150},
	{.name = "compare-stall-budget",
	 .paths = HUPMON_PATHS_BOTH,
	 .compare = true,
	 .stall_ms = 150,
	 .budget = 0.1},
	{.name = "promise-peek",
	 .paths = HUPMON_PATHS_BOTH,
	 .method = HUPMON_SWEEP_PEEK,
	 .promise = true},
};
#define NCONFIGS (sizeof(configs) / sizeof(configs[0]))

/* --- state ---------------------------------------------------------------- */

/* One loopback pair: srv is the end hupmon watches, cli the peer. */
struct slot {
	int srv, cli;
	unsigned busy;	     /* fuzzer threads using srv or cli now */
	bool excl;	     /* ... one of them alone (it may close them) */
	unsigned unwatching; /* unwatches of srv's watches under way */
	bool closing;	     /* srv is being closed without an unwatch */
	bool peer_gone;	     /* the peer closed (FIN or RST) */
	bool peer_half;	     /* the peer shut its write side */
	bool peer_sent;	     /* the peer sent data the server never reads */
	long live;	     /* record of srv's current watch, -1: none known */
	uint32_t sock;	     /* counts the sockets this slot has held */
	size_t *own;	     /* records of watches of the socket it holds now */
	size_t nown, capown;
};

/* One watch (one id). A callback may come before its watch call returned:
 * it then makes the record (slot -1), which the watch fills in. Records
 * move when the array grows: hold an index, not a pointer, across an
 * unlock of fz.lock. */
struct rec {
	hupmon_id id;
	int slot, fd;
	uint32_t sock;	       /* the slot's socket it watched */
	uint64_t t_closed;     /* CLOCK_MONOTONIC once the fuzzer closed it,
				  0: open */
	bool unwatched;	       /* an unwatch returned 0 */
	bool unwatch_returned; /* some unwatch of it returned */
	unsigned firsts;       /* first-cause reports */
	bool reported;	       /* any hangup report */
};

/* What a thread is doing, for the watchdog. */
struct thr {
	char name[16];
	_Atomic(const char *) call[2]; /* [1]: a call made by a callback */
	atomic_ullong arg[2];
	atomic_int depth;
	uint64_t rng;
};

static struct {
	hupmon *m;
	const struct fz_config *cfg;
	uint64_t seed;
	int threads;
	double seconds;
	double scale;

	pthread_mutex_t lock; /* slots, records, counts; never held across
				 a hupmon call */
	struct slot slot[POOL];
	struct rec *rec;
	size_t nrec, caprec;
	size_t *map; /* open addressing: id -> record index + 1 */
	size_t mapcap;
	uint64_t watch_ok, unwatch_ok, unwatch_enoent;
	uint64_t cb_hangup, cb_compare, cb_stall;

	pthread_mutex_t pair_lock; /* connect + accept of one pair */
	int lfd;
	struct sockaddr_in addr;

	atomic_bool ending;	   /* workers and dispatcher: stop */
	atomic_bool quiet;	   /* callbacks: record only, act no more */
	atomic_ullong last_return; /* ns of the last call that returned */
	atomic_ullong running;	   /* id whose callback runs now, 0 none */
	atomic_bool watchdog_off;

	/* the final free from a callback */
	hupmon_id final_id;
	atomic_bool final_in_cb, final_parked, final_freed;

	struct thr thr[MAX_THREADS + 2];
	int nthr;
} fz;

static _Thread_local struct thr *me;

/* What happened to fd numbers lately (epoll_ctl through the monitor's test
 * hook, the fuzzer's own closes and accepts), printed with a broken
 * invariant that names an fd. */
#define HISTORY 8192
static struct event_log {
	const char *what;
	int fd, rc;
	uint64_t id;
	const char *thread;
} history[HISTORY];
static atomic_ulong history_n;

static void note(const char *what, int fd, int rc, uint64_t id)
{
	unsigned long n = atomic_fetch_add(&history_n, 1);
	struct event_log *e = &history[n % HISTORY];

	e->what = what;
	e->fd = fd;
	e->rc = rc;
	e->id = id;
	e->thread = me ? me->name : "?";
}

static void history_of(int fd)
{
	unsigned long n = atomic_load(&history_n);

	fprintf(stderr, "  recent history of fd %d (oldest first):\n", fd);
	for (unsigned long k = n > HISTORY ? n - HISTORY : 0; k < n; k++) {
		const struct event_log *e = &history[k % HISTORY];

		if (e->fd == fd && e->what)
			fprintf(stderr, "    %-10s %-12s rc %d id %#llx\n",
				e->thread, e->what, e->rc,
				(unsigned long long)e->id);
	}
}

static const char *ctl_name(int op)
{
	return op == EPOLL_CTL_ADD   ? "EPOLL_ADD"
	       : op == EPOLL_CTL_MOD ? "EPOLL_MOD"
				     : "EPOLL_DEL";
}

/* The monitor's epoll_ctl, noted. */
static int noted_ctl(struct hupmon *m, int op, int fd, struct epoll_event *ev)
{
	int rc = epoll_ctl(m->epfd, op, fd, ev) < 0 ? -errno : 0;

	note(ctl_name(op), fd, rc, ev ? ev->data.u64 : 0);
	return rc;
}

static void close_noted(int fd)
{
	note("close", fd, close(fd), 0);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(void)
{
	/* xorshift64* */
	uint64_t x = me->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	me->rng = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static void replay_line(void)
{
	fprintf(stderr,
		"fuzz_api: replay: fuzz_api --seed %" PRIu64
		" --threads %d --config %s --seconds %g\n",
		fz.seed, fz.threads, fz.cfg->name, fz.seconds);
}

static void broken(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr,
		"fuzz_api: seed %" PRIu64 ", config %s: BROKEN: ", fz.seed,
		fz.cfg->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	replay_line();
	fflush(stderr);
	_exit(EXIT_BROKEN);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "fuzz_api: %s: %s\n", what, strerror(err));
	_exit(EXIT_USAGE);
}

/* --- calls, as the watchdog sees them --------------------------------------
 */

static void call_begin(const char *what, uint64_t arg)
{
	int d = atomic_load(&me->depth);

	if (d > 1)
		d = 1;
	atomic_store(&me->arg[d], arg);
	atomic_store(&me->call[d], what);
	atomic_fetch_add(&me->depth, 1);
}

static void call_end(void)
{
	int d = atomic_fetch_sub(&me->depth, 1) - 1;

	if (d > 1)
		d = 1;
	atomic_store(&me->call[d], (const char *)NULL);
	atomic_store(&fz.last_return, now_ns());
}

static void *watchdog(void *arg)
{
	uint64_t limit = (uint64_t)(5e9 / fz.scale);
	struct timespec pause = {0, 50000000};

	(void)arg;
	while (!atomic_load(&fz.watchdog_off)) {
		uint64_t last = atomic_load(&fz.last_return);

		if (now_ns() - last > limit) {
			fprintf(stderr,
				"fuzz_api: seed %" PRIu64 ", config %s: HANG: "
				"no call returned for %.0f s\n",
				fz.seed, fz.cfg->name, (double)limit / 1e9);
			for (int i = 0; i < fz.nthr; i++) {
				struct thr *t = &fz.thr[i];
				const char *c0 = atomic_load(&t->call[0]);
				const char *c1 = atomic_load(&t->call[1]);

				fprintf(stderr, "  thread %-10s in %s(%#llx)",
					t->name, c0 ? c0 : "nothing",
					(unsigned long long)atomic_load(
						&t->arg[0]));
				if (c1)
					fprintf(stderr,
						", its callback in %s(%#llx)",
						c1,
						(unsigned long long)atomic_load(
							&t->arg[1]));
				fputc('\n', stderr);
			}
			fputs("  ", stderr);
			if (!atomic_load(&fz.final_freed))
				hupmon__watch_dump_waits(fz.m, stderr);
			replay_line();
			fflush(stderr);
			_exit(EXIT_HANG);
		}
		nanosleep(&pause, NULL);
	}
	return NULL;
}

/* --- records ---------------------------------------------------------------
 */

static size_t hash(hupmon_id id, size_t cap)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
}

static void map_put(hupmon_id id, size_t idx)
{
	size_t i = hash(id, fz.mapcap);

	while (fz.map[i])
		i = (i + 1) & (fz.mapcap - 1);
	fz.map[i] = idx + 1;
}

static struct rec *rec_find(hupmon_id id)
{
	size_t i;

	if (!fz.mapcap)
		return NULL;
	i = hash(id, fz.mapcap);
	for (; fz.map[i]; i = (i + 1) & (fz.mapcap - 1))
		if (fz.rec[fz.map[i] - 1].id == id)
			return &fz.rec[fz.map[i] - 1];
	return NULL;
}

/* The record of id, made if new. Under fz.lock. */
static struct rec *rec_get(hupmon_id id)
{
	struct rec *r = rec_find(id);

	if (r)
		return r;
	if (fz.nrec == fz.caprec) {
		fz.caprec = fz.caprec ? 2 * fz.caprec : 1024;
		fz.rec = realloc(fz.rec, fz.caprec * sizeof(*fz.rec));
		if (!fz.rec)
			die("realloc", ENOMEM);
	}
	if (2 * (fz.nrec + 1) > fz.mapcap) {
		free(fz.map);
		fz.mapcap = fz.mapcap ? 2 * fz.mapcap : 4096;
		fz.map = calloc(fz.mapcap, sizeof(*fz.map));
		if (!fz.map)
			die("calloc", ENOMEM);
		for (size_t i = 0; i < fz.nrec; i++)
			map_put(fz.rec[i].id, i);
	}
	r = &fz.rec[fz.nrec];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->slot = r->fd = -1;
	map_put(id, fz.nrec++);
	return r;
}

/* --- loopback pairs ---------------------------------------------------------
 */

static void listener_open(void)
{
	socklen_t len = sizeof(fz.addr);
	int one = 1;

	fz.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fz.lfd < 0)
		die("socket", errno);
	setsockopt(fz.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&fz.addr, 0, sizeof(fz.addr));
	fz.addr.sin_family = AF_INET;
	fz.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fz.lfd, (struct sockaddr *)&fz.addr, sizeof(fz.addr)) < 0 ||
	    listen(fz.lfd, 64) < 0 ||
	    getsockname(fz.lfd, (struct sockaddr *)&fz.addr, &len) < 0)
		die("listener", errno);
}

static bool unix_slot(int i)
{
	return i >= STEADY && i % UNIX_EVERY == 0;
}

static void pair_make(int i, int *srv, int *cli)
{
	int sv[2];

	if (unix_slot(i)) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			die("socketpair", errno);
		*srv = sv[0];
		*cli = sv[1];
		note("socketpair", *srv, 0, 0);
		note("socketpair", *cli, 0, 0);
		return;
	}
	pthread_mutex_lock(&fz.pair_lock);
	int rcvbuf = 4096;

	*cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* A small window the server's writes fill: stalls to report. */
	if (*cli >= 0 && fz.cfg->stall_ms)
		setsockopt(*cli, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			   sizeof(rcvbuf));
	if (*cli < 0 ||
	    connect(*cli, (struct sockaddr *)&fz.addr, sizeof(fz.addr)) < 0)
		die("connect", errno);
	*srv = accept4(fz.lfd, NULL, NULL, SOCK_CLOEXEC);
	if (*srv < 0)
		die("accept4", errno);
	note("accept", *srv, 0, 0);
	note("connect", *cli, 0, 0);
	pthread_mutex_unlock(&fz.pair_lock);
}

/* Takes slot i for this thread's use of its fds, if it has a socket and
 * (exclusive) nobody else uses it. */
static bool slot_take(int i, bool exclusive)
{
	struct slot *s = &fz.slot[i];
	bool ok;

	pthread_mutex_lock(&fz.lock);
	ok = s->srv >= 0 && !s->excl && (!exclusive || !s->busy);
	if (ok) {
		s->busy++;
		s->excl = exclusive;
	}
	pthread_mutex_unlock(&fz.lock);
	return ok;
}

static void slot_give(int i)
{
	pthread_mutex_lock(&fz.lock);
	fz.slot[i].busy--;
	fz.slot[i].excl = false;
	pthread_mutex_unlock(&fz.lock);
}

/* --- the calls ---------------------------------------------------------------
 */

/* Unwatches id. Not while the socket is closed without an unwatch (that
 * the user's own race: an unwatch makes an EPOLL_CTL_DEL by fd number), so
 * an unwatch of a socket the fuzzer closed that way waits for the end of
 * the run. Returns the result, or 1: not called. */
static int do_unwatch(hupmon_id id)
{
	struct rec *r;
	int rc, counted = -1;

	pthread_mutex_lock(&fz.lock);
	r = rec_find(id);
	if (r && r->slot >= 0 && !atomic_load(&fz.quiet)) {
		struct slot *s = &fz.slot[r->slot];
		bool current = r->sock == s->sock;

		if ((r->t_closed && !r->unwatched) || (current && s->closing)) {
			pthread_mutex_unlock(&fz.lock);
			return 1;
		}
		if (current) {
			s->unwatching++;
			counted = r->slot;
		}
	}
	pthread_mutex_unlock(&fz.lock);
	call_begin("hupmon_unwatch", id);
	rc = hupmon_unwatch(fz.m, id);
	call_end();
	pthread_mutex_lock(&fz.lock);
	r = rec_find(id);
	if (r && r->slot >= 0)
		note("unwatch", r->fd, rc, id);
	if (rc == 0) {
		fz.unwatch_ok++;
		if (r && r->unwatched)
			broken("two unwatches of id %#" PRIx64 " returned 0",
			       id);
		if (r) {
			r->unwatched = true;
			if (r->slot >= 0 &&
			    fz.slot[r->slot].live == (long)(r - fz.rec))
				fz.slot[r->slot].live = -1;
		}
	} else if (rc == -ENOENT) {
		fz.unwatch_enoent++;
	} else {
		broken("hupmon_unwatch(%#" PRIx64 ") = %d", id, rc);
	}
	if (r)
		r->unwatch_returned = true;
	if (counted >= 0)
		fz.slot[counted].unwatching--;
	pthread_mutex_unlock(&fz.lock);
	return rc;
}

/* Watches slot i's server end, the slot taken by the caller. */
static void do_watch(int i)
{
	struct hupmon_watch_opts o = {0};
	struct hupmon_liveness live = {0};
	struct slot *s = &fz.slot[i];
	bool bad = false;
	hupmon_id id = 0;
	struct rec *r;
	int fd, rc;

	pthread_mutex_lock(&fz.lock);
	fd = s->srv;
	pthread_mutex_unlock(&fz.lock);
	switch (pick(6)) {
	case 0:
		o.accepted = true;
		o.family = unix_slot(i) ? AF_UNIX : pick(2) ? AF_INET : 0;
		break;
	case 1:
		o.no_stall = true;
		break;
	case 2:
		live.keepalive_idle_s = 1 + pick(30);
		live.keepalive_interval_s = 1 + pick(5);
		live.keepalive_count = 1 + pick(5);
		live.user_timeout_ms = pick(2) ? 0 : 1000 + pick(20000);
		o.liveness = &live;
		break;
	case 3:
		if (pick(8) == 0) { /* refused, and nothing changes */
			live.keepalive_count = 3;
			o.liveness = &live;
			bad = true;
		}
		break;
	default:
		break;
	}
	call_begin("hupmon_watch_ex", (uint64_t)fd);
	rc = bad || pick(3) ? hupmon_watch_ex(fz.m, fd, &o, &id)
			    : hupmon_watch(fz.m, fd, NULL, &id);
	call_end();
	note("watch", fd, rc, id);
	if (bad && !o.accepted && rc != -EINVAL)
		broken("a watch with keepalive_count but no idle = %d", rc);
	if (bad)
		return;
	pthread_mutex_lock(&fz.lock);
	if (rc == 0) {
		fz.watch_ok++;
		r = rec_get(id);
		if (r->slot >= 0)
			broken("hupmon_watch returned id %#" PRIx64
			       " which an earlier watch had",
			       id);
		r->slot = i;
		r->fd = fd;
		r->sock = s->sock;
		s->live = (long)(r - fz.rec);
		if (s->nown == s->capown) {
			s->capown = s->capown ? 2 * s->capown : 16;
			s->own = realloc(s->own, s->capown * sizeof(*s->own));
			if (!s->own)
				die("realloc", ENOMEM);
		}
		s->own[s->nown++] = (size_t)(r - fz.rec);
	} else if (rc != -EEXIST) {
		history_of(fd);
		broken("hupmon_watch of a connected socket (fd %d) = %d", fd,
		       rc);
	}
	pthread_mutex_unlock(&fz.lock);
}

/* A status that holds together: a path with a cause and none without,
 * one the monitor runs; an error only behind a final cause; stalled with a
 * reason, and only with stall tracking on. */
static void check_status(hupmon_id id, const struct hupmon_status *st)
{
	bool ok = st->cause <= HUPMON_CAUSE_MAX &&
		  (st->cause == HUPMON_CAUSE_NONE) == (st->path == 0) &&
		  (st->path == 0 || (st->path & fz.cfg->paths)) &&
		  (st->error == 0 || st->cause >= HUPMON_CAUSE_RESET) &&
		  st->stall_reason <= HUPMON_STALL_REASON_MAX &&
		  (!st->stall_reason || fz.cfg->stall_ms);

	if (!ok)
		broken("hupmon_query(%#" PRIx64 "): cause %d error %d path %d "
		       "stall reason %d",
		       id, st->cause, st->error, st->path, st->stall_reason);
}

/* Queries id, now and then through a struct larger than ours (a newer
 * header: its tail must come back zeroed) or of a size the rule refuses. */
static void do_query(hupmon_id id)
{
	unsigned char b[sizeof(struct hupmon_status) + 16];
	struct hupmon_status *st = (struct hupmon_status *)b;
	size_t size = sizeof(*st);
	unsigned how = pick(8);
	int rc;

	memset(b, 0x5a, sizeof(b));
	if (how == 0)
		size = sizeof(b);
	else if (how == 1)
		size = sizeof(*st) - 1;
	call_begin("hupmon_query", id);
	rc = hupmon_query_sized(fz.m, id, st, size);
	call_end();
	if (how == 1) {
		if (rc != -EINVAL)
			broken("hupmon_query_sized(%#" PRIx64 ", %zu) = %d", id,
			       size, rc);
		return;
	}
	if (rc == -ENOENT)
		return;
	if (rc != 0)
		broken("hupmon_query(%#" PRIx64 ") = %d", id, rc);
	check_status(id, st);
	for (size_t k = sizeof(*st); k < size; k++)
		if (b[k])
			broken("hupmon_query_sized(%zu): byte %zu not zeroed",
			       size, k);
}

/* A callback's own id, queried from inside it (before cb_begin: no
 * hupmon call under fz.lock). -ENOENT: retired by another thread's watch
 * of its fd number, which does not wait for the callback. */
static int query_own(hupmon_id id, struct hupmon_status *st)
{
	int rc;

	call_begin("hupmon_query", id);
	rc = hupmon_query(fz.m, id, st);
	call_end();
	if (rc != 0 && rc != -ENOENT)
		broken("hupmon_query(%#" PRIx64 ") in its callback = %d", id,
		       rc);
	if (rc == 0)
		check_status(id, st);
	return rc;
}

/* Formats a snapshot in every format into buffers of random sizes. */
static void do_stats(void)
{
	static const size_t sizes[] = {0, 1, 64, 4096, 65536};
	struct hupmon_stats st;
	char *buf;

	call_begin("hupmon_stats", 0);
	hupmon_stats(fz.m, &st);
	call_end();
	for (int f = HUPMON_FORMAT_TEXT; f <= HUPMON_FORMAT_PROMETHEUS; f++) {
		size_t len = sizes[pick(5)];
		int rc;

		buf = len ? malloc(len) : NULL;
		if (len && !buf)
			die("malloc", ENOMEM);
		rc = hupmon_stats_format(&st, (enum hupmon_format)f, buf, len);
		if (rc < 0)
			broken("hupmon_stats_format(%d, %zu) = %d", f, len, rc);
		if (len && strnlen(buf, len) !=
				   ((size_t)rc < len ? (size_t)rc : len - 1))
			broken("hupmon_stats_format(%d, %zu): not terminated",
			       f, len);
		free(buf);
	}
}

/* The peer of slot i (taken by the caller, exclusively: a close of the
 * peer's fd must not race another use of it) acts. */
static void do_peer(int i)
{
	static const char data[65536];
	struct slot *s = &fz.slot[i];
	struct linger lg = {1, 0};
	char sink[16384];
	int cli, srv, what = (int)pick(8);

	pthread_mutex_lock(&fz.lock);
	cli = s->cli;
	srv = s->srv;
	pthread_mutex_unlock(&fz.lock);
	if (i < STEADY)
		what = pick(32) ? 5 : 8;
	if (cli < 0 && what != 5)
		return;
	switch (what) {
	case 0: /* FIN */
	case 1: /* RST */
		if (what == 1)
			setsockopt(cli, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close_noted(cli);
		cli = -1;
		break;
	case 2:
		shutdown(cli, SHUT_WR);
		break;
	case 3:
	case 4: /* data the server never reads */
		if (send(cli, data, 1 + pick(2000),
			 MSG_DONTWAIT | MSG_NOSIGNAL) <= 0)
			what = -1;
		break;
	case 5: /* the server writes; the peer does not read */
	case 6:
	case 7:
		send(srv, data, sizeof(data), MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case 8: /* the peer reads what is there */
		for (int k = 0;
		     k < 4 && recv(cli, sink, sizeof(sink), MSG_DONTWAIT) > 0;
		     k++)
			;
		break;
	}
	pthread_mutex_lock(&fz.lock);
	if (what <= 1) {
		s->cli = cli;
		s->peer_gone = true;
	} else if (what == 2) {
		s->peer_half = true;
	} else if (what == 3 || what == 4) {
		s->peer_sent = true;
	}
	pthread_mutex_unlock(&fz.lock);
}

/* Closes slot i's sockets and connects a new pair (the server end usually
 * gets the same fd number). Unwatches first unless abandon. Only from a
 * callback (or once the run is over), with the slot taken exclusively. */
static void do_reconnect(int i, bool abandon)
{
	struct slot *s = &fz.slot[i];
	hupmon_id id = 0;
	uint64_t t;
	int srv, cli;

	pthread_mutex_lock(&fz.lock);
	if (s->live >= 0 && !fz.rec[s->live].unwatched)
		id = fz.rec[s->live].id;
	/* Closed without an unwatch only if no unwatch of it is under way,
	 * and none starts before the close. */
	if (abandon && (s->unwatching || fz.cfg->promise))
		abandon = false;
	s->closing = abandon;
	srv = s->srv;
	cli = s->cli;
	pthread_mutex_unlock(&fz.lock);
	if (id && !abandon)
		do_unwatch(id);
	close_noted(srv);
	if (cli >= 0)
		close_noted(cli);
	t = now_ns();
	pthread_mutex_lock(&fz.lock);
	for (size_t k = 0; k < s->nown; k++)
		fz.rec[s->own[k]].t_closed = t;
	s->nown = 0;
	s->live = -1;
	pthread_mutex_unlock(&fz.lock);
	pair_make(i, &srv, &cli);
	pthread_mutex_lock(&fz.lock);
	s->srv = srv;
	s->cli = cli;
	s->peer_gone = s->peer_half = s->peer_sent = false;
	s->closing = false;
	s->sock++;
	pthread_mutex_unlock(&fz.lock);
}

/* A random id: a live one, a stale one, the one whose callback runs now, or
 * one never handed out (0, the monitor's own 1 and 2, noise). */
static hupmon_id some_id(void)
{
	hupmon_id id = 0;

	switch (pick(8)) {
	case 0:
		return atomic_load(&fz.running);
	case 1:
		return pick(3);
	case 2:
		return rnd() | 1;
	case 3:
	case 4:
		pthread_mutex_lock(&fz.lock);
		if (fz.nrec)
			id = fz.rec[pick((unsigned)fz.nrec)].id;
		pthread_mutex_unlock(&fz.lock);
		return id;
	default:
		pthread_mutex_lock(&fz.lock);
		for (int k = 0; k < 4 && !id; k++) {
			struct slot *s = &fz.slot[STEADY + pick(POOL - STEADY)];

			if (s->live >= 0)
				id = fz.rec[s->live].id;
		}
		pthread_mutex_unlock(&fz.lock);
		return id;
	}
}

/* --- callbacks ----------------------------------------------------------- */

/* Checks that starting a callback for id is allowed; returns its record
 * with fz.lock held. */
static struct rec *cb_begin(hupmon_id id, const char *kind)
{
	struct rec *r;

	pthread_mutex_lock(&fz.lock);
	r = rec_get(id);
	if (r->unwatch_returned)
		broken("%s for id %#" PRIx64 " after its unwatch returned",
		       kind, id);
	atomic_store(&fz.running, id);
	return r;
}

/* A report's fd: the watched number while the socket is open, -1 once the
 * fuzzer had closed it when the report was made. detected 0: not known
 * (a compare record is made after its first report). Under fz.lock. */
static void check_fd(struct rec *r, const char *kind, int fd, uint64_t detected)
{
	if (r->slot < 0)
		return;
	if ((!r->t_closed && fd != r->fd) ||
	    (r->t_closed && detected > r->t_closed && fd != -1) ||
	    (r->t_closed && detected && detected <= r->t_closed && fd != r->fd))
		history_of(r->fd);
	if (!r->t_closed && fd != r->fd)
		broken("%s for id %#" PRIx64 " names fd %d; the socket, still "
		       "open, was watched on fd %d",
		       kind, r->id, fd, r->fd);
	if (r->t_closed && detected > r->t_closed && fd != -1)
		broken("%s for id %#" PRIx64 " names fd %d, made %" PRIu64
		       " ns after the fuzzer closed that socket",
		       kind, r->id, fd, detected - r->t_closed);
	if (r->t_closed && detected && detected <= r->t_closed && fd != r->fd)
		broken("%s for id %#" PRIx64 " names fd %d, made before its "
		       "socket (fd %d) was closed",
		       kind, r->id, fd, r->fd);
}

/* The final free: the callback of fz.final_id waits for the parked
 * unwatch of the same id, then frees the monitor. */
static void final_free(void)
{
	uint64_t end = now_ns() + 2000000000ull;
	struct timespec pause = {0, 1000000};
	bool parked = false;

	atomic_store(&fz.final_in_cb, true);
	while (!parked && now_ns() < end) {
		pthread_mutex_lock(&fz.m->lock);
		parked = fz.m->waiters > 0;
		pthread_mutex_unlock(&fz.m->lock);
		if (!parked)
			nanosleep(&pause, NULL);
	}
	if (!parked)
		return; /* the parker may still call: free after joining it */
	atomic_store(&fz.final_parked, true);
	call_begin("hupmon_free", 0);
	hupmon_free(fz.m);
	call_end();
	atomic_store(&fz.final_freed, true);
}

/* What a callback does besides recording: random legal calls. Called
 * with fz.lock held (from cb_begin); gives it up. */
static void cb_act(struct rec *r)
{
	hupmon_id id = r->id;
	int i = r->slot, rc;

	pthread_mutex_unlock(&fz.lock);
	if (id == fz.final_id && atomic_load(&fz.quiet)) {
		final_free();
		return;
	}
	if (atomic_load(&fz.quiet))
		return;
	switch (pick(20) + (i >= 0 && i < STEADY ? 8 : 0)) {
	case 0:
	case 1:
	case 2:
	case 3: /* the server pattern: unwatch, close, next connection */
	case 4: /* ... or closed without unwatch */
		if (i < 0 || !slot_take(i, true))
			break;
		do_reconnect(i, pick(20) == 4);
		if (pick(2))
			do_watch(i);
		slot_give(i);
		break;
	case 5: /* another slot whose peer left */
		i = (int)pick(POOL);
		if (!slot_take(i, true))
			break;
		if (fz.slot[i].peer_gone)
			do_reconnect(i, false);
		slot_give(i);
		break;
	case 6:
	case 7:
		do_unwatch(id);
		break;
	case 8:
	case 9:
		do_unwatch(some_id());
		break;
	case 10:
	case 11:
		i = (int)pick(POOL);
		if (slot_take(i, false)) {
			do_watch(i);
			slot_give(i);
		}
		break;
	case 12:
		do_stats();
		break;
	case 13:
		call_begin("hupmon_dispatch", 0);
		rc = hupmon_dispatch(fz.m, 0);
		call_end();
		if (rc != -EDEADLK)
			broken("hupmon_dispatch from a callback = %d", rc);
		call_begin("hupmon_run", 0);
		rc = hupmon_run(fz.m);
		call_end();
		if (rc != -EDEADLK)
			broken("hupmon_run from a callback = %d", rc);
		break;
	case 14:
		call_begin("hupmon_stop", 0);
		hupmon_stop(fz.m);
		call_end();
		break;
	case 16:
		do_query(some_id());
		break;
	case 15:
		i = (int)pick(POOL);
		if (slot_take(i, true)) {
			do_peer(i);
			slot_give(i);
		}
		break;
	default:
		break;
	}
}

static void on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct hupmon_status st;
	int qrc = query_own(ev->id, &st);
	struct rec *r = cb_begin(ev->id, "on_hangup");

	(void)arg;
	if (qrc == 0 && (st.cause != ev->cause || st.error != ev->error ||
			 st.path != ev->path))
		broken("hupmon_query in on_hangup for id %#" PRIx64
		       ": cause %d error %d path %d, told %d %d %d",
		       ev->id, st.cause, st.error, st.path, ev->cause,
		       ev->error, ev->path);
	fz.cb_hangup++;
	if (!ev->escalation && ++r->firsts > 1)
		broken("a second first report for id %#" PRIx64, ev->id);
	if (ev->escalation && !r->firsts)
		broken("an escalation for id %#" PRIx64 " before its first "
		       "report",
		       ev->id);
	r->reported = true;
	check_fd(r, "on_hangup", ev->fd, ev->detected_ns);
	cb_act(r);
	atomic_store(&fz.running, 0);
}

static void on_compare(const struct hupmon_compare *c, void *arg)
{
	struct rec *r = cb_begin(c->id, "on_compare");

	(void)arg;
	fz.cb_compare++;
	check_fd(r, "on_compare", c->fd, 0);
	cb_act(r);
	atomic_store(&fz.running, 0);
}

static void on_stall(const struct hupmon_stall_event *ev, void *arg)
{
	struct hupmon_status st;
	int qrc = query_own(ev->id, &st);
	struct rec *r = cb_begin(ev->id, "on_stall");
	bool open = ev->kind == HUPMON_STALL_KIND_STALLED;

	(void)arg;
	if (qrc == 0 &&
	    st.stall_reason != (open ? ev->reason : HUPMON_STALL_REASON_NONE))
		broken("hupmon_query in on_stall for id %#" PRIx64
		       ": stall reason %d, told kind %d reason %d",
		       ev->id, st.stall_reason, ev->kind, ev->reason);
	fz.cb_stall++;
	check_fd(r, "on_stall", ev->fd, ev->detected_ns);
	cb_act(r);
	atomic_store(&fz.running, 0);
}

/* --- threads ---------------------------------------------------------------
 */

static struct thr *thr_add(const char *name, uint64_t salt)
{
	struct thr *t = &fz.thr[fz.nthr++];

	snprintf(t->name, sizeof(t->name), "%s", name);
	t->rng = (fz.seed ^ (salt * 0x9E3779B97F4A7C15ull)) | 1;
	return t;
}

static void *dispatcher(void *arg)
{
	int rc;

	me = arg;
	while (!atomic_load(&fz.ending)) {
		if (pick(4) == 0) {
			call_begin("hupmon_run", 0);
			rc = hupmon_run(fz.m);
			call_end();
			if (rc != 0 && rc != -EBUSY)
				broken("hupmon_run = %d", rc);
			continue;
		}
		for (int k = 0; k < 20 && !atomic_load(&fz.ending); k++) {
			int timeout = (int)pick(20);

			call_begin("hupmon_dispatch", (uint64_t)timeout);
			rc = hupmon_dispatch(fz.m, timeout);
			call_end();
			if (rc < 0 && rc != -EBUSY)
				broken("hupmon_dispatch = %d", rc);
		}
	}
	return NULL;
}

static void *worker(void *arg)
{
	int i, rc;

	me = arg;
	while (!atomic_load(&fz.ending)) {
		unsigned op = pick(40);

		if (op < 10) {
			i = (int)pick(POOL);
			if (slot_take(i, false)) {
				do_watch(i);
				slot_give(i);
			}
		} else if (op < 20) {
			do_unwatch(some_id());
		} else if (op < 25) {
			i = (int)pick(POOL);
			if (slot_take(i, true)) {
				do_peer(i);
				slot_give(i);
			}
		} else if (op < 30) {
			do_stats();
		} else if (op < 32) {
			call_begin("hupmon_dispatch", 0);
			rc = hupmon_dispatch(fz.m, 0);
			call_end();
			if (rc < 0 && rc != -EBUSY)
				broken("hupmon_dispatch from a worker = %d",
				       rc);
		} else if (op < 33) {
			call_begin("hupmon_stop", 0);
			hupmon_stop(fz.m);
			call_end();
		} else if (op < 37) {
			do_query(some_id());
		} else {
			sched_yield();
		}
	}
	return NULL;
}

/* --- the end of a run
 * --------------------------------------------------------- */

/* Dispatches on this thread until pred holds or ms pass. */
static bool dispatch_until(bool (*pred)(void), int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
	bool ok;

	while (!(ok = pred()) && now_ns() < end) {
		int rc;

		call_begin("hupmon_dispatch", 20);
		rc = hupmon_dispatch(fz.m, 20);
		call_end();
		if (rc < 0)
			broken("hupmon_dispatch at the end = %d", rc);
	}
	return ok;
}

/* Whether a watch of slot i must report: its peer left in a way the
 * configured paths see. PEEK alone does not see a FIN behind unread data
 * (a Unix socket is polled whatever the method). */
static bool must_report(int i)
{
	const struct slot *s = &fz.slot[i];
	bool peek_only = fz.cfg->paths == HUPMON_PATH_SWEEP &&
			 fz.cfg->method == HUPMON_SWEEP_PEEK;

	if (!s->peer_gone && !s->peer_half)
		return false;
	return !(peek_only && s->peer_sent && !unix_slot(i));
}

static struct rec missing; /* the first watch owed a report */

static bool all_reported(void)
{
	bool ok = true;

	pthread_mutex_lock(&fz.lock);
	for (int i = 0; i < POOL && ok; i++) {
		struct slot *s = &fz.slot[i];
		struct rec *r = s->live >= 0 ? &fz.rec[s->live] : NULL;

		if (r && !r->unwatched && !r->t_closed && must_report(i) &&
		    !r->reported) {
			missing = *r;
			ok = false;
		}
	}
	pthread_mutex_unlock(&fz.lock);
	return ok;
}

static uint64_t
sum_causes(const uint64_t a[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT])
{
	uint64_t n = 0;

	for (int p = 0; p < HUPMON_PATH_COUNT; p++)
		for (int c = 0; c < HUPMON_CAUSE_COUNT; c++)
			n += a[p][c];
	return n;
}

static void check_counts(bool all_unwatched)
{
	struct hupmon_stats st;
	uint64_t stalls = 0;

	hupmon_stats(fz.m, &st);
	for (int k = 0; k < HUPMON_STALL_REASON_COUNT; k++)
		stalls += st.stalls[k] + st.stall_recoveries[k];
#define SAME(a, b, what)                                                       \
	do {                                                                   \
		if ((a) != (b))                                                \
			broken("%s: %" PRIu64 " != %" PRIu64, what,            \
			       (uint64_t)(a), (uint64_t)(b));                  \
	} while (0)
	SAME(st.watched, st.watches - st.unwatches - st.retired,
	     "watched = watches - unwatches - retired");
	SAME(st.watched, st.watched_tcp + st.watched_unix,
	     "watched = watched_tcp + watched_unix");
	SAME(st.watches, fz.watch_ok, "watches = the fuzzer's watches");
	SAME(st.unwatches, fz.unwatch_ok, "unwatches = the fuzzer's");
	SAME(st.unwatch_rejected, fz.unwatch_enoent,
	     "unwatch_rejected = the fuzzer's -ENOENT");
	SAME(st.callbacks, fz.cb_hangup + fz.cb_compare + fz.cb_stall,
	     "callbacks = on_hangup + on_compare + on_stall calls");
	SAME(sum_causes(st.hangups), fz.cb_hangup,
	     "sum of hangups = on_hangup calls");
	SAME(sum_causes(st.cmp_first), fz.cb_compare,
	     "sum of cmp_first = on_compare calls");
	SAME(sum_causes(st.cmp_second) + sum_causes(st.cmp_missed),
	     sum_causes(st.cmp_first), "cmp second + missed = cmp first");
	SAME(stalls, fz.cb_stall, "stalls + recoveries = on_stall calls");
	if (all_unwatched) {
		SAME(st.watched, 0, "watched after every unwatch");
		if (fz.cfg->compare)
			SAME(sum_causes(st.hangups),
			     sum_causes(st.cmp_first) +
				     sum_causes(st.cmp_cut_short),
			     "hangups = outcomes + cut short");
	}
#undef SAME
}

/* Identical work per cycle: watch every slot's socket, unwatch them all;
 * memory_bytes after each. */
static void memory_cycles(void)
{
	uint64_t mem[4];
	hupmon_id ids[POOL];
	struct hupmon_stats st;

	for (int c = 0; c < 4; c++) {
		for (int i = 0; i < POOL; i++) {
			ids[i] = 0;
			call_begin("hupmon_watch", (uint64_t)i);
			if (hupmon_watch(fz.m, fz.slot[i].srv, NULL, &ids[i]))
				ids[i] = 0;
			call_end();
			if (ids[i]) {
				pthread_mutex_lock(&fz.lock);
				fz.watch_ok++;
				pthread_mutex_unlock(&fz.lock);
			}
		}
		for (int i = 0; i < POOL; i++)
			if (ids[i])
				do_unwatch(ids[i]);
		hupmon_stats(fz.m, &st);
		mem[c] = st.memory_bytes;
	}
	for (int c = 2; c < 4; c++)
		if (mem[c] > mem[1])
			broken("memory_bytes grew from %" PRIu64
			       " after cycle 2 "
			       "to %" PRIu64 " after cycle %d of the same work",
			       mem[1], mem[c], c + 1);
}

static void *parker(void *arg)
{
	struct timespec pause = {0, 1000000};
	int rc;

	me = arg;
	while (!atomic_load(&fz.final_in_cb))
		nanosleep(&pause, NULL);
	call_begin("hupmon_unwatch", fz.final_id);
	rc = hupmon_unwatch(fz.m, fz.final_id);
	call_end();
	if (rc != 0)
		broken("the unwatch waiting for the freeing callback = %d", rc);
	return NULL;
}

static bool final_done(void)
{
	return atomic_load(&fz.final_freed);
}

/* The monitor freed by a callback while another thread waits in an unwatch
 * for that callback. */
static void end_with_free(void)
{
	pthread_t th;
	int cli;

	do_reconnect(0, false);
	pthread_mutex_lock(&fz.lock);
	cli = fz.slot[0].cli;
	fz.slot[0].cli = -1;
	pthread_mutex_unlock(&fz.lock);
	call_begin("hupmon_watch", 0);
	if (hupmon_watch(fz.m, fz.slot[0].srv, NULL, &fz.final_id))
		broken("the final watch failed");
	call_end();
	fz.watch_ok++;
	if (pthread_create(&th, NULL, parker, thr_add("parker", 99)))
		die("pthread_create", EAGAIN);
	close(cli);
	if (!dispatch_until(final_done, (int)(5000 / fz.scale)) &&
	    !atomic_load(&fz.final_in_cb))
		broken("the final socket's hangup was never reported");
	pthread_join(th, NULL);
	if (!atomic_load(&fz.final_freed)) {
		/* the parker was too slow to park: free here */
		hupmon_free(fz.m);
		atomic_store(&fz.final_freed, true);
	}
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* --- main --------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: fuzz_api [--seed N] [--threads 2-%d] "
		"[--config NAME] [--seconds S]\nconfigs:",
		MAX_THREADS);
	for (size_t i = 0; i < NCONFIGS; i++)
		fprintf(stderr, " %s", configs[i].name);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

static void parse(int argc, char **argv)
{
	const char *scale = getenv("HUPMON_TEST_SCALE");
	const char *cname = NULL;
	char *end;

	fz.seed = (uint64_t)time(NULL);
	fz.threads = 3;
	fz.seconds = 5;
	fz.scale = scale && !strcmp(scale, "small") ? 0.2 : 1.0;
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		errno = 0;
		if (!strcmp(argv[i], "--seed")) {
			fz.seed = strtoull(v, &end, 0);
		} else if (!strcmp(argv[i], "--threads")) {
			fz.threads = (int)strtol(v, &end, 10);
			if (fz.threads < 2 || fz.threads > MAX_THREADS)
				usage();
		} else if (!strcmp(argv[i], "--seconds")) {
			fz.seconds = strtod(v, &end);
			if (!(fz.seconds > 0 && fz.seconds <= 86400))
				usage();
		} else if (!strcmp(argv[i], "--config")) {
			cname = v;
			end = (char *)v + strlen(v);
		} else {
			usage();
		}
		if (errno || *end)
			usage();
		i++;
	}
	fz.cfg = &configs[fz.seed % NCONFIGS];
	if (cname) {
		fz.cfg = NULL;
		for (size_t k = 0; k < NCONFIGS; k++)
			if (!strcmp(cname, configs[k].name))
				fz.cfg = &configs[k];
		if (!fz.cfg)
			usage();
	}
}

int main(int argc, char **argv)
{
	struct hupmon_config cfg = {0};
	pthread_t dog, disp, work[MAX_THREADS];
	struct timespec pause = {0, 10000000};
	int fds0, rc;
	uint64_t end;

	parse(argc, argv);
	fds0 = count_fds();
	pthread_mutex_init(&fz.lock, NULL);
	pthread_mutex_init(&fz.pair_lock, NULL);
	me = thr_add("main", 0);
	listener_open();
	for (int i = 0; i < POOL; i++) {
		pair_make(i, &fz.slot[i].srv, &fz.slot[i].cli);
		fz.slot[i].live = -1;
	}
	cfg.on_hangup = on_hangup;
	cfg.on_compare = fz.cfg->compare ? on_compare : NULL;
	cfg.on_stall = fz.cfg->stall_ms ? on_stall : NULL;
	cfg.paths = fz.cfg->paths;
	cfg.sweep_method = fz.cfg->method;
	cfg.sweep_period_ms = PERIOD_MS;
	cfg.sweep_tick_ms = TICK_MS;
	cfg.compare = fz.cfg->compare;
	cfg.stall_ms = fz.cfg->stall_ms;
	cfg.sweep_cpu_budget = fz.cfg->budget;
	cfg.unwatch_before_close = fz.cfg->promise;
	rc = hupmon_new(&cfg, &fz.m);
	if (rc)
		die("hupmon_new", -rc);
	fz.m->ctl_hook = noted_ctl;
	fprintf(stderr,
		"fuzz_api: seed %" PRIu64 ", config %s, %d threads, %g s\n",
		fz.seed, fz.cfg->name, fz.threads, fz.seconds);

	atomic_store(&fz.last_return, now_ns());
	if (pthread_create(&dog, NULL, watchdog, NULL) ||
	    pthread_create(&disp, NULL, dispatcher, thr_add("dispatch", 1)))
		die("pthread_create", EAGAIN);
	for (int t = 0; t < fz.threads - 1; t++) {
		char name[16];

		snprintf(name, sizeof(name), "worker%u",
			 (unsigned)(t + 1) % 10u);
		if (pthread_create(&work[t], NULL, worker,
				   thr_add(name, 2 + (uint64_t)t)))
			die("pthread_create", EAGAIN);
	}
	end = now_ns() + (uint64_t)(fz.seconds * 1e9);
	while (now_ns() < end)
		nanosleep(&pause, NULL);

	/* Over: the threads stop, then the checks, on this thread alone. */
	atomic_store(&fz.ending, true);
	for (int t = 0; t < fz.threads - 1; t++)
		pthread_join(work[t], NULL);
	while (pthread_tryjoin_np(disp, NULL) == EBUSY) {
		hupmon_stop(fz.m);
		nanosleep(&pause, NULL);
	}
	atomic_store(&fz.quiet, true);
	if (!dispatch_until(all_reported, (int)(3000 / fz.scale)))
		broken("id %#" PRIx64 " (fd %d): its peer left, the watch was "
		       "never reported",
		       missing.id, missing.fd);
	/* Drain what is due, then every watch still on is taken off. */
	dispatch_until(final_done, 4 * PERIOD_MS);
	check_counts(false);
	for (size_t k = 0; k < fz.nrec; k++)
		if (!fz.rec[k].unwatched && fz.rec[k].slot >= 0)
			do_unwatch(fz.rec[k].id);
	check_counts(true);
	memory_cycles();
	end_with_free();

	atomic_store(&fz.watchdog_off, true);
	pthread_join(dog, NULL);
	for (int i = 0; i < POOL; i++) {
		close(fz.slot[i].srv);
		if (fz.slot[i].cli >= 0)
			close(fz.slot[i].cli);
		free(fz.slot[i].own);
	}
	close(fz.lfd);
	if (count_fds() != fds0)
		broken("%d fds open at the end, %d at the start", count_fds(),
		       fds0);
	free(fz.rec);
	free(fz.map);
	fprintf(stderr,
		"fuzz_api: seed %" PRIu64 ", config %s: clean: %" PRIu64
		" watches, %" PRIu64 " unwatches (%" PRIu64 " -ENOENT), "
		"callbacks: %" PRIu64 " on_hangup, %" PRIu64 " on_compare, "
		"%" PRIu64 " on_stall\n",
		fz.seed, fz.cfg->name, fz.watch_ok, fz.unwatch_ok,
		fz.unwatch_enoent, fz.cb_hangup, fz.cb_compare, fz.cb_stall);
	return 0;
}
