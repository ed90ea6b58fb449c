/* SPDX-License-Identifier: MIT */
/*
 * plot: the picture's panels, as the scenarios describe them (their plot
 * op, and summary_plot) and svg.c draws them. A panel is a title and
 * latency curves (each a sorted vector of nanosecond samples), with marks
 * on the x axis, in a group: every panel of a group is drawn on one x axis
 * (svg.c takes its range from all of them), so curves compare across
 * panels. A CDF panel draws each curve as a CDF; a spans panel draws each
 * curve as one row, its p50 to its p99, the floor that follows a path just
 * under it.
 */
#ifndef HUPMON_BENCH_PLOT_H
#define HUPMON_BENCH_PLOT_H

#include <stdbool.h>
#include <stddef.h>

#include "bench.h"

#define PLOT_PANELS 48
#define PLOT_CURVES 16
#define PLOT_MARKS  4

/* The x axes of the picture, in the order they are drawn. */
enum plot_group {
	PLOT_US, /* hangups on loopback (closures, soak): µs to tens of ms */
	PLOT_MS, /* anything timed in ms or s: abandon, silent */
	PLOT_GROUPS
};

enum plot_kind { PLOT_CDF, PLOT_SPANS };

/* What a mark on the x axis is. */
enum plot_mark_kind {
	PLOT_PERIOD, /* the sweep period */
	PLOT_BOUND,  /* the longest a watched socket goes unprobed */
	PLOT_MARK_KINDS
};

struct plot_curve {
	const char *label, *colour;
	const char *dash;     /* stroke-dasharray, NULL: solid */
	bool floor;	      /* a floor: drawn thinner, hollow ticks */
	const struct vec *ns; /* sorted samples */
};

struct plot_mark {
	enum plot_mark_kind kind;
	double ns;
};

struct plot_panel {
	char title[160];
	enum plot_group group;
	enum plot_kind kind;
	struct plot_curve curve[PLOT_CURVES];
	struct plot_mark mark[PLOT_MARKS];
	int curves, marks;
};

struct plot {
	struct plot_panel panel[PLOT_PANELS];
	int panels;
};

/* A new CDF panel of group g; the curves and marks that follow are its. */
void plot_panel(struct plot *pl, enum plot_group g, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A new spans panel of group g (as wide as the picture). */
void plot_spans(struct plot *pl, enum plot_group g, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A curve of the last panel (none without samples). */
void plot_curve(struct plot *pl, const char *label, const char *colour,
		const char *dash, bool floor, const struct vec *ns);
/* A mark on the last panel's x axis, at ns. */
void plot_mark(struct plot *pl, enum plot_mark_kind kind, double ns);

/* svg.c: the panels into f as one SVG document, and f closed; 0 or
 * -errno (a write error too). */
int write_svg(FILE *f, const struct plot *pl);

#endif
