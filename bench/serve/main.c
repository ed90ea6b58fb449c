/* SPDX-License-Identifier: MIT */
/*
 * hupmon-serve: the HTTP/1.1 server of server.c as a program. Prints where it
 * listens on stdout, serves until SIGINT or SIGTERM, then prints its
 * counters on stderr. See --help and server.h.
 */
#include "server.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: hupmon-serve [options]\n"
	"  --port N              TCP port; 0 (default): a free one, printed\n"
	"  --bind ADDR           IPv4 or IPv6 address (default 127.0.0.1)\n"
	"  --workers N           worker threads (default: one per CPU)\n"
	"  --hupmon MODE         off | epoll (default) | sweep | compare\n"
	"  --half-close P        cancel (default) | wait\n"
	"  --loop L              thread (default) | acceptor\n"
	"  --header-timeout MS   a request head not complete MS ms after its\n"
	"                        first byte (after the accept, on a new\n"
	"                        connection) is answered 408 and closed\n"
	"                        (default 10000)\n"
	"  --idle-timeout MS     a keep-alive connection without a request\n"
	"                        for MS ms is closed (default 60000)\n"
	"  --workers-nice        workers at nice +10, not SCHED_IDLE (for a\n"
	"                        machine that other processes keep busy)\n"
	"GET /work?ms=W burns W ms of CPU (cancelled when the client "
	"leaves);\nGET /metrics: hupmon's and the server's counters "
	"(Prometheus).\nOut of fds, it stops accepting and retries every "
	"0.1 s and when a\nconnection closes; new clients wait in the "
	"listen backlog.\n";

static unsigned long number(const char *opt, const char *arg, unsigned long max)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (!*arg || *end || v > max) {
		fprintf(stderr, "hupmon-serve: bad %s: %s\n", opt, arg);
		exit(2);
	}
	return v;
}

/* A timeout in ms: 1 ms to a day. */
static unsigned ms(const char *opt, const char *arg)
{
	unsigned long v = number(opt, arg, 86400000ul);

	if (v == 0) {
		fprintf(stderr, "hupmon-serve: bad %s: %s\n", opt, arg);
		exit(2);
	}
	return (unsigned)v;
}

static int name(const char *opt, int v, const char *arg)
{
	if (v < 0) {
		fprintf(stderr, "hupmon-serve: bad %s: %s\n", opt, arg);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"port", required_argument, NULL, 'p'},
		{"bind", required_argument, NULL, 'b'},
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
	struct serve_counters n;
	struct serve *s;
	sigset_t stop;
	int opt, sig, rc;

	while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (opt) {
		case 'p':
			o.port = (uint16_t)number("--port", optarg, 65535);
			break;
		case 'b':
			o.bind = optarg;
			break;
		case 'w':
			o.workers = (unsigned)number("--workers", optarg, 4096);
			break;
		case 'm':
			o.mode = name("--hupmon", serve_mode_parse(optarg),
				      optarg);
			break;
		case 'c':
			o.half_close =
				name("--half-close",
				     serve_half_close_parse(optarg), optarg);
			break;
		case 'l':
			o.loop = name("--loop", serve_loop_parse(optarg),
				      optarg);
			break;
		case 'H':
			o.header_timeout_ms = ms("--header-timeout", optarg);
			break;
		case 'I':
			o.idle_timeout_ms = ms("--idle-timeout", optarg);
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
	/* Blocked here, so in every thread the server starts: sigwait()
	 * below takes them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	rc = serve_start(&o, &s);
	if (rc < 0) {
		fprintf(stderr, "hupmon-serve: %s\n", strerror(-rc));
		return 1;
	}
	printf("hupmon-serve: listening on http://%s%s%s:%u/ (hupmon %s, "
	       "half-close %s, loop %s, %u workers at %s, timeouts: header "
	       "%u ms, idle %u ms)\n",
	       o.bind && strchr(o.bind, ':') ? "[" : "",
	       o.bind ? o.bind : "127.0.0.1",
	       o.bind && strchr(o.bind, ':') ? "]" : "", serve_port(s),
	       serve_mode_name(o.mode), serve_half_close_name(o.half_close),
	       serve_loop_name(o.loop), serve_workers(s), serve_worker_sched(s),
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
