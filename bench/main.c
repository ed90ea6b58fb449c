/* SPDX-License-Identifier: MIT */
/*
 * hupmon-bench: the header and the driver (the options are options.c's).
 * See bench.h for the vocabulary (paths, scenarios, floors). The exit
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
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* What is measured, in three lines; the legend is --explain's. */
static void header(FILE *f, const struct bopts *o)
{
	bool loopback = false;

	for (int sc = 0; sc < scenario_count; sc++)
		loopback |= o->scen[sc] && scenarios[sc].ops->cells;
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

/* A failed write of an output file: exit 2, not a quiet exit 0. */
static void die_output(const char *opt, const char *path, int rc)
	__attribute__((noreturn));

static void die_output(const char *opt, const char *path, int rc)
{
	fprintf(stderr, "hupmon-bench: write --%s %s: %s\n", opt, path,
		strerror(-rc));
	exit(2);
}

static int write_plot(FILE *f, const struct scen_run *runs)
{
	struct plot *pl = xcalloc(1, sizeof(*pl));
	int rc;

	summary_plot(pl, runs); /* the answer first */
	for (int sc = 0; sc < scenario_count; sc++)
		if (runs[sc].ran && runs[sc].res && runs[sc].x.s->ops->plot)
			runs[sc].x.s->ops->plot(pl, runs[sc].res, &runs[sc].x);
	rc = write_svg(f, pl);
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

	if (options_parse(&o, argc, argv))
		usage(stderr, 2);
	if (o.help)
		usage(stdout, 0);
	if (o.explain) {
		explain(stdout);
		return 0;
	}
	options_fit(&o);
	signal(SIGPIPE, SIG_IGN);
	lfd = listener_open(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
			    "127.0.0.1", 4096, &port);
	if (lfd < 0)
		die("listen on 127.0.0.1", -lfd);
	v.strict_timing = o.strict_timing;
	header(stdout, &o);
	run_all(&o, runs, &v, lfd, port);
	report(stdout, runs, &v);
	if (o.json && (rc = write_json(o.json_f, &o, runs, &v)))
		die_output("json", o.json, rc);
	if (o.svg && (rc = write_plot(o.svg_f, runs)))
		die_output("svg", o.svg, rc);
	if (o.metrics &&
	    (rc = write_metrics(o.metrics_f, o.metrics_format, runs)))
		die_output("metrics", o.metrics, rc);
	close(lfd);
	rc = verdict_status(&v);
	for (int sc = 0; sc < scenario_count; sc++)
		if (runs[sc].res)
			runs[sc].x.s->ops->free(runs[sc].res);
	return rc;
}
