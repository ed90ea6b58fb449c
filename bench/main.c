/* SPDX-License-Identifier: MIT */
/*
 * hupmon-bench: options, the header and orchestration. See bench.h for the
 * vocabulary (paths, scenarios, floors) and --help for the options. The exit
 * status is verdict_status()'s (verdict.h): 1 when a count check failed (a
 * path broke the visibility table, --explain; a lost, false, duplicate or
 * wrong report; counters that do not add up), or a timing check missed
 * under --strict-timing; 2 on a usage or setup error.
 *
 * Timing misses do not fail a run by default: the runs that must not fail
 * on a slow or loaded machine (ctest, CI, a sanitizer build) then need no
 * option, and a timing verdict is only worth an exit status on a quiet
 * machine, which whoever runs the benchmark there says with the flag.
 */
#include "bench.h"
#include "plot.h"
#include "summary.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *scenario_name(int i)
{
	return scenarios[i].name;
}

/* --paths names the paths that are not hidden. */
static const char *path_name(int i)
{
	return bench_paths[i].hidden ? NULL : bench_paths[i].name;
}

/* on[i] for each name(i) in the comma-separated list ("all": every one). */
static int pick(const char *list, const char *(*name)(int), int count, bool *on)
{
	char *dup = strdup(list), *save = NULL;
	int rc = dup ? 0 : -ENOMEM;

	memset(on, 0, (size_t)count * sizeof(*on));
	for (char *t = strtok_r(dup, ",", &save); t && !rc;
	     t = strtok_r(NULL, ",", &save)) {
		bool all = !strcmp(t, "all"), known = all;

		for (int i = 0; i < count; i++)
			if (name(i) && (all || !strcmp(t, name(i))))
				on[i] = known = true;
		if (!known) {
			fprintf(stderr, "hupmon-bench: unknown name '%s'\n", t);
			rc = -EINVAL;
		}
	}
	free(dup);
	return rc;
}

static unsigned long long number(const char *s, const char *name)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-') {
		fprintf(stderr, "hupmon-bench: --%s wants a number\n", name);
		exit(2);
	}
	return v;
}

static int metrics_format(const char *a, enum hupmon_format *fmt)
{
	if (!strcmp(a, "prometheus"))
		*fmt = HUPMON_FORMAT_PROMETHEUS;
	else if (!strcmp(a, "json"))
		*fmt = HUPMON_FORMAT_JSON;
	else if (!strcmp(a, "text"))
		*fmt = HUPMON_FORMAT_TEXT;
	else
		return -EINVAL;
	return 0;
}

/* --quick changes the defaults, which the other options override. */
static void defaults(struct bopts *o, bool quick)
{
	*o = (struct bopts){
		.n = quick ? 100 : 1000,
		.closes = quick ? 20 : 200,
		.rounds = quick ? 2 : 5,
		.period_ms = 10,
		.tick_ms = 1,
		.pace_us = quick ? 1000 : 2000,
		.idle_ms = quick ? 50 : 300,
		.soak_s = quick ? 10 : 120,
		.seed = 1,
		.quick = quick,
		.abandon_ms = quick ? 500 : 2000,
		.abandon_pct = 30,
		.metrics_format = HUPMON_FORMAT_PROMETHEUS,
	};
	for (int sc = 0; sc < scenario_count; sc++)
		o->scen[sc] = (!scenarios[sc].optional ||
			       (quick && scenarios[sc].quick_on)) &&
			      !(quick && scenarios[sc].quick_off);
	for (int p = 0; p < BP_COUNT; p++)
		o->path[p] = !bench_paths[p].hidden;
}

/* getopt_long returns 0 and the option's index for each of these. */
static const struct option longopts[] = {
	{"n", required_argument, NULL, 0},
	{"closes", required_argument, NULL, 0},
	{"rounds", required_argument, NULL, 0},
	{"period-ms", required_argument, NULL, 0},
	{"tick-ms", required_argument, NULL, 0},
	{"pace-us", required_argument, NULL, 0},
	{"idle-ms", required_argument, NULL, 0},
	{"settle-ms", required_argument, NULL, 0},
	{"soak-s", required_argument, NULL, 0},
	{"scenarios", required_argument, NULL, 0},
	{"paths", required_argument, NULL, 0},
	{"seed", required_argument, NULL, 0},
	{"quick", no_argument, NULL, 0},
	{"explain", no_argument, NULL, 0},
	{"wide", no_argument, NULL, 0},
	{"strict-timing", no_argument, NULL, 0},
	{"json", required_argument, NULL, 0},
	{"svg", required_argument, NULL, 0},
	{"metrics", required_argument, NULL, 0},
	{"metrics-format", required_argument, NULL, 0},
	{"abandon-ms", required_argument, NULL, 0},
	{"abandon-pct", required_argument, NULL, 0},
	{"help", no_argument, NULL, 0},
	{NULL, 0, NULL, 0},
};

/* One option by its name (--quick: already in the defaults). */
static int one_opt(struct bopts *o, const char *name, const char *a)
{
	/* the options that set a number, and where it goes */
	const struct {
		const char *name;
		unsigned *to;
	} num[] = {{"closes", &o->closes},	 {"rounds", &o->rounds},
		   {"period-ms", &o->period_ms}, {"tick-ms", &o->tick_ms},
		   {"pace-us", &o->pace_us},	 {"idle-ms", &o->idle_ms},
		   {"settle-ms", &o->settle_ms}, {"soak-s", &o->soak_s}};

	o->n_set |= !strcmp(name, "n");
	o->closes_set |= !strcmp(name, "closes");
	o->sweep_set |= !strcmp(name, "period-ms") || !strcmp(name, "tick-ms");
	for (size_t i = 0; i < sizeof(num) / sizeof(num[0]); i++)
		if (!strcmp(name, num[i].name)) {
			*num[i].to = (unsigned)number(a, name);
			return 0;
		}
	if (!strcmp(name, "n"))
		o->n = number(a, name);
	else if (!strcmp(name, "scenarios"))
		return pick(a, scenario_name, scenario_count, o->scen);
	else if (!strcmp(name, "paths"))
		return pick(a, path_name, BP_COUNT, o->path);
	else if (!strcmp(name, "seed"))
		o->seed = number(a, name);
	else if (!strcmp(name, "explain"))
		o->explain = true;
	else if (!strcmp(name, "wide"))
		o->wide = true;
	else if (!strcmp(name, "strict-timing"))
		o->strict_timing = true;
	else if (!strcmp(name, "json"))
		o->json = a;
	else if (!strcmp(name, "svg"))
		o->svg = a;
	else if (!strcmp(name, "metrics"))
		o->metrics = a;
	else if (!strcmp(name, "metrics-format"))
		return metrics_format(a, &o->metrics_format);
	else if (!strcmp(name, "abandon-ms"))
		o->abandon_ms = (unsigned)number(a, name);
	else if (!strcmp(name, "abandon-pct"))
		o->abandon_pct = (unsigned)number(a, name);
	else if (!strcmp(name, "help"))
		usage(stdout, 0);
	return 0;
}

static int check(const struct bopts *o)
{
	if (!o->n || !o->closes || !o->period_ms || !o->tick_ms ||
	    o->tick_ms > o->period_ms || o->period_ms > 3600000 || !o->rounds ||
	    o->rounds > BENCH_MAX_ROUNDS || !o->pace_us || !o->idle_ms ||
	    !o->soak_s) {
		fprintf(stderr,
			"hupmon-bench: need n, closes, pace, idle, soak > 0, "
			"0 < tick <= period <= 3600000, rounds 1..%d\n",
			BENCH_MAX_ROUNDS);
		return -EINVAL;
	}
	if (!o->abandon_ms || o->abandon_ms > 3600000 || o->abandon_pct > 85) {
		fprintf(stderr, "hupmon-bench: need 0 < abandon-ms <= 3600000, "
				"abandon-pct <= 85\n");
		return -EINVAL;
	}
	return 0;
}

static void parse(struct bopts *o, int argc, char **argv)
{
	bool quick = false;
	int c, i;

	opterr = 0; /* a first pass for --quick; the second tells errors */
	while ((c = getopt_long(argc, argv, "", longopts, &i)) != -1)
		quick |= c == 0 && !strcmp(longopts[i].name, "quick");
	opterr = 1;
	optind = 0;
	defaults(o, quick);
	while ((c = getopt_long(argc, argv, "", longopts, &i)) != -1)
		if (c || one_opt(o, longopts[i].name, optarg))
			usage(stderr, 2);
	if (optind < argc) {
		fprintf(stderr, "hupmon-bench: unexpected '%s'\n",
			argv[optind]);
		exit(2);
	}
	if (check(o) || verdict_env_check())
		exit(2);
}

/* Soft RLIMIT_NOFILE up to the hard limit: scale needs every fd. */
static void raise_nofile(struct bopts *o)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit", errno);
	if (rl.rlim_max != RLIM_INFINITY)
		rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit", errno);
	o->fd_hard = rl.rlim_cur > 1000000 ? 1000000 : (unsigned)rl.rlim_cur;
}

/* What is measured, in three lines; the legend is --explain's. */
static void header(FILE *f, const struct bopts *o)
{
	bool loopback = false;

	for (int sc = 0; sc < scenario_count; sc++)
		loopback |= o->scen[sc] && scenarios[sc].cells;
	fprintf(f, "hupmon-bench %s: ", hupmon_version());
	if (loopback)
		fprintf(f,
			"how fast each detection path reports a TCP peer's "
			"hangup, beside a\nminimal hand-written loop (its "
			"floor). N=%zu, %u closures per scenario and path "
			"in\n%u rounds, sweep period %u ms / tick %u ms, seed "
			"%llu. The summary is at the end;\n--explain tells "
			"what every column means, --wide shows them all.\n",
			o->n, o->closes, o->rounds, o->period_ms, o->tick_ms,
			o->seed);
	else
		fprintf(f,
			"seed %llu. The summary is at the end; --explain "
			"tells what every column means.\n",
			o->seed);
	fflush(f);
}

/* Every chosen scenario, in the registry's order: run, then (once all
 * ran) analyse; the checks each judged are its own share of v. */
static void run_all(const struct bopts *o, struct scen_run *runs,
		    struct verdicts *v, int lfd, uint16_t port)
{
	for (int sc = 0; sc < scenario_count; sc++) {
		struct scen_run *r = &runs[sc];
		struct verdicts before = *v;

		r->x = (struct bctx){.o = o,
				     .sc = sc,
				     .s = &scenarios[sc],
				     .v = v,
				     .lfd = lfd,
				     .port = port};
		if (!o->scen[sc])
			continue;
		r->ran = true;
		r->res = r->x.s->ops->run(&r->x);
		verdict_add(&r->v, &before, v);
	}
	for (int sc = 0; sc < scenario_count; sc++) {
		struct scen_run *r = &runs[sc];
		struct verdicts before = *v;

		if (!r->ran || !r->res || !r->x.s->ops->analyse)
			continue;
		r->x.s->ops->analyse(r->res, &r->x);
		verdict_add(&r->v, &before, v);
	}
}

/* The tables (a scenario continues the previous one's when they share
 * it), the compare records, the FAIL lines, the verdicts, the summary. */
static void report(FILE *f, struct scen_run *runs, const struct verdicts *v)
{
	const struct scenario *prev = NULL;

	for (int sc = 0; sc < scenario_count; sc++) {
		struct scen_run *r = &runs[sc];
		const struct scenario *s = r->x.s;

		if (!r->ran || !r->res || !s->ops->report)
			continue;
		r->x.head = !prev || prev->ops->report != s->ops->report ||
			    prev->table != s->table;
		s->ops->report(f, r->res, &r->x);
		prev = s;
	}
	summary_compare(f, runs);
	fputc('\n', f);
	for (int sc = 0; sc < scenario_count; sc++)
		if (runs[sc].ran && runs[sc].res && runs[sc].x.s->ops->fails)
			runs[sc].x.s->ops->fails(f, runs[sc].res, &runs[sc].x);
	verdict_summary(f, v);
	summary_text(f, runs, v);
}

static int write_plot(const char *file, const struct scen_run *runs)
{
	struct plot *pl = xcalloc(1, sizeof(*pl));
	int rc;

	summary_plot(pl, runs); /* the answer first */
	for (int sc = 0; sc < scenario_count; sc++)
		if (runs[sc].ran && runs[sc].res && runs[sc].x.s->ops->plot)
			runs[sc].x.s->ops->plot(pl, runs[sc].res, &runs[sc].x);
	rc = write_svg(file, pl);
	free(pl);
	return rc;
}

int main(int argc, char **argv)
{
	struct bopts o;
	struct scen_run runs[SC_MAX] = {0};
	struct verdicts v = {0};
	uint16_t port;
	int lfd, rc;

	parse(&o, argc, argv);
	if (o.explain) {
		explain(stdout);
		return 0;
	}
	raise_nofile(&o);
	signal(SIGPIPE, SIG_IGN);
	lfd = listener_open(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
			    "127.0.0.1", 4096, &port);
	if (lfd < 0)
		die("listen on 127.0.0.1", -lfd);
	v.strict_timing = o.strict_timing;
	header(stdout, &o);
	run_all(&o, runs, &v, lfd, port);
	report(stdout, runs, &v);
	if (o.json && (rc = write_json(o.json, &o, runs, &v)))
		die(o.json, -rc);
	if (o.svg && (rc = write_plot(o.svg, runs)))
		die(o.svg, -rc);
	if (o.metrics &&
	    (rc = write_metrics(o.metrics, o.metrics_format, runs)))
		die(o.metrics, -rc);
	close(lfd);
	rc = verdict_status(&v);
	for (int sc = 0; sc < scenario_count; sc++)
		if (runs[sc].res)
			runs[sc].x.s->ops->free(runs[sc].res);
	return rc;
}
