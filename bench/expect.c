/* SPDX-License-Identifier: MIT */
/*
 * expect: the check of every run against what its scenario's row says each
 * path must see (struct expect; --explain prints them all, explain.c).
 */
#include "bench.h"

/* Keeps what a connection whose stage s report never came did get. */
static void note_miss(const struct run *r, const struct conn *c, unsigned s,
		      unsigned round, struct cell *cell)
{
	struct miss_note *n = &cell->notes[cell->nnotes];
	uint64_t a = c->t_act[0];

	if (cell->nnotes == CELL_NOTES)
		return;
	cell->nnotes++;
	*n = (struct miss_note){.round = round,
				.conn = (uint32_t)(c - r->c),
				.stage = (uint8_t)s,
				.want = r->s->expect[r->p->vis].cause[s],
				.top = c->top};
	if (c->top && c->t_cb[c->top] > a)
		n->top_ns = c->t_cb[c->top] - a;
	if (c->t_act[1] > a)
		n->stage2_ns = c->t_act[1] - a;
}

static void eval_stage(const struct run *r, const struct conn *c,
		       const struct expect *e, unsigned s, unsigned round,
		       struct cell *cell, struct vec *lat)
{
	enum hupmon_cause cause = e->cause[s];
	uint32_t n = c->nrep[cause];
	uint64_t t;

	if (!n) {
		(e->miss_ok[s] ? cell->xmiss : cell->miss)[s]++;
		if (!e->miss_ok[s])
			note_miss(r, c, s, round, cell);
		return;
	}
	/* Reported before the act (t_act is taken before the syscall, so a
	 * true report cannot precede it): a false report. */
	if (c->t_det[cause] && c->t_det[cause] < c->t_act[s]) {
		cell->fals += n;
		return;
	}
	cell->seen[s]++;
	cell->dup += n - 1;
	/* interference compares the epoll path's own detection times */
	if (r->p->epoll_time)
		t = c->t_epoll[cause];
	else if (r->s->det_latency)
		t = c->t_det[cause];
	else
		t = c->t_cb[cause];
	if (t) {
		t = t > c->t_act[s] ? t - c->t_act[s] : 0;
		vec_push(&cell->lat[s], t);
		vec_push(&lat[s], t);
	}
	t = c->t_det[cause];
	if (t)
		vec_push(&cell->det[s], t > c->t_act[s] ? t - c->t_act[s] : 0);
}

static void eval_conn(const struct run *r, const struct conn *c, unsigned round,
		      struct cell *cell, struct vec *lat)
{
	const struct expect *e = &r->s->expect[r->p->vis];
	uint32_t total = 0;

	for (int k = 1; k <= HUPMON_CAUSE_MAX; k++)
		total += c->nrep[k];
	cell->fals += c->misattr;
	if (!c->acted) {
		cell->fals += total;
		return;
	}
	cell->acted++;
	/* compare: every reported connection gets a record (a lag, or a
	 * miss at the deadline). */
	if (r->p->compare && total && !(atomic_load(&c->seen) & SEEN_CMP))
		cell->cmp_norecord++;
	for (unsigned s = 0; s < BENCH_STAGES; s++) {
		if (!e->cause[s])
			continue;
		eval_stage(r, c, e, s, round, cell, lat);
		total -= c->nrep[e->cause[s]];
	}
	cell->wrong += total + (c->order_bad ? 1 : 0);
}

void eval_run(const struct run *r, unsigned round)
{
	struct vec lat[BENCH_STAGES] = {{0}};
	struct cell *cell = r->cell;

	for (size_t i = 0; i < r->n; i++)
		eval_conn(r, &r->c[i], round, cell, lat);
	for (unsigned s = 0; s < BENCH_STAGES; s++) {
		cell->fig[round][fig_stage(FIG_P50, s)] = vec_pct(&lat[s], 50);
		cell->fig[round][fig_stage(FIG_P99, s)] =
			pct_sorted(&lat[s], 99);
		cell->fig[round][fig_stage(FIG_P90, s)] =
			pct_sorted(&lat[s], 90);
		vec_free(&lat[s]);
	}
}

size_t pending(const struct run *r, const size_t *idx, size_t k)
{
	const struct expect *e = &r->s->expect[r->p->vis];
	size_t left = 0;

	for (size_t j = 0; j < k; j++) {
		unsigned seen = atomic_load(&r->c[idx[j]].seen);

		for (unsigned s = 0; s < BENCH_STAGES; s++)
			if (e->cause[s] && !e->miss_ok[s] &&
			    !(seen & (1u << e->cause[s])))
				left++;
		if (r->p->compare && !(seen & SEEN_CMP))
			left++;
	}
	return left;
}
