/* SPDX-License-Identifier: MIT */
/*
 * check_example_server: runs tests/example_server.c, the README's server
 * pattern, as a program (one worker, then two forked workers) against four
 * loopback clients, one at a time, each named by its own port in what the
 * server prints:
 *   (a) sends a request and closes (FIN) while the server works: cancelled;
 *       the server's probe after PEER_SHUTDOWN draws an RST, so the cause
 *       is "reset after peer_shutdown";
 *   (b) sends a request and resets (SO_LINGER 0, close): "cancelled (reset)";
 *   (c) sends a request, shuts down its write side and waits: "answered
 *       after peer_shutdown", and it really receives "working\ndone\n";
 *   (d) sends a request and waits: "answered", and receives "done\n".
 * The server stops by itself after these four connections (exit status 0).
 * Each client acts only once the server printed "working" for it (the
 * request is read and watched); every wait is a bounded wait for an event.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

#ifndef EXAMPLE_SERVER_BIN
#error "EXAMPLE_SERVER_BIN: the example_server program (tests/CMakeLists.txt)"
#endif

#define LINE_MS	  10000	  /* a line the server owes us: within 10 s */
#define FOREVER	  "60000" /* ms of work a cancelled client asks for */
#define HALF_WORK "3000"  /* ms: room for the half-close to be seen first */

/* The server under test: its pid and its stdout, read line by line. */
struct srv {
	pid_t pid;
	int out; /* read end of its stdout */
	char buf[4096];
	size_t len;
	unsigned port;
};

/* Starts example_server PORT WORKERS CONNS SECONDS with stdout to a pipe;
 * SECONDS bounds it if this test fails half-way. */
static void srv_start(struct srv *s, const char *workers)
{
	char *argv[] = {
		EXAMPLE_SERVER_BIN, "0", (char *)workers, "4", "30", NULL};
	posix_spawn_file_actions_t fa;
	int p[2];

	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	ck_assert_int_eq(
		posix_spawn(&s->pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	fx_close_ok(p[1]);
	s->out = p[0];
}

/* The next line the server prints (without its newline), waiting at most
 * LINE_MS; fails the test if none comes. */
static void srv_line(struct srv *s, char *line, size_t cap)
{
	uint64_t end = fx_now_ns() + (uint64_t)LINE_MS * 1000000u;
	char *nl;

	while (!(nl = memchr(s->buf, '\n', s->len))) {
		struct pollfd pfd = {.fd = s->out, .events = POLLIN};
		uint64_t now = fx_now_ns();
		ssize_t n;

		ck_assert_msg(now < end && s->len < sizeof(s->buf),
			      "no line from the server within %d ms (have "
			      "\"%.*s\")",
			      LINE_MS, (int)s->len, s->buf);
		if (poll(&pfd, 1, (int)((end - now) / 1000000u) + 1) <= 0)
			continue;
		n = read(s->out, s->buf + s->len, sizeof(s->buf) - s->len);
		ck_assert_msg(n > 0, "server's stdout ended (have \"%.*s\")",
			      (int)s->len, s->buf);
		s->len += (size_t)n;
	}
	ck_assert_uint_lt((size_t)(nl - s->buf), cap);
	memcpy(line, s->buf, (size_t)(nl - s->buf));
	line[nl - s->buf] = '\0';
	s->len -= (size_t)(nl + 1 - s->buf);
	memmove(s->buf, nl + 1, s->len);
}

/* Fails unless the server, having printed all it had to, ends its stdout
 * within LINE_MS (its workers and itself exited) with status 0. */
static void srv_stop(struct srv *s)
{
	struct pollfd pfd = {.fd = s->out, .events = POLLIN};
	char more[256];
	ssize_t n = -1;
	int st;

	if (poll(&pfd, 1, LINE_MS) == 1)
		n = read(s->out, more, sizeof(more));
	if (n != 0)
		kill(s->pid, SIGKILL);
	ck_assert_int_eq(waitpid(s->pid, &st, 0), s->pid);
	fx_close_ok(s->out);
	ck_assert_msg(n == 0 && s->len == 0,
		      "server still running, or it printed more: \"%.*s%.*s\"",
		      (int)s->len, s->buf, n > 0 ? (int)n : 0, more);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "server exit status %d", st);
}

/* Fails unless the server's next line is "conn PORT: what". */
static void srv_expect(struct srv *s, unsigned port, const char *what)
{
	char line[128], want[128];

	srv_line(s, line, sizeof(line));
	snprintf(want, sizeof(want), "conn %u: %s", port, what);
	ck_assert_str_eq(line, want);
}

/* A client that sent "ms\n" and whose request the server is working on;
 * its port in *port. */
static int client(struct srv *s, const char *ms, unsigned *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)s->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char req[16];
	int n = snprintf(req, sizeof(req), "%s\n", ms);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	ck_assert_int_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	srv_expect(s, *port, "working");
	return fd;
}

/* Reads what the server sends fd until it closes (at most LINE_MS) and
 * fails unless it is want; closes fd. */
static void client_receives(int fd, const char *want)
{
	uint64_t end = fx_now_ns() + (uint64_t)LINE_MS * 1000000u;
	char got[64];
	size_t len = 0;
	ssize_t n = 1;

	while (n > 0 && len < sizeof(got) - 1) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		ck_assert_msg(fx_now_ns() < end, "no end of answer");
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(fd, got + len, sizeof(got) - 1 - len, 0);
		ck_assert_msg(n >= 0, "recv: %s", strerror(errno));
		len += (size_t)n;
	}
	got[len] = '\0';
	ck_assert_str_eq(got, want);
	fx_close_ok(fd);
}

/* Loop index 0: one worker; 1: two forked workers. */
START_TEST(test_example_server_outcomes)
{
	const char *workers = _i == 0 ? "1" : "2";
	char line[128];
	unsigned port;
	struct srv s;
	int fd;

	srv_start(&s, workers);
	srv_line(&s, line, sizeof(line));
	ck_assert_int_eq(sscanf(line, "listening on %u", &s.port), 1);

	fd = client(&s, FOREVER, &port); /* (a) */
	fx_close_fin(fd);
	srv_expect(&s, port, "cancelled (reset after peer_shutdown)");

	fd = client(&s, FOREVER, &port); /* (b) */
	fx_close_rst(fd);
	srv_expect(&s, port, "cancelled (reset)");

	fd = client(&s, HALF_WORK, &port); /* (c) */
	fx_half_close(fd);
	client_receives(fd, "working\ndone\n");
	srv_expect(&s, port, "answered after peer_shutdown");

	fd = client(&s, "100", &port); /* (d) */
	client_receives(fd, "done\n");
	srv_expect(&s, port, "answered");

	srv_stop(&s); /* four connections ended: it stops by itself */
}
END_TEST

int main(void)
{
	Suite *su = suite_create("example_server");

	fx_add_case(su, "outcomes", test_example_server_outcomes, 2, 120);
	return fx_run_suite(su);
}
