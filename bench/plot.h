/* SPDX-License-Identifier: MIT */
/*
 * plot: the picture's panels, as the scenarios describe them (their plot
 * op) and svg.c draws them. A panel is a title and latency curves (each a
 * sorted vector of nanosecond samples, drawn as a CDF), with marks on the
 * x axis.
 */
#ifndef HUPMON_BENCH_PLOT_H
#define HUPMON_BENCH_PLOT_H

#include <stdbool.h>
#include <stddef.h>

#include "bench.h"

#define PLOT_PANELS 48
#define PLOT_CURVES 16
#define PLOT_MARKS  4

struct plot_curve {
	const char *label, *colour;
	bool dashed;	      /* a floor */
	const struct vec *ns; /* sorted samples */
};

struct plot_mark {
	const char *label;
	double ns;
};

struct plot_panel {
	char title[160];
	struct plot_curve curve[PLOT_CURVES];
	struct plot_mark mark[PLOT_MARKS];
	int curves, marks;
};

struct plot {
	struct plot_panel panel[PLOT_PANELS];
	int panels;
};

/* A new panel; the curves and marks that follow are its. */
void plot_panel(struct plot *pl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A curve of the last panel (none without samples). */
void plot_curve(struct plot *pl, const char *label, const char *colour,
		bool dashed, const struct vec *ns);
/* A mark on the last panel's x axis, at ns. */
void plot_mark(struct plot *pl, const char *label, double ns);

/* svg.c: the panels in one SVG file; 0 or -errno. */
int write_svg(const char *file, const struct plot *pl);

#endif
