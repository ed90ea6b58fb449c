/* SPDX-License-Identifier: MIT */
/*
 * format: hupmon_stats_format(), the three renderings of a stats snapshot:
 * text for a person (format_text.c), JSON (format_json.c), and the
 * Prometheus text exposition format 0.0.4 (format_prom.c), all fed by one
 * descriptor table (format_table.c). Pure functions: no allocation, no
 * lock, no syscall, so any thread (or a callback) may format.
 *
 * Every rendering emits every field and every label combination, zero or
 * not, so that scrapers and parsers see a stable set of series and keys.
 * Durations are nanoseconds in the snapshot; JSON and Prometheus print them
 * as seconds converted exactly in integers (a double would round sums above
 * 2^53 ns, about 104 days), the text rendering in human units.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "format.h"
#include "stats.h"

int hupmon_stats_format_sized(const struct hupmon_stats *s, size_t s_size,
			      enum hupmon_format f, char *buf, size_t len)
{
	struct hupmon_stats local;
	struct out o = {.buf = buf, .len = len};
	int err;

	if (!s || (!buf && len))
		return -EINVAL;
	if (f != HUPMON_FORMAT_TEXT && f != HUPMON_FORMAT_JSON &&
	    f != HUPMON_FORMAT_PROMETHEUS)
		return -EINVAL;

	/* Into our struct by the size rule (sized.h): an older caller's
	 * missing counters read 0, a newer caller's extra ones are zero. */
	err = hupmon__stats_copy_in(&local, s, s_size);
	if (err)
		return err;
	s = &local;

	switch (f) {
	case HUPMON_FORMAT_TEXT:
		hupmon__format_text(&o, s);
		break;
	case HUPMON_FORMAT_JSON:
		hupmon__format_json(&o, s);
		break;
	case HUPMON_FORMAT_PROMETHEUS:
		hupmon__format_prometheus(&o, s);
		break;
	}

	if (len)
		buf[o.pos < len ? o.pos : len - 1] = '\0';
	/* Neither can happen with the fixed-size output above; kept so the
	 * int return stays honest if the schema ever grows without bound. */
	if (o.failed || o.pos > INT_MAX)
		return -EOVERFLOW;
	return (int)o.pos;
}
