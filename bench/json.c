/*
 * json: every figure of the run, with the machine facts, as one JSON object
 * (--json); and the monitors' counters in Prometheus format (--metrics).
 */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

void jnum(FILE *f, const char *key, double x)
{
	if (isfinite(x))
		fprintf(f, "\"%s\": %.3f", key, x);
	else
		fprintf(f, "\"%s\": null", key);
}

void ju64(FILE *f, const char *key, uint64_t x)
{
	fprintf(f, "\"%s\": %llu", key, (unsigned long long)x);
}

void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

void jdist(FILE *f, const char *key, const struct dist *d, bool p99)
{
	fprintf(f, "\"%s\": {\"count\": %zu, ", key, d->n);
	jnum(f, "p50", d->p50);
	fputs(", ", f);
	jnum(f, "p90", d->p90);
	fputs(", ", f);
	if (p99) {
		jnum(f, "p99", d->p99);
		fputs(", ", f);
	}
	jnum(f, "max", d->max);
	fputs("}", f);
}

static void machine(FILE *f, const struct bopts *o)
{
	struct utsname u;
	char date[32] = "";
	time_t now = time(NULL);
	struct tm tm;

	if (uname(&u))
		memset(&u, 0, sizeof(u));
	if (gmtime_r(&now, &tm))
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f,
		"  \"machine\": {\"kernel\": \"%s %s\", \"arch\": \"%s\", "
		"\"cores\": %ld, \"fd_limit\": %u, \"date\": \"%s\"},\n",
		u.sysname, u.release, u.machine, sysconf(_SC_NPROCESSORS_ONLN),
		o->fd_hard, date);
	fprintf(f,
		"  \"config\": {\"n\": %zu, \"closes\": %u, \"rounds\": %u, "
		"\"period_ms\": %u, \"tick_ms\": %u, \"pace_us\": %u, "
		"\"idle_ms\": %u, \"seed\": %llu, \"quick\": %s},\n",
		o->n, o->closes, o->rounds, o->period_ms, o->tick_ms,
		o->pace_us, o->idle_ms, (unsigned long long)o->seed,
		o->quick ? "true" : "false");
}

static void stage(FILE *f, const struct results *res, enum scen sc,
		  enum bpath_id p, unsigned s)
{
	const struct cell *c = &res->c[sc][p];
	const struct row *a = &res->an[sc][p];
	const struct expect *e = &scenarios[sc].expect[bench_paths[p].vis];

	fprintf(f, "      {\"name\": \"%s\", \"cause\": \"%s\", ",
		stage_name(sc, s), hupmon_cause_name(e->cause[s]));
	ju64(f, "seen", c->seen[s]);
	fputs(", ", f);
	ju64(f, "missed", c->miss[s]);
	fputs(", ", f);
	ju64(f, "expected_missed", c->xmiss[s]);
	fputs(",\n       ", f);
	jdist(f, "latency_us", &a->lat[s], true);
	fputs(",\n       ", f);
	jdist(f, "detected_us", &a->det[s], true);
	fputs(",\n       ", f);
	jnum(f, "ratio_p50", a->r_p50[s]);
	fputs(", ", f);
	jnum(f, "ratio_p99", a->r_p99[s]);
	fputs(", \"rounds\": [", f);
	for (unsigned r = 0; r < c->rounds; r++) {
		fputs(r ? ", {" : "{", f);
		jnum(f, "p50_us", c->fig[r][fig_stage(FIG_P50, s)] / 1e3);
		fputs(", ", f);
		jnum(f, "p99_us", c->fig[r][fig_stage(FIG_P99, s)] / 1e3);
		fputs("}", f);
	}
	fputs("]}", f);
}

/* The figures of a round that "per_round" shows, by their keys. */
static const char *const round_key[FIG_COUNT] = {
	[FIG_CPU_MS] = "cpu_ms",
	[FIG_NS_PROBE] = "ns_per_probe",
	[FIG_SPAN_MS] = "burst_span_ms",
	[FIG_CPU_PER_S] = "idle_cpu_ms_per_s",
	[FIG_WAKE_S] = "idle_wakeups_per_s",
	[FIG_WATCH_NS] = "watch_ns",
	[FIG_UNWATCH_NS] = "unwatch_ns",
};

static void round_figures(FILE *f, const double *fig)
{
	const char *sep = "{";

	for (int i = 0; i < FIG_COUNT; i++)
		if (round_key[i]) {
			fputs(sep, f);
			jnum(f, round_key[i], fig[i]);
			sep = ", ";
		}
	fputs("}", f);
}

static void compare_figures(FILE *f, const struct cell *c, const struct row *a)
{
	fprintf(f,
		",\n     \"compare\": {\"epoll_first\": %llu, \"sweep_first\": "
		"%llu, \"second_missed\": %llu, \"disagree\": %llu, ",
		(unsigned long long)a->cmp_epoll,
		(unsigned long long)a->cmp_sweep,
		(unsigned long long)a->cmp_missed,
		(unsigned long long)c->cmp_disagree);
	jdist(f, "lag_us", &a->lag, true);
	fputs("}", f);
}

static void totals(FILE *f, const struct cell *c, const struct row *a)
{
	fprintf(f, "     ");
	ju64(f, "false", c->fals);
	fputs(", ", f);
	ju64(f, "duplicate", c->dup);
	fputs(", ", f);
	ju64(f, "wrong_cause", c->wrong);
	fputs(", ", f);
	ju64(f, "errors", c->errors);
	fprintf(f, ", \"failed\": %s,\n     ", a->failed ? "true" : "false");
	jnum(f, "cpu_ms", c->cpu_ms);
	fputs(", ", f);
	jnum(f, "cpu_ratio", a->r_cpu);
	fputs(", ", f);
	jnum(f, "loop_cpu_ms", c->loop_cpu_ms);
	fputs(", ", f);
	jnum(f, "wall_ms", c->wall_ms);
	fputs(", ", f);
	ju64(f, "probes", c->probes);
	fputs(", ", f);
	jnum(f, "ns_per_probe", a->ns_probe);
	fputs(", ", f);
	jnum(f, "probe_ratio", a->r_probe);
	fputs(",\n     ", f);
	ju64(f, "wakeups", c->wakeups);
	fputs(", ", f);
	ju64(f, "sweep_overruns", c->overruns);
	fputs(", ", f);
	jnum(f, "sweep_lap_worst_ms", (double)c->lap_worst_ns / 1e6);
	fputs(", ", f);
	jnum(f, "sweep_slice_worst_ms",
	     c->have_stats ? (double)c->stats.sweep_slice_worst_ns / 1e6 : NAN);
	fputs(", ", f);
	jnum(f, "stats_format_ns", c->fig[0][FIG_STATS_NS]);
	fputs(", ", f);
	jnum(f, "bytes_per_socket", c->fig[0][FIG_BYTES_SOCK]);
}

static void cell_json(FILE *f, const struct results *res, enum scen sc,
		      enum bpath_id p)
{
	const struct cell *c = &res->c[sc][p];
	const char *sep = "";

	fprintf(f,
		"    {\"scenario\": \"%s\", \"path\": \"%s\", \"floor\": "
		"\"%s\", \"n\": %zu, \"rounds\": %u, \"closures\": %llu,\n",
		scenarios[sc].name, bench_paths[p].name,
		is_floor(p) ? "" : bench_paths[bench_paths[p].floor].name, c->n,
		c->rounds, (unsigned long long)c->acted);
	fputs("     \"stages\": [\n", f);
	for (unsigned s = 0; s < BENCH_STAGES; s++) {
		if (!scenarios[sc].expect[bench_paths[p].vis].cause[s])
			continue;
		fputs(sep, f);
		stage(f, res, sc, p, s);
		sep = ",\n";
	}
	fputs("],\n", f);
	totals(f, c, &res->an[sc][p]);
	if (bench_paths[p].compare)
		compare_figures(f, c, &res->an[sc][p]);
	fputs(",\n     \"per_round\": [", f);
	for (unsigned r = 0; r < c->rounds; r++) {
		fputs(r ? ", " : "", f);
		round_figures(f, c->fig[r]);
	}
	fputs("]}", f);
}

int write_json(const char *file, const struct bopts *o,
	       const struct results *res)
{
	FILE *f = fopen(file, "w");
	bool first = true;

	if (!f)
		return -errno;
	fprintf(f,
		"{\n  \"tool\": \"hupmon-bench\", \"hupmon_version\": "
		"\"%s\",\n",
		hupmon_version());
	machine(f, o);
	fputs("  \"results\": [\n", f);
	for (int sc = 0; sc < SC_COUNT; sc++)
		for (int p = 0; p < BP_COUNT; p++) {
			if (!res->c[sc][p].ran)
				continue;
			fputs(first ? "" : ",\n", f);
			cell_json(f, res, sc, p);
			first = false;
		}
	silent_json_rows(f, res, &first);
	fputs("\n  ],\n", f);
	silent_json_summary(f, res);
	fprintf(f, ",\n  \"failures\": %u, \"pass\": %s\n}\n", res->failures,
		res->failures ? "false" : "true");
	return fclose(f) ? -errno : 0;
}

static int metrics_one(FILE *f, enum hupmon_format fmt, const struct cell *c,
		       enum scen sc, enum bpath_id p)
{
	int len = hupmon_stats_format(&c->stats, fmt, NULL, 0);
	char *buf;

	if (len < 0)
		return len;
	buf = malloc((size_t)len + 1);
	if (!buf)
		return -ENOMEM;
	len = hupmon_stats_format(&c->stats, fmt, buf, (size_t)len + 1);
	if (len >= 0) {
		if (fmt != HUPMON_FORMAT_JSON) /* JSON has no comments */
			fprintf(f,
				"# hupmon-bench: scenario=%s path=%s N=%zu "
				"(the monitor of its last round)\n",
				scenarios[sc].name, bench_paths[p].name, c->n);
		fputs(buf, f);
	}
	free(buf);
	return len < 0 ? len : 0;
}

/* Prometheus text of one monitor, so that the file is one valid
 * exposition (promtool check metrics): the one analyse() chose. */
int write_metrics(const char *file, enum hupmon_format fmt,
		  const struct results *res)
{
	int rc = 0;
	FILE *f = fopen(file, "w");

	if (!f)
		return -errno;
	if (res->metrics_p >= 0)
		rc = metrics_one(f, fmt,
				 &res->c[res->metrics_sc][res->metrics_p],
				 res->metrics_sc, res->metrics_p);
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}
