/* SPDX-License-Identifier: MIT */
/*
 * stall_report: what the stall scenario shows (stall.h): a row per case
 * with its verdict, the bookkeeping's CPU, the cases that could not run,
 * its FAIL lines and its JSON.
 */
#include "jw.h"
#include "stall.h"
#include "tab.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A row per case, ms; the note: --wide's is the JSON's, in full. */
static const struct col row_cols[] = {
	{"case", -28, 0, false}, {"stall-ms", 8, 0, false},
	{"seen", 5, 0, false},	 {"p50", 6, 0, false},
	{"max", 6, 0, false},	 {"bound", 6, 0, false},
	{"false", 5, 0, false},	 {NULL, 0, 0, false},
};

/* The bookkeeping: CPU per probe (ns), off and on; added %. */
static const struct col cpu_cols[] = {
	{"sockets", -11, 0, false}, {"n", 4, 0, false},
	{"rounds", 6, 0, false},    {"off-ns", 6, 0, false},
	{"on-ns", 6, 0, false},	    {"added-%", 7, 1, false},
	{"min-%", 6, 1, false},	    {"max-%", 6, 1, false},
	{"info8-ns", 8, 0, false},  {"info232-ns", 10, 0, false},
	{NULL, 0, 0, false},
};

/* A figure of the row's note, by its key (NAN: none). */
static double row_fig(const struct stall_row *r, const char *key)
{
	for (unsigned i = 0; i < r->nfig; i++)
		if (!strcmp(r->fig[i].key, key))
			return r->fig[i].x;
	return NAN;
}

static void row_line(FILE *f, const struct stall_row *r, bool wide)
{
	struct tab t = {.f = f, .col = row_cols, .all = wide};
	const char *mark = r->failed ? check_miss_word(CK_STALL)
			   : r->late ? check_miss_word(CK_STALL_LATE)
				     : "";
	const char *note = wide ? r->note : r->brief;
	char seen[24], tail[160] = "";

	snprintf(seen, sizeof(seen), "%u/%u", r->reported, r->want);
	if (*mark || *note)
		snprintf(tail, sizeof(tail), "  %s%s%s", mark,
			 *mark && *note ? " " : "", note);
	tab_s(&t, r->name);
	tab_n(&t, row_fig(r, "stall_ms"));
	tab_s(&t, r->silent ? "-" : seen);
	tab_n(&t, r->p50_ms);
	tab_n(&t, r->max_ms);
	tab_n(&t, r->bound_ms);
	tab_u(&t, r->fals);
	tab_end(&t, tail);
}

static void cpu_line(FILE *f, const struct stall_cpu *c, bool wide)
{
	struct tab t = {.f = f, .col = cpu_cols, .all = wide};

	tab_s(&t, c->sockets);
	tab_u(&t, c->n);
	tab_u(&t, c->rounds);
	tab_n(&t, c->off_ns);
	tab_n(&t, c->on_ns);
	tab_n(&t, c->added_pct);
	tab_n(&t, c->added_min_pct);
	tab_n(&t, c->added_max_pct);
	tab_n(&t, c->tcp_info_8_ns);
	tab_n(&t, c->tcp_info_232_ns);
	tab_end(&t, NULL);
}

static void stall_report(FILE *f, const void *res, const struct bctx *x)
{
	const struct stall_res *s = res;

	fprintf(f,
		"\n== stall: what only the TCP_INFO sweep sees (period %u ms, "
		"%u connections a case) ==\n"
		"ms from the act (the write that filled the window or "
		"queued the data; RECOVERED: the\ndrain or the repair) to the "
		"report; bound = stall_ms + 2 x the probe-gap bound\n"
		"(RECOVERED: one gap bound; from the repair: the kernel's "
		"next attempt + one); seen \"-\":\na case that must give no "
		"report; false: reports that must not come; --wide: the full "
		"notes\n",
		STALL_PERIOD, STALL_CONNS);
	tab_head(f, row_cols, x->o->wide, "  note");
	for (unsigned i = 0; i < s->nrow; i++)
		row_line(f, &s->row[i], x->o->wide);
	if (!s->lab)
		fprintf(f, "namespaces skipped: %s\n", s->lab_skipped);
	for (unsigned i = 0; i < s->nerror; i++)
		fprintf(f, "could not run: %s\n", s->error[i]);
	fprintf(f,
		"bookkeeping: CPU per probe of a TCP_INFO sweep over the same "
		"loopback sockets, stall\ntracking off and on, ns (medians of "
		"the rounds); added: the median of per-round on/off\nratios "
		"- 1, its range min..max (goal <= 10 %%: printed, not "
		"judged); info8, info232:\ngetsockopt(TCP_INFO) of 8 and of "
		"232 bytes alone\n");
	tab_head(f, cpu_cols, x->o->wide, NULL);
	for (unsigned i = 0; i < s->ncpu; i++)
		cpu_line(f, &s->cpu[i], x->o->wide);
}

static void stall_fails(FILE *f, const void *res, const struct bctx *x)
{
	const struct stall_res *s = res;

	(void)x;
	for (unsigned i = 0; i < s->nrow; i++) {
		const struct stall_row *r = &s->row[i];

		if (!r->failed)
			continue;
		if (r->silent)
			fprintf(f,
				"FAIL stall/%s: %u reports, none may come%s\n",
				r->name, r->fals,
				r->untested ? "; the case never showed its "
					      "shape: it tested nothing"
					    : "");
		else
			fprintf(f,
				"FAIL stall/%s: %u of %u reported, %u false\n",
				r->name, r->reported, r->want, r->fals);
	}
	for (unsigned i = 0; i < s->nerror; i++)
		fprintf(f, "FAIL stall: could not run: %s\n", s->error[i]);
	if (s->setup_failed > s->nerror)
		fprintf(f, "FAIL stall: %u more cases could not run\n",
			s->setup_failed - s->nerror);
}

static void row_json(struct jw *w, const struct stall_row *r)
{
	jw_obj(w, NULL);
	jw_str(w, "case", r->name);
	jw_bool(w, "silent", r->silent);
	if (r->silent) {
		jw_null(w, "want");
		jw_null(w, "reported");
	} else {
		jw_uint(w, "want", r->want);
		jw_uint(w, "reported", r->reported);
	}
	jw_num(w, "p50_ms", r->p50_ms);
	jw_num(w, "max_ms", r->max_ms);
	jw_num(w, "bound_ms", r->bound_ms);
	jw_uint(w, "false", r->fals);
	jw_bool(w, "failed", r->failed);
	jw_bool(w, "late", r->late);
	jw_str(w, "note", r->note);
	jw_obj(w, "figures");
	for (unsigned i = 0; i < r->nfig; i++)
		jw_nump(w, r->fig[i].key, r->fig[i].x, r->fig[i].prec);
	jw_end(w);
	jw_end(w);
}

static void cpu_json(struct jw *w, const struct stall_cpu *c)
{
	jw_obj(w, NULL);
	jw_str(w, "sockets", c->sockets);
	jw_uint(w, "n", c->n);
	jw_uint(w, "rounds", c->rounds);
	jw_num(w, "off_ns_per_probe", c->off_ns);
	jw_num(w, "on_ns_per_probe", c->on_ns);
	jw_num(w, "added_pct", c->added_pct);
	jw_num(w, "added_min_pct", c->added_min_pct);
	jw_num(w, "added_max_pct", c->added_max_pct);
	jw_num(w, "goal_added_pct", 10);
	jw_num(w, "tcp_info_8_bytes_ns", c->tcp_info_8_ns);
	jw_num(w, "tcp_info_232_bytes_ns", c->tcp_info_232_ns);
	jw_end(w);
}

static void stall_json(struct jw *w, const void *res, const struct bctx *x)
{
	const struct stall_res *s = res;

	(void)x;
	jw_uint(w, "period_ms", STALL_PERIOD);
	jw_uint(w, "conns_per_case", STALL_CONNS);
	jw_bool(w, "lab", s->lab);
	jw_str(w, "lab_skipped", s->lab ? NULL : s->lab_skipped);
	jw_arr(w, "rows");
	for (unsigned i = 0; i < s->nrow; i++)
		row_json(w, &s->row[i]);
	jw_end(w);
	jw_arr(w, "bookkeeping");
	for (unsigned i = 0; i < s->ncpu; i++)
		cpu_json(w, &s->cpu[i]);
	jw_end(w);
	jw_arr(w, "errors");
	for (unsigned i = 0; i < s->nerror; i++)
		jw_str(w, NULL, s->error[i]);
	jw_end(w);
	jw_uint(w, "failures", s->failed);
	jw_uint(w, "late", s->late);
	jw_str(w, "verdict", s->failed ? "FAIL" : "PASS");
}

const struct scenario_ops stall_ops = {
	.explain = "stall (run only when named): what only the TCP_INFO "
		   "sweep can see. The epoll\n"
		   "path cannot see stalls: nothing changes on the socket "
		   "until the kernel gives up\n"
		   "(compare mode compares hangups only). On loopback, clients "
		   "with a small receive\n"
		   "buffer stop reading while the server writes: "
		   "STALLED/ZERO_WINDOW within stall_ms\n"
		   "+ 2 x the probe-gap bound, then RECOVERED within one "
		   "probe-gap bound of the\n"
		   "drain; the same after the clients' half-close "
		   "(CLOSE_WAIT), and after the\n"
		   "server's own shutdown behind the queued data (LAST_ACK). "
		   "Live connections with\n"
		   "nothing in flight and data queued (corked writes, a window "
		   "below a segment,\n"
		   "pacing at 1000 B/s) must give no report. As root, in "
		   "silent's lab: the client's\n"
		   "link down with data in flight gives NO_ACK in the same "
		   "bound, long before the\n"
		   "kernel's TIMEOUT (TCP_USER_TIMEOUT 10 s); data that never "
		   "left the server (a\n"
		   "qdisc dropping everything, its link down) gives NO_ACK in "
		   "the bound with\n"
		   "stall_ms 2 s; tbf links of 10 mbit/50 ms (stall_ms 1 s) "
		   "and 1 mbit/400 ms\n"
		   "(stall_ms 3 s) carrying a transfer for 10 s must give no "
		   "stall report, and must\n"
		   "show drops or retransmissions. A missing or wrong report, "
		   "any on a lossy link\n"
		   "or a live connection, or a case that cannot be set up is a "
		   "count check (exit\n"
		   "status 1); a report past its bound is a timing check. Not "
		   "root: the namespace\n"
		   "cases are skipped. Also shown: the CPU per probe of stall "
		   "tracking.\n",
	.run = stall_run,
	.analyse = stall_analyse,
	.report = stall_report,
	.fails = stall_fails,
	.json = stall_json,
	.free = free,
};
