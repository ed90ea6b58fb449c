/* SPDX-License-Identifier: MIT */
/*
 * format_table: what the renderings of a stats snapshot share. The
 * descriptor tables name every counter once, for all three renderings;
 * the appender writes with snprintf semantics. Internal to format*.c.
 */
#ifndef HUPMON_FORMAT_TABLE_H
#define HUPMON_FORMAT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hupmon.h"

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

void __attribute__((format(printf, 2, 3)))
hupmon__format_printf(struct out *o, const char *fmt, ...);

/* A short string returned by value: C11 keeps the temporary alive until the
 * end of the full expression, so num(...).s can go straight to a printf. */
struct num {
	char s[32];
};

/* ns as exact decimal seconds, without trailing zeros: "0", "1.5",
 * "0.000001024", at most "18446744073.709551615". */
struct num hupmon__format_seconds(uint64_t ns);

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

/* The scalars of one section, in the order they are rendered. */
struct scalars {
	const struct scalar *f;
	size_t n;
};

extern const struct scalars hupmon__format_sockets, hupmon__format_registry,
	hupmon__format_reports, hupmon__format_epoll, hupmon__format_sweep,
	hupmon__format_stall;

static inline uint64_t scalar_value(const struct hupmon_stats *s,
				    const struct scalar *f)
{
	return *(const uint64_t *)((const char *)s + f->off);
}

/* Tables by path x cause (hangups and compare). */
typedef uint64_t by_path_cause[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT];

struct matrix {
	const char *key;   /* JSON key ("hangups" or inside "compare") */
	const char *label; /* text column header */
	const char *prom;
	const char *help;
	size_t off;
};

#define HUPMON__FORMAT_NCOMPARE 4
extern const struct matrix hupmon__format_hangups;
extern const struct matrix hupmon__format_compare[HUPMON__FORMAT_NCOMPARE];

static inline const uint64_t *matrix_row(const struct hupmon_stats *s,
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

#define HUPMON__FORMAT_NHISTS 2
extern const struct hist_desc hupmon__format_hists[HUPMON__FORMAT_NHISTS];

static inline const struct hupmon_hist *hist_of(const struct hupmon_stats *s,
						const struct hist_desc *h)
{
	return (const struct hupmon_hist *)((const char *)s + h->off);
}

static inline uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* The total of the buckets, which for a consistent snapshot is count. The
 * renderings that need counts to add up (Prometheus, percentiles) use it. */
static inline uint64_t hist_total(const struct hupmon_hist *h)
{
	uint64_t t = 0;

	for (unsigned i = 0; i < HUPMON_HIST_BUCKETS; i++)
		t = add_sat(t, h->bucket[i]);
	return t;
}

#endif
