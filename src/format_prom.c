/* SPDX-License-Identifier: MIT */
/*
 * format_prom: the Prometheus text exposition format 0.0.4 of a stats
 * snapshot.
 *
 * Prometheus families, all prefixed hupmon_ (the tables in format_table.c
 * list them all): gauges for sockets, memory and sweep timings, *_total
 * counters, two *_seconds histograms, labels path, cause and error.
 */
#include <inttypes.h>

#include "format.h"

static void prom_family(struct out *o, const char *name, const char *type,
			const char *help)
{
	hupmon__format_printf(o, "# HELP hupmon_%s %s\n# TYPE hupmon_%s %s\n",
			      name, help, name, type);
}

static void prom_scalars(struct out *o, const struct hupmon_stats *s,
			 const struct scalars *t)
{
	const struct scalar *f = t->f;

	for (size_t i = 0; i < t->n; i++) {
		uint64_t v = scalar_value(s, &f[i]);

		prom_family(o, f[i].prom, f[i].gauge ? "gauge" : "counter",
			    f[i].help);
		if (f[i].unit == UNIT_NS || f[i].unit == UNIT_NS_OR_OFF)
			hupmon__format_printf(o, "hupmon_%s %s\n", f[i].prom,
					      hupmon__format_seconds(v).s);
		else
			hupmon__format_printf(o, "hupmon_%s %" PRIu64 "\n",
					      f[i].prom, v);
	}
}

static void prom_matrix(struct out *o, const struct hupmon_stats *s,
			const struct matrix *m)
{
	prom_family(o, m->prom, "counter", m->help);
	for (unsigned p = HUPMON_PATH_EPOLL; p <= HUPMON_PATH_SWEEP; p++) {
		const uint64_t *row = matrix_row(s, m, p);

		for (unsigned c = 1; c <= HUPMON_CAUSE_MAX; c++)
			hupmon__format_printf(
				o,
				"hupmon_%s{path=\"%s\",cause=\"%s\"} %" PRIu64
				"\n",
				m->prom, hupmon_path_name((enum hupmon_path)p),
				hupmon_cause_name((enum hupmon_cause)c),
				row[c]);
	}
}

/*
 * The +Inf bucket and _count are both the bucket total, not h->count: the
 * exposition format requires them equal, and a consistent snapshot has
 * count == total anyway.
 */
static void prom_hist(struct out *o, const struct hist_desc *d,
		      const struct hupmon_hist *h)
{
	uint64_t cum = 0;

	prom_family(o, d->prom, "histogram", d->help);
	for (unsigned i = 0; i < HUPMON_HIST_BUCKETS; i++) {
		cum = add_sat(cum, h->bucket[i]);
		if (i < HUPMON_HIST_BUCKETS - 1)
			hupmon__format_printf(
				o, "hupmon_%s_bucket{le=\"%s\"} %" PRIu64 "\n",
				d->prom,
				hupmon__format_seconds(hupmon_hist_bound_ns(i))
					.s,
				cum);
		else
			hupmon__format_printf(
				o,
				"hupmon_%s_bucket{le=\"+Inf\"} %" PRIu64 "\n",
				d->prom, cum);
	}
	hupmon__format_printf(o, "hupmon_%s_sum %s\n", d->prom,
			      hupmon__format_seconds(h->sum_ns).s);
	hupmon__format_printf(o, "hupmon_%s_count %" PRIu64 "\n", d->prom, cum);
}

void hupmon__format_prometheus(struct out *o, const struct hupmon_stats *s)
{
	prom_scalars(o, s, &hupmon__format_sockets);

	prom_scalars(o, s, &hupmon__format_registry);
	prom_family(o, "watch_rejected_total", "counter",
		    "Refused hupmon_watch calls by error.");
	for (unsigned r = 0; r < HUPMON_REJECT_COUNT; r++)
		hupmon__format_printf(
			o,
			"hupmon_watch_rejected_total{error=\"%s\"} %" PRIu64
			"\n",
			hupmon_reject_name(r), s->watch_rejected[r]);

	prom_matrix(o, s, &hupmon__format_hangups);
	prom_scalars(o, s, &hupmon__format_reports);
	prom_scalars(o, s, &hupmon__format_epoll);
	prom_scalars(o, s, &hupmon__format_sweep);
	prom_scalars(o, s, &hupmon__format_stall);
	for (unsigned j = 0; j < HUPMON__FORMAT_NCOMPARE; j++)
		prom_matrix(o, s, &hupmon__format_compare[j]);
	for (unsigned i = 0; i < HUPMON__FORMAT_NHISTS; i++)
		prom_hist(o, &hupmon__format_hists[i],
			  hist_of(s, &hupmon__format_hists[i]));
}
