/* SPDX-License-Identifier: MIT */
/*
 * format_json: the JSON rendering of a stats snapshot.
 *
 * The schema (every key) is documented where users look, above
 * hupmon_stats_format() in include/hupmon.h; keep the two in step.
 */
#include <inttypes.h>

#include "format.h"

/* Starts member *n of the current object; keys are our own constants and
 * need no escaping. */
static void json_key(struct out *o, unsigned *n, const char *key)
{
	hupmon__format_printf(o, "%s\"%s\":", (*n)++ ? "," : "", key);
}

static void json_scalars(struct out *o, unsigned *n,
			 const struct hupmon_stats *s, const struct scalars *t)
{
	const struct scalar *f = t->f;

	for (size_t i = 0; i < t->n; i++) {
		uint64_t v = scalar_value(s, &f[i]);

		json_key(o, n, f[i].key);
		if (f[i].unit == UNIT_NS || f[i].unit == UNIT_NS_OR_OFF)
			hupmon__format_printf(o, "%s",
					      hupmon__format_seconds(v).s);
		else
			hupmon__format_printf(o, "%" PRIu64, v);
	}
}

/* {"epoll":{"peer_shutdown":..,...},"sweep":{...}} */
static void json_paths(struct out *o, const struct hupmon_stats *s,
		       const struct matrix *m)
{
	unsigned np = 0;

	hupmon__format_printf(o, "{");
	for (unsigned p = HUPMON_PATH_EPOLL; p <= HUPMON_PATH_SWEEP; p++) {
		const uint64_t *row = matrix_row(s, m, p);
		unsigned nc = 0;

		json_key(o, &np, hupmon_path_name((enum hupmon_path)p));
		hupmon__format_printf(o, "{");
		for (unsigned c = 1; c <= HUPMON_CAUSE_MAX; c++) {
			json_key(o, &nc,
				 hupmon_cause_name((enum hupmon_cause)c));
			hupmon__format_printf(o, "%" PRIu64, row[c]);
		}
		hupmon__format_printf(o, "}");
	}
	hupmon__format_printf(o, "}");
}

static void json_hist(struct out *o, const struct hupmon_hist *h)
{
	unsigned n = 0;

	hupmon__format_printf(o, "{");
	json_key(o, &n, "count");
	hupmon__format_printf(o, "%" PRIu64, h->count);
	json_key(o, &n, "sum_seconds");
	hupmon__format_printf(o, "%s", hupmon__format_seconds(h->sum_ns).s);
	json_key(o, &n, "buckets");
	hupmon__format_printf(o, "[");
	for (unsigned i = 0; i < HUPMON_HIST_BUCKETS; i++) {
		if (i < HUPMON_HIST_BUCKETS - 1)
			hupmon__format_printf(
				o, "%s{\"le_seconds\":%s,", i ? "," : "",
				hupmon__format_seconds(hupmon_hist_bound_ns(i))
					.s);
		else
			hupmon__format_printf(o, ",{\"le_seconds\":null,");
		hupmon__format_printf(o, "\"count\":%" PRIu64 "}",
				      h->bucket[i]);
	}
	hupmon__format_printf(o, "]}");
}

void hupmon__format_json(struct out *o, const struct hupmon_stats *s)
{
	unsigned n = 0, m;

	hupmon__format_printf(o, "{");
	json_scalars(o, &n, s, &hupmon__format_sockets);

	json_key(o, &n, "registry");
	hupmon__format_printf(o, "{");
	m = 0;
	json_scalars(o, &m, s, &hupmon__format_registry);
	json_key(o, &m, "watch_rejected");
	hupmon__format_printf(o, "{");
	m = 0;
	for (unsigned r = 0; r < HUPMON_REJECT_COUNT; r++) {
		json_key(o, &m, hupmon_reject_name(r));
		hupmon__format_printf(o, "%" PRIu64, s->watch_rejected[r]);
	}
	hupmon__format_printf(o, "}}");

	json_key(o, &n, hupmon__format_hangups.key);
	json_paths(o, s, &hupmon__format_hangups);
	json_scalars(o, &n, s, &hupmon__format_reports);

	json_key(o, &n, "epoll");
	hupmon__format_printf(o, "{");
	m = 0;
	json_scalars(o, &m, s, &hupmon__format_epoll);
	hupmon__format_printf(o, "}");

	json_key(o, &n, "sweep");
	hupmon__format_printf(o, "{");
	m = 0;
	json_scalars(o, &m, s, &hupmon__format_sweep);
	hupmon__format_printf(o, "}");

	json_key(o, &n, "stall");
	hupmon__format_printf(o, "{");
	m = 0;
	json_scalars(o, &m, s, &hupmon__format_stall);
	hupmon__format_printf(o, "}");

	json_key(o, &n, "compare");
	hupmon__format_printf(o, "{");
	m = 0;
	for (unsigned j = 0; j < HUPMON__FORMAT_NCOMPARE; j++) {
		json_key(o, &m, hupmon__format_compare[j].key);
		json_paths(o, s, &hupmon__format_compare[j]);
	}
	hupmon__format_printf(o, "}");

	json_key(o, &n, "histograms");
	hupmon__format_printf(o, "{");
	m = 0;
	for (unsigned i = 0; i < HUPMON__FORMAT_NHISTS; i++) {
		json_key(o, &m, hupmon__format_hists[i].key);
		json_hist(o, hist_of(s, &hupmon__format_hists[i]));
	}
	hupmon__format_printf(o, "}}\n");
}
