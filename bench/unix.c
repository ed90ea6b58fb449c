/* SPDX-License-Identifier: MIT */
/*
 * unix: the closure scenario over Unix stream connections (unix.h). A
 * listening AF_UNIX socket with an abstract address the kernel picks
 * (autobind: no file, no name to clash with a concurrent run) accepts N
 * connections a run; this process holds both ends, the client ends act.
 * Each act is a round of the closure family's engine (run.c: paced acts in
 * a seeded random order, each timed just before its call with
 * CLOCK_MONOTONIC, then the wait for every report and a quiet spell; the
 * report checks of expect.c), on hupmon's paths and their floors: raw-epoll
 * (raw.c, the same edge-triggered EPOLLRDHUP|EPOLLHUP|EPOLLERR
 * registration) for the epoll path and compare mode, raw-poll
 * (raw.c's raw_poll_ops) for the sweep. Paths and floors alternate, forward on
 * even rounds and reversed on odd ones, each on fresh connections.
 *
 * Kernel facts relied on (Linux 6.x; the library's src/detect.h states
 * them for its classifier too), of the server's end when the peer's end:
 *   - closes with nothing of ours unread in it: EPOLLRDHUP|EPOLLHUP at once
 *     (HANGUP; no FIN-then-close in two steps as on TCP);
 *   - closes with data of ours unread in it: EPOLLERR too, SO_ERROR
 *     ECONNRESET (RESET), after a SHUT_WR as well;
 *   - shutdown(SHUT_WR): EPOLLRDHUP (PEER_SHUTDOWN); SHUT_RDWR: as a close
 *     (HANGUP; no error even with data unread, which only the close
 *     leaves); SHUT_RD: nothing;
 *   - closes only when the last process holding it does: no process is
 *     forked while the scenario holds its sockets.
 * A send on the server's end to a live peer queues on the peer's receive
 * queue at once: once send returns, the data is unread in the peer's end.
 */
#include "unix.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PS     HUPMON_CAUSE_PEER_SHUTDOWN
#define HANGUP HUPMON_CAUSE_HANGUP
#define RESET  HUPMON_CAUSE_RESET

#define BATCH 256 /* connects queued before they are accepted */

/* The sweep and its floor: a Unix socket is polled whatever the method
 * (the method only makes them sweep: bench.h's sweeps()). Their floor
 * field is bench_paths' and unused here: unix_paths[] names floors. */
static const struct bpath sweep_poll = {
	.name = "sweep-poll",
	.what = "hupmon, sweep path: a Unix socket is polled (POLLRDHUP)",
	.colour = "#d55e00",
	.ops = &lib_ops,
	.paths = HUPMON_PATH_SWEEP,
	.method = HUPMON_SWEEP_TCP_INFO,
};

static const struct bpath raw_poll = {
	.name = "raw-poll",
	.what = "floor: minimal timerfd poll(POLLRDHUP) sweep",
	.colour = "#d55e00",
	.dash = "2 3",
	.ops = &raw_poll_ops,
	.method = HUPMON_SWEEP_TCP_INFO,
};

const struct unix_path_def unix_paths[UP_COUNT] = {
	[UP_EPOLL] = {&bench_paths[BP_EPOLL], UP_RAW_EPOLL, PATH_BIT(BP_EPOLL)},
	[UP_SWEEP] = {&sweep_poll, UP_RAW_POLL,
		      PATH_BIT(BP_PEEK) | PATH_BIT(BP_TCPINFO)},
	[UP_COMPARE] = {&bench_paths[BP_COMPARE], UP_RAW_EPOLL,
			PATH_BIT(BP_COMPARE)},
	[UP_RAW_EPOLL] = {&bench_paths[BP_RAW_EPOLL], UP_RAW_EPOLL, 0},
	[UP_RAW_POLL] = {&raw_poll, UP_RAW_POLL, 0},
};

/* ---- the peer's acts ----------------------------------------------------
 * Setup (the server's data) comes before the clock is read; the clock is
 * read just before the call that ends or shuts the peer's end. */
static void acted(struct conn *c)
{
	c->acted = true;
	c->t_act[0] = now_ns();
}

/* 16 bytes the peer will never read, queued in its end. */
static void send_unread(struct conn *c)
{
	static const char data[16] = "never read here";

	if (send(c->sfd, data, sizeof(data), MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    (ssize_t)sizeof(data))
		die("unix: server send", errno ? errno : EIO);
}

static void act_unread(struct conn *c)
{
	send_unread(c);
	act_close(c); /* conn.c's close */
}

static void act_shut_rdwr(struct conn *c)
{
	acted(c);
	shutdown(c->cfd, SHUT_RDWR);
}

static void act_shut_rd(struct conn *c)
{
	acted(c);
	shutdown(c->cfd, SHUT_RD);
}

/* escalate's first stage: SHUT_WR, our data already unread in its end. */
static void act_escalate_wr(struct conn *c)
{
	send_unread(c);
	act_half(c); /* conn.c's shutdown(SHUT_WR) */
}

/* Its second stage: once the SHUT_WR is reported, and delay_ns later (a
 * sweep reports at a probe: without the delay the close would always come
 * just after one), the peer closes with the data unread. The close waits
 * for the report: one that came after it would find RDHUP|HUP|ERR at once
 * and report RESET alone. After wait_ns without the report it closes
 * anyway (a path that never reports cannot hold the run) and returns
 * false. */
static bool then_close(struct conn *c, uint64_t wait_ns, uint64_t delay_ns)
{
	uint64_t end = now_ns() + wait_ns;
	bool seen;

	while (!(seen = atomic_load(&c->seen) & (1u << PS)) && now_ns() < end)
		sleep_ns(50000);
	if (delay_ns)
		sleep_ns(delay_ns);
	c->t_act[1] = now_ns();
	close(c->cfd);
	c->cfd = -1;
	return seen;
}

/* Every path polls or takes epoll events: one table row (VIS_EPOLL) for
 * all, nothing missed by design. */
#define EXPECT(...) .expect = {{.cause = {__VA_ARGS__}}}

const struct scenario unix_acts[UA_COUNT] = {
	[UA_CLOSE] = {.name = "close",
		      .does = "close(), nothing unread",
		      .round = closure_round,
		      .act = act_close,
		      EXPECT(HANGUP)},
	[UA_UNREAD] = {.name = "close-unread",
		       .does = "close() with 16 B of ours unread in its end",
		       .round = closure_round,
		       .act = act_unread,
		       EXPECT(RESET)},
	[UA_SHUT_WR] = {.name = "shut-wr",
			.does = "shutdown(SHUT_WR)",
			.round = closure_round,
			.act = act_half,
			EXPECT(PS)},
	[UA_SHUT_RDWR] = {.name = "shut-rdwr",
			  .does = "shutdown(SHUT_RDWR)",
			  .round = closure_round,
			  .act = act_shut_rdwr,
			  EXPECT(HANGUP)},
	[UA_SHUT_RD] = {.name = "shut-rd",
			.does = "shutdown(SHUT_RD): must report nothing",
			.round = closure_round,
			.act = act_shut_rd},
	[UA_ESCALATE] = {.name = "escalate",
			 .stage2 = "escalate:2",
			 .does = "SHUT_WR (16 B of ours unread), then close()",
			 .round = closure_round,
			 .act = act_escalate_wr,
			 .then = then_close,
			 EXPECT(PS, RESET)},
	[UA_IDLE] = {.name = "idle",
		     .does = "nothing, for --idle-ms: must report nothing",
		     .round = idle_round,
		     .window = true},
};

/* ---- connections ---------------------------------------------------------
 */
struct listener {
	int fd;
	struct sockaddr_un a;
	socklen_t len;
};

/* Autobind (a bind of the family alone): an abstract name of the kernel's
 * choosing, read back for the clients. */
static void listener_start(struct listener *l)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	l->len = sizeof(l->a);
	if (l->fd < 0 ||
	    bind(l->fd, (struct sockaddr *)&a, sizeof(sa_family_t)) ||
	    listen(l->fd, 2 * BATCH) ||
	    getsockname(l->fd, (struct sockaddr *)&l->a, &l->len))
		die("unix: listening socket", errno);
}

/* A client of l into c->cfd: 0, or -errno with no fd left open. */
static int client_connect(const struct listener *l, struct conn *c)
{
	int err;

	c->cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->cfd < 0)
		return -errno;
	if (!connect(c->cfd, (const struct sockaddr *)&l->a, l->len))
		return 0;
	err = -errno;
	close(c->cfd);
	c->cfd = -1;
	return err;
}

/* n connections into c (c[] zeroed): a batch connects (each waits in the
 * accept queue, which holds the batch), then is accepted. How many were
 * made; *err: why not all (no client end is then left open past them). */
static size_t conns_accept(const struct listener *l, struct conn *c, size_t n,
			   int *err)
{
	size_t got = 0, made = 0;

	*err = 0;
	for (size_t i = 0; i < n; i++)
		c[i].cfd = c[i].sfd = -1;
	while (got < n && !*err) {
		size_t k = n - got < BATCH ? n - got : BATCH;

		for (; made < got + k && !*err; made += !*err)
			*err = client_connect(l, &c[made]);
		for (; got < made; got++) {
			c[got].sfd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
			if (c[got].sfd < 0) {
				*err = -errno;
				break;
			}
		}
	}
	for (size_t i = got; i < made; i++) {
		close(c[i].cfd);
		c[i].cfd = -1;
	}
	return got;
}

/* ---- runs ----------------------------------------------------------------
 */

/* A library path's RESET must carry ECONNRESET: any other error is a wrong
 * report (counted beside the wrong causes). */
static void check_errno(struct unix_res *ur, const struct run *r)
{
	if (r->p->ops != &lib_ops)
		return;
	for (size_t i = 0; i < r->n; i++) {
		const struct conn *c = &r->c[i];

		if (!c->acted || !c->nrep[RESET])
			continue;
		ur->resets++;
		if (c->error != ECONNRESET) {
			ur->reset_errno_bad++;
			r->cell->wrong++;
		}
	}
}

/* One act, one path, one round, on fresh connections. */
static void run_one_act(const struct bctx *x, const struct listener *l,
			struct unix_res *ur, enum unix_act a, enum unix_path p,
			unsigned round)
{
	struct run r = {.o = x->o,
			.p = unix_paths[p].p,
			.sc = x->sc,
			.s = &unix_acts[a],
			.cell = &ur->c[a][p]};
	int rc;

	r.c = xcalloc(ur->n, sizeof(*r.c));
	r.n = conns_accept(l, r.c, ur->n, &rc);
	if (rc)
		die("unix: opening connections", -rc);
	figs_reset(r.cell->fig[round]);
	r.s->round(&r, round);
	r.cell->n = r.n;
	check_errno(ur, &r);
	r.p->ops->close(&r);
	conns_close(r.c, r.n);
	free(r.c);
}

/* The paths --paths brings and those the registry row always runs (as
 * run.c's run_order reads them), their floors with them; forward on even
 * rounds and reversed on odd ones. */
static size_t unix_order(const struct scenario *s, const struct bopts *o,
			 unsigned round, enum unix_path *out)
{
	unsigned chosen = s->always, on = 0;
	size_t n = 0;

	for (int p = 0; p < BP_COUNT; p++)
		if (o->path[p])
			chosen |= PATH_BIT(p);
	for (int p = 0; p < UP_COUNT; p++)
		if (unix_paths[p].chosen_by & chosen)
			on |= (1u << p) | (1u << unix_paths[p].floor);
	for (int p = 0; p < UP_COUNT; p++)
		if (on & (1u << p))
			out[n++] = (enum unix_path)p;
	for (size_t i = 0; round % 2 && i < n / 2; i++) {
		enum unix_path t = out[i];

		out[i] = out[n - 1 - i];
		out[n - 1 - i] = t;
	}
	return n;
}

void *unix_run(const struct bctx *x)
{
	struct unix_res *ur = xcalloc(1, sizeof(*ur));
	struct listener l;
	uint64_t t0 = now_ns();

	listener_start(&l);
	ur->n = conns_for(x->o, x->s);
	for (unsigned round = 0; round < x->o->rounds; round++) {
		enum unix_path order[UP_COUNT];
		size_t n = unix_order(x->s, x->o, round, order);

		for (int a = 0; a < UA_COUNT; a++)
			for (size_t i = 0; i < n; i++)
				run_one_act(x, &l, ur, (enum unix_act)a,
					    order[i], round);
		ur->rounds = round + 1;
		fprintf(stderr,
			"hupmon-bench: %-12s round %u/%u done (%.1f s)\n",
			x->s->name, round + 1, x->o->rounds,
			(double)(now_ns() - t0) / 1e9);
	}
	close(l.fd);
	ur->wall_s = (double)(now_ns() - t0) / 1e9;
	return ur;
}

/* ---- analysis ------------------------------------------------------------
 */
static bool positive(double v)
{
	return isfinite(v) && v > 0;
}

/* Median over rounds of the per-round ratio of a figure of path to that of
 * its floor, over the rounds where both are positive. */
static double ratio(const struct cell *c, const struct cell *fl, enum fig f)
{
	double r[BENCH_MAX_ROUNDS];
	unsigned k = 0;

	for (unsigned i = 0; i < c->rounds && i < fl->rounds; i++)
		if (positive(c->fig[i][f]) && positive(fl->fig[i][f]))
			r[k++] = c->fig[i][f] / fl->fig[i][f];
	return median(r, k);
}

static bool cell_failed(const struct cell *c)
{
	return c->miss[0] || c->miss[1] || c->fals || c->dup || c->wrong ||
	       c->errors || c->cmp_disagree || c->cmp_norecord;
}

/* Distributions first (the pooled p99 ratio reads the floor's), then the
 * ratios as the closure family takes them: p50, median of per-round
 * ratios; p99 the same with 100 samples a round or more, else the ratio of
 * the pooled p99s (with fewer a round's p99 is its maximum). Then the
 * count check of every cell that ran. */
void unix_analyse(void *res, const struct bctx *x)
{
	struct unix_res *ur = res;

	for (int a = 0; a < UA_COUNT; a++)
		for (int p = 0; p < UP_COUNT; p++)
			for (unsigned s = 0; s < BENCH_STAGES; s++)
				ur->an[a][p].lat[s] =
					dist_of(&ur->c[a][p].lat[s], 1e3);
	for (int a = 0; a < UA_COUNT; a++)
		for (int p = 0; p < UP_COUNT; p++) {
			struct cell *c = &ur->c[a][p];
			enum unix_path f = unix_paths[p].floor;
			const struct cell *fl = &ur->c[a][f];
			struct unix_row *w = &ur->an[a][p];

			for (unsigned s = 0; s < BENCH_STAGES; s++) {
				bool per_round = c->rounds &&
						 c->seen[s] / c->rounds >= 100;

				w->r_p50[s] = w->r_p99[s] = NAN;
				if (f == (enum unix_path)p || !fl->ran)
					continue;
				w->r_p50[s] =
					ratio(c, fl, fig_stage(FIG_P50, s));
				w->r_p99[s] =
					per_round ? ratio(c, fl,
							  fig_stage(FIG_P99, s))
						  : w->lat[s].p99 /
							    ur->an[a][f]
								    .lat[s]
								    .p99;
			}
			w->failed =
				(c->ran || c->errors) &&
				!check_ok(x->v, CK_VISIBILITY, !cell_failed(c));
		}
}

void unix_free(void *res)
{
	struct unix_res *ur = res;

	for (int a = 0; a < UA_COUNT; a++)
		for (int p = 0; p < UP_COUNT; p++) {
			struct cell *c = &ur->c[a][p];

			for (unsigned s = 0; s < BENCH_STAGES; s++) {
				vec_free(&c->lat[s]);
				vec_free(&c->det[s]);
			}
			vec_free(&c->cmp_lag);
		}
	free(ur);
}
