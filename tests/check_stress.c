/* SPDX-License-Identifier: MIT */
/*
 * check_stress: 4 threads watch, unwatch and take stats on their own
 * sockets (100 000 operations in all; 20 000 with HUPMON_TEST_SCALE=small)
 * while one thread runs hupmon_run and peers close at random. Checks, at a
 * quiescent point after the run:
 *   - every socket closed while watched, and still watched, is reported
 *     exactly once;
 *   - no watch is reported more than once (FIN or RST only: one cause);
 *   - no callback runs for an id after its hupmon_unwatch returned.
 * Run under the tsan preset for data races.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "hupmon.h"

#define THREADS 4
#define CONNS	32 /* per thread */

struct watch_rec {
	hupmon_id id;
	atomic_int reports;
	atomic_int unwatched; /* set after hupmon_unwatch returned */
	bool closed_while_watched;
};

struct conn {
	int srv, cli;
	struct watch_rec *w; /* current watch, NULL: not watched */
};

struct worker {
	pthread_t th;
	hupmon *m;
	int lfd;
	struct sockaddr_in addr;
	struct conn c[CONNS];
	struct watch_rec *recs;
	unsigned nrec, caprec;
	unsigned ops, budget;
	uint64_t rng;
};

static atomic_int late_callbacks;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t report_cond = PTHREAD_COND_INITIALIZER;

static void on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct watch_rec *w = ev->user;

	(void)arg;
	if (atomic_load(&w->unwatched))
		atomic_fetch_add(&late_callbacks, 1);
	atomic_fetch_add(&w->reports, 1);
	pthread_mutex_lock(&report_lock);
	pthread_cond_broadcast(&report_cond);
	pthread_mutex_unlock(&report_lock);
}

static unsigned pending_reports(struct worker *wk)
{
	unsigned pending = 0;

	for (int t = 0; t < THREADS; t++)
		for (int i = 0; i < CONNS; i++) {
			struct watch_rec *w = wk[t].c[i].w;

			if (w && w->closed_while_watched &&
			    atomic_load(&w->reports) == 0)
				pending++;
		}
	return pending;
}

/* A private listener per worker: accept() must return this worker's own
 * connection, never another thread's. */
static void pair(struct worker *wk, struct conn *c)
{
	c->cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(c->cli, 0);
	ck_assert_int_eq(
		connect(c->cli, (struct sockaddr *)&wk->addr, sizeof(wk->addr)),
		0);
	c->srv = accept4(wk->lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(c->srv, 0);
	c->w = NULL;
}

static struct watch_rec *new_rec(struct worker *wk)
{
	/* Records never move: a callback may hold a pointer to one. */
	ck_assert_uint_lt(wk->nrec, wk->caprec);
	return &wk->recs[wk->nrec++];
}

static void step(struct worker *wk)
{
	uint64_t r = fx_rand(&wk->rng);
	struct conn *c = &wk->c[(r >> 8) % CONNS];
	struct hupmon_stats st;

	switch (r % 8) {
	case 0:
	case 1:
	case 2: /* watch (or re-watch) */
		if (!c->w && c->cli >= 0) {
			struct watch_rec *w = new_rec(wk);

			ck_assert_int_eq(hupmon_watch(wk->m, c->srv, w, &w->id),
					 0);
			c->w = w;
		}
		break;
	case 3:
	case 4: /* unwatch; recycle the connection if its peer is gone */
		if (c->w) {
			ck_assert_int_eq(hupmon_unwatch(wk->m, c->w->id), 0);
			atomic_store(&c->w->unwatched, 1);
			c->w = NULL;
		}
		if (c->cli < 0) {
			close(c->srv);
			pair(wk, c);
		}
		break;
	case 5: /* the peer closes (FIN or RST) */
		if (c->cli >= 0 && c->w) {
			if (r & (1u << 20))
				fx_close_rst(c->cli);
			else
				fx_close_fin(c->cli);
			c->cli = -1;
			c->w->closed_while_watched = true;
		}
		break;
	default:
		hupmon_stats(wk->m, &st);
		ck_assert_uint_le(st.unwatches, st.watches);
		break;
	}
	wk->ops++;
}

static void *work(void *arg)
{
	struct worker *wk = arg;

	while (wk->ops < wk->budget)
		step(wk);
	return NULL;
}

static void *run(void *arg)
{
	ck_assert_int_eq(hupmon_run(arg), 0);
	return NULL;
}

START_TEST(test_four_threads_and_a_dispatcher)
{
	static struct worker wk[THREADS];
	struct hupmon_config cfg = {.on_hangup = on_hangup,
				    .sweep_period_ms = 50};
	unsigned total = (unsigned)fx_scaled(100000);
	unsigned must = 0, reported_once = 0, late = 0, reports = 0;
	unsigned closures = 0;
	pthread_t disp;
	hupmon *m;

	atomic_store(&late_callbacks, 0);
	ck_assert_int_eq(hupmon_new(&cfg, &m), 0);
	for (int t = 0; t < THREADS; t++) {
		socklen_t len = sizeof(wk[t].addr);

		memset(&wk[t], 0, sizeof(wk[t]));
		wk[t].m = m;
		wk[t].budget = total / THREADS;
		wk[t].rng = fx_seed("stress") + (uint64_t)t;
		wk[t].caprec = wk[t].budget;
		wk[t].recs = calloc(wk[t].caprec, sizeof(*wk[t].recs));
		wk[t].addr.sin_family = AF_INET;
		wk[t].addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		wk[t].lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_eq(bind(wk[t].lfd, (struct sockaddr *)&wk[t].addr,
				      sizeof(wk[t].addr)),
				 0);
		ck_assert_int_eq(listen(wk[t].lfd, CONNS), 0);
		getsockname(wk[t].lfd, (struct sockaddr *)&wk[t].addr, &len);
		for (int i = 0; i < CONNS; i++)
			pair(&wk[t], &wk[t].c[i]);
	}
	ck_assert_int_eq(pthread_create(&disp, NULL, run, m), 0);
	for (int t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_create(&wk[t].th, NULL, work, &wk[t]),
				 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(wk[t].th, NULL);

	/* Quiescent: wait until every closed, still watched socket is
	 * reported (generous bound), woken by each report. */
	pthread_mutex_lock(&report_lock);
	for (uint64_t end = fx_now_ns() + 5000000000ull;
	     pending_reports(wk) && fx_now_ns() < end;) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&report_cond, &report_lock, &ts);
	}
	pthread_mutex_unlock(&report_lock);
	hupmon_stop(m);
	pthread_join(disp, NULL);

	for (int t = 0; t < THREADS; t++) {
		for (unsigned k = 0; k < wk[t].nrec; k++) {
			struct watch_rec *w = &wk[t].recs[k];
			int n = atomic_load(&w->reports);

			ck_assert_int_le(n, 1);
			reports += (unsigned)n;
			closures += w->closed_while_watched;
		}
		for (int i = 0; i < CONNS; i++) {
			struct watch_rec *w = wk[t].c[i].w;

			if (w && w->closed_while_watched) {
				must++;
				ck_assert_int_eq(atomic_load(&w->reports), 1);
				reported_once++;
			}
		}
	}
	late = (unsigned)atomic_load(&late_callbacks);
	ck_assert_uint_eq(late, 0);
	printf("stress: %u operations on %d threads, %u watches, %u peer "
	       "closures while watched, %u reports (none twice); at the end "
	       "%u of %u closed-and-still-watched sockets reported once; %u "
	       "callbacks after unwatch\n",
	       total, THREADS,
	       wk[0].nrec + wk[1].nrec + wk[2].nrec + wk[3].nrec, closures,
	       reports, reported_once, must, late);
	for (int t = 0; t < THREADS; t++) {
		for (int i = 0; i < CONNS; i++) {
			if (wk[t].c[i].w)
				hupmon_unwatch(m, wk[t].c[i].w->id);
			close(wk[t].c[i].srv);
			if (wk[t].c[i].cli >= 0)
				close(wk[t].c[i].cli);
		}
		close(wk[t].lfd);
		free(wk[t].recs);
	}
	hupmon_free(m);
}
END_TEST

/* A callback unwatches its own id and goes on working; meanwhile another
 * thread unwatches the same id. That second unwatch answers -ENOENT, and
 * must still not return before the callback ends (the caller may free
 * what the callback uses). */
struct selfun {
	hupmon *m;
	hupmon_id id;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool in_callback, callback_done, other_returned;
	int other_rc;
};

static void selfun_cb(const struct hupmon_event *ev, void *arg)
{
	struct selfun *u = arg;
	struct timespec ts;

	ck_assert_int_eq(hupmon_unwatch(u->m, ev->id), 0);
	pthread_mutex_lock(&u->lock);
	u->in_callback = true;
	pthread_cond_broadcast(&u->cond);
	/* Give the other thread every chance to return early: wait until it
	 * returns (a bug) or 300 ms pass (it is correctly blocked). */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 300000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (!u->other_returned)
		if (pthread_cond_timedwait(&u->cond, &u->lock, &ts))
			break;
	u->callback_done = true;
	pthread_mutex_unlock(&u->lock);
}

static void *selfun_other(void *arg)
{
	struct selfun *u = arg;
	bool done_at_return;
	int rc;

	pthread_mutex_lock(&u->lock);
	while (!u->in_callback)
		pthread_cond_wait(&u->cond, &u->lock);
	pthread_mutex_unlock(&u->lock);
	rc = hupmon_unwatch(u->m, u->id);
	pthread_mutex_lock(&u->lock);
	done_at_return = u->callback_done;
	u->other_rc = rc;
	u->other_returned = true;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
	return done_at_return ? (void *)1 : NULL;
}

START_TEST(test_enoent_unwatch_waits_for_running_callback)
{
	struct selfun u = {.lock = PTHREAD_MUTEX_INITIALIZER,
			   .cond = PTHREAD_COND_INITIALIZER};
	struct hupmon_config cfg = {
		.on_hangup = selfun_cb, .arg = &u, .paths = HUPMON_PATH_EPOLL};
	pthread_t th;
	void *done_at_return;
	int s, c;

	ck_assert_int_eq(fx_pair(AF_INET, &s, &c), 0);
	ck_assert_int_eq(hupmon_new(&cfg, &u.m), 0);
	ck_assert_int_eq(hupmon_watch(u.m, s, NULL, &u.id), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, selfun_other, &u), 0);
	fx_close_fin(c);
	for (uint64_t end = fx_now_ns() + 3000000000ull;
	     !u.callback_done && fx_now_ns() < end;)
		ck_assert_int_ge(hupmon_dispatch(u.m, 50), 0);
	pthread_join(th, &done_at_return);
	ck_assert(u.callback_done);
	ck_assert_int_eq(u.other_rc, -ENOENT);
	ck_assert_msg(done_at_return != NULL,
		      "unwatch returned -ENOENT while the callback ran");
	hupmon_free(u.m);
	close(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stress");
	TCase *tc = tcase_create("threads");

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_four_threads_and_a_dispatcher);
	tcase_add_test(tc, test_enoent_unwatch_waits_for_running_callback);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
