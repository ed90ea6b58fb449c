/*
 * expect: the paths, the scenarios, and what each path must see in each
 * scenario (derived from DESIGN.md's kernel table), and the check of every
 * run against it.
 *
 * Kernel facts behind the table (Linux 6.x, loopback):
 *   - FIN (close or SHUT_WR): EPOLLRDHUP, a 0-byte peek, tcpi_state
 *     CLOSE_WAIT. Data queued before the FIN makes the peek return 1: a peek
 *     sweep sees a live socket for as long as nobody reads.
 *   - RST: EPOLLRDHUP|EPOLLHUP|EPOLLERR, SO_ERROR ECONNRESET, state CLOSE.
 *   - RST after a FIN (our write reaches a closed peer): a second edge
 *     EPOLLHUP|EPOLLERR, SO_ERROR EPIPE, state CLOSE; a peek keeps returning
 *     0 because recv reports the FIN before it looks at the error.
 */
#include "bench.h"

#include <string.h>

#define PS    HUPMON_PEER_SHUTDOWN
#define RESET HUPMON_RESET

#define LIB(id, nm, wh, pa, me, cmp, base, v, sw, et)                          \
	[id] = {.name = nm,                                                    \
		.what = wh,                                                    \
		.raw = RAW_NONE,                                               \
		.paths = pa,                                                   \
		.method = me,                                                  \
		.compare = cmp,                                                \
		.baseline = base,                                              \
		.cpu_floor2 = (cmp) && !(et) ? BP_RAW_TCPINFO : BP_COUNT,      \
		.probe_floor = (cmp) && !(et) ? BP_RAW_TCPINFO : base,         \
		.vis = v,                                                      \
		.sweeps = sw,                                                  \
		.epoll_time = et}
#define RAW(id, nm, wh, kind, v, sw)                                           \
	[id] = {.name = nm,                                                    \
		.what = wh,                                                    \
		.raw = kind,                                                   \
		.baseline = id,                                                \
		.cpu_floor2 = BP_COUNT,                                        \
		.probe_floor = id,                                             \
		.vis = v,                                                      \
		.sweeps = sw}

const struct bpath bench_paths[BP_COUNT] = {
	LIB(BP_EPOLL, "epoll", "hupmon, epoll path only", HUPMON_PATH_EPOLL,
	    HUPMON_SWEEP_DEFAULT, false, BP_RAW_EPOLL, VIS_EPOLL, false, false),
	LIB(BP_PEEK, "sweep-peek", "hupmon, sweep path, MSG_PEEK probes",
	    HUPMON_PATH_SWEEP, HUPMON_SWEEP_PEEK, false, BP_RAW_PEEK, VIS_PEEK,
	    true, false),
	LIB(BP_TCPINFO, "sweep-tcpinfo", "hupmon, sweep path, TCP_INFO probes",
	    HUPMON_PATH_SWEEP, HUPMON_SWEEP_TCP_INFO, false, BP_RAW_TCPINFO,
	    VIS_EPOLL, true, false),
	LIB(BP_COMPARE, "compare",
	    "hupmon, both paths (TCP_INFO sweep), compare mode",
	    HUPMON_PATHS_BOTH, HUPMON_SWEEP_TCP_INFO, true, BP_RAW_EPOLL,
	    VIS_EPOLL, true, false),
	RAW(BP_RAW_EPOLL, "raw-epoll", "floor: minimal epoll-ET loop",
	    RAW_EPOLL, VIS_EPOLL, false),
	RAW(BP_RAW_PEEK, "raw-peek", "floor: minimal timerfd peek sweep",
	    RAW_PEEK, VIS_PEEK, true),
	RAW(BP_RAW_TCPINFO, "raw-tcpinfo",
	    "floor: minimal timerfd TCP_INFO sweep", RAW_TCPINFO, VIS_EPOLL,
	    true),
	LIB(BP_EPOLL_UNDER_TCPINFO, "epoll+tcpinfo",
	    "epoll path's time while a TCP_INFO sweep walks all N (compare "
	    "mode)",
	    HUPMON_PATHS_BOTH, HUPMON_SWEEP_TCP_INFO, true, BP_EPOLL, VIS_EPOLL,
	    true, true),
	LIB(BP_EPOLL_UNDER_PEEK, "epoll+peek",
	    "epoll path's time while a peek sweep walks all N (compare mode)",
	    HUPMON_PATHS_BOTH, HUPMON_SWEEP_PEEK, true, BP_EPOLL, VIS_EPOLL,
	    true, true),
};

static const char *const names[SC_COUNT] = {
	"fin",	 "rst",	 "half",	 "datafin", "escalate",
	"burst", "idle", "interference", "scale",   "silent",
};

static const char *const acts[SC_COUNT] = {
	"close()",
	"SO_LINGER {1,0} + close() (RST)",
	"shutdown(SHUT_WR)",
	"send 16 B never read, then close()",
	"close(); server sends 1 B; client answers RST",
	"close() all N back to back",
	"nothing: CPU and wakeups of watching N live sockets",
	"close() paced, N large, sweep on vs off",
	"close() paced; clients in a child, N to the fd limit",
	"client's link down in its netns: no FIN/RST (root)",
};

const char *scen_name(enum scen sc)
{
	return sc < SC_COUNT ? names[sc] : "?";
}

const char *stage_name(enum scen sc, unsigned stage)
{
	if (sc == SC_ESCALATE && stage == 1)
		return "escalate:rst";
	return scen_name(sc);
}

bool scen_closes(enum scen sc)
{
	return sc != SC_IDLE;
}

struct expect expect_of(enum scen sc, enum vis v)
{
	struct expect e = {{PS, HUPMON_CAUSE_NONE}, {false, false}};

	switch (sc) {
	case SC_RST:
		e.cause[0] = RESET;
		break;
	case SC_DATAFIN:
		e.miss_ok[0] = v == VIS_PEEK;
		break;
	case SC_ESCALATE:
		e.cause[1] = RESET;
		e.miss_ok[1] = v == VIS_PEEK;
		break;
	case SC_IDLE:
		e.cause[0] = HUPMON_CAUSE_NONE;
		break;
	case SC_SILENT: /* with keepalive or a user timeout; else nothing */
		e.cause[0] = HUPMON_TIMEOUT;
		break;
	default:
		break;
	}
	return e;
}

static void explain_cell(FILE *f, enum scen sc, enum vis v, bool last)
{
	struct expect e = expect_of(sc, v);
	char buf[96] = "";

	for (unsigned s = 0; s < BENCH_STAGES; s++) {
		if (!e.cause[s])
			continue;
		if (*buf)
			strcat(buf, " then ");
		if (e.miss_ok[s])
			strcat(buf, "(miss ");
		strcat(buf, hupmon_cause_name(e.cause[s]));
		if (e.miss_ok[s])
			strcat(buf, ")");
	}
	fprintf(f, last ? "  %s" : "  %-44s", *buf ? buf : "nothing");
}

void explain(FILE *f)
{
	fprintf(f, "Expected visibility: what each path must report on the "
		   "server end, in order\n(from DESIGN.md's kernel table). "
		   "(miss X): X is not seen, by design; shown, not a "
		   "failure.\n\n");
	fprintf(f, "%-13s %-52s  %-44s  %s\n", "scenario", "client does",
		"epoll, sweep-tcpinfo, compare,", "sweep-peek, raw-peek");
	fprintf(f, "%-13s %-52s  %s\n", "", "", "raw-epoll, raw-tcpinfo");
	for (int sc = 0; sc < SC_COUNT; sc++) {
		fprintf(f, "%-13s %-52s", names[sc], acts[sc]);
		if (sc == SC_SILENT) {
			/* runs epoll, the TCP_INFO sweep and both */
			fprintf(f, "  %-44s  %s\n",
				"timeout if keepalive/user timeout, else none",
				"(not run)");
			continue;
		}
		explain_cell(f, sc, VIS_EPOLL, false);
		explain_cell(f, sc, VIS_PEEK, true);
		fputc('\n', f);
	}
	fprintf(f, "\nWhy the peek misses: datafin leaves 16 unread bytes, so "
		   "recv(MSG_PEEK) returns 1\n(alive) for ever; in escalate, "
		   "recv returns 0 for the FIN before it looks at the\npending "
		   "error, so the later RST (EPIPE) is never seen.\n"
		   "Checked on every run: a report the table does not expect "
		   "on a closed connection\nis WRONG (wrong cause, or a lower "
		   "cause after a higher one), a second report of\nthe same "
		   "cause is DUP, a report on a connection the client never "
		   "touched (or with\nanother connection's id/fd) is FALSE, an "
		   "expected report that does not come within\n2 s + 3 periods "
		   "is MISS. Any of these makes the exit status 1.\n");
	fprintf(f, "\nsilent (root only, run only when named): the peer "
		   "vanishes without a FIN or RST.\nepoll and the sweep see "
		   "nothing until the kernel gives up, which only keepalive\n"
		   "or TCP_USER_TIMEOUT make it do; then both see TIMEOUT "
		   "(ETIMEDOUT). It runs hupmon's\nepoll path, TCP_INFO "
		   "sweep and both (compare off), each on fresh connections, "
		   "for\nfour cases: keepalive 1s/1s/2 (bound idle + "
		   "interval x count = 3 s); keepalive\n1s/1s/2 + user "
		   "timeout 2 s (bound 2 s); no keepalive, the server writes "
		   "data never\nacknowledged, user timeout 2 s (bound 2 s "
		   "from the write); no options (never\nreported). A wrong "
		   "cause, a report with no options, or no report within "
		   "bound +\n2 s makes the exit status 1. Not root, no "
		   "iproute2 or no netns/veth support:\n\"silent: skipped: "
		   "<why>\", exit status unaffected.\n");
}

static void eval_stage(const struct run *r, const struct conn *c,
		       const struct expect *e, unsigned s, struct cell *cell,
		       struct vec *lat)
{
	enum hupmon_cause cause = e->cause[s];
	uint32_t n = c->nrep[cause];
	uint64_t t;

	if (!n) {
		if (e->miss_ok[s])
			cell->xmiss[s]++;
		else
			cell->miss[s]++;
		return;
	}
	/* Reported before the act (t_act is taken before the syscall, so a
	 * true report cannot precede it): a false report. */
	if (c->t_det[cause] && c->t_det[cause] < c->t_act[s]) {
		cell->fals += n;
		return;
	}
	cell->seen[s]++;
	cell->dup += n - 1;
	/* interference compares the epoll path's own detection times */
	if (r->p->epoll_time)
		t = c->t_epoll[cause];
	else
		t = r->sc == SC_INTERF ? c->t_det[cause] : c->t_cb[cause];
	if (t) {
		t = t > c->t_act[s] ? t - c->t_act[s] : 0;
		vec_push(&cell->lat[s], t);
		vec_push(&lat[s], t);
	}
	t = c->t_det[cause];
	if (t)
		vec_push(&cell->det[s], t > c->t_act[s] ? t - c->t_act[s] : 0);
}

static void eval_conn(const struct run *r, const struct conn *c,
		      struct cell *cell, struct vec *lat)
{
	struct expect e = expect_of(r->sc, r->p->vis);
	uint32_t total = 0;

	for (int k = 1; k <= HUPMON_CAUSE_MAX; k++)
		total += c->nrep[k];
	cell->fals += c->misattr;
	if (!c->acted) {
		cell->fals += total;
		return;
	}
	cell->acted++;
	/* compare: every reported connection gets a record (a lag, or a
	 * miss at the deadline). */
	if (r->p->compare && total && !(atomic_load(&c->seen) & SEEN_CMP))
		cell->cmp_norecord++;
	for (unsigned s = 0; s < BENCH_STAGES; s++) {
		if (!e.cause[s])
			continue;
		eval_stage(r, c, &e, s, cell, lat);
		total -= c->nrep[e.cause[s]];
	}
	cell->wrong += total + (c->order_bad ? 1 : 0);
}

/* Adds one run's outcome to cell; round figures go to cell->rv[round]. */
void eval_run(const struct run *r, struct cell *cell, unsigned round)
{
	struct vec lat[BENCH_STAGES] = {{0}};

	for (size_t i = 0; i < r->n; i++)
		eval_conn(r, &r->c[i], cell, lat);
	for (unsigned s = 0; s < BENCH_STAGES; s++) {
		cell->rv[round].p50[s] = vec_pct(&lat[s], 50);
		cell->rv[round].p99[s] = vec_pct(&lat[s], 99);
		vec_free(&lat[s]);
	}
}

size_t pending(const struct run *r, const size_t *idx, size_t k)
{
	struct expect e = expect_of(r->sc, r->p->vis);
	size_t left = 0;

	for (size_t j = 0; j < k; j++) {
		unsigned seen = atomic_load(&r->c[idx[j]].seen);

		for (unsigned s = 0; s < BENCH_STAGES; s++)
			if (e.cause[s] && !e.miss_ok[s] &&
			    !(seen & (1u << e.cause[s])))
				left++;
		if (r->p->compare && !(seen & SEEN_CMP))
			left++;
	}
	return left;
}
