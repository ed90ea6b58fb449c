/* SPDX-License-Identifier: MIT */
/*
 * format: hupmon_stats_format() and the three renderings it dispatches to
 * (format_text.c, format_json.c, format_prom.c), which share the
 * descriptor tables of format_table.h. Internal to format*.c.
 */
#ifndef HUPMON_FORMAT_H
#define HUPMON_FORMAT_H

#include "format_table.h"

/* The three renderings of a whole snapshot. */
void hupmon__format_text(struct out *o, const struct hupmon_stats *s);
void hupmon__format_json(struct out *o, const struct hupmon_stats *s);
void hupmon__format_prometheus(struct out *o, const struct hupmon_stats *s);

#endif
