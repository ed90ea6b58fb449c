/* SPDX-License-Identifier: MIT */
/*
 * hupmon-serve: the HTTP/1.1 server of server.c as a program. Prints where it
 * listens on stdout, serves until SIGINT or SIGTERM, then prints its
 * counters on stderr. See --help and server.h.
 */
#include "addr.h"
#include "server.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The ranges --help states; the refusals name them. */
#define PORT_MAX     65535u
#define WORKERS_MAX  4096u
#define MS_MAX	     86400000u /* a day */
#define MODES	     "off | epoll | sweep | compare"
#define HALVES	     "cancel | wait"
#define LOOPS	     "thread | acceptor"
#define NEEDS_HUPMON "needs --hupmon epoll, sweep or compare"

static const char usage[] =
	"usage: hupmon-serve [options]\n"
	"  --port N              TCP port, 0..65535; 0 (default): a free\n"
	"                        one, printed\n"
	"  --bind ADDR           IPv4 (a.b.c.d) or IPv6 address (default\n"
	"                        127.0.0.1); IPv6 may end in %interface, a\n"
	"                        link-local one must; no host names\n"
	"  --unix PATH           listen on a Unix stream socket too: a file\n"
	"                        name of at most 107 bytes, or @NAME (an\n"
	"                        abstract name, no file); a stale socket\n"
	"                        file there is replaced, any other file\n"
	"                        refused; the file is removed at exit.\n"
	"                        Without --port and --bind: no TCP\n"
	"                        listener, the Unix one only\n"
	"  --workers N           worker threads, 0..4096; 0 (default): one\n"
	"                        per CPU\n"
	"  --hupmon MODE         " MODES " (default epoll)\n"
	"  --half-close P        " HALVES " (default cancel): what a\n"
	"                        client's FIN (peer_shutdown) means: gone\n"
	"                        (cancel), or waiting for its answer\n"
	"                        (wait); over Unix only shutdown(SHUT_WR)\n"
	"                        is that, a close is hangup (cancelled\n"
	"                        under both); not with --hupmon off\n"
	"  --loop L              " LOOPS " (default thread); not with\n"
	"                        --hupmon off\n"
	"  --header-timeout MS   1..86400000 (a day): a request head not\n"
	"                        complete MS ms after its first byte (after\n"
	"                        the accept, on a new connection) is\n"
	"                        answered 408 and closed (default 10000)\n"
	"  --idle-timeout MS     1..86400000: a keep-alive connection\n"
	"                        without a request for MS ms is closed\n"
	"                        (default 60000)\n"
	"  --workers-nice        workers at nice +10, not SCHED_IDLE (for a\n"
	"                        machine that other processes keep busy)\n"
	"Numbers are decimal digits only. A bad option or value exits 2\n"
	"before anything starts: \"hupmon-serve: bad --X: value (range)\".\n"
	"Exit 1: the server could not start (the address in use, a file\n"
	"at --unix's PATH that is not a socket...); 0: stopped by SIGINT or\n"
	"SIGTERM (a --unix file is removed then too).\n"
	"GET /work?ms=W burns W ms of CPU (cancelled when the client "
	"leaves);\nGET /metrics: hupmon's and the server's counters "
	"(Prometheus).\nOut of fds, it stops accepting and retries every "
	"0.1 s and when a\nconnection closes; new clients wait in the "
	"listen backlog.\n";

static void bad(const char *opt, const char *arg, const char *range)
{
	fprintf(stderr, "hupmon-serve: bad %s: %s (%s)\n", opt, arg, range);
	exit(2);
}

/* A decimal number in lo..hi: digits only, checked before it can wrap. */
static uint64_t number(const char *opt, const char *arg, uint64_t lo,
		       uint64_t hi)
{
	char range[64];
	uint64_t v = 0;
	const char *p = arg;

	snprintf(range, sizeof(range), "range %" PRIu64 "..%" PRIu64, lo, hi);
	if (!*p)
		bad(opt, arg, range);
	for (; *p; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (*p < '0' || *p > '9' || v > (hi - d) / 10)
			bad(opt, arg, range);
		v = v * 10 + d;
	}
	if (v < lo)
		bad(opt, arg, range);
	return v;
}

static int name(const char *opt, int v, const char *arg, const char *names)
{
	if (v < 0)
		bad(opt, arg, names);
	return v;
}

/* Where the server listens, or tried to: tcp (the TCP listener as the
 * caller words it) unless o->no_tcp, then "unix:PATH" with o->unix_path. */
static void listeners(char *buf, size_t cap, const struct serve_opts *o,
		      const char *tcp)
{
	snprintf(buf, cap, "%s%s%s%s", o->no_tcp ? "" : tcp,
		 !o->no_tcp && o->unix_path ? " and " : "",
		 o->unix_path ? "unix:" : "", o->unix_path ? o->unix_path : "");
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"port", required_argument, NULL, 'p'},
		{"bind", required_argument, NULL, 'b'},
		{"unix", required_argument, NULL, 'u'},
		{"workers", required_argument, NULL, 'w'},
		{"hupmon", required_argument, NULL, 'm'},
		{"half-close", required_argument, NULL, 'c'},
		{"loop", required_argument, NULL, 'l'},
		{"header-timeout", required_argument, NULL, 'H'},
		{"idle-timeout", required_argument, NULL, 'I'},
		{"workers-nice", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct serve_opts o = {.mode = SERVE_EPOLL};
	const char *half_arg = NULL, *loop_arg = NULL;
	bool tcp_asked = false; /* --port or --bind */
	char where[512], tcp[128];
	struct serve_counters n;
	struct sockaddr_storage ss;
	struct sockaddr_un sun;
	socklen_t len;
	struct serve *s;
	sigset_t stop;
	int opt, sig, rc;

	while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (opt) {
		case 'p':
			o.port =
				(uint16_t)number("--port", optarg, 0, PORT_MAX);
			tcp_asked = true;
			break;
		case 'b':
			rc = serve_addr_parse(optarg, 0, &ss, &len);
			if (rc)
				bad("--bind", optarg, serve_addr_why(rc));
			o.bind = optarg;
			tcp_asked = true;
			break;
		case 'u':
			rc = serve_unix_parse(optarg, &sun, &len);
			if (rc)
				bad("--unix", optarg, serve_unix_why(rc));
			o.unix_path = optarg;
			break;
		case 'w':
			o.workers = (unsigned)number("--workers", optarg, 0,
						     WORKERS_MAX);
			break;
		case 'm':
			o.mode = name("--hupmon", serve_mode_parse(optarg),
				      optarg, MODES);
			break;
		case 'c':
			o.half_close = name("--half-close",
					    serve_half_close_parse(optarg),
					    optarg, HALVES);
			half_arg = optarg;
			break;
		case 'l':
			o.loop = name("--loop", serve_loop_parse(optarg),
				      optarg, LOOPS);
			loop_arg = optarg;
			break;
		case 'H':
			o.header_timeout_ms = (unsigned)number(
				"--header-timeout", optarg, 1, MS_MAX);
			break;
		case 'I':
			o.idle_timeout_ms = (unsigned)number("--idle-timeout",
							     optarg, 1, MS_MAX);
			break;
		case 'n':
			o.workers_nice = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fputs(usage, stderr);
		return 2;
	}
	/* What only hupmon's reports act on, asked for without hupmon. */
	if (o.mode == SERVE_OFF && half_arg)
		bad("--half-close", half_arg, NEEDS_HUPMON);
	if (o.mode == SERVE_OFF && loop_arg)
		bad("--loop", loop_arg, NEEDS_HUPMON);
	o.no_tcp = o.unix_path && !tcp_asked;
	/* Blocked here, so in every thread the server starts: sigwait()
	 * below takes them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	rc = serve_start(&o, &s);
	if (rc < 0) {
		snprintf(tcp, sizeof(tcp), "%s port %u",
			 o.bind ? o.bind : "127.0.0.1", o.port);
		listeners(where, sizeof(where), &o, tcp);
		/* only the Unix listener says EEXIST */
		fprintf(stderr, "hupmon-serve: cannot start on %s: %s\n", where,
			rc == -EEXIST ? "a file that is not a socket is there "
					"(left in place)"
				      : strerror(-rc));
		return 1;
	}
	snprintf(tcp, sizeof(tcp), "http://%s%s%s:%u/",
		 o.bind && strchr(o.bind, ':') ? "[" : "",
		 o.bind ? o.bind : "127.0.0.1",
		 o.bind && strchr(o.bind, ':') ? "]" : "", serve_port(s));
	listeners(where, sizeof(where), &o, tcp);
	printf("hupmon-serve: listening on %s (hupmon %s, "
	       "half-close %s, loop %s, %u workers at %s, timeouts: header "
	       "%u ms, idle %u ms)\n",
	       where, serve_mode_name(o.mode),
	       serve_half_close_name(o.half_close), serve_loop_name(o.loop),
	       serve_workers(s), serve_worker_sched(s),
	       serve_options(s)->header_timeout_ms,
	       serve_options(s)->idle_timeout_ms);
	fflush(stdout);
	while (sigwait(&stop, &sig) != 0)
		;
	serve_counters(s, &n);
	serve_stop(s);
	fprintf(stderr,
		"hupmon-serve: %s: %llu requests: %llu completed, %llu "
		"cancelled, %llu failed, %llu in flight\n",
		strsignal(sig), (unsigned long long)n.requests,
		(unsigned long long)serve_completed(&n),
		(unsigned long long)serve_cancelled(&n),
		(unsigned long long)serve_failed(&n),
		(unsigned long long)(n.requests - serve_completed(&n) -
				     serve_cancelled(&n) - serve_failed(&n)));
	return 0;
}
