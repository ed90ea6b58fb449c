/* SPDX-License-Identifier: MIT */
/*
 * check_mass: mass disconnect. 9 900 watched sockets (990 with
 * HUPMON_TEST_SCALE=small) whose client ends live in a child process (the
 * fd limit is 20 000 per process), all closed at once, alternating FIN and
 * RST: exactly one report per socket with the right cause, none lost, none
 * extra, with the epoll path alone, the sweep alone, and both.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "hupmon.h"

struct mass {
	int n;
	int *srv;
	hupmon_id *ids;
	int *reports;
	enum hupmon_cause *cause;
	int extra; /* reports for unknown ids */
};

static void on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct mass *ms = arg;
	intptr_t i = (intptr_t)ev->user;

	if (i < 0 || i >= ms->n || ms->ids[i] != ev->id) {
		ms->extra++;
		return;
	}
	if (ms->reports[i]++ == 0)
		ms->cause[i] = ev->cause;
}

/* The child: connects n clients, says so, waits for "go", closes them all
 * back to back (even index FIN, odd index RST), exits. */
static void child(const struct sockaddr_in *a, int n, int ready_fd, int go_fd)
{
	int *cli = calloc((size_t)n, sizeof(int));
	char b = 0;

	for (int i = 0; i < n; i++) {
		cli[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (cli[i] < 0 ||
		    connect(cli[i], (const struct sockaddr *)a, sizeof(*a)))
			_exit(2);
	}
	if (write(ready_fd, "r", 1) != 1 || read(go_fd, &b, 1) != 1)
		_exit(3);
	for (int i = 0; i < n; i++) {
		if (i % 2) {
			struct linger lg = {1, 0};

			setsockopt(cli[i], SOL_SOCKET, SO_LINGER, &lg,
				   sizeof(lg));
		}
		close(cli[i]);
	}
	_exit(0);
}

static bool all_reported(hupmon *m, struct fx_rec *rec, void *arg)
{
	struct mass *ms = arg;

	(void)m;
	(void)rec;
	for (int i = 0; i < ms->n; i++)
		if (!ms->reports[i])
			return false;
	return true;
}

static void mass_disconnect(unsigned paths, const char *what)
{
	struct mass ms = {.n = fx_scaled(9900)};
	struct hupmon_config cfg = {
		.on_hangup = on_hangup, .arg = &ms, .paths = paths};
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int lfd, ready[2], go[2], status, lost = 0, twice = 0, wrong = 0;
	uint64_t t0, t1;
	pid_t pid;
	char b;
	hupmon *m;

	ms.srv = calloc((size_t)ms.n, sizeof(int));
	ms.ids = calloc((size_t)ms.n, sizeof(hupmon_id));
	ms.reports = calloc((size_t)ms.n, sizeof(int));
	ms.cause = calloc((size_t)ms.n, sizeof(*ms.cause));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(lfd, 4096), 0);
	getsockname(lfd, (struct sockaddr *)&a, &alen);
	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		child(&a, ms.n, ready[1], go[0]);
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	for (int i = 0; i < ms.n; i++) {
		ms.srv[i] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		ck_assert_int_ge(ms.srv[i], 0);
		ck_assert_int_eq(hupmon_watch(m, ms.srv[i], (void *)(intptr_t)i,
					      &ms.ids[i]),
				 0);
	}
	ck_assert_int_eq(read(ready[0], &b, 1), 1);
	t0 = fx_now_ns();
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert(fx_dispatch_until(m, NULL, all_reported, &ms, 15000));
	t1 = fx_now_ns();
	fx_dispatch_for(m, 200); /* nothing more may come */
	{
		struct hupmon_stats st;

		hupmon_stats(m, &st);
		printf("mass: %s: laps %llu, last %llu ms, worst %llu ms, "
		       "worst slice %llu us, overruns %llu, piled up %llu\n",
		       what, (unsigned long long)st.sweep_laps,
		       (unsigned long long)st.sweep_lap_last_ns / 1000000,
		       (unsigned long long)st.sweep_lap_worst_ns / 1000000,
		       (unsigned long long)st.sweep_slice_worst_ns / 1000,
		       (unsigned long long)st.sweep_overruns,
		       (unsigned long long)st.sweep_piled_up);
	}
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int i = 0; i < ms.n; i++) {
		lost += ms.reports[i] == 0;
		twice += ms.reports[i] > 1;
		if (ms.cause[i] !=
		    (i % 2 ? HUPMON_CAUSE_RESET : HUPMON_CAUSE_PEER_SHUTDOWN))
			wrong++;
	}
	printf("mass: %s: %d sockets closed at once, %d reported in %llu ms, "
	       "%d lost, %d twice, %d wrong cause, %d unknown\n",
	       what, ms.n, ms.n - lost, (unsigned long long)(t1 - t0) / 1000000,
	       lost, twice, wrong, ms.extra);
	ck_assert_int_eq(lost, 0);
	ck_assert_int_eq(twice, 0);
	ck_assert_int_eq(wrong, 0);
	ck_assert_int_eq(ms.extra, 0);
	for (int i = 0; i < ms.n; i++) {
		ck_assert_int_eq(hupmon_unwatch(m, ms.ids[i]), 0);
		close(ms.srv[i]);
	}
	hupmon_free(m);
	close(lfd);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	free(ms.srv);
	free(ms.ids);
	free(ms.reports);
	free(ms.cause);
}

static void raise_fd_limit(void)
{
	struct rlimit r;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &r), 0);
	r.rlim_cur = r.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &r), 0);
	ck_assert_uint_ge(r.rlim_cur, (rlim_t)fx_scaled(9900) + 64);
}

START_TEST(test_mass_epoll)
{
	raise_fd_limit();
	mass_disconnect(HUPMON_PATH_EPOLL, "epoll");
}
END_TEST

START_TEST(test_mass_sweep)
{
	raise_fd_limit();
	mass_disconnect(HUPMON_PATH_SWEEP, "sweep (TCP_INFO, 1 s period)");
}
END_TEST

START_TEST(test_mass_both)
{
	raise_fd_limit();
	mass_disconnect(HUPMON_PATHS_BOTH, "both paths");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mass");
	TCase *tc = tcase_create("mass");

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_mass_epoll);
	tcase_add_test(tc, test_mass_sweep);
	tcase_add_test(tc, test_mass_both);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
