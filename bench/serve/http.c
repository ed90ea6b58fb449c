/* SPDX-License-Identifier: MIT */
/*
 * http: the small part of HTTP/1.1 that hupmon-serve and its load
 * generator speak. Requests: GET, no body, keep-alive by default (HTTP/1.0:
 * close by default), pipelining; lines end in CRLF or, as RFC 9112 lets a
 * recipient accept, in a bare LF (curl and browsers send CRLF; a hand-typed
 * request may not, and a head whose end is never recognised would hold its
 * connection until the header timeout). Responses: always with a
 * Content-Length.
 */
#include "server.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

struct span {
	const char *p;
	size_t n;
};

static bool span_is(struct span s, const char *lit)
{
	return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

static bool span_is_nocase(struct span s, const char *lit)
{
	return s.n == strlen(lit) && strncasecmp(s.p, lit, s.n) == 0;
}

/* Splits *s at the first c: returns what is before it, leaves the rest
 * (after c) in *s; without c, returns all of *s and leaves it empty. */
static struct span span_cut(struct span *s, char c)
{
	const char *at = s->n ? memchr(s->p, c, s->n) : NULL;
	struct span head = {s->p, at ? (size_t)(at - s->p) : s->n};

	s->p += at ? head.n + 1 : head.n;
	s->n -= at ? head.n + 1 : head.n;
	return head;
}

static struct span span_trim(struct span s)
{
	while (s.n && (s.p[0] == ' ' || s.p[0] == '\t'))
		s.p++, s.n--;
	while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

/* A decimal number of 1 to 19 digits, at most max. */
static bool span_u64(struct span s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s.n == 0 || s.n > 19)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Whether the comma-separated header value holds token (any case). */
static bool has_token(struct span v, const char *token)
{
	while (v.n) {
		if (span_is_nocase(span_trim(span_cut(&v, ',')), token))
			return true;
	}
	return false;
}

/* Takes the next header line off head: false when there is none. */
static bool next_header(struct span *head, struct span *name,
			struct span *value)
{
	struct span h;

	if (!head->n)
		return false;
	h = span_cut(head, '\n');
	if (h.n && h.p[h.n - 1] == '\r')
		h.n--;
	*name = span_cut(&h, ':');
	*value = span_trim(h);
	return true;
}

/* The head: everything up to and including its first empty line (a line
 * end, CRLF or LF, right after another). Returns its length, 0 if it has not
 * all arrived. */
static size_t head_len(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		p++;
		if (p < end && p[0] == '\n')
			return (size_t)(p + 1 - buf);
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			return (size_t)(p + 2 - buf);
	}
	return 0;
}

/* The head of length n without its empty line: its lines, each with its
 * line end. */
static struct span head_lines(const char *buf, size_t n)
{
	struct span h = {buf, n};

	if (h.n && h.p[h.n - 1] == '\n')
		h.n--;
	if (h.n && h.p[h.n - 1] == '\r')
		h.n--;
	return h;
}

/* The ms parameter of a /work query string. */
static bool query_ms(struct span q, unsigned *ms)
{
	while (q.n) {
		struct span kv = span_cut(&q, '&');
		struct span k = span_cut(&kv, '=');
		uint64_t v;

		if (span_is(k, "ms")) {
			if (!span_u64(kv, SERVE_MAX_WORK_MS, &v))
				return false;
			*ms = (unsigned)v;
			return true;
		}
	}
	return false;
}

static void route(struct span method, struct span target, struct http_req *r)
{
	struct span path = span_cut(&target, '?');

	if (!span_is(method, "GET"))
		r->route = HTTP_BAD_METHOD;
	else if (span_is(path, "/metrics"))
		r->route = HTTP_METRICS;
	else if (!span_is(path, "/work"))
		r->route = HTTP_NOT_FOUND;
	else if (query_ms(target, &r->ms))
		r->route = HTTP_WORK;
	else
		r->route = HTTP_BAD_REQUEST;
}

long http_parse_request(const char *buf, size_t len, struct http_req *r)
{
	size_t n = head_len(buf, len);
	struct span head = head_lines(buf, n), line, method, target;
	struct span name, value;
	uint64_t v;

	if (!n)
		return 0;
	memset(r, 0, sizeof(*r));
	line = span_cut(&head, '\n');
	if (line.n && line.p[line.n - 1] == '\r')
		line.n--;
	method = span_cut(&line, ' ');
	target = span_cut(&line, ' ');
	if (span_is(line, "HTTP/1.1"))
		r->keep_alive = true;
	else if (!span_is(line, "HTTP/1.0"))
		return -1;
	route(method, target, r);
	while (next_header(&head, &name, &value)) {
		if (span_is_nocase(name, "Connection")) {
			if (has_token(value, "close"))
				r->keep_alive = false;
			else if (has_token(value, "keep-alive"))
				r->keep_alive = true;
		} else if (span_is_nocase(name, "X-Request-Id")) {
			if (span_u64(value, UINT64_MAX, &v))
				r->id = v;
		} else if (span_is_nocase(name, "Transfer-Encoding") ||
			   (span_is_nocase(name, "Content-Length") &&
			    !span_is(value, "0"))) {
			/* A body: not taken. Answer 400 and close, since we
			 * cannot tell where the next request starts. */
			r->route = HTTP_BAD_REQUEST;
			r->keep_alive = false;
		}
	}
	return (long)n;
}

long http_parse_response(const char *buf, size_t len, struct http_resp *r)
{
	size_t n = head_len(buf, len);
	struct span head = head_lines(buf, n), line, code, name, value;
	uint64_t v, body = UINT64_MAX;

	if (!n)
		return 0;
	memset(r, 0, sizeof(*r));
	line = span_cut(&head, '\n');
	if (line.n && line.p[line.n - 1] == '\r')
		line.n--;
	r->keep_alive = span_is(span_cut(&line, ' '), "HTTP/1.1");
	code = span_cut(&line, ' ');
	if (!span_u64(code, 999, &v))
		return -1;
	r->status = (int)v;
	while (next_header(&head, &name, &value)) {
		if (span_is_nocase(name, "Content-Length")) {
			if (!span_u64(value, 1u << 30, &body))
				return -1;
		} else if (span_is_nocase(name, "X-Request-Id")) {
			if (span_u64(value, UINT64_MAX, &v))
				r->id = v;
		} else if (span_is_nocase(name, "Connection") &&
			   has_token(value, "close")) {
			r->keep_alive = false;
		}
	}
	if (body == UINT64_MAX)
		return -1;
	if (len - n < body)
		return 0;
	r->body_off = n;
	r->body_len = (size_t)body;
	return (long)(n + body);
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	default:
		return "Error";
	}
}

int http_format_head(char *buf, size_t cap, int status, const char *ctype,
		     size_t body_len, bool keep_alive, uint64_t id)
{
	char idh[48] = "";

	if (id)
		snprintf(idh, sizeof(idh), "X-Request-Id: %llu\r\n",
			 (unsigned long long)id);
	return snprintf(buf, cap,
			"HTTP/1.1 %d %s\r\n"
			"Content-Type: %s\r\n"
			"Content-Length: %zu\r\n"
			"Connection: %s\r\n"
			"%s\r\n",
			status, reason(status), ctype, body_len,
			keep_alive ? "keep-alive" : "close", idh);
}

int http_format_work(char *buf, size_t cap, unsigned ms, uint64_t id)
{
	return snprintf(buf, cap,
			"GET /work?ms=%u HTTP/1.1\r\n"
			"Host: hupmon-serve\r\n"
			"X-Request-Id: %llu\r\n\r\n",
			ms, (unsigned long long)id);
}
