/* SPDX-License-Identifier: MIT */
/*
 * summary: the answer first. What a reader of a run wants in ten seconds,
 * taken across the scenarios that ran: per path, the p50 and p99 detection
 * latency of the first closure scenario that ran (fin by default) beside its
 * floor's and the ratio, the idle CPU per 1 000 watched sockets, what it
 * missed in every closure scenario; who saw each hangup first in compare
 * mode; and one verdict line. The same as JSON, the document's first
 * object.
 */
#ifndef HUPMON_BENCH_SUMMARY_H
#define HUPMON_BENCH_SUMMARY_H

#include "bench.h"

/* The compare-mode records of every closure scenario, one table. */
void summary_compare(FILE *f, const struct scen_run *runs);
/* The summary, at most 15 lines, the last of them the verdict. */
void summary_text(FILE *f, const struct scen_run *runs,
		  const struct verdicts *v);
void summary_json(struct jw *w, const struct scen_run *runs,
		  const struct verdicts *v);
/* The picture's first panel (plot.h): the summary's latencies. */
void summary_plot(struct plot *pl, const struct scen_run *runs);

#endif
