/* SPDX-License-Identifier: MIT */
/*
 * check_serve_curl: hupmon-serve (bench/serve/server.h) against clients nobody
 * here wrote: curl, promtool and, when it is installed, a real Prometheus
 * server scraping it; and the hupmon-serve program itself.
 *
 *   - curl --max-time 0.3 on /work?ms=5000 gives up with a FIN: with the
 *     default policy the request is cancelled, cause PEER_SHUTDOWN, within
 *     2 s; with the wait policy it runs to its end and is answered to a
 *     client that had half-closed (the write succeeds; curl's kernel
 *     answers it with an RST);
 *   - requests curl waits for complete and are never cancelled;
 *   - /metrics passes promtool check metrics;
 *   - Prometheus (scrape_interval 1s, storage in a temporary folder, a free
 *     loopback port) sees the server up and the same cancellation count;
 *   - over the --unix listener (curl --unix-socket, a short folder under
 *     /tmp): curl giving up is a close, HANGUP, cancelled within 2 s under
 *     either half-close policy; a patient curl is answered; the program
 *     replaces a stale socket file, removes its own at SIGINT and SIGTERM,
 *     refuses a regular file (exit 1, left in place) and a name too long
 *     for sun_path (exit 2).
 *
 * Without curl (or a curl without --unix-socket) or promtool on PATH the
 * suite prints why and exits 77 (the CTest skip code). Without the prometheus
 * binary that one test says so and passes. Loopback only; every wait bounded.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "serve/server.h"
#include "serve_fixture.h"

#define SOON_MS 2000

/* ---- child processes -------------------------------------------------- */

/* Starts argv (PATH searched) with stdin from /dev/null and stdout and
 * stderr into out (NULL: /dev/null). Returns its pid, or -1. */
static pid_t spawn(char *const argv[], const char *out)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return rc ? -1 : pid;
}

/* Waits at most ms for pid; kills it (SIGKILL) if it is still there.
 * Returns its exit status, 128 + its signal, or -2 if it was killed. */
static int reap(pid_t pid, int ms)
{
	uint64_t end = fx_now_ns() + (uint64_t)ms * 1000000u;
	struct timespec pause = {0, 2000000};
	int st;

	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (fx_now_ns() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -2;
		}
		nanosleep(&pause, NULL);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs argv to its end (at most 30 s). */
static int run(char *const argv[], const char *out)
{
	pid_t pid = spawn(argv, out);

	return pid < 0 ? -1 : reap(pid, 30000);
}

/* The whole of a small file, NUL-terminated, into buf. */
static char *slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, cap - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

/* curl with its options, the URL http://127.0.0.1:port<path> last; with
 * sock, through the Unix socket at sock (the URL's host then unused). */
static int curl_via(const char *sock, uint16_t port, const char *path,
		    const char *max_time, const char *out)
{
	char url[320];
	char *argv[] = {"curl",
			"-sS",
			"-g",
			"--noproxy",
			"*",
			"--max-time",
			(char *)max_time,
			"-H",
			"X-Request-Id: 7",
			url,
			sock ? "--unix-socket" : NULL,
			(char *)sock,
			NULL};

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	return run(argv, out);
}

static int curl(uint16_t port, const char *path, const char *max_time,
		const char *out)
{
	return curl_via(NULL, port, path, max_time, out);
}

static char tmpdir[64]; /* this test's scratch folder */

static void scratch_make(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hupmon-serve-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void scratch_remove(void)
{
	ck_assert_int_eq(nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static const char *scratch(const char *name)
{
	static char path[2][128];
	static int turn;

	turn ^= 1;
	snprintf(path[turn], sizeof(path[turn]), "%s/%s", tmpdir, name);
	return path[turn];
}

/* ---- curl ------------------------------------------------------------- */

/* curl gives up after 0.3 s (FIN): the request is cancelled within 2 s. */
static void curl_cancel(struct sfx *x)
{
	struct serve_record r;

	ck_assert_int_eq(curl(sfx_port(x), "/work?ms=5000", "0.3", NULL), 28);
	ck_assert_msg(sfx_record(x, 7, SOON_MS, &r),
		      "no cancellation within 2 s of curl's departure");
	ck_assert_int_eq(r.outcome, SERVE_CANCELLED);
	ck_assert_int_eq(r.cause, HUPMON_CAUSE_PEER_SHUTDOWN);
	ck_assert(r.half_closed);
	ck_assert_uint_lt(r.cpu_ns, 5000000000u);
}

START_TEST(test_curl_cancel)
{
	enum serve_mode mode = (enum serve_mode)(1 + _i % 3);
	enum serve_loop loop = _i < 3 ? SERVE_LOOP_THREAD : SERVE_LOOP_ACCEPTOR;
	struct sfx x;
	struct serve_counters n;

	sfx_start(&x, mode, loop, SERVE_HALF_CANCEL, 1);
	curl_cancel(&x);
	n = sfx_counters(&x);
	ck_assert_uint_eq(n.cancelled[HUPMON_CAUSE_PEER_SHUTDOWN][1], 1);
	ck_assert_uint_eq(serve_cancelled(&n), 1);
	ck_assert_uint_eq(n.half_close[0], 1);
	sfx_stop(&x);
}
END_TEST

/* Wait policy: the request curl left runs to its end and is answered. */
START_TEST(test_curl_wait_policy)
{
	struct sfx x;
	struct serve_record r;
	struct serve_counters n;

	sfx_start(&x, SERVE_EPOLL, _i ? SERVE_LOOP_ACCEPTOR : SERVE_LOOP_THREAD,
		  SERVE_HALF_WAIT, 1);
	ck_assert_int_eq(curl(sfx_port(&x), "/work?ms=1000", "0.3", NULL), 28);
	ck_assert(sfx_record(&x, 7, 30000, &r));
	ck_assert_int_eq(r.outcome, SERVE_COMPLETED);
	ck_assert(r.half_closed);
	ck_assert_uint_ge(r.cpu_ns, 1000000000u);
	n = sfx_counters(&x);
	ck_assert_uint_eq(n.completed[1], 1);
	ck_assert_uint_eq(n.half_close[1], 1);
	ck_assert_uint_eq(serve_cancelled(&n) + serve_failed(&n), 0);
	sfx_stop(&x);
}
END_TEST

/* Two requests curl waits for, on one connection: both complete, neither
 * is cancelled, and the connection is watched only while each is in
 * flight. */
START_TEST(test_curl_completes)
{
	struct sfx x;
	struct serve_counters n;
	struct hupmon_stats st;
	char url2[128], body[256];
	char *argv[] = {"curl",	      "-sS", "-g", "--noproxy", "*",
			"--max-time", "30",  url2, url2,	NULL};

	scratch_make();
	sfx_start(&x, (enum serve_mode)_i, SERVE_LOOP_THREAD, SERVE_HALF_CANCEL,
		  0);
	snprintf(url2, sizeof(url2), "http://127.0.0.1:%u/work?ms=20",
		 sfx_port(&x));
	ck_assert_int_eq(run(argv, scratch("out")), 0);
	ck_assert_str_eq(slurp(scratch("out"), body, sizeof(body)),
			 "worked 20 ms\nworked 20 ms\n");
	n = sfx_counters(&x);
	ck_assert_uint_eq(n.completed[0], 2);
	ck_assert_uint_eq(serve_cancelled(&n) + serve_failed(&n), 0);
	hupmon_stats(serve_monitor(x.srv), &st);
	ck_assert_uint_eq(st.watches, _i == SERVE_OFF ? 0 : 2);
	ck_assert_uint_eq(st.watched, 0);
	sfx_stop(&x);
	scratch_remove();
}
END_TEST

/* ---- promtool --------------------------------------------------------- */

START_TEST(test_metrics_promtool)
{
	char *check[] = {"sh", "-c", NULL, NULL};
	char cmd[256], out[4096];
	struct sfx x;
	int rc;

	scratch_make();
	sfx_start(&x, (enum serve_mode)_i, SERVE_LOOP_THREAD, SERVE_HALF_CANCEL,
		  1);
	if (_i != SERVE_OFF)
		curl_cancel(&x);
	ck_assert_int_eq(curl(sfx_port(&x), "/work?ms=1", "30", NULL), 0);
	ck_assert_int_eq(curl(sfx_port(&x), "/metrics", "30", scratch("m")), 0);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", scratch("m"));
	check[2] = cmd;
	rc = run(check, scratch("promtool"));
	ck_assert_msg(rc == 0, "promtool check metrics: %d\n%s", rc,
		      slurp(scratch("promtool"), out, sizeof(out)));
	sfx_stop(&x);
	scratch_remove();
}
END_TEST

/* ---- Prometheus ------------------------------------------------------- */

/* A loopback port nobody listens on now. */
static uint16_t free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* GETs an API path from Prometheus into the file "api"; its text. */
static const char *api(uint16_t port, const char *path, char *buf, size_t cap)
{
	if (curl(port, path, "5", scratch("api")) != 0)
		return "";
	return slurp(scratch("api"), buf, cap);
}

/* The value of the first sample of an instant query, or -1. */
static double query(uint16_t port, const char *expr)
{
	char path[256], buf[4096];
	const char *v;

	snprintf(path, sizeof(path), "/api/v1/query?query=%s", expr);
	v = strstr(api(port, path, buf, sizeof(buf)), "\"value\":[");
	v = v ? strstr(v, ",\"") : NULL;
	return v ? strtod(v + 2, NULL) : -1;
}

/* Polls (every 100 ms, at most ms) until query(expr) == want. */
static double query_until(uint16_t port, const char *expr, double want, int ms)
{
	uint64_t end = fx_now_ns() + (uint64_t)ms * 1000000u;
	struct timespec pause = {0, 100000000};
	double v;

	while ((v = query(port, expr)) != want && fx_now_ns() < end)
		nanosleep(&pause, NULL);
	return v;
}

START_TEST(test_prometheus_scrapes)
{
	char listen[64], cfg_arg[160], data_arg[160], buf[8192];
	char *argv[] = {"prometheus", cfg_arg, data_arg, listen, NULL};
	char *probe[] = {"prometheus", "--version", NULL};
	uint64_t end = fx_now_ns() + 30000000000u;
	struct timespec pause = {0, 100000000};
	struct serve_counters n;
	struct sfx x;
	uint16_t port;
	pid_t pid;
	FILE *f;
	double own, got;
	bool up = false;

	if (run(probe, NULL) != 0) {
		printf("test_prometheus_scrapes: skipped: no prometheus "
		       "binary on PATH (Debian: apt-get install prometheus)\n");
		return;
	}
	scratch_make();
	sfx_start(&x, SERVE_EPOLL, SERVE_LOOP_THREAD, SERVE_HALF_CANCEL, 1);
	f = fopen(scratch("prometheus.yml"), "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"global:\n"
		"  scrape_interval: 1s\n"
		"  evaluation_interval: 1s\n"
		"scrape_configs:\n"
		"  - job_name: hupmon-serve\n"
		"    static_configs:\n"
		"      - targets: ['127.0.0.1:%u']\n",
		sfx_port(&x));
	fclose(f);
	port = free_port();
	snprintf(cfg_arg, sizeof(cfg_arg), "--config.file=%s",
		 scratch("prometheus.yml"));
	snprintf(data_arg, sizeof(data_arg), "--storage.tsdb.path=%s",
		 scratch("data"));
	snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%u",
		 port);
	pid = spawn(argv, scratch("prometheus.log"));
	ck_assert_int_gt(pid, 0);
	while (!up && fx_now_ns() < end) {
		up = strstr(api(port, "/api/v1/targets", buf, sizeof(buf)),
			    "\"health\":\"up\"") != NULL;
		if (!up)
			nanosleep(&pause, NULL);
	}
	if (up) {
		ck_assert(query_until(port, "up", 1, 30000) == 1);
		curl_cancel(&x);
		n = sfx_counters(&x);
		own = (double)serve_cancelled(&n);
		got = query_until(port, "sum(hupmon_serve_cancelled_total)",
				  own, 30000);
		ck_assert_msg(got == own && own == 1,
			      "Prometheus: %g cancelled, the server: %g", got,
			      own);
	}
	kill(pid, SIGTERM);
	ck_assert_int_eq(reap(pid, 10000), 0);
	ck_assert_msg(up, "Prometheus did not see the server up in 30 s:\n%s",
		      slurp(scratch("prometheus.log"), buf, sizeof(buf)));
	sfx_stop(&x);
	scratch_remove();
}
END_TEST

/* ---- the hupmon-serve program ----------------------------------------- */

START_TEST(test_program)
{
#ifdef HUPMON_SERVE_BIN
	char *argv[] = {HUPMON_SERVE_BIN,
			"--port",
			"0",
			"--workers",
			"1",
			"--loop",
			"acceptor",
			"--hupmon",
			"sweep",
			"--workers-nice",
			"--header-timeout",
			"5000",
			"--idle-timeout",
			"7000",
			NULL};
	static char buf[65536]; /* a whole /metrics */
	char *at;
	uint64_t end = fx_now_ns() + 10000000000u;
	struct timespec pause = {0, 10000000};
	unsigned port = 0;
	pid_t pid;

	scratch_make();
	pid = spawn(argv, scratch("serve.log"));
	ck_assert_int_gt(pid, 0);
	while (!port && fx_now_ns() < end) {
		at = strstr(slurp(scratch("serve.log"), buf, sizeof(buf)),
			    "http://127.0.0.1:");
		if (!at || sscanf(at, "http://127.0.0.1:%u/", &port) != 1)
			nanosleep(&pause, NULL);
	}
	ck_assert_msg(port, "no port printed:\n%s", buf);
	ck_assert_int_eq(curl((uint16_t)port, "/work?ms=5", "30", NULL), 0);
	ck_assert_int_eq(curl((uint16_t)port, "/work?ms=5000", "0.3", NULL),
			 28);
	ck_assert_int_eq(curl((uint16_t)port, "/metrics", "30", scratch("m")),
			 0);
	/* counted within 2 s of curl's departure: poll for it */
	end = fx_now_ns() + 2000000000u;
	while (!strstr(slurp(scratch("m"), buf, sizeof(buf)),
		       "cause=\"peer_shutdown\",stage=\"running\"} 1\n") &&
	       fx_now_ns() < end)
		curl((uint16_t)port, "/metrics", "30", scratch("m"));
	ck_assert(strstr(buf, "\nhupmon_serve_completed_total{half_closed="
			      "\"false\"} 1\n"));
	ck_assert(strstr(buf, "\nhupmon_serve_cancelled_total{cause=\"peer_"
			      "shutdown\",stage=\"running\"} 1\n"));
	ck_assert(strstr(buf, "workers_sched=\"nice_10\"} 1\n"));
	ck_assert(strstr(buf, "\nhupmon_serve_timeout_seconds{kind=\"header\"} "
			      "5.000000000\n"));
	ck_assert(strstr(buf, "\nhupmon_serve_timeout_seconds{kind=\"idle\"} "
			      "7.000000000\n"));
	kill(pid, SIGTERM);
	ck_assert_int_eq(reap(pid, 10000), 0);
	ck_assert(strstr(slurp(scratch("serve.log"), buf, sizeof(buf)),
			 "2 requests: 1 completed, 1 cancelled, 0 failed, 0 "
			 "in flight"));
	scratch_remove();
#else
	printf("test_program: skipped: hupmon-serve not built\n");
#endif
}
END_TEST

/* ---- over the Unix listener ------------------------------------------ */

/* Requests cancelled for cause c, queued or running. */
static uint64_t cancelled_by(const struct serve_counters *n,
			     enum hupmon_cause c)
{
	return n->cancelled[c][0] + n->cancelled[c][1];
}

/* A server listening on scratch("s") only. */
static void start_unix(struct sfx *x, enum serve_mode mode,
		       enum serve_loop loop, enum serve_half_close half,
		       unsigned workers)
{
	struct serve_opts o = {
		.mode = mode,
		.loop = loop,
		.half_close = half,
		.workers = workers,
		.unix_path = scratch("s"),
		.no_tcp = true,
	};

	sfx_start_opts(x, &o);
}

/* curl --unix-socket --max-time 0.3 gives up: over Unix that is a close,
 * HANGUP, not PEER_SHUTDOWN; the request is cancelled within 2 s, in every
 * watching mode and loop, and under the wait policy too (_i 6, 7): a close
 * is no half-close over Unix. */
START_TEST(test_curl_unix_cancel)
{
	/* _i 0..5: each watching mode in each loop; 6, 7: the wait policy,
	 * epoll, in each loop */
	enum serve_mode mode =
		_i < 6 ? (enum serve_mode)(1 + _i % 3) : SERVE_EPOLL;
	enum serve_loop loop =
		_i < 3 || _i == 6 ? SERVE_LOOP_THREAD : SERVE_LOOP_ACCEPTOR;
	enum serve_half_close half =
		_i < 6 ? SERVE_HALF_CANCEL : SERVE_HALF_WAIT;
	struct serve_counters n;
	struct serve_record r;
	struct sfx x;

	scratch_make();
	start_unix(&x, mode, loop, half, 1);
	ck_assert_int_eq(
		curl_via(scratch("s"), 0, "/work?ms=5000", "0.3", NULL), 28);
	ck_assert_msg(sfx_record(&x, 7, SOON_MS, &r),
		      "no cancellation within 2 s of curl's departure");
	ck_assert_int_eq(r.outcome, SERVE_CANCELLED);
	ck_assert_str_eq(hupmon_cause_name(r.cause),
			 hupmon_cause_name(HUPMON_CAUSE_HANGUP));
	ck_assert(!r.half_closed);
	ck_assert_uint_lt(r.cpu_ns, 5000000000u);
	n = sfx_counters(&x);
	ck_assert_uint_eq(cancelled_by(&n, HUPMON_CAUSE_HANGUP), 1);
	ck_assert_uint_eq(serve_cancelled(&n), 1);
	ck_assert_uint_eq(n.half_close[0] + n.half_close[1], 0);
	sfx_stop(&x);
	scratch_remove(); /* the socket file went with the server */
}
END_TEST

/* Two requests a patient curl makes over the Unix socket, on one
 * connection: both answered, none cancelled, each watched as a Unix
 * socket only while in flight. */
START_TEST(test_curl_unix_completes)
{
	char url2[64], body[256];
	char *argv[] = {"curl", "-sS", "--max-time", "30", "--unix-socket",
			NULL,	url2,  url2,	     NULL};
	struct serve_counters n;
	struct hupmon_stats st;
	struct sfx x;

	scratch_make();
	start_unix(&x, (enum serve_mode)(1 + _i), SERVE_LOOP_THREAD,
		   SERVE_HALF_CANCEL, 0);
	argv[5] = (char *)scratch("s");
	snprintf(url2, sizeof(url2), "http://x/work?ms=20");
	ck_assert_int_eq(run(argv, scratch("out")), 0);
	ck_assert_str_eq(slurp(scratch("out"), body, sizeof(body)),
			 "worked 20 ms\nworked 20 ms\n");
	n = sfx_counters(&x);
	ck_assert_uint_eq(n.completed[0], 2);
	ck_assert_uint_eq(serve_cancelled(&n) + serve_failed(&n), 0);
	hupmon_stats(serve_monitor(x.srv), &st);
	ck_assert_uint_eq(st.watches, 2);
	ck_assert_uint_eq(st.watched + st.watched_unix + st.watched_tcp, 0);
	sfx_stop(&x);
	scratch_remove();
}
END_TEST

#ifdef HUPMON_SERVE_BIN
/* A socket file at path nobody listens on: bound, then closed. */
static void put_stale_socket(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
}
#endif

/* hupmon-serve --unix PATH, PATH a stale socket file: served there (a
 * patient curl answered, one that gives up cancelled as HANGUP, the
 * Unix gauge in /metrics), stopped by SIGINT (_i 0) or SIGTERM (_i 1):
 * exit 0, the file gone. A regular file at PATH: exit 1, left as it was.
 * A name of 108 bytes: exit 2. */
START_TEST(test_program_unix)
{
#ifdef HUPMON_SERVE_BIN
	char path[64], longer[112];
	char *argv[] = {HUPMON_SERVE_BIN, "--unix", path, "--workers", "1",
			"--workers-nice", NULL};
	static char buf[65536]; /* a whole /metrics */
	char want[160];
	uint64_t end = fx_now_ns() + 10000000000u;
	struct timespec pause = {0, 10000000};
	struct stat st;
	pid_t pid;
	FILE *f;

	scratch_make();
	snprintf(path, sizeof(path), "%s", scratch("s"));
	put_stale_socket(path);
	pid = spawn(argv, scratch("serve.log"));
	ck_assert_int_gt(pid, 0);
	snprintf(want, sizeof(want), "listening on unix:%s (", path);
	while (!strstr(slurp(scratch("serve.log"), buf, sizeof(buf)), want) &&
	       fx_now_ns() < end)
		nanosleep(&pause, NULL);
	ck_assert_msg(strstr(buf, want), "not listening:\n%s", buf);
	ck_assert_int_eq(curl_via(path, 0, "/work?ms=5", "30", scratch("out")),
			 0);
	ck_assert_str_eq(slurp(scratch("out"), buf, sizeof(buf)),
			 "worked 5 ms\n");
	ck_assert_int_eq(curl_via(path, 0, "/work?ms=5000", "0.3", NULL), 28);
	/* counted within 2 s of curl's departure: poll for it */
	end = fx_now_ns() + 2000000000u;
	do
		curl_via(path, 0, "/metrics", "30", scratch("m"));
	while (!strstr(slurp(scratch("m"), buf, sizeof(buf)),
		       "cause=\"hangup\",stage=\"running\"} 1\n") &&
	       fx_now_ns() < end);
	ck_assert_msg(strstr(buf, "cause=\"hangup\",stage=\"running\"} 1\n"),
		      "no hangup cancellation within 2 s");
	ck_assert(strstr(buf, "\nhupmon_watched_unix_sockets 0\n"));
	ck_assert(strstr(buf, "\nhupmon_watches_total 2\n"));
	kill(pid, _i ? SIGTERM : SIGINT);
	ck_assert_int_eq(reap(pid, 10000), 0);
	ck_assert(strstr(slurp(scratch("serve.log"), buf, sizeof(buf)),
			 "2 requests: 1 completed, 1 cancelled, 0 failed, 0 "
			 "in flight"));
	ck_assert_msg(lstat(path, &st) < 0 && errno == ENOENT,
		      "%s still there after the exit", path);

	/* a regular file there: refused at start, left as it was */
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("keep\n", f);
	fclose(f);
	ck_assert_int_eq(run(argv, scratch("serve.log")), 1);
	snprintf(want, sizeof(want),
		 "hupmon-serve: cannot start on unix:%s: a file that is not a "
		 "socket is there (left in place)\n",
		 path);
	ck_assert_str_eq(slurp(scratch("serve.log"), buf, sizeof(buf)), want);
	ck_assert_str_eq(slurp(path, buf, sizeof(buf)), "keep\n");

	/* 108 bytes: refused before anything starts */
	memset(longer, 'n', 108);
	longer[0] = '/';
	longer[108] = '\0';
	argv[2] = longer;
	ck_assert_int_eq(run(argv, scratch("serve.log")), 2);
	ck_assert(strstr(slurp(scratch("serve.log"), buf, sizeof(buf)),
			 "hupmon-serve: bad --unix: /nnn"));
	scratch_remove();
#else
	printf("test_program_unix: skipped: hupmon-serve not built\n");
#endif
}
END_TEST

/* Whether argv runs and exits 0; else says why the suite is skipped. */
static bool have(char *const argv[], const char *why)
{
	if (run(argv, NULL) == 0)
		return true;
	printf("check_serve_curl: skipped: %s\n", why);
	return false;
}

int main(void)
{
	char *curl_v[] = {"curl", "--version", NULL};
	/* connects nowhere (7) where the option is known, else exits 2 */
	char *curl_unix[] = {"curl",	     "-s",	  "--unix-socket",
			     "/dev/null/no", "http://x/", NULL};
	char *promtool_v[] = {"promtool", "--version", NULL};
	Suite *s = suite_create("serve_curl");
	TCase *tc = tcase_create("serve_curl");

	if (!have(curl_v, "no curl on PATH (apt-get install curl)") ||
	    !have(promtool_v,
		  "no promtool on PATH (apt-get install prometheus)"))
		return 77;
	if (run(curl_unix, NULL) != 7) {
		printf("check_serve_curl: skipped: curl has no --unix-socket "
		       "(curl 7.40 or later has it)\n");
		return 77;
	}
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_curl_cancel, 0, 6);
	tcase_add_loop_test(tc, test_curl_wait_policy, 0, 2);
	tcase_add_loop_test(tc, test_curl_completes, 0, 4);
	tcase_add_loop_test(tc, test_metrics_promtool, 0, 4);
	tcase_add_test(tc, test_prometheus_scrapes);
	tcase_add_test(tc, test_program);
	tcase_add_loop_test(tc, test_curl_unix_cancel, 0, 8);
	tcase_add_loop_test(tc, test_curl_unix_completes, 0, 3);
	tcase_add_loop_test(tc, test_program_unix, 0, 2);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
