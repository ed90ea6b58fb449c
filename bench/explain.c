/* SPDX-License-Identifier: MIT */
/*
 * explain: --explain, what each path must see in each scenario (from the
 * registry's expectations, scenarios.c) and how every run is judged against
 * it (expect.c).
 */
#include "bench.h"

#include <string.h>

/* What a row of the visibility table must see, as --explain says it. */
static void expected(char *buf, size_t len, int sc, enum vis v)
{
	const struct expect *e = &scenarios[sc].expect[v];
	int n = 0;

	snprintf(buf, len, "nothing");
	if (scenarios[sc].expect_text[v]) {
		snprintf(buf, len, "%s", scenarios[sc].expect_text[v]);
		return;
	}
	for (unsigned s = 0; s < BENCH_STAGES && e->cause[s]; s++)
		n += snprintf(buf + n, len - (size_t)n,
			      e->miss_ok[s] ? "%s(miss %s)" : "%s%s",
			      s ? " then " : "",
			      hupmon_cause_name(e->cause[s]));
}

/* What the columns of the default tables (and --wide's) mean. */
static const char columns[] =
	"Columns: seen/miss = expected reports that came / did not come; "
	"xmiss = misses the\nvisibility table expects; false = reports on "
	"untouched connections; dup = repeated\nreports; wrong = unexpected "
	"cause or order; p50..max in µs; x/fl = ratio to the floor\n(p50/fl, "
	"p90/fl: median of per-round ratios; p99/fl: the same with 100+ "
	"samples a round,\nelse pooled p99 over pooled p99); cpu-ms = the "
	"loop thread's CPU (dispatch thread or raw\nloop) while the path ran; "
	"ns/probe = that CPU per socket probed (sweeps); ck/rep, er/rep\n= "
	"the monitor's SO_COOKIE reads (is the fd still the watched socket?) "
	"and SO_ERROR reads\n(which error?) per hangup report, medians over "
	"rounds. compare's floors: raw-epoll for\nlatency, raw-tcpinfo per "
	"probe, none for cpu/fl outside idle (its floors' rounds differ\nin "
	"length). FAIL marks a row that broke the visibility table, or compare "
	"records that\ndisagree or never came. --wide shows every column; the "
	"JSON (--json) has every figure.\n";

void explain(FILE *f)
{
	char epoll[96], peek[96];

	fprintf(f,
		"Expected visibility: what each path must report on the "
		"server end, in order (from\nthe kernel table in README.md). "
		"(miss X): X is not seen, by design; shown, not a\nfailure. "
		"epoll-like: epoll, epoll-promise, sweep-tcpinfo, compare, "
		"raw-epoll,\nraw-tcpinfo; peek-like: sweep-peek, "
		"raw-peek.\n\n");
	for (int sc = 0; sc < scenario_count; sc++) {
		expected(epoll, sizeof(epoll), sc, VIS_EPOLL);
		expected(peek, sizeof(peek), sc, VIS_PEEK);
		fprintf(f, "%-13s %s\n%13s epoll-like: %s\n",
			scenarios[sc].name, scenarios[sc].does, "", epoll);
		if (strcmp(epoll, peek))
			fprintf(f, "%13s peek-like:  %s\n", "", peek);
	}
	fprintf(f, "\n%s\nPaths:\n", columns);
	for (int p = 0; p < BP_COUNT; p++)
		fprintf(f, "  %-14s %s\n", bench_paths[p].name,
			bench_paths[p].what);
	fprintf(f, "\nWhy the peek misses: datafin leaves 16 unread bytes, so "
		   "recv(MSG_PEEK) returns 1\n(alive) for ever; in escalate, "
		   "recv returns 0 for the FIN before it looks at the\npending "
		   "error, so the later RST (EPIPE) is never seen.\n"
		   "Checked on every run: a report the table does not expect "
		   "on a closed connection\nis WRONG (wrong cause, or a lower "
		   "cause after a higher one), a second report of\nthe same "
		   "cause is DUP, a report on a connection the client never "
		   "touched (or with\nanother connection's id/fd) is FALSE, an "
		   "expected report that does not come within\n2 s + 3 periods "
		   "is MISS. Any of these makes the exit status 1.\n");
	for (int sc = 0; sc < scenario_count; sc++)
		if (scenarios[sc].ops->explain)
			fprintf(f, "\n%s", scenarios[sc].ops->explain);
}
