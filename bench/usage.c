/* SPDX-License-Identifier: MIT */
/*
 * hupmon-bench's --help: three examples, the scenarios, the options and
 * the exit status. The scenario list is the registry's (scenarios.c: name,
 * run by default or not, run time, what it shows), so a new scenario's
 * line comes with its row. Every text is wrapped here to 80 columns,
 * counted in characters ("µs" is two: UTF-8 takes two bytes for µ).
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH	 80
#define OPT_COL	 19 /* where an option's text starts */
#define EXAM_COL 6  /* where an example's text starts */

struct help {
	const char *head; /* an option and its argument, an example's command */
	const char *text;
};

static const struct help examples[] = {
	{"hupmon-bench --quick",
	 "the quick run (ctest's bench_quick): the * scenarios but idle, and "
	 "abandon, all small (~11 s)"},
	{"hupmon-bench --scenarios fin --json fin.json --svg fin.svg",
	 "one scenario: every figure as JSON, the summary first, and its "
	 "latency CDFs as an SVG picture"},
	{"sudo hupmon-bench --scenarios silent",
	 "silent death, as root: the client's link cut in a network "
	 "namespace, no FIN or RST (~22 s)"},
};

static const struct help options[] = {
	{"--scenarios LIST",
	 "scenarios to run, comma-separated, or all (default: the * ones)"},
	{"--paths LIST",
	 "paths (listed above), comma-separated, or all (default all; the "
	 "floors of the paths chosen always run)"},
	{"--quick",
	 "small and fast: N 100, 20 closes, 2 rounds, 1 ms pace; idle only "
	 "if named (then 50 ms); abandon runs: 16 clients, 1 round of 500 ms"},
	{"--n N",
	 "connections per run (default 1000; interference 4000; soak 9900; "
	 "budget, shards 19900; abandon 64 clients; churn 1000 and 9900; "
	 "scale, million: the fd limit minus 100)"},
	{"--closes K",
	 "closures per scenario and path, over all rounds (default 200; "
	 "silent: connections per case and path, default 8, at most 32; "
	 "budget: per mode, default 1000)"},
	{"--rounds R",
	 "rounds per scenario, paths alternating with their floors "
	 "(default 5)"},
	{"--period-ms P",
	 "sweep period: every socket probed once per P ms (default 10)"},
	{"--tick-ms T",
	 "sweep tick: each tick probes N*T/P sockets (default 1)"},
	{"--pace-us U",
	 "mean gap between closures, jittered +-50% (default 2000; soak: "
	 "between two acts of its two threads together)"},
	{"--idle-ms M", "length of one idle round (default 300)"},
	{"--settle-ms M",
	 "wait after watching, before acting or measuring (default: sweeping "
	 "paths 2 periods + 2 ms, to reach the steady state; others 2 ms)"},
	{"--soak-s S",
	 "soak: seconds of churn (default 120; --quick 10); its sweep period "
	 "is 100 ms, tick 10 ms, unless --period-ms or --tick-ms is given"},
	{"--abandon-ms M",
	 "abandon: length of a round per mode (default 2000; --quick 500)"},
	{"--abandon-pct P",
	 "abandon: share of sessions that give up, in % (default 30)"},
	{"--seed S", "seed of the closure order and pacing (default 1)"},
	{"--explain",
	 "print what each path must report in each scenario, and exit"},
	{"--strict-timing",
	 "let timing checks decide the exit status too (for a run on a quiet "
	 "machine; see Exit status)"},
	{"--wide", "every column; default tables fit 100 columns"},
	{"--json FILE", "write every figure as JSON, the summary first"},
	{"--svg FILE",
	 "draw the latency CDFs (log x) as SVG: the README's picture, "
	 "bench/results/default.svg"},
	{"--metrics FILE",
	 "write one monitor's counters (the last compare run, else the last "
	 "library run)"},
	{"--metrics-format F",
	 "prometheus (default), json or text: hupmon_stats_format's formats, "
	 "for --metrics"},
	{"--help", "this text"},
};

static const char exit_text[] =
	"0 every count check met, 1 a count check failed (or, with "
	"--strict-timing, a timing check missed), 2 error.\n"
	"Count checks (FAIL) are the same on any machine: a path not "
	"behaving as --explain says (a lost, false, duplicate or wrong "
	"report), a failed call, counters that do not add up, memory that "
	"grows; abandon: a false cancellation or a lost response.\n"
	"Timing checks (MISSED) follow the machine's load: latency "
	"percentiles, CPU shares and bands, ratios to floors or to off's. "
	"Always printed with value and goal, they make the exit status 1 "
	"only with --strict-timing. A run ends with every check it judged, "
	"its kind and its misses.";

/* Columns of the first len bytes of s: its characters (UTF-8: a byte
 * 10xxxxxx continues a character). */
static size_t cols(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* text from column at (what is before it on the line already printed),
 * its words wrapped to WIDTH, its further lines indented to indent; a
 * '\n' in text starts a new line. Ends the line. */
static void wrap(FILE *f, const char *text, size_t at, size_t indent)
{
	size_t col = at;
	bool first = true; /* no word on this line yet */

	while (*text) {
		size_t len = strcspn(text, " \n"), w = cols(text, len);

		if (!first && col + 1 + w > WIDTH) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
			first = true;
		}
		if (!first) {
			fputc(' ', f);
			col++;
		}
		fwrite(text, 1, len, f);
		col += w;
		first = false;
		text += len;
		if (*text == '\n' && text[1]) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
			first = true;
		}
		if (*text)
			text++;
	}
	fputc('\n', f);
}

/* One line a scenario: name, '*' when it runs by default, its run time at
 * the defaults and what it shows (wrapped under itself, if it must). */
static void scenario_list(FILE *f)
{
	int name_w = 0, takes_w = 0;

	for (int sc = 0; sc < scenario_count; sc++) {
		const struct scenario *s = &scenarios[sc];

		if ((int)strlen(s->name) > name_w)
			name_w = (int)strlen(s->name);
		if ((int)cols(s->takes, strlen(s->takes)) > takes_w)
			takes_w = (int)cols(s->takes, strlen(s->takes));
	}
	for (int sc = 0; sc < scenario_count; sc++) {
		const struct scenario *s = &scenarios[sc];
		int at = 2 + name_w + 3 + takes_w + 2;

		fprintf(f, "  %-*s %c %-*s  ", name_w, s->name,
			s->optional ? ' ' : '*', takes_w, s->takes);
		wrap(f, s->shows, (size_t)at, (size_t)at);
	}
}

/* One line a path --paths names (paths.c): its name, what it is. */
static void path_list(FILE *f)
{
	for (int p = 0; p < BP_COUNT; p++)
		if (!bench_paths[p].hidden) {
			fprintf(f, "  %-14s ", bench_paths[p].name);
			wrap(f, bench_paths[p].what, 17, 17);
		}
}

/* Each head, then its text: beside it from column col when the head
 * leaves room (two columns before it), else on the next line. An option
 * that takes a number says its range (options.c's, which refuses the
 * others). */
static void list(FILE *f, const struct help *h, size_t n, size_t col)
{
	for (size_t i = 0; i < n; i++) {
		size_t w = cols(h[i].head, strlen(h[i].head));
		char name[32], range[48], text[512];

		sscanf(h[i].head, "--%31[a-z-]", name);
		if (!strncmp(h[i].head, "--", 2) &&
		    option_range(name, range, sizeof(range)))
			snprintf(text, sizeof(text), "%s; range %s", h[i].text,
				 range);
		else
			snprintf(text, sizeof(text), "%s", h[i].text);
		fprintf(f, "  %s", h[i].head);
		if (2 + w + 1 <= col)
			fprintf(f, "%*s", (int)(col - 2 - w), "");
		else
			fprintf(f, "\n%*s", (int)col, "");
		wrap(f, text, col, col);
	}
}

void usage(FILE *f, int status)
{
	fputs("usage: hupmon-bench [options]\n", f);
	wrap(f,
	     "Times hupmon's hangup reports on loopback TCP (and Unix stream "
	     "sockets), each detection "
	     "path beside a minimal hand-written loop doing the same (its "
	     "floor). With no options: the * scenarios below (~72 s).",
	     0, 0);
	fputs("\nExamples:\n", f);
	list(f, examples, sizeof(examples) / sizeof(examples[0]), EXAM_COL);
	fputs("\nScenarios (* runs by default; run time at the defaults, "
	      "2-core VM;\n--explain tells what each path must report in "
	      "each):\n",
	      f);
	scenario_list(f);
	fputs("\nPaths (--paths; each runs beside its floor):\n", f);
	path_list(f);
	fputs("\nOptions:\n", f);
	list(f, options, sizeof(options) / sizeof(options[0]), OPT_COL);
	fputs("\nExit status: ", f);
	wrap(f, exit_text, 13, 0);
	exit(status);
}
