/* SPDX-License-Identifier: MIT */
/*
 * format_text: the text rendering of a stats snapshot, for a person:
 * sections of aligned label and value columns, cause x path tables, and
 * durations and sizes in human units.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "format.h"

/* ns for a person: "950 ns", "1.02 us", "12.35 ms", "1099.51 s". The unit
 * switches where %.2f would otherwise round up to "1000.00". */
static struct num human_ns(uint64_t ns)
{
	struct num r;

	if (ns < 1000)
		snprintf(r.s, sizeof(r.s), "%" PRIu64 " ns", ns);
	else if (ns < 999995)
		snprintf(r.s, sizeof(r.s), "%.2f us", (double)ns / 1e3);
	else if (ns < 999995000)
		snprintf(r.s, sizeof(r.s), "%.2f ms", (double)ns / 1e6);
	else
		snprintf(r.s, sizeof(r.s), "%.2f s", (double)ns / 1e9);
	return r;
}

static struct num human_bytes(uint64_t b)
{
	static const char *const unit[] = {"KiB", "MiB", "GiB",
					   "TiB", "PiB", "EiB"};
	struct num r;
	double v = (double)b / 1024;
	unsigned i = 0;

	while (v >= 1024 && i + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		i++;
	}
	snprintf(r.s, sizeof(r.s), "%.2f %s", v, unit[i]);
	return r;
}

#define TEXT_LABEL  26 /* label column, after a two-space indent */
#define TEXT_VALUE  21 /* value column: fits UINT64_MAX */
#define TEXT_COLUMN 10 /* least width of a table column */

static void text_str(struct out *o, const char *label, const char *value)
{
	hupmon__format_printf(o, "  %-*s %*s\n", TEXT_LABEL, label, TEXT_VALUE,
			      value);
}

static void text_u64(struct out *o, const char *label, uint64_t v)
{
	hupmon__format_printf(o, "  %-*s %*" PRIu64 "\n", TEXT_LABEL, label,
			      TEXT_VALUE, v);
}

static void text_scalars(struct out *o, const struct hupmon_stats *s,
			 const struct scalars *t)
{
	const struct scalar *f = t->f;

	for (size_t i = 0; i < t->n; i++) {
		uint64_t v = scalar_value(s, &f[i]);

		switch (f[i].unit) {
		case UNIT_COUNT:
			text_u64(o, f[i].label, v);
			break;
		case UNIT_BYTES:
			/* Exact, plus a rounded figure once it helps. */
			hupmon__format_printf(o, "  %-*s %*" PRIu64, TEXT_LABEL,
					      f[i].label, TEXT_VALUE, v);
			if (v >= 1024)
				hupmon__format_printf(o, " (%s)",
						      human_bytes(v).s);
			hupmon__format_printf(o, "\n");
			break;
		case UNIT_NS:
			text_str(o, f[i].label, human_ns(v).s);
			break;
		case UNIT_NS_OR_OFF:
			text_str(o, f[i].label, v ? human_ns(v).s : "disarmed");
			break;
		}
	}
}

static int digits(uint64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* A cause x column table. Columns widen to their widest entry so any count
 * stays aligned; with small counts two columns end where the value column
 * of the scalars does. */
static void text_cause_table(struct out *o, const char *title,
			     const char *const *head,
			     const uint64_t *const *col, unsigned ncol)
{
	int w = TEXT_COLUMN;

	for (unsigned j = 0; j < ncol; j++) {
		int hw = (int)strlen(head[j]);

		if (hw > w)
			w = hw;
		for (unsigned c = 1; c <= HUPMON_CAUSE_MAX; c++)
			if (digits(col[j][c]) > w)
				w = digits(col[j][c]);
	}
	hupmon__format_printf(o, "%-*s", TEXT_LABEL + 2, title);
	for (unsigned j = 0; j < ncol; j++)
		hupmon__format_printf(o, " %*s", w, head[j]);
	hupmon__format_printf(o, "\n");
	for (unsigned c = 1; c <= HUPMON_CAUSE_MAX; c++) {
		hupmon__format_printf(o, "  %-*s", TEXT_LABEL,
				      hupmon_cause_name((enum hupmon_cause)c));
		for (unsigned j = 0; j < ncol; j++)
			hupmon__format_printf(o, " %*" PRIu64, w, col[j][c]);
		hupmon__format_printf(o, "\n");
	}
}

/* Upper bound of the bucket holding the pct-th percentile of total values:
 * the smallest bound that at least that share of the values is within. */
static unsigned percentile_bucket(const struct hupmon_hist *h, uint64_t total,
				  unsigned pct)
{
	/* ceil(total * pct / 100) without overflowing. */
	uint64_t rank = total / 100 * pct + ((total % 100) * pct + 99) / 100;
	uint64_t cum = 0;
	unsigned i;

	for (i = 0; i < HUPMON_HIST_BUCKETS - 1; i++) {
		cum = add_sat(cum, h->bucket[i]);
		if (cum >= rank)
			break;
	}
	return i;
}

static void text_bound(struct out *o, const char *label, unsigned i)
{
	char v[48];

	if (i < HUPMON_HIST_BUCKETS - 1)
		snprintf(v, sizeof(v), "<= %s",
			 human_ns(hupmon_hist_bound_ns(i)).s);
	else
		snprintf(v, sizeof(v), "> %s",
			 human_ns(hupmon_hist_bound_ns(i - 1)).s);
	text_str(o, label, v);
}

static void text_hist(struct out *o, const struct hist_desc *d,
		      const struct hupmon_hist *h)
{
	uint64_t total = hist_total(h);

	hupmon__format_printf(o, "%s\n", d->label);
	text_u64(o, "count", h->count);
	if (!h->count && !total)
		return;
	text_str(o, "sum", human_ns(h->sum_ns).s);
	if (h->count)
		text_str(o, "mean", human_ns(h->sum_ns / h->count).s);
	if (total) {
		text_bound(o, "p50", percentile_bucket(h, total, 50));
		text_bound(o, "p99", percentile_bucket(h, total, 99));
	}
	for (unsigned i = 0; i < HUPMON_HIST_BUCKETS; i++) {
		char label[48];

		if (!h->bucket[i])
			continue;
		if (i < HUPMON_HIST_BUCKETS - 1)
			snprintf(label, sizeof(label), "<= %s",
				 human_ns(hupmon_hist_bound_ns(i)).s);
		else
			snprintf(label, sizeof(label), "> %s",
				 human_ns(hupmon_hist_bound_ns(i - 1)).s);
		text_u64(o, label, h->bucket[i]);
	}
}

void hupmon__format_text(struct out *o, const struct hupmon_stats *s)
{
	const char *head[HUPMON__FORMAT_NCOMPARE];
	const uint64_t *col[HUPMON__FORMAT_NCOMPARE];

	hupmon__format_printf(o, "sockets\n");
	text_scalars(o, s, &hupmon__format_sockets);

	hupmon__format_printf(o, "registry\n");
	text_scalars(o, s, &hupmon__format_registry);
	for (unsigned r = 0; r < HUPMON_REJECT_COUNT; r++) {
		char label[48];

		snprintf(label, sizeof(label), "watch rejected %s",
			 hupmon_reject_name(r));
		text_u64(o, label, s->watch_rejected[r]);
	}

	for (unsigned p = HUPMON_PATH_EPOLL; p <= HUPMON_PATH_SWEEP; p++) {
		head[p - 1] = hupmon_path_name((enum hupmon_path)p);
		col[p - 1] = matrix_row(s, &hupmon__format_hangups, p);
	}
	hupmon__format_printf(o, "reports\n");
	text_scalars(o, s, &hupmon__format_reports);
	text_cause_table(o, "hangups", head, col, 2);

	hupmon__format_printf(o, "epoll\n");
	text_scalars(o, s, &hupmon__format_epoll);

	hupmon__format_printf(o, "sweep\n");
	text_scalars(o, s, &hupmon__format_sweep);

	hupmon__format_printf(o, "stall\n");
	text_scalars(o, s, &hupmon__format_stall);

	for (unsigned p = HUPMON_PATH_EPOLL; p <= HUPMON_PATH_SWEEP; p++) {
		char title[48];

		for (unsigned j = 0; j < HUPMON__FORMAT_NCOMPARE; j++) {
			head[j] = hupmon__format_compare[j].label;
			col[j] = matrix_row(s, &hupmon__format_compare[j], p);
		}
		snprintf(title, sizeof(title), "compare, %s path",
			 hupmon_path_name((enum hupmon_path)p));
		text_cause_table(o, title, head, col, HUPMON__FORMAT_NCOMPARE);
	}

	for (unsigned i = 0; i < HUPMON__FORMAT_NHISTS; i++)
		text_hist(o, &hupmon__format_hists[i],
			  hist_of(s, &hupmon__format_hists[i]));
}
