/* SPDX-License-Identifier: MIT */
/*
 * check_sized: the size of the caller's struct at the five *_sized entry
 * points (hupmon_new_sized, hupmon_watch_ex_sized, hupmon_query_sized,
 * hupmon_stats_sized, hupmon_stats_format_sized). Every size of one table
 * is tried at each: no size below the first release's (0.1.0; 0.2.0 for
 * hupmon_status) or cutting a field is read (-EINVAL: a pointer torn in
 * half used to crash the watch); a larger struct is accepted only with a
 * zero tail (-E2BIG, as openat2(2); the tail of a struct the library fills
 * in is output instead, zeroed), and never above 4096 bytes. The rule
 * itself (sized.c) is also run on a layout with fields appended after its
 * first release. Real loopback sockets for the watches.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fixture.h"
#include "hupmon.h"
#include "sized.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The largest struct any entry point looks at, as hupmon.h says. */
#define CAP 4096u
/* Room for a struct of CAP bytes and a canary after it. */
#define ROOM (CAP + 64u)

/* A caller's struct of size bytes: ours (zeroed tail), made in a buffer
 * of ROOM bytes. tail: one non-zero byte at this offset (0: none). */
struct size_case {
	const char *what;
	size_t size;
	size_t tail;
	int want; /* 0, -EINVAL or -E2BIG */
};

/* The cases of every entry point, around its struct's size s and the
 * first release's size first (s itself for a struct that never grew). */
#define N_COMMON 15
static struct size_case common_case(size_t i, size_t s, size_t first)
{
	const struct size_case t[N_COMMON] = {
		{"0 bytes", 0, 0, -EINVAL},
		{"1 byte", 1, 0, -EINVAL},
		{"a word short of 0.1.0's", first - 8, 0, -EINVAL},
		{"a byte short of 0.1.0's", first - 1, 0, -EINVAL},
		{"0.1.0's", first, 0, 0},
		{"a byte short", s - 1, 0, -EINVAL},
		{"ours", s, 0, 0},
		{"a byte more, zero", s + 1, 0, 0},
		{"a word more, zero", s + 8, 0, 0},
		{"4096 bytes, zero", CAP, 0, 0},
		{"a byte more, set", s + 1, s, -E2BIG},
		{"a word more, last byte set", s + 8, s + 7, -E2BIG},
		{"4096 bytes, last byte set", CAP, CAP - 1, -E2BIG},
		{"4097 bytes, zero", CAP + 1, 0, -E2BIG},
		{"SIZE_MAX", SIZE_MAX, 0, -E2BIG},
	};

	return t[i];
}

/* Case i of the common cases, then the entry point's own. */
static struct size_case pick(const struct size_case *own, size_t n_own,
			     size_t i, size_t s, size_t first)
{
	ck_assert_uint_lt(i, N_COMMON + n_own);
	return i < N_COMMON ? common_case(i, s, first) : own[i - N_COMMON];
}

/* The caller's struct: ours in a zeroed buffer, the case's tail byte set. */
static unsigned char *make(const void *ours, size_t s,
			   const struct size_case *c)
{
	unsigned char *b = calloc(1, ROOM);

	ck_assert_ptr_nonnull(b);
	memcpy(b, ours, s);
	if (c->tail)
		b[c->tail] = 0x5a;
	return b;
}

/* ---- hupmon_new_sized ------------------------------------------------ */

static void on_hangup(const struct hupmon_event *ev, void *arg)
{
	(void)ev;
	(void)arg;
}

#define CFG_OFF(f) offsetof(struct hupmon_config, f)
#define CFG_END(f) HUPMON__SIZED_END(struct hupmon_config, f)

static const struct size_case config_cases[] = {
	{"half of on_hangup", 3, 0, -EINVAL},
	{"on_hangup, half of arg", 12, 0, -EINVAL},
	{"up to liveness", CFG_OFF(liveness), 0, -EINVAL},
	{"inside liveness", CFG_OFF(liveness) + 6, 0, -EINVAL},
	{"up to sweep_cpu_budget", CFG_OFF(sweep_cpu_budget), 0, -EINVAL},
	{"to the last field's end", CFG_END(unwatch_before_close), 0, -EINVAL},
};

START_TEST(test_new_sized)
{
	struct hupmon_config cfg;
	struct size_case c = pick(config_cases, ARRAY_SIZE(config_cases), _i,
				  sizeof(cfg), sizeof(cfg));
	unsigned char *b;
	hupmon *m = (hupmon *)&cfg; /* must become NULL on failure */
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.on_hangup = on_hangup;
	cfg.arg = &cfg;
	cfg.paths = HUPMON_PATH_EPOLL;
	cfg.liveness.keepalive_idle_s = 30;
	b = make(&cfg, sizeof(cfg), &c);
	rc = hupmon_new_sized((const struct hupmon_config *)b, c.size, &m);
	ck_assert_msg(rc == c.want, "config of %zu bytes (%s): %d, want %d",
		      c.size, c.what, rc, c.want);
	if (rc) {
		ck_assert_ptr_null(m);
	} else {
		ck_assert_ptr_nonnull(m);
		hupmon_free(m);
	}
	/* NULL: every default, whatever the size says. */
	ck_assert_int_eq(hupmon_new_sized(NULL, c.size, &m), 0);
	hupmon_free(m);
	free(b);
}
END_TEST

/* ---- hupmon_watch_ex_sized -------------------------------------------- */

#define OPTS_OFF(f) offsetof(struct hupmon_watch_opts, f)
#define OPTS_END(f) HUPMON__SIZED_END(struct hupmon_watch_opts, f)
/* 0.1.0's struct ended at accepted, padded to the pointers' alignment;
 * 0.2.0 appended family (reserved fills the old padding). */
#define OPTS_0_1_0 OPTS_OFF(family)

static const struct size_case opts_cases[] = {
	{"user only", OPTS_OFF(liveness), 0, -EINVAL},
	/* crashed: liveness torn in half, then read */
	{"user, half of liveness", 12, 0, -EINVAL},
	{"up to no_stall", OPTS_OFF(no_stall), 0, -EINVAL},
	{"up to accepted", OPTS_OFF(accepted), 0, -EINVAL},
	{"to accepted's end", OPTS_END(accepted), 0, -EINVAL},
	{"inside reserved", OPTS_OFF(reserved) + 3, 0, -EINVAL},
	/* 0.1.0's padding holds anything: never read */
	{"0.1.0's, its padding set", OPTS_0_1_0, OPTS_OFF(reserved) + 1, 0},
	{"ours, reserved set", sizeof(struct hupmon_watch_opts),
	 OPTS_OFF(reserved), 0},
	{"inside family", OPTS_OFF(family) + 2, 0, -EINVAL},
	{"to family's end (0.2.0)", OPTS_END(family), 0, 0},
};

static int keepalive_of(int fd)
{
	int v = -1;
	socklen_t len = sizeof(v);

	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &len), 0);
	return v;
}

START_TEST(test_watch_ex_sized)
{
	struct hupmon_watch_opts opts;
	struct hupmon_liveness live = {.keepalive_idle_s = 30};
	struct size_case c = pick(opts_cases, ARRAY_SIZE(opts_cases), _i,
				  sizeof(opts), OPTS_0_1_0);
	struct hupmon_stats st;
	struct fx_rec rec;
	unsigned char *b;
	hupmon_id id = 7;
	hupmon *m;
	int s, cl, rc;

	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fx_pair_ok(AF_INET, &s, &cl);
	memset(&opts, 0, sizeof(opts));
	opts.user = &opts;
	opts.liveness = &live;
	b = make(&opts, sizeof(opts), &c);
	rc = hupmon_watch_ex_sized(m, s, (const struct hupmon_watch_opts *)b,
				   c.size, &id);
	ck_assert_msg(rc == c.want, "opts of %zu bytes (%s): %d, want %d",
		      c.size, c.what, rc, c.want);
	fx_get_stats(m, &st);
	if (rc) {
		/* Refused before the socket was touched, and counted. */
		ck_assert_uint_eq(id, 7);
		ck_assert_int_eq(keepalive_of(s), 0);
		ck_assert_uint_eq(st.watched, 0);
		ck_assert_uint_eq(
			st.watch_rejected[rc == -EINVAL ? HUPMON_REJECT_EINVAL
							: HUPMON_REJECT_OTHER],
			1);
	} else {
		ck_assert_int_eq(keepalive_of(s), 1);
		ck_assert_uint_eq(st.watched, 1);
		fx_unwatch_ok(m, id);
	}
	/* NULL: hupmon_watch, whatever the size says. */
	if (rc) {
		ck_assert_int_eq(hupmon_watch_ex_sized(m, s, NULL, c.size, &id),
				 0);
		fx_unwatch_ok(m, id);
	}
	fx_close_ok(s);
	fx_close_ok(cl);
	hupmon_free(m);
	fx_rec_destroy(&rec);
	free(b);
}
END_TEST

/* ---- hupmon_stats_sized and hupmon_stats_format_sized ------------------ */

#define ST_OFF(f) offsetof(struct hupmon_stats, f)
/* 0.1.0's struct ended at sweep_lap_effective_ns; 0.2.0 appended
 * watched_tcp and watched_unix. */
#define ST_0_1_0 ST_OFF(watched_tcp)

static const struct size_case stats_cases[] = {
	{"watched only", ST_OFF(swept), 0, -EINVAL},
	{"half of swept", ST_OFF(swept) + 4, 0, -EINVAL},
	{"up to sweep_gap_worst_ns", ST_OFF(sweep_gap_worst_ns), 0, -EINVAL},
	{"up to sweep_lap_effective_ns", ST_OFF(sweep_lap_effective_ns), 0,
	 -EINVAL},
	{"half of watched_tcp", ST_OFF(watched_tcp) + 4, 0, -EINVAL},
	{"to watched_tcp's end", ST_OFF(watched_unix), 0, 0},
	{"half of watched_unix", ST_OFF(watched_unix) + 4, 0, -EINVAL},
};

#define POISON 0xa5

/* hupmon_stats_sized cannot fail: a refused size gets zeros over what it
 * and our struct have in common, and nothing past them; an accepted one
 * the snapshot, its tail past ours zeroed (ours to write: the case's tail
 * byte does not matter to an output). */
START_TEST(test_stats_sized)
{
	size_t n = sizeof(struct hupmon_stats);
	struct size_case c =
		pick(stats_cases, ARRAY_SIZE(stats_cases), _i, n, ST_0_1_0);
	struct hupmon_stats *st;
	struct fx_rec rec;
	unsigned char *b = malloc(ROOM);
	size_t zeroed, written;
	hupmon *m;
	int s, cl;

	ck_assert_ptr_nonnull(b);
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fx_pair_ok(AF_INET, &s, &cl);
	fx_watch_ok(m, s, NULL);

	memset(b, POISON, ROOM);
	hupmon_stats_sized(m, (struct hupmon_stats *)b, c.size);
	st = (struct hupmon_stats *)b;
	if (c.want == -EINVAL || c.size > CAP) {
		zeroed = c.size < n ? c.size : n;
		written = zeroed;
	} else {
		zeroed = 0;
		written = c.size;
		ck_assert_uint_eq(st->watched, 1);
		ck_assert_uint_eq(st->watches, 1);
		/* an older struct gets what it has room for, no more */
		if (written >= ST_OFF(watched_unix))
			ck_assert_uint_eq(st->watched_tcp, 1);
		for (size_t k = n; k < written; k++)
			ck_assert_msg(b[k] == 0, "byte %zu of %zu: %#x", k,
				      c.size, b[k]);
	}
	for (size_t k = 0; k < zeroed; k++)
		ck_assert_msg(b[k] == 0, "byte %zu of %zu (%s): %#x", k, c.size,
			      c.what, b[k]);
	for (size_t k = written; k < ROOM; k++)
		ck_assert_msg(b[k] == POISON,
			      "byte %zu written, past %zu (%s): %#x", k,
			      written, c.what, b[k]);

	/* No monitor: zeros alike, for every size that gets them. */
	memset(b, POISON, ROOM);
	hupmon_stats_sized(NULL, (struct hupmon_stats *)b, c.size);
	written = c.size <= CAP ? c.size : n;
	for (size_t k = 0; k < ROOM; k++)
		ck_assert_uint_eq(b[k], k < written ? 0 : POISON);

	fx_close_ok(s);
	fx_close_ok(cl);
	hupmon_free(m);
	fx_rec_destroy(&rec);
	free(b);
}
END_TEST

START_TEST(test_stats_format_sized)
{
	size_t n = sizeof(struct hupmon_stats);
	struct size_case c =
		pick(stats_cases, ARRAY_SIZE(stats_cases), _i, n, ST_0_1_0);
	static const enum hupmon_format fmts[] = {
		HUPMON_FORMAT_TEXT,
		HUPMON_FORMAT_JSON,
		HUPMON_FORMAT_PROMETHEUS,
	};
	struct hupmon_stats full, shown;
	unsigned char *b;
	char *want = malloc(1 << 16), *got = malloc(1 << 16);

	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(got);
	memset(&full, 0, sizeof(full));
	full.watched = 3;
	full.watches = 5;
	full.sweep_lap_effective_ns = 1000000000;
	full.watched_tcp = 2;
	full.watched_unix = 1;
	b = make(&full, n, &c);
	/* An older struct's missing counters are shown as 0. */
	shown = full;
	if (c.size < n)
		memset((char *)&shown + c.size, 0, n - c.size);
	for (size_t f = 0; f < ARRAY_SIZE(fmts); f++) {
		int w = hupmon_stats_format(&shown, fmts[f], want, 1 << 16);
		int rc;

		ck_assert_int_gt(w, 0);
		memset(got, POISON, 1 << 16);
		rc = hupmon_stats_format_sized((const struct hupmon_stats *)b,
					       c.size, fmts[f], got, 1 << 16);
		if (c.want) {
			ck_assert_msg(rc == c.want,
				      "stats of %zu bytes (%s): %d, want %d",
				      c.size, c.what, rc, c.want);
			for (size_t k = 0; k < 1 << 16; k++)
				ck_assert_uint_eq((unsigned char)got[k],
						  POISON);
		} else {
			ck_assert_int_eq(rc, w);
			ck_assert_str_eq(got, want);
		}
	}
	free(b);
	free(want);
	free(got);
}
END_TEST

/* ---- hupmon_query_sized ------------------------------------------------ */

#define STS_OFF(f) offsetof(struct hupmon_status, f)

static const struct size_case status_cases[] = {
	{"cause only", STS_OFF(error), 0, -EINVAL},
	{"half of error", STS_OFF(error) + 2, 0, -EINVAL},
	{"up to path", STS_OFF(path), 0, -EINVAL},
	{"up to stall_reason", STS_OFF(stall_reason), 0, -EINVAL},
	{"half of stall_reason", STS_OFF(stall_reason) + 2, 0, -EINVAL},
};

/* An output, as hupmon_stats_sized's, that can fail: a refused size
 * (-EINVAL, or -E2BIG above 4096 bytes) gets nothing written; an accepted
 * one the status, its tail past ours zeroed (ours to write: the case's
 * tail byte does not matter to an output). */
START_TEST(test_query_sized)
{
	size_t n = sizeof(struct hupmon_status);
	struct size_case c =
		pick(status_cases, ARRAY_SIZE(status_cases), _i, n, n);
	int want = c.want == -EINVAL ? -EINVAL : c.size > CAP ? -E2BIG : 0;
	struct hupmon_status *st;
	struct fx_rec rec;
	unsigned char *b = malloc(ROOM);
	size_t written;
	hupmon_id id;
	hupmon *m;
	int s, cl, rc;

	ck_assert_ptr_nonnull(b);
	fx_rec_init(&rec);
	m = fx_new_epoll_monitor(&rec, false);
	fx_pair_ok(AF_INET, &s, &cl);
	id = fx_watch_ok(m, s, NULL);

	memset(b, POISON, ROOM);
	st = (struct hupmon_status *)b;
	rc = hupmon_query_sized(m, id, st, c.size);
	ck_assert_msg(rc == want, "status of %zu bytes (%s): %d, want %d",
		      c.size, c.what, rc, want);
	written = rc ? 0 : c.size;
	if (!rc) {
		ck_assert_int_eq(st->cause, HUPMON_CAUSE_NONE);
		ck_assert_int_eq(st->stall_reason, HUPMON_STALL_REASON_NONE);
		for (size_t k = n; k < written; k++)
			ck_assert_msg(b[k] == 0, "byte %zu of %zu: %#x", k,
				      c.size, b[k]);
	}
	for (size_t k = written; k < ROOM; k++)
		ck_assert_msg(b[k] == POISON,
			      "byte %zu written, past %zu (%s): %#x", k,
			      written, c.what, b[k]);

	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	fx_close_ok(cl);
	hupmon_free(m);
	fx_rec_destroy(&rec);
	free(b);
}
END_TEST

/* ---- the rule on a struct that grew after its first release ----------- */

struct grown {
	uint64_t a; /* release 1 */
	uint32_t b; /* release 1 */
	uint32_t c; /* release 2 */
	uint16_t d; /* release 2 */
	uint64_t e; /* release 3 */
};

static const size_t grown_ends[] = {
	HUPMON__SIZED_END(struct grown, c),
	HUPMON__SIZED_END(struct grown, d),
	HUPMON__SIZED_END(struct grown, e),
};

static const struct hupmon__sized grown_sized = {
	.size = sizeof(struct grown),
	.first = HUPMON__SIZED_END(struct grown, b),
	.ends = grown_ends,
	.n_ends = ARRAY_SIZE(grown_ends),
};

START_TEST(test_rule_on_grown_struct)
{
	unsigned char b[sizeof(struct grown) + 8];
	struct grown dst;

	memset(b, 0, sizeof(b));
	for (size_t size = 0; size <= sizeof(b); size++) {
		bool boundary = size == 12 || size == 16 || size == 18 ||
				size >= sizeof(struct grown);
		int rc = hupmon__sized_check(&grown_sized, b, size);

		ck_assert_msg(rc == (boundary ? 0 : -EINVAL), "size %zu: %d",
			      size, rc);
	}
	/* An older caller's struct: what it lacks reads as zero. */
	memset(b, 0x11, sizeof(b));
	memset(&dst, 0x22, sizeof(dst));
	ck_assert_int_eq(hupmon__sized_copy_in(&grown_sized, &dst, b, 16), 0);
	ck_assert_uint_eq(dst.c, 0x11111111u);
	ck_assert_uint_eq(dst.d, 0);
	ck_assert_uint_eq(dst.e, 0);
	/* A newer caller's: any byte set past ours is refused, dst untouched.
	 */
	memset(b, 0, sizeof(b));
	for (size_t k = sizeof(struct grown); k < sizeof(b); k++) {
		b[k] = 1;
		memset(&dst, 0x22, sizeof(dst));
		ck_assert_int_eq(
			hupmon__sized_copy_in(&grown_sized, &dst, b, sizeof(b)),
			-E2BIG);
		ck_assert_uint_eq(dst.a, 0x2222222222222222u);
		b[k] = 0;
	}
	/* What a struct only written does not look at: its contents. */
	b[sizeof(b) - 1] = 1;
	ck_assert_int_eq(hupmon__sized_check(&grown_sized, NULL, sizeof(b)), 0);
	ck_assert_int_eq(hupmon__sized_check(&grown_sized, NULL, 17), -EINVAL);
	ck_assert_int_eq(hupmon__sized_check(&grown_sized, NULL, CAP + 1),
			 -E2BIG);
}
END_TEST

/* --- suite -------------------------------------------------------------- */

static Suite *sized_suite(void)
{
	Suite *su = suite_create("sized");
	size_t common = N_COMMON;

	fx_add_case(su, "new_sized", test_new_sized,
		    (int)(common + ARRAY_SIZE(config_cases)), 10);
	fx_add_case(su, "watch_ex_sized", test_watch_ex_sized,
		    (int)(common + ARRAY_SIZE(opts_cases)), 10);
	fx_add_case(su, "stats_sized", test_stats_sized,
		    (int)(common + ARRAY_SIZE(stats_cases)), 10);
	fx_add_case(su, "stats_format_sized", test_stats_format_sized,
		    (int)(common + ARRAY_SIZE(stats_cases)), 30);
	fx_add_case(su, "query_sized", test_query_sized,
		    (int)(common + ARRAY_SIZE(status_cases)), 10);
	fx_add_case(su, "rule_on_grown_struct", test_rule_on_grown_struct, 0,
		    10);
	return su;
}

int main(void)
{
	return fx_run_suite(sized_suite());
}
