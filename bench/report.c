/*
 * report: the aligned tables on stdout, one per kind of scenario, and the
 * verdict of the visibility check.
 */
#include "bench.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define RV_OFF(field) offsetof(struct rv, field)

static double rv_at(const struct cell *c, unsigned round, size_t off)
{
	return *(const double *)(const void *)((const char *)&c->rv[round] +
					       off);
}

/* Median over rounds of a figure of p divided by the sum of the same figure
 * of the floors (PATH_BITs) in the same round. */
static double ratio_sum(const struct results *res, enum scen sc,
			enum bpath_id p, unsigned floors, size_t off)
{
	const struct cell *a = &res->c[sc][p];
	double x[BENCH_MAX_ROUNDS], y[BENCH_MAX_ROUNDS] = {0};
	unsigned rounds = a->rounds;

	if (!a->ran || (floors & PATH_BIT(p)))
		return NAN;
	for (int b = 0; b < BP_COUNT; b++)
		if (floors & PATH_BIT(b)) {
			if (!res->c[sc][b].ran)
				return NAN;
			if (res->c[sc][b].rounds < rounds)
				rounds = res->c[sc][b].rounds;
		}
	for (unsigned r = 0; r < rounds; r++) {
		x[r] = rv_at(a, r, off);
		for (int b = 0; b < BP_COUNT; b++)
			if (floors & PATH_BIT(b))
				y[r] += rv_at(&res->c[sc][b], r, off);
	}
	return ratio_median(x, y, sizeof(double), rounds);
}

/* Median over rounds of a figure of p divided by the same figure of base. */
double ratio_of(const struct results *res, enum scen sc, enum bpath_id p,
		enum bpath_id base, size_t off)
{
	return ratio_sum(res, sc, p, PATH_BIT(base), off);
}

/* CPU against the path's CPU floor (compare: raw-epoll + raw-tcpinfo). */
double ratio_cpu(const struct results *res, enum scen sc, enum bpath_id p,
		 size_t off)
{
	unsigned floors = bench_paths[p].cpu_floors;

	/* compare's two floors run rounds of other lengths (escalate waits
	 * for each path's own report), so their CPU only adds up to a fair
	 * floor over the fixed-length idle windows. */
	if (floors && !scenarios[sc].window)
		return NAN;
	return ratio_sum(res, sc, p,
			 floors ? floors : PATH_BIT(bench_paths[p].floor), off);
}

/* CPU per probe against the raw sweep of the same method. */
double ratio_probe(const struct results *res, enum scen sc, enum bpath_id p)
{
	return ratio_of(res, sc, p, bench_paths[p].probe_floor,
			RV_OFF(ns_probe));
}

/* p99 against the floor: median of per-round ratios when rounds hold 100
 * samples or more, else the ratio of the pooled p99s (with fewer samples a
 * round's p99 is its maximum). */
double ratio_p99(const struct results *res, enum scen sc, enum bpath_id p,
		 enum bpath_id b, unsigned s)
{
	/* vec_pct sorts the samples in place: harmless, hence the cast */
	struct cell *c = (struct cell *)&res->c[sc][p];

	if (b >= BP_COUNT || b == p || !res->c[sc][b].ran)
		return NAN;
	if (c->rounds && c->seen[s] / c->rounds >= 100)
		return ratio_of(res, sc, p, b,
				RV_OFF(p99) + s * sizeof(double));
	return cell_pct(c, s, 99) /
	       cell_pct((struct cell *)&res->c[sc][b], s, 99);
}

double cell_pct(struct cell *c, unsigned stage, double pct)
{
	return vec_pct(&c->lat[stage], pct) / 1e3;
}

double cell_ns_probe(const struct cell *c)
{
	return c->probes ? c->loop_cpu_ms * 1e6 / (double)c->probes : NAN;
}

static double rv_median(const struct cell *c, size_t off)
{
	double v[BENCH_MAX_ROUNDS];

	for (unsigned r = 0; r < c->rounds; r++)
		v[r] = *(const double *)(const void *)((const char *)&c->rv[r] +
						       off);
	return median(v, c->rounds);
}

/* The idle CPU (ms/s) of p's floor (of p itself for a floor). */
static double idle_floor_ms(struct results *res, enum bpath_id p)
{
	return rv_median(&res->c[SC_IDLE][bench_paths[p].floor],
			 RV_OFF(cpu_per_s));
}

static void num(FILE *f, int w, int prec, double x)
{
	if (isfinite(x))
		fprintf(f, " %*.*f", w, prec, x);
	else
		fprintf(f, " %*s", w, "-");
}

static void counts(FILE *f, const struct cell *c, unsigned s, bool all)
{
	fprintf(f, " %5llu %4llu %5llu", (unsigned long long)c->seen[s],
		(unsigned long long)c->miss[s],
		(unsigned long long)c->xmiss[s]);
	if (all)
		fprintf(f, " %5llu %3llu %5llu", (unsigned long long)c->fals,
			(unsigned long long)c->dup,
			(unsigned long long)c->wrong);
	else
		fprintf(f, " %5s %3s %5s", "", "", "");
}

bool cell_failed(const struct cell *c)
{
	return c->miss[0] || c->miss[1] || c->fals || c->dup || c->wrong ||
	       c->errors || c->cmp_disagree || c->cmp_norecord;
}

static void flags(FILE *f, const struct cell *c, unsigned s)
{
	if (s == 0 && c->errors)
		fprintf(f, "  FAIL (%llu errors)",
			(unsigned long long)c->errors);
	else if (s == 0 && (c->cmp_disagree || c->cmp_norecord))
		fprintf(f,
			"  FAIL (compare: %llu disagree, %llu without "
			"record)",
			(unsigned long long)c->cmp_disagree,
			(unsigned long long)c->cmp_norecord);
	else if (c->miss[s] || (s == 0 && (c->fals || c->dup || c->wrong)))
		fprintf(f, "  FAIL");
	if (c->xmiss[s])
		fprintf(f, "  (expected miss)");
	fputc('\n', f);
}

static void lat4(FILE *f, struct cell *c, unsigned s)
{
	num(f, 8, 1, cell_pct(c, s, 50));
	num(f, 8, 1, cell_pct(c, s, 90));
	num(f, 8, 1, cell_pct(c, s, 99));
	num(f, 8, 1, cell_pct(c, s, 100));
}

static const char *base_name(enum bpath_id p)
{
	return is_floor(p) ? "-" : bench_paths[bench_paths[p].floor].name;
}

static void closure_row(FILE *f, struct results *res, enum scen sc,
			enum bpath_id p, unsigned s)
{
	struct cell *c = &res->c[sc][p];
	enum bpath_id b = bench_paths[p].floor;

	fprintf(f, "%-13s %-14s %-11s", stage_name(sc, s), bench_paths[p].name,
		base_name(p));
	counts(f, c, s, s == 0);
	lat4(f, c, s);
	num(f, 6, 2, ratio_of(res, sc, p, b, RV_OFF(p50) + s * sizeof(double)));
	num(f, 6, 2, ratio_p99(res, sc, p, b, s));
	if (s == 0) {
		num(f, 7, 1, c->loop_cpu_ms);
		num(f, 6, 2, ratio_cpu(res, sc, p, RV_OFF(loop_ms)));
		num(f, 8, 0, cell_ns_probe(c));
		num(f, 6, 2, ratio_probe(res, sc, p));
	} else {
		fprintf(f, " %7s %6s %8s %6s", "", "", "", "");
	}
	flags(f, c, s);
}

static void closures_table(FILE *f, struct results *res)
{
	fprintf(f, "\n== closures: µs from the client's act to the callback, "
		   "all rounds pooled; x/fl = median over rounds of "
		   "(path / its floor) ==\n");
	fprintf(f,
		"%-13s %-14s %-11s %5s %4s %5s %5s %3s %5s %8s %8s %8s "
		"%8s %6s %6s %7s %6s %8s %6s\n",
		"scenario", "path", "floor", "seen", "miss", "xmiss", "false",
		"dup", "wrong", "p50", "p90", "p99", "max", "p50/fl", "p99/fl",
		"cpu-ms", "cpu/fl", "ns/probe", "pr/fl");
	for (int sc = 0; sc < SC_COUNT; sc++)
		for (unsigned s = 0; s < BENCH_STAGES; s++) {
			if (scenarios[sc].table != TB_CLOSURES ||
			    !scenarios[sc].expect[VIS_EPOLL].cause[s])
				continue;
			for (int p = 0; p < BP_COUNT; p++)
				if (res->c[sc][p].ran)
					closure_row(f, res, sc, p, s);
		}
}

static void burst_table(FILE *f, struct results *res)
{
	fprintf(f, "\n== burst: all N closed back to back (FIN); span = first "
		   "close to last callback ==\n");
	fprintf(f,
		"%-14s %-11s %6s %5s %4s %5s %5s %3s %5s %8s %8s %8s %8s "
		"%8s %7s %7s %6s\n",
		"path", "floor", "N", "seen", "miss", "xmiss", "false", "dup",
		"wrong", "p50", "p90", "p99", "max", "span-ms", "span/fl",
		"cpu-ms", "cpu/fl");
	for (int p = 0; p < BP_COUNT; p++) {
		struct cell *c = &res->c[SC_BURST][p];
		double span[BENCH_MAX_ROUNDS];

		if (!c->ran)
			continue;
		for (unsigned r = 0; r < c->rounds; r++)
			span[r] = c->rv[r].span_ms;
		fprintf(f, "%-14s %-11s %6zu", bench_paths[p].name,
			base_name(p), c->n);
		counts(f, c, 0, true);
		lat4(f, c, 0);
		num(f, 8, 2, median(span, c->rounds));
		num(f, 7, 2,
		    ratio_of(res, SC_BURST, p, bench_paths[p].floor,
			     RV_OFF(span_ms)));
		num(f, 7, 1, c->loop_cpu_ms);
		num(f, 6, 2, ratio_cpu(res, SC_BURST, p, RV_OFF(loop_ms)));
		flags(f, c, 0);
	}
}

static void idle_table(FILE *f, struct results *res)
{
	fprintf(f, "\n== idle: N live sockets, nothing happens (medians over "
		   "rounds, per second of idle) ==\n");
	fprintf(f, "%-14s %-11s %6s %9s %7s %10s %10s %8s %6s %7s\n", "path",
		"floor", "N", "cpu-ms/s", "cpu/fl", "wakeups/s", "probes/s",
		"ns/probe", "pr/fl", "wall-s");
	for (int p = 0; p < BP_COUNT; p++) {
		struct cell *c = &res->c[SC_IDLE][p];

		if (!c->ran)
			continue;
		fprintf(f, "%-14s %-11s %6zu", bench_paths[p].name,
			base_name(p), c->n);
		num(f, 9, 2, rv_median(c, RV_OFF(cpu_per_s)));
		/* Both sleeping loops cost ~0.5 ms/s: no ratio worth printing
		 * below 1 ms/s of floor. */
		num(f, 7, 2,
		    idle_floor_ms(res, p) < 1.0
			    ? NAN
			    : ratio_cpu(res, SC_IDLE, p, RV_OFF(cpu_per_s)));
		num(f, 10, 1, rv_median(c, RV_OFF(wake_s)));
		num(f, 10, 0, (double)c->probes / (c->wall_ms / 1e3));
		num(f, 8, 0, cell_ns_probe(c));
		num(f, 6, 2, ratio_probe(res, SC_IDLE, p));
		num(f, 7, 2, c->wall_ms / 1e3);
		flags(f, c, 0);
	}
}

static void interference_table(FILE *f, struct results *res)
{
	fprintf(f, "\n== interference: epoll-path latency (µs to the epoll "
		   "path's detected_ns) with a sweep walking all N, vs "
		   "without (x/vs: ratio to the row named in vs) ==\n");
	fprintf(f,
		"%-14s %-11s %6s %5s %4s %5s %3s %5s %8s %8s %8s %8s %6s "
		"%6s %10s %8s %8s %7s\n",
		"path", "vs", "N", "seen", "miss", "false", "dup", "wrong",
		"p50", "p90", "p99", "max", "p50/vs", "p99/vs", "probes/s",
		"overruns", "lap-ms", "cpu-ms");
	for (int p = 0; p < BP_COUNT; p++) {
		struct cell *c = &res->c[SC_INTERF][p];
		enum bpath_id b = bench_paths[p].floor;

		if (!c->ran)
			continue;
		fprintf(f, "%-14s %-11s %6zu %5llu %4llu %5llu %3llu %5llu",
			bench_paths[p].name, base_name(p), c->n,
			(unsigned long long)c->seen[0],
			(unsigned long long)c->miss[0],
			(unsigned long long)c->fals, (unsigned long long)c->dup,
			(unsigned long long)c->wrong);
		lat4(f, c, 0);
		num(f, 6, 2, ratio_of(res, SC_INTERF, p, b, RV_OFF(p50)));
		num(f, 6, 2, ratio_p99(res, SC_INTERF, p, b, 0));
		num(f, 10, 0, (double)c->probes / (c->wall_ms / 1e3));
		fprintf(f, " %8llu", (unsigned long long)c->overruns);
		num(f, 8, 2, (double)c->lap_worst_ns / 1e6);
		num(f, 7, 1, c->cpu_ms);
		flags(f, c, 0);
	}
}

static void scale_table(FILE *f, struct results *res)
{
	fprintf(f, "\n== scale: N up to the fd ceiling, client ends in a "
		   "child process; w/fl: / raw-epoll (epoll_ctl ADD/DEL); "
		   "stats-us: median of 1001 hupmon_stats + Prometheus "
		   "format calls at N ==\n");
	fprintf(f,
		"%-14s %6s %8s %6s %8s %6s %7s %5s %4s %5s %3s %5s %8s "
		"%8s %8s %8s %6s %8s %8s %7s %8s\n",
		"path", "N", "watch-us", "w/fl", "unw-us", "uw/fl", "B/sock",
		"seen", "miss", "false", "dup", "wrong", "p50", "p90", "p99",
		"max", "p50/fl", "lap-ms", "overruns", "cpu-ms", "stats-us");
	for (int p = 0; p < BP_COUNT; p++) {
		struct cell *c = &res->c[SC_SCALE][p];
		bool raw = is_floor(p);

		if (!c->ran)
			continue;
		fprintf(f, "%-14s %6zu", bench_paths[p].name, c->n);
		num(f, 8, 2, c->rv[0].watch_ns / 1e3);
		num(f, 6, 2,
		    raw ? NAN
			: ratio_of(res, SC_SCALE, p, BP_RAW_EPOLL,
				   RV_OFF(watch_ns)));
		num(f, 8, 2, c->rv[0].unwatch_ns / 1e3);
		num(f, 6, 2,
		    raw ? NAN
			: ratio_of(res, SC_SCALE, p, BP_RAW_EPOLL,
				   RV_OFF(unwatch_ns)));
		num(f, 7, 0, c->have_stats ? c->bytes_per_sock : NAN);
		fprintf(f, " %5llu %4llu %5llu %3llu %5llu",
			(unsigned long long)c->seen[0],
			(unsigned long long)c->miss[0],
			(unsigned long long)c->fals, (unsigned long long)c->dup,
			(unsigned long long)c->wrong);
		lat4(f, c, 0);
		num(f, 6, 2,
		    ratio_of(res, SC_SCALE, p, bench_paths[p].floor,
			     RV_OFF(p50)));
		num(f, 8, 2, (double)c->lap_worst_ns / 1e6);
		fprintf(f, " %8llu", (unsigned long long)c->overruns);
		num(f, 7, 1, c->cpu_ms);
		num(f, 8, 2, c->have_stats ? c->stats_ns / 1e3 : NAN);
		flags(f, c, 0);
	}
}

static void compare_table(FILE *f, struct results *res)
{
	fprintf(f, "\n== compare mode: who saw each hangup first, and how "
		   "much later the other path did (µs) ==\n");
	fprintf(f, "%-13s %-14s %8s %11s %11s %10s %9s %9s %9s\n", "scenario",
		"path", "records", "epoll-first", "sweep-first", "2nd-missed",
		"disagree", "lag-p50", "lag-p99");
	for (int sc = 0; sc < SC_COUNT; sc++)
		for (int p = 0; p < BP_COUNT; p++) {
			struct cell *c = &res->c[sc][p];
			uint64_t ep = 0, sw = 0, mi = 0;

			if (!c->ran || !bench_paths[p].compare)
				continue;
			for (int k = 0; k <= HUPMON_CAUSE_MAX; k++) {
				ep += c->cmp_first[HUPMON_PATH_EPOLL][k];
				sw += c->cmp_first[HUPMON_PATH_SWEEP][k];
				mi += c->cmp_missed[k];
			}
			if (!ep && !sw && !mi)
				continue;
			fprintf(f,
				"%-13s %-14s %8llu %11llu %11llu %10llu %9llu",
				scenarios[sc].name, bench_paths[p].name,
				(unsigned long long)(ep + sw),
				(unsigned long long)ep, (unsigned long long)sw,
				(unsigned long long)mi,
				(unsigned long long)c->cmp_disagree);
			num(f, 9, 1, vec_pct(&c->cmp_lag, 50) / 1e3);
			num(f, 9, 1, vec_pct(&c->cmp_lag, 99) / 1e3);
			fputc('\n', f);
		}
}

static bool any_ran(const struct results *res, enum scen sc)
{
	for (int p = 0; p < BP_COUNT; p++)
		if (res->c[sc][p].ran)
			return true;
	return false;
}

static void verdict(FILE *f, struct results *res)
{
	res->failures = 0;
	for (int sc = 0; sc < SC_COUNT; sc++)
		for (int p = 0; p < BP_COUNT; p++) {
			const struct cell *c = &res->c[sc][p];

			if (!c->ran && !c->errors)
				continue;
			if (!cell_failed(c))
				continue;
			res->failures++;
			fprintf(f,
				"FAIL %s/%s: %llu missed, %llu false, %llu "
				"duplicate, %llu wrong-cause, %llu errors\n",
				scenarios[sc].name, bench_paths[p].name,
				(unsigned long long)(c->miss[0] + c->miss[1]),
				(unsigned long long)c->fals,
				(unsigned long long)c->dup,
				(unsigned long long)c->wrong,
				(unsigned long long)c->errors);
		}
	res->failures += silent_verdict(f, res);
	fprintf(f, "\nvisibility check: %s\n",
		res->failures ? "FAIL (see FAIL lines; exit status 1)"
			      : "PASS (every path saw what it should, no "
				"false, duplicate or wrong-cause report)");
}

void report_tables(FILE *f, const struct bopts *o, struct results *res)
{
	bool closures = false;

	(void)o;
	for (int sc = 0; sc < SC_COUNT; sc++)
		closures |=
			scenarios[sc].table == TB_CLOSURES && any_ran(res, sc);
	if (closures)
		closures_table(f, res);
	if (any_ran(res, SC_BURST))
		burst_table(f, res);
	if (any_ran(res, SC_IDLE))
		idle_table(f, res);
	if (any_ran(res, SC_INTERF))
		interference_table(f, res);
	if (any_ran(res, SC_SCALE))
		scale_table(f, res);
	silent_table(f, res);
	for (int i = 0; i < SC_COUNT * BP_COUNT; i++)
		if (res->c[i / BP_COUNT][i % BP_COUNT].ran &&
		    bench_paths[i % BP_COUNT].compare) {
			compare_table(f, res);
			break;
		}
	fputc('\n', f);
	verdict(f, res);
}

void report_header(FILE *f, const struct bopts *o)
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
		    (!bench_paths[p].option && (shown & PATH_BIT(p))))
			fprintf(f, "\n  %-14s %s", bench_paths[p].name,
				bench_paths[p].what);
	fprintf(f, "\n  (each chosen path runs beside its floor)\n");
	fflush(f);
}
