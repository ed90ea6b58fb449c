/*
 * format: names of the public enums and the three renderings of a stats
 * snapshot: text for a person, JSON, and the Prometheus text exposition
 * format 0.0.4. Pure functions: no allocation, no lock, no syscall, so any
 * thread (or a callback) may format.
 *
 * Every rendering emits every field and every label combination, zero or
 * not, so that scrapers and parsers see a stable set of series and keys.
 * Durations are nanoseconds in the snapshot; JSON and Prometheus print them
 * as seconds converted exactly in integers (a double would round sums above
 * 2^53 ns, about 104 days), the text rendering in human units.
 *
 * JSON schema. One object on one line, followed by a newline. Keys are only
 * ever added, never renamed or removed. <causes> is an object with the keys
 * peer_shutdown, hangup, reset, timeout, error; <paths> is {"epoll": <causes>,
 * "sweep": <causes>} where the path is the one named by the key below.
 * Integers are exact uint64 counts; *_seconds are non-negative decimals.
 *
 *   watched, swept, memory_bytes          gauges, as struct hupmon_stats
 *   registry: {
 *     watches, unwatches, unwatch_rejected, retired,
 *     watch_rejected: {ebadf, enotsock, einval, eexist, enomem, other}
 *   }
 *   hangups: <paths>                      reports by reporting path x cause
 *   escalations, callbacks
 *   epoll: {wakeups, events, stale_events, ignored_events}
 *   sweep: {
 *     ticks, probes, overruns, piled_up, laps,
 *     lap_last_seconds, lap_worst_seconds, slice_worst_seconds,
 *     tick_seconds                        0 while the timer is disarmed
 *     gap_worst_seconds, gap_bound_seconds  (bound: 0 while disarmed)
 *   }
 *   compare: {
 *     first: <paths>, second: <paths>, missed: <paths>,
 *     cut_short: <paths>                  keyed by the first path
 *   }
 *   histograms: {
 *     callback_duration: <hist>, compare_lag: <hist>
 *   }
 *   <hist> = {count, sum_seconds, buckets: [{le_seconds, count}, ...]}
 *     HUPMON_HIST_BUCKETS entries in bucket order, counts per bucket (not
 *     cumulative); le_seconds is the bucket's upper bound, null for the last
 *     (unbounded) one.
 *
 * Prometheus families, all prefixed hupmon_ (see the tables below for the
 * full list): gauges for sockets, memory and sweep timings, *_total counters,
 * two *_seconds histograms, labels path, cause and error.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "hupmon.h"

const char *hupmon_cause_name(enum hupmon_cause cause)
{
	switch (cause) {
	case HUPMON_PEER_SHUTDOWN:
		return "peer_shutdown";
	case HUPMON_HANGUP:
		return "hangup";
	case HUPMON_RESET:
		return "reset";
	case HUPMON_TIMEOUT:
		return "timeout";
	case HUPMON_ERROR:
		return "error";
	default:
		return "none";
	}
}

const char *hupmon_path_name(enum hupmon_path path)
{
	switch (path) {
	case HUPMON_PATH_EPOLL:
		return "epoll";
	case HUPMON_PATH_SWEEP:
		return "sweep";
	default:
		return "none";
	}
}

const char *hupmon_reject_name(unsigned reject)
{
	static const char *const names[HUPMON_REJECT_MAX] = {
		[HUPMON_REJECT_EBADF] = "ebadf",
		[HUPMON_REJECT_ENOTSOCK] = "enotsock",
		[HUPMON_REJECT_EINVAL] = "einval",
		[HUPMON_REJECT_EEXIST] = "eexist",
		[HUPMON_REJECT_ENOMEM] = "enomem",
		[HUPMON_REJECT_OTHER] = "other",
	};

	return reject < HUPMON_REJECT_MAX ? names[reject] : "unknown";
}

/*
 * The appender: writes what fits into buf[0..len) and keeps counting past
 * the end, so one pass yields both the truncated output and the length the
 * whole output needs.
 */
struct out {
	char *buf;
	size_t len;
	size_t pos; /* length of the whole output so far; may exceed len */
	bool failed;
};

static void __attribute__((format(printf, 2, 3)))
out_printf(struct out *o, const char *fmt, ...)
{
	char *dst = NULL;
	size_t room = 0;
	va_list ap;
	int n;

	if (o->pos < o->len) {
		dst = o->buf + o->pos;
		room = o->len - o->pos;
	}
	va_start(ap, fmt);
	n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->failed = true;
		return;
	}
	o->pos += (size_t)n;
}

/* A short string returned by value: C11 keeps the temporary alive until the
 * end of the full expression, so num(...).s can go straight to a printf. */
struct num {
	char s[32];
};

/* ns as exact decimal seconds, without trailing zeros: "0", "1.5",
 * "0.000001024", at most "18446744073.709551615". */
static struct num seconds(uint64_t ns)
{
	struct num r;
	uint64_t frac = ns % 1000000000u;
	int n;

	if (!frac) {
		snprintf(r.s, sizeof(r.s), "%" PRIu64, ns / 1000000000u);
		return r;
	}
	n = snprintf(r.s, sizeof(r.s), "%" PRIu64 ".%09" PRIu64,
		     ns / 1000000000u, frac);
	while (n > 0 && r.s[n - 1] == '0')
		r.s[--n] = '\0';
	return r;
}

/* ns for a person: "950 ns", "1.02 us", "12.35 ms", "1099.51 s". The unit
 * switches where %.2f would otherwise round up to "1000.00". */
static struct num human_ns(uint64_t ns)
{
	struct num r;

	if (ns < 1000)
		snprintf(r.s, sizeof(r.s), "%" PRIu64 " ns", ns);
	else if (ns < 999995)
		snprintf(r.s, sizeof(r.s), "%.2f us", (double)ns / 1e3);
	else if (ns < 999995000)
		snprintf(r.s, sizeof(r.s), "%.2f ms", (double)ns / 1e6);
	else
		snprintf(r.s, sizeof(r.s), "%.2f s", (double)ns / 1e9);
	return r;
}

static struct num human_bytes(uint64_t b)
{
	static const char *const unit[] = {"KiB", "MiB", "GiB",
					   "TiB", "PiB", "EiB"};
	struct num r;
	double v = (double)b / 1024;
	unsigned i = 0;

	while (v >= 1024 && i + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		i++;
	}
	snprintf(r.s, sizeof(r.s), "%.2f %s", v, unit[i]);
	return r;
}

/*
 * The scalar fields, one table per section, shared by the three renderings
 * so a field cannot be shown under one name and exported under another.
 */
enum unit {
	UNIT_COUNT,
	UNIT_BYTES,
	UNIT_NS,
	UNIT_NS_OR_OFF, /* a duration where 0 means "disarmed" */
};

struct scalar {
	const char *key;   /* JSON key within its section */
	const char *label; /* text label */
	const char *prom;  /* Prometheus family, after "hupmon_" */
	const char *help;  /* Prometheus HELP */
	size_t off;	   /* offsetof(struct hupmon_stats, field) */
	bool gauge;
	enum unit unit;
};

#define FIELD(f) offsetof(struct hupmon_stats, f)

static const struct scalar sockets[] = {
	{"watched", "watched", "watched_sockets", "Sockets watched now.",
	 FIELD(watched), true, UNIT_COUNT},
	{"swept", "under the sweep", "swept_sockets",
	 "Watched sockets under the sweep path now.", FIELD(swept), true,
	 UNIT_COUNT},
	{"memory_bytes", "memory bytes", "memory_bytes",
	 "Heap memory the library holds now.", FIELD(memory_bytes), true,
	 UNIT_BYTES},
};

static const struct scalar registry[] = {
	{"watches", "watches", "watches_total",
	 "Successful hupmon_watch calls.", FIELD(watches), false, UNIT_COUNT},
	{"unwatches", "unwatches", "unwatches_total",
	 "Successful hupmon_unwatch calls.", FIELD(unwatches), false,
	 UNIT_COUNT},
	{"unwatch_rejected", "unwatch rejected", "unwatch_rejected_total",
	 "Refused hupmon_unwatch calls (unknown or stale id).",
	 FIELD(unwatch_rejected), false, UNIT_COUNT},
	{"retired", "retired", "retired_total",
	 "Watches retired because their fd no longer holds the watched socket.",
	 FIELD(retired), false, UNIT_COUNT},
};

static const struct scalar reports[] = {
	{"escalations", "escalations", "escalations_total",
	 "Hangup reports that raised an earlier cause.", FIELD(escalations),
	 false, UNIT_COUNT},
	{"callbacks", "callbacks", "callbacks_total",
	 "Calls of on_hangup and on_compare.", FIELD(callbacks), false,
	 UNIT_COUNT},
};

static const struct scalar epoll[] = {
	{"wakeups", "wakeups", "epoll_wakeups_total",
	 "epoll_wait calls that returned events.", FIELD(epoll_wakeups), false,
	 UNIT_COUNT},
	{"events", "events", "epoll_events_total",
	 "Socket events received from epoll.", FIELD(epoll_events), false,
	 UNIT_COUNT},
	{"stale_events", "stale events", "epoll_stale_events_total",
	 "Events dropped because their socket was unwatched.",
	 FIELD(stale_events), false, UNIT_COUNT},
	{"ignored_events", "ignored events", "epoll_ignored_events_total",
	 "Events that classified as no hangup.", FIELD(ignored_events), false,
	 UNIT_COUNT},
};

static const struct scalar sweep[] = {
	{"ticks", "ticks", "sweep_ticks_total",
	 "Sweep timer expirations handled.", FIELD(sweep_ticks), false,
	 UNIT_COUNT},
	{"probes", "probes", "sweep_probes_total",
	 "Sockets probed by the sweep.", FIELD(sweep_probes), false,
	 UNIT_COUNT},
	{"overruns", "overruns", "sweep_overruns_total",
	 "Sweep slices that took longer than half a tick.",
	 FIELD(sweep_overruns), false, UNIT_COUNT},
	{"piled_up", "piled up", "sweep_piled_up_total",
	 "Sweep timer expirations skipped because they piled up.",
	 FIELD(sweep_piled_up), false, UNIT_COUNT},
	{"laps", "laps", "sweep_laps_total", "Sweep laps completed.",
	 FIELD(sweep_laps), false, UNIT_COUNT},
	{"lap_last_seconds", "last lap", "sweep_lap_last_seconds",
	 "Duration of the last sweep lap.", FIELD(sweep_lap_last_ns), true,
	 UNIT_NS},
	{"lap_worst_seconds", "worst lap", "sweep_lap_worst_seconds",
	 "Duration of the longest sweep lap.", FIELD(sweep_lap_worst_ns), true,
	 UNIT_NS},
	{"slice_worst_seconds", "worst slice", "sweep_slice_worst_seconds",
	 "Duration of the longest sweep slice.", FIELD(sweep_slice_worst_ns),
	 true, UNIT_NS},
	{"tick_seconds", "tick interval", "sweep_tick_seconds",
	 "Current sweep tick interval, 0 while disarmed.", FIELD(sweep_tick_ns),
	 true, UNIT_NS_OR_OFF},
	{"gap_worst_seconds", "worst probe gap", "sweep_gap_worst_seconds",
	 "Longest time a socket waited for a sweep probe.",
	 FIELD(sweep_gap_worst_ns), true, UNIT_NS},
	{"gap_bound_seconds", "probe-gap bound", "sweep_gap_bound_seconds",
	 "Probe-gap bound now: sweep period plus tick interval, 0 while "
	 "disarmed.",
	 FIELD(sweep_gap_bound_ns), true, UNIT_NS_OR_OFF},
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t scalar_value(const struct hupmon_stats *s,
			     const struct scalar *f)
{
	return *(const uint64_t *)((const char *)s + f->off);
}

/* Tables by path x cause (hangups and compare). */
typedef uint64_t by_path_cause[3][HUPMON_CAUSE_MAX + 1];

struct matrix {
	const char *key;   /* JSON key ("hangups" or inside "compare") */
	const char *label; /* text column header */
	const char *prom;
	const char *help;
	size_t off;
};

static const struct matrix hangups = {
	"hangups", "hangups", "hangups_total",
	"Hangup reports by the path that reported them and cause.",
	FIELD(hangups)};

static const struct matrix compare[] = {
	{"first", "first", "compare_first_total",
	 "Compare mode: hangups the path saw first.", FIELD(cmp_first)},
	{"second", "second", "compare_second_total",
	 "Compare mode: hangups the path saw second.", FIELD(cmp_second)},
	{"missed", "missed", "compare_missed_total",
	 "Compare mode: hangups the path missed within the deadline.",
	 FIELD(cmp_missed)},
	{"cut_short", "cut short", "compare_cut_short_total",
	 "Compare mode: hangups seen first by the path and unwatched before "
	 "the other path had its turn.",
	 FIELD(cmp_cut_short)},
};

static const uint64_t *matrix_row(const struct hupmon_stats *s,
				  const struct matrix *m, unsigned path)
{
	const by_path_cause *t =
		(const by_path_cause *)((const char *)s + m->off);

	return (*t)[path];
}

struct hist_desc {
	const char *key;
	const char *label;
	const char *prom;
	const char *help;
	size_t off;
};

static const struct hist_desc hists[] = {
	{"callback_duration", "callback duration", "callback_duration_seconds",
	 "Time spent in on_hangup and on_compare.", FIELD(callback_duration)},
	{"compare_lag", "compare lag", "compare_lag_seconds",
	 "Compare mode: how much later the second path saw a hangup.",
	 FIELD(cmp_lag)},
};

static const struct hupmon_hist *hist_of(const struct hupmon_stats *s,
					 const struct hist_desc *h)
{
	return (const struct hupmon_hist *)((const char *)s + h->off);
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* The total of the buckets, which for a consistent snapshot is count. The
 * renderings that need counts to add up (Prometheus, percentiles) use it. */
static uint64_t hist_total(const struct hupmon_hist *h)
{
	uint64_t t = 0;

	for (unsigned i = 0; i < HUPMON_HIST_BUCKETS; i++)
		t = add_sat(t, h->bucket[i]);
	return t;
}

/* ---- text ------------------------------------------------------------ */

#define TEXT_LABEL  26 /* label column, after a two-space indent */
#define TEXT_VALUE  21 /* value column: fits UINT64_MAX */
#define TEXT_COLUMN 10 /* least width of a table column */

static void text_str(struct out *o, const char *label, const char *value)
{
	out_printf(o, "  %-*s %*s\n", TEXT_LABEL, label, TEXT_VALUE, value);
}

static void text_u64(struct out *o, const char *label, uint64_t v)
{
	out_printf(o, "  %-*s %*" PRIu64 "\n", TEXT_LABEL, label, TEXT_VALUE,
		   v);
}

static void text_scalars(struct out *o, const struct hupmon_stats *s,
			 const struct scalar *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v = scalar_value(s, &f[i]);

		switch (f[i].unit) {
		case UNIT_COUNT:
			text_u64(o, f[i].label, v);
			break;
		case UNIT_BYTES:
			/* Exact, plus a rounded figure once it helps. */
			out_printf(o, "  %-*s %*" PRIu64, TEXT_LABEL,
				   f[i].label, TEXT_VALUE, v);
			if (v >= 1024)
				out_printf(o, " (%s)", human_bytes(v).s);
			out_printf(o, "\n");
			break;
		case UNIT_NS:
			text_str(o, f[i].label, human_ns(v).s);
			break;
		case UNIT_NS_OR_OFF:
			text_str(o, f[i].label, v ? human_ns(v).s : "disarmed");
			break;
		}
	}
}

static int digits(uint64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* A cause x column table. Columns widen to their widest entry so any count
 * stays aligned; with small counts two columns end where the value column
 * of the scalars does. */
static void text_cause_table(struct out *o, const char *title,
			     const char *const *head,
			     const uint64_t *const *col, unsigned ncol)
{
	int w = TEXT_COLUMN;

	for (unsigned j = 0; j < ncol; j++) {
		int hw = (int)strlen(head[j]);

		if (hw > w)
			w = hw;
		for (unsigned c = 1; c <= HUPMON_CAUSE_MAX; c++)
			if (digits(col[j][c]) > w)
				w = digits(col[j][c]);
	}
	out_printf(o, "%-*s", TEXT_LABEL + 2, title);
	for (unsigned j = 0; j < ncol; j++)
		out_printf(o, " %*s", w, head[j]);
	out_printf(o, "\n");
	for (unsigned c = 1; c <= HUPMON_CAUSE_MAX; c++) {
		out_printf(o, "  %-*s", TEXT_LABEL,
			   hupmon_cause_name((enum hupmon_cause)c));
		for (unsigned j = 0; j < ncol; j++)
			out_printf(o, " %*" PRIu64, w, col[j][c]);
		out_printf(o, "\n");
	}
}

/* Upper bound of the bucket holding the pct-th percentile of total values:
 * the smallest bound that at least that share of the values is within. */
static unsigned percentile_bucket(const struct hupmon_hist *h, uint64_t total,
				  unsigned pct)
{
	/* ceil(total * pct / 100) without overflowing. */
	uint64_t rank = total / 100 * pct + ((total % 100) * pct + 99) / 100;
	uint64_t cum = 0;
	unsigned i;

	for (i = 0; i < HUPMON_HIST_BUCKETS - 1; i++) {
		cum = add_sat(cum, h->bucket[i]);
		if (cum >= rank)
			break;
	}
	return i;
}

static void text_bound(struct out *o, const char *label, unsigned i)
{
	char v[48];

	if (i < HUPMON_HIST_BUCKETS - 1)
		snprintf(v, sizeof(v), "<= %s",
			 human_ns(hupmon_hist_bound_ns(i)).s);
	else
		snprintf(v, sizeof(v), "> %s",
			 human_ns(hupmon_hist_bound_ns(i - 1)).s);
	text_str(o, label, v);
}

static void text_hist(struct out *o, const struct hist_desc *d,
		      const struct hupmon_hist *h)
{
	uint64_t total = hist_total(h);

	out_printf(o, "%s\n", d->label);
	text_u64(o, "count", h->count);
	if (!h->count && !total)
		return;
	text_str(o, "sum", human_ns(h->sum_ns).s);
	if (h->count)
		text_str(o, "mean", human_ns(h->sum_ns / h->count).s);
	if (total) {
		text_bound(o, "p50", percentile_bucket(h, total, 50));
		text_bound(o, "p99", percentile_bucket(h, total, 99));
	}
	for (unsigned i = 0; i < HUPMON_HIST_BUCKETS; i++) {
		char label[48];

		if (!h->bucket[i])
			continue;
		if (i < HUPMON_HIST_BUCKETS - 1)
			snprintf(label, sizeof(label), "<= %s",
				 human_ns(hupmon_hist_bound_ns(i)).s);
		else
			snprintf(label, sizeof(label), "> %s",
				 human_ns(hupmon_hist_bound_ns(i - 1)).s);
		text_u64(o, label, h->bucket[i]);
	}
}

static void format_text(struct out *o, const struct hupmon_stats *s)
{
	const char *head[ARRAY_SIZE(compare)];
	const uint64_t *col[ARRAY_SIZE(compare)];

	out_printf(o, "sockets\n");
	text_scalars(o, s, sockets, ARRAY_SIZE(sockets));

	out_printf(o, "registry\n");
	text_scalars(o, s, registry, ARRAY_SIZE(registry));
	for (unsigned r = 0; r < HUPMON_REJECT_MAX; r++) {
		char label[48];

		snprintf(label, sizeof(label), "watch rejected %s",
			 hupmon_reject_name(r));
		text_u64(o, label, s->watch_rejected[r]);
	}

	for (unsigned p = HUPMON_PATH_EPOLL; p <= HUPMON_PATH_SWEEP; p++) {
		head[p - 1] = hupmon_path_name((enum hupmon_path)p);
		col[p - 1] = matrix_row(s, &hangups, p);
	}
	out_printf(o, "reports\n");
	text_scalars(o, s, reports, ARRAY_SIZE(reports));
	text_cause_table(o, "hangups", head, col, 2);

	out_printf(o, "epoll\n");
	text_scalars(o, s, epoll, ARRAY_SIZE(epoll));

	out_printf(o, "sweep\n");
	text_scalars(o, s, sweep, ARRAY_SIZE(sweep));

	for (unsigned p = HUPMON_PATH_EPOLL; p <= HUPMON_PATH_SWEEP; p++) {
		char title[48];

		for (unsigned j = 0; j < ARRAY_SIZE(compare); j++) {
			head[j] = compare[j].label;
			col[j] = matrix_row(s, &compare[j], p);
		}
		snprintf(title, sizeof(title), "compare, %s path",
			 hupmon_path_name((enum hupmon_path)p));
		text_cause_table(o, title, head, col, ARRAY_SIZE(compare));
	}

	for (unsigned i = 0; i < ARRAY_SIZE(hists); i++)
		text_hist(o, &hists[i], hist_of(s, &hists[i]));
}

/* ---- JSON ------------------------------------------------------------ */

/* Starts member *n of the current object; keys are our own constants and
 * need no escaping. */
static void json_key(struct out *o, unsigned *n, const char *key)
{
	out_printf(o, "%s\"%s\":", (*n)++ ? "," : "", key);
}

static void json_scalars(struct out *o, unsigned *n,
			 const struct hupmon_stats *s, const struct scalar *f,
			 size_t cnt)
{
	for (size_t i = 0; i < cnt; i++) {
		uint64_t v = scalar_value(s, &f[i]);

		json_key(o, n, f[i].key);
		if (f[i].unit == UNIT_NS || f[i].unit == UNIT_NS_OR_OFF)
			out_printf(o, "%s", seconds(v).s);
		else
			out_printf(o, "%" PRIu64, v);
	}
}

/* {"epoll":{"peer_shutdown":..,...},"sweep":{...}} */
static void json_paths(struct out *o, const struct hupmon_stats *s,
		       const struct matrix *m)
{
	unsigned np = 0;

	out_printf(o, "{");
	for (unsigned p = HUPMON_PATH_EPOLL; p <= HUPMON_PATH_SWEEP; p++) {
		const uint64_t *row = matrix_row(s, m, p);
		unsigned nc = 0;

		json_key(o, &np, hupmon_path_name((enum hupmon_path)p));
		out_printf(o, "{");
		for (unsigned c = 1; c <= HUPMON_CAUSE_MAX; c++) {
			json_key(o, &nc,
				 hupmon_cause_name((enum hupmon_cause)c));
			out_printf(o, "%" PRIu64, row[c]);
		}
		out_printf(o, "}");
	}
	out_printf(o, "}");
}

static void json_hist(struct out *o, const struct hupmon_hist *h)
{
	unsigned n = 0;

	out_printf(o, "{");
	json_key(o, &n, "count");
	out_printf(o, "%" PRIu64, h->count);
	json_key(o, &n, "sum_seconds");
	out_printf(o, "%s", seconds(h->sum_ns).s);
	json_key(o, &n, "buckets");
	out_printf(o, "[");
	for (unsigned i = 0; i < HUPMON_HIST_BUCKETS; i++) {
		if (i < HUPMON_HIST_BUCKETS - 1)
			out_printf(o, "%s{\"le_seconds\":%s,", i ? "," : "",
				   seconds(hupmon_hist_bound_ns(i)).s);
		else
			out_printf(o, ",{\"le_seconds\":null,");
		out_printf(o, "\"count\":%" PRIu64 "}", h->bucket[i]);
	}
	out_printf(o, "]}");
}

static void format_json(struct out *o, const struct hupmon_stats *s)
{
	unsigned n = 0, m;

	out_printf(o, "{");
	json_scalars(o, &n, s, sockets, ARRAY_SIZE(sockets));

	json_key(o, &n, "registry");
	out_printf(o, "{");
	m = 0;
	json_scalars(o, &m, s, registry, ARRAY_SIZE(registry));
	json_key(o, &m, "watch_rejected");
	out_printf(o, "{");
	m = 0;
	for (unsigned r = 0; r < HUPMON_REJECT_MAX; r++) {
		json_key(o, &m, hupmon_reject_name(r));
		out_printf(o, "%" PRIu64, s->watch_rejected[r]);
	}
	out_printf(o, "}}");

	json_key(o, &n, hangups.key);
	json_paths(o, s, &hangups);
	json_scalars(o, &n, s, reports, ARRAY_SIZE(reports));

	json_key(o, &n, "epoll");
	out_printf(o, "{");
	m = 0;
	json_scalars(o, &m, s, epoll, ARRAY_SIZE(epoll));
	out_printf(o, "}");

	json_key(o, &n, "sweep");
	out_printf(o, "{");
	m = 0;
	json_scalars(o, &m, s, sweep, ARRAY_SIZE(sweep));
	out_printf(o, "}");

	json_key(o, &n, "compare");
	out_printf(o, "{");
	m = 0;
	for (unsigned j = 0; j < ARRAY_SIZE(compare); j++) {
		json_key(o, &m, compare[j].key);
		json_paths(o, s, &compare[j]);
	}
	out_printf(o, "}");

	json_key(o, &n, "histograms");
	out_printf(o, "{");
	m = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(hists); i++) {
		json_key(o, &m, hists[i].key);
		json_hist(o, hist_of(s, &hists[i]));
	}
	out_printf(o, "}}\n");
}

/* ---- Prometheus ------------------------------------------------------ */

static void prom_family(struct out *o, const char *name, const char *type,
			const char *help)
{
	out_printf(o, "# HELP hupmon_%s %s\n# TYPE hupmon_%s %s\n", name, help,
		   name, type);
}

static void prom_scalars(struct out *o, const struct hupmon_stats *s,
			 const struct scalar *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v = scalar_value(s, &f[i]);

		prom_family(o, f[i].prom, f[i].gauge ? "gauge" : "counter",
			    f[i].help);
		if (f[i].unit == UNIT_NS || f[i].unit == UNIT_NS_OR_OFF)
			out_printf(o, "hupmon_%s %s\n", f[i].prom,
				   seconds(v).s);
		else
			out_printf(o, "hupmon_%s %" PRIu64 "\n", f[i].prom, v);
	}
}

static void prom_matrix(struct out *o, const struct hupmon_stats *s,
			const struct matrix *m)
{
	prom_family(o, m->prom, "counter", m->help);
	for (unsigned p = HUPMON_PATH_EPOLL; p <= HUPMON_PATH_SWEEP; p++) {
		const uint64_t *row = matrix_row(s, m, p);

		for (unsigned c = 1; c <= HUPMON_CAUSE_MAX; c++)
			out_printf(
				o,
				"hupmon_%s{path=\"%s\",cause=\"%s\"} %" PRIu64
				"\n",
				m->prom, hupmon_path_name((enum hupmon_path)p),
				hupmon_cause_name((enum hupmon_cause)c),
				row[c]);
	}
}

/*
 * The +Inf bucket and _count are both the bucket total, not h->count: the
 * exposition format requires them equal, and a consistent snapshot has
 * count == total anyway.
 */
static void prom_hist(struct out *o, const struct hist_desc *d,
		      const struct hupmon_hist *h)
{
	uint64_t cum = 0;

	prom_family(o, d->prom, "histogram", d->help);
	for (unsigned i = 0; i < HUPMON_HIST_BUCKETS; i++) {
		cum = add_sat(cum, h->bucket[i]);
		if (i < HUPMON_HIST_BUCKETS - 1)
			out_printf(o,
				   "hupmon_%s_bucket{le=\"%s\"} %" PRIu64 "\n",
				   d->prom, seconds(hupmon_hist_bound_ns(i)).s,
				   cum);
		else
			out_printf(o,
				   "hupmon_%s_bucket{le=\"+Inf\"} %" PRIu64
				   "\n",
				   d->prom, cum);
	}
	out_printf(o, "hupmon_%s_sum %s\n", d->prom, seconds(h->sum_ns).s);
	out_printf(o, "hupmon_%s_count %" PRIu64 "\n", d->prom, cum);
}

static void format_prometheus(struct out *o, const struct hupmon_stats *s)
{
	prom_scalars(o, s, sockets, ARRAY_SIZE(sockets));

	prom_scalars(o, s, registry, ARRAY_SIZE(registry));
	prom_family(o, "watch_rejected_total", "counter",
		    "Refused hupmon_watch calls by error.");
	for (unsigned r = 0; r < HUPMON_REJECT_MAX; r++)
		out_printf(o,
			   "hupmon_watch_rejected_total{error=\"%s\"} %" PRIu64
			   "\n",
			   hupmon_reject_name(r), s->watch_rejected[r]);

	prom_matrix(o, s, &hangups);
	prom_scalars(o, s, reports, ARRAY_SIZE(reports));
	prom_scalars(o, s, epoll, ARRAY_SIZE(epoll));
	prom_scalars(o, s, sweep, ARRAY_SIZE(sweep));
	for (unsigned j = 0; j < ARRAY_SIZE(compare); j++)
		prom_matrix(o, s, &compare[j]);
	for (unsigned i = 0; i < ARRAY_SIZE(hists); i++)
		prom_hist(o, &hists[i], hist_of(s, &hists[i]));
}

int hupmon_stats_format_sized(const struct hupmon_stats *s, size_t s_size,
			      enum hupmon_format f, char *buf, size_t len)
{
	struct hupmon_stats local;
	struct out o = {.buf = buf, .len = len};

	if (!s || (!buf && len))
		return -EINVAL;
	if (f != HUPMON_FORMAT_TEXT && f != HUPMON_FORMAT_JSON &&
	    f != HUPMON_FORMAT_PROMETHEUS)
		return -EINVAL;

	/* An older caller's struct is a prefix of ours: never read past its
	 * end, and show the fields it does not know as 0. A newer caller's
	 * extra fields are simply not shown. */
	if (s_size < sizeof(local)) {
		memset(&local, 0, sizeof(local));
		memcpy(&local, s, s_size);
		s = &local;
	}

	switch (f) {
	case HUPMON_FORMAT_TEXT:
		format_text(&o, s);
		break;
	case HUPMON_FORMAT_JSON:
		format_json(&o, s);
		break;
	case HUPMON_FORMAT_PROMETHEUS:
		format_prometheus(&o, s);
		break;
	}

	if (len)
		buf[o.pos < len ? o.pos : len - 1] = '\0';
	/* Neither can happen with the fixed-size output above; kept so the
	 * int return stays honest if the schema ever grows without bound. */
	if (o.failed || o.pos > INT_MAX)
		return -EOVERFLOW;
	return (int)o.pos;
}
