/* SPDX-License-Identifier: MIT */
/*
 * unix_report: what the unix scenario shows (unix.c measures): its table,
 * its FAIL lines, its JSON, its curves for the picture and its paragraph of
 * --explain; and its ops.
 */
#include "unix.h"
#include "jw.h"
#include "plot.h"
#include "tab.h"

/* A row a stage of an act and a path; the floor, p90 and max with --wide.
 * 93 columns, 99 with a FAIL. */
static const struct col cols[] = {
	{"act", -12, 0, false},	 {"path", -10, 0, false},
	{"floor", -9, 0, true},	 {"cause", -13, 0, false},
	{"seen", 4, 0, false},	 {"miss", 4, 0, false},
	{"false", 5, 0, false},	 {"dup", 3, 0, false},
	{"wrong", 5, 0, false},	 {"p50", 7, 1, false},
	{"p90", 7, 1, true},	 {"p99", 7, 1, false},
	{"max", 8, 1, true},	 {"p50/fl", 6, 2, false},
	{"p99/fl", 6, 2, false}, {"cpu-ms", 7, 1, true},
	{"probes", 8, 0, true},	 {NULL, 0, 0, false},
};

static const char *floor_name(enum unix_path p)
{
	enum unix_path f = unix_paths[p].floor;

	return f == p ? "-" : unix_paths[f].p->name;
}

/* The stages an act has: 1, 2 (escalate), and 1 for those that must report
 * nothing (the row of their false and wrong reports). */
static unsigned stages(const struct scenario *a)
{
	return a->expect[VIS_EPOLL].cause[1] ? 2 : 1;
}

static const char *row_name(const struct scenario *a, unsigned s)
{
	return s ? a->stage2 : a->name;
}

static void fill(struct tab *t, enum unix_act a, enum unix_path p, unsigned s,
		 const struct cell *c, const struct unix_row *w)
{
	const struct scenario *act = &unix_acts[a];

	tab_s(t, row_name(act, s));
	tab_s(t, unix_paths[p].p->name);
	tab_s(t, floor_name(p));
	tab_s(t, hupmon_cause_name(act->expect[VIS_EPOLL].cause[s]));
	tab_u(t, c->seen[s]);
	tab_u(t, c->miss[s]);
	if (s) { /* the totals are the first stage's */
		tab_skip(t, 3);
	} else {
		tab_u(t, c->fals);
		tab_u(t, c->dup);
		tab_u(t, c->wrong);
	}
	tab_n(t, w->lat[s].p50);
	tab_n(t, w->lat[s].p90);
	tab_n(t, w->lat[s].p99);
	tab_n(t, w->lat[s].max);
	tab_n(t, w->r_p50[s]);
	tab_n(t, w->r_p99[s]);
	tab_n(t, s ? NAN : c->loop_cpu_ms);
	if (s)
		tab_skip(t, 1);
	else
		tab_u(t, c->probes);
}

static void unix_report(FILE *f, const void *res, const struct bctx *x)
{
	const struct unix_res *ur = res;

	fprintf(f,
		"\n== unix: Unix stream peers, N=%zu, %u rounds; µs from the "
		"peer's act to the callback ==\n",
		ur->n, ur->rounds);
	fprintf(f,
		"x/fl: over its floor (raw-epoll; the sweep's: raw-poll). "
		"sweep-poll and compare poll a\nUnix socket whatever the "
		"method. A RESET must carry ECONNRESET: %llu of %llu did.\n",
		ur->resets - ur->reset_errno_bad, ur->resets);
	tab_head(f, cols, x->o->wide, NULL);
	for (int a = 0; a < UA_COUNT; a++)
		for (unsigned s = 0; s < stages(&unix_acts[a]); s++)
			for (int p = 0; p < UP_COUNT; p++) {
				const struct cell *c = &ur->c[a][p];
				struct tab t = {
					.f = f, .col = cols, .all = x->o->wide};
				bool bad =
					c->miss[s] ||
					(!s && (c->fals || c->dup || c->wrong ||
						c->errors || c->cmp_disagree ||
						c->cmp_norecord));

				if (!c->ran)
					continue;
				fill(&t, (enum unix_act)a, (enum unix_path)p, s,
				     c, &ur->an[a][p]);
				tab_end(&t, bad ? "  FAIL" : NULL);
			}
}

static void unix_fails(FILE *f, const void *res, const struct bctx *x)
{
	const struct unix_res *ur = res;

	for (int a = 0; a < UA_COUNT; a++)
		for (int p = 0; p < UP_COUNT; p++) {
			const struct cell *c = &ur->c[a][p];

			if (!ur->an[a][p].failed)
				continue;
			fprintf(f,
				"FAIL %s/%s/%s: %llu missed, %llu false, %llu "
				"duplicate, %llu wrong (cause, order\n  or "
				"errno), %llu errors; compare records: %llu "
				"disagree, %llu reports without one\n",
				x->s->name, unix_acts[a].name,
				unix_paths[p].p->name, c->miss[0] + c->miss[1],
				c->fals, c->dup, c->wrong, c->errors,
				c->cmp_disagree, c->cmp_norecord);
			for (unsigned i = 0; i < c->nnotes; i++) {
				const struct miss_note *n = &c->notes[i];

				fprintf(f,
					"  round %u, conn %u: no %s; got %s\n",
					n->round + 1, n->conn,
					hupmon_cause_name(n->want),
					n->top ? hupmon_cause_name(n->top)
					       : "nothing");
			}
		}
}

static void stage_json(struct jw *w, const struct cell *c,
		       const struct unix_row *r, enum unix_act a, unsigned s)
{
	jw_obj(w, NULL);
	jw_str(w, "name", row_name(&unix_acts[a], s));
	jw_str(w, "cause",
	       hupmon_cause_name(unix_acts[a].expect[VIS_EPOLL].cause[s]));
	jw_uint(w, "seen", c->seen[s]);
	jw_uint(w, "missed", c->miss[s]);
	dist_json(w, "latency_us", &r->lat[s]);
	jw_num(w, "ratio_p50", r->r_p50[s]);
	jw_num(w, "ratio_p99", r->r_p99[s]);
	cell_rounds_json(w, c, s);
	jw_end(w);
}

static void path_json(struct jw *w, const struct unix_res *ur, enum unix_act a,
		      enum unix_path p)
{
	const struct cell *c = &ur->c[a][p];
	const struct unix_row *r = &ur->an[a][p];

	jw_obj(w, NULL);
	jw_str(w, "path", unix_paths[p].p->name);
	jw_str(w, "floor", unix_paths[p].floor == p ? "" : floor_name(p));
	jw_uint(w, "n", c->n);
	jw_uint(w, "rounds", c->rounds);
	jw_uint(w, "acted", c->acted);
	jw_uint(w, "false", c->fals);
	jw_uint(w, "duplicate", c->dup);
	jw_uint(w, "wrong", c->wrong);
	jw_uint(w, "errors", c->errors);
	jw_bool(w, "failed", r->failed);
	jw_num(w, "loop_cpu_ms", c->loop_cpu_ms);
	jw_uint(w, "probes", c->probes);
	jw_uint(w, "wakeups", c->wakeups);
	if (unix_paths[p].p->compare) {
		jw_obj(w, "compare");
		jw_uint(w, "epoll_first", c->cmp_epoll);
		jw_uint(w, "sweep_first", c->cmp_sweep);
		jw_uint(w, "second_missed", c->cmp_missed);
		jw_uint(w, "disagree", c->cmp_disagree);
		jw_uint(w, "without_record", c->cmp_norecord);
		jw_end(w);
	}
	jw_arr(w, "stages");
	for (unsigned s = 0; s < BENCH_STAGES; s++)
		if (unix_acts[a].expect[VIS_EPOLL].cause[s])
			stage_json(w, c, r, a, s);
	jw_end(w);
	jw_end(w);
}

static void unix_json(struct jw *w, const void *res, const struct bctx *x)
{
	const struct unix_res *ur = res;

	(void)x;
	jw_uint(w, "n", ur->n);
	jw_uint(w, "rounds", ur->rounds);
	jw_num(w, "wall_s", ur->wall_s);
	jw_uint(w, "library_resets", ur->resets);
	jw_uint(w, "library_resets_not_econnreset", ur->reset_errno_bad);
	jw_arr(w, "acts");
	for (int a = 0; a < UA_COUNT; a++) {
		jw_obj(w, NULL);
		jw_str(w, "act", unix_acts[a].name);
		jw_str(w, "does", unix_acts[a].does);
		jw_arr(w, "paths");
		for (int p = 0; p < UP_COUNT; p++)
			if (ur->c[a][p].ran)
				path_json(w, ur, (enum unix_act)a,
					  (enum unix_path)p);
		jw_end(w);
		jw_end(w);
	}
	jw_end(w);
}

/* A panel per stage that reports, a curve per path (sorted by
 * unix_analyse), the sweep's period and probe-gap bound marked. */
static void unix_plot(struct plot *pl, const void *res, const struct bctx *x)
{
	const struct unix_res *ur = res;
	const struct bopts *o = x->o;

	for (int a = 0; a < UA_COUNT; a++)
		for (unsigned s = 0; s < BENCH_STAGES; s++) {
			bool sweep = false;

			if (!unix_acts[a].expect[VIS_EPOLL].cause[s])
				continue;
			plot_panel(pl, PLOT_US,
				   "unix %s, N=%zu: act to callback",
				   row_name(&unix_acts[a], s), ur->n);
			for (int p = 0; p < UP_COUNT; p++) {
				const struct bpath *bp = unix_paths[p].p;

				if (!ur->c[a][p].ran)
					continue;
				sweep |= sweeps(bp);
				plot_curve(pl, bp->name, bp->colour, bp->dash,
					   (int)unix_paths[p].floor == p,
					   &ur->c[a][p].lat[s]);
			}
			if (sweep) {
				plot_mark(pl, PLOT_PERIOD, o->period_ms * 1e6);
				plot_mark(pl, PLOT_BOUND,
					  (o->period_ms + o->tick_ms) * 1e6);
			}
		}
}

const struct scenario_ops unix_ops = {
	.explain =
		"unix (run only when named): a listening AF_UNIX stream socket "
		"(abstract address)\n"
		"accepts N connections a run; the peer's end acts, the "
		"accepted end is watched.\n"
		"What every path must report, by act: close (nothing unread) "
		"hangup;\n"
		"close-unread (16 B of ours unread in its end) reset with "
		"errno ECONNRESET;\n"
		"shut-wr peer_shutdown; shut-rdwr hangup; shut-rd nothing; "
		"escalate (SHUT_WR,\n"
		"16 B unread) peer_shutdown, then on close() (escalate:2) "
		"reset; idle (no act,\n"
		"--idle-ms) nothing. Paths: epoll (always) and compare beside "
		"raw-epoll (the same\n"
		"edge-triggered registration), sweep-poll (hupmon's sweep, "
		"which polls a Unix\n"
		"socket whatever the method; --paths sweep-peek or "
		"sweep-tcpinfo) beside raw-poll\n"
		"(a timerfd sweep of poll(POLLRDHUP, 0)). A missed, false, "
		"duplicate or wrong\n"
		"report (a RESET of hupmon's without ECONNRESET too) fails "
		"the visibility check:\n"
		"exit status 1. The latencies and their ratios to the floors "
		"are printed, not\n"
		"judged.\n",
	.run = unix_run,
	.analyse = unix_analyse,
	.report = unix_report,
	.fails = unix_fails,
	.json = unix_json,
	.plot = unix_plot,
	.free = unix_free,
};
