/* SPDX-License-Identifier: MIT */
/*
 * check_format: the enum names, the histogram bounds and the three stats
 * renderings (src/format*.c). Table-driven, no sockets; whole renderings
 * are compared with tests/expected/.
 *
 * The snapshot under test gives every field its own value and poisons the
 * unused index 0 of the path x cause tables, so a field shown under the
 * wrong name, a swapped index or an emitted unused slot all fail. JSON goes
 * through a small validating parser below; Prometheus is only split into
 * samples here (check_promtool lints its structure).
 */
#include <check.h>

#include "fixture.h"
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hupmon.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define OFF(f)	      offsetof(struct hupmon_stats, f)

/* Never shown: the unused index 0 of the path x cause tables holds it. */
#define POISON UINT64_C(7777777)

static const enum hupmon_format formats[] = {
	HUPMON_FORMAT_TEXT,
	HUPMON_FORMAT_JSON,
	HUPMON_FORMAT_PROMETHEUS,
};

static void hist_fill(struct hupmon_hist *h, uint64_t base, uint64_t sum_ns)
{
	h->count = 0;
	for (unsigned i = 0; i < HUPMON_HIST_BUCKETS; i++) {
		h->bucket[i] = base + i;
		h->count += h->bucket[i];
	}
	h->sum_ns = sum_ns;
}

static void fill_matrix(uint64_t t[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT],
			uint64_t base)
{
	for (unsigned p = 0; p < 3; p++)
		for (unsigned c = 0; c <= HUPMON_CAUSE_MAX; c++)
			t[p][c] = p && c ? base + 100 * p + c : POISON;
}

/* A consistent snapshot (count == sum of buckets) where no two fields hold
 * the same value. */
static void fill(struct hupmon_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->watched = 101;
	s->swept = 102;
	s->memory_bytes = 1234567;
	s->watches = 104;
	s->unwatches = 105;
	for (unsigned r = 0; r < HUPMON_REJECT_COUNT; r++)
		s->watch_rejected[r] = 110 + r;
	s->unwatch_rejected = 120;
	s->retired = 121;
	fill_matrix(s->hangups, 1000);
	s->escalations = 130;
	s->callbacks = 131;
	hist_fill(&s->callback_duration, 1, UINT64_C(123456789012));
	s->epoll_wakeups = 140;
	s->epoll_events = 141;
	s->stale_events = 142;
	s->ignored_events = 143;
	s->sweep_ticks = 150;
	s->sweep_probes = 151;
	s->sweep_overruns = 152;
	s->sweep_piled_up = 153;
	s->sweep_laps = 154;
	s->sweep_lap_last_ns = 12345678;
	s->sweep_lap_worst_ns = 23456789;
	s->sweep_slice_worst_ns = 3456789;
	s->sweep_tick_ns = 10000000;
	s->sweep_gap_worst_ns = 34567890;
	s->sweep_gap_bound_ns = 45678901;
	s->stalls[HUPMON_STALL_REASON_ZERO_WINDOW] = 160;
	s->stalls[HUPMON_STALL_REASON_NO_ACK] = 161;
	s->stall_recoveries[HUPMON_STALL_REASON_ZERO_WINDOW] = 162;
	s->stall_recoveries[HUPMON_STALL_REASON_NO_ACK] = 163;
	s->stall_escalations = 164;
	s->stall_closed = 165;
	s->epoll_cookie_reads = 144;
	s->epoll_error_reads = 145;
	s->sweep_cookie_reads = 155;
	s->sweep_error_reads = 156;
	s->sweep_lap_effective_ns = 56789012;
	s->watched_tcp = 100;
	s->watched_unix = 1;
	fill_matrix(s->cmp_first, 2000);
	fill_matrix(s->cmp_second, 3000);
	fill_matrix(s->cmp_missed, 4000);
	fill_matrix(s->cmp_cut_short, 5000);
	hist_fill(&s->cmp_lag, 1000, UINT64_C(9876543210));
}

static uint64_t field(const struct hupmon_stats *s, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)s + off, sizeof(v));
	return v;
}

/* One cell of a path x cause table at offset off. */
static uint64_t cell(const struct hupmon_stats *s, size_t off, unsigned p,
		     unsigned c)
{
	const uint64_t(*t)[HUPMON_CAUSE_COUNT] =
		(const void *)((const char *)s + off);

	return t[p][c];
}

/* The whole output in a fresh malloc'd string; checks the size contract. */
static char *render(const struct hupmon_stats *s, size_t s_size,
		    enum hupmon_format f)
{
	int n = hupmon_stats_format_sized(s, s_size, f, NULL, 0);
	char *buf;

	ck_assert_int_gt(n, 0);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(
		hupmon_stats_format_sized(s, s_size, f, buf, (size_t)n + 1), n);
	ck_assert_uint_eq(strlen(buf), (size_t)n);
	return buf;
}

/* Full outputs are too long for a Check message: show where they part. */
static void assert_same(const char *got, const char *want)
{
	size_t i = 0;

	while (got[i] && got[i] == want[i])
		i++;
	ck_assert_msg(got[i] == want[i],
		      "outputs differ at %zu: got ...%.40s, want ...%.40s", i,
		      got + (i > 20 ? i - 20 : 0),
		      want + (i > 20 ? i - 20 : 0));
}

/* Exact decimal seconds ("12", "0.012345678") to ns; false if the token
 * is not of that form or does not fit. */
static bool dec_to_ns(const char *tok, uint64_t *ns)
{
	uint64_t whole = 0, frac = 0;
	const char *p = tok;
	int fd = 0;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > (UINT64_MAX - 9) / 10)
			return false;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, fd++) {
			if (fd == 9)
				return false;
			frac = frac * 10 + (uint64_t)(*p - '0');
		}
		if (!fd)
			return false;
	}
	if (*p)
		return false;
	for (; fd < 9; fd++)
		frac *= 10;
	if (whole > (UINT64_MAX - frac) / 1000000000u)
		return false;
	*ns = whole * 1000000000u + frac;
	return true;
}

/* ---- a validating JSON parser ---------------------------------------- */

/* Each scalar of a document, under its path: "a.b[3].c". */
struct leaf {
	char path[128];
	char val[64];
};

struct jp {
	const char *p;
	int depth;
	char path[128];
	struct leaf *leaf;
	size_t nleaf, cap;
};

static bool j_value(struct jp *j);

static void j_ws(struct jp *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* A string; its text, escapes decoded (non-ASCII as '?'), goes to out. */
static bool j_string(struct jp *j, char *out, size_t outlen)
{
	size_t n = 0;

	if (*j->p++ != '"')
		return false;
	for (;;) {
		unsigned char c = (unsigned char)*j->p++;

		if (c == '"')
			break;
		if (c < 0x20) /* control characters and the end of input */
			return false;
		if (c == '\\') {
			c = (unsigned char)*j->p++;
			switch (c) {
			case '"':
			case '\\':
			case '/':
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'u':
				for (int i = 0; i < 4; i++)
					if (!is_hex(*j->p++))
						return false;
				c = '?';
				break;
			default:
				return false;
			}
		}
		if (n + 1 < outlen)
			out[n++] = (char)c;
	}
	if (outlen)
		out[n] = '\0';
	return true;
}

static bool j_digits(struct jp *j)
{
	const char *start = j->p;

	while (*j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > start;
}

static bool j_number(struct jp *j)
{
	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else if (!j_digits(j))
		return false;
	if (*j->p == '.') {
		j->p++;
		if (!j_digits(j))
			return false;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (!j_digits(j))
			return false;
	}
	return true;
}

static bool j_leaf(struct jp *j, const char *start)
{
	struct leaf *l;
	size_t n = (size_t)(j->p - start);

	if (j->nleaf == j->cap || n >= sizeof(l->val))
		return false;
	l = &j->leaf[j->nleaf++];
	snprintf(l->path, sizeof(l->path), "%s", j->path);
	memcpy(l->val, start, n);
	l->val[n] = '\0';
	return true;
}

/* Appends ".key" (or "key" at the top) or "[idx]" to the path for the
 * duration of one member or element; returns the length to cut back to. */
static size_t j_push(struct jp *j, const char *key, size_t idx)
{
	size_t len = strlen(j->path);
	char *end = j->path + len;
	size_t room = sizeof(j->path) - len;

	if (!key)
		snprintf(end, room, "[%zu]", idx);
	else if (len)
		snprintf(end, room, ".%s", key);
	else
		snprintf(end, room, "%s", key);
	return len;
}

static bool j_object(struct jp *j)
{
	j->p++;
	j_ws(j);
	if (*j->p == '}') {
		j->p++;
		return true;
	}
	for (;;) {
		char key[64];
		size_t len;

		if (*j->p != '"' || !j_string(j, key, sizeof(key)))
			return false;
		j_ws(j);
		if (*j->p++ != ':')
			return false;
		len = j_push(j, key, 0);
		if (!j_value(j))
			return false;
		j->path[len] = '\0';
		j_ws(j);
		if (*j->p == '}') {
			j->p++;
			return true;
		}
		if (*j->p++ != ',')
			return false;
		j_ws(j);
	}
}

static bool j_array(struct jp *j)
{
	j->p++;
	j_ws(j);
	if (*j->p == ']') {
		j->p++;
		return true;
	}
	for (size_t i = 0;; i++) {
		size_t len = j_push(j, NULL, i);

		if (!j_value(j))
			return false;
		j->path[len] = '\0';
		j_ws(j);
		if (*j->p == ']') {
			j->p++;
			return true;
		}
		if (*j->p++ != ',')
			return false;
	}
}

static bool j_literal(struct jp *j, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(j->p, word, n))
		return false;
	j->p += n;
	return true;
}

static bool j_value(struct jp *j)
{
	const char *start;
	bool ok;

	j_ws(j);
	start = j->p;
	if (++j->depth > 32)
		return false;
	switch (*j->p) {
	case '{':
		ok = j_object(j);
		break;
	case '[':
		ok = j_array(j);
		break;
	case '"':
		ok = j_string(j, NULL, 0) && j_leaf(j, start);
		break;
	case 't':
		ok = j_literal(j, "true") && j_leaf(j, start);
		break;
	case 'f':
		ok = j_literal(j, "false") && j_leaf(j, start);
		break;
	case 'n':
		ok = j_literal(j, "null") && j_leaf(j, start);
		break;
	default:
		ok = j_number(j) && j_leaf(j, start);
		break;
	}
	j->depth--;
	return ok;
}

/* Validates a whole document (one value, nothing after it but white space)
 * and collects its scalars. Returns the number of leaves, or -1. */
static int json_parse(const char *text, struct leaf *leaf, size_t cap,
		      size_t *err)
{
	struct jp j = {.p = text, .leaf = leaf, .cap = cap};
	bool ok = j_value(&j);

	if (ok)
		j_ws(&j);
	if (!ok || *j.p) {
		/* j.p may sit one past a NUL the parser consumed. */
		if (err)
			*err = (size_t)(j.p - text) > strlen(text)
				       ? strlen(text)
				       : (size_t)(j.p - text);
		return -1;
	}
	return (int)j.nleaf;
}

static const char *json_get(const struct leaf *leaf, int n, const char *path)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(leaf[i].path, path))
			return leaf[i].val;
	return NULL;
}

static const struct {
	const char *doc;
	int leaves; /* -1: invalid */
} json_cases[] = {
	{"{}", 0},
	{"[]", 0},
	{" 0 ", 1},
	{"\"s\"\n", 1},
	{"-0.5e+10", 1},
	{"{\"a\":[1,-2.5E3,true,false,null,\"x\\\"\\\\\\/\\b\\f\\n\\r\\t"
	 "\\u00e9\"],\"b\":{\"c\":{}}}",
	 6},
	{"", -1},
	{"{", -1},
	{"}", -1},
	{"{\"a\":1,}", -1},
	{"[1,]", -1},
	{"[1 2]", -1},
	{"01", -1},
	{"1.", -1},
	{".5", -1},
	{"-", -1},
	{"+1", -1},
	{"1e", -1},
	{"{\"a\" 1}", -1},
	{"{a:1}", -1},
	{"{\"a\":1}}", -1},
	{"{} x", -1},
	{"\"\\x\"", -1},
	{"\"\\u12\"", -1},
	{"\"abc", -1},
	{"\"a\tb\"", -1},
	{"tru", -1},
	{"nul", -1},
	{"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	 -1},
};

START_TEST(test_json_parser)
{
	struct leaf leaf[16];
	int n = json_parse(json_cases[_i].doc, leaf, ARRAY_SIZE(leaf), NULL);

	ck_assert_msg(n == json_cases[_i].leaves, "'%s': %d leaves, want %d",
		      json_cases[_i].doc, n, json_cases[_i].leaves);
}
END_TEST

START_TEST(test_json_parser_paths)
{
	struct leaf leaf[16];
	int n = json_parse("{\"a\":[1,{\"b\":null}],\"c\":{\"d\":\"x\"}}", leaf,
			   ARRAY_SIZE(leaf), NULL);

	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(json_get(leaf, n, "a[0]"), "1");
	ck_assert_str_eq(json_get(leaf, n, "a[1].b"), "null");
	ck_assert_str_eq(json_get(leaf, n, "c.d"), "\"x\"");
	ck_assert_ptr_null(json_get(leaf, n, "a"));
}
END_TEST

/* ---- expectations shared by JSON and Prometheus ---------------------- */

static const struct {
	const char *json; /* leaf path */
	const char *prom; /* series */
	size_t off;
	bool secs; /* ns in the snapshot, seconds in the output */
} scalars[] = {
	{"watched", "hupmon_watched_sockets", OFF(watched), false},
	{"watched_tcp", "hupmon_watched_tcp_sockets", OFF(watched_tcp), false},
	{"watched_unix", "hupmon_watched_unix_sockets", OFF(watched_unix),
	 false},
	{"swept", "hupmon_swept_sockets", OFF(swept), false},
	{"memory_bytes", "hupmon_memory_bytes", OFF(memory_bytes), false},
	{"registry.watches", "hupmon_watches_total", OFF(watches), false},
	{"registry.unwatches", "hupmon_unwatches_total", OFF(unwatches), false},
	{"registry.unwatch_rejected", "hupmon_unwatch_rejected_total",
	 OFF(unwatch_rejected), false},
	{"registry.retired", "hupmon_retired_total", OFF(retired), false},
	{"escalations", "hupmon_escalations_total", OFF(escalations), false},
	{"callbacks", "hupmon_callbacks_total", OFF(callbacks), false},
	{"epoll.wakeups", "hupmon_epoll_wakeups_total", OFF(epoll_wakeups),
	 false},
	{"epoll.events", "hupmon_epoll_events_total", OFF(epoll_events), false},
	{"epoll.stale_events", "hupmon_epoll_stale_events_total",
	 OFF(stale_events), false},
	{"epoll.ignored_events", "hupmon_epoll_ignored_events_total",
	 OFF(ignored_events), false},
	{"epoll.cookie_reads", "hupmon_epoll_cookie_reads_total",
	 OFF(epoll_cookie_reads), false},
	{"epoll.error_reads", "hupmon_epoll_error_reads_total",
	 OFF(epoll_error_reads), false},
	{"sweep.ticks", "hupmon_sweep_ticks_total", OFF(sweep_ticks), false},
	{"sweep.probes", "hupmon_sweep_probes_total", OFF(sweep_probes), false},
	{"sweep.overruns", "hupmon_sweep_overruns_total", OFF(sweep_overruns),
	 false},
	{"sweep.piled_up", "hupmon_sweep_piled_up_total", OFF(sweep_piled_up),
	 false},
	{"sweep.laps", "hupmon_sweep_laps_total", OFF(sweep_laps), false},
	{"sweep.lap_last_seconds", "hupmon_sweep_lap_last_seconds",
	 OFF(sweep_lap_last_ns), true},
	{"sweep.lap_worst_seconds", "hupmon_sweep_lap_worst_seconds",
	 OFF(sweep_lap_worst_ns), true},
	{"sweep.slice_worst_seconds", "hupmon_sweep_slice_worst_seconds",
	 OFF(sweep_slice_worst_ns), true},
	{"sweep.tick_seconds", "hupmon_sweep_tick_seconds", OFF(sweep_tick_ns),
	 true},
	{"sweep.gap_worst_seconds", "hupmon_sweep_gap_worst_seconds",
	 OFF(sweep_gap_worst_ns), true},
	{"sweep.gap_bound_seconds", "hupmon_sweep_gap_bound_seconds",
	 OFF(sweep_gap_bound_ns), true},
	{"sweep.cookie_reads", "hupmon_sweep_cookie_reads_total",
	 OFF(sweep_cookie_reads), false},
	{"sweep.error_reads", "hupmon_sweep_error_reads_total",
	 OFF(sweep_error_reads), false},
	{"sweep.lap_effective_seconds", "hupmon_sweep_lap_effective_seconds",
	 OFF(sweep_lap_effective_ns), true},
	{"stall.zero_window", "hupmon_stalls_zero_window_total",
	 OFF(stalls[HUPMON_STALL_REASON_ZERO_WINDOW]), false},
	{"stall.no_ack", "hupmon_stalls_no_ack_total",
	 OFF(stalls[HUPMON_STALL_REASON_NO_ACK]), false},
	{"stall.recovered_zero_window",
	 "hupmon_stall_recoveries_zero_window_total",
	 OFF(stall_recoveries[HUPMON_STALL_REASON_ZERO_WINDOW]), false},
	{"stall.recovered_no_ack", "hupmon_stall_recoveries_no_ack_total",
	 OFF(stall_recoveries[HUPMON_STALL_REASON_NO_ACK]), false},
	{"stall.escalations", "hupmon_stall_escalations_total",
	 OFF(stall_escalations), false},
	{"stall.closed_by_hangup", "hupmon_stall_closed_total",
	 OFF(stall_closed), false},
};

static const struct {
	const char *json;
	const char *prom;
	size_t off;
} matrices[] = {
	{"hangups", "hupmon_hangups_total", OFF(hangups)},
	{"compare.first", "hupmon_compare_first_total", OFF(cmp_first)},
	{"compare.second", "hupmon_compare_second_total", OFF(cmp_second)},
	{"compare.missed", "hupmon_compare_missed_total", OFF(cmp_missed)},
	{"compare.cut_short", "hupmon_compare_cut_short_total",
	 OFF(cmp_cut_short)},
};

static const struct {
	const char *json;
	const char *prom;
	size_t off;
} hists[] = {
	{"histograms.callback_duration", "hupmon_callback_duration_seconds",
	 OFF(callback_duration)},
	{"histograms.compare_lag", "hupmon_compare_lag_seconds", OFF(cmp_lag)},
};

static const char *const path_names[] = {NULL, "epoll", "sweep"};
static const char *const cause_names[] = {NULL,	   "peer_shutdown", "hangup",
					  "reset", "timeout",	    "error"};
static const char *const reject_names[] = {"ebadf",  "enotsock", "einval",
					   "eexist", "enomem",	 "other"};

/* 3 gauges, 25 other scalars, 6 rejects, 5 tables of 2 x 5, and 2
 * histograms of count, sum and one count and bound per bucket. */
#define JSON_LEAVES                                                            \
	(ARRAY_SIZE(scalars) + HUPMON_REJECT_COUNT +                           \
	 ARRAY_SIZE(matrices) * 2 * HUPMON_CAUSE_MAX +                         \
	 ARRAY_SIZE(hists) * (2 + 2 * HUPMON_HIST_BUCKETS))
#define PROM_SAMPLES                                                           \
	(ARRAY_SIZE(scalars) + HUPMON_REJECT_COUNT +                           \
	 ARRAY_SIZE(matrices) * 2 * HUPMON_CAUSE_MAX +                         \
	 ARRAY_SIZE(hists) * (2 + HUPMON_HIST_BUCKETS))
#define PROM_FAMILIES                                                          \
	(ARRAY_SIZE(scalars) + 1 + ARRAY_SIZE(matrices) + ARRAY_SIZE(hists))

static void want_u64(const char *where, const char *got, uint64_t want)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, want);
	ck_assert_msg(got && !strcmp(got, buf), "%s: got %s, want %s", where,
		      got ? got : "(missing)", buf);
}

static void want_secs(const char *where, const char *got, uint64_t want_ns)
{
	uint64_t ns = 0;

	ck_assert_msg(got && dec_to_ns(got, &ns) && ns == want_ns,
		      "%s: got %s, want %" PRIu64 " ns", where,
		      got ? got : "(missing)", want_ns);
}

/* ---- names and bounds ------------------------------------------------ */

static const struct {
	int cause;
	const char *name;
} cause_cases[] = {
	{HUPMON_CAUSE_NONE, "none"},
	{HUPMON_CAUSE_PEER_SHUTDOWN, "peer_shutdown"},
	{HUPMON_CAUSE_HANGUP, "hangup"},
	{HUPMON_CAUSE_RESET, "reset"},
	{HUPMON_CAUSE_TIMEOUT, "timeout"},
	{HUPMON_CAUSE_ERROR, "error"},
	{6, "none"},
	{-1, "none"},
	{INT_MAX, "none"},
};

START_TEST(test_cause_name)
{
	ck_assert_str_eq(
		hupmon_cause_name((enum hupmon_cause)cause_cases[_i].cause),
		cause_cases[_i].name);
}
END_TEST

static const struct {
	int path;
	const char *name;
} path_cases[] = {
	{0, "none"},
	{HUPMON_PATH_EPOLL, "epoll"},
	{HUPMON_PATH_SWEEP, "sweep"},
	{3, "none"},
	{-1, "none"},
};

START_TEST(test_path_name)
{
	ck_assert_str_eq(
		hupmon_path_name((enum hupmon_path)path_cases[_i].path),
		path_cases[_i].name);
}
END_TEST

static const struct {
	unsigned reject;
	const char *name;
} reject_cases[] = {
	{HUPMON_REJECT_EBADF, "ebadf"},	  {HUPMON_REJECT_ENOTSOCK, "enotsock"},
	{HUPMON_REJECT_EINVAL, "einval"}, {HUPMON_REJECT_EEXIST, "eexist"},
	{HUPMON_REJECT_ENOMEM, "enomem"}, {HUPMON_REJECT_OTHER, "other"},
	{HUPMON_REJECT_COUNT, "unknown"}, {UINT_MAX, "unknown"},
};

START_TEST(test_reject_name)
{
	ck_assert_str_eq(hupmon_reject_name(reject_cases[_i].reject),
			 reject_cases[_i].name);
}
END_TEST

static const struct {
	unsigned i;
	uint64_t ns;
} bound_cases[] = {
	{0, 1024},
	{1, 2048},
	{9, 524288},
	{10, 1048576},
	{HUPMON_HIST_BUCKETS - 2, UINT64_C(1) << 40}, /* about 1100 s */
	{HUPMON_HIST_BUCKETS - 1, UINT64_MAX},
	{HUPMON_HIST_BUCKETS, UINT64_MAX},
	{UINT_MAX, UINT64_MAX},
};

START_TEST(test_hist_bound)
{
	ck_assert_uint_eq(hupmon_hist_bound_ns(bound_cases[_i].i),
			  bound_cases[_i].ns);
}
END_TEST

START_TEST(test_hist_bound_doubles)
{
	for (unsigned i = 1; i < HUPMON_HIST_BUCKETS - 1; i++)
		ck_assert_uint_eq(hupmon_hist_bound_ns(i),
				  2 * hupmon_hist_bound_ns(i - 1));
}
END_TEST

/* ---- JSON ------------------------------------------------------------ */

static void check_json(const struct hupmon_stats *s, const char *text)
{
	static struct leaf leaf[JSON_LEAVES + 16];
	char where[160];
	size_t err = 0;
	int n = json_parse(text, leaf, ARRAY_SIZE(leaf), &err);

	ck_assert_msg(n >= 0, "invalid JSON at %zu: ...%.40s", err,
		      text + (err > 20 ? err - 20 : 0));
	ck_assert_int_eq(n, (int)JSON_LEAVES);
	ck_assert_msg(text[strlen(text) - 1] == '\n', "no final newline");
	for (int i = 0; i < n; i++)
		for (int k = i + 1; k < n; k++)
			ck_assert_msg(strcmp(leaf[i].path, leaf[k].path),
				      "duplicate key %s", leaf[i].path);

	for (size_t i = 0; i < ARRAY_SIZE(scalars); i++) {
		const char *got = json_get(leaf, n, scalars[i].json);
		uint64_t v = field(s, scalars[i].off);

		if (scalars[i].secs)
			want_secs(scalars[i].json, got, v);
		else
			want_u64(scalars[i].json, got, v);
	}
	for (unsigned r = 0; r < HUPMON_REJECT_COUNT; r++) {
		snprintf(where, sizeof(where), "registry.watch_rejected.%s",
			 reject_names[r]);
		want_u64(where, json_get(leaf, n, where), s->watch_rejected[r]);
	}
	for (size_t m = 0; m < ARRAY_SIZE(matrices); m++)
		for (unsigned p = 1; p <= 2; p++)
			for (unsigned c = 1; c <= HUPMON_CAUSE_MAX; c++) {
				snprintf(where, sizeof(where), "%s.%s.%s",
					 matrices[m].json, path_names[p],
					 cause_names[c]);
				want_u64(where, json_get(leaf, n, where),
					 cell(s, matrices[m].off, p, c));
			}
	for (size_t h = 0; h < ARRAY_SIZE(hists); h++) {
		const struct hupmon_hist *hist =
			(const void *)((const char *)s + hists[h].off);

		snprintf(where, sizeof(where), "%s.count", hists[h].json);
		want_u64(where, json_get(leaf, n, where), hist->count);
		snprintf(where, sizeof(where), "%s.sum_seconds", hists[h].json);
		want_secs(where, json_get(leaf, n, where), hist->sum_ns);
		for (unsigned i = 0; i < HUPMON_HIST_BUCKETS; i++) {
			const char *le;

			snprintf(where, sizeof(where), "%s.buckets[%u].count",
				 hists[h].json, i);
			want_u64(where, json_get(leaf, n, where),
				 hist->bucket[i]);
			snprintf(where, sizeof(where),
				 "%s.buckets[%u].le_seconds", hists[h].json, i);
			le = json_get(leaf, n, where);
			if (i == HUPMON_HIST_BUCKETS - 1)
				ck_assert_msg(le && !strcmp(le, "null"),
					      "%s: %s", where, le);
			else
				want_secs(where, le, UINT64_C(1024) << i);
		}
	}
}

START_TEST(test_json_filled)
{
	struct hupmon_stats s;
	char *text;

	fill(&s);
	text = render(&s, sizeof(s), HUPMON_FORMAT_JSON);
	check_json(&s, text);
	ck_assert_ptr_null(strstr(text, "7777777"));
	free(text);
}
END_TEST

START_TEST(test_json_zero)
{
	struct hupmon_stats s;
	char *text;

	memset(&s, 0, sizeof(s));
	text = render(&s, sizeof(s), HUPMON_FORMAT_JSON);
	check_json(&s, text);
	free(text);
}
END_TEST

START_TEST(test_json_max)
{
	struct hupmon_stats s;
	char *text;

	memset(&s, 0xff, sizeof(s));
	text = render(&s, sizeof(s), HUPMON_FORMAT_JSON);
	check_json(&s, text);
	free(text);
}
END_TEST

/* Seconds are exact decimals with no trailing zeros. */
static const struct {
	uint64_t ns;
	const char *secs;
} secs_cases[] = {
	{0, "0"},
	{1, "0.000000001"},
	{10, "0.00000001"},
	{1024, "0.000001024"},
	{10000000, "0.01"},
	{999999999, "0.999999999"},
	{1000000000, "1"},
	{1500000000, "1.5"},
	{UINT64_C(9007199254740993), "9007199.254740993"}, /* 2^53 + 1 */
	{UINT64_MAX, "18446744073.709551615"},
};

START_TEST(test_json_seconds)
{
	struct hupmon_stats s;
	struct leaf leaf[JSON_LEAVES];
	char *text;
	int n;

	memset(&s, 0, sizeof(s));
	s.sweep_lap_last_ns = secs_cases[_i].ns;
	text = render(&s, sizeof(s), HUPMON_FORMAT_JSON);
	n = json_parse(text, leaf, ARRAY_SIZE(leaf), NULL);
	ck_assert_int_eq(n, (int)JSON_LEAVES);
	ck_assert_str_eq(json_get(leaf, n, "sweep.lap_last_seconds"),
			 secs_cases[_i].secs);
	free(text);
}
END_TEST

/* ---- Prometheus ------------------------------------------------------ */

struct sample {
	char series[160]; /* name{labels} */
	char value[48];
};

/* Splits the samples out of an exposition, in order; counts TYPE lines. */
static size_t prom_samples(const char *text, struct sample *out, size_t cap,
			   size_t *types)
{
	size_t n = 0;

	*types = 0;
	while (*text) {
		const char *nl = strchr(text, '\n');
		const char *sp;

		ck_assert_ptr_nonnull(nl);
		if (!strncmp(text, "# TYPE ", 7)) {
			(*types)++;
		} else if (*text != '#') {
			for (sp = nl; sp > text && sp[-1] != ' '; sp--)
				;
			ck_assert_msg(sp > text && n < cap, "bad line %.*s",
				      (int)(nl - text), text);
			snprintf(out[n].series, sizeof(out[n].series), "%.*s",
				 (int)(sp - 1 - text), text);
			snprintf(out[n].value, sizeof(out[n].value), "%.*s",
				 (int)(nl - sp), sp);
			n++;
		}
		text = nl + 1;
	}
	return n;
}

static const char *prom_get(const struct sample *smp, size_t n,
			    const char *series, size_t *at)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(smp[i].series, series)) {
			if (at)
				*at = i;
			return smp[i].value;
		}
	return NULL;
}

static void check_prom(const struct hupmon_stats *s, const char *text)
{
	static struct sample smp[PROM_SAMPLES + 16];
	char where[200];
	size_t types, n = prom_samples(text, smp, ARRAY_SIZE(smp), &types);

	ck_assert_uint_eq(n, PROM_SAMPLES);
	ck_assert_uint_eq(types, PROM_FAMILIES);

	for (size_t i = 0; i < ARRAY_SIZE(scalars); i++) {
		const char *got = prom_get(smp, n, scalars[i].prom, NULL);
		uint64_t v = field(s, scalars[i].off);

		if (scalars[i].secs)
			want_secs(scalars[i].prom, got, v);
		else
			want_u64(scalars[i].prom, got, v);
	}
	for (unsigned r = 0; r < HUPMON_REJECT_COUNT; r++) {
		snprintf(where, sizeof(where),
			 "hupmon_watch_rejected_total{error=\"%s\"}",
			 reject_names[r]);
		want_u64(where, prom_get(smp, n, where, NULL),
			 s->watch_rejected[r]);
	}
	for (size_t m = 0; m < ARRAY_SIZE(matrices); m++)
		for (unsigned p = 1; p <= 2; p++)
			for (unsigned c = 1; c <= HUPMON_CAUSE_MAX; c++) {
				snprintf(where, sizeof(where),
					 "%s{path=\"%s\",cause=\"%s\"}",
					 matrices[m].prom, path_names[p],
					 cause_names[c]);
				want_u64(where, prom_get(smp, n, where, NULL),
					 cell(s, matrices[m].off, p, c));
			}
	for (size_t h = 0; h < ARRAY_SIZE(hists); h++) {
		const struct hupmon_hist *hist =
			(const void *)((const char *)s + hists[h].off);
		uint64_t cum = 0;
		size_t at = 0;

		/* The first bucket, then the rest in order right after it. */
		snprintf(where, sizeof(where), "%s_bucket{le=\"0.000001024\"}",
			 hists[h].prom);
		ck_assert_ptr_nonnull(prom_get(smp, n, where, &at));
		ck_assert_uint_le(at + HUPMON_HIST_BUCKETS + 2, n);
		for (unsigned i = 0; i < HUPMON_HIST_BUCKETS; i++) {
			const char *ser = smp[at + i].series;
			size_t pre =
				strlen(hists[h].prom) + strlen("_bucket{le=\"");
			uint64_t le;
			char tok[32];

			cum = cum > UINT64_MAX - hist->bucket[i]
				      ? UINT64_MAX
				      : cum + hist->bucket[i];
			snprintf(where, sizeof(where), "%s bucket %u",
				 hists[h].prom, i);
			ck_assert_msg(!strncmp(ser, hists[h].prom,
					       strlen(hists[h].prom)) &&
					      strlen(ser) > pre + 2,
				      "%s: %s", where, ser);
			snprintf(tok, sizeof(tok), "%.*s",
				 (int)(strlen(ser) - pre - 2), ser + pre);
			if (i == HUPMON_HIST_BUCKETS - 1)
				ck_assert_str_eq(tok, "+Inf");
			else
				ck_assert_msg(dec_to_ns(tok, &le) &&
						      le == UINT64_C(1024) << i,
					      "%s: le %s", where, tok);
			want_u64(where, smp[at + i].value, cum);
		}
		snprintf(where, sizeof(where), "%s_sum", hists[h].prom);
		ck_assert_str_eq(smp[at + HUPMON_HIST_BUCKETS].series, where);
		want_secs(where, smp[at + HUPMON_HIST_BUCKETS].value,
			  hist->sum_ns);
		snprintf(where, sizeof(where), "%s_count", hists[h].prom);
		ck_assert_str_eq(smp[at + HUPMON_HIST_BUCKETS + 1].series,
				 where);
		want_u64(where, smp[at + HUPMON_HIST_BUCKETS + 1].value, cum);
	}
}

START_TEST(test_prom_filled)
{
	struct hupmon_stats s;
	char *text;

	fill(&s);
	text = render(&s, sizeof(s), HUPMON_FORMAT_PROMETHEUS);
	check_prom(&s, text);
	ck_assert_ptr_null(strstr(text, "7777777"));
	free(text);
}
END_TEST

START_TEST(test_prom_zero)
{
	struct hupmon_stats s;
	char *text;

	memset(&s, 0, sizeof(s));
	text = render(&s, sizeof(s), HUPMON_FORMAT_PROMETHEUS);
	check_prom(&s, text);
	free(text);
}
END_TEST

/* The exposition needs count == the +Inf bucket, so both come from the
 * buckets; saturated buckets stay cumulative instead of wrapping. */
START_TEST(test_prom_max)
{
	struct hupmon_stats s;
	char *text;

	memset(&s, 0xff, sizeof(s));
	text = render(&s, sizeof(s), HUPMON_FORMAT_PROMETHEUS);
	check_prom(&s, text);
	free(text);
}
END_TEST

/* ---- text ------------------------------------------------------------ */

/*
 * The value on the line "  <label>  value" in the section that starts with
 * the line heading, runs of spaces squeezed. Sections end at the next line
 * that does not start with a space.
 */
static bool text_value(const char *text, const char *heading, const char *label,
		       char *out, size_t outlen)
{
	size_t hl = strlen(heading), ll = strlen(label);
	const char *line = text;

	for (;;) {
		if (!strncmp(line, heading, hl) &&
		    (line[hl] == ' ' || line[hl] == '\n'))
			break;
		line = strchr(line, '\n');
		if (!line)
			return false;
		line++;
	}
	for (line = strchr(line, '\n') + 1; *line == ' ';
	     line = strchr(line, '\n') + 1) {
		const char *v = line + 2 + ll;
		size_t n = 0;

		if (strncmp(line + 2, label, ll) || *v != ' ')
			continue;
		while (*v == ' ')
			v++;
		for (; *v != '\n' && n + 1 < outlen; v++)
			if (*v != ' ' || v[1] != ' ')
				out[n++] = *v;
		out[n] = '\0';
		return true;
	}
	return false;
}

static const struct {
	const char *heading, *label, *value;
} text_cases[] = {
	{"sockets", "watched", "101"},
	{"sockets", "under the sweep", "102"},
	{"sockets", "memory bytes", "1234567 (1.18 MiB)"},
	{"registry", "watches", "104"},
	{"registry", "unwatches", "105"},
	{"registry", "unwatch rejected", "120"},
	{"registry", "retired", "121"},
	{"registry", "watch rejected ebadf", "110"},
	{"registry", "watch rejected other", "115"},
	{"reports", "escalations", "130"},
	{"reports", "callbacks", "131"},
	{"hangups", "peer_shutdown", "1101 1201"},
	{"hangups", "error", "1105 1205"},
	{"epoll", "wakeups", "140"},
	{"epoll", "events", "141"},
	{"epoll", "stale events", "142"},
	{"epoll", "ignored events", "143"},
	{"sweep", "ticks", "150"},
	{"sweep", "probes", "151"},
	{"sweep", "overruns", "152"},
	{"sweep", "piled up", "153"},
	{"sweep", "laps", "154"},
	{"sweep", "last lap", "12.35 ms"},
	{"sweep", "worst lap", "23.46 ms"},
	{"sweep", "worst slice", "3.46 ms"},
	{"sweep", "tick interval", "10.00 ms"},
	{"compare, epoll path", "reset", "2103 3103 4103 5103"},
	{"compare, sweep path", "timeout", "2204 3204 4204 5204"},
	/* buckets 1..32: 528 values, the 264th in bucket 22, the 523rd in
	 * the last */
	{"callback duration", "count", "528"},
	{"callback duration", "sum", "123.46 s"},
	{"callback duration", "mean", "233.82 ms"},
	{"callback duration", "p50", "<= 4.29 s"},
	{"callback duration", "p99", "> 1099.51 s"},
	{"callback duration", "<= 1.02 us", "1"},
	{"callback duration", "<= 1099.51 s", "31"},
	{"callback duration", "> 1099.51 s", "32"},
	/* buckets 1000..1031: 32496 values, the 16248th in bucket 16 */
	{"compare lag", "count", "32496"},
	{"compare lag", "p50", "<= 67.11 ms"},
	{"compare lag", "p99", "> 1099.51 s"},
	{"compare lag", "<= 2.05 us", "1001"},
};

static void check_text_shape(const char *text)
{
	static const char *const order[] = {
		"sockets\n",
		"registry\n",
		"reports\n",
		"hangups ",
		"epoll\n",
		"sweep\n",
		"compare, epoll path ",
		"compare, sweep path ",
		"callback duration\n",
		"compare lag\n",
	};
	const char *at = text;

	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		at = strstr(at, order[i]);
		ck_assert_msg(at && (at == text || at[-1] == '\n'),
			      "heading %zu '%s' missing or out of order", i,
			      order[i]);
	}
	ck_assert(text[strlen(text) - 1] == '\n');
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');

		ck_assert_msg(nl - line <= 80, "line over 80 columns: %.*s",
			      (int)(nl - line), line);
		ck_assert_msg(!memchr(line, '\t', (size_t)(nl - line)),
			      "tab in %.*s", (int)(nl - line), line);
		line = nl + 1;
	}
}

START_TEST(test_text_filled)
{
	struct hupmon_stats s;
	char *text, got[128];

	fill(&s);
	text = render(&s, sizeof(s), HUPMON_FORMAT_TEXT);
	check_text_shape(text);
	ck_assert_ptr_null(strstr(text, "7777777"));
	for (size_t i = 0; i < ARRAY_SIZE(text_cases); i++) {
		ck_assert_msg(text_value(text, text_cases[i].heading,
					 text_cases[i].label, got, sizeof(got)),
			      "%s/%s missing", text_cases[i].heading,
			      text_cases[i].label);
		ck_assert_msg(!strcmp(got, text_cases[i].value),
			      "%s/%s: got '%s', want '%s'",
			      text_cases[i].heading, text_cases[i].label, got,
			      text_cases[i].value);
	}
	free(text);
}
END_TEST

START_TEST(test_text_zero)
{
	struct hupmon_stats s;
	char *text, got[128];

	memset(&s, 0, sizeof(s));
	text = render(&s, sizeof(s), HUPMON_FORMAT_TEXT);
	check_text_shape(text);
	ck_assert(text_value(text, "sweep", "tick interval", got, sizeof(got)));
	ck_assert_str_eq(got, "disarmed");
	ck_assert(
		text_value(text, "sockets", "memory bytes", got, sizeof(got)));
	ck_assert_str_eq(got, "0");
	/* An empty histogram shows its count only. */
	ck_assert(text_value(text, "compare lag", "count", got, sizeof(got)));
	ck_assert_str_eq(got, "0");
	ck_assert(!text_value(text, "compare lag", "p50", got, sizeof(got)));
	ck_assert(!text_value(text, "callback duration", "mean", got,
			      sizeof(got)));
	free(text);
}
END_TEST

/* Human units switch where two decimals would round up to 1000. */
static const struct {
	uint64_t ns;
	const char *human;
} human_cases[] = {
	{1, "1 ns"},
	{999, "999 ns"},
	{1000, "1.00 us"},
	{1024, "1.02 us"},
	{999994, "999.99 us"},
	{999995, "1.00 ms"},
	{12345678, "12.35 ms"},
	{999994999, "999.99 ms"},
	{999995000, "1.00 s"},
	{1500000000, "1.50 s"},
	{UINT64_MAX, "18446744073.71 s"},
};

START_TEST(test_text_human)
{
	struct hupmon_stats s;
	char *text, got[128];

	memset(&s, 0, sizeof(s));
	s.sweep_lap_last_ns = human_cases[_i].ns;
	text = render(&s, sizeof(s), HUPMON_FORMAT_TEXT);
	ck_assert(text_value(text, "sweep", "last lap", got, sizeof(got)));
	ck_assert_str_eq(got, human_cases[_i].human);
	free(text);
}
END_TEST

/* Percentiles are the bound of the bucket holding the ceil(total * q)-th
 * value, computed without overflowing. */
static const struct {
	unsigned i[2];
	uint64_t n[2];
	const char *p50, *p99;
} pct_cases[] = {
	{{3, 3}, {1, 0}, "<= 8.19 us", "<= 8.19 us"},
	{{0, 1}, {1, 2}, "<= 2.05 us", "<= 2.05 us"},
	{{0, 1}, {2, 1}, "<= 1.02 us", "<= 2.05 us"},
	{{0, 31}, {99, 1}, "<= 1.02 us", "<= 1.02 us"},
	{{0, 31}, {98, 2}, "<= 1.02 us", "> 1099.51 s"},
	{{30, 31}, {1, 1}, "<= 1099.51 s", "> 1099.51 s"},
	{{0, 1}, {UINT64_MAX / 2, UINT64_MAX / 2}, "<= 1.02 us", "<= 2.05 us"},
};

START_TEST(test_text_percentiles)
{
	struct hupmon_stats s;
	char *text, got[128];

	memset(&s, 0, sizeof(s));
	for (int k = 0; k < 2; k++) {
		s.cmp_lag.bucket[pct_cases[_i].i[k]] += pct_cases[_i].n[k];
		s.cmp_lag.count += pct_cases[_i].n[k];
	}
	text = render(&s, sizeof(s), HUPMON_FORMAT_TEXT);
	ck_assert(text_value(text, "compare lag", "p50", got, sizeof(got)));
	ck_assert_str_eq(got, pct_cases[_i].p50);
	ck_assert(text_value(text, "compare lag", "p99", got, sizeof(got)));
	ck_assert_str_eq(got, pct_cases[_i].p99);
	free(text);
}
END_TEST

/* Wide counts widen the table instead of running columns together. */
START_TEST(test_text_wide_table)
{
	struct hupmon_stats s;
	char *text, got[128];

	memset(&s, 0, sizeof(s));
	s.hangups[HUPMON_PATH_EPOLL][HUPMON_CAUSE_RESET] = UINT64_MAX;
	s.hangups[HUPMON_PATH_SWEEP][HUPMON_CAUSE_RESET] = 7;
	text = render(&s, sizeof(s), HUPMON_FORMAT_TEXT);
	ck_assert(text_value(text, "hangups", "reset", got, sizeof(got)));
	ck_assert_str_eq(got, "18446744073709551615 7");
	free(text);
}
END_TEST

/* ---- the snprintf contract ------------------------------------------- */

#define GUARD  32
#define CANARY 0xa5

/* Every buffer length from 0 to past the full size: the same return, the
 * longest prefix that fits plus a NUL, and nothing written past len. */
START_TEST(test_truncation)
{
	enum hupmon_format f = formats[_i];
	struct hupmon_stats s;
	char *full;
	size_t n;

	fill(&s);
	full = render(&s, sizeof(s), f);
	n = strlen(full);
	for (size_t len = 0; len <= n + 2; len++) {
		unsigned char *b = malloc(len + GUARD);
		size_t keep = len ? (len - 1 < n ? len - 1 : n) : 0;

		ck_assert_ptr_nonnull(b);
		memset(b, CANARY, len + GUARD);
		ck_assert_int_eq(hupmon_stats_format(&s, f, (char *)b, len),
				 (int)n);
		for (size_t k = len; k < len + GUARD; k++)
			ck_assert_msg(b[k] == CANARY,
				      "len %zu: byte %zu overwritten", len, k);
		if (len) {
			ck_assert_msg(b[keep] == '\0', "len %zu: no NUL", len);
			ck_assert_msg(!memcmp(b, full, keep),
				      "len %zu: not a prefix", len);
		}
		free(b);
	}
	/* len 0 may come with a NULL buffer. */
	ck_assert_int_eq(hupmon_stats_format(&s, f, NULL, 0), (int)n);
	free(full);
}
END_TEST

/* The expected rendering of fill()'s snapshot, by format. */
static const char *const expected[] = {
	[HUPMON_FORMAT_TEXT] = "stats_filled.txt",
	[HUPMON_FORMAT_JSON] = "stats_filled.json",
	[HUPMON_FORMAT_PROMETHEUS] = "stats_filled.prom",
};

/* The whole content of tests/expected/name in a fresh malloc'd string. */
static char *read_expected(const char *name)
{
	char path[512];
	FILE *f;
	long n;
	char *buf;

	snprintf(path, sizeof(path), "%s/expected/%s", HUPMON_TEST_DIR, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The same snapshot always renders to the same text, and that text is the
 * one in tests/expected/: every line of every format, not only the fields
 * the other tests pick out. A deliberate change of a rendering (a counter
 * added) rewrites the files with HUPMON_TEST_UPDATE_EXPECTED=1, to be
 * reviewed in the diff. */
START_TEST(test_deterministic)
{
	struct hupmon_stats s;
	char *got, *want;

	fill(&s);
	got = render(&s, sizeof(s), formats[_i]);
	if (getenv("HUPMON_TEST_UPDATE_EXPECTED")) {
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/expected/%s", HUPMON_TEST_DIR,
			 expected[formats[_i]]);
		f = fopen(path, "wb");
		ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
		ck_assert_uint_eq(fwrite(got, 1, strlen(got), f), strlen(got));
		ck_assert_int_eq(fclose(f), 0);
	}
	want = read_expected(expected[formats[_i]]);
	assert_same(got, want);
	free(got);
	free(want);
}
END_TEST

static const struct {
	bool null_stats;
	int format;
	bool null_buf;
	size_t len;
} bad_cases[] = {
	{true, HUPMON_FORMAT_TEXT, false, 64},
	{true, HUPMON_FORMAT_JSON, false, 64},
	{true, HUPMON_FORMAT_PROMETHEUS, true, 0},
	{false, HUPMON_FORMAT_TEXT, true, 1},
	{false, HUPMON_FORMAT_JSON, true, 64},
	{false, HUPMON_FORMAT_PROMETHEUS, true, SIZE_MAX},
	{false, 0, false, 64},
	{false, 4, false, 64},
	{false, -1, false, 64},
	{false, INT_MAX, true, 0},
};

/* Refused calls write nothing. */
START_TEST(test_bad_args)
{
	struct hupmon_stats s;
	unsigned char buf[64 + GUARD];

	fill(&s);
	memset(buf, CANARY, sizeof(buf));
	ck_assert_int_eq(
		hupmon_stats_format(bad_cases[_i].null_stats ? NULL : &s,
				    (enum hupmon_format)bad_cases[_i].format,
				    bad_cases[_i].null_buf ? NULL : (char *)buf,
				    bad_cases[_i].len),
		-EINVAL);
	for (size_t k = 0; k < sizeof(buf); k++)
		ck_assert_uint_eq(buf[k], CANARY);
}
END_TEST

static Suite *format_suite(void)
{
	Suite *s = suite_create("format");
	TCase *tc;

	tc = tcase_create("names");
	tcase_add_loop_test(tc, test_cause_name, 0, ARRAY_SIZE(cause_cases));
	tcase_add_loop_test(tc, test_path_name, 0, ARRAY_SIZE(path_cases));
	tcase_add_loop_test(tc, test_reject_name, 0, ARRAY_SIZE(reject_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("hist_bounds");
	tcase_add_loop_test(tc, test_hist_bound, 0, ARRAY_SIZE(bound_cases));
	tcase_add_test(tc, test_hist_bound_doubles);
	suite_add_tcase(s, tc);

	tc = tcase_create("json_parser");
	tcase_add_loop_test(tc, test_json_parser, 0, ARRAY_SIZE(json_cases));
	tcase_add_test(tc, test_json_parser_paths);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_json_filled);
	tcase_add_test(tc, test_json_zero);
	tcase_add_test(tc, test_json_max);
	tcase_add_loop_test(tc, test_json_seconds, 0, ARRAY_SIZE(secs_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("prometheus");
	tcase_add_test(tc, test_prom_filled);
	tcase_add_test(tc, test_prom_zero);
	tcase_add_test(tc, test_prom_max);
	suite_add_tcase(s, tc);

	tc = tcase_create("text");
	tcase_add_test(tc, test_text_filled);
	tcase_add_test(tc, test_text_zero);
	tcase_add_loop_test(tc, test_text_human, 0, ARRAY_SIZE(human_cases));
	tcase_add_loop_test(tc, test_text_percentiles, 0,
			    ARRAY_SIZE(pct_cases));
	tcase_add_test(tc, test_text_wide_table);
	suite_add_tcase(s, tc);

	/* Every length of every format: slow under sanitizers. */
	tc = tcase_create("truncation");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_truncation, 0, ARRAY_SIZE(formats));
	tcase_add_loop_test(tc, test_deterministic, 0, ARRAY_SIZE(formats));
	suite_add_tcase(s, tc);

	tc = tcase_create("bad_args");
	tcase_add_loop_test(tc, test_bad_args, 0, ARRAY_SIZE(bad_cases));
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	return fx_run_suite(format_suite());
}
