/* SPDX-License-Identifier: MIT */
/*
 * jw: hupmon-bench's one JSON writer. It keeps the commas, the quoting and
 * the layout, so that the code that knows a figure writes only its key and
 * value:
 *
 *	jw_obj(w, "stall");
 *	jw_uint(w, "cases", n);
 *	jw_num(w, "p50_ms", p50);	(null when not finite)
 *	jw_end(w);
 *
 * A key is NULL for a member of an array, or for the document's first
 * value. Objects and arrays up to depth JW_LINES put each member on a line of
 * its own, deeper ones stay on one line. Write errors are the stream's:
 * whoever opened it checks ferror() or fclose() once at the end.
 */
#ifndef HUPMON_BENCH_JW_H
#define HUPMON_BENCH_JW_H

#include <stdbool.h>
#include <stdio.h>

#define JW_MAX_DEPTH 16
#define JW_LINES     3

struct jw {
	FILE *f;
	int depth;
	bool any[JW_MAX_DEPTH]; /* a member is written at this depth */
	char close[JW_MAX_DEPTH];
};

/* A writer of one document into f. */
void jw_init(struct jw *w, FILE *f);
void jw_obj(struct jw *w, const char *key);
void jw_arr(struct jw *w, const char *key);
void jw_end(struct jw *w); /* closes the innermost object or array */
/* A number with 3 decimals (null when not finite) and with prec. */
void jw_num(struct jw *w, const char *key, double x);
void jw_nump(struct jw *w, const char *key, double x, int prec);
void jw_uint(struct jw *w, const char *key, unsigned long long x);
void jw_int(struct jw *w, const char *key, long long x);
void jw_str(struct jw *w, const char *key, const char *s); /* NULL: null */
void jw_bool(struct jw *w, const char *key, bool b);
void jw_null(struct jw *w, const char *key);
/* A goal's verdict: met or not, null when it was not judged. */
void jw_met(struct jw *w, const char *key, bool judged, bool met);

#endif
