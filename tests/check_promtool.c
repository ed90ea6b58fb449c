/* SPDX-License-Identifier: MIT */
/*
 * check_promtool: the Prometheus rendering of src/format_prom.c against the
 * text exposition format 0.0.4, twice over: our own line checks below (one
 * TYPE per family before its samples, samples grouped under it, unique
 * series, cumulative histogram buckets ending in +Inf == _count, the naming
 * rules promtool lints), and promtool itself (`promtool check metrics`),
 * which parses the text and lints names and help.
 *
 * Without promtool on PATH the own checks still run; the suite then prints
 * why and exits 77, the CTest skip code, so a missing tool never passes for
 * a checked exposition.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hupmon.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static char promtool[4096]; /* its path; empty if not found */

static bool find_promtool(void)
{
	const char *path = getenv("PATH");

	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);

		snprintf(promtool, sizeof(promtool), "%.*s/promtool", (int)n,
			 n ? path : ".");
		if (access(promtool, X_OK) == 0)
			return true;
		path = end ? end + 1 : NULL;
	}
	promtool[0] = '\0';
	return false;
}

/* ---- snapshots ------------------------------------------------------- */

static void hist_fill(struct hupmon_hist *h, uint64_t *v)
{
	h->count = 0;
	for (unsigned i = 0; i < HUPMON_HIST_BUCKETS; i++) {
		h->bucket[i] = (*v)++;
		h->count += h->bucket[i];
	}
	h->sum_ns = (*v)++ * 1000003;
}

static void fill_matrix(uint64_t t[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT],
			uint64_t *v)
{
	for (unsigned p = 1; p < 3; p++)
		for (unsigned c = 1; c <= HUPMON_CAUSE_MAX; c++)
			t[p][c] = (*v)++;
}

/* Every field its own value; histograms consistent (count == buckets). */
static void snap_filled(struct hupmon_stats *s)
{
	uint64_t v = 1;

	memset(s, 0, sizeof(*s));
	s->watched = v++;
	s->swept = v++;
	s->memory_bytes = v++ * 4096;
	s->watches = v++;
	s->unwatches = v++;
	for (unsigned r = 0; r < HUPMON_REJECT_COUNT; r++)
		s->watch_rejected[r] = v++;
	s->unwatch_rejected = v++;
	s->retired = v++;
	fill_matrix(s->hangups, &v);
	s->escalations = v++;
	s->callbacks = v++;
	hist_fill(&s->callback_duration, &v);
	s->epoll_wakeups = v++;
	s->epoll_events = v++;
	s->stale_events = v++;
	s->ignored_events = v++;
	s->sweep_ticks = v++;
	s->sweep_probes = v++;
	s->sweep_overruns = v++;
	s->sweep_piled_up = v++;
	s->sweep_laps = v++;
	s->sweep_lap_last_ns = v++ * 1000001;
	s->sweep_lap_worst_ns = v++ * 1000001;
	s->sweep_slice_worst_ns = v++ * 1001;
	s->sweep_tick_ns = 10000000;
	s->sweep_gap_worst_ns = v++ * 1000003;
	s->sweep_gap_bound_ns = 110000000;
	s->sweep_lap_effective_ns = 100000000;
	for (unsigned r = 1; r <= HUPMON_STALL_REASON_MAX; r++) {
		s->stalls[r] = v++;
		s->stall_recoveries[r] = v++;
	}
	s->stall_escalations = v++;
	s->stall_closed = v++;
	s->epoll_cookie_reads = v++;
	s->epoll_error_reads = v++;
	s->sweep_cookie_reads = v++;
	s->sweep_error_reads = v++;
	fill_matrix(s->cmp_first, &v);
	fill_matrix(s->cmp_second, &v);
	fill_matrix(s->cmp_missed, &v);
	fill_matrix(s->cmp_cut_short, &v);
	hist_fill(&s->cmp_lag, &v);
}

static void snap_zero(struct hupmon_stats *s)
{
	memset(s, 0, sizeof(*s));
}

/* Saturated counters and sums: the exposition must stay valid. */
static void snap_max(struct hupmon_stats *s)
{
	memset(s, 0xff, sizeof(*s));
}

/* A few values in a few buckets, like a real monitor. */
static void snap_sparse(struct hupmon_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->watched = 3;
	s->watches = 5;
	s->hangups[HUPMON_PATH_EPOLL][HUPMON_CAUSE_RESET] = 2;
	s->callback_duration.bucket[2] = 1;
	s->callback_duration.bucket[7] = 1;
	s->callback_duration.count = 2;
	s->callback_duration.sum_ns = 4000 + 100000;
}

/* A count that disagrees with its buckets (a stats bug, or a snapshot torn
 * by one): the exposition must still add up. */
static void snap_torn(struct hupmon_stats *s)
{
	snap_sparse(s);
	s->callback_duration.count = 5;
	s->cmp_lag.count = 1;
}

static const struct {
	const char *name;
	void (*fill)(struct hupmon_stats *s);
} snaps[] = {
	{"filled", snap_filled}, {"zero", snap_zero}, {"max", snap_max},
	{"sparse", snap_sparse}, {"torn", snap_torn},
};

static char *render(int snap)
{
	struct hupmon_stats s;
	char *buf;
	int n;

	snaps[snap].fill(&s);
	n = hupmon_stats_format(&s, HUPMON_FORMAT_PROMETHEUS, NULL, 0);
	ck_assert_int_gt(n, 0);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(hupmon_stats_format(&s, HUPMON_FORMAT_PROMETHEUS, buf,
					     (size_t)n + 1),
			 n);
	return buf;
}

/* ---- our own line checks --------------------------------------------- */

#define MAX_FAMILIES 64
#define MAX_SERIES   512

struct family {
	char name[96];
	char type[16];
	unsigned samples;
};

struct lint {
	struct family fam[MAX_FAMILIES];
	unsigned nfam;
	struct family *cur; /* the family the samples belong to */
	char help[96];	    /* name of the HELP on the line before */
	char series[MAX_SERIES][160];
	unsigned nseries;
	/* the current histogram */
	unsigned buckets;
	double last_le;
	uint64_t last_cum;
	bool inf, sum, count;
	char err[256];
	unsigned line;
};

static bool __attribute__((format(printf, 2, 3)))
lint_fail(struct lint *l, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(l->err, sizeof(l->err), "line %u: ", l->line);

	va_start(ap, fmt);
	vsnprintf(l->err + n, sizeof(l->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* (labels: no colon); returns its length. */
static size_t name_len(const char *p, bool label)
{
	size_t n = 0;

	for (;; n++) {
		char c = p[n];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     c == '_' || (!label && c == ':');

		if (!alpha && !(n && c >= '0' && c <= '9'))
			return n;
	}
}

static bool full_double(const char *s, double *v)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	*v = strtod(s, &end);
	return !*end && errno != ERANGE;
}

static bool full_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !*end && !errno;
}

/* The last histogram is complete: buckets up to +Inf, then sum and count. */
static bool end_family(struct lint *l)
{
	if (l->cur && !l->cur->samples)
		return lint_fail(l, "%s has no samples", l->cur->name);
	if (l->cur && !strcmp(l->cur->type, "histogram") &&
	    (!l->inf || !l->sum || !l->count))
		return lint_fail(l, "%s lacks the +Inf bucket, _sum or _count",
				 l->cur->name);
	return true;
}

static bool lint_type(struct lint *l, const char *name, const char *type)
{
	struct family *f;

	if (!end_family(l))
		return false;
	if (strcmp(l->help, name))
		return lint_fail(l, "TYPE %s not right after its HELP", name);
	for (unsigned i = 0; i < l->nfam; i++)
		if (!strcmp(l->fam[i].name, name))
			return lint_fail(l, "second TYPE for %s", name);
	if (strcmp(type, "counter") && strcmp(type, "gauge") &&
	    strcmp(type, "histogram"))
		return lint_fail(l, "%s: unexpected type %s", name, type);
	if (!strcmp(type, "counter") != ends_with(name, "_total"))
		return lint_fail(l, "%s: only counters end in _total", name);
	if (!strcmp(type, "histogram") && !ends_with(name, "_seconds"))
		return lint_fail(l, "%s: histogram without a unit", name);
	if (ends_with(name, "_bucket") || ends_with(name, "_sum") ||
	    ends_with(name, "_count"))
		return lint_fail(l, "%s: reserved suffix", name);
	if (l->nfam == MAX_FAMILIES)
		return lint_fail(l, "too many families");
	f = &l->fam[l->nfam++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->type, sizeof(f->type), "%s", type);
	f->samples = 0;
	l->cur = f;
	l->buckets = 0;
	l->last_le = -INFINITY;
	l->last_cum = 0;
	l->inf = l->sum = l->count = false;
	return true;
}

static bool lint_comment(struct lint *l, char *line)
{
	char *name = line + 7, *rest;
	size_t n = name_len(name, false);

	if (strncmp(line, "# HELP ", 7) && strncmp(line, "# TYPE ", 7))
		return lint_fail(l, "unexpected comment");
	if (!n || name[n] != ' ' || !name[n + 1])
		return lint_fail(l, "bad HELP/TYPE line");
	name[n] = '\0';
	rest = name + n + 1;
	if (strncmp(name, "hupmon_", 7))
		return lint_fail(l, "%s: no hupmon_ prefix", name);
	if (line[2] == 'H') {
		for (unsigned i = 0; i < l->nfam; i++)
			if (!strcmp(l->fam[i].name, name))
				return lint_fail(
					l, "HELP for %s after its TYPE", name);
		snprintf(l->help, sizeof(l->help), "%s", name);
		return true;
	}
	return lint_type(l, name, rest);
}

/* {k="v",...}: names, escapes, no repeated name; notes the le value. */
static bool lint_labels(struct lint *l, const char *p, size_t *len, char *le,
			size_t lelen)
{
	char names[8][64];
	unsigned n = 0;
	const char *start = p;

	le[0] = '\0';
	if (*p != '{') {
		*len = 0;
		return true;
	}
	p++;
	while (*p != '}') {
		size_t k = name_len(p, true);
		char val[64];
		size_t vn = 0;

		if (!k || k >= sizeof(names[0]) || p[k] != '=' ||
		    p[k + 1] != '"' || n == ARRAY_SIZE(names))
			return lint_fail(l, "bad label at %.20s", p);
		snprintf(names[n], sizeof(names[0]), "%.*s", (int)k, p);
		for (unsigned i = 0; i < n; i++)
			if (!strcmp(names[i], names[n]))
				return lint_fail(l, "label %s twice", names[n]);
		n++;
		for (p += k + 2; *p != '"'; p++) {
			if (!*p || *p == '\n')
				return lint_fail(l, "unterminated label value");
			if (*p == '\\' && (!*++p || !strchr("\\\"n", *p)))
				return lint_fail(l,
						 "bad escape in label value");
			if (vn + 1 < sizeof(val))
				val[vn++] = *p;
		}
		val[vn] = '\0';
		if (!strcmp(names[n - 1], "le"))
			snprintf(le, lelen, "%s", val);
		p++;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return lint_fail(l, "bad label list");
	}
	*len = (size_t)(p + 1 - start);
	return true;
}

static bool lint_bucket(struct lint *l, const char *le, const char *value)
{
	double bound;
	uint64_t cum;

	if (!*le)
		return lint_fail(l, "bucket without le");
	if (l->inf || l->sum || l->count)
		return lint_fail(l, "bucket after +Inf, _sum or _count");
	if (!strcmp(le, "+Inf"))
		bound = INFINITY;
	else if (!full_double(le, &bound) || isinf(bound))
		return lint_fail(l, "bad le %s", le);
	if (!(bound > l->last_le))
		return lint_fail(l, "le %s not above the previous bucket's",
				 le);
	if (!full_u64(value, &cum) || cum < l->last_cum)
		return lint_fail(l, "bucket count %s not cumulative", value);
	l->last_le = bound;
	l->last_cum = cum;
	l->inf = isinf(bound);
	l->buckets++;
	return true;
}

static bool lint_sample(struct lint *l, char *line)
{
	size_t n = name_len(line, false), lablen = 0;
	char name[128], le[64], *value;
	const char *suffix = "";
	struct family *f = l->cur;
	double v;

	if (!n || n >= sizeof(name))
		return lint_fail(l, "bad metric name");
	snprintf(name, sizeof(name), "%.*s", (int)n, line);
	if (!lint_labels(l, line + n, &lablen, le, sizeof(le)))
		return false;
	if (line[n + lablen] != ' ')
		return lint_fail(l, "no single space before the value");
	value = line + n + lablen + 1;
	if (strchr(value, ' '))
		return lint_fail(l, "more than a value (a timestamp?)");
	if (!full_double(value, &v))
		return lint_fail(l, "bad value %s", value);
	if (!f)
		return lint_fail(l, "sample %s before any TYPE", name);

	if (!strcmp(f->type, "histogram")) {
		size_t fl = strlen(f->name);

		if (strncmp(name, f->name, fl))
			return lint_fail(l, "%s is not in family %s", name,
					 f->name);
		suffix = name + fl;
		if (strcmp(suffix, "_bucket") && strcmp(suffix, "_sum") &&
		    strcmp(suffix, "_count"))
			return lint_fail(l, "%s is not in family %s", name,
					 f->name);
	} else if (strcmp(name, f->name)) {
		return lint_fail(l, "%s is not in family %s", name, f->name);
	}
	if (*le && strcmp(suffix, "_bucket"))
		return lint_fail(l, "le label outside a bucket");
	if (strcmp(f->type, "gauge") && !(v >= 0))
		return lint_fail(l, "negative counter %s", value);

	if (l->nseries == MAX_SERIES)
		return lint_fail(l, "too many series");
	snprintf(l->series[l->nseries], sizeof(l->series[0]), "%.*s",
		 (int)(n + lablen), line);
	for (unsigned i = 0; i < l->nseries; i++)
		if (!strcmp(l->series[i], l->series[l->nseries]))
			return lint_fail(l, "series %s twice", l->series[i]);
	l->nseries++;
	f->samples++;

	if (!strcmp(suffix, "_bucket"))
		return lint_bucket(l, le, value);
	if (!strcmp(suffix, "_sum")) {
		if (!l->inf || l->sum || l->count)
			return lint_fail(l, "_sum out of order");
		l->sum = true;
	} else if (!strcmp(suffix, "_count")) {
		uint64_t c;

		if (!l->sum || l->count)
			return lint_fail(l, "_count out of order");
		if (!full_u64(value, &c) || c != l->last_cum)
			return lint_fail(l, "_count %s is not the +Inf bucket",
					 value);
		l->count = true;
	}
	return true;
}

/* NULL if text is a well-formed exposition by the rules above, else why
 * not (in a static buffer). */
static const char *lint(const char *text)
{
	static struct lint l;
	char line[512];

	memset(&l, 0, sizeof(l));
	if (!*text || text[strlen(text) - 1] != '\n')
		return "empty, or no newline at the end";
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t n = (size_t)(nl - text);
		bool ok;

		l.line++;
		if (!n || n >= sizeof(line)) {
			lint_fail(&l, "empty or too long");
			return l.err;
		}
		memcpy(line, text, n);
		line[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if (line[i] < 0x20 || line[i] > 0x7e) {
				lint_fail(&l, "not printable ASCII");
				return l.err;
			}
		if (line[n - 1] == ' ') {
			lint_fail(&l, "trailing space");
			return l.err;
		}
		ok = line[0] == '#' ? lint_comment(&l, line)
				    : lint_sample(&l, line);
		if (ok && line[0] != '#')
			l.help[0] = '\0';
		if (!ok)
			return l.err;
		text = nl + 1;
	}
	if (!end_family(&l))
		return l.err;
	return NULL;
}

START_TEST(test_lines)
{
	char *text = render(_i);
	const char *err = lint(text);

	ck_assert_msg(!err, "%s snapshot: %s", snaps[_i].name, err);
	free(text);
}
END_TEST

/* The checker itself: it must reject what the format forbids. */
#define HT(n, t) "# HELP " n " h.\n# TYPE " n " " t "\n"
static const struct {
	const char *text;
	bool ok;
} lint_cases[] = {
	{HT("hupmon_a_total", "counter") "hupmon_a_total{x=\"1\"} 1\n"
					 "hupmon_a_total{x=\"2\"} 0\n",
	 true},
	{HT("hupmon_h_seconds",
	    "histogram") "hupmon_h_seconds_bucket{le=\"1\"} "
			 "1\nhupmon_h_seconds_bucket{le=\"+Inf\"} 2\n"
			 "hupmon_h_seconds_sum 3.5\nhupmon_h_seconds_count 2\n",
	 true},
	{"hupmon_a_total 1\n", false},
	{HT("hupmon_a", "counter") "hupmon_a 1\n", false},
	{HT("hupmon_a_total", "gauge") "hupmon_a_total 1\n", false},
	{"# TYPE hupmon_a gauge\nhupmon_a 1\n", false},
	{HT("hupmon_a", "gauge"), false},
	{HT("hupmon_a", "gauge") "hupmon_a 1\nhupmon_a 2\n", false},
	{HT("hupmon_a", "gauge") "hupmon_a 1\n" HT("hupmon_b",
						   "gauge") "hupmon_a 2\n",
	 false},
	{HT("hupmon_a", "gauge") "hupmon_a{x=\"1\",x=\"2\"} 1\n", false},
	{HT("hupmon_a", "gauge") "hupmon_a{x=\"1} 1\n", false},
	{HT("hupmon_a", "gauge") "hupmon_a 1x\n", false},
	{HT("hupmon_a", "gauge") "hupmon_a 1 123\n", false},
	{HT("hupmon_a", "gauge") "hupmon_a 1", false},
	{HT("hupmon_h_seconds",
	    "histogram") "hupmon_h_seconds_bucket{le=\"1\"} "
			 "2\nhupmon_h_seconds_bucket{le=\"+Inf\"} 1\n"
			 "hupmon_h_seconds_sum 3\nhupmon_h_seconds_count 1\n",
	 false},
	{HT("hupmon_h_seconds",
	    "histogram") "hupmon_h_seconds_bucket{le=\"2\"} "
			 "1\nhupmon_h_seconds_bucket{le=\"1\"} 1\n"
			 "hupmon_h_seconds_bucket{le=\"+Inf\"} 1\n"
			 "hupmon_h_seconds_sum 3\nhupmon_h_seconds_count 1\n",
	 false},
	{HT("hupmon_h_seconds",
	    "histogram") "hupmon_h_seconds_bucket{le=\"1\"} "
			 "1\nhupmon_h_seconds_sum 3\nhupmon_h_seconds_count "
			 "1\n",
	 false},
	{HT("hupmon_h_seconds",
	    "histogram") "hupmon_h_seconds_bucket{le=\"+Inf\"}"
			 " 2\nhupmon_h_seconds_sum 3\nhupmon_h_seconds_count "
			 "1\n",
	 false},
	{HT("hupmon_h_seconds",
	    "histogram") "hupmon_h_seconds_bucket{le=\"+Inf\"}"
			 " 2\nhupmon_h_seconds_sum 3\n",
	 false},
	{HT("hupmon_h", "histogram") "hupmon_h_bucket{le=\"+Inf\"} 0\n"
				     "hupmon_h_sum 0\nhupmon_h_count 0\n",
	 false},
};

START_TEST(test_lint_self)
{
	const char *err = lint(lint_cases[_i].text);

	ck_assert_msg(!err == lint_cases[_i].ok, "case %d: %s", _i,
		      err ? err : "accepted");
}
END_TEST

/* ---- promtool -------------------------------------------------------- */

/* Runs `promtool check metrics < text`; returns its exit status (or -1)
 * and its merged output in out. */
static int run_promtool(const char *text, char *out, size_t outlen)
{
	char file[] = "/tmp/hupmon_promtool_XXXXXX";
	size_t len = strlen(text), n = 0;
	int fd, pipefd[2], status;
	pid_t pid;
	ssize_t r;

	fd = mkstemp(file);
	ck_assert_int_ge(fd, 0);
	unlink(file);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *argv[] = {promtool, "check", "metrics", NULL};

		dup2(fd, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execv(promtool, argv);
		_exit(127);
	}
	close(pipefd[1]);
	close(fd);
	while ((r = read(pipefd[0], out + n, outlen - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(pipefd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_promtool)
{
	char *text = render(_i), out[4096];
	int rc = run_promtool(text, out, sizeof(out));

	ck_assert_msg(rc == 0, "%s snapshot: promtool exit %d:\n%s",
		      snaps[_i].name, rc, out);
	free(text);
}
END_TEST

/* promtool really runs and fails what it should (so a pass means it). */
START_TEST(test_promtool_rejects)
{
	char out[4096];
	int rc = run_promtool("# TYPE hupmon_x counter\nhupmon_x 1\n", out,
			      sizeof(out));

	ck_assert_msg(rc != 0 && rc != 127, "promtool exit %d: %s", rc, out);
	ck_assert_ptr_nonnull(strstr(out, "_total"));
}
END_TEST

static Suite *promtool_suite(bool have_promtool)
{
	Suite *s = suite_create("promtool");
	TCase *tc;

	tc = tcase_create("lines");
	tcase_add_loop_test(tc, test_lines, 0, ARRAY_SIZE(snaps));
	tcase_add_loop_test(tc, test_lint_self, 0, ARRAY_SIZE(lint_cases));
	suite_add_tcase(s, tc);

	if (have_promtool) {
		tc = tcase_create("promtool");
		tcase_set_timeout(tc, 60);
		tcase_add_loop_test(tc, test_promtool, 0, ARRAY_SIZE(snaps));
		tcase_add_test(tc, test_promtool_rejects);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	bool have = find_promtool();
	SRunner *sr = srunner_create(promtool_suite(have));
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (failed)
		return EXIT_FAILURE;
	if (!have) {
		printf("SKIP: promtool not found (Debian package "
		       "prometheus)\n");
		return 77;
	}
	return EXIT_SUCCESS;
}
