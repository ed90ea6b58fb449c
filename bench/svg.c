/* SPDX-License-Identifier: MIT */
/*
 * svg: the latency CDF of every path, one chart per scenario (and per
 * escalate stage), stacked in one plain SVG file. Log x axis (decades with
 * minor ticks), linear y (fraction of the detections at or below x), a
 * legend with each path's sample count. Floors are dashed in the colour of
 * the path they are the floor of.
 */
#include "abandon.h"

#include <errno.h>
#include <math.h>

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

/* The x range of a chart: whole decades around every sample. */
static bool range(const struct results *res, enum scen sc, unsigned s,
		  struct axis *a)
{
	double lo = INFINITY, hi = 0;

	for (int p = 0; p < BP_COUNT; p++) {
		const struct dist *d = &res->an[sc][p].lat[s];

		if (!res->c[sc][p].ran || !d->n)
			continue;
		lo = fmin(lo, d->min);
		hi = fmax(hi, d->max);
	}
	return decades(lo, hi, a);
}

static void chart(FILE *f, const struct bopts *o, const struct results *res,
		  enum scen sc, unsigned s, struct axis *a)
{
	int row = 0;

	fprintf(f,
		"<text x='%d' y='%.1f' font-size='16' font-weight='bold'>%s: "
		"latency CDF, N=%zu, sweep period %u ms / tick %u ms</text>\n",
		PL, a->y0 + 28, stage_name(sc, s),
		res->c[sc][BP_RAW_EPOLL].n ? res->c[sc][BP_RAW_EPOLL].n : o->n,
		o->period_ms, o->tick_ms);
	x_axis(f, a);
	y_axis(f, a);
	for (int p = 0; p < BP_COUNT; p++) {
		/* sorted by analyse() */
		const struct vec *v = &res->c[sc][p].lat[s];

		if (!res->c[sc][p].ran || !v->n)
			continue;
		curve(f, a, v, bench_paths[p].colour, is_floor(p));
		legend(f, a, bench_paths[p].colour, is_floor(p),
		       bench_paths[p].name, row++, v->n);
	}
}

/* abandon: act -> callback of each mode that has samples (the colour of
 * the path --paths chooses it by). */
static const struct {
	enum serve_mode mode;
	enum bpath_id like;
} abandon_curves[] = {{SERVE_EPOLL, BP_EPOLL},
		      {SERVE_SWEEP, BP_TCPINFO},
		      {SERVE_COMPARE, BP_COMPARE}};
#define ABANDON_CURVES (sizeof(abandon_curves) / sizeof(abandon_curves[0]))

static bool abandon_range(const struct results *res, struct axis *a)
{
	double lo = INFINITY, hi = 0;

	for (size_t i = 0; res->abandon && i < ABANDON_CURVES; i++) {
		const struct vec *v =
			&res->abandon->m[abandon_curves[i].mode].act_cb;

		if (!v->n)
			continue;
		lo = fmin(lo, (double)v->v[0] / 1e3);
		hi = fmax(hi, (double)v->v[v->n - 1] / 1e3);
	}
	return decades(lo, hi, a);
}

int abandon_chart(FILE *f, const struct results *res, double y0)
{
	struct axis a = {.y0 = y0};
	int row = 0;

	if (!abandon_range(res, &a))
		return 0;
	fprintf(f,
		"<text x='%d' y='%.1f' font-size='16' font-weight='bold'>"
		"abandon: client act -&gt; callback CDF in hupmon-serve, %u "
		"clients, sweep period %d ms / tick %d ms</text>\n",
		PL, a.y0 + 28, res->abandon->lo.clients, SERVE_SWEEP_PERIOD_MS,
		SERVE_SWEEP_TICK_MS);
	x_axis(f, &a);
	y_axis(f, &a);
	for (size_t i = 0; i < ABANDON_CURVES; i++) {
		const struct vec *v =
			&res->abandon->m[abandon_curves[i].mode].act_cb;
		const char *colour = bench_paths[abandon_curves[i].like].colour;

		if (!v->n)
			continue;
		curve(f, &a, v, colour, false);
		legend(f, &a, colour, false,
		       serve_mode_name(abandon_curves[i].mode), row++, v->n);
	}
	return H;
}

int write_svg(const char *file, const struct bopts *o,
	      const struct results *res)
{
	struct axis ax[SC_COUNT * BENCH_STAGES], ab;
	int sel[SC_COUNT * BENCH_STAGES], n = 0;
	bool abandon = abandon_range(res, &ab);
	FILE *f;

	for (int sc = 0; sc < SC_COUNT; sc++)
		for (unsigned s = 0; s < BENCH_STAGES; s++)
			if (range(res, sc, s, &ax[n])) {
				ax[n].y0 = (double)n * H;
				sel[n++] = sc * BENCH_STAGES + (int)s;
			}
	f = fopen(file, "w");
	if (!f)
		return -errno;
	fprintf(f,
		"<?xml version='1.0' encoding='UTF-8'?>\n<svg "
		"xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
		"font-family='sans-serif' font-size='12'>\n<rect width='100%%' "
		"height='100%%' fill='white'/>\n",
		W, n + abandon ? (n + abandon) * H : H);
	if (!n && !abandon)
		fprintf(f, "<text x='20' y='40'>no latency samples</text>\n");
	for (int i = 0; i < n; i++)
		chart(f, o, res, sel[i] / BENCH_STAGES,
		      (unsigned)(sel[i] % BENCH_STAGES), &ax[i]);
	abandon_chart(f, res, (double)n * H);
	fputs("</svg>\n", f);
	return fclose(f) ? -errno : 0;
}
