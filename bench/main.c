/*
 * hupmon-bench: options, the header and orchestration. See bench.h for the
 * vocabulary (paths, scenarios, floors) and --help for the options.
 *
 * Exit status, decided once by analyse(): 0 when every path saw what the
 * visibility table (--explain) says it must, 1 when a path missed an
 * expected report, reported a hangup that did not happen, reported twice
 * or gave a wrong cause, 2 on a usage or setup error.
 */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: hupmon-bench [options]\n"
	"Times hupmon's hangup reports on loopback TCP against minimal "
	"hand-written loops.\n"
	"\n"
	"  --n N            connections per run (default 1000; interference "
	"4000,\n"
	"                   scale: the fd ceiling minus 100)\n"
	"  --closes K       closures per scenario and path, over all rounds "
	"(default 200;\n"
	"                   silent: connections per case and path, default 8, "
	"at most 32)\n"
	"  --rounds R       rounds per scenario, paths alternating with their "
	"floors (default 5)\n"
	"  --period-ms P    sweep period: every socket probed once per P ms "
	"(default 10)\n"
	"  --tick-ms T      sweep tick: each tick probes N*T/P sockets "
	"(default 1)\n"
	"  --pace-us U      mean gap between closures, jittered +-50% (default "
	"2000)\n"
	"  --idle-ms M      length of one idle round (default 300)\n"
	"  --settle-ms M    wait after watching, before acting or measuring "
	"(default:\n"
	"                   sweeping paths 2 periods + 2 ms, to reach the "
	"steady state;\n"
	"                   others 2 ms)\n"
	"  --scenarios LIST "
	"fin,rst,half,datafin,escalate,burst,idle,interference,scale,\n"
	"                   silent or all (default: all but interference, "
	"scale and silent)\n"
	"                   silent: root only (else skipped, exit status "
	"unaffected); two\n"
	"                   network namespaces and a veth pair, the client's "
	"link taken\n"
	"                   down: keepalive / TCP_USER_TIMEOUT detection time "
	"vs its bound\n"
	"                   for the epoll path, the TCP_INFO sweep and both "
	"(~25 s)\n"
	"  --paths LIST     "
	"epoll,sweep-peek,sweep-tcpinfo,compare,raw-epoll,raw-peek,\n"
	"                   raw-tcpinfo or all (default all; floors of chosen "
	"paths always run)\n"
	"  --seed S         seed of the closure order and pacing (default 1)\n"
	"  --quick          small and fast: N=100, 20 closes, 2 rounds, 1 ms "
	"pace;\n"
	"                   idle skipped unless named (then 50 ms)\n"
	"  --explain        print the expected-visibility table and exit\n"
	"  --json FILE      write every figure and the machine facts as JSON\n"
	"  --svg FILE       write the latency CDFs (log x) as an SVG chart\n"
	"  --metrics FILE   write one monitor's counters (the last compare "
	"run, else\n"
	"                   the last library run) in Prometheus text format\n"
	"  --metrics-format F  prometheus (default), json or text: "
	"hupmon_stats_format's\n"
	"                   formats, for --metrics\n"
	"  --help           this text\n"
	"\n"
	"Exit status: 0 all paths behaved as --explain says, 1 a path did not, "
	"2 error.\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

static int pick(const char *list, const char *const *names, int count, bool *on)
{
	char *dup = strdup(list), *save = NULL;

	if (!dup)
		return -ENOMEM;
	for (char *t = strtok_r(dup, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		int i;

		for (i = 0; i < count; i++)
			if (names[i] &&
			    (!strcmp(t, names[i]) || !strcmp(t, "all")))
				on[i] = true;
		for (i = 0; i < count && (!names[i] || strcmp(t, names[i]));
		     i++)
			;
		if (i == count && strcmp(t, "all")) {
			fprintf(stderr, "hupmon-bench: unknown name '%s'\n", t);
			free(dup);
			return -EINVAL;
		}
	}
	free(dup);
	return 0;
}

static int pick_scenarios(struct bopts *o, const char *list)
{
	const char *names[SC_COUNT];

	for (int i = 0; i < SC_COUNT; i++)
		names[i] = scenarios[i].name;
	memset(o->scen, 0, sizeof(o->scen));
	return pick(list, names, SC_COUNT, o->scen);
}

static int pick_paths(struct bopts *o, const char *list)
{
	const char *names[BP_COUNT];

	for (int i = 0; i < BP_COUNT; i++)
		names[i] = bench_paths[i].hidden ? NULL : bench_paths[i].name;
	memset(o->path, 0, sizeof(o->path));
	return pick(list, names, BP_COUNT, o->path);
}

static unsigned long long number(const char *s, const char *opt)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-') {
		fprintf(stderr, "hupmon-bench: %s wants a number\n", opt);
		exit(2);
	}
	return v;
}

static void defaults(struct bopts *o)
{
	memset(o, 0, sizeof(*o));
	o->n = 1000;
	o->closes = 200;
	o->rounds = 5;
	o->period_ms = 10;
	o->tick_ms = 1;
	o->pace_us = 2000;
	o->idle_ms = 300;
	o->seed = 1;
	for (int sc = 0; sc < SC_COUNT; sc++)
		o->scen[sc] = !scenarios[sc].optional;
	for (int p = 0; p < BP_COUNT; p++)
		o->path[p] = !bench_paths[p].hidden;
}

enum {
	O_N = 256,
	O_CLOSES,
	O_ROUNDS,
	O_PERIOD,
	O_TICK,
	O_PACE,
	O_IDLE,
	O_SETTLE,
	O_SCEN,
	O_PATHS,
	O_SEED,
	O_QUICK,
	O_EXPLAIN,
	O_JSON,
	O_SVG,
	O_METRICS,
	O_METRICS_FORMAT,
	O_HELP
};

static const struct option longopts[] = {
	{"n", required_argument, NULL, O_N},
	{"closes", required_argument, NULL, O_CLOSES},
	{"rounds", required_argument, NULL, O_ROUNDS},
	{"period-ms", required_argument, NULL, O_PERIOD},
	{"tick-ms", required_argument, NULL, O_TICK},
	{"pace-us", required_argument, NULL, O_PACE},
	{"idle-ms", required_argument, NULL, O_IDLE},
	{"settle-ms", required_argument, NULL, O_SETTLE},
	{"scenarios", required_argument, NULL, O_SCEN},
	{"paths", required_argument, NULL, O_PATHS},
	{"seed", required_argument, NULL, O_SEED},
	{"quick", no_argument, NULL, O_QUICK},
	{"explain", no_argument, NULL, O_EXPLAIN},
	{"json", required_argument, NULL, O_JSON},
	{"svg", required_argument, NULL, O_SVG},
	{"metrics", required_argument, NULL, O_METRICS},
	{"metrics-format", required_argument, NULL, O_METRICS_FORMAT},
	{"help", no_argument, NULL, O_HELP},
	{NULL, 0, NULL, 0},
};

/* Options given on the command line, which --quick must not override. */
struct given {
	bool closes, rounds, idle, settle, pace, scen;
};

static int one_opt(struct bopts *o, struct given *g, int c, bool *explain)
{
	const char *a = optarg;

	switch (c) {
	case O_N:
		o->n = number(a, "--n");
		o->n_set = true;
		return 0;
	case O_CLOSES:
		o->closes = (unsigned)number(a, "--closes");
		g->closes = true;
		return 0;
	case O_ROUNDS:
		o->rounds = (unsigned)number(a, "--rounds");
		g->rounds = true;
		return 0;
	case O_PERIOD:
		o->period_ms = (uint32_t)number(a, "--period-ms");
		return 0;
	case O_TICK:
		o->tick_ms = (uint32_t)number(a, "--tick-ms");
		return 0;
	case O_PACE:
		o->pace_us = (uint32_t)number(a, "--pace-us");
		g->pace = true;
		return 0;
	case O_IDLE:
		o->idle_ms = (uint32_t)number(a, "--idle-ms");
		g->idle = true;
		return 0;
	case O_SETTLE:
		o->settle_ms = (uint32_t)number(a, "--settle-ms");
		g->settle = true;
		return 0;
	case O_SCEN:
		g->scen = true;
		return pick_scenarios(o, a);
	case O_PATHS:
		return pick_paths(o, a);
	case O_SEED:
		o->seed = number(a, "--seed");
		return 0;
	case O_QUICK:
		o->quick = true;
		return 0;
	case O_EXPLAIN:
		*explain = true;
		return 0;
	case O_JSON:
		o->json = a;
		return 0;
	case O_SVG:
		o->svg = a;
		return 0;
	case O_METRICS:
		o->metrics = a;
		return 0;
	case O_METRICS_FORMAT:
		if (!strcmp(a, "prometheus"))
			o->metrics_format = HUPMON_FORMAT_PROMETHEUS;
		else if (!strcmp(a, "json"))
			o->metrics_format = HUPMON_FORMAT_JSON;
		else if (!strcmp(a, "text"))
			o->metrics_format = HUPMON_FORMAT_TEXT;
		else
			return -EINVAL;
		return 0;
	case O_HELP:
		usage(stdout);
		exit(0);
	default:
		return -EINVAL;
	}
}

static int check(const struct bopts *o)
{
	if (!o->n || !o->closes || !o->period_ms || !o->tick_ms ||
	    o->tick_ms > o->period_ms || o->period_ms > 3600000 || !o->rounds ||
	    o->rounds > BENCH_MAX_ROUNDS || !o->pace_us || !o->idle_ms) {
		fprintf(stderr,
			"hupmon-bench: need n, closes, pace, idle > 0, "
			"0 < tick <= period <= 3600000, rounds 1..%d\n",
			BENCH_MAX_ROUNDS);
		return -EINVAL;
	}
	return 0;
}

static void parse(struct bopts *o, int argc, char **argv, bool *explain)
{
	struct given g = {false, false, false, false, false, false};
	int c;

	defaults(o);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if (one_opt(o, &g, c, explain)) {
			usage(stderr);
			exit(2);
		}
	if (optind < argc) {
		fprintf(stderr, "hupmon-bench: unexpected '%s'\n",
			argv[optind]);
		exit(2);
	}
	if (o->quick) {
		o->n = o->n_set ? o->n : 100;
		o->closes = g.closes ? o->closes : 20;
		o->rounds = g.rounds ? o->rounds : 2;
		o->idle_ms = g.idle ? o->idle_ms : 50;
		o->pace_us = g.pace ? o->pace_us : 1000;
		for (int sc = 0; sc < SC_COUNT && !g.scen; sc++)
			o->scen[sc] &= !scenarios[sc].quick_off;
	}
	o->closes_set = g.closes;
	if (check(o))
		exit(2);
}

/* Soft RLIMIT_NOFILE up to the hard limit: scale needs every fd. */
static void raise_nofile(struct bopts *o)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit", errno);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			die("setrlimit", errno);
	}
	o->fd_hard = rl.rlim_cur > 1000000 ? 1000000 : (unsigned)rl.rlim_cur;
}

/* What is measured and how, the configuration, the paths' legend. */
static void header(FILE *f, const struct bopts *o)
{
	bool loopback = false;
	unsigned shown = 0; /* paths of the chosen loopback scenarios */

	for (int sc = 0; sc < SC_COUNT; sc++)
		if (o->scen[sc] && !scenarios[sc].netns) {
			loopback = true;
			shown |= scenarios[sc].paths;
		}
	if (!loopback) {
		fprintf(f,
			"hupmon-bench %s: silent only (root): how long "
			"keepalive / TCP_USER_TIMEOUT take to\nturn a vanished "
			"peer into a TIMEOUT report, against the configured "
			"bound. Sweep\nperiod %u ms cut in %u ms ticks, seed "
			"%llu. See --explain.\n",
			hupmon_version(), o->period_ms, o->tick_ms,
			(unsigned long long)o->seed);
		fflush(f);
		return;
	}
	fprintf(f,
		"hupmon-bench %s: how fast each detection path reports a TCP "
		"peer's hangup on loopback,\nbeside a minimal hand-written "
		"loop (the floor). Latency = CLOCK_MONOTONIC just before the\n"
		"client's close/shutdown/write to hupmon's callback on the "
		"dispatch thread. Each path runs\non fresh connections of its "
		"own; paths and floors alternate round by round, and every\n"
		"ratio is the median over rounds of (path / floor) measured in "
		"the same round.\n",
		hupmon_version());
	fprintf(f,
		"N=%zu connections per run, %u closures per scenario and path "
		"(%u rounds), sweep period\n%u ms cut in %u ms ticks, "
		"closures paced %u us apart on average, seed %llu.\n",
		o->n, o->closes, o->rounds, o->period_ms, o->tick_ms,
		o->pace_us, (unsigned long long)o->seed);
	fprintf(f,
		"Columns: seen/miss = expected reports that came / did not "
		"come; xmiss = misses the\nvisibility table expects (--explain)"
		"; false = reports on untouched connections; dup =\nrepeated "
		"reports; wrong = unexpected cause or order; p50..max in us; "
		"x/fl = ratio to\nthe floor (p50/fl: median of per-round "
		"ratios; "
		"p99/fl: the same with 100+ samples a\nround, else pooled p99 "
		"over pooled p99); cpu-ms = the loop thread's CPU (dispatch\n"
		"thread or raw loop) while the path ran; ns/probe = that CPU "
		"per socket probed (sweeps).\ncompare's floors: raw-epoll for "
		"latency, raw-tcpinfo per probe, none for cpu/fl outside\n"
		"idle (its floors' rounds differ in length). FAIL marks a row "
		"that broke the visibility\ntable (see --explain), or compare "
		"records that disagree or never came.\n");
	fprintf(f, "Paths:");
	for (int p = 0; p < BP_COUNT; p++)
		if (o->path[p] ||
		    (bench_paths[p].hidden && (shown & PATH_BIT(p))))
			fprintf(f, "\n  %-14s %s", bench_paths[p].name,
				bench_paths[p].what);
	fprintf(f, "\n  (each chosen path runs beside its floor)\n");
	fflush(f);
}

static void write_outputs(const struct bopts *o, const struct results *res)
{
	int rc;

	if (o->json && (rc = write_json(o->json, o, res)))
		die(o->json, -rc);
	if (o->svg && (rc = write_svg(o->svg, o, res)))
		die(o->svg, -rc);
	if (o->metrics &&
	    (rc = write_metrics(o->metrics,
				o->metrics_format ? o->metrics_format
						  : HUPMON_FORMAT_PROMETHEUS,
				res)))
		die(o->metrics, -rc);
}

static void results_free(struct results *res)
{
	for (int sc = 0; sc < SC_COUNT; sc++)
		for (int p = 0; p < BP_COUNT; p++) {
			struct cell *c = &res->c[sc][p];

			for (unsigned s = 0; s < BENCH_STAGES; s++) {
				vec_free(&c->lat[s]);
				vec_free(&c->det[s]);
			}
			vec_free(&c->cmp_lag);
		}
	silent_free(res);
	free(res);
}

int main(int argc, char **argv)
{
	int failed;

	struct bopts o;
	struct results *res;
	bool explain_only = false;
	uint16_t port;
	int lfd;

	parse(&o, argc, argv, &explain_only);
	if (explain_only) {
		explain(stdout);
		return 0;
	}
	raise_nofile(&o);
	signal(SIGPIPE, SIG_IGN);
	lfd = listener_open(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
			    "127.0.0.1", 4096, &port);
	if (lfd < 0)
		die("listen on 127.0.0.1", -lfd);
	res = xcalloc(1, sizeof(*res));
	header(stdout, &o);
	for (int sc = 0; sc < SC_COUNT; sc++) {
		struct bctx x = {&o, res, sc, lfd, port};

		if (o.scen[sc])
			scenarios[sc].run(&x);
	}
	analyse(res);
	report_tables(stdout, res);
	write_outputs(&o, res);
	close(lfd);
	failed = res->failures != 0;
	results_free(res);
	return failed ? 1 : 0;
}
