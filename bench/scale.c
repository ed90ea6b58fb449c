/*
 * scale: N up to the fd ceiling. A child process holds the client ends so
 * that the parent's fd table holds only server ends (about 19 900 of them
 * under a 20 000 limit). Per path: the time to watch and to unwatch each
 * socket, the library's heap bytes per watched socket (memory_bytes /
 * watched), the sweep's worst lap, and the latency of paced FIN closures
 * done by the child (it timestamps just before close() and sends the time
 * back). CPU is the parent's only (RUSAGE_SELF).
 */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000ull

static size_t scale_n(const struct bopts *o)
{
	size_t cap = o->fd_hard > 200 ? o->fd_hard - 100 : 100;
	size_t n = o->n_set ? o->n : (o->quick ? 2000 : cap);

	return n < cap ? n : cap;
}

static uint64_t close_paced(struct run *r, struct child *ch, const size_t *idx,
			    size_t k, uint64_t *rng)
{
	uint64_t pace = (uint64_t)r->o->pace_us * 1000u;

	for (size_t j = 0; j < k; j++) {
		sleep_ns(pace / 2 + rng_next(rng) % (pace + 1));
		if (child_close(ch, &r->c[idx[j]]))
			die("child close", EIO);
	}
	return now_ns();
}

static void measure(struct run *r, struct cell *cell, struct child *ch,
		    unsigned round)
{
	size_t k = r->o->closes < r->n ? r->o->closes : r->n;
	size_t *idx = malloc(r->n * sizeof(*idx));
	uint64_t rng = r->o->seed ^ ((uint64_t)r->sc << 40) ^ round, last;
	double cpu0 = self_cpu_ms();
	uint64_t t0 = now_ns();

	if (!idx)
		die("malloc", ENOMEM);
	for (size_t i = 0; i < r->n; i++)
		idx[i] = i;
	shuffle(idx, r->n, &rng);
	loop_start(r);
	run_settle(r);
	last = close_paced(r, ch, idx, k, &rng);
	run_wait(r, idx, k, last);
	loop_stop(r);
	cell->fig[round][FIG_CPU_MS] = self_cpu_ms() - cpu0;
	cell->cpu_ms += cell->fig[round][FIG_CPU_MS];
	cell->wall_ms += (double)(now_ns() - t0) / 1e6;
	free(idx);
}

/* The cost an operator's /metrics handler pays: one snapshot plus its
 * Prometheus text, on a monitor holding all N sockets. Median of 1001. */
static double stats_cost_ns(hupmon *m)
{
	enum { REPS = 1001 };
	static char buf[1 << 16];
	static double t[REPS];
	struct hupmon_stats st;

	for (int i = 0; i < REPS; i++) {
		uint64_t t0 = now_ns();

		hupmon_stats(m, &st);
		if (hupmon_stats_format(&st, HUPMON_FORMAT_PROMETHEUS, buf,
					sizeof(buf)) < 0)
			return NAN;
		t[i] = (double)(now_ns() - t0);
	}
	return median(t, REPS);
}

static void scale_round(const struct bctx *x, enum bpath_id pid, unsigned round)
{
	struct cell *cell = &x->res->c[x->sc][pid];
	struct run r = {
		.o = x->o, .p = &bench_paths[pid], .sc = x->sc, .cell = cell};
	size_t want = scale_n(x->o);
	struct child *ch;
	uint64_t t;
	int err;

	figs_reset(cell->fig[round]);
	r.c = calloc(want, sizeof(*r.c));
	if (!r.c)
		die("calloc", ENOMEM);
	ch = child_start(x->port);
	r.n = child_connect(ch, x->lfd, r.c, want, &err);
	if (err)
		fprintf(stderr,
			"hupmon-bench: scale: %zu of %zu connections "
			"(%s)\n",
			r.n, want, strerror(-err));
	t = now_ns();
	if (path_watch(&r)) {
		cell->errors++;
		goto out;
	}
	cell->fig[round][FIG_WATCH_NS] = (double)(now_ns() - t) / (double)r.n;
	if (r.m) /* a monitor's, not a floor's */
		cell->fig[round][FIG_STATS_NS] = stats_cost_ns(r.m);
	measure(&r, cell, ch, round);
	run_collect(&r, cell, round);
	t = now_ns();
	if (r.p->ops->unwatch(&r))
		cell->errors++;
	cell->fig[round][FIG_UNWATCH_NS] = (double)(now_ns() - t) / (double)r.n;
	if (cell->have_stats && cell->stats.watched)
		cell->fig[round][FIG_BYTES_SOCK] =
			(double)cell->stats.memory_bytes /
			(double)cell->stats.watched;
	cell->n = r.n;
out:
	r.p->ops->close(&r);
	conns_close(r.c, r.n);
	child_end(ch);
	free(r.c);
}

void run_scale(const struct bctx *x)
{
	enum bpath_id order[BP_COUNT];
	uint64_t t0 = now_ns();
	size_t n;

	run_order(x->sc, x->o, 0, order, &n);
	for (size_t i = 0; i < n; i++) {
		scale_round(x, order[i], 0);
		fprintf(stderr,
			"hupmon-bench: scale        %-13s done (%.1f s)\n",
			bench_paths[order[i]].name,
			(double)(now_ns() - t0) / 1e9);
	}
}
