/* SPDX-License-Identifier: MIT */
/*
 * silent: a peer that vanishes without a FIN or an RST (root only). Two
 * network namespaces joined by a veth pair (the lab of bench/lab/netns.c,
 * shared with tests/check_silent_death.c); the client's end of the link is
 * taken down in the client's namespace, so the server learns nothing. Only
 * keepalive and TCP_USER_TIMEOUT can turn that into a report: each case's
 * connections must be reported as TIMEOUT (ETIMEDOUT) within its bound plus a
 * margin, and connections with no options not at all within the longest
 * bound plus it.
 *
 * Each of the library's paths (epoll, TCP_INFO sweep, both with compare off)
 * runs, as a struct run on lib_ops, on fresh connections watched with their
 * case's liveness. They are opened one by one over a keepalive interval, in
 * a seeded random order, so that the detection times sample the whole range
 * up to the bound. The link comes back up between runs.
 *
 * Skipped, with "silent: skipped: <why>" and no effect on the exit status,
 * when the lab cannot be made (not root, no iproute2, no netns or veth). The
 * lab is removed at the end, on error paths and on SIGINT/SIGTERM.
 */
#include "silent.h"
#include "bench.h"
#include "lab/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MARGIN_NS (SILENT_MARGIN_MS * NS_PER_MS)
#define STAGGER_NS                                                             \
	(1000 * NS_PER_MS) /* opening spread: one keepalive interval */
#define SETTLE_NS                                                              \
	(1200 * NS_PER_MS) /* then idle: every keepalive answered once */
#define CONNS 8		   /* connections per case and path by default */

enum { SK_KA, SK_KA_UT, SK_UT_DATA, SK_NONE };

const struct silent_case silent_cases[SILENT_CASES] = {
	[SK_KA] = {.name = "keepalive 1s/1s/2",
		   .key = "keepalive",
		   .live = {.keepalive_idle_s = 1,
			    .keepalive_interval_s = 1,
			    .keepalive_count = 2},
		   .bound_ms = 3000},
	[SK_KA_UT] = {.name = "keepalive + user-timeout 2s",
		      .key = "keepalive_user_timeout",
		      .live = {.keepalive_idle_s = 1,
			       .keepalive_interval_s = 1,
			       .keepalive_count = 2,
			       .user_timeout_ms = 2000},
		      .bound_ms = 2000},
	[SK_UT_DATA] = {.name = "data + user-timeout 2s",
			.key = "data_user_timeout",
			.live = {.user_timeout_ms = 2000},
			.bound_ms = 2000,
			.data = true},
	[SK_NONE] = {.name = "no options", .key = "none"},
};

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

/* Blocking calls on a link that is down must not hang the bench. */
static void timeouts(int fd, int opt)
{
	struct timeval tv = {.tv_sec = 2};

	setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/* One connection across the link, its server end watched with its case's
 * liveness (while the loop thread dispatches). */
static int open_one(struct run *r, struct conn *c, unsigned kase, int lfd,
		    uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct hupmon_watch_opts wo = {.user = c,
				       .liveness = &silent_cases[kase].live};
	int rc;

	inet_pton(AF_INET, NETNS_SRV_ADDR, &a.sin_addr);
	c->cfd = netns_socket(NETNS_CLI);
	if (c->cfd < 0)
		return c->cfd;
	timeouts(c->cfd, SO_SNDTIMEO); /* connect */
	if (connect(c->cfd, (struct sockaddr *)&a, sizeof(a)))
		return -errno;
	c->sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c->sfd < 0)
		return -errno;
	rc = hupmon_watch_ex(r->m, c->sfd, &wo, &c->id);
	if (rc)
		c->id = 0;
	return rc;
}

static uint64_t longest_bound_ns(void)
{
	uint64_t b = 0;

	for (int k = 0; k < SILENT_CASES; k++)
		if (silent_cases[k].bound_ms * NS_PER_MS > b)
			b = silent_cases[k].bound_ms * NS_PER_MS;
	return b;
}

/* How long a connection is given, from its t_act: its bound, or the
 * longest one for a case that must stay silent; plus the margin. */
static uint64_t allowed_ns(unsigned kase)
{
	uint64_t b = silent_cases[kase].bound_ms * NS_PER_MS;

	return (b ? b : longest_bound_ns()) + MARGIN_NS;
}

/* What one connection saw: its first report, timed from its t_act (just
 * before the link went down; data: the write). */
static void eval_conn(struct silent_res *s, const struct run *r,
		      const struct conn *c, uint64_t t_down)
{
	unsigned kase = (unsigned)(c - r->c) / s->conns;
	struct silent_cell *cell = &s->c[kase][r->p - bench_paths];
	uint64_t first = UINT64_MAX, det;
	uint32_t total = 0;

	if (c->sfd < 0 || !c->id)
		return;
	cell->ran = true;
	cell->conns++;
	s->stray[r->p - bench_paths] += c->misattr;
	for (int k = 1; k <= HUPMON_CAUSE_MAX; k++)
		if (c->nrep[k]) {
			total += c->nrep[k];
			first = c->t_det[k] < first ? c->t_det[k] : first;
		}
	if (!total) {
		cell->missed += silent_cases[kase].bound_ms ? 1 : 0;
		return;
	}
	cell->seen++;
	cell->dup += total - 1;
	if (c->by == HUPMON_PATH_EPOLL || c->by == HUPMON_PATH_SWEEP)
		cell->by_path[c->by]++;
	if (total != c->nrep[HUPMON_CAUSE_TIMEOUT] || c->order_bad) {
		cell->wrong++;
		cell->bad_cause = c->top;
		cell->bad_error = c->error;
	}
	if (first < t_down) { /* no detection time: the link was up */
		cell->early++;
		return;
	}
	det = first > c->t_act[0] ? first - c->t_act[0] : 0;
	vec_push(&cell->det, det);
	if (silent_cases[kase].bound_ms && det > allowed_ns(kase))
		cell->late++;
}

/* Sleeps until the clock reaches until; false if a signal came first. */
static bool wait_until(uint64_t until)
{
	for (uint64_t t; !stop_sig && (t = now_ns()) < until;)
		sleep_ns(until - t < 100 * NS_PER_MS ? until - t
						     : 100 * NS_PER_MS);
	return !stop_sig;
}

/* Opens the connections one by one over STAGGER_NS, in a seeded random
 * order (so the cases interleave and keepalive phases spread), then lets
 * the link idle for SETTLE_NS. */
static bool open_all(struct run *r, unsigned conns, int lfd, uint16_t port,
		     unsigned *errors)
{
	uint64_t rng = r->o->seed ^ ((uint64_t)r->sc << 40) ^
		       (uint64_t)(r->p - bench_paths);
	size_t *order = shuffled(r->n, &rng);
	uint64_t t0 = now_ns();
	bool ok = true;

	for (size_t j = 0; ok && j < r->n; j++) {
		int rc;

		ok = wait_until(t0 + STAGGER_NS * j / r->n);
		rc = ok ? open_one(r, &r->c[order[j]],
				   (unsigned)order[j] / conns, lfd, port)
			: 0;
		if (rc) {
			fprintf(stderr,
				"hupmon-bench: silent: %s: connection %zu: "
				"%s\n",
				r->p->name, j, strerror(-rc));
			(*errors)++;
			ok = false;
		}
	}
	free(order);
	return ok && wait_until(now_ns() + SETTLE_NS);
}

/* Link down, the data case's writes, then wait until every connection had
 * its bound plus the margin. */
static bool vanish(struct run *r, unsigned conns, uint64_t *t_down,
		   bool *link_down, unsigned *errors)
{
	char why[160];
	uint64_t end = 0;

	*t_down = now_ns();
	if (netns_link(false, why, sizeof(why))) {
		fprintf(stderr, "hupmon-bench: silent: link down: %s\n", why);
		(*errors)++;
		return false;
	}
	*link_down = true;
	for (size_t i = 0; i < r->n; i++) {
		struct conn *c = &r->c[i];
		unsigned kase = (unsigned)i / conns;

		if (c->sfd < 0)
			continue;
		c->t_act[0] = silent_cases[kase].data ? now_ns() : *t_down;
		if (silent_cases[kase].data &&
		    send(c->sfd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
			fprintf(stderr, "hupmon-bench: silent: write: %s\n",
				strerror(errno));
			(*errors)++;
		}
		if (c->t_act[0] + allowed_ns(kase) > end)
			end = c->t_act[0] + allowed_ns(kase);
	}
	return wait_until(end);
}

/* One path on fresh connections, the loop thread dispatching. false: the
 * namespaces are no longer usable (or a signal came): stop. */
static bool run_path(const struct bctx *x, struct silent_res *s,
		     enum bpath_id p, int lfd, uint16_t port)
{
	struct run r = {
		.o = x->o, .p = &bench_paths[p], .sc = x->sc, .s = x->s};
	uint64_t t0 = now_ns(), t_down = 0;
	unsigned errors = 0;
	bool ok = true, down = false, done;
	char why[160];
	int rc;

	r.n = (size_t)s->conns * SILENT_CASES;
	r.c = xcalloc(r.n, sizeof(*r.c));
	for (size_t i = 0; i < r.n; i++)
		r.c[i].cfd = r.c[i].sfd = -1;
	rc = r.p->ops->open(&r);
	if (rc) {
		fprintf(stderr, "hupmon-bench: silent: hupmon_new: %s\n",
			strerror(-rc));
		errors++;
	} else {
		loop_start(&r);
		done = open_all(&r, s->conns, lfd, port, &errors) &&
		       vanish(&r, s->conns, &t_down, &down, &errors);
		loop_stop(&r);
		errors += r.loop_err ? 1 : 0;
		for (size_t i = 0; done && i < r.n; i++)
			eval_conn(s, &r, &r.c[i], t_down);
		if (path_unwatch(&r))
			errors++;
	}
	r.p->ops->close(&r);
	if (down && netns_link(true, why, sizeof(why))) {
		fprintf(stderr, "hupmon-bench: silent: link up: %s\n", why);
		errors++;
		ok = false;
	}
	conns_close(r.c, r.n);
	free(r.c);
	s->errors[p] += errors;
	s->stray[p] += r.stray;
	s->wall_ms[p] = (double)(now_ns() - t0) / 1e6;
	fprintf(stderr, "hupmon-bench: silent       %-13s %s (%.1f s)\n",
		r.p->name, stop_sig ? "interrupted" : "done",
		s->wall_ms[p] / 1e3);
	return ok && !stop_sig;
}

void *silent_run(const struct bctx *x)
{
	struct silent_res *s = xcalloc(1, sizeof(*s));
	struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
	uint16_t port = 0;
	int lfd;

	s->conns = x->o->closes_set ? x->o->closes : CONNS;
	s->conns = s->conns < x->s->closes_max ? s->conns : x->s->closes_max;
	for (int p = 0; p < BP_COUNT; p++)
		s->wall_ms[p] = NAN;
	s->window_ns = longest_bound_ns() + MARGIN_NS;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (netns_up("hmbench", s->skipped, sizeof(s->skipped)))
		goto out;
	s->skipped[0] = 0;
	s->ran = true;
	lfd = listener_open(netns_socket(NETNS_SRV), NETNS_SRV_ADDR, 256,
			    &port);
	if (lfd < 0) {
		fprintf(stderr, "hupmon-bench: silent: listen: %s\n",
			strerror(-lfd));
		s->errors[BP_EPOLL]++;
	} else {
		timeouts(lfd, SO_RCVTIMEO); /* accept */
	}
	for (int p = 0; lfd >= 0 && p < BP_COUNT; p++)
		if ((x->s->paths & PATH_BIT(p)) &&
		    !run_path(x, s, p, lfd, port))
			break;
	if (lfd >= 0)
		close(lfd);
	netns_down();
out:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (stop_sig) {
		netns_down();
		signal(stop_sig, SIG_DFL);
		raise(stop_sig);
	}
	return s;
}

/* ---- analysis ---------------------------------------------------------- */

/* The verdict: "ok", "ok: not seen ..., as expected", FAIL: why (a count
 * check), or MISSED: why (only late: the timing check). */
static void verdict(const struct silent_res *s, struct silent_cell *c,
		    unsigned kase)
{
	FILE *f = fmemopen(c->verdict, sizeof(c->verdict), "w");

	if (!f)
		die("fmemopen", errno);
	if (c->failed)
		fputs("FAIL:", f);
	else if (c->slow)
		fprintf(f, "%s:", check_miss_word(CK_SILENT_LATE));
	else if (!silent_cases[kase].bound_ms)
		fprintf(f, "ok: none in %.0f ms", (double)s->window_ns / 1e6);
	else if (c->ms.max > (double)silent_cases[kase].bound_ms)
		fputs("ok (within the margin)", f);
	else
		fputs("ok", f);
	if (!silent_cases[kase].bound_ms && c->seen)
		fprintf(f, " %u reported", c->seen);
	if (silent_cases[kase].bound_ms && c->missed)
		fprintf(f, " %u not seen", c->missed);
	if (c->late)
		fprintf(f, " %u over bound+margin", c->late);
	if (c->wrong)
		fprintf(f, " %u wrong cause (%s, %s)", c->wrong,
			hupmon_cause_name(c->bad_cause),
			c->bad_error ? strerror(c->bad_error) : "no error");
	if (c->dup)
		fprintf(f, " %u duplicate", c->dup);
	if (c->early)
		fprintf(f, " %u while the link was up", c->early);
	fclose(f);
}

void silent_analyse(void *res, const struct bctx *x)
{
	struct silent_res *s = res;

	for (int p = 0; s->ran && p < BP_COUNT; p++) {
		bool any = s->errors[p] || s->stray[p];

		for (unsigned k = 0; k < SILENT_CASES; k++)
			any |= s->c[k][p].ran;
		if (any) /* the path's runs: no error, no stray report */
			check_ok(x->v, CK_SILENT,
				 !s->errors[p] && !s->stray[p]);
		for (unsigned k = 0; k < SILENT_CASES; k++) {
			struct silent_cell *c = &s->c[k][p];
			bool bound = silent_cases[k].bound_ms != 0;

			if (!c->ran)
				continue;
			c->ms = dist_of(&c->det, 1e6);
			/* missed counts in cases with a bound only; late is
			 * the timing check, of those cases */
			c->failed =
				!check_ok(x->v, CK_SILENT,
					  !(c->early || c->wrong || c->dup ||
					    c->missed || (!bound && c->seen)));
			c->slow = bound &&
				  !check_ok(x->v, CK_SILENT_LATE, !c->late);
			verdict(s, c, k);
		}
	}
}

void silent_free(void *res)
{
	struct silent_res *s = res;

	for (unsigned k = 0; k < SILENT_CASES; k++)
		for (int p = 0; p < BP_COUNT; p++)
			vec_free(&s->c[k][p].det);
	free(s);
}
