/* SPDX-License-Identifier: MIT */
/*
 * check_faults: fault injection. Every allocation a public call makes can
 * fail (the k-th, for every k it reaches); running out of fds at
 * hupmon_new; signals interrupting dispatch. Each failure must be a clean
 * negative errno, leak nothing (LeakSanitizer in the asan preset, fd
 * counts here, the monitor's own byte count) and leave the monitor usable.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
#include "monitor.h"
#include "state.h"

#define NSOCK 40 /* enough to grow every table past its first size */

static int srv[NSOCK], cli[NSOCK];

static void setup(void)
{
	fx_setup();
	for (int i = 0; i < NSOCK; i++)
		ck_assert_int_eq(fx_pair(AF_INET, &srv[i], &cli[i]), 0);
}

static void teardown(void)
{
	for (int i = 0; i < NSOCK; i++) {
		if (srv[i] >= 0)
			close(srv[i]);
		if (cli[i] >= 0)
			close(cli[i]);
	}
	fx_teardown();
}

/* Once memory returns, the monitor must still watch and report. */
static void assert_still_works(hupmon *m, struct fx_rec *rec, int i)
{
	hupmon_id id;

	ck_assert_int_eq(hupmon_watch(m, srv[i], NULL, &id), 0);
	fx_close_fin(cli[i]);
	cli[i] = -1;
	ck_assert(fx_dispatch_until_event(m, rec, id,
					  HUPMON_CAUSE_PEER_SHUTDOWN, 3000));
	ck_assert_int_eq(hupmon_unwatch(m, id), 0);
}

/* hupmon_new: the k-th allocation fails, for every k it makes. */
START_TEST(test_new_alloc_failures)
{
	unsigned k, failures = 0;
	int nfd = fx_count_fds();

	for (k = 1; k < 100; k++) {
		hupmon *m = NULL;
		int rc = hupmon__new(NULL, sizeof(struct hupmon_config), k, &m);

		if (rc == 0) {
			hupmon_free(m);
			break; /* k is past the last allocation */
		}
		ck_assert_int_eq(rc, -ENOMEM);
		ck_assert_ptr_null(m);
		ck_assert_int_eq(fx_count_fds(), nfd);
		failures++;
	}
	ck_assert_uint_ge(failures, 1);
	printf("faults: hupmon_new: %u allocation failure point(s), each "
	       "-ENOMEM, no fd leaked\n",
	       failures);
}
END_TEST

/* hupmon_watch with every configuration's tables: for every k, fail the
 * k-th allocation from now while watching NSOCK sockets. */
static void watch_alloc_failures(const struct hupmon_config *cfg,
				 const char *what)
{
	unsigned k, points = 0;

	for (k = 1; k < 200; k++) {
		struct fx_rec rec;
		struct hupmon_config c = *cfg;
		hupmon_id ids[NSOCK];
		int failed_at = -1, rc;
		hupmon *m;
		size_t bytes;

		fx_rec_init(&rec);
		c.on_hangup = fx_rec_on_hangup;
		c.arg = &rec;
		ck_assert_int_eq(hupmon_new(&c, &m), 0);
		m->mem.fail_after = k;
		for (int i = 0; i < NSOCK - 1; i++) {
			struct hupmon_stats before, after;

			hupmon_stats(m, &before);
			rc = hupmon_watch(m, srv[i], NULL, &ids[i]);
			if (rc == 0)
				continue;
			/* The failed call changed nothing but a counter. */
			ck_assert_int_eq(rc, -ENOMEM);
			hupmon_stats(m, &after);
			ck_assert_uint_eq(after.watched, before.watched);
			ck_assert_uint_eq(after.swept, before.swept);
			ck_assert_uint_eq(
				after.watch_rejected[HUPMON_REJECT_ENOMEM],
				before.watch_rejected[HUPMON_REJECT_ENOMEM] +
					1);
			failed_at = i;
			break;
		}
		m->mem.fail_after = 0;
		if (failed_at < 0) {
			for (int i = 0; i < NSOCK - 1; i++)
				hupmon_unwatch(m, ids[i]);
			hupmon_free(m);
			fx_rec_destroy(&rec);
			break;
		}
		points++;
		/* The same socket can be watched now; all can. */
		for (int i = failed_at; i < NSOCK - 1; i++)
			ck_assert_int_eq(hupmon_watch(m, srv[i], NULL, &ids[i]),
					 0);
		assert_still_works(m, &rec, NSOCK - 1);
		for (int i = 0; i < NSOCK - 1; i++)
			ck_assert_int_eq(hupmon_unwatch(m, ids[i]), 0);
		bytes = m->mem.bytes;
		ck_assert_uint_eq(bytes, m->mem.bytes); /* accounted */
		hupmon_free(m);
		fx_rec_destroy(&rec);
		/* Fresh client for the socket assert_still_works closed. */
		close(srv[NSOCK - 1]);
		ck_assert_int_eq(
			fx_pair(AF_INET, &srv[NSOCK - 1], &cli[NSOCK - 1]), 0);
	}
	ck_assert_uint_ge(points, 3);
	printf("faults: hupmon_watch (%s): %u allocation failure points over "
	       "%d watches, each -ENOMEM with the monitor unchanged and "
	       "usable after\n",
	       what, points, NSOCK - 1);
}

START_TEST(test_watch_alloc_failures_epoll)
{
	struct hupmon_config cfg = {.paths = HUPMON_PATH_EPOLL};

	watch_alloc_failures(&cfg, "epoll");
}
END_TEST

START_TEST(test_watch_alloc_failures_compare)
{
	struct hupmon_config cfg = {.compare = true, .sweep_period_ms = 100};

	watch_alloc_failures(&cfg, "both paths + compare");
}
END_TEST

/* A watched fd is closed while a dup keeps its socket alive, the number is
 * reused and watched (retiring the first watch, whose epoll registration
 * lives on in the dup), then the first socket is put back on that number
 * and watched again. epoll_ctl(ADD) finds the old (file, fd) registration:
 * the watch must take it over, and report that socket's closure under the
 * new id only. */
START_TEST(test_rewatch_socket_back_on_its_number)
{
	struct fx_rec rec;
	struct hupmon_config cfg = {.on_hangup = fx_rec_on_hangup,
				    .arg = &rec,
				    .paths = HUPMON_PATH_EPOLL};
	int n = srv[0], keep = dup(srv[0]), t_srv, t_cli;
	hupmon_id first, second, third;
	struct hupmon_stats st;
	hupmon *m;

	fx_rec_init(&rec);
	ck_assert_int_ge(keep, 0);
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	ck_assert_int_eq(hupmon_watch(m, n, NULL, &first), 0);
	close(n); /* the user's bug: closed while watched; the dup lives */
	ck_assert_int_eq(fx_pair(AF_INET, &t_srv, &t_cli), 0);
	if (t_srv != n) { /* make the reuse happen on that number */
		ck_assert_int_eq(dup2(t_srv, n), n);
		close(t_srv);
	}
	ck_assert_int_eq(hupmon_watch(m, n, NULL, &second), 0);
	hupmon_stats(m, &st);
	ck_assert_uint_eq(st.retired, 1);
	ck_assert_int_eq(hupmon_unwatch(m, first), -ENOENT);
	ck_assert_int_eq(hupmon_unwatch(m, second), 0);
	ck_assert_int_eq(dup2(keep, n), n); /* the first socket, back on n */
	ck_assert_int_eq(hupmon_watch(m, n, NULL, &third), 0);
	fx_close_rst(cli[0]);
	cli[0] = -1;
	ck_assert(fx_dispatch_until_event(m, &rec, third, HUPMON_CAUSE_RESET,
					  3000));
	fx_dispatch_for(m, 100);
	ck_assert_uint_eq(fx_rec_count(&rec), 1);
	ck_assert_int_eq(hupmon_unwatch(m, third), 0);
	hupmon_free(m);
	fx_rec_destroy(&rec);
	close(keep);
	close(t_cli);
	/* srv[0] is n, which now holds the first socket again (closed by the
	 * teardown). */
}
END_TEST

/* The RLIMIT_NOFILE value below which exactly n fd numbers are free. */
static int limit_with_free(int n)
{
	int f, seen = 0;

	for (f = 0; f < 100000; f++) {
		if (fcntl(f, F_GETFD) < 0 && errno == EBADF) {
			if (seen == n)
				return f;
			seen++;
		}
	}
	ck_abort_msg("no free fd numbers");
	return -1;
}

/* No fd left for the epoll fd, the eventfd or the timerfd: with both
 * paths, three fds; the epoll path alone (the default) needs no timerfd. */
static void new_emfile(const struct hupmon_config *cfg, int fds)
{
	struct rlimit old, lim;
	int nfd = fx_count_fds(), results[4];

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	/* Allow 0 .. fds more fds: each short of fds must fail at the fd it
	 * lacks, the last must succeed. */
	for (int extra = 0; extra <= fds; extra++) {
		hupmon *m = NULL;

		lim = old;
		lim.rlim_cur = (rlim_t)limit_with_free(extra);
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
		results[extra] = hupmon_new(cfg, &m);
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
		if (results[extra] == 0)
			hupmon_free(m);
		else
			ck_assert_ptr_null(m);
		ck_assert_int_eq(fx_count_fds(), nfd);
	}
	for (int extra = 0; extra < fds; extra++)
		ck_assert_int_eq(results[extra], -EMFILE);
	ck_assert_int_eq(results[fds], 0);
}

START_TEST(test_new_emfile)
{
	struct hupmon_config both = {.paths = HUPMON_PATHS_BOTH};

	new_emfile(&both, 3);
	new_emfile(NULL, 2);
}
END_TEST

/* Signals hitting the dispatching thread lose no events. */
static volatile sig_atomic_t signals_seen;

static void on_usr1(int sig)
{
	(void)sig;
	signals_seen++;
}

struct pelter {
	pthread_t target;
	atomic_int stop;
	unsigned sent; /* read after join */
};

static void *pelt(void *arg)
{
	struct pelter *p = arg;

	while (!atomic_load(&p->stop) && p->sent < 200000) {
		pthread_kill(p->target, SIGUSR1);
		p->sent++;
		sched_yield();
	}
	return NULL;
}

START_TEST(test_signals_lose_no_events)
{
	struct sigaction sa;
	struct fx_rec rec;
	struct hupmon_config cfg = {.on_hangup = fx_rec_on_hangup,
				    .arg = &rec,
				    .paths = HUPMON_PATH_EPOLL};
	struct pelter p = {.target = pthread_self()};
	hupmon_id ids[NSOCK];
	pthread_t th;
	hupmon *m;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1; /* no SA_RESTART: epoll_wait gets EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	fx_rec_init(&rec);
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	for (int i = 0; i < NSOCK; i++)
		ck_assert_int_eq(hupmon_watch(m, srv[i], NULL, &ids[i]), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, pelt, &p), 0);
	/* Start closing once the signals are flowing. */
	for (uint64_t end = fx_now_ns() + 2000000000ull;
	     signals_seen < 10 && fx_now_ns() < end;)
		hupmon_dispatch(m, 1);
	for (int i = 0; i < NSOCK; i++) {
		if (i % 2)
			fx_close_rst(cli[i]);
		else
			fx_close_fin(cli[i]);
		cli[i] = -1;
		/* Dispatch calls that wait, so that signals interrupt them. */
		for (int k = 0; k < 5; k++)
			ck_assert_int_ge(hupmon_dispatch(m, 2), 0);
	}
	ck_assert(fx_dispatch_until_count(m, &rec, NSOCK, 5000));
	atomic_store(&p.stop, 1);
	pthread_join(th, NULL);
	fx_dispatch_for(m, 100);
	ck_assert_uint_eq(fx_rec_count(&rec), NSOCK);
	for (int i = 0; i < NSOCK; i++) {
		ck_assert_uint_eq(fx_rec_count_id(&rec, ids[i]), 1);
		ck_assert_int_eq(hupmon_unwatch(m, ids[i]), 0);
	}
	ck_assert_uint_ge(signals_seen, 10);
	printf("faults: %u SIGUSR1 caught during dispatch, %d/%d closures "
	       "reported once\n",
	       (unsigned)signals_seen, NSOCK, NSOCK);
	hupmon_free(m);
	fx_rec_destroy(&rec);
	signal(SIGUSR1, SIG_DFL);
}
END_TEST

/* hupmon_stop from a signal handler ends hupmon_run promptly. */
static hupmon *stop_target;

static void on_alarm(int sig)
{
	(void)sig;
	hupmon_stop(stop_target);
}

START_TEST(test_stop_from_signal_handler)
{
	struct sigaction sa;
	uint64_t t0;

	ck_assert_int_eq(hupmon_new(NULL, &stop_target), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	t0 = fx_now_ns();
	alarm(1);
	ck_assert_int_eq(hupmon_run(stop_target), 0);
	ck_assert_uint_lt(fx_now_ns() - t0, 3000000000ull);
	hupmon_free(stop_target);
	signal(SIGALRM, SIG_DFL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("alloc");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_new_alloc_failures);
	tcase_add_test(tc, test_watch_alloc_failures_epoll);
	tcase_add_test(tc, test_watch_alloc_failures_compare);
	suite_add_tcase(s, tc);
	tc = tcase_create("fds");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_emfile);
	tcase_add_test(tc, test_rewatch_socket_back_on_its_number);
	suite_add_tcase(s, tc);
	tc = tcase_create("signals");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_signals_lose_no_events);
	tcase_add_test(tc, test_stop_from_signal_handler);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
