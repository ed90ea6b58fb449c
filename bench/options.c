/* SPDX-License-Identifier: MIT */
/*
 * options: hupmon-bench's command line into struct bopts, refused before
 * any work when it cannot be honoured. Every number is parsed into its own
 * type and checked against its range before it is stored (so a value past
 * 32 bits is refused, never wrapped); an empty selection, a combination
 * the run would quietly change (--closes above what --n and --rounds allow,
 * --n above what the fd limit allows, --metrics with no monitor to show)
 * and an output file that cannot be opened are refused too: exit status 2
 * with "bad --X: value (why)". A benchmark that runs something other than
 * what was asked and exits 0 misleads whoever compares its figures.
 */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* The options that take a number: where it goes, its range. */
static const struct num {
	const char *name;
	size_t off, size; /* in struct bopts: unsigned, size_t or u64 */
	unsigned long long min, max;
} nums[] = {
#define NUM(name, field, min, max)                                             \
	{                                                                      \
		name, offsetof(struct bopts, field),                           \
			sizeof(((struct bopts *)0)->field), min, max           \
	}
	NUM("n", n, 1, 1000000),
	NUM("closes", closes, 1, 1000000),
	NUM("rounds", rounds, 1, BENCH_MAX_ROUNDS),
	NUM("period-ms", period_ms, 1, 3600000),
	NUM("tick-ms", tick_ms, 1, 3600000),
	NUM("pace-us", pace_us, 1, 1000000),
	NUM("idle-ms", idle_ms, 1, 600000),
	NUM("settle-ms", settle_ms, 0, 600000),
	NUM("soak-s", soak_s, 1, 86400),
	NUM("seed", seed, 0, ULLONG_MAX),
	NUM("abandon-ms", abandon_ms, 1, 3600000),
	NUM("abandon-pct", abandon_pct, 0, 85),
#undef NUM
};

static void bad(const char *name, const char *value, const char *why, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

static void bad(const char *name, const char *value, const char *why, ...)
{
	va_list ap;

	fprintf(stderr, "hupmon-bench: bad --%s: '%s' (", name, value);
	va_start(ap, why);
	vfprintf(stderr, why, ap);
	va_end(ap);
	fprintf(stderr, ")\n");
	exit(2);
}

const char *option_range(const char *name, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (!strcmp(nums[i].name, name)) {
			snprintf(buf, len, "%llu..%llu", nums[i].min,
				 nums[i].max);
			return buf;
		}
	return NULL;
}

/* A number option into its field, or exit 2. */
static void number(struct bopts *o, const struct num *n, const char *a)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(a, &end, 10);
	if (errno || end == a || *end || strchr(a, '-') || *a == ' ')
		bad(n->name, a, "a number, %llu..%llu", n->min, n->max);
	if (v < n->min || v > n->max)
		bad(n->name, a, "%llu..%llu", n->min, n->max);
	if (n->size == sizeof(unsigned)) {
		unsigned u = (unsigned)v;

		memcpy((char *)o + n->off, &u, sizeof(u));
	} else if (n->size == sizeof(size_t)) {
		size_t z = (size_t)v;

		memcpy((char *)o + n->off, &z, sizeof(z));
	} else {
		memcpy((char *)o + n->off, &v, sizeof(v));
	}
}

static const char *scenario_name(int i)
{
	return scenarios[i].name;
}

/* --paths names the paths that are not hidden. */
static const char *path_name(int i)
{
	return bench_paths[i].hidden ? NULL : bench_paths[i].name;
}

/* on[i] for each name(i) in the comma-separated list ("all": every one);
 * an unknown name or an empty list is refused. */
static void pick(const char *opt, const char *list, const char *(*name)(int),
		 int count, bool *on)
{
	char *dup = strdup(list), *save = NULL;
	bool any = false;

	if (!dup)
		die("strdup", ENOMEM);
	memset(on, 0, (size_t)count * sizeof(*on));
	for (char *t = strtok_r(dup, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		bool all = !strcmp(t, "all"), known = all;

		for (int i = 0; i < count; i++)
			if (name(i) && (all || !strcmp(t, name(i))))
				on[i] = known = true;
		if (!known)
			bad(opt, list,
			    "'%s' is none of them: --help lists them", t);
		any = true;
	}
	free(dup);
	if (!any)
		bad(opt, list, "names, comma-separated, or all");
}

static void metrics_format(const char *a, enum hupmon_format *fmt)
{
	if (!strcmp(a, "prometheus"))
		*fmt = HUPMON_FORMAT_PROMETHEUS;
	else if (!strcmp(a, "json"))
		*fmt = HUPMON_FORMAT_JSON;
	else if (!strcmp(a, "text"))
		*fmt = HUPMON_FORMAT_TEXT;
	else
		bad("metrics-format", a, "prometheus, json or text");
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

/* An output file, opened now: a path that cannot be written is refused
 * before the run, not reported after it. */
static FILE *output(const char *name, const char *path)
{
	FILE *f = *path ? fopen(path, "w") : NULL;

	if (!f)
		bad(name, path, "%s", *path ? strerror(errno) : "a file name");
	return f;
}

/* One option by its name (--quick: already in the defaults). */
static void one_opt(struct bopts *o, const char *name, const char *a)
{
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (!strcmp(name, nums[i].name)) {
			number(o, &nums[i], a);
			o->n_set |= !strcmp(name, "n");
			o->closes_set |= !strcmp(name, "closes");
			o->sweep_set |= !strcmp(name, "period-ms") ||
					!strcmp(name, "tick-ms");
			return;
		}
	if (!strcmp(name, "scenarios"))
		pick(name, a, scenario_name, scenario_count, o->scen);
	else if (!strcmp(name, "paths"))
		pick(name, a, path_name, BP_COUNT, o->path);
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
		metrics_format(a, &o->metrics_format);
	else if (!strcmp(name, "help"))
		o->help = true;
}

int options_parse(struct bopts *o, int argc, char **argv)
{
	bool quick = false;
	char tick[24];
	int c, i;

	opterr = 0; /* a first pass for --quick; the second tells errors */
	while ((c = getopt_long(argc, argv, "", longopts, &i)) != -1)
		quick |= c == 0 && !strcmp(longopts[i].name, "quick");
	opterr = 1;
	optind = 0;
	defaults(o, quick);
	while ((c = getopt_long(argc, argv, "", longopts, &i)) != -1) {
		if (c)
			return -EINVAL;
		one_opt(o, longopts[i].name, optarg);
	}
	if (optind < argc) {
		fprintf(stderr, "hupmon-bench: unexpected '%s'\n",
			argv[optind]);
		exit(2);
	}
	snprintf(tick, sizeof(tick), "%u", o->tick_ms);
	if (o->tick_ms > o->period_ms)
		bad("tick-ms", tick, "at most --period-ms, %u", o->period_ms);
	if (verdict_env_check())
		exit(2);
	return 0;
}

/* A library path of a closure scenario the run makes: the monitor whose
 * counters --metrics writes. */
static bool monitor_runs(const struct bopts *o)
{
	for (int sc = 0; sc < scenario_count; sc++) {
		enum bpath_id order[BP_COUNT];
		size_t n = 0;

		if (o->scen[sc] && scenarios[sc].ops->cells)
			run_order(&scenarios[sc], o, 0, order, &n);
		for (size_t i = 0; i < n; i++)
			if (bench_paths[order[i]].ops == &lib_ops)
				return true;
	}
	return false;
}

/* What the fd limit and the chosen scenarios allow: --n within what each
 * can open, --closes within what --n and --rounds give each round. */
static void fit(const struct bopts *o)
{
	char v[24];

	for (int sc = 0; sc < scenario_count; sc++) {
		const struct scenario *s = &scenarios[sc];
		size_t n = conns_for(o, s);
		bool fits = s->ops->cells || s->conns;

		if (!o->scen[sc])
			continue;
		snprintf(v, sizeof(v), "%zu", o->n);
		if (o->n_set && fits && n < o->n)
			bad("n", v, "%s: at most %zu with the fd limit %u, %s",
			    s->name, n, o->fd_hard,
			    s->child ? "one fd a connection"
				     : "two fds a connection");
		snprintf(v, sizeof(v), "%u", o->closes);
		if (fits && !s->burst && !s->window &&
		    (o->closes + o->rounds - 1) / o->rounds > n)
			bad("closes", v,
			    "%s: at most --n x --rounds = %zu x %u", s->name, n,
			    o->rounds);
		if (s->closes_max && o->closes_set && o->closes > s->closes_max)
			bad("closes", v, "%s: connections a case, at most %u",
			    s->name, s->closes_max);
	}
	if (o->metrics && !monitor_runs(o))
		bad("metrics", o->metrics,
		    "no library path runs in a closure scenario: no monitor "
		    "to show");
}

/* Soft RLIMIT_NOFILE up to the hard limit (scale needs every fd), then
 * what it allows; the output files opened. */
void options_fit(struct bopts *o)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit", errno);
	if (rl.rlim_max != RLIM_INFINITY)
		rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit", errno);
	o->fd_hard = rl.rlim_cur > 1000000 ? 1000000 : (unsigned)rl.rlim_cur;
	fit(o);
	if (o->json)
		o->json_f = output("json", o->json);
	if (o->svg)
		o->svg_f = output("svg", o->svg);
	if (o->metrics)
		o->metrics_f = output("metrics", o->metrics);
}
