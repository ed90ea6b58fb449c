/* SPDX-License-Identifier: MIT */
/*
 * fixture: loopback pairs, client actions, an event recorder, bounded
 * dispatch loops, and the monitors, checks and test-case helpers the
 * suites share. See fixture.h.
 *
 * On loopback a blocking connect() returns once the handshake is done and
 * the connection sits in the listener's accept queue, so fx_pair() can
 * accept right after it (with a bounded poll as a guard).
 */
#include "fixture.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Upper bound on dispatch rounds in one fx_dispatch_* call, on top of the
 * deadline, so no loop can run unbounded even if time stood still. */
#define FX_MAX_ROUNDS 1000000
#define FX_SLICE_MS   50

/* --- environment ------------------------------------------------------- */

double fx_scale(void)
{
	const char *s = getenv("HUPMON_TEST_SCALE");

	if (s && strcmp(s, "small") == 0)
		return 0.2;
	return 1.0;
}

int fx_scaled(int n)
{
	int v = (int)(n * fx_scale());

	return v < 1 ? 1 : v;
}

uint64_t fx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int fx_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	ck_assert_msg(d != NULL, "opendir /proc/self/fd: %s", strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n - 1; /* the directory stream's own fd */
}

static int fds_at_setup = -1;

void fx_setup(void)
{
	fds_at_setup = fx_count_fds();
}

void fx_teardown(void)
{
	int now;

	fx_listeners_close();
	now = fx_count_fds();
	ck_assert_msg(now == fds_at_setup,
		      "fd leak: %d fds open before the test, %d after",
		      fds_at_setup, now);
}

/* --- loopback pairs ---------------------------------------------------- */

static int listeners[2] = {-1, -1}; /* [0] IPv4, [1] IPv6 */
static int family_state[2];	    /* 0 unknown, 1 usable, -1 not */

static int fam_index(int family)
{
	ck_assert_msg(family == AF_INET || family == AF_INET6, "bad family %d",
		      family);
	return family == AF_INET ? 0 : 1;
}

const char *fx_family_name(int family)
{
	return family == AF_INET6 ? "ipv6" : "ipv4";
}

static socklen_t loopback_addr(int family, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		return sizeof(*sin6);
	}
}

/* Opens (or returns the cached) listener; 0 or -errno. */
static int listener_get(int family, int *out)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback_addr(family, &ss);
	int i = fam_index(family);
	int one = 1;
	int fd, err;

	if (listeners[i] >= 0) {
		*out = listeners[i];
		return 0;
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	if (listen(fd, 4096) < 0)
		goto fail;
	listeners[i] = fd;
	*out = fd;
	return 0;
fail:
	err = -errno;
	close(fd);
	return err;
}

void fx_listeners_close(void)
{
	for (int i = 0; i < 2; i++) {
		if (listeners[i] >= 0)
			close(listeners[i]);
		listeners[i] = -1;
	}
}

bool fx_family_available(int family)
{
	int i = fam_index(family);
	int fd, rc;

	if (family_state[i] == 0) {
		rc = listener_get(family, &fd);
		family_state[i] = rc == 0 ? 1 : -1;
		if (rc < 0)
			printf("note: %s loopback unavailable (%s): "
			       "skipping its cases\n",
			       fx_family_name(family), strerror(-rc));
	}
	return family_state[i] == 1;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_port;
	return ((const struct sockaddr_in6 *)ss)->sin6_port;
}

int fx_pair(int family, int *server_fd, int *client_fd)
{
	struct sockaddr_storage laddr, caddr, peer;
	socklen_t llen = sizeof(laddr), clen = sizeof(caddr);
	socklen_t plen = sizeof(peer);
	struct pollfd pfd;
	int lfd, cfd, sfd, rc;

	rc = listener_get(family, &lfd);
	if (rc < 0)
		return rc;
	if (getsockname(lfd, (struct sockaddr *)&laddr, &llen) < 0)
		return -errno;
	cfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0)
		return -errno;
	if (connect(cfd, (struct sockaddr *)&laddr, llen) < 0)
		goto fail_client;
	if (getsockname(cfd, (struct sockaddr *)&caddr, &clen) < 0)
		goto fail_client;
	pfd.fd = lfd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	rc = poll(&pfd, 1, 2000);
	if (rc < 0)
		goto fail_client;
	if (rc == 0) {
		close(cfd);
		return -ETIMEDOUT;
	}
	sfd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
	if (sfd < 0)
		goto fail_client;
	/* One connect at a time, so the accepted end must be ours. */
	if (port_of(&peer) != port_of(&caddr)) {
		close(sfd);
		close(cfd);
		return -EPROTO;
	}
	*server_fd = sfd;
	*client_fd = cfd;
	return 0;
fail_client:
	rc = -errno;
	close(cfd);
	return rc;
}

uint64_t fx_close_fin(int fd)
{
	uint64_t t = fx_now_ns();

	ck_assert_msg(close(fd) == 0, "close: %s", strerror(errno));
	return t;
}

uint64_t fx_close_rst(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	uint64_t t;

	ck_assert_msg(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) ==
			      0,
		      "SO_LINGER: %s", strerror(errno));
	t = fx_now_ns();
	ck_assert_msg(close(fd) == 0, "close: %s", strerror(errno));
	return t;
}

uint64_t fx_half_close(int fd)
{
	uint64_t t = fx_now_ns();

	ck_assert_msg(shutdown(fd, SHUT_WR) == 0, "shutdown: %s",
		      strerror(errno));
	return t;
}

uint64_t fx_data_then_fin(int fd)
{
	static const char data[] = "bye!";
	uint64_t t = fx_now_ns();
	ssize_t n = send(fd, data, sizeof(data) - 1, MSG_NOSIGNAL);

	ck_assert_msg(n == (ssize_t)sizeof(data) - 1, "send: %zd (%s)", n,
		      strerror(errno));
	ck_assert_msg(close(fd) == 0, "close: %s", strerror(errno));
	return t;
}

short fx_wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	uint64_t end = fx_now_ns() + (uint64_t)timeout_ms * 1000000u;

	for (int i = 0; i < 1000; i++) {
		uint64_t now = fx_now_ns();
		int rc;

		if (now >= end)
			break;
		rc = poll(&pfd, 1, (int)((end - now) / 1000000u) + 1);
		if (rc > 0)
			return pfd.revents;
		ck_assert_msg(rc == 0 || errno == EINTR, "poll: %s",
			      strerror(errno));
	}
	return 0;
}

uint64_t fx_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15u;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1du;
}

uint64_t fx_seed(const char *what)
{
	const char *s = getenv("HUPMON_TEST_SEED");
	uint64_t seed;

	if (s && *s)
		seed = strtoull(s, NULL, 0);
	else
		seed = fx_now_ns() ^ ((uint64_t)getpid() << 32);
	if (seed == 0)
		seed = 1;
	printf("%s: seed %llu (set HUPMON_TEST_SEED to replay)\n", what,
	       (unsigned long long)seed);
	fflush(stdout);
	return seed;
}

/* --- event recorder ---------------------------------------------------- */

void fx_rec_init(struct fx_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	ck_assert_int_eq(pthread_mutex_init(&rec->lock, NULL), 0);
}

void fx_rec_destroy(struct fx_rec *rec)
{
	pthread_mutex_destroy(&rec->lock);
	free(rec->ev);
	free(rec->cmp);
	memset(rec, 0, sizeof(*rec));
}

/* Grows *arr to hold one more element of size sz; aborts on ENOMEM since a
 * callback has no way to fail. */
static void *grow(void *arr, size_t *cap, size_t n, size_t sz)
{
	void *p;

	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 64;
	p = realloc(arr, *cap * sz);
	if (!p) {
		fprintf(stderr, "fixture: out of memory\n");
		abort();
	}
	return p;
}

void fx_rec_on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct fx_rec *rec = arg;

	pthread_mutex_lock(&rec->lock);
	rec->ev = grow(rec->ev, &rec->cap_ev, rec->n_ev, sizeof(*rec->ev));
	rec->ev[rec->n_ev++] = *ev;
	pthread_mutex_unlock(&rec->lock);
	if (rec->on_event)
		rec->on_event(rec, ev);
}

void fx_rec_on_compare(const struct hupmon_compare *cmp, void *arg)
{
	struct fx_rec *rec = arg;

	pthread_mutex_lock(&rec->lock);
	rec->cmp = grow(rec->cmp, &rec->cap_cmp, rec->n_cmp, sizeof(*rec->cmp));
	rec->cmp[rec->n_cmp++] = *cmp;
	pthread_mutex_unlock(&rec->lock);
	if (rec->on_compare)
		rec->on_compare(rec, cmp);
}

/* Counts events matching id (0: any) and cause (NONE: any). */
static size_t count_match(struct fx_rec *rec, hupmon_id id,
			  enum hupmon_cause cause)
{
	size_t n = 0;

	pthread_mutex_lock(&rec->lock);
	for (size_t i = 0; i < rec->n_ev; i++) {
		if (id && rec->ev[i].id != id)
			continue;
		if (cause != HUPMON_CAUSE_NONE && rec->ev[i].cause != cause)
			continue;
		n++;
	}
	pthread_mutex_unlock(&rec->lock);
	return n;
}

size_t fx_rec_count(struct fx_rec *rec)
{
	return count_match(rec, 0, HUPMON_CAUSE_NONE);
}

size_t fx_rec_count_id(struct fx_rec *rec, hupmon_id id)
{
	ck_assert(id != 0);
	return count_match(rec, id, HUPMON_CAUSE_NONE);
}

size_t fx_rec_count_cause(struct fx_rec *rec, enum hupmon_cause cause)
{
	ck_assert(cause != HUPMON_CAUSE_NONE);
	return count_match(rec, 0, cause);
}

size_t fx_rec_count_id_cause(struct fx_rec *rec, hupmon_id id,
			     enum hupmon_cause cause)
{
	ck_assert(id != 0 && cause != HUPMON_CAUSE_NONE);
	return count_match(rec, id, cause);
}

bool fx_rec_event(struct fx_rec *rec, size_t i, struct hupmon_event *out)
{
	bool found = false;

	pthread_mutex_lock(&rec->lock);
	if (i < rec->n_ev) {
		*out = rec->ev[i];
		found = true;
	}
	pthread_mutex_unlock(&rec->lock);
	return found;
}

bool fx_rec_find(struct fx_rec *rec, hupmon_id id, size_t nth,
		 struct hupmon_event *out)
{
	bool found = false;

	pthread_mutex_lock(&rec->lock);
	for (size_t i = 0; i < rec->n_ev && !found; i++) {
		if (rec->ev[i].id != id)
			continue;
		if (nth-- == 0) {
			*out = rec->ev[i];
			found = true;
		}
	}
	pthread_mutex_unlock(&rec->lock);
	return found;
}

size_t fx_rec_count_cmp(struct fx_rec *rec)
{
	size_t n;

	pthread_mutex_lock(&rec->lock);
	n = rec->n_cmp;
	pthread_mutex_unlock(&rec->lock);
	return n;
}

size_t fx_rec_count_cmp_id(struct fx_rec *rec, hupmon_id id)
{
	size_t n = 0;

	pthread_mutex_lock(&rec->lock);
	for (size_t i = 0; i < rec->n_cmp; i++)
		n += rec->cmp[i].id == id;
	pthread_mutex_unlock(&rec->lock);
	return n;
}

bool fx_rec_cmp(struct fx_rec *rec, size_t i, struct hupmon_compare *out)
{
	bool found = false;

	pthread_mutex_lock(&rec->lock);
	if (i < rec->n_cmp) {
		*out = rec->cmp[i];
		found = true;
	}
	pthread_mutex_unlock(&rec->lock);
	return found;
}

bool fx_rec_find_cmp(struct fx_rec *rec, hupmon_id id,
		     struct hupmon_compare *out)
{
	bool found = false;

	pthread_mutex_lock(&rec->lock);
	for (size_t i = 0; i < rec->n_cmp && !found; i++) {
		if (rec->cmp[i].id == id) {
			*out = rec->cmp[i];
			found = true;
		}
	}
	pthread_mutex_unlock(&rec->lock);
	return found;
}

/* --- dispatching ------------------------------------------------------- */

static int dispatch_once(hupmon *m, int timeout_ms)
{
	int rc = hupmon_dispatch(m, timeout_ms);

	ck_assert_msg(rc >= 0, "hupmon_dispatch: %d (%s)", rc, strerror(-rc));
	return rc;
}

bool fx_dispatch_until(hupmon *m, struct fx_rec *rec, fx_pred *pred, void *arg,
		       int deadline_ms)
{
	uint64_t end = fx_now_ns() + (uint64_t)deadline_ms * 1000000u;

	for (long i = 0; i < FX_MAX_ROUNDS; i++) {
		if (pred(m, rec, arg))
			return true;
		if (fx_now_ns() >= end)
			break;
		dispatch_once(m, FX_SLICE_MS);
	}
	return pred(m, rec, arg);
}

static bool pred_count(hupmon *m, struct fx_rec *rec, void *arg)
{
	(void)m;
	return fx_rec_count(rec) >= *(const size_t *)arg;
}

bool fx_dispatch_until_count(hupmon *m, struct fx_rec *rec, size_t n,
			     int deadline_ms)
{
	return fx_dispatch_until(m, rec, pred_count, &n, deadline_ms);
}

struct want_event {
	hupmon_id id;
	enum hupmon_cause cause;
};

static bool pred_event(hupmon *m, struct fx_rec *rec, void *arg)
{
	const struct want_event *w = arg;

	(void)m;
	return fx_rec_count_id_cause(rec, w->id, w->cause) > 0;
}

bool fx_dispatch_until_event(hupmon *m, struct fx_rec *rec, hupmon_id id,
			     enum hupmon_cause cause, int deadline_ms)
{
	struct want_event w = {.id = id, .cause = cause};

	return fx_dispatch_until(m, rec, pred_event, &w, deadline_ms);
}

static bool pred_cmp(hupmon *m, struct fx_rec *rec, void *arg)
{
	(void)m;
	return fx_rec_count_cmp(rec) >= *(const size_t *)arg;
}

bool fx_dispatch_until_cmp(hupmon *m, struct fx_rec *rec, size_t n,
			   int deadline_ms)
{
	return fx_dispatch_until(m, rec, pred_cmp, &n, deadline_ms);
}

long fx_dispatch_for(hupmon *m, int ms)
{
	uint64_t end = fx_now_ns() + (uint64_t)ms * 1000000u;
	long sum = 0;

	for (long i = 0; i < FX_MAX_ROUNDS; i++) {
		uint64_t now = fx_now_ns();
		uint64_t left_ms;

		if (now >= end)
			break;
		left_ms = (end - now) / 1000000u + 1;
		sum += dispatch_once(m, left_ms < FX_SLICE_MS ? (int)left_ms
							      : FX_SLICE_MS);
	}
	return sum;
}

void fx_close_random(int *c, enum hupmon_cause *want, int n, int k,
		     uint64_t *seed)
{
	int *order = calloc((size_t)n, sizeof(*order));

	ck_assert_ptr_nonnull(order);
	ck_assert_int_le(k, n);
	for (int i = 0; i < n; i++)
		order[i] = i;
	/* Partial Fisher-Yates: order[0..k) are the sockets to close. */
	for (int i = 0; i < k; i++) {
		int j = i + (int)(fx_rand(seed) % (uint64_t)(n - i));
		int tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
	for (int i = 0; i < k; i++) {
		int x = order[i];

		if (fx_rand(seed) & 1) {
			fx_close_rst(c[x]);
			want[x] = HUPMON_CAUSE_RESET;
		} else {
			fx_close_fin(c[x]);
			want[x] = HUPMON_CAUSE_PEER_SHUTDOWN;
		}
		c[x] = -1;
	}
	free(order);
}

/* --- monitors and their reports --------------------------------------- */

int fx_family_of(int i)
{
	return i % 2 == 0 ? AF_INET : AF_INET6;
}

enum hupmon_sweep_method fx_method_of(int i)
{
	return (i / 2) % 2 == 0 ? HUPMON_SWEEP_TCP_INFO : HUPMON_SWEEP_PEEK;
}

const char *fx_method_name(enum hupmon_sweep_method m)
{
	return m == HUPMON_SWEEP_PEEK ? "peek" : "tcp_info";
}

static hupmon *new_monitor(struct fx_rec *rec, struct hupmon_config *cfg)
{
	hupmon *m = NULL;
	int rc;

	cfg->on_hangup = fx_rec_on_hangup;
	cfg->arg = rec;
	rc = hupmon_new(cfg, &m);
	ck_assert_msg(rc == 0, "hupmon_new: %d", rc);
	ck_assert_ptr_nonnull(m);
	return m;
}

hupmon *fx_new_epoll_monitor(struct fx_rec *rec, bool no_touch)
{
	struct hupmon_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.paths = HUPMON_PATH_EPOLL;
	cfg.no_touch = no_touch;
	return new_monitor(rec, &cfg);
}

hupmon *fx_new_sweep_monitor(struct fx_rec *rec,
			     enum hupmon_sweep_method method, unsigned paths,
			     bool compare, bool no_touch)
{
	struct hupmon_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.paths = paths;
	cfg.sweep_method = method;
	cfg.sweep_period_ms = FX_SWEEP_PERIOD_MS;
	cfg.sweep_tick_ms = FX_SWEEP_TICK_MS;
	cfg.compare = compare;
	cfg.on_compare = compare ? fx_rec_on_compare : NULL;
	cfg.no_touch = no_touch;
	return new_monitor(rec, &cfg);
}

void fx_check_event(const struct hupmon_event *ev, enum hupmon_path path,
		    hupmon_id id, int fd, void *user, enum hupmon_cause cause,
		    int error, bool escalation, uint64_t after_ns)
{
	ck_assert_uint_eq(ev->id, id);
	ck_assert_int_eq(ev->fd, fd);
	ck_assert_ptr_eq(ev->user, user);
	ck_assert_msg(ev->path == path, "path %s, want %s",
		      hupmon_path_name(ev->path), hupmon_path_name(path));
	ck_assert_msg(ev->cause == cause, "cause %s, want %s",
		      hupmon_cause_name(ev->cause), hupmon_cause_name(cause));
	ck_assert_msg(ev->error == error, "error %d (%s), want %d (%s)",
		      ev->error, strerror(ev->error), error, strerror(error));
	ck_assert_int_eq(ev->escalation, escalation);
	ck_assert_msg(ev->detected_ns >= after_ns &&
			      ev->detected_ns <= fx_now_ns(),
		      "detected_ns %llu outside [%llu, now]",
		      (unsigned long long)ev->detected_ns,
		      (unsigned long long)after_ns);
}

uint64_t fx_sum_cells(const uint64_t t[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT])
{
	uint64_t n = 0;

	for (int p = 0; p < 3; p++)
		for (int k = 0; k <= HUPMON_CAUSE_MAX; k++)
			n += t[p][k];
	return n;
}

static bool pred_laps(hupmon *m, struct fx_rec *rec, void *arg)
{
	struct hupmon_stats st;

	(void)rec;
	hupmon_stats(m, &st);
	return st.sweep_laps >= *(const uint64_t *)arg;
}

void fx_wait_laps(hupmon *m, struct fx_rec *rec, unsigned n)
{
	struct hupmon_stats st;
	uint64_t target;

	hupmon_stats(m, &st);
	target = st.sweep_laps + n;
	ck_assert_msg(fx_dispatch_until(m, rec, pred_laps, &target,
					FX_SWEEP_LAPS_MS(n)),
		      "the sweep did not complete %u laps", n);
}

void fx_quiet_laps(hupmon *m, struct fx_rec *rec, unsigned n)
{
	struct hupmon_stats st;

	hupmon_stats(m, &st);
	if (st.swept > 0)
		fx_wait_laps(m, rec, n);
	else
		fx_dispatch_for(m, (int)n * FX_SWEEP_PERIOD_MS);
}

/* --- running a suite --------------------------------------------------- */

void fx_add_case(struct Suite *su, const char *name, const struct TTest *t,
		 int loops, int timeout_s)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, timeout_s);
	if (loops > 0)
		tcase_add_loop_test(tc, t, 0, loops);
	else
		tcase_add_test(tc, t);
	suite_add_tcase(su, tc);
}

int fx_run_suite(struct Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

hupmon_id fx_watch_ok(hupmon *m, int fd, void *user)
{
	hupmon_id id = 0;
	int rc = hupmon_watch(m, fd, user, &id);

	ck_assert_msg(rc == 0, "hupmon_watch(%d): %d (%s)", fd, rc,
		      strerror(-rc));
	ck_assert_msg(id != 0, "hupmon_watch gave id 0");
	return id;
}

void fx_unwatch_ok(hupmon *m, hupmon_id id)
{
	int rc = hupmon_unwatch(m, id);

	ck_assert_msg(rc == 0, "hupmon_unwatch: %d", rc);
}

void fx_close_ok(int fd)
{
	if (fd >= 0)
		ck_assert_msg(close(fd) == 0, "close(%d): %s", fd,
			      strerror(errno));
}

void fx_get_stats(hupmon *m, struct hupmon_stats *st)
{
	memset(st, 0xa5, sizeof(*st));
	hupmon_stats(m, st);
}

uint64_t fx_act(enum fx_action a, int *c)
{
	uint64_t t;

	switch (a) {
	case FX_FIN:
		t = fx_close_fin(*c);
		break;
	case FX_RST:
		t = fx_close_rst(*c);
		break;
	case FX_DATA_FIN:
		t = fx_data_then_fin(*c);
		break;
	case FX_HALF:
	default:
		return fx_half_close(*c); /* the client end stays open */
	}
	*c = -1;
	return t;
}

void fx_pair_ok(int family, int *server_fd, int *client_fd)
{
	int rc = fx_pair(family, server_fd, client_fd);

	ck_assert_msg(rc == 0, "fx_pair(%s): %s", fx_family_name(family),
		      strerror(-rc));
}

/* --- stall reports ----------------------------------------------------- */

void fx_stall_log_on_stall(const struct hupmon_stall_event *ev, void *arg)
{
	struct fx_stall_log *l = arg;

	if (l->nst < FX_STALL_LOG_MAX)
		l->st[l->nst++] = *ev;
}

void fx_stall_log_on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct fx_stall_log *l = arg;

	if (l->nhup < FX_STALL_LOG_MAX)
		l->hup[l->nhup++] = *ev;
}

/* A loopback pair whose client has a small receive buffer (set before
 * connect, so the window scale stays small): the server's writes shut its
 * window within a few KiB. Both ends are non-blocking. */
void fx_small_pair(int *srv, int *cli)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int rcv = 4096, snd = 16384;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	*cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*cli, 0);
	ck_assert_int_eq(
		setsockopt(*cli, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)), 0);
	ck_assert_int_eq(connect(*cli, (struct sockaddr *)&a, sizeof(a)), 0);
	*srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	ck_assert_int_ge(*srv, 0);
	ck_assert_int_eq(
		setsockopt(*srv, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd)), 0);
	close(lfd);
	ck_assert_int_eq(fcntl(*cli, F_SETFL, O_NONBLOCK), 0);
}

/* Writes until the send buffer is full (EAGAIN); returns bytes written. */
size_t fx_fill(int fd)
{
	static char buf[4096];
	size_t total = 0;

	for (int i = 0; i < 100000; i++) {
		ssize_t n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);

		if (n < 0) {
			ck_assert_int_eq(errno, EAGAIN);
			break;
		}
		total += (size_t)n;
	}
	return total;
}

/* Reads what is there (non-blocking); returns bytes read. */
size_t fx_drain(int fd)
{
	char buf[65536];
	size_t total = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n <= 0)
			return total;
		total += (size_t)n;
	}
}
