/* SPDX-License-Identifier: MIT */
/*
 * tab: the column printer of hupmon-bench's text tables: a row is started,
 * then filled column by column (every *_report.c, summary.c).
 */
#ifndef HUPMON_BENCH_TAB_H
#define HUPMON_BENCH_TAB_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "bench.h"

/* A column: its head, its width (< 0: text, left-aligned), its digits
 * after the point; wide: shown only with --wide, so that the default table
 * fits 100 columns (a row is the sum of the shown widths, one space apart,
 * and its tail). Heads are ASCII: printf pads bytes, not characters. */
struct col {
	const char *head;
	int w;
	int prec;
	bool wide;
};

/* A row being printed: fill it column by column with tab_s, tab_n, tab_u
 * (a column that is not shown takes its value and prints nothing). */
struct tab {
	FILE *f;
	const struct col *col; /* the next column */
	bool all;	       /* --wide: every column */
	bool spaced;	       /* one is printed: the next one is spaced */
};

static inline void tab_head(FILE *f, const struct col *cols, bool all,
			    const char *tail)
{
	bool spaced = false;

	for (const struct col *c = cols; c->head; c++)
		if (all || !c->wide) {
			fprintf(f, "%s%*s", spaced ? " " : "", c->w, c->head);
			spaced = true;
		}
	fprintf(f, "%s\n", tail ? tail : "");
}

/* The next column, which is then done, and its separator; NULL when it is
 * not shown. */
static inline const struct col *tab_next(struct tab *t)
{
	const struct col *c = t->col++;

	if (c->wide && !t->all)
		return NULL;
	if (t->spaced)
		fputc(' ', t->f);
	t->spaced = true;
	return c;
}

static inline void tab_s(struct tab *t, const char *s)
{
	const struct col *c = tab_next(t);

	if (c)
		fprintf(t->f, "%*s", c->w, s);
}

static inline void tab_n(struct tab *t, double x)
{
	const struct col *c = tab_next(t);

	if (c && isfinite(x))
		fprintf(t->f, "%*.*f", c->w, c->prec, x);
	else if (c)
		fprintf(t->f, "%*s", c->w, "-");
}

static inline void tab_u(struct tab *t, unsigned long long x)
{
	const struct col *c = tab_next(t);

	if (c)
		fprintf(t->f, "%*llu", c->w, x);
}

static inline void tab_skip(struct tab *t, int n)
{
	while (n-- > 0)
		tab_s(t, "");
}

static inline void tab_end(struct tab *t, const char *tail)
{
	fprintf(t->f, "%s\n", tail ? tail : "");
}

/* A distribution's p50, p90, p99 and max. */
static inline void tab_lat4(struct tab *t, const struct dist *d)
{
	tab_n(t, d->p50);
	tab_n(t, d->p90);
	tab_n(t, d->p99);
	tab_n(t, d->max);
}

#endif
