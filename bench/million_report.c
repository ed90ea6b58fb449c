/* SPDX-License-Identifier: MIT */
/*
 * million_report: what the million scenario shows (million.h): the cost of
 * each operation, memory per entry and per socket, its goals, its FAIL
 * lines and its JSON.
 */
#include "jw.h"
#include "million.h"
#include "tab.h"

#include <math.h>
#include <string.h>

/* A row per phase, µs: the least over the repetitions of each op. */
static const struct col ops_cols[] = {
	{"us per operation", -26, 0, false}, {"cpu-p50", 8, 2, false},
	{"cpu-p999", 8, 2, false},	     {"cpu-max", 8, 1, false},
	{"wall-p999", 9, 2, false},	     {"wall-max", 9, 1, false},
	{"cpu-max-op", 10, 0, false},	     {NULL, 0, 0, false},
};

static void ops_row(FILE *f, const struct million_ops *o, bool wide)
{
	struct tab t = {.f = f, .col = ops_cols, .all = wide};

	tab_s(&t, o->what);
	tab_n(&t, o->cpu_p50 / 1e3);
	tab_n(&t, o->cpu_p999 / 1e3);
	tab_n(&t, o->cpu_max / 1e3);
	tab_n(&t, o->wall_p999 / 1e3);
	tab_n(&t, (double)o->wall_raw / 1e3);
	tab_u(&t, o->worst_at + 1);
	tab_end(&t, NULL);
}

/* A goal's line: met, not judged, or the check's word for a miss. */
static void million_goals(FILE *f, const struct million_res *r)
{
	char buf[160];

	verdict_goals_head(f);
	if (r->err) {
		snprintf(buf, sizeof(buf), "error: %s", strerror(-r->err));
		verdict_goal(f, CK_MILLION, true, false, buf);
		return;
	}
	snprintf(buf, sizeof(buf),
		 "%.1f B per entry at %zu synthetic (at most %.0f%s)",
		 r->bytes_entry, r->n, MILLION_GOAL_BYTES,
		 r->n < MILLION_N ? "; a million's cookie-table load" : "");
	verdict_goal(f, CK_MILLION, true, r->entry_met, buf);
	if (r->real >= MILLION_GOAL_REAL_N)
		snprintf(buf, sizeof(buf),
			 "%.1f B per socket at %zu real sockets (at most %.0f)",
			 r->bytes_real, r->real, MILLION_GOAL_BYTES);
	else
		snprintf(buf, sizeof(buf),
			 "%.1f B per socket at %zu real sockets: judged from "
			 "%d on",
			 r->bytes_real, r->real, MILLION_GOAL_REAL_N);
	verdict_goal(f, CK_MILLION, r->real >= MILLION_GOAL_REAL_N, r->real_met,
		     buf);
	snprintf(buf, sizeof(buf),
		 "real: %llu B for %zu sockets = the same fds' bookkeeping, "
		 "%llu B",
		 (unsigned long long)r->mem_real, r->real,
		 (unsigned long long)r->mem_twin);
	verdict_goal(f, CK_MILLION, r->real > 0, r->twin_met, buf);
	snprintf(buf, sizeof(buf),
		 "worst single watch %.1f us of CPU (at most %.0f us)",
		 r->worst_ns / 1e3, MILLION_GOAL_NS / 1e3);
	verdict_goal(f, CK_MILLION_WATCH, true, r->watch_met, buf);
}

static void million_report(FILE *f, const void *res, const struct bctx *x)
{
	const struct million_res *r = res;

	fprintf(f,
		"\n== million: one watch, and memory per socket, at %zu "
		"synthetic entries ==\npaths both, compare off, stall off: "
		"hupmon_watch's registry and sweep bookkeeping\nwithout its "
		"syscalls; each op the least of %u repetitions (cpu: the "
		"thread's CPU clock;\nwall-max: the worst of any), us; "
		"cpu-max-op: the op that took cpu-max, from 1\n",
		r->n, r->reps);
	tab_head(f, ops_cols, x->o->wide, NULL);
	ops_row(f, &r->floor, x->o->wide);
	ops_row(f, &r->add, x->o->wide);
	ops_row(f, &r->del, x->o->wide);
	ops_row(f, &r->readd, x->o->wide);
	fprintf(f,
		"lookup by cookie + by fd: %.0f ns per pair (random cache "
		"misses at this size)\n"
		"growth: %llu arrays grown in place, %llu moved (largest %llu "
		"pages), most bytes copied\nby one allocation %llu, most "
		"cookie-table entries moved by one operation %u\n",
		r->lookup_ns, (unsigned long long)r->opened,
		(unsigned long long)r->moves,
		(unsigned long long)r->move_pages_max,
		(unsigned long long)r->copied_max, r->moved_max);
	fprintf(f,
		"memory: %.1f B per entry at %zu synthetic (worst %.1f, at "
		"%zu, from 19 900 on);\n%.1f B per socket at %zu real sockets "
		"(worst hupmon_watch %.1f us, p99.9 %.1f us,\nsyscalls "
		"included, one pass)\n",
		r->bytes_entry, r->n, r->bytes_worst, r->bytes_worst_at,
		r->bytes_real, r->real, r->real_worst_ns / 1e3,
		r->real_p999_ns / 1e3);
	million_goals(f, r);
}

static void million_fails(FILE *f, const void *res, const struct bctx *x)
{
	const struct million_res *r = res;

	(void)x;
	if (r->err) {
		fprintf(f, "FAIL million: error %s\n", strerror(-r->err));
		return;
	}
	if (!r->entry_met)
		fprintf(f, "FAIL million: %.1f B per entry at %zu > %.0f\n",
			r->bytes_entry, r->n, MILLION_GOAL_BYTES);
	if (r->real >= MILLION_GOAL_REAL_N && !r->real_met)
		fprintf(f,
			"FAIL million: %.1f B per socket at %zu real > %.0f\n",
			r->bytes_real, r->real, MILLION_GOAL_BYTES);
	if (r->real && !r->twin_met)
		fprintf(f,
			"FAIL million: %zu real sockets hold %llu B, their "
			"bookkeeping alone %llu B\n",
			r->real, (unsigned long long)r->mem_real,
			(unsigned long long)r->mem_twin);
}

/* One row of the table, µs. */
static void ops_json(struct jw *w, const struct million_ops *o)
{
	jw_obj(w, NULL);
	jw_str(w, "op", o->what);
	jw_num(w, "cpu_p50_us", o->cpu_p50 / 1e3);
	jw_num(w, "cpu_p999_us", o->cpu_p999 / 1e3);
	jw_num(w, "cpu_max_us", o->cpu_max / 1e3);
	jw_num(w, "wall_p999_us", o->wall_p999 / 1e3);
	jw_num(w, "wall_max_us", (double)o->wall_raw / 1e3);
	jw_uint(w, "cpu_max_op", o->worst_at + 1);
	jw_end(w);
}

static void million_json(struct jw *w, const void *res, const struct bctx *x)
{
	const struct million_res *m = res;
	bool judged = !m->err;

	(void)x;
	jw_uint(w, "n", m->n);
	jw_uint(w, "reps", m->reps);
	jw_num(w, "synthetic_s", m->synthetic_s);
	jw_int(w, "error", m->err);
	jw_str(w, "error_text", m->err ? strerror(-m->err) : NULL);
	jw_arr(w, "ops");
	ops_json(w, &m->floor);
	ops_json(w, &m->add);
	ops_json(w, &m->del);
	ops_json(w, &m->readd);
	jw_end(w);
	jw_num(w, "lookup_pair_ns", m->lookup_ns);
	jw_obj(w, "growth");
	jw_uint(w, "grown_in_place", m->opened);
	jw_uint(w, "moved", m->moves);
	jw_uint(w, "move_pages_max", m->move_pages_max);
	jw_uint(w, "copied_bytes_max", m->copied_max);
	jw_uint(w, "cookie_entries_moved_max", m->moved_max);
	jw_end(w);
	jw_num(w, "bytes_per_entry", m->bytes_entry);
	jw_num(w, "bytes_per_entry_worst", m->bytes_worst);
	jw_uint(w, "bytes_per_entry_worst_at", m->bytes_worst_at);
	jw_uint(w, "real_n", m->real);
	jw_num(w, "bytes_per_socket", m->bytes_real);
	jw_num(w, "real_watch_worst_us", m->real_worst_ns / 1e3);
	jw_num(w, "real_watch_p999_us", m->real_p999_ns / 1e3);
	jw_uint(w, "real_memory_bytes", m->mem_real);
	jw_uint(w, "twin_memory_bytes", m->mem_twin);
	jw_num(w, "goal_bytes_per_socket", MILLION_GOAL_BYTES);
	jw_uint(w, "goal_real_from_n", MILLION_GOAL_REAL_N);
	jw_num(w, "goal_watch_cpu_us", MILLION_GOAL_NS / 1e3);
	jw_num(w, "watch_cpu_worst_us", judged ? m->worst_ns / 1e3 : NAN);
	jw_met(w, "bytes_per_entry_met", judged, m->entry_met);
	jw_met(w, "bytes_per_socket_met",
	       judged && m->real >= MILLION_GOAL_REAL_N, m->real_met);
	jw_met(w, "twin_met", judged && m->real, m->twin_met);
	jw_met(w, "watch_cpu_met", judged, m->watch_met);
}

const struct scenario_ops million_ops = {
	.explain =
		"million (run only when named): a monitor's registry and "
		"sweep bookkeeping (paths\n"
		"both, compare and stall off) driven through 1 000 000 "
		"synthetic watches (made-up\n"
		"fds and cookies: hupmon_watch under its lock, without its "
		"syscalls), every other\n"
		"one unwatched, new ones on those fds, each op timed (the "
		"least of 3 runs);\n"
		"then real sockets up to the fd limit, and their fds watched "
		"synthetically on a\n"
		"monitor of their own (the twin). Count checks (else exit "
		"status 1): no error; at\n"
		"most 64 B per synthetic entry, and per real socket from 19 "
		"900 on; the real\n"
		"monitor's memory_bytes equal to the twin's. Timing check: "
		"the worst single watch\n"
		"at most 1 ms of CPU. Bytes per entry are a saw-tooth: the "
		"cookie table doubles\n"
		"when 3/4 full and holds the old one while it empties (64.9 "
		"B at 100 000, just\n"
		"past a doubling; 57.7 at a million). --quick takes a million "
		"/ 8 entries, where\n"
		"the table is as full as at a million, so the 64 B goal means "
		"the same there; its\n"
		"2 000 real sockets (heap arrays grow by half) are judged "
		"against the twin only.\n",
	.run = million_run,
	.analyse = million_analyse,
	.report = million_report,
	.fails = million_fails,
	.json = million_json,
	.free = million_free,
};
