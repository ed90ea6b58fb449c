/* SPDX-License-Identifier: MIT */
/*
 * json: every figure of the run, with the machine facts, as one JSON object
 * (--json); and the monitors' counters in Prometheus format (--metrics).
 */
#include "apart.h"
#include "abandon.h"
#include "jw.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* A JSON number, null when not finite, from a ring of buffers so that one
 * printf can take several. */
static const char *jv(double x)
{
	static char ring[24][32];
	static unsigned next;
	char *b = ring[next++ % 24];

	if (isfinite(x))
		snprintf(b, sizeof(ring[0]), "%.3f", x);
	else
		snprintf(b, sizeof(ring[0]), "null");
	return b;
}

/* A JSON string: quotes and backslashes escaped, control bytes as \u. */
static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
		if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned)(unsigned char)*s);
		else
			fprintf(f, "%s%c", strchr("\"\\", *s) ? "\\" : "", *s);
	fputc('"', f);
}

static void jdist(FILE *f, const char *key, const struct dist *d, bool p99)
{
	fprintf(f, "\"%s\": {\"count\": %zu, \"p50\": %s, \"p90\": %s, ", key,
		d->n, jv(d->p50), jv(d->p90));
	if (p99)
		fprintf(f, "\"p99\": %s, ", jv(d->p99));
	fprintf(f, "\"max\": %s}", jv(d->max));
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
		o->pace_us, o->idle_ms, o->seed, o->quick ? "true" : "false");
}

static void stage(FILE *f, const struct results *res, enum scen sc,
		  enum bpath_id p, unsigned s)
{
	const struct cell *c = &res->c[sc][p];
	const struct row *a = &res->an[sc][p];
	const struct expect *e = &scenarios[sc].expect[bench_paths[p].vis];

	fprintf(f,
		"      {\"name\": \"%s\", \"cause\": \"%s\", \"seen\": %llu, "
		"\"missed\": %llu, \"expected_missed\": %llu,\n       ",
		stage_name(sc, s), hupmon_cause_name(e->cause[s]), c->seen[s],
		c->miss[s], c->xmiss[s]);
	jdist(f, "latency_us", &a->lat[s], true);
	fputs(",\n       ", f);
	jdist(f, "detected_us", &a->det[s], true);
	fprintf(f,
		",\n       \"ratio_p50\": %s, \"ratio_p90\": %s, "
		"\"ratio_p99\": %s, \"rounds\": [",
		jv(a->r_p50[s]), jv(a->r_p90[s]), jv(a->r_p99[s]));
	for (unsigned r = 0; r < c->rounds; r++)
		fprintf(f, "%s{\"p50_us\": %s, \"p90_us\": %s, \"p99_us\": %s}",
			r ? ", " : "",
			jv(c->fig[r][fig_stage(FIG_P50, s)] / 1e3),
			jv(c->fig[r][fig_stage(FIG_P90, s)] / 1e3),
			jv(c->fig[r][fig_stage(FIG_P99, s)] / 1e3));
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
	[FIG_COOKIE_REP] = "cookie_reads_per_report",
	[FIG_ERROR_REP] = "error_reads_per_report",
};

static void totals(FILE *f, const struct cell *c, const struct row *a)
{
	fprintf(f,
		"     \"false\": %llu, \"duplicate\": %llu, \"wrong_cause\": "
		"%llu, \"errors\": %llu, \"failed\": %s,\n",
		c->fals, c->dup, c->wrong, c->errors,
		a->failed ? "true" : "false");
	fprintf(f,
		"     \"cpu_ms\": %s, \"cpu_ratio\": %s, \"loop_cpu_ms\": %s, "
		"\"wall_ms\": %s, \"probes\": %llu, \"ns_per_probe\": %s, "
		"\"probe_ratio\": %s,\n",
		jv(c->cpu_ms), jv(a->r_cpu), jv(c->loop_cpu_ms), jv(c->wall_ms),
		c->probes, jv(a->ns_probe), jv(a->r_probe));
	fprintf(f,
		"     \"wakeups\": %llu, \"sweep_overruns\": %llu, "
		"\"sweep_lap_worst_ms\": %s, \"sweep_slice_worst_ms\": %s, "
		"\"stats_format_ns\": %s, \"bytes_per_socket\": %s",
		c->wakeups, c->overruns, jv((double)c->lap_worst_ns / 1e6),
		jv(c->have_stats ? (double)c->stats.sweep_slice_worst_ns / 1e6
				 : NAN),
		jv(c->fig[0][FIG_STATS_NS]), jv(c->fig[0][FIG_BYTES_SOCK]));
}

static void compare_figures(FILE *f, const struct cell *c, const struct row *a)
{
	fprintf(f,
		",\n     \"compare\": {\"epoll_first\": %llu, \"sweep_first\": "
		"%llu, \"second_missed\": %llu, \"disagree\": %llu, ",
		c->cmp_epoll, c->cmp_sweep, c->cmp_missed, c->cmp_disagree);
	jdist(f, "lag_us", &a->lag, true);
	fputs("}", f);
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
		c->rounds, c->acted);
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
		sep = r ? ", {" : "{";
		for (int i = 0; i < FIG_COUNT; i++)
			if (round_key[i]) {
				fprintf(f, "%s\"%s\": %s", sep, round_key[i],
					jv(c->fig[r][i]));
				sep = ", ";
			}
		fputs("}", f);
	}
	fputs("]}", f);
}

/* A latency of abandon's, ms, with its samples' count. */
static void jlat(FILE *f, const char *key, const struct load_lat *l)
{
	fprintf(f,
		"\"%s\": {\"count\": %zu, \"p50\": %s, \"p99\": %s, "
		"\"max\": %s}",
		key, l->n, jv(l->n ? l->p50_ms : NAN),
		jv(l->n ? l->p99_ms : NAN), jv(l->n ? l->max_ms : NAN));
}

static const char *jbool(bool b)
{
	return b ? "true" : "false";
}

static void abandon_row(FILE *f, const struct abandon_mode *w, int i)
{
	const struct load_result *r = &w->r;
	bool swept = w->bound_max_ns > 0;

	fprintf(f,
		"    {\"scenario\": \"abandon\", \"mode\": \"%s\", "
		"\"error\": %d, \"sent\": %llu, \"answered\": %llu, "
		"\"answers_per_s\": %s, \"work_ms_per_s\": %s,\n     "
		"\"sessions\": {",
		serve_mode_name((enum serve_mode)i), w->error,
		(unsigned long long)r->sent, (unsigned long long)r->answered,
		jv(r->answers_per_s), jv(r->work_ms_per_s));
	for (int c = 0; c < LOAD_CLASSES; c++)
		fprintf(f, "%s\"%s\": %llu", c ? ", " : "",
			load_class_name((enum load_class)c),
			(unsigned long long)r->sessions[c]);
	fprintf(f,
		"}, \"left\": %llu, \"rst\": %llu, \"unseen\": %llu,\n     "
		"\"cpu_after_left_ms\": %s, \"cpu_after_left_pct_off\": "
		"%s, \"goodput_over_off\": %s,\n     \"by_policy\": %llu, "
		"\"half_answered\": %llu, \"half_refused\": %llu, "
		"\"pipe_close_ran\": %llu, \"false_cancels\": %llu, "
		"\"lost\": %llu,\n     ",
		(unsigned long long)r->left, (unsigned long long)r->rst,
		(unsigned long long)r->unseen, jv(r->cpu_after_left_ms),
		jv(i == SERVE_OFF ? 100 : w->cpu_pct_off), jv(w->goodput_off),
		(unsigned long long)r->by_policy,
		(unsigned long long)r->half_answered,
		(unsigned long long)r->half_refused,
		(unsigned long long)r->pipe_close_ran,
		(unsigned long long)r->false_cancels,
		(unsigned long long)r->lost);
	fprintf(f,
		"\"server\": {\"requests\": %llu, \"completed\": %llu, "
		"\"cancelled\": %llu, \"failed\": %llu, \"add_up\": "
		"%s},\n     ",
		(unsigned long long)r->srv_requests,
		(unsigned long long)r->srv_completed,
		(unsigned long long)r->srv_cancelled,
		(unsigned long long)r->srv_failed, jbool(r->add_up));
	jlat(f, "act_callback_ms", &r->act_cb);
	fputs(", ", f);
	jlat(f, "read_callback_ms", &r->read_cb);
	fputs(",\n     ", f);
	jlat(f, "callback_stop_ms", &r->cb_stop);
	fprintf(f,
		", \"gap_bound_ms\": {\"min\": %s, \"max\": %s}, "
		"\"gap_worst_ms\": %s,\n     \"goals\": {\"p99_limit_ms\": "
		"%s, \"p99_met\": %s, \"cpu_met\": %s, \"goodput_met\": "
		"%s}, \"failed\": %s}",
		jv(swept ? (double)w->bound_min_ns / 1e6 : NAN),
		jv(swept ? (double)w->bound_max_ns / 1e6 : NAN),
		jv(swept ? (double)w->gap_ns / 1e6 : NAN), jv(w->p99_limit_ms),
		jbool(w->p99_ok), jbool(w->cpu_ok), jbool(w->goodput_ok),
		jbool(w->failed));
}

void abandon_json_rows(FILE *f, const struct results *res, bool *first)
{
	const struct abandon_res *a = res->abandon;

	for (int i = 0; a && i < ABANDON_MODES; i++) {
		if (!a->m[i].ran && !a->m[i].error)
			continue;
		fputs(*first ? "" : ",\n", f);
		abandon_row(f, &a->m[i], i);
		*first = false;
	}
}

void abandon_json_summary(FILE *f, const struct results *res)
{
	const struct abandon_res *a = res->abandon;

	fprintf(f, "  \"abandon\": ");
	if (!a) {
		fputs("null", f);
		return;
	}
	fprintf(f,
		"{\"clients\": %u, \"rounds\": %u, \"round_ms\": %u, "
		"\"work_ms\": [%u, %u], \"abandon_pct\": %u, \"half_pct\": "
		"%u, \"pipe_read_pct\": %u, \"pipe_close_pct\": %u,\n   "
		"\"half_close\": \"cancel\", \"workers\": %u, "
		"\"worker_sched\": \"%s\", \"sweep_period_ms\": %d, "
		"\"sweep_tick_ms\": %d, \"wall_s\": %s,\n   "
		"\"loadavg_before\": [%s, %s, %s], \"loadavg_after\": [%s, "
		"%s, %s]}",
		a->lo.clients, a->rounds, a->lo.duration_ms, a->lo.min_ms,
		a->lo.max_ms, a->lo.abandon_pct, a->lo.half_pct,
		a->lo.pipe_read_pct, a->lo.pipe_close_pct, a->workers,
		a->sched ? a->sched : "", SERVE_SWEEP_PERIOD_MS,
		SERVE_SWEEP_TICK_MS, jv(a->wall_s), jv(a->load_before[0]),
		jv(a->load_before[1]), jv(a->load_before[2]),
		jv(a->load_after[0]), jv(a->load_after[1]),
		jv(a->load_after[2]));
}

static void json_row(FILE *f, const struct silent_res *s, unsigned k,
		     enum bpath_id p)
{
	const struct silent_cell *c = &s->c[k][p];
	const struct hupmon_liveness *l = &silent_cases[k].live;
	double bound =
		silent_cases[k].bound_ms ? silent_cases[k].bound_ms : NAN;

	fprintf(f,
		"    {\"scenario\": \"silent\", \"case\": \"%s\", \"path\": "
		"\"%s\", \"n\": %u,\n     \"liveness\": {\"keepalive_idle_s\": "
		"%u, \"keepalive_interval_s\": %u, \"keepalive_count\": %u, "
		"\"user_timeout_ms\": %u}, \"timed_from\": \"%s\",\n",
		silent_cases[k].key, bench_paths[p].name, c->conns,
		l->keepalive_idle_s, l->keepalive_interval_s,
		l->keepalive_count, l->user_timeout_ms,
		silent_cases[k].data ? "write" : "link_down");
	fprintf(f,
		"     \"expected_cause\": \"%s\", \"seen\": %u, \"missed\": "
		"%u, \"late\": %u, \"wrong_cause\": %u, \"duplicate\": %u, "
		"\"early\": %u,\n     ",
		hupmon_cause_name(silent_cases[k].bound_ms
					  ? HUPMON_CAUSE_TIMEOUT
					  : HUPMON_CAUSE_NONE),
		c->seen, c->missed, c->late, c->wrong, c->dup, c->early);
	jdist(f, "detected_ms", &c->ms, false);
	fprintf(f,
		",\n     \"bound_ms\": %s, \"margin_ms\": %s, "
		"\"max_over_bound\": %s, \"first_report_by\": {\"epoll\": "
		"%u, \"sweep\": %u}, \"verdict\": ",
		jv(bound), jv(SILENT_MARGIN_MS), jv(c->ms.max / bound),
		c->by_path[HUPMON_PATH_EPOLL], c->by_path[HUPMON_PATH_SWEEP]);
	jstr(f, c->verdict);
	fprintf(f, ", \"failed\": %s, \"late_missed\": %s}",
		c->failed ? "true" : "false", c->slow ? "true" : "false");
}

static void silent_json_rows(FILE *f, const struct results *res, bool *first)
{
	const struct silent_res *s = res->silent;

	for (unsigned k = 0; s && s->ran && k < SILENT_CASES; k++)
		for (int p = 0; p < BP_COUNT; p++) {
			if (!s->c[k][p].ran)
				continue;
			fputs(*first ? "" : ",\n", f);
			json_row(f, s, k, p);
			*first = false;
		}
}

static void silent_json_summary(FILE *f, const struct results *res)
{
	static const struct silent_res none;
	const struct silent_res *s = res->silent ? res->silent : &none;

	fprintf(f, "  \"silent\": {\"requested\": %s, \"ran\": %s, ",
		res->silent ? "true" : "false", s->ran ? "true" : "false");
	fputs("\"skipped\": ", f);
	if (res->silent && !s->ran)
		jstr(f, s->skipped);
	else
		fputs("null", f);
	fprintf(f,
		", \"conns_per_case\": %u, \"window_ms\": %llu, "
		"\"paths\": [",
		s->conns, (unsigned long long)(s->window_ns / 1000000));
	for (int p = 0, n = 0; p < BP_COUNT; p++) {
		if (!(scenarios[SC_SILENT].paths & PATH_BIT(p)))
			continue;
		fprintf(f,
			"%s{\"path\": \"%s\", \"errors\": %u, \"stray\": "
			"%llu, \"wall_ms\": %s}",
			n++ ? ", " : "", bench_paths[p].name, s->errors[p],
			s->stray[p], jv(s->ran ? s->wall_ms[p] : NAN));
	}
	fputs("]}", f);
}

static void soak_mode_json(FILE *f, const char *name,
			   const struct soak_tally *t)
{
	fprintf(f,
		"\n     {\"mode\": \"%s\", \"conns\": %llu, \"seen\": %llu, "
		"\"lost\": %llu, \"false\": %llu, \"duplicate\": %llu, "
		"\"wrong_cause\": %llu, \"records\": %llu, "
		"\"records_lost\": %llu, \"second_missed\": %llu, "
		"\"disagree\": %llu, ",
		name, t->conns, t->seen, t->lost, t->fals, t->dup, t->wrong,
		t->recs, t->rec_lost, t->rec_missed, t->rec_disagree);
	jdist(f, "latency_us", &t->us, true);
	fputc('}', f);
}

/* soak: its modes, its cycles and its identities (null: not run). */
static void soak_json(FILE *f, const struct soak_res *s)
{
	if (!s || !s->ran) {
		fputs(",\n  \"soak\": null", f);
		return;
	}
	fprintf(f,
		",\n  \"soak\": {\"n\": %zu, \"seconds\": %u, \"period_ms\": "
		"%u, \"tick_ms\": %u, \"pace_us\": %u, \"wall_s\": %s, "
		"\"replaced\": %llu, \"cycles\": %u, \"errors\": %llu, "
		"\"stray\": %llu, \"rss_max_kib\": %llu, \"failures\": %u,"
		" \"cycles_met\": %s,\n    \"modes\": [",
		s->n, s->secs, s->period_ms, s->tick_ms, s->pace_us,
		jv(s->wall_s), s->replaced, s->cycles, s->errors, s->stray,
		(unsigned long long)s->rss_max_kib, s->failures,
		s->cycles_ok ? "true" : "false");
	for (int m = 0; m <= SM_COUNT; m++) {
		soak_mode_json(f, m < SM_COUNT ? soak_modes[m].name : "all",
			       &s->t[m]);
		fputs(m < SM_COUNT ? "," : "],\n    \"cycle_ends\": [", f);
	}
	for (unsigned k = 0; k <= s->cycles && k <= SOAK_MAX_CYCLES; k++)
		fprintf(f,
			"%s{\"cycle\": %u, \"t_s\": %s, \"memory_bytes\": "
			"%llu, \"watched\": %llu, \"rss_kib\": %llu}",
			k ? ", " : "", k, jv(s->cyc[k].t_s),
			(unsigned long long)s->cyc[k].memory_bytes,
			(unsigned long long)s->cyc[k].watched,
			(unsigned long long)s->cyc[k].rss_kib);
	fputs("],\n    \"identities\": [", f);
	for (int i = 0; i < SOAK_IDENTS; i++) {
		fputs(i ? ", {\"what\": " : "{\"what\": ", f);
		jstr(f, s->id[i].what);
		fprintf(f, ", \"lhs\": %lld, \"rhs\": %lld}", s->id[i].lhs,
			s->id[i].rhs);
	}
	fprintf(f, "], \"memory_grew_in_cycle\": %u}", s->grew_at);
}

int write_json(const char *file, const struct bopts *o,
	       const struct results *res)
{
	FILE *f = fopen(file, "w");
	bool first = true;
	struct jw w;

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
	abandon_json_rows(f, res, &first);
	silent_json_rows(f, res, &first);
	fputs("\n  ],\n", f);
	abandon_json_summary(f, res);
	fputs(",\n", f);
	silent_json_summary(f, res);
	soak_json(f, res->soak);
	churn_json(f, res->churn);
	fputs(",\n  \"stall\": ", f);
	jw_init(&w, f, 1);
	stall_json(&w, res->stall);
	fputs(",\n  \"budget\": ", f);
	jw_init(&w, f, 1);
	budget_json(&w, res->budget);
	fputs(",\n  \"shards\": ", f);
	jw_init(&w, f, 1);
	shards_json(&w, res->shards);
	fputs(",\n  \"million\": ", f);
	jw_init(&w, f, 1);
	million_json(&w, res->million);
	verdict_json(f, &res->v);
	fputs("\n}\n", f);
	return fclose(f) ? -errno : 0;
}

/* Prometheus text of one monitor, so that the file is one valid
 * exposition (promtool check metrics): the one analyse() chose. */
int write_metrics(const char *file, enum hupmon_format fmt,
		  const struct results *res)
{
	static char buf[1 << 16];
	int sc = res->metrics_sc, p = res->metrics_p, len = 0;
	FILE *f = fopen(file, "w");

	if (!f)
		return -errno;
	if (p >= 0)
		len = hupmon_stats_format(&res->c[sc][p].stats, fmt, buf,
					  sizeof(buf));
	if (len >= (int)sizeof(buf))
		len = -ENOSPC;
	if (len > 0 && fmt != HUPMON_FORMAT_JSON) /* JSON has no comments */
		fprintf(f,
			"# hupmon-bench: scenario=%s path=%s N=%zu (the "
			"monitor of its last round)\n",
			scenarios[sc].name, bench_paths[p].name,
			res->c[sc][p].n);
	if (len > 0)
		fputs(buf, f);
	if (fclose(f) && len >= 0)
		len = -errno;
	return len < 0 ? len : 0;
}
