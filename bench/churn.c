/* SPDX-License-Identifier: MIT */
/*
 * churn: the cost of watch + unwatch per socket, the way a server pays it
 * (watch each connection it accepts, unwatch it when it ends), against a
 * raw epoll_ctl ADD + DEL pair on the same sockets: the least any
 * epoll-based monitor must do. Three methods on the same N connected
 * loopback sockets (client ends in the child, so that 9 900 fit): raw
 * ADD + DEL on an epoll fd of our own; hupmon_watch + hupmon_unwatch (the
 * validated watch); hupmon_watch_ex with opts.accepted + hupmon_unwatch.
 * The monitor runs both paths (named: the default is the epoll path alone;
 * a watch onto both also enters the sweep, the dearer of the two), compare
 * off, no liveness options. A pass watches all N, then unwatches all N, each
 * half timed; methods alternate within a round, in a rotating order, for
 * 2 x --rounds + 1 rounds after one untimed warm-up pass each. Sets: N =
 * 1 000 and 9 900 (--quick: 100 and 1 000; --n: that N only), each with
 * one watching thread and no dispatching, then with two threads watching
 * and unwatching halves of the set while a loop thread dispatches
 * (hupmon_run; raw: a thread in epoll_wait on the raw set), timed from
 * the start of the pass to the end of both halves.
 */
#include "churn.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

const char *const churn_method_name[CM_COUNT] = {"raw-epoll", "watch",
						 "watch-accepted"};
const double churn_goal[CM_COUNT] = {NAN, 2.5, 1.5};

#define RAW_STOP UINT64_MAX /* epoll data of the raw loop's eventfd */

struct churner {
	struct conn *c;
	size_t n;
	enum churn_method how;
	int rawfd;
	hupmon *m;
	pthread_barrier_t bar; /* the two workers */
	_Atomic unsigned long long errors;
};

/* A watching thread of a two-thread set; t[]: its clock when it began
 * watching, ended watching, began unwatching, ended unwatching. */
struct worker {
	struct churner *x;
	size_t from, to;
	pthread_t thr;
	uint64_t t[4];
};

static int watch_one(struct churner *x, struct conn *c)
{
	struct hupmon_watch_opts o = {.user = c, .accepted = true};
	struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLHUP | EPOLLERR |
					   EPOLLET,
				 .data.ptr = c};

	switch (x->how) {
	case CM_RAW:
		return epoll_ctl(x->rawfd, EPOLL_CTL_ADD, c->sfd, &ev) ? -errno
								       : 0;
	case CM_WATCH:
		return hupmon_watch(x->m, c->sfd, c, &c->id);
	default:
		return hupmon_watch_ex(x->m, c->sfd, &o, &c->id);
	}
}

static int unwatch_one(struct churner *x, struct conn *c)
{
	if (x->how == CM_RAW)
		return epoll_ctl(x->rawfd, EPOLL_CTL_DEL, c->sfd, NULL) ? -errno
									: 0;
	return hupmon_unwatch(x->m, c->id);
}

static void pass_half(struct churner *x, size_t from, size_t to, bool watch)
{
	unsigned long long bad = 0;

	for (size_t i = from; i < to; i++)
		bad += (watch ? watch_one(x, &x->c[i])
			      : unwatch_one(x, &x->c[i])) != 0;
	if (bad)
		atomic_fetch_add(&x->errors, bad);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(&w->x->bar);
	w->t[0] = now_ns();
	pass_half(w->x, w->from, w->to, true);
	w->t[1] = now_ns();
	pthread_barrier_wait(&w->x->bar);
	w->t[2] = now_ns();
	pass_half(w->x, w->from, w->to, false);
	w->t[3] = now_ns();
	return NULL;
}

/* One pass of x->how over the set: ns per socket of its watch half and
 * its unwatch half. threads 2: two workers split the set, each half timed
 * from the first worker's start to the last one's end (by the workers'
 * own clocks: this thread may not be running then). */
static void pass(struct churner *x, unsigned threads, double *w_ns,
		 double *u_ns)
{
	struct worker wk[2];
	uint64_t t0, t1, t2;

	if (threads < 2) {
		t0 = now_ns();
		pass_half(x, 0, x->n, true);
		t1 = now_ns();
		pass_half(x, 0, x->n, false);
		t2 = now_ns();
	} else {
		for (int k = 0; k < 2; k++) {
			wk[k] = (struct worker){.x = x,
						.from = k * x->n / 2,
						.to = (k + 1) * x->n / 2};
			if (pthread_create(&wk[k].thr, NULL, worker_main,
					   &wk[k]))
				die("churn: pthread_create", EAGAIN);
		}
		for (int k = 0; k < 2; k++)
			pthread_join(wk[k].thr, NULL);
		t0 = wk[0].t[0] < wk[1].t[0] ? wk[0].t[0] : wk[1].t[0];
		t1 = wk[0].t[1] > wk[1].t[1] ? wk[0].t[1] : wk[1].t[1];
		*w_ns = (double)(t1 - t0) / (double)x->n;
		t0 = wk[0].t[2] < wk[1].t[2] ? wk[0].t[2] : wk[1].t[2];
		t2 = wk[0].t[3] > wk[1].t[3] ? wk[0].t[3] : wk[1].t[3];
		*u_ns = (double)(t2 - t0) / (double)x->n;
		return;
	}
	*w_ns = (double)(t1 - t0) / (double)x->n;
	*u_ns = (double)(t2 - t1) / (double)x->n;
}

/* The raw floor's dispatching thread: epoll_wait until its eventfd. */
static void *raw_loop(void *arg)
{
	struct churner *x = arg;
	struct epoll_event ev[64];

	for (;;) {
		int k = epoll_wait(x->rawfd, ev, 64, -1);

		for (int i = 0; i < k; i++)
			if (ev[i].data.u64 == RAW_STOP)
				return NULL;
	}
}

static void *lib_loop(void *arg)
{
	int rc = hupmon_run(arg);

	if (rc)
		fprintf(stderr, "hupmon-bench: churn: hupmon_run: %s\n",
			strerror(-rc));
	return NULL;
}

/* The loops of a two-thread set: hupmon_run, and raw_loop on the raw set
 * woken by efd. */
static void loops_start(struct churner *x, int efd, pthread_t thr[2])
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = RAW_STOP};

	if (epoll_ctl(x->rawfd, EPOLL_CTL_ADD, efd, &ev))
		die("churn: epoll_ctl eventfd", errno);
	if (pthread_create(&thr[0], NULL, lib_loop, x->m) ||
	    pthread_create(&thr[1], NULL, raw_loop, x))
		die("churn: pthread_create", EAGAIN);
}

static void loops_stop(struct churner *x, int efd, pthread_t thr[2])
{
	uint64_t one = 1;

	hupmon_stop(x->m);
	if (write(efd, &one, sizeof(one)) != sizeof(one))
		die("churn: eventfd write", errno);
	pthread_join(thr[0], NULL);
	pthread_join(thr[1], NULL);
}

/* The monitor's counters after a set: every watch undone, none refused. */
static unsigned long long monitor_errors(hupmon *m)
{
	struct hupmon_stats st;
	unsigned long long bad = 0;

	hupmon_stats(m, &st);
	for (int r = 0; r < HUPMON_REJECT_COUNT; r++)
		bad += st.watch_rejected[r];
	return bad + st.unwatch_rejected + st.watched +
	       (st.watches != st.unwatches) + st.retired;
}

/* One set: its monitor, its raw epoll fd, the rounds. */
static void run_set(struct churn_res *cr, struct churn_set *s, struct conn *c)
{
	struct churner x = {.c = c, .n = s->n};
	pthread_t thr[2];
	double w, u;
	int efd = -1, rc;

	x.rawfd = epoll_create1(EPOLL_CLOEXEC);
	if (x.rawfd < 0)
		die("churn: epoll_create1", errno);
	rc = hupmon_new(&(struct hupmon_config){.paths = HUPMON_PATHS_BOTH},
			&x.m);
	if (rc)
		die("churn: hupmon_new", -rc);
	if (pthread_barrier_init(&x.bar, NULL, 2))
		die("churn: pthread_barrier_init", EAGAIN);
	if (s->threads > 1) {
		efd = eventfd(0, EFD_CLOEXEC);
		if (efd < 0)
			die("churn: eventfd", errno);
		loops_start(&x, efd, thr);
	}
	for (int k = 0; k < CM_COUNT; k++) { /* warm-up, untimed */
		x.how = (enum churn_method)k;
		pass(&x, s->threads, &w, &u);
	}
	for (unsigned r = 0; r < cr->rounds; r++)
		for (int j = 0; j < CM_COUNT; j++) {
			int k = (int)((r + (unsigned)j) % CM_COUNT);

			x.how = (enum churn_method)k;
			pass(&x, s->threads, &s->watch[k][r],
			     &s->unwatch[k][r]);
		}
	if (s->threads > 1) {
		loops_stop(&x, efd, thr);
		close(efd);
	}
	cr->errors += atomic_load(&x.errors) + monitor_errors(x.m);
	pthread_barrier_destroy(&x.bar);
	hupmon_free(x.m);
	close(x.rawfd);
}

/* Medians of each method, and of its per-round ratio to raw. */
static void churn_analyse(struct churn_res *cr)
{
	for (unsigned i = 0; i < cr->nsets; i++) {
		struct churn_set *s = &cr->set[i];
		double pair[CM_COUNT][CHURN_MAX_ROUNDS];
		double ratio[CHURN_MAX_ROUNDS];

		for (int k = 0; k < CM_COUNT; k++)
			for (unsigned r = 0; r < cr->rounds; r++)
				pair[k][r] = s->watch[k][r] + s->unwatch[k][r];
		for (int k = 0; k < CM_COUNT; k++) {
			s->med_watch[k] = median(s->watch[k], cr->rounds);
			s->med_unwatch[k] = median(s->unwatch[k], cr->rounds);
			for (unsigned r = 0; r < cr->rounds; r++)
				ratio[r] = pair[k][r] / pair[CM_RAW][r];
			s->med_pair[k] = median(pair[k], cr->rounds);
			s->ratio[k] = median(ratio, cr->rounds);
		}
	}
}

/* The set sizes: --n, else 1 000 and 9 900 (--quick 100 and 1 000),
 * within the fd limit (the child holds the client ends). */
static unsigned set_sizes(const struct bopts *o, size_t n[2])
{
	size_t cap = o->fd_hard > 200 ? o->fd_hard - 100 : 100;
	unsigned k = 0;

	if (o->n_set)
		n[k++] = o->n;
	else {
		n[k++] = o->quick ? 100 : 1000;
		n[k++] = o->quick ? 1000 : 9900;
	}
	for (unsigned i = 0; i < k; i++)
		n[i] = n[i] < cap ? n[i] : cap;
	return k;
}

void *churn_run(const struct bctx *x)
{
	struct churn_res *cr = xcalloc(1, sizeof(*cr));
	struct child *ch = child_start(x->port); /* before any thread */
	uint64_t t0 = now_ns();
	size_t n[2], max = 0, got;
	unsigned sizes = set_sizes(x->o, n);
	struct conn *c;
	int err;

	cr->rounds = 2 * x->o->rounds + 1;
	if (cr->rounds > CHURN_MAX_ROUNDS)
		cr->rounds = CHURN_MAX_ROUNDS;
	for (unsigned i = 0; i < sizes; i++)
		max = n[i] > max ? n[i] : max;
	c = xcalloc(max, sizeof(*c));
	got = conns_open(x->lfd, x->port, ch, c, max, &err);
	if (got < max) {
		fprintf(stderr,
			"hupmon-bench: churn: %zu of %zu connections (%s)\n",
			got, max, strerror(-err));
		cr->errors++;
	}
	for (unsigned i = 0; i < sizes; i++)
		for (unsigned t = 1; t <= 2; t++) {
			struct churn_set *s = &cr->set[cr->nsets++];

			s->n = n[i] < got ? n[i] : got;
			s->threads = t;
			if (s->n)
				run_set(cr, s, c);
			fprintf(stderr,
				"hupmon-bench: churn        N=%-5zu %u "
				"thread%s done (%.1f s)\n",
				s->n, t, t > 1 ? "s" : " ",
				(double)(now_ns() - t0) / 1e9);
		}
	conns_close(c, got);
	child_end(ch);
	free(c);
	cr->wall_s = (double)(now_ns() - t0) / 1e9;
	churn_analyse(cr);
	cr->ran = true;
	return cr;
}

void churn_judge(void *res, const struct bctx *x)
{
	struct churn_res *cr = res;

	check_ok(x->v, CK_CHURN, !cr->errors);
	for (unsigned i = 0; cr->ran && i < cr->nsets; i++)
		for (int k = 0; k < CM_COUNT; k++) {
			struct churn_set *s = &cr->set[i];

			s->met[k] = isfinite(churn_goal[k]) &&
				    isfinite(s->ratio[k]) &&
				    check_ok(x->v, CK_CHURN_RATIO,
					     s->ratio[k] <= churn_goal[k]);
		}
}
