/*
 * hupmon-bench: options, the header and orchestration. See bench.h for the
 * vocabulary (paths, scenarios, floors) and --help for the options. The exit
 * status is analyse()'s: 1 when a path broke the visibility table (--explain),
 * 2 on a usage or setup error.
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
	"2000;\n"
	"                   soak: between two acts of its two threads "
	"together)\n"
	"  --idle-ms M      length of one idle round (default 300)\n"
	"  --settle-ms M    wait after watching, before acting or measuring "
	"(default:\n"
	"                   sweeping paths 2 periods + 2 ms, to reach the "
	"steady state;\n"
	"                   others 2 ms)\n"
	"  --scenarios LIST "
	"fin,rst,half,datafin,escalate,burst,idle,interference,scale,\n"
	"                   silent, soak, abandon, stall, churn, budget, "
	"shards, million or\n"
	"                   all (default: all but interference, scale, "
	"silent, soak,\n"
	"                   abandon, stall, churn, budget, shards and "
	"million)\n"
	"                   million: the worst single watch and memory per "
	"socket at\n"
	"                   1 000 000 synthetic entries (100 000 with "
	"--quick), "
	"then\n"
	"                   memory per socket with real ones to the fd limit\n"
	"                   stall: zero window and recovery on loopback; as "
	"root also\n"
	"                   NO_ACK vs TIMEOUT and tbf links (~60 s)\n"
	"                   silent: root only (else skipped, exit status "
	"unaffected); two\n"
	"                   network namespaces and a veth pair, the client's "
	"link taken\n"
	"                   down: keepalive / TCP_USER_TIMEOUT detection time "
	"vs its bound\n"
	"                   for the epoll path, the TCP_INFO sweep and both "
	"(~25 s)\n"
	"                   soak: N connections (default 9900, clients in a "
	"child) churned\n"
	"                   in compare mode, two threads watching and "
	"unwatching, every\n"
	"                   closure mode, RST after FIN, unwatch at the "
	"first report or\n"
	"                   alive; judged: no lost, false, duplicate or "
	"wrong report, the\n"
	"                   counter identities, memory_bytes not growing "
	"cycle to cycle\n"
	"                   after the first (a cycle: N replacements); "
	"sweep period 100 ms,\n"
	"                   tick 10 ms unless --period-ms/--tick-ms are "
	"given\n"
	"                   budget: sweep CPU budget 0.2 core, N (default "
	"19900, clients\n"
	"                   in a child): the dispatch thread's CPU, "
	"sweep only; epoll p99\n"
	"                   budgeted / quiet over R rounds (--closes, "
	"default 1000 per mode)\n"
	"                   and compare mode's misses; shards: N split "
	"between 1 and 2\n"
	"                   budgeted monitors, sweep capacity of each "
	"(~40 s together)\n"
	"                   churn: watch + unwatch per socket vs a raw "
	"epoll_ctl ADD + DEL,\n"
	"                   N = 1000 and 9900 (--quick: 100, 1000; --n: "
	"that N), 1 thread,\n"
	"                   then 2 while the loop dispatches; 2R+1 rounds\n"
	"  --soak-s S       soak: seconds of churn (default 120; --quick: 10)\n"
	"  --paths LIST     "
	"epoll,sweep-peek,sweep-tcpinfo,compare,raw-epoll,raw-peek,\n"
	"                   raw-tcpinfo or all (default all; floors of chosen "
	"paths always run)\n"
	"  --abandon-ms M   abandon: length of a round per mode (default "
	"2000); abandon runs\n"
	"                   hupmon-serve in this process against --n clients "
	"(default 64)\n"
	"                   giving up on /work requests of 5-50 ms: hupmon "
	"off, epoll,\n"
	"                   sweep (TCP_INFO, 10 ms) and compare, R rounds "
	"(~75 s)\n"
	"  --abandon-pct P  abandon: share of sessions that give up, in % "
	"(default 30)\n"
	"  --seed S         seed of the closure order and pacing (default 1)\n"
	"  --quick          small and fast: N=100, 20 closes, 2 rounds, 1 ms "
	"pace;\n"
	"                   idle skipped unless named (then 50 ms); abandon: "
	"16 clients,\n"
	"                   1 round of 500 ms\n"
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
	"2 error.\n"
	"abandon: 1 also for a false cancellation, a lost response, server "
	"counters that\n"
	"do not add up, or CPU after clients left with the epoll path over 5 "
	"% of off's.\n";

static void __attribute__((noreturn)) usage(FILE *f, int status)
{
	fputs(usage_text, f);
	exit(status);
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
	for (int sc = 0; sc < SC_COUNT; sc++)
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
		return pick(a, scenario_name, SC_COUNT, o->scen);
	else if (!strcmp(name, "paths"))
		return pick(a, path_name, BP_COUNT, o->path);
	else if (!strcmp(name, "seed"))
		o->seed = number(a, name);
	else if (!strcmp(name, "explain"))
		o->explain = true;
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
	if (check(o))
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

/* What is measured and how, the configuration, the paths' legend. */
static void header(FILE *f, const struct bopts *o)
{
	bool loopback = false;
	unsigned shown = 0; /* paths of the chosen loopback scenarios */

	for (int sc = 0; sc < SC_COUNT; sc++)
		if (o->scen[sc] && !scenarios[sc].netns &&
		    !scenarios[sc].apart && sc != SC_SOAK) {
			loopback = true;
			shown |= scenarios[sc].paths;
		}
	if (!loopback && o->scen[SC_SOAK]) {
		fprintf(f,
			"hupmon-bench %s: soak: connections churned in compare "
			"mode, judged by the\nmonitor's counters and memory; "
			"seed %llu. Figures at the end.\n",
			hupmon_version(), o->seed);
	} else if (!loopback && o->scen[SC_STALL] && !o->scen[SC_SILENT]) {
		fprintf(f,
			"hupmon-bench %s: stall: stall reports of the "
			"TCP_INFO sweep (what the epoll\npath cannot see). "
			"See --explain.\n",
			hupmon_version());
		fflush(f);
		return;
	} else if (!loopback && !o->scen[SC_SILENT]) {
		fflush(f);
		return;
	} else if (!loopback) {
		fprintf(f,
			"hupmon-bench %s: silent only (root): how long "
			"keepalive / TCP_USER_TIMEOUT take to\nturn a vanished "
			"peer into a TIMEOUT report, against the configured "
			"bound. Sweep\nperiod %u ms cut in %u ms ticks, seed "
			"%llu. See --explain.\n",
			hupmon_version(), o->period_ms, o->tick_ms, o->seed);
	}
	if (!loopback) {
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
		o->pace_us, o->seed);
	fprintf(f,
		"Columns: seen/miss = expected reports that came / did not "
		"come; xmiss = misses the\nvisibility table expects (--explain)"
		"; false = reports on untouched connections; dup =\nrepeated "
		"reports; wrong = unexpected cause or order; p50..max in us; "
		"x/fl = ratio to\nthe floor (p50/fl, p90/fl: median of "
		"per-round "
		"ratios; "
		"p99/fl: the same with 100+ samples a\nround, else pooled p99 "
		"over pooled p99); cpu-ms = the loop thread's CPU (dispatch\n"
		"thread or raw loop) while the path ran; ns/probe = that CPU "
		"per socket probed (sweeps);\nck/rep, er/rep = the monitor's "
		"SO_COOKIE reads (is the fd still the watched socket?) and\n"
		"SO_ERROR reads (which error?) per hangup report, medians over "
		"rounds.\ncompare's floors: raw-epoll for "
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
	abandon_free(res);
	silent_free(res);
	soak_free(res);
	churn_free(res);
	free(res);
}

int main(int argc, char **argv)
{
	struct bopts o;
	struct results *res;
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
	res = xcalloc(1, sizeof(*res));
	header(stdout, &o);
	for (int sc = 0; sc < SC_COUNT; sc++) {
		struct bctx x = {&o, res, sc, lfd, port};

		if (o.scen[sc])
			scenarios[sc].run(&x);
	}
	analyse(res);
	report_tables(stdout, res);
	if (o.json && (rc = write_json(o.json, &o, res)))
		die(o.json, -rc);
	if (o.svg && (rc = write_svg(o.svg, &o, res)))
		die(o.svg, -rc);
	if (o.metrics && (rc = write_metrics(o.metrics, o.metrics_format, res)))
		die(o.metrics, -rc);
	close(lfd);
	rc = res->failures ? 1 : 0;
	results_free(res);
	return rc;
}
