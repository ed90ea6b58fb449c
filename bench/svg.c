/* SPDX-License-Identifier: MIT */
/*
 * svg: the picture (--svg): the panels the scenarios described (plot.h) in
 * one plain SVG file, group by group, each group on one x axis (log, whole
 * decades around every sample and mark of the group), so a curve compares
 * with any other of its group at a glance.
 *
 * A group draws its spans panels first, as wide as the picture (the
 * summary: a row per path, a dot at its p50, a diamond at its p99, the
 * values beside it, its floor just under it), then its legend (every curve
 * style and mark of the group, once, with the axes' meaning), then its CDF
 * panels in a grid of two columns: a default run's summary and seven CDFs
 * fit 1 400 px, each CDF still 520 px wide for its five decades. A CDF:
 * log x, linear y (fraction of the detections at or below x), a dot where
 * a curve crosses 0.5 (its p50) and a diamond where it crosses 0.99 (its
 * p99), hollow for a floor. Marks are vertical lines of class 'mark period'
 * and 'mark bound', named in full in the legend and the spans panels.
 */
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define W	   1200 /* the picture's width */
#define COLS	   2	/* CDF panels per row */
#define CW	   (W / COLS)
#define CH	   245 /* a CDF panel's height */
#define SPAN_ROW   34  /* a spans panel's row: a path and its floor */
#define LEGEND_ROW 20
#define ENTRIES	   40
#define MAXPTS	   400 /* points per curve */

struct frame {
	double l, r, t, b; /* plot area in the file */
	double lo, hi;	   /* x range, µs, powers of ten */
};

static const struct {
	const char *cls, *name, *dash;
} mark_style[PLOT_MARK_KINDS] = {
	[PLOT_PERIOD] = {"period", "sweep period", NULL},
	[PLOT_BOUND] = {"bound", "probe-gap bound", "5 3"},
};

static const char *const group_what[PLOT_GROUPS] = {
	[PLOT_US] = "Hangups on loopback",
	[PLOT_MS] = "Slower: a server under load, silent peers",
};

static double xpos(const struct frame *fr, double us)
{
	double l;

	if (us < fr->lo)
		us = fr->lo;
	l = (log10(us) - log10(fr->lo)) / (log10(fr->hi) - log10(fr->lo));
	return fr->l + l * (fr->r - fr->l);
}

static double ypos(const struct frame *fr, double frac)
{
	return fr->b - frac * (fr->b - fr->t);
}

/* Three significant digits in µs, ms or s. */
static void val_us(char *buf, size_t len, double us)
{
	if (us < 1000)
		snprintf(buf, len, "%.3g µs", us);
	else if (us < 1e6)
		snprintf(buf, len, "%.3g ms", us / 1e3);
	else if (us < 1e9)
		snprintf(buf, len, "%.3g s", us / 1e6);
	else
		snprintf(buf, len, "%.0f s", us / 1e6);
}

/* Nearest-rank percentile of sorted ns samples, in µs (as dist_of()). */
static double pct_us(const struct vec *v, double pct)
{
	return pct_sorted(v, pct) / 1e3;
}

/* A guess at the width in px of a label set in px-high sans-serif. */
static double text_w(const char *s, double px)
{
	size_t chars = 0;

	for (; *s; s++)
		chars += ((unsigned char)*s & 0xc0) != 0x80;
	return (double)chars * px * 0.56;
}

static void stroke(FILE *f, const char *colour, const char *dash, bool floor)
{
	fprintf(f, "stroke='%s' stroke-width='%s'", colour,
		floor ? "1.6" : "2.2");
	if (dash)
		fprintf(f, " stroke-dasharray='%s'", dash);
}

static void dot(FILE *f, double x, double y, const char *colour, bool hollow)
{
	fprintf(f,
		"<circle cx='%.1f' cy='%.1f' r='3.5' fill='%s' stroke='%s' "
		"stroke-width='1.5'/>\n",
		x, y, hollow ? "white" : colour, colour);
}

static void diamond(FILE *f, double x, double y, const char *colour,
		    bool hollow)
{
	fprintf(f,
		"<polygon points='%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f' "
		"fill='%s' stroke='%s' stroke-width='1.5'/>\n",
		x, y - 4.5, x + 4.5, y, x, y + 4.5, x - 4.5, y,
		hollow ? "white" : colour, colour);
}

/* Decade lines and labels, minor ticks, under the plot area. */
static void x_axis(FILE *f, const struct frame *fr)
{
	for (double d = fr->lo; d <= fr->hi * 1.001; d *= 10) {
		char buf[32];
		double x = xpos(fr, d);

		val_us(buf, sizeof(buf), d);
		fprintf(f,
			"<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' "
			"stroke='#ccc'/>\n<text x='%.1f' y='%.1f' "
			"text-anchor='middle'>%s</text>\n",
			x, fr->b, x, fr->t, x, fr->b + 16, buf);
		for (int m = 2; m < 10 && d * m < fr->hi; m++) {
			x = xpos(fr, d * m);
			fprintf(f,
				"<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f'"
				" stroke='#000'/>\n",
				x, fr->b, x, fr->b + 4);
		}
	}
}

static void y_axis(FILE *f, const struct frame *fr)
{
	for (int i = 0; i <= 10; i++) {
		double y = ypos(fr, i / 10.0);

		fprintf(f,
			"<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' "
			"stroke='%s'/>\n",
			fr->l - (i % 5 ? 3 : 6), y, fr->r, y,
			i % 5 ? "#eee" : "#ccc");
		if (i % 5 == 0)
			fprintf(f,
				"<text x='%.1f' y='%.1f' text-anchor='end'>"
				"%g</text>\n",
				fr->l - 9, y + 4, i / 10.0);
	}
}

static void border(FILE *f, const struct frame *fr)
{
	fprintf(f,
		"<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' "
		"fill='none' stroke='#000'/>\n",
		fr->l, fr->t, fr->r - fr->l, fr->b - fr->t);
}

static void mark_label(char *buf, size_t len, const struct plot_mark *m)
{
	char v[32];

	val_us(v, sizeof(v), m->ns / 1e3);
	snprintf(buf, len, "%s %s", mark_style[m->kind].name, v);
}

/* The marks of a panel: a line each, its label above the plot area (in
 * full, or its value only), a period's left of its line, the others'
 * right of it. */
static void marks(FILE *f, const struct plot_panel *p, const struct frame *fr,
		  bool full)
{
	for (int i = 0; i < p->marks; i++) {
		const struct plot_mark *m = &p->mark[i];
		const char *cls = mark_style[m->kind].cls;
		double x = xpos(fr, m->ns / 1e3);
		bool left = m->kind == PLOT_PERIOD;
		char buf[64];

		if (full)
			mark_label(buf, sizeof(buf), m);
		else
			val_us(buf, sizeof(buf), m->ns / 1e3);
		fprintf(f,
			"<line class='mark %s' x1='%.1f' y1='%.1f' x2='%.1f' "
			"y2='%.1f' ",
			cls, x, fr->t - 3, x, fr->b);
		stroke(f, "#444", mark_style[m->kind].dash, true);
		fprintf(f,
			"/>\n<text class='mark %s' x='%.1f' y='%.1f' "
			"text-anchor='%s' font-size='11' fill='#444'>%s"
			"</text>\n",
			cls, x + (left ? -3 : 3), fr->t - 6,
			left ? "end" : "start", buf);
	}
}

/* Step CDF of sorted ns samples, thinned to about MAXPTS points. */
static void cdf(FILE *f, const struct frame *fr, const struct plot_curve *c)
{
	const struct vec *v = c->ns;
	size_t step = v->n > MAXPTS ? (v->n + MAXPTS - 1) / MAXPTS : 1;

	fprintf(f, "<polyline fill='none' ");
	stroke(f, c->colour, c->dash, c->floor);
	fprintf(f, " points='");
	for (size_t i = 0; i < v->n; i += step) {
		double x = xpos(fr, (double)v->v[i] / 1e3);

		fprintf(f, "%.1f,%.1f %.1f,%.1f ", x,
			ypos(fr, (double)i / (double)v->n), x,
			ypos(fr, (double)(i + 1) / (double)v->n));
	}
	fprintf(f, "%.1f,%.1f'/>\n", xpos(fr, (double)v->v[v->n - 1] / 1e3),
		ypos(fr, 1));
}

static void cdf_panel(FILE *f, const struct plot_panel *p, double x0, double y0,
		      double lo, double hi)
{
	struct frame fr = {x0 + 58,	 x0 + CW - 30, y0 + 42,
			   y0 + CH - 34, lo,	       hi};

	fprintf(f,
		"<text x='%.1f' y='%.1f' font-size='14' "
		"font-weight='bold'>%s</text>\n",
		fr.l, y0 + 22, p->title);
	x_axis(f, &fr);
	y_axis(f, &fr);
	marks(f, p, &fr, false);
	for (int pass = 0; pass < 2; pass++) /* floors under the paths */
		for (int i = 0; i < p->curves; i++)
			if (p->curve[i].floor == !pass)
				cdf(f, &fr, &p->curve[i]);
	for (int i = 0; i < p->curves; i++) {
		const struct plot_curve *c = &p->curve[i];

		dot(f, xpos(&fr, pct_us(c->ns, 50)), ypos(&fr, 0.5), c->colour,
		    c->floor);
		diamond(f, xpos(&fr, pct_us(c->ns, 99)), ypos(&fr, 0.99),
			c->colour, c->floor);
	}
	border(f, &fr);
}

/* A spans panel's rows: a path, and the floor that follows it. */
static int span_rows(const struct plot_panel *p)
{
	int rows = 0;

	for (int i = 0; i < p->curves; i++)
		rows += !(p->curve[i].floor && i && !p->curve[i - 1].floor);
	return rows;
}

static int spans_h(const struct plot_panel *p)
{
	return 60 + span_rows(p) * SPAN_ROW + 34;
}

static void span(FILE *f, const struct frame *fr, const struct plot_curve *c,
		 double y)
{
	double p50 = pct_us(c->ns, 50), p99 = pct_us(c->ns, 99);
	const char *font = c->floor ? " font-size='10' fill='#555'" : "";
	char a[32], b[32];

	fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' ",
		xpos(fr, p50), y, xpos(fr, p99), y);
	stroke(f, c->colour, c->dash, c->floor);
	fprintf(f, "/>\n");
	dot(f, xpos(fr, p50), y, c->colour, c->floor);
	diamond(f, xpos(fr, p99), y, c->colour, c->floor);
	val_us(a, sizeof(a), p50);
	val_us(b, sizeof(b), p99);
	fprintf(f,
		"<text x='%.1f' y='%.1f'%s>p50 %s</text>\n<text x='%.1f' "
		"y='%.1f'%s>p99 %s</text>\n<text x='%.1f' y='%.1f'%s>n=%zu"
		"</text>\n",
		fr->r + 16, y + 4, font, a, fr->r + 136, y + 4, font, b,
		fr->r + 256, y + 4, font, c->ns->n);
	fprintf(f,
		"<text x='%.1f' y='%.1f' text-anchor='end' fill='%s'%s>%s"
		"</text>\n",
		fr->l - 10, y + 4, c->colour,
		c->floor ? " font-size='10'" : " font-weight='bold'", c->label);
}

static void spans_panel(FILE *f, const struct plot_panel *p, double y0,
			double lo, double hi)
{
	int rows = span_rows(p), row = -1;
	struct frame fr = {150, 800, y0 + 60, y0 + 60 + rows * SPAN_ROW,
			   lo,	hi};

	fprintf(f,
		"<text x='20' y='%.1f' font-size='16' "
		"font-weight='bold'>%s</text>\n",
		y0 + 26, p->title);
	for (int r = 0; r < rows; r += 2)
		fprintf(f,
			"<rect x='%.1f' y='%.1f' width='%.1f' height='%d' "
			"fill='#f4f4f4'/>\n",
			fr.l, fr.t + r * SPAN_ROW, fr.r - fr.l, SPAN_ROW);
	x_axis(f, &fr);
	marks(f, p, &fr, true);
	for (int i = 0; i < p->curves; i++) {
		const struct plot_curve *c = &p->curve[i];
		bool sub = c->floor && i && !p->curve[i - 1].floor;

		row += !sub;
		span(f, &fr, c, fr.t + row * SPAN_ROW + (sub ? 24 : 11));
	}
	border(f, &fr);
}

/* A group's legend: each curve style and mark once, then the key to the
 * ticks. */
enum entry_kind { E_CURVE, E_MARK, E_KEY };

struct entry {
	enum entry_kind kind;
	const char *colour, *dash;
	bool floor;
	enum plot_mark_kind mark;
	char text[64];
	double w;
};

struct legend {
	struct entry e[ENTRIES];
	int n, rows;
};

static bool has_entry(const struct legend *lg, const struct entry *e)
{
	for (int i = 0; i < lg->n; i++)
		if (lg->e[i].kind == e->kind &&
		    !strcmp(lg->e[i].text, e->text) &&
		    !strcmp(lg->e[i].colour, e->colour))
			return true;
	return false;
}

static void add_entry(struct legend *lg, const struct entry *e)
{
	if (lg->n >= ENTRIES || has_entry(lg, e))
		return;
	lg->e[lg->n] = *e;
	lg->e[lg->n++].w = 40 + text_w(e->text, 12) + 22;
}

static void add_curve(struct legend *lg, const struct plot_curve *c)
{
	struct entry e = {.kind = E_CURVE,
			  .colour = c->colour,
			  .dash = c->dash,
			  .floor = c->floor};

	snprintf(e.text, sizeof(e.text), "%s", c->label);
	add_entry(lg, &e);
}

static void add_mark(struct legend *lg, const struct plot_mark *m)
{
	struct entry e = {.kind = E_MARK,
			  .colour = "#444",
			  .dash = mark_style[m->kind].dash,
			  .floor = true,
			  .mark = m->kind};

	mark_label(e.text, sizeof(e.text), m);
	add_entry(lg, &e);
}

/* Paths, then floors, then marks, then the key; rows of entries as wide
 * as the picture. */
static void legend_of(const struct plot *pl, const int *sel, int n,
		      struct legend *lg)
{
	struct entry key = {.kind = E_KEY, .colour = "#444"};
	bool floors = false;
	double x = 20;

	memset(lg, 0, sizeof(*lg));
	for (int pass = 0; pass < 3; pass++)
		for (int k = 0; k < n; k++) {
			const struct plot_panel *p = &pl->panel[sel[k]];

			for (int i = 0; pass < 2 && i < p->curves; i++)
				if (p->curve[i].floor == pass) {
					add_curve(lg, &p->curve[i]);
					floors |= pass;
				}
			for (int i = 0; pass == 2 && i < p->marks; i++)
				add_mark(lg, &p->mark[i]);
		}
	snprintf(key.text, sizeof(key.text), "p50 (at 0.5), p99 (at 0.99)%s",
		 floors ? "; hollow: a floor" : "");
	lg->n = lg->n < ENTRIES ? lg->n : ENTRIES - 1; /* room for the key */
	add_entry(lg, &key);
	lg->rows = 1;
	for (int i = 0; i < lg->n; i++) {
		if (x + lg->e[i].w > W - 10 && x > 20) {
			lg->rows++;
			x = 20;
		}
		x += lg->e[i].w;
	}
}

static int legend_h(const struct legend *lg)
{
	return 34 + lg->rows * LEGEND_ROW + 8;
}

static void entry(FILE *f, const struct entry *e, double x, double y)
{
	if (e->kind == E_KEY) {
		dot(f, x + 5, y, e->colour, false);
		diamond(f, x + 17, y, e->colour, false);
		if (strstr(e->text, "hollow"))
			dot(f, x + 29, y, e->colour, true);
	} else {
		fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' ", x,
			y, x + 34, y);
		stroke(f, e->colour, e->dash, e->floor);
		if (e->kind == E_MARK)
			fprintf(f, " class='mark %s'", mark_style[e->mark].cls);
		fprintf(f, "/>\n");
	}
	fprintf(f, "<text x='%.1f' y='%.1f'", x + 40, y + 4);
	if (e->kind == E_MARK)
		fprintf(f, " class='mark %s'", mark_style[e->mark].cls);
	fprintf(f, ">%s</text>\n", e->text);
}

static void legend(FILE *f, const struct legend *lg, enum plot_group g,
		   double y0, double lo, double hi)
{
	char a[32], b[32];
	double x = 20, y = y0 + 38;

	val_us(a, sizeof(a), lo);
	val_us(b, sizeof(b), hi);
	fprintf(f,
		"<text x='20' y='%.1f'><tspan font-size='15' "
		"font-weight='bold'>%s</tspan>: one log x axis for every "
		"panel, %s to %s; y: the fraction of reports at or below "
		"x</text>\n",
		y0 + 18, group_what[g], a, b);
	for (int i = 0; i < lg->n; i++) {
		if (x + lg->e[i].w > W - 10 && x > 20) {
			y += LEGEND_ROW;
			x = 20;
		}
		entry(f, &lg->e[i], x, y);
		x += lg->e[i].w;
	}
}

/* The x axis: whole decades around lo..hi µs (false: no samples). */
static bool decades(double lo, double hi, double *a_lo, double *a_hi)
{
	if (hi <= 0)
		return false;
	*a_lo = pow(10, floor(log10(fmax(lo, 1))));
	*a_hi = pow(10, ceil(log10(fmax(hi, *a_lo * 10))));
	if (*a_hi <= *a_lo)
		*a_hi = *a_lo * 10;
	return true;
}

static void panel_start(struct plot *pl, enum plot_group g, enum plot_kind kind,
			const char *fmt, va_list ap)
{
	struct plot_panel *p;

	if (pl->panels >= PLOT_PANELS)
		return;
	p = &pl->panel[pl->panels++];
	memset(p, 0, sizeof(*p));
	p->group = g;
	p->kind = kind;
	vsnprintf(p->title, sizeof(p->title), fmt, ap);
}

void plot_panel(struct plot *pl, enum plot_group g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	panel_start(pl, g, PLOT_CDF, fmt, ap);
	va_end(ap);
}

void plot_spans(struct plot *pl, enum plot_group g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	panel_start(pl, g, PLOT_SPANS, fmt, ap);
	va_end(ap);
}

void plot_curve(struct plot *pl, const char *label, const char *colour,
		const char *dash, bool floor, const struct vec *ns)
{
	struct plot_panel *p = pl->panels ? &pl->panel[pl->panels - 1] : NULL;

	if (!p || !ns->n || p->curves >= PLOT_CURVES)
		return;
	p->curve[p->curves++] =
		(struct plot_curve){label, colour, dash, floor, ns};
}

void plot_mark(struct plot *pl, enum plot_mark_kind kind, double ns)
{
	struct plot_panel *p = pl->panels ? &pl->panel[pl->panels - 1] : NULL;

	if (!p || p->marks >= PLOT_MARKS || kind >= PLOT_MARK_KINDS || ns <= 0)
		return;
	p->mark[p->marks++] = (struct plot_mark){kind, ns};
}

/* What a group draws: its panels with samples, their x range, legend. */
struct group {
	int spans[PLOT_PANELS], cdfs[PLOT_PANELS], nspans, ncdfs;
	double lo, hi;
	struct legend lg;
	int h;
};

static bool group_of(const struct plot *pl, enum plot_group g, struct group *gr)
{
	double lo = INFINITY, hi = 0;

	gr->nspans = gr->ncdfs = 0;
	for (int k = 0; k < pl->panels; k++) {
		const struct plot_panel *p = &pl->panel[k];

		if (p->group != g || !p->curves)
			continue;
		if (p->kind == PLOT_SPANS)
			gr->spans[gr->nspans++] = k;
		else
			gr->cdfs[gr->ncdfs++] = k;
		for (int i = 0; i < p->curves; i++) {
			const struct vec *v = p->curve[i].ns;

			lo = fmin(lo, (double)v->v[0] / 1e3);
			hi = fmax(hi, (double)v->v[v->n - 1] / 1e3);
		}
		for (int i = 0; i < p->marks; i++) {
			lo = fmin(lo, p->mark[i].ns / 1e3);
			hi = fmax(hi, p->mark[i].ns / 1e3);
		}
	}
	if (!decades(lo, hi, &gr->lo, &gr->hi))
		return false;
	legend_of(pl, gr->cdfs, gr->ncdfs, &gr->lg);
	gr->h = gr->ncdfs ? legend_h(&gr->lg) : 0;
	for (int i = 0; i < gr->nspans; i++)
		gr->h += spans_h(&pl->panel[gr->spans[i]]);
	gr->h += (gr->ncdfs + COLS - 1) / COLS * CH;
	return true;
}

static void draw_group(FILE *f, const struct plot *pl, enum plot_group g,
		       const struct group *gr, double y)
{
	for (int i = 0; i < gr->nspans; i++) {
		const struct plot_panel *p = &pl->panel[gr->spans[i]];

		spans_panel(f, p, y, gr->lo, gr->hi);
		y += spans_h(p);
	}
	if (!gr->ncdfs)
		return;
	legend(f, &gr->lg, g, y, gr->lo, gr->hi);
	y += legend_h(&gr->lg);
	for (int i = 0; i < gr->ncdfs; i++)
		cdf_panel(f, &pl->panel[gr->cdfs[i]], (i % COLS) * CW,
			  y + (i / COLS) * CH, gr->lo, gr->hi);
}

int write_svg(FILE *f, const struct plot *pl)
{
	struct group *gr = calloc(PLOT_GROUPS, sizeof(*gr));
	bool has[PLOT_GROUPS];
	int h = 0;
	double y = 0;

	if (!gr) {
		fclose(f);
		return -ENOMEM;
	}
	for (int g = 0; g < PLOT_GROUPS; g++)
		if ((has[g] = group_of(pl, g, &gr[g])))
			h += gr[g].h;
	fprintf(f,
		"<?xml version='1.0' encoding='UTF-8'?>\n<svg "
		"xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
		"font-family='sans-serif' font-size='12'>\n<rect width='100%%' "
		"height='100%%' fill='white'/>\n",
		W, h ? h : 60);
	if (!h)
		fprintf(f, "<text x='20' y='36'>no latency samples</text>\n");
	for (int g = 0; g < PLOT_GROUPS; g++)
		if (has[g]) {
			draw_group(f, pl, g, &gr[g], y);
			y += gr[g].h;
		}
	fputs("</svg>\n", f);
	free(gr);
	return file_close(f);
}
