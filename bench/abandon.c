/* SPDX-License-Identifier: MIT */
/*
 * abandon: a server that cancels the work of clients that left, measured
 * with clients that leave (issue 18). hupmon-serve (serve/server.h) runs in
 * this process, once per hupmon mode (off, epoll, the TCP_INFO sweep at 10 ms,
 * compare), each server on its own port; the clients of serve/load.h run
 * against each in turn, round after round, the modes' order reversed on odd
 * rounds so that a change in the machine's load hits them alike.
 *
 * Server and clients share the process so that each client's act (its
 * CLOCK_MONOTONIC time just before close, RST or shutdown) is matched with
 * the server's record of the same request (X-Request-Id): the CPU burnt
 * after it, and the latency from it to the hupmon callback and on to the
 * worker stopping. The modes follow --paths: epoll for the epoll path,
 * sweep-tcpinfo for the sweep, compare for compare; off always runs (the
 * other modes' floor).
 */
#include "abandon.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The path of --paths that chooses each mode (off: none, always runs). */
static const enum bpath_id mode_path[ABANDON_MODES] = {
	[SERVE_OFF] = BP_COUNT,
	[SERVE_EPOLL] = BP_EPOLL,
	[SERVE_SWEEP] = BP_TCPINFO,
	[SERVE_COMPARE] = BP_COMPARE,
};

struct live {
	struct abandon_res *a;
	struct serve *srv[ABANDON_MODES];
	struct load *load[ABANDON_MODES];
	atomic_bool stop;
};

/* Samples each monitor's probe-gap bound every millisecond: the gauge is 0
 * whenever nothing is watched (the timer is then disarmed), as between
 * requests, and it changes with the number of sockets swept. */
static void *sample_main(void *arg)
{
	struct live *lv = arg;

	while (!atomic_load(&lv->stop)) {
		for (int i = 0; i < ABANDON_MODES; i++) {
			struct abandon_mode *w = &lv->a->m[i];
			struct hupmon_stats st;
			uint64_t b;

			if (!lv->srv[i] || !serve_monitor(lv->srv[i]))
				continue;
			hupmon_stats(serve_monitor(lv->srv[i]), &st);
			b = st.sweep_gap_bound_ns;
			if (b > w->bound_max_ns)
				w->bound_max_ns = b;
			if (b && (!w->bound_min_ns || b < w->bound_min_ns))
				w->bound_min_ns = b;
			if (st.sweep_gap_worst_ns > w->gap_ns)
				w->gap_ns = st.sweep_gap_worst_ns;
		}
		sleep_ns(1000000);
	}
	return NULL;
}

/* A server and its clients for each chosen mode. */
static void start(const struct bopts *o, struct live *lv)
{
	struct serve_opts so = {.on_record = load_record};

	for (int i = 0; i < ABANDON_MODES; i++) {
		struct abandon_mode *w = &lv->a->m[i];

		if (mode_path[i] != BP_COUNT && !o->path[mode_path[i]])
			continue;
		lv->load[i] = load_new(&lv->a->lo);
		so.mode = (enum serve_mode)i;
		so.arg = lv->load[i];
		w->error =
			lv->load[i] ? serve_start(&so, &lv->srv[i]) : -ENOMEM;
		w->ran = !w->error;
		if (w->error)
			fprintf(stderr, "hupmon-bench: abandon: %s: %s\n",
				serve_mode_name(so.mode), strerror(-w->error));
		if (lv->srv[i] && !lv->a->sched) {
			lv->a->workers = serve_workers(lv->srv[i]);
			lv->a->sched = serve_worker_sched(lv->srv[i]);
		}
	}
}

static void one_round(struct live *lv, unsigned k)
{
	for (int j = 0; j < ABANDON_MODES; j++) {
		int i = k % 2 ? ABANDON_MODES - 1 - j : j;
		struct abandon_mode *w = &lv->a->m[i];

		if (!w->ran)
			continue;
		w->error = load_run(lv->load[i], NULL, serve_port(lv->srv[i]),
				    &w->r);
		if (!w->error)
			continue;
		w->ran = false;
		fprintf(stderr, "hupmon-bench: abandon: %s round %u: %s\n",
			serve_mode_name((enum serve_mode)i), k + 1,
			strerror(-w->error));
	}
}

/* Keeps act -> callback's samples, stops the servers. */
static void finish(struct live *lv)
{
	for (int i = 0; i < ABANDON_MODES; i++) {
		struct abandon_mode *w = &lv->a->m[i];
		size_t n = 0;
		const uint64_t *v =
			lv->load[i] && w->ran
				? load_samples(lv->load[i], LOAD_ACT_CB, &n)
				: NULL;

		for (size_t k = 0; k < n; k++)
			if (vec_push(&w->act_cb, v[k]))
				die("abandon samples", ENOMEM);
		serve_stop(lv->srv[i]);
		load_free(lv->load[i]);
	}
}

void *abandon_run(const struct bctx *x)
{
	const struct bopts *o = x->o;
	struct abandon_res *a = xcalloc(1, sizeof(*a));
	struct live lv = {.a = a};
	uint64_t t0 = now_ns();
	pthread_t t;
	bool sampling;

	load_defaults(&a->lo);
	a->lo.clients =
		o->n_set ? (unsigned)o->n
			 : (unsigned)(o->quick ? x->s->n_quick : x->s->n);
	a->lo.duration_ms = o->abandon_ms;
	a->lo.abandon_pct = o->abandon_pct;
	a->lo.seed = o->seed;
	a->rounds = o->quick ? 1 : o->rounds;
	if (getloadavg(a->load_before, 3) != 3)
		memset(a->load_before, 0, sizeof(a->load_before));
	start(o, &lv);
	sampling = pthread_create(&t, NULL, sample_main, &lv) == 0;
	for (unsigned k = 0; k < a->rounds; k++) {
		one_round(&lv, k);
		fprintf(stderr,
			"hupmon-bench: %-12s round %u/%u done (%.1f s)\n",
			x->s->name, k + 1, a->rounds,
			(double)(now_ns() - t0) / 1e9);
	}
	if (sampling) {
		atomic_store(&lv.stop, true);
		pthread_join(t, NULL);
	}
	finish(&lv);
	if (getloadavg(a->load_after, 3) != 3)
		memset(a->load_after, 0, sizeof(a->load_after));
	a->wall_s = (double)(now_ns() - t0) / 1e9;
	return a;
}

/* abandon: the goals as figures. Count checks: an error, a false
 * cancellation, a lost response or counters that do not add up, in any
 * mode. Timing checks: the epoll path's CPU after clients left at most 5 %
 * of off's (the margin is about a hundredfold: a queued request is dropped,
 * a running one stops within a 0.25 ms chunk; a sanitizer or a loaded
 * machine eats into it), each mode's act -> callback p99 and its goodput
 * against off's (under other processes' load the dispatching thread waits
 * for a CPU, README, and goodput follows that load). */
void abandon_analyse(void *res, const struct bctx *x)
{
	struct abandon_res *a = res;
	const struct abandon_mode *off = &a->m[SERVE_OFF];

	for (int i = 0; i < ABANDON_MODES; i++) {
		struct abandon_mode *w = &a->m[i];
		const struct load_result *r = &w->r;

		w->cpu_pct_off = w->goodput_off = w->p99_limit_ms = NAN;
		if (w->ran || w->error)
			w->failed = !check_ok(x->v, CK_ABANDON,
					      !w->error && !r->false_cancels &&
						      !r->lost && r->add_up);
		if (!w->ran || i == SERVE_OFF)
			continue;
		w->p99_limit_ms = ABANDON_P99_SLACK_MS;
		if (i == SERVE_SWEEP) /* the smallest bound seen: see README */
			w->p99_limit_ms += (double)w->bound_min_ns / 1e6;
		if (off->ran && off->r.cpu_after_left_ms > 0)
			w->cpu_pct_off = 100 * r->cpu_after_left_ms /
					 off->r.cpu_after_left_ms;
		if (off->ran && off->r.work_ms_per_s > 0)
			w->goodput_off =
				r->work_ms_per_s / off->r.work_ms_per_s;
		w->cpu_ok = w->cpu_pct_off <= ABANDON_CPU_PCT_MAX;
		if (i == SERVE_EPOLL && isfinite(w->cpu_pct_off))
			w->cpu_ok = check_ok(x->v, CK_ABANDON_CPU, w->cpu_ok);
		/* no act -> callback sample: no p99 to judge */
		w->p99_ok = r->act_cb.n &&
			    check_ok(x->v, CK_ABANDON_P99,
				     r->act_cb.p99_ms <= w->p99_limit_ms);
		w->goodput_ok =
			isfinite(w->goodput_off) &&
			check_ok(x->v, CK_ABANDON_GOODPUT, w->goodput_off >= 1);
	}
}

void abandon_free(void *res)
{
	struct abandon_res *a = res;

	for (int i = 0; i < ABANDON_MODES; i++)
		vec_free(&a->m[i].act_cb);
	free(a);
}
