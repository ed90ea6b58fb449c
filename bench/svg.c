/* SPDX-License-Identifier: MIT */
/*
 * svg: the picture (--svg): the panels the scenarios described (plot.h),
 * stacked in one plain SVG file. Each is a latency CDF: log x axis (decades
 * with minor ticks), linear y (fraction of the detections at or below x), a
 * legend with each curve's sample count. Floors are dashed in the colour of
 * the path they are the floor of.
 */
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#define W      900
#define H      400
#define PL     80 /* plot area: left, right, top, bottom */
#define PR     660
#define PT     50
#define PB     340
#define MAXPTS 400 /* points per curve */

struct axis {
	double lo, hi; /* µs, powers of ten */
	double y0;     /* chart's top in the file */
};

static double xpos(const struct axis *a, double us)
{
	double l;

	if (us < a->lo)
		us = a->lo;
	l = (log10(us) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
	return PL + l * (PR - PL);
}

static double ypos(const struct axis *a, double frac)
{
	return a->y0 + PB - frac * (PB - PT);
}

static void label_us(char *buf, size_t len, double us)
{
	if (us < 1000)
		snprintf(buf, len, "%g µs", us);
	else if (us < 1e6)
		snprintf(buf, len, "%g ms", us / 1e3);
	else
		snprintf(buf, len, "%g s", us / 1e6);
}

static void x_axis(FILE *f, const struct axis *a)
{
	for (double d = a->lo; d <= a->hi * 1.001; d *= 10) {
		char buf[32];
		double x = xpos(a, d);

		label_us(buf, sizeof(buf), d);
		fprintf(f,
			"<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' "
			"stroke='#ccc'/>\n<text x='%.1f' y='%.1f' "
			"text-anchor='middle'>%s</text>\n",
			x, ypos(a, 0), x, ypos(a, 1), x, ypos(a, 0) + 18, buf);
		for (int m = 2; m < 10 && d * m < a->hi; m++) {
			x = xpos(a, d * m);
			fprintf(f,
				"<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f'"
				" stroke='#000'/>\n",
				x, ypos(a, 0), x, ypos(a, 0) + 4);
		}
	}
	fprintf(f,
		"<text x='%d' y='%.1f' text-anchor='middle'>latency: client "
		"act to callback (log scale)</text>\n",
		(PL + PR) / 2, ypos(a, 0) + 40);
}

static void y_axis(FILE *f, const struct axis *a)
{
	for (int i = 0; i <= 10; i++) {
		double y = ypos(a, i / 10.0);

		fprintf(f,
			"<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' "
			"stroke='%s'/>\n",
			PL - (i % 2 ? 4 : 8), y, PR, y,
			i % 5 ? "#eee" : "#ccc");
		if (i % 2 == 0)
			fprintf(f,
				"<text x='%d' y='%.1f' text-anchor='end'>"
				"%.1f</text>\n",
				PL - 12, y + 4, i / 10.0);
	}
	fprintf(f,
		"<text transform='translate(%d %.1f) rotate(-90)' "
		"text-anchor='middle'>fraction of detections &#8804; "
		"x</text>\n",
		PL - 50, ypos(a, 0.5));
	fprintf(f,
		"<rect x='%d' y='%.1f' width='%d' height='%d' fill='none' "
		"stroke='#000'/>\n",
		PL, ypos(a, 1), PR - PL, PB - PT);
}

/* Step CDF of sorted ns samples, thinned to about MAXPTS points. */
static void curve(FILE *f, const struct axis *a, const struct vec *v,
		  const char *colour, bool dashed)
{
	size_t step = v->n > MAXPTS ? (v->n + MAXPTS - 1) / MAXPTS : 1;

	fprintf(f,
		"<polyline fill='none' stroke='%s' stroke-width='2'%s "
		"points='",
		colour, dashed ? " stroke-dasharray='6 4'" : "");
	for (size_t i = 0; i < v->n; i += step) {
		double x = xpos(a, (double)v->v[i] / 1e3);

		fprintf(f, "%.1f,%.1f %.1f,%.1f ", x,
			ypos(a, (double)i / (double)v->n), x,
			ypos(a, (double)(i + 1) / (double)v->n));
	}
	fprintf(f, "%.1f,%.1f'/>\n", xpos(a, (double)v->v[v->n - 1] / 1e3),
		ypos(a, 1));
}

static void legend(FILE *f, const struct axis *a, const char *colour,
		   bool dashed, const char *name, int row, size_t n)
{
	double y = ypos(a, 1) + 10 + row * 22;

	fprintf(f,
		"<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='%s' "
		"stroke-width='2'%s/>\n<text x='%d' y='%.1f'>%s (n=%zu)"
		"</text>\n",
		PR + 20, y, PR + 50, y, colour,
		dashed ? " stroke-dasharray='6 4'" : "", PR + 58, y + 4, name,
		n);
}

/* The x axis: whole decades around lo..hi µs (false: no samples). */
static bool decades(double lo, double hi, struct axis *a)
{
	if (hi <= 0)
		return false;
	a->lo = pow(10, floor(log10(fmax(lo, 1))));
	a->hi = pow(10, ceil(log10(fmax(hi, a->lo * 10))));
	if (a->hi <= a->lo)
		a->hi = a->lo * 10;
	return true;
}

void plot_panel(struct plot *pl, const char *fmt, ...)
{
	va_list ap;

	if (pl->panels >= PLOT_PANELS)
		return;
	memset(&pl->panel[pl->panels], 0, sizeof(pl->panel[0]));
	va_start(ap, fmt);
	vsnprintf(pl->panel[pl->panels].title, sizeof(pl->panel[0].title), fmt,
		  ap);
	va_end(ap);
	pl->panels++;
}

void plot_curve(struct plot *pl, const char *label, const char *colour,
		bool dashed, const struct vec *ns)
{
	struct plot_panel *p = pl->panels ? &pl->panel[pl->panels - 1] : NULL;

	if (!p || !ns->n || p->curves >= PLOT_CURVES)
		return;
	p->curve[p->curves++] = (struct plot_curve){label, colour, dashed, ns};
}

void plot_mark(struct plot *pl, const char *label, double ns)
{
	struct plot_panel *p = pl->panels ? &pl->panel[pl->panels - 1] : NULL;

	if (!p || p->marks >= PLOT_MARKS)
		return;
	p->mark[p->marks++] = (struct plot_mark){label, ns};
}

/* The x range of a panel: whole decades around every sample. */
static bool range(const struct plot_panel *p, struct axis *a)
{
	double lo = INFINITY, hi = 0;

	for (int i = 0; i < p->curves; i++) {
		const struct vec *v = p->curve[i].ns;

		lo = fmin(lo, (double)v->v[0] / 1e3);
		hi = fmax(hi, (double)v->v[v->n - 1] / 1e3);
	}
	return decades(lo, hi, a);
}

static void chart(FILE *f, const struct plot_panel *p, const struct axis *a)
{
	fprintf(f,
		"<text x='%d' y='%.1f' font-size='16' "
		"font-weight='bold'>%s</text>\n",
		PL, a->y0 + 28, p->title);
	x_axis(f, a);
	y_axis(f, a);
	for (int i = 0; i < p->curves; i++) {
		const struct plot_curve *c = &p->curve[i];

		curve(f, a, c->ns, c->colour, c->dashed);
		legend(f, a, c->colour, c->dashed, c->label, i, c->ns->n);
	}
}

int write_svg(const char *file, const struct plot *pl)
{
	struct axis ax[PLOT_PANELS];
	int sel[PLOT_PANELS], n = 0;
	FILE *f;

	for (int i = 0; i < pl->panels; i++)
		if (range(&pl->panel[i], &ax[n])) {
			ax[n].y0 = (double)n * H;
			sel[n++] = i;
		}
	f = fopen(file, "w");
	if (!f)
		return -errno;
	fprintf(f,
		"<?xml version='1.0' encoding='UTF-8'?>\n<svg "
		"xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
		"font-family='sans-serif' font-size='12'>\n<rect width='100%%' "
		"height='100%%' fill='white'/>\n",
		W, n ? n * H : H);
	if (!n)
		fprintf(f, "<text x='20' y='40'>no latency samples</text>\n");
	for (int i = 0; i < n; i++)
		chart(f, &pl->panel[sel[i]], &ax[i]);
	fputs("</svg>\n", f);
	return fclose(f) ? -errno : 0;
}
