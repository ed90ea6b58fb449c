/* SPDX-License-Identifier: MIT */
/*
 * explain: --explain, what each path must see in each scenario (from the
 * registry's expectations, scenarios.c) and how every run is judged against
 * it (expect.c).
 */
#include "bench.h"

/* What a row of the visibility table must see, as --explain says it. */
static void explain_cell(FILE *f, enum scen sc, enum vis v, bool last)
{
	const struct expect *e = &scenarios[sc].expect[v];
	char buf[96] = "nothing";
	int n = 0;

	for (unsigned s = 0; s < BENCH_STAGES && e->cause[s]; s++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			      e->miss_ok[s] ? "%s(miss %s)" : "%s%s",
			      s ? " then " : "",
			      hupmon_cause_name(e->cause[s]));
	fprintf(f, last ? "  %s" : "  %-44s",
		scenarios[sc].expect_text[v] ? scenarios[sc].expect_text[v]
					     : buf);
}

void explain(FILE *f)
{
	fprintf(f,
		"Expected visibility: what each path must report on the "
		"server end, in order\n(from the kernel table in README.md). "
		"(miss X): X is not seen, by design; shown, not a "
		"failure.\n\n");
	fprintf(f, "%-13s %-52s  %-44s  %s\n", "scenario", "client does",
		"epoll, sweep-tcpinfo, compare,", "sweep-peek, raw-peek");
	fprintf(f, "%-13s %-52s  %s\n", "", "", "raw-epoll, raw-tcpinfo");
	for (int sc = 0; sc < SC_COUNT; sc++) {
		fprintf(f, "%-13s %-52s", scenarios[sc].name,
			scenarios[sc].does);
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
	fprintf(f, "\nabandon (run only when named, and by --quick): "
		   "hupmon-serve in this process, its\nclients giving up on "
		   "requests (bench/serve/load.h), hupmon off, epoll, the "
		   "TCP_INFO\nsweep and compare. In every mode: no request "
		   "cancelled whose client waited, no\nwaiting client left "
		   "without its answer, the server's counters add up\n(count "
		   "checks: else exit status 1). Timing checks, printed, exit "
		   "status 1\nonly with --strict-timing: with the epoll path, "
		   "CPU after clients left at\nmost 5 %% of off's; each "
		   "mode's act->callback p99 and goodput.\n");
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
		   "cause, a report with no options, or none at all with "
		   "them\nmakes the exit status 1; one later than bound + 2 s "
		   "is a timing miss\n(--strict-timing). Not root, no "
		   "iproute2 or no netns/veth support:\n\"silent: skipped: "
		   "<why>\", exit status unaffected.\n");
	fprintf(f, "\nsoak (run only when named): one monitor in compare "
		   "mode; each connection ends in a\nrandom mode and must "
		   "get what its scenario above gets on the compare row, "
		   "each\nreport then resolved as seen by the second path "
		   "(the TCP_INFO sweep sees every\nmode: a miss or a "
		   "disagreement fails); cut: a FIN unwatched at its first "
		   "report,\nits outcome cut short; live: unwatched alive, "
		   "nothing. Lost, false, duplicate,\nwrong, a failed "
		   "counter identity or memory_bytes growing after the first "
		   "cycle\nmakes the exit status 1; fewer than 2 cycles in "
		   "--soak-s (memory not judged)\nis a timing miss "
		   "(--strict-timing).\n");
	fprintf(f, "\nchurn (run only when named): timing, no visibility: "
		   "watch + unwatch per socket\n(hupmon_watch, and "
		   "hupmon_watch_ex with opts.accepted) against a raw "
		   "epoll_ctl\nADD + DEL pair on the same sockets. A failed "
		   "call, or monitor counters that do\nnot add up, makes the "
		   "exit status 1; the x/raw goals are timing checks\n"
		   "(--strict-timing).\n");
	fprintf(f, "\nstall (run only when named): what only the TCP_INFO "
		   "sweep can see. The epoll\n"
		   "path cannot see stalls: nothing changes on the socket "
		   "until the kernel gives up\n"
		   "(compare mode compares hangups only). On loopback, clients "
		   "with a small receive\n"
		   "buffer stop reading while the server writes: "
		   "STALLED/ZERO_WINDOW within stall_ms\n"
		   "+ 2 x the probe-gap bound, then RECOVERED within one "
		   "probe-gap bound of the\n"
		   "drain; the same after the clients' half-close "
		   "(CLOSE_WAIT), and after the\n"
		   "server's own shutdown behind the queued data (LAST_ACK). "
		   "Live connections with\n"
		   "nothing in flight and data queued (corked writes, a window "
		   "below a segment,\n"
		   "pacing at 1000 B/s) must give no report. As root, in "
		   "silent's lab: the client's\n"
		   "link down with data in flight gives NO_ACK in the same "
		   "bound, long before the\n"
		   "kernel's TIMEOUT (TCP_USER_TIMEOUT 10 s); data that never "
		   "left the server (a\n"
		   "qdisc dropping everything, its link down) gives NO_ACK in "
		   "the bound with\n"
		   "stall_ms 2 s; tbf links of 10 mbit/50 ms (stall_ms 1 s) "
		   "and 1 mbit/400 ms\n"
		   "(stall_ms 3 s) carrying a transfer for 10 s must give no "
		   "stall report, and must\n"
		   "show drops or retransmissions. A missing, late or wrong "
		   "report, or any on a\n"
		   "lossy link or a live connection, makes the exit status 1. "
		   "Not root: the\n"
		   "namespace cases are skipped.\n");
}
