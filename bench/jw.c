/* SPDX-License-Identifier: MIT */
/*
 * jw: the JSON writer (jw.h).
 */
#include "jw.h"

#include <math.h>
#include <string.h>

void jw_init(struct jw *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
}

static void string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
		if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned)(unsigned char)*s);
		else
			fprintf(f, "%s%c", strchr("\"\\", *s) ? "\\" : "", *s);
	fputc('"', f);
}

/* The separator and the key of the next member. */
static void member(struct jw *w, const char *key)
{
	int d = w->depth;

	if (w->any[d])
		fputc(',', w->f);
	if (d > 0 && d <= JW_LINES)
		fprintf(w->f, "\n%*s", 2 * d, "");
	else if (w->any[d])
		fputc(' ', w->f);
	w->any[d] = true;
	if (key) {
		string(w->f, key);
		fputs(": ", w->f);
	}
}

static void open(struct jw *w, const char *key, char o, char c)
{
	member(w, key);
	fputc(o, w->f);
	if (w->depth + 1 < JW_MAX_DEPTH)
		w->depth++;
	w->any[w->depth] = false;
	w->close[w->depth] = c;
}

void jw_obj(struct jw *w, const char *key)
{
	open(w, key, '{', '}');
}

void jw_arr(struct jw *w, const char *key)
{
	open(w, key, '[', ']');
}

void jw_end(struct jw *w)
{
	int d = w->depth;

	if (d <= 0)
		return;
	if (w->any[d] && d <= JW_LINES)
		fprintf(w->f, "\n%*s", 2 * (d - 1), "");
	fputc(w->close[d], w->f);
	w->depth--;
}

void jw_nump(struct jw *w, const char *key, double x, int prec)
{
	member(w, key);
	if (isfinite(x))
		fprintf(w->f, "%.*f", prec, x);
	else
		fputs("null", w->f);
}

void jw_num(struct jw *w, const char *key, double x)
{
	jw_nump(w, key, x, 3);
}

void jw_uint(struct jw *w, const char *key, unsigned long long x)
{
	member(w, key);
	fprintf(w->f, "%llu", x);
}

void jw_int(struct jw *w, const char *key, long long x)
{
	member(w, key);
	fprintf(w->f, "%lld", x);
}

void jw_str(struct jw *w, const char *key, const char *s)
{
	member(w, key);
	if (s)
		string(w->f, s);
	else
		fputs("null", w->f);
}

void jw_bool(struct jw *w, const char *key, bool b)
{
	member(w, key);
	fputs(b ? "true" : "false", w->f);
}

void jw_null(struct jw *w, const char *key)
{
	member(w, key);
	fputs("null", w->f);
}

void jw_met(struct jw *w, const char *key, bool judged, bool met)
{
	if (judged)
		jw_bool(w, key, met);
	else
		jw_null(w, key);
}
