/* SPDX-License-Identifier: MIT */
/*
 * metrics: --metrics, the counters of one monitor of the run in the format
 * asked for: the last compare-mode monitor of the closure family, else its
 * last library monitor (a Prometheus file holds one exposition, which
 * promtool check metrics accepts).
 */
#include "bench.h"

#include <errno.h>

int write_metrics(FILE *f, enum hupmon_format fmt, const struct scen_run *runs)
{
	static char buf[1 << 16];
	const struct cell *c = NULL;
	const struct scen_run *at = NULL;
	int p = -1, len = 0, rc;

	for (int sc = 0; sc < scenario_count; sc++) {
		const struct closure_res *cr = cells_of(&runs[sc]);

		for (int q = 0; cr && q < BP_COUNT; q++)
			if (cr->c[q].have_stats &&
			    (p != BP_COMPARE || q == BP_COMPARE)) {
				c = &cr->c[q];
				at = &runs[sc];
				p = q;
			}
	}
	if (c)
		len = hupmon_stats_format(&c->stats, fmt, buf, sizeof(buf));
	if (len >= (int)sizeof(buf))
		len = -ENOSPC;
	if (len > 0 && fmt != HUPMON_FORMAT_JSON) /* JSON has no comments */
		fprintf(f,
			"# hupmon-bench: scenario=%s path=%s N=%zu (the "
			"monitor of its last round)\n",
			at->x.s->name, bench_paths[p].name, c->n);
	if (len > 0)
		fputs(buf, f);
	if (!c) /* options_fit() refuses a run without a monitor */
		len = -ENODATA;
	rc = file_close(f);
	return len < 0 ? len : rc;
}
