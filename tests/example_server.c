/* SPDX-License-Identifier: MIT */
/*
 * example_server: a server that stops working for clients that left.
 *
 * A client sends one line, how many ms of work it wants ("2000\n"). The
 * server "works" that long (a timer, standing in for a backend call) and
 * answers "done\n", unless hupmon reports the client gone: then the work
 * is cancelled. usage: example_server [PORT [WORKERS [CONNS [SECONDS]]]]
 * PORT 0 (default): any free port. WORKERS (default 1) processes share
 * the listening socket. It stops after CONNS connections ended (0, the
 * default: no limit) or SECONDS (default 60). It prints "listening on
 * PORT", then lines about each connection, named by the client's port:
 * "conn 40312: working", then "answered", "cancelled (reset)", ...
 *
 * Kernel facts relied on: a FIN looks the same whether the client called
 * close() or shutdown(SHUT_WR); data sent to a socket whose owner closed
 * it is answered with an RST, while a half-closed socket takes it.
 */
#define _GNU_SOURCE /* accept4 */
#include <hupmon.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

struct conn {
	struct conn *next, *finished_next; /* all; finished in this batch */
	int fd, timer;			   /* the socket; the work (-1: none) */
	unsigned port;			   /* the client's: names the conn */
	hupmon_id id;			   /* 0: not watched */
	enum hupmon_cause cause;	   /* the cause that cancelled it */
	bool half_closed;		   /* PEER_SHUTDOWN seen */
	const char *outcome;		   /* non-NULL: finished */
	size_t len;
	char req[16];
};

struct worker {
	hupmon *mon;
	int ep, lfd, stop;  /* own epoll set; shared listener, stop timer */
	atomic_uint *ended; /* connections ended, all workers (shared) */
	unsigned limit;
	struct conn *conns, *finished;
};

/* Adds fd to the epoll set ep; tag tells serve() what it is. */
static int ep_add(int ep, int fd, unsigned events, void *tag)
{
	struct epoll_event ev = {.events = events, .data.ptr = tag};

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Marks c finished; the loop closes and frees it after its epoll batch. */
static void finish(struct worker *w, struct conn *c, const char *outcome)
{
	if (c->outcome)
		return;
	c->outcome = outcome;
	c->finished_next = w->finished;
	w->finished = c;
}

/*
 * Runs inside hupmon_dispatch(), in the middle of our epoll batch: later
 * events of the batch may still point at c, so never free it here.
 * Half-close policy: PEER_SHUTDOWN is a client that left (close) or one
 * that sent all and waits (shutdown(SHUT_WR)); nobody can tell which. We
 * keep working and send "working\n": the half-closed client reads it, the
 * closed one answers with an RST, reported as RESET. Every other cause
 * (HANGUP, RESET, TIMEOUT, ERROR) cancels the work.
 */
static void on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct conn *c = ev->user;

	if (ev->cause == HUPMON_CAUSE_PEER_SHUTDOWN) {
		c->half_closed = true;
		send(c->fd, "working\n", 8, MSG_NOSIGNAL | MSG_DONTWAIT);
	} else if (!c->outcome) {
		c->cause = ev->cause;
		finish(arg, c, "cancelled");
	}
}

static void conn_accept(struct worker *w)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = accept4(w->lfd, (struct sockaddr *)&sa, &len,
			 SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct conn *c = fd >= 0 ? malloc(sizeof(*c)) : NULL;

	if (!c) { /* EAGAIN: another worker took it */
		if (fd >= 0)
			close(fd);
		return;
	}
	*c = (struct conn){.next = w->conns, .fd = fd, .timer = -1};
	c->port = ntohs(sa.sin_port);
	w->conns = c;
	if (ep_add(w->ep, fd, EPOLLIN, c) < 0)
		finish(w, c, "failed");
}

/* Reads the request. Once it is whole, the socket leaves our epoll set
 * (a FIN would keep its EPOLLIN firing) and hupmon watches it while the
 * work runs. */
static void conn_read(struct worker *w, struct conn *c)
{
	ssize_t n =
		recv(c->fd, c->req + c->len, sizeof(c->req) - 1 - c->len, 0);
	struct hupmon_watch_opts opts = {.user = c, .accepted = true};
	struct itimerspec work = {{0, 0}, {0, 0}};
	long ms;

	if (n <= 0) {
		finish(w, c, "left before its request");
		return;
	}
	c->len += (size_t)n;
	if (!memchr(c->req, '\n', c->len)) {
		if (c->len == sizeof(c->req) - 1)
			finish(w, c, "bad request");
		return;
	}
	ms = strtol(c->req, NULL, 10);
	ms = ms < 1 ? 1 : ms > 600000 ? 600000 : ms;
	work.it_value.tv_sec = ms / 1000;
	work.it_value.tv_nsec = ms % 1000 * 1000000;
	epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
	c->timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (hupmon_watch_ex(w->mon, c->fd, &opts, &c->id) < 0 || c->timer < 0 ||
	    timerfd_settime(c->timer, 0, &work, NULL) < 0 ||
	    ep_add(w->ep, c->timer, EPOLLIN, c) < 0)
		finish(w, c, "failed");
	else
		printf("conn %u: working\n", c->port);
}

/* The work is done. Unwatch first: no report comes after, the outcome is
 * final. The answer is small: it fits the empty send buffer. */
static void conn_answer(struct worker *w, struct conn *c)
{
	hupmon_unwatch(w->mon, c->id);
	c->id = 0;
	if (send(c->fd, "done\n", 5, MSG_NOSIGNAL) == 5)
		finish(w, c, "answered");
	else
		finish(w, c, "lost (write failed)");
}

/* Says how c ended and forgets it; its socket is unwatched and closed. */
static void conn_free(struct worker *w, struct conn *c)
{
	const char *after = c->half_closed ? " after peer_shutdown" : "";
	struct itimerspec at_once = {{0, 0}, {0, 1}};
	struct conn **p = &w->conns;

	if (c->cause)
		printf("conn %u: cancelled (%s%s)\n", c->port,
		       hupmon_cause_name(c->cause), after);
	else
		printf("conn %u: %s%s\n", c->port, c->outcome, after);
	if (c->timer >= 0)
		close(c->timer);
	while (*p != c)
		p = &(*p)->next;
	*p = c->next;
	free(c);
	/* The last connection of the run stops every worker. */
	if (atomic_fetch_add(w->ended, 1) + 1 == w->limit)
		timerfd_settime(w->stop, 0, &at_once, NULL);
}

/* readme:begin */
static void serve(struct worker *w)
{
	struct epoll_event ev[64];
	bool stopping = false;

	while (!stopping) {
		int n = epoll_wait(w->ep, ev, 64, -1);

		stopping = n < 0 && errno != EINTR;
		for (int i = 0; i < n; i++) {
			void *p = ev[i].data.ptr;
			struct conn *c = p;

			if (p == &w->lfd)
				conn_accept(w);
			else if (p == &w->stop)
				stopping = true;
			else if (p == w->mon)
				hupmon_dispatch(w->mon, 0); /* on_hangup */
			else if (c->outcome)
				continue; /* finished: ended below */
			else if (c->id)
				conn_answer(w, c); /* work timer fired */
			else
				conn_read(w, c);
		}
		for (struct conn *c = w->conns; stopping && c; c = c->next)
			finish(w, c, "dropped (stopping)");
		/* The batch is over: no pointer to c is left in ev[]. */
		for (struct conn *c; (c = w->finished);) {
			w->finished = c->finished_next;
			if (c->id)
				hupmon_unwatch(w->mon, c->id); /* first */
			close(c->fd);
			conn_free(w, c);
		}
	}
}
/* readme:end */

/* One worker: its own monitor and epoll set, made after fork(). */
static int worker_main(struct worker *w)
{
	struct hupmon_config cfg = {.on_hangup = on_hangup, .arg = w};
	int rc = hupmon_new(&cfg, &w->mon);

	w->ep = epoll_create1(EPOLL_CLOEXEC);
	/* EPOLLEXCLUSIVE: a new client wakes one worker, not all of them. */
	if (rc < 0 || w->ep < 0 ||
	    ep_add(w->ep, w->lfd, EPOLLIN | EPOLLEXCLUSIVE, &w->lfd) < 0 ||
	    ep_add(w->ep, w->stop, EPOLLIN, &w->stop) < 0 ||
	    ep_add(w->ep, hupmon_fd(w->mon), EPOLLIN, w->mon) < 0)
		rc = -1;
	else
		serve(w);
	hupmon_free(w->mon);
	if (w->ep >= 0)
		close(w->ep);
	return rc < 0;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 0;
	int workers = argc > 2 ? atoi(argv[2]) : 1;
	struct worker w = {.limit = argc > 3 ? (unsigned)atoi(argv[3]) : 0};
	struct itimerspec run = {{0, 0}, {argc > 4 ? atoi(argv[4]) : 60, 0}};
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int st, rc = 0;

	setvbuf(stdout, NULL, _IOLBF, 0); /* one write per line: no mix-up */
	/* Made before fork() on purpose, to be shared: the listener (each
	 * connection goes to one worker's accept), the stop timer (never
	 * read, so once it fires every worker sees it) and the count. */
	w.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	w.stop = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	w.ended = mmap(NULL, sizeof(*w.ended), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (port < 0 || port > 65535 || workers < 1 ||
	    run.it_value.tv_sec < 1 || w.lfd < 0 || w.stop < 0 ||
	    w.ended == MAP_FAILED ||
	    bind(w.lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(w.lfd, 128) < 0 ||
	    getsockname(w.lfd, (struct sockaddr *)&sa, &len) < 0 ||
	    timerfd_settime(w.stop, 0, &run, NULL) < 0) {
		fprintf(stderr, "usage: example_server [PORT [WORKERS [CONNS "
				"[SECONDS]]]]; or cannot listen\n");
		return 2;
	}
	printf("listening on %u\n", ntohs(sa.sin_port));
	/* Monitors only after fork(): one made before would be one epoll set
	 * (and timer) shared by every worker, each taking events of sockets
	 * the others watch, unknown to its own copy of the monitor. */
	for (int i = 0; i < workers; i++) {
		pid_t pid = fork();

		if (pid == 0)
			return worker_main(&w);
		rc |= pid < 0;
	}
	while (wait(&st) > 0)
		rc |= !WIFEXITED(st) || WEXITSTATUS(st);
	return rc;
}
