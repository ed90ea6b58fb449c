/* SPDX-License-Identifier: MIT */
/*
 * run: one path, one round, fresh connections. The detection loop (hupmon
 * dispatch or a raw loop) runs on its own thread; the main thread acts as
 * the client (paced closures in a seeded random order, each timestamped just
 * before the call), then waits until every expected report is in and a quiet
 * spell has passed (to catch late duplicates), or a hard deadline.
 */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Creates the monitor (or raw loop) and watches every server end. */
int path_watch(struct run *r)
{
	int rc = r->p->ops->open(r);

	for (size_t i = 0; !rc && i < r->n; i++)
		rc = r->p->ops->watch(r, &r->c[i]);
	return rc;
}

int path_unwatch(struct run *r)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < r->n; i++)
		rc = r->p->ops->unwatch(r, &r->c[i]);
	return rc;
}

static void *loop_thread(void *arg)
{
	struct run *r = arg;

	r->p->ops->loop(r);
	/* absolute: loop_snapshot read the same clock at the window start */
	r->loop_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	return NULL;
}

void loop_start(struct run *r)
{
	int rc;

	atomic_store(&r->stop, false);
	rc = pthread_create(&r->thr, NULL, loop_thread, r);
	if (rc)
		die("pthread_create", rc);
}

/* Marks the start of the measured window: what the loop counted so far is
 * subtracted by run_collect. */
static void loop_snapshot(struct run *r)
{
	struct hupmon_stats st;
	clockid_t cid;

	r->wakeups0 = r->wakeups;
	r->p->ops->counters(r, &st);
	r->probes0 = st.sweep_probes;
	if (!pthread_getcpuclockid(r->thr, &cid))
		r->cpu0_ns = clock_ns(cid);
}

void loop_stop(struct run *r)
{
	atomic_store(&r->stop, true);
	r->p->ops->stop(r);
	pthread_join(r->thr, NULL);
}

/* Waits, once the loop runs, until the path is in its steady state: a sweep
 * has its timer at the tick rate and has probed every socket. */
static void run_settle(const struct run *r)
{
	uint64_t ms = r->o->settle_ms;

	if (!ms)
		ms = sweeps(r->p) ? 2 * r->o->period_ms + 2 : 2;
	sleep_ns(ms * NS_PER_MS);
}

/* How long a report may take and still count: one that has not come this
 * long after its act is missed. */
static uint64_t report_wait(const struct run *r)
{
	return 2000 * NS_PER_MS + 3 * (uint64_t)r->o->period_ms * NS_PER_MS;
}

static void run_wait(struct run *r, const size_t *idx, size_t k,
		     uint64_t last_act)
{
	uint64_t period = (uint64_t)r->o->period_ms * NS_PER_MS;
	/* a sweep's duplicate would come a lap after the first report; an
	 * event-driven path's at once */
	uint64_t quiet =
		sweeps(r->p) ? period * 3 / 2 + 5 * NS_PER_MS : 5 * NS_PER_MS;
	uint64_t hard = last_act + report_wait(r);
	uint64_t settled = 0;

	for (;;) {
		uint64_t t = now_ns();

		if (t >= hard)
			return;
		if (pending(r, idx, k)) {
			settled = 0;
		} else if (!settled) {
			settled = t;
		} else if (t - settled >= quiet) {
			return;
		}
		sleep_ns(NS_PER_MS);
	}
}

/* What a monitor's reports cost beyond their event or probe: SO_COOKIE and
 * SO_ERROR reads per hangup report, over the paths that reported. */
static void report_costs(const struct hupmon_stats *st, double *v)
{
	uint64_t reps = 0;

	for (unsigned p = 1; p < HUPMON_PATH_COUNT; p++)
		for (unsigned c = 1; c < HUPMON_CAUSE_COUNT; c++)
			reps += st->hangups[p][c];
	if (!reps)
		return;
	v[FIG_COOKIE_REP] =
		(double)(st->epoll_cookie_reads + st->sweep_cookie_reads) /
		(double)reps;
	v[FIG_ERROR_REP] =
		(double)(st->epoll_error_reads + st->sweep_error_reads) /
		(double)reps;
}

/* Adds what the finished (joined) run saw to cell->fig[round] and totals. */
static void run_collect(struct run *r, unsigned round)
{
	struct cell *cell = r->cell;
	double *v = cell->fig[round];
	struct hupmon_stats st;

	eval_run(r, round);
	cell->ran = true;
	cell->rounds = round + 1 > cell->rounds ? round + 1 : cell->rounds;
	cell->fals += r->stray;
	cell->errors += r->loop_err ? 1 : 0;
	v[FIG_COOKIE_REP] = v[FIG_ERROR_REP] = NAN;
	if (r->p->ops->counters(r, &st)) {
		cell->stats = st;
		cell->have_stats = true;
		report_costs(&st, v);
	}
	cell->overruns += st.sweep_overruns;
	if (st.sweep_lap_worst_ns > cell->lap_worst_ns)
		cell->lap_worst_ns = st.sweep_lap_worst_ns;
	r->probes = st.sweep_probes - r->probes0;
	r->wakeups -= r->wakeups0;
	r->loop_cpu_ns -= r->cpu0_ns;
	cell->probes += r->probes;
	cell->wakeups += r->wakeups;
	cell->loop_cpu_ms += (double)r->loop_cpu_ns / 1e6;
	v[FIG_NS_PROBE] =
		r->probes ? (double)r->loop_cpu_ns / (double)r->probes : NAN;
	v[FIG_LOOP_MS] = (double)r->loop_cpu_ns / 1e6;
}

/* Connections of a run: --n, or the scenario's own number, within the fd
 * limit (a child holds the client ends: one fd per connection, else two). */
size_t conns_for(const struct bopts *o, const struct scenario *s)
{
	size_t cap = (o->fd_hard > 200 ? o->fd_hard - 100 : 100) /
		     (s->child ? 1 : 2);
	size_t n = o->n;

	if (s->n && !o->n_set)
		n = o->quick ? s->n_quick : s->n;
	return n < cap ? n : cap;
}

/* Paths run in this scenario: of those it can run, the chosen ones, those
 * it always runs, those a chosen one brings in, and their floors; in
 * forward order on even rounds and reversed on odd ones, so each path and
 * its floor alternate. */
void run_order(const struct scenario *s, const struct bopts *o, unsigned round,
	       enum bpath_id *out, size_t *n)
{
	unsigned chosen = s->always, on = 0;

	for (int p = 0; p < BP_COUNT; p++)
		if (o->path[p])
			chosen |= PATH_BIT(p);
	for (int p = 0; p < BP_COUNT; p++)
		if ((s->paths & PATH_BIT(p)) &&
		    ((chosen & PATH_BIT(p)) || (bench_paths[p].with & chosen)))
			for (int q = p; !(on & PATH_BIT(q));
			     q = bench_paths[q].floor)
				on |= PATH_BIT(q);
	*n = 0;
	for (int p = 0; p < BP_COUNT; p++)
		if (on & PATH_BIT(p))
			out[(*n)++] = (enum bpath_id)p;
	for (size_t i = 0; round % 2 && i < *n / 2; i++) {
		enum bpath_id t = out[i];

		out[i] = out[*n - 1 - i];
		out[*n - 1 - i] = t;
	}
}

static uint64_t act_all(struct run *r, const size_t *idx, size_t k,
			uint64_t *rng)
{
	const struct scenario *s = r->s;
	uint64_t pace = (uint64_t)r->o->pace_us * 1000u;
	uint64_t period = (uint64_t)r->o->period_ms * NS_PER_MS;
	/* escalate: its second stage waits for the first stage's report as
	 * long as any report may take; once one has not come in that time
	 * (the path is failing), 3 periods and 50 ms for the others, so that
	 * a path that never reports costs one long wait a run, not one per
	 * connection */
	uint64_t wait = report_wait(r);

	for (size_t j = 0; j < k; j++) {
		struct conn *c = &r->c[idx[j]];

		/* uniform in [pace/2, 3*pace/2): no phase lock with ticks */
		if (!s->burst)
			sleep_ns(pace / 2 + rng_next(rng) % (pace + 1));
		if (r->child)
			child_act(r->child, c, HOW_FIN);
		else
			s->act(c);
		/* every path gets the same delays: how long the machine
		 * sat idle changes how fast it wakes up */
		if (s->then && !s->then(c, wait, rng_next(rng) % period))
			wait = 3 * period + 50 * NS_PER_MS;
	}
	return now_ns();
}

void run_closures(struct run *r, unsigned round, size_t k)
{
	uint64_t rng =
		r->o->seed ^ ((uint64_t)r->sc << 40) ^ ((uint64_t)round << 20);
	size_t *idx = shuffled(r->n, &rng);
	double *v = r->cell->fig[round];
	double cpu0 = self_cpu_ms();
	uint64_t t0 = now_ns();

	loop_start(r);
	run_settle(r);
	run_wait(r, idx, k, act_all(r, idx, k, &rng));
	loop_stop(r);
	v[FIG_CPU_MS] = self_cpu_ms() - cpu0;
	r->cell->cpu_ms += v[FIG_CPU_MS];
	r->cell->wall_ms += (double)(now_ns() - t0) / 1e6;
	free(idx);
	run_collect(r, round);
}

static void burst_span(struct run *r, double *v)
{
	uint64_t first = UINT64_MAX, last = 0;

	for (size_t i = 0; i < r->n; i++) {
		struct conn *c = &r->c[i];

		if (c->acted && c->t_act[0] < first)
			first = c->t_act[0];
		if (c->nrep[HUPMON_CAUSE_PEER_SHUTDOWN] &&
		    c->t_cb[HUPMON_CAUSE_PEER_SHUTDOWN] > last)
			last = c->t_cb[HUPMON_CAUSE_PEER_SHUTDOWN];
	}
	v[FIG_SPAN_MS] = last > first ? (double)(last - first) / 1e6 : NAN;
}

/* One round of one path in a closure, burst or interference scenario: the
 * closures spread over the rounds (burst: all N at once). */
void closure_round(struct run *r, unsigned round)
{
	size_t k = (r->o->closes + r->o->rounds - 1) / r->o->rounds;

	if (path_watch(r)) {
		r->cell->errors++;
		return;
	}
	run_closures(r, round, r->s->burst || k > r->n ? r->n : k);
	if (r->s->burst)
		burst_span(r, r->cell->fig[round]);
}

void idle_round(struct run *r, unsigned round)
{
	double *v = r->cell->fig[round];
	double cpu0, secs;
	uint64_t t0;

	if (path_watch(r)) {
		r->cell->errors++;
		return;
	}
	loop_start(r);
	run_settle(r);
	loop_snapshot(r);
	cpu0 = self_cpu_ms();
	t0 = now_ns();
	sleep_ns((uint64_t)r->o->idle_ms * NS_PER_MS);
	loop_stop(r);
	secs = (double)(now_ns() - t0) / 1e9;
	v[FIG_CPU_MS] = self_cpu_ms() - cpu0;
	r->cell->cpu_ms += v[FIG_CPU_MS];
	r->cell->wall_ms += secs * 1e3;
	run_collect(r, round);
	v[FIG_CPU_PER_S] = v[FIG_CPU_MS] / secs;
	v[FIG_WAKE_S] = (double)r->wakeups / secs;
}

/* One path, one round, on fresh connections: loopback pairs, or client
 * ends held by a child process (scale). */
void run_one(const struct bctx *x, struct closure_res *cr, enum bpath_id pid,
	     unsigned round)
{
	const struct scenario *s = x->s;
	struct run r = {.o = x->o,
			.p = &bench_paths[pid],
			.sc = x->sc,
			.s = s,
			.cell = &cr->c[pid]};
	size_t want = conns_for(x->o, s);
	int rc;

	r.c = xcalloc(want, sizeof(*r.c));
	if (s->child)
		r.child = child_start(x->port);
	r.n = conns_open(x->lfd, x->port, r.child, r.c, want, &rc);
	if (rc && !s->child)
		die("opening loopback connections", -rc);
	if (rc)
		fprintf(stderr,
			"hupmon-bench: %s: %zu of %zu connections (%s)\n",
			s->name, r.n, want, strerror(-rc));
	figs_reset(r.cell->fig[round]);
	s->round(&r, round);
	r.cell->n = r.n;
	r.p->ops->close(&r);
	conns_close(r.c, r.n);
	if (r.child)
		child_end(r.child);
	free(r.c);
}

/* Every round of one scenario over its paths. */
void *closure_run(const struct bctx *x)
{
	struct closure_res *cr = xcalloc(1, sizeof(*cr));
	uint64_t t0 = now_ns();

	for (unsigned round = 0; round < x->o->rounds; round++) {
		enum bpath_id order[BP_COUNT];
		size_t n;

		run_order(x->s, x->o, round, order, &n);
		for (size_t i = 0; i < n; i++)
			run_one(x, cr, order[i], round);
		fprintf(stderr,
			"hupmon-bench: %-12s round %u/%u done (%.1f s)\n",
			x->s->name, round + 1, x->o->rounds,
			(double)(now_ns() - t0) / 1e9);
	}
	return cr;
}
