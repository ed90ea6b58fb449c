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

struct col {
	const char *head;
	int w;	  /* width; < 0: text, left-aligned */
	int prec; /* digits after the point */
};

struct tab {
	FILE *f;
	const struct col *col; /* the next column */
	bool spaced;	       /* one is printed: the next one is spaced */
};

static inline void tab_head(FILE *f, const struct col *cols, const char *tail)
{
	for (const struct col *c = cols; c->head; c++)
		fprintf(f, "%s%*s", c == cols ? "" : " ", c->w, c->head);
	fprintf(f, "%s\n", tail ? tail : "");
}

/* The separator before a column, and the column, which is then done. */
static inline const struct col *tab_next(struct tab *t)
{
	if (t->spaced)
		fputc(' ', t->f);
	t->spaced = true;
	return t->col++;
}

static inline void tab_s(struct tab *t, const char *s)
{
	fprintf(t->f, "%*s", tab_next(t)->w, s);
}

static inline void tab_n(struct tab *t, double x)
{
	const struct col *c = tab_next(t);

	if (isfinite(x))
		fprintf(t->f, "%*.*f", c->w, c->prec, x);
	else
		fprintf(t->f, "%*s", c->w, "-");
}

static inline void tab_u(struct tab *t, unsigned long long x)
{
	fprintf(t->f, "%*llu", tab_next(t)->w, x);
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
