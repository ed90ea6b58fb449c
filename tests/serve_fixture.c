/* SPDX-License-Identifier: MIT */
/*
 * serve_fixture: see serve_fixture.h.
 */
#include "serve_fixture.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "serve/addr.h"

static void on_record(const struct serve_record *rec, void *arg)
{
	struct sfx *x = arg;

	pthread_mutex_lock(&x->lock);
	if (x->n < SFX_RECORDS)
		x->rec[x->n++] = *rec;
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
}

void sfx_start(struct sfx *x, enum serve_mode mode, enum serve_loop loop,
	       enum serve_half_close half, unsigned workers)
{
	struct serve_opts o = {
		.workers = workers,
		.mode = mode,
		.half_close = half,
		.loop = loop,
	};

	sfx_start_opts(x, &o);
}

void sfx_start_opts(struct sfx *x, const struct serve_opts *opts)
{
	struct serve_opts o = *opts;
	pthread_condattr_t ca;
	int rc;

	o.on_record = on_record;
	o.arg = x;
	o.workers_nice = true;
	memset(x, 0, sizeof(*x));
	pthread_mutex_init(&x->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&x->cond, &ca);
	pthread_condattr_destroy(&ca);
	rc = serve_start(&o, &x->srv);
	ck_assert_msg(rc == 0, "serve_start: %s", strerror(-rc));
}

void sfx_stop(struct sfx *x)
{
	serve_stop(x->srv);
	x->srv = NULL;
	pthread_cond_destroy(&x->cond);
	pthread_mutex_destroy(&x->lock);
}

uint16_t sfx_port(const struct sfx *x)
{
	return serve_port(x->srv);
}

struct serve_counters sfx_counters(struct sfx *x)
{
	uint64_t end = fx_now_ns() + 2000000000u;
	struct timespec pause = {0, 1000000};
	struct serve_counters n;

	for (;;) {
		serve_counters(x->srv, &n);
		if (n.requests == serve_completed(&n) + serve_cancelled(&n) +
					  serve_failed(&n) ||
		    fx_now_ns() > end)
			return n;
		nanosleep(&pause, NULL);
	}
}

bool sfx_record(struct sfx *x, uint64_t id, int ms, struct serve_record *out)
{
	uint64_t end = fx_now_ns() + (uint64_t)ms * 1000000u;
	struct timespec ts = {(time_t)(end / 1000000000u),
			      (long)(end % 1000000000u)};
	bool found = false;

	pthread_mutex_lock(&x->lock);
	for (;;) {
		for (size_t i = 0; !found && i < x->n; i++) {
			if (x->rec[i].req_id == id) {
				*out = x->rec[i];
				found = true;
			}
		}
		if (found || pthread_cond_timedwait(&x->cond, &x->lock, &ts))
			break;
	}
	pthread_mutex_unlock(&x->lock);
	return found;
}

/* What wait_counts() waits for. */
enum sfx_count { SFX_WATCHED, SFX_REQUESTS, SFX_WATCHED_TCP, SFX_WATCHED_UNIX };

static uint64_t count_of(const struct hupmon_stats *st,
			 const struct serve_counters *c, enum sfx_count w)
{
	switch (w) {
	case SFX_WATCHED:
		return st->watched;
	case SFX_REQUESTS:
		return c->requests;
	case SFX_WATCHED_TCP:
		return st->watched_tcp;
	case SFX_WATCHED_UNIX:
		return st->watched_unix;
	}
	return UINT64_MAX;
}

/* Waits at most ms until the counts asked for (what[i] is want[i] for i <
 * k) hold at once. */
static bool wait_counts(struct sfx *x, const enum sfx_count *what,
			const uint64_t *want, int k, int ms)
{
	uint64_t end = fx_now_ns() + (uint64_t)ms * 1000000u;
	struct timespec pause = {0, 1000000};

	for (;;) {
		struct hupmon_stats st;
		struct serve_counters c;
		bool all = true;

		hupmon_stats(serve_monitor(x->srv), &st);
		serve_counters(x->srv, &c);
		for (int i = 0; i < k; i++)
			all &= count_of(&st, &c, what[i]) == want[i];
		if (all)
			return true;
		if (fx_now_ns() > end)
			return false;
		nanosleep(&pause, NULL);
	}
}

bool sfx_watched(struct sfx *x, uint64_t n, int ms)
{
	const enum sfx_count what = SFX_WATCHED;

	return wait_counts(x, &what, &n, 1, ms);
}

bool sfx_requests(struct sfx *x, uint64_t n, int ms)
{
	const enum sfx_count what = SFX_REQUESTS;

	return wait_counts(x, &what, &n, 1, ms);
}

bool sfx_watched_by_family(struct sfx *x, uint64_t tcp, uint64_t unix_n, int ms)
{
	const enum sfx_count what[] = {SFX_WATCHED_TCP, SFX_WATCHED_UNIX};
	const uint64_t want[] = {tcp, unix_n};

	return wait_counts(x, what, want, 2, ms);
}

void sfx_dir_make(char dir[32])
{
	snprintf(dir, 32, "/tmp/hsfx-XXXXXX");
	ck_assert_msg(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

const char *sfx_dir_path(const char *dir, const char *name, char path[64])
{
	snprintf(path, 64, "%s/%s", dir, name);
	return path;
}

void sfx_dir_remove(const char *dir)
{
	ck_assert_msg(rmdir(dir) == 0, "rmdir %s: %s (a file left in it?)", dir,
		      strerror(errno));
}

int sfx_dial_unix(const struct sfx *x)
{
	const char *path = serve_options(x->srv)->unix_path;
	struct sockaddr_un a;
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_msg(path, "the server has no Unix listener");
	ck_assert_int_eq(serve_unix_parse(path, &a, &len), 0);
	ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
	ck_assert_msg(connect(fd, (struct sockaddr *)&a, len) == 0,
		      "connect %s: %s", path, strerror(errno));
	return fd;
}

int sfx_dial(const struct sfx *x)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons(serve_port(x->srv)),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int one = 1, fd;

	if (serve_options(x->srv)->no_tcp)
		return sfx_dial_unix(x);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ck_assert_msg(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0,
		      "connect: %s", strerror(errno));
	return fd;
}

void sfx_send(int fd, const char *s)
{
	size_t n = strlen(s);

	ck_assert_msg(send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n, "send: %s",
		      strerror(errno));
}

void sfx_send_work(int fd, unsigned ms, uint64_t id, int k)
{
	char buf[1024];
	size_t n = 0;

	for (int i = 0; i < k; i++)
		n += (size_t)http_format_work(buf + n, sizeof(buf) - n, ms,
					      id + (uint64_t)i);
	sfx_send(fd, buf);
}

void sfx_reset(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* sfx_read that copies the body (NUL-terminated, cut to cap) into body. */
static int read_body(struct sfx_reader *rd, int ms, struct http_resp *r,
		     char *body, size_t cap)
{
	uint64_t end = fx_now_ns() + (uint64_t)ms * 1000000u;

	for (;;) {
		long n = http_parse_response(rd->buf, rd->len, r);
		struct pollfd pfd = {.fd = rd->fd, .events = POLLIN};
		uint64_t now = fx_now_ns();
		ssize_t got;

		ck_assert_int_ge(n, 0);
		if (n > 0) {
			size_t k = r->body_len < cap ? r->body_len : cap - 1;

			if (cap) {
				memcpy(body, rd->buf + r->body_off, k);
				body[k] = '\0';
			}
			rd->len -= (size_t)n;
			memmove(rd->buf, rd->buf + n, rd->len);
			return r->status;
		}
		if (now >= end || rd->len == sizeof(rd->buf))
			return -1;
		if (poll(&pfd, 1, (int)((end - now) / 1000000u) + 1) <= 0)
			continue;
		got = recv(rd->fd, rd->buf + rd->len, sizeof(rd->buf) - rd->len,
			   0);
		if (got <= 0)
			return 0;
		rd->len += (size_t)got;
	}
}

int sfx_read(struct sfx_reader *rd, int ms, struct http_resp *r)
{
	return read_body(rd, ms, r, NULL, 0);
}

bool sfx_metric(struct sfx_reader *rd, const char *name, uint64_t *v)
{
	static char body[65536];
	struct http_resp h;
	size_t n = strlen(name);

	sfx_send(rd->fd, "GET /metrics HTTP/1.1\r\n\r\n");
	if (read_body(rd, 2000, &h, body, sizeof(body)) != 200)
		return false;
	for (const char *p = body; p && *p; p = strchr(p, '\n'), p += !!p) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ') {
			*v = strtoull(p + n + 1, NULL, 10);
			return true;
		}
	}
	return false;
}
