/* SPDX-License-Identifier: MIT */
/*
 * check_example: compiles and runs the README's embedding example
 * (tests/example_embed.c, kept identical to the README by a CTest test):
 * its callback must print the cause each closure promises, and a watch it
 * cannot make must come back as the error hupmon.h lists for it.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "example_embed.c"
#include "fixture.h"

/* Runs serve(fd) with what it prints to stdout captured in out (a string);
 * returns what serve returned. */
static int serve_captured(int fd, char *out, size_t len)
{
	int mfd, saved, rc;
	ssize_t n;

	fflush(stdout);
	mfd = memfd_create("example-stdout", MFD_CLOEXEC);
	ck_assert_int_ge(mfd, 0);
	saved = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(mfd, STDOUT_FILENO), STDOUT_FILENO);
	rc = serve(fd);
	fflush(stdout);
	ck_assert_int_eq(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
	fx_close_ok(saved);
	n = pread(mfd, out, len - 1, 0);
	fx_close_ok(mfd);
	ck_assert_int_ge(n, 0);
	out[n] = '\0';
	return rc;
}

/* The peer is gone before the watch: the epoll path has the event queued
 * at once, long before the sweep's first tick. */
START_TEST(test_example_sees_fin_and_rst)
{
	char out[256], want[256];
	int s, c;

	fx_pair_ok(AF_INET, &s, &c);
	fx_close_fin(c);
	ck_assert_int_eq(serve_captured(s, out, sizeof(out)), 0);
	snprintf(want, sizeof(want),
		 "fd %d: peer_shutdown (errno 0), seen by epoll\n", s);
	ck_assert_str_eq(out, want);
	fx_close_ok(s);

	fx_pair_ok(AF_INET6, &s, &c);
	fx_close_rst(c);
	ck_assert_int_eq(serve_captured(s, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "fd %d: reset (errno %d), seen by epoll\n",
		 s, ECONNRESET);
	ck_assert_str_eq(out, want);
	fx_close_ok(s);
}
END_TEST

START_TEST(test_example_rejects_non_socket)
{
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(serve(p[0]), -ENOTSOCK);
	fx_close_ok(p[0]);
	fx_close_ok(p[1]);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("example");

	fx_add_case(su, "sees_fin_and_rst", test_example_sees_fin_and_rst, 0,
		    10);
	fx_add_case(su, "rejects_non_socket", test_example_rejects_non_socket,
		    0, 10);
	return fx_run_suite(su);
}
