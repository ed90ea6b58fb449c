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

#define RV_OFF(field) offsetof(struct rv, field)

static void jnum(FILE *f, const char *key, double x)
{
	if (isfinite(x))
		fprintf(f, "\"%s\": %.3f", key, x);
	else
		fprintf(f, "\"%s\": null", key);
}

static void ju64(FILE *f, const char *key, uint64_t x)
{
	fprintf(f, "\"%s\": %llu", key, (unsigned long long)x);
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

static void dist(FILE *f, const char *key, struct vec *v)
{
	fprintf(f, "\"%s\": {\"count\": %zu, ", key, v->n);
	jnum(f, "p50", vec_pct(v, 50) / 1e3);
	fputs(", ", f);
	jnum(f, "p90", vec_pct(v, 90) / 1e3);
	fputs(", ", f);
	jnum(f, "p99", vec_pct(v, 99) / 1e3);
	fputs(", ", f);
	jnum(f, "max", vec_pct(v, 100) / 1e3);
	fputs("}", f);
}

static void stage(FILE *f, const struct results *res, struct cell *c,
		  enum scen sc, enum bpath_id p, unsigned s)
{
	enum bpath_id b = bench_paths[p].floor;
	const struct expect *e = &scenarios[sc].expect[bench_paths[p].vis];

	fprintf(f, "      {\"name\": \"%s\", \"cause\": \"%s\", ",
		stage_name(sc, s), hupmon_cause_name(e->cause[s]));
	ju64(f, "seen", c->seen[s]);
	fputs(", ", f);
	ju64(f, "missed", c->miss[s]);
	fputs(", ", f);
	ju64(f, "expected_missed", c->xmiss[s]);
	fputs(",\n       ", f);
	dist(f, "latency_us", &c->lat[s]);
	fputs(",\n       ", f);
	dist(f, "detected_us", &c->det[s]);
	fputs(",\n       ", f);
	jnum(f, "ratio_p50",
	     ratio_of(res, sc, p, b, RV_OFF(p50) + s * sizeof(double)));
	fputs(", ", f);
	jnum(f, "ratio_p99", ratio_p99(res, sc, p, b, s));
	fputs(", \"rounds\": [", f);
	for (unsigned r = 0; r < c->rounds; r++) {
		fputs(r ? ", {" : "{", f);
		jnum(f, "p50_us", c->rv[r].p50[s] / 1e3);
		fputs(", ", f);
		jnum(f, "p99_us", c->rv[r].p99[s] / 1e3);
		fputs("}", f);
	}
	fputs("]}", f);
}

static void round_figures(FILE *f, const struct rv *v)
{
	fputs("{", f);
	jnum(f, "cpu_ms", v->cpu_ms);
	fputs(", ", f);
	jnum(f, "ns_per_probe", v->ns_probe);
	fputs(", ", f);
	jnum(f, "burst_span_ms", v->span_ms);
	fputs(", ", f);
	jnum(f, "idle_cpu_ms_per_s", v->cpu_per_s);
	fputs(", ", f);
	jnum(f, "idle_wakeups_per_s", v->wake_s);
	fputs(", ", f);
	jnum(f, "watch_ns", v->watch_ns);
	fputs(", ", f);
	jnum(f, "unwatch_ns", v->unwatch_ns);
	fputs("}", f);
}

static void compare_figures(FILE *f, struct cell *c)
{
	uint64_t ep = 0, sw = 0, mi = 0;

	for (int k = 0; k <= HUPMON_CAUSE_MAX; k++) {
		ep += c->cmp_first[HUPMON_PATH_EPOLL][k];
		sw += c->cmp_first[HUPMON_PATH_SWEEP][k];
		mi += c->cmp_missed[k];
	}
	fprintf(f,
		",\n     \"compare\": {\"epoll_first\": %llu, \"sweep_first\": "
		"%llu, \"second_missed\": %llu, \"disagree\": %llu, ",
		(unsigned long long)ep, (unsigned long long)sw,
		(unsigned long long)mi, (unsigned long long)c->cmp_disagree);
	dist(f, "lag_us", &c->cmp_lag);
	fputs("}", f);
}

static void totals(FILE *f, const struct results *res, struct cell *c,
		   enum scen sc, enum bpath_id p)
{
	fprintf(f, "     ");
	ju64(f, "false", c->fals);
	fputs(", ", f);
	ju64(f, "duplicate", c->dup);
	fputs(", ", f);
	ju64(f, "wrong_cause", c->wrong);
	fputs(", ", f);
	ju64(f, "errors", c->errors);
	fprintf(f, ", \"failed\": %s,\n     ",
		cell_failed(c) ? "true" : "false");
	jnum(f, "cpu_ms", c->cpu_ms);
	fputs(", ", f);
	jnum(f, "cpu_ratio",
	     ratio_cpu(res, sc, p,
		       scenarios[sc].window ? RV_OFF(cpu_per_s)
					    : RV_OFF(loop_ms)));
	fputs(", ", f);
	jnum(f, "loop_cpu_ms", c->loop_cpu_ms);
	fputs(", ", f);
	jnum(f, "wall_ms", c->wall_ms);
	fputs(", ", f);
	ju64(f, "probes", c->probes);
	fputs(", ", f);
	jnum(f, "ns_per_probe", cell_ns_probe(c));
	fputs(", ", f);
	jnum(f, "probe_ratio", ratio_probe(res, sc, p));
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
	jnum(f, "stats_format_ns",
	     c->have_stats && sc == SC_SCALE ? c->stats_ns : NAN);
	fputs(", ", f);
	jnum(f, "bytes_per_socket",
	     c->have_stats && sc == SC_SCALE ? c->bytes_per_sock : NAN);
}

static void cell_json(FILE *f, const struct results *res, struct cell *c,
		      enum scen sc, enum bpath_id p, bool first)
{
	enum bpath_id b = bench_paths[p].floor;

	fprintf(f,
		"%s    {\"scenario\": \"%s\", \"path\": \"%s\", \"floor\": "
		"\"%s\", \"n\": %zu, \"rounds\": %u, \"closures\": %llu,\n",
		first ? "" : ",\n", scenarios[sc].name, bench_paths[p].name,
		b == p ? "" : bench_paths[b].name, c->n, c->rounds,
		(unsigned long long)c->acted);
	fputs("     \"stages\": [\n", f);
	for (unsigned s = 0; s < BENCH_STAGES; s++) {
		if (!scenarios[sc].expect[bench_paths[p].vis].cause[s])
			continue;
		fputs(s ? ",\n" : "", f);
		stage(f, res, c, sc, p, s);
	}
	fputs("],\n", f);
	totals(f, res, c, sc, p);
	if (bench_paths[p].compare)
		compare_figures(f, c);
	fputs(",\n     \"per_round\": [", f);
	for (unsigned r = 0; r < c->rounds; r++) {
		fputs(r ? ", " : "", f);
		round_figures(f, &c->rv[r]);
	}
	fputs("]}", f);
}

int write_json(const char *file, const struct bopts *o, struct results *res)
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
			cell_json(f, res, &res->c[sc][p], sc, p, first);
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
 * exposition (promtool check metrics): the compare monitor of the last
 * scenario that ran compare, else the last library monitor that ran. */
int write_metrics(const char *file, enum hupmon_format fmt, struct results *res)
{
	int best_sc = -1, best_p = -1, rc;
	FILE *f;

	for (int sc = 0; sc < SC_COUNT; sc++)
		for (int p = 0; p < BP_COUNT; p++) {
			if (!res->c[sc][p].have_stats)
				continue;
			if (best_p == BP_COMPARE && p != BP_COMPARE)
				continue;
			best_sc = sc;
			best_p = p;
		}
	f = fopen(file, "w");
	if (!f)
		return -errno;
	rc = best_p < 0 ? 0
			: metrics_one(f, fmt, &res->c[best_sc][best_p], best_sc,
				      best_p);
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}
