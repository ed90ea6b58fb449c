/* SPDX-License-Identifier: MIT */
/*
 * check_header_keys: the JSON keys and Prometheus families that
 * include/hupmon.h lists above hupmon_stats_format() are exactly those the
 * library renders. Every counter is named once, in the descriptor tables of
 * src/format_table.c; the renderings of a snapshot walk those tables (and
 * add the section and label names), so what they emit is the table. A key
 * added to a table and not to the header, or one the header names that no
 * rendering emits, fails here.
 *
 * The header's lists use brace expansion: a.{b c} is a.b and a.c, nested
 * freely; <path> and <cause> stand for every path and cause name. JSON
 * entries are dotted paths from the top object ([] for an array's
 * elements); Prometheus entries are family names after "gauges",
 * "counters" or "histograms", with their label names in [a,b].
 */
#include <check.h>

#include "fixture.h"
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hupmon.h"

#define HEADER_PATH HUPMON_TEST_DIR "/../include/hupmon.h"
#define ENTRY_MAX   256

/* A set of strings, kept in the order first added. */
struct strset {
	char **v;
	size_t n, cap;
};

static bool set_has(const struct strset *s, const char *x)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], x))
			return true;
	return false;
}

static void set_add(struct strset *s, const char *x)
{
	if (set_has(s, x))
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		ck_assert_ptr_nonnull(s->v);
	}
	s->v[s->n] = strdup(x);
	ck_assert_ptr_nonnull(s->v[s->n]);
	s->n++;
}

static void set_free(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Prints every entry of want missing from have; returns how many. */
static size_t missing(const struct strset *want, const struct strset *have,
		      const char *what, bool print)
{
	size_t n = 0;

	for (size_t i = 0; i < want->n; i++) {
		if (set_has(have, want->v[i]))
			continue;
		if (print)
			fprintf(stderr, "%s: %s\n", what, want->v[i]);
		n++;
	}
	return n;
}

/* Entries of one set missing from the other, both ways. */
static size_t differences(const struct strset *rendered,
			  const struct strset *header, bool print)
{
	return missing(rendered, header,
		       "rendered but not listed in include/hupmon.h", print) +
	       missing(header, rendered,
		       "listed in include/hupmon.h but not rendered", print);
}

static char *read_header(void)
{
	FILE *f = fopen(HEADER_PATH, "r");
	char *text;
	long len;

	ck_assert_msg(f, "cannot open %s", HEADER_PATH);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	ck_assert_int_gt(len, 0);
	rewind(f);
	text = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(fread(text, 1, (size_t)len, f), (size_t)len);
	text[len] = '\0';
	fclose(f);
	return text;
}

/*
 * The list that follows the comment line holding title: its lines start
 * with " *   " and the first line that does not ends it. Returned as one
 * malloc'd string, the lines joined by spaces.
 */
static char *header_list(const char *text, const char *title)
{
	const char *p = strstr(text, title);
	size_t len = 0;
	char *out;

	ck_assert_msg(p, "include/hupmon.h has no \"%s\"", title);
	out = calloc(strlen(p) + 1, 1);
	ck_assert_ptr_nonnull(out);
	while ((p = strchr(p + 1, '\n')) && strncmp(p + 1, " *   ", 5))
		; /* skip the rest of the title's paragraph */
	while (p && !strncmp(p + 1, " *   ", 5)) {
		const char *line = p + 6, *end = strchr(line, '\n');

		if (!end)
			end = line + strlen(line);
		out[len++] = ' ';
		memcpy(out + len, line, (size_t)(end - line));
		len += (size_t)(end - line);
		p = *end ? end : NULL;
	}
	ck_assert_msg(len > 0, "include/hupmon.h: no list after \"%s\"", title);
	return out;
}

/* Replaces every <name> with a brace group of the library's names. */
static void substitute(const char *in, char *out, size_t size)
{
	char paths[64], causes[128];
	size_t n = 0;

	snprintf(paths, sizeof(paths), "{%s %s}",
		 hupmon_path_name(HUPMON_PATH_EPOLL),
		 hupmon_path_name(HUPMON_PATH_SWEEP));
	n = (size_t)snprintf(causes, sizeof(causes), "{");
	for (int c = 1; c <= HUPMON_CAUSE_MAX; c++)
		n += (size_t)snprintf(causes + n, sizeof(causes) - n, "%s%s",
				      c > 1 ? " " : "",
				      hupmon_cause_name((enum hupmon_cause)c));
	snprintf(causes + n, sizeof(causes) - n, "}");

	n = 0;
	while (*in) {
		const char *with = NULL;

		if (!strncmp(in, "<path>", 6))
			with = paths;
		else if (!strncmp(in, "<cause>", 7))
			with = causes;
		if (with) {
			ck_assert_uint_lt(n + strlen(with), size);
			memcpy(out + n, with, strlen(with));
			n += strlen(with);
			in = strchr(in, '>') + 1;
		} else {
			ck_assert_uint_lt(n + 1, size);
			out[n++] = *in++;
		}
	}
	out[n] = '\0';
}

/* Adds every string the brace pattern pat stands for, each after prefix. */
static void expand(const char *prefix, const char *pat, struct strset *out)
{
	const char *open = strchr(pat, '{'), *close = NULL, *a;
	char buf[ENTRY_MAX];
	int depth = 0;

	if (!open) {
		snprintf(buf, sizeof(buf), "%s%s", prefix, pat);
		set_add(out, buf);
		return;
	}
	for (const char *p = open; *p && !close; p++) {
		if (*p == '{')
			depth++;
		else if (*p == '}' && --depth == 0)
			close = p;
	}
	ck_assert_msg(close, "unbalanced braces in \"%s\"", pat);
	for (a = open + 1; a < close;) {
		const char *e = a;

		if (isspace((unsigned char)*a)) {
			a++;
			continue;
		}
		for (depth = 0;
		     e < close && (depth || !isspace((unsigned char)*e)); e++)
			depth += *e == '{' ? 1 : *e == '}' ? -1 : 0;
		ck_assert_int_lt(snprintf(buf, sizeof(buf), "%.*s%.*s%s",
					  (int)(open - pat), pat, (int)(e - a),
					  a, close + 1),
				 (int)sizeof(buf));
		expand(prefix, buf, out);
		a = e;
	}
}

/* Calls fn on each token of list: runs of non-space at bracket depth 0. */
static void tokens(const char *list, void (*fn)(const char *, void *),
		   void *arg)
{
	char tok[ENTRY_MAX * 4];

	while (*list) {
		size_t n = 0;
		int depth = 0;

		while (isspace((unsigned char)*list))
			list++;
		while (*list && (depth || !isspace((unsigned char)*list))) {
			if (*list == '{' || *list == '[')
				depth++;
			else if (*list == '}' || *list == ']')
				depth--;
			ck_assert_uint_lt(n + 1, sizeof(tok));
			tok[n++] = *list++;
		}
		tok[n] = '\0';
		if (n)
			fn(tok, arg);
	}
}

static void json_token(const char *tok, void *arg)
{
	char pat[ENTRY_MAX * 4];

	substitute(tok, pat, sizeof(pat));
	expand("", pat, arg);
}

/* The header's JSON keys, as dotted paths. */
static void header_json(const char *list, struct strset *out)
{
	tokens(list, json_token, out);
}

struct prom_list {
	struct strset *out;
	const char *type;
};

static void prom_token(const char *tok, void *arg)
{
	struct prom_list *l = arg;
	char prefix[32];

	if (!strcmp(tok, "gauges") || !strcmp(tok, "counters") ||
	    !strcmp(tok, "histograms")) {
		l->type = tok[0] == 'g'	  ? "gauge"
			  : tok[0] == 'c' ? "counter"
					  : "histogram";
		return;
	}
	ck_assert_msg(l->type, "\"%s\" before gauges, counters or histograms",
		      tok);
	snprintf(prefix, sizeof(prefix), "%s ", l->type);
	expand(prefix, tok, l->out);
}

/* The header's Prometheus families, as "type name[labels]". */
static void header_prom(const char *list, struct strset *out)
{
	struct prom_list l = {.out = out};

	tokens(list, prom_token, &l);
}

static const char *skip_ws(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

/* Adds the dotted path of every leaf under path; returns the end of the
 * value at p, or NULL if it is not JSON of the shapes the library emits. */
static const char *json_value(const char *p, const char *path,
			      struct strset *out)
{
	char sub[ENTRY_MAX];
	const char *v;

	p = skip_ws(p);
	if (*p == '{' || *p == '[') {
		bool object = *p == '{';
		char close = object ? '}' : ']';

		p = skip_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			p = skip_ws(p);
			if (object) {
				const char *k = p + 1, *ke;

				if (*p != '"' || !(ke = strchr(k, '"')))
					return NULL;
				snprintf(sub, sizeof(sub), "%s%s%.*s", path,
					 *path ? "." : "", (int)(ke - k), k);
				p = skip_ws(ke + 1);
				if (*p++ != ':')
					return NULL;
			} else {
				snprintf(sub, sizeof(sub), "%s[]", path);
			}
			p = json_value(p, sub, out);
			if (!p)
				return NULL;
			p = skip_ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	for (v = p; *p && (isalnum((unsigned char)*p) || strchr("+-.", *p));
	     p++)
		;
	if (p == v)
		return NULL;
	set_add(out, path);
	return p;
}

static char *render(enum hupmon_format f)
{
	struct hupmon_stats s = {0};
	int len = hupmon_stats_format(&s, f, NULL, 0);
	char *buf;

	ck_assert_int_gt(len, 0);
	buf = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(hupmon_stats_format(&s, f, buf, (size_t)len + 1), len);
	return buf;
}

/* The rendered JSON's keys, as dotted paths. */
static void rendered_json(struct strset *out)
{
	char *json = render(HUPMON_FORMAT_JSON);
	const char *end = json_value(json, "", out);

	ck_assert_msg(end && !strcmp(skip_ws(end), ""),
		      "JSON rendering does not parse");
	free(json);
}

/* The family a sample line belongs to, given the families seen so far. */
static size_t family_of(const struct strset *fam, const char *name, size_t len)
{
	static const char *const suffixes[] = {"", "_bucket", "_sum", "_count"};

	for (size_t i = 0; i < fam->n; i++) {
		const char *f = strchr(fam->v[i], ' ') + 1;
		size_t fl = strlen(f);

		for (size_t j = 0; j < 4; j++)
			if (len == fl + strlen(suffixes[j]) &&
			    !strncmp(name, f, fl) &&
			    !strncmp(name + fl, suffixes[j], len - fl))
				return i;
	}
	ck_abort_msg("sample %.*s before its # TYPE line", (int)len, name);
	return 0;
}

/* The rendered exposition's families, as "type name[labels]" ("le" of a
 * histogram's buckets is not a label of the family). */
static void rendered_prom(struct strset *out)
{
	char *prom = render(HUPMON_FORMAT_PROMETHEUS);
	struct strset fam = {0};
	char **labels = NULL, name[ENTRY_MAX], type[16];
	size_t nlabels = 0;

	for (char *line = strtok(prom, "\n"); line; line = strtok(NULL, "\n")) {
		size_t len = strcspn(line, "{ "), f;
		char *l;

		if (sscanf(line, "# TYPE %255s %15s", name, type) == 2) {
			char entry[ENTRY_MAX + 16];

			snprintf(entry, sizeof(entry), "%s %s", type, name);
			set_add(&fam, entry);
			labels = realloc(labels, fam.n * sizeof(*labels));
			ck_assert_ptr_nonnull(labels);
			for (; nlabels < fam.n; nlabels++)
				labels[nlabels] = NULL;
			continue;
		}
		if (line[0] == '#' || line[len] != '{')
			continue;
		f = family_of(&fam, line, len);
		l = calloc(strlen(line), 1);
		ck_assert_ptr_nonnull(l);
		/* name="value",name="value"}: the names, comma-separated */
		for (char *p = line + len + 1; *p && *p != '}';) {
			size_t nl = strcspn(p, "=");

			if (!(nl == 2 && !strncmp(p, "le", 2)))
				sprintf(l + strlen(l), "%s%.*s", *l ? "," : "",
					(int)nl, p);
			p = strchr(p + nl + 2, '"') + 1;
			p += *p == ',';
		}
		if (!labels[f])
			labels[f] = l;
		else {
			ck_assert_str_eq(labels[f], l);
			free(l);
		}
	}
	for (size_t i = 0; i < fam.n; i++) {
		char entry[ENTRY_MAX * 2];

		snprintf(entry, sizeof(entry), "%s%s%s%s", fam.v[i],
			 labels[i] && *labels[i] ? "[" : "",
			 labels[i] ? labels[i] : "",
			 labels[i] && *labels[i] ? "]" : "");
		set_add(out, entry);
		free(labels[i]);
	}
	free(labels);
	set_free(&fam);
	free(prom);
}

static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Deletes every whole-word occurrence of word from s. */
static void drop_word(char *s, const char *word)
{
	size_t wl = strlen(word);

	for (char *p = s; (p = strstr(p, word));) {
		if ((p == s || !word_char(p[-1])) && !word_char(p[wl]))
			memmove(p, p + wl, strlen(p + wl) + 1);
		else
			p += wl;
	}
}

START_TEST(test_json_keys)
{
	char *text = read_header(), *list = header_list(text, "JSON keys");
	struct strset have = {0}, want = {0};

	header_json(list, &have);
	rendered_json(&want);
	ck_assert_uint_gt(want.n, 50);
	ck_assert_msg(differences(&want, &have, true) == 0,
		      "the JSON key list in include/hupmon.h is not the "
		      "rendering's (listed above)");
	set_free(&have);
	set_free(&want);
	free(list);
	free(text);
}
END_TEST

START_TEST(test_prom_families)
{
	char *text = read_header(),
	     *list = header_list(text, "Prometheus families");
	struct strset have = {0}, want = {0};

	header_prom(list, &have);
	rendered_prom(&want);
	ck_assert_uint_gt(want.n, 30);
	ck_assert_msg(differences(&want, &have, true) == 0,
		      "the Prometheus family list in include/hupmon.h is not "
		      "the rendering's (listed above)");
	set_free(&have);
	set_free(&want);
	free(list);
	free(text);
}
END_TEST

/* The check itself: a key taken out of the header's list, or one that no
 * rendering emits put in, is one difference each, in both lists. */
START_TEST(test_check_catches_drift)
{
	char *text = read_header();
	char *json = header_list(text, "JSON keys");
	char *prom = header_list(text, "Prometheus families");
	char *json_extra = malloc(strlen(json) + 32);
	struct strset rj = {0}, rp = {0}, h = {0};

	rendered_json(&rj);
	rendered_prom(&rp);

	sprintf(json_extra, "%s epoll.bogus", json);
	header_json(json_extra, &h);
	ck_assert_uint_eq(differences(&rj, &h, false), 1);
	ck_assert(set_has(&h, "epoll.bogus"));
	set_free(&h);

	drop_word(json, "stale_events");
	header_json(json, &h);
	ck_assert_uint_eq(differences(&rj, &h, false), 1);
	ck_assert(!set_has(&h, "epoll.stale_events"));
	set_free(&h);

	drop_word(prom, "stale_events");
	header_prom(prom, &h);
	ck_assert_uint_eq(differences(&rp, &h, false), 1);
	ck_assert(!set_has(&h, "counter hupmon_epoll_stale_events_total"));
	set_free(&h);

	set_free(&rj);
	set_free(&rp);
	free(json_extra);
	free(prom);
	free(json);
	free(text);
}
END_TEST

static Suite *header_keys_suite(void)
{
	Suite *s = suite_create("header_keys");
	TCase *tc = tcase_create("lists");

	tcase_add_test(tc, test_json_keys);
	tcase_add_test(tc, test_prom_families);
	tcase_add_test(tc, test_check_catches_drift);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fx_run_suite(header_keys_suite());
}
