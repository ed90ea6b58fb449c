/* SPDX-License-Identifier: MIT */
/*
 * conn: loopback fixtures. Pairs of connected sockets on 127.0.0.1, the
 * client's acts (FIN, RST, half-close, data-then-FIN, escalation), the
 * record of the reports each connection got (bench_record), and the child
 * process that holds the client ends for the scale and soak scenarios.
 *
 * Teardown closes the server end first with SO_LINGER {1,0}: the RST kills
 * the client end too (even an orphan in FIN_WAIT2), so no run leaves
 * TIME_WAIT sockets behind to eat the ephemeral ports of the next one.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define ACCEPT_BATCH 512 /* well below the listen backlog */

/* A report of cause on c: the first of each cause is timed (the clock now,
 * and det_ns, the detection time the reporter gives); a cause below one
 * reported before, or no cause at all, is a wrong order. */
void bench_record(struct conn *c, enum hupmon_cause cause, uint64_t det_ns)
{
	uint64_t t = now_ns();

	if (cause < HUPMON_CAUSE_PEER_SHUTDOWN || cause > HUPMON_CAUSE_MAX) {
		c->order_bad = true; /* not a cause at all: wrong */
		return;
	}
	if (c->nrep[cause]++ == 0) {
		c->t_cb[cause] = t;
		c->t_det[cause] = det_ns;
	}
	if (cause < c->top)
		c->order_bad = true;
	else
		c->top = (uint8_t)cause;
	atomic_fetch_or(&c->seen, 1u << cause);
}

int listener_open(int fd, const char *addr, int backlog, uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	if (fd < 0)
		return fd;
	inet_pton(AF_INET, addr, &a.sin_addr);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, backlog) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* A loopback client of port into c->cfd (its own port in c->port). */
static int client_connect(uint16_t port, struct conn *c)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	c->cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->cfd < 0 || connect(c->cfd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(c->cfd, (struct sockaddr *)&a, &len))
		return -errno;
	c->port = ntohs(a.sin_port);
	return 0;
}

/* k clients, as many as connect: how many did (*err: why not all). */
static size_t connect_batch(uint16_t port, struct conn *c, size_t k, int *err)
{
	for (size_t i = 0; i < k; i++)
		if ((*err = client_connect(port, &c[i])))
			return i;
	return k;
}

/* Accepts a queued connection into c (the client's port in c->port). */
static int server_accept(int lfd, struct conn *c)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	c->sfd = accept4(lfd, (struct sockaddr *)&a, &len, SOCK_CLOEXEC);
	if (c->sfd < 0)
		return -errno;
	c->port = ntohs(a.sin_port);
	return 0;
}

static size_t child_connect(struct child *ch, size_t k, int *err);

/* A blocking connect returns once the handshake is done and the connection
 * waits in the accept queue, so each batch connects first and accepts
 * after; its clients here, or in the scale child. How many connections were
 * made (*err: why not all). c[] comes zeroed. */
size_t conns_open(int lfd, uint16_t port, struct child *ch, struct conn *c,
		  size_t n, int *err)
{
	size_t got = 0;

	*err = 0;
	for (size_t i = 0; i < n; i++)
		c[i].cfd = c[i].sfd = -1;
	while (got < n && !*err) {
		size_t k = n - got < ACCEPT_BATCH ? n - got : ACCEPT_BATCH;
		int cerr = 0;

		k = ch ? child_connect(ch, k, &cerr)
		       : connect_batch(port, c + got, k, &cerr);
		for (size_t j = 0; j < k && !*err; j++) {
			*err = server_accept(lfd, &c[got]);
			got += !*err;
		}
		*err = *err ? *err : cerr;
	}
	return got;
}

/* SO_LINGER {1,0}: close() sends an RST and leaves no TIME_WAIT. */
static void linger0(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

void conns_close(struct conn *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].sfd >= 0) {
			linger0(c[i].sfd);
			close(c[i].sfd);
			c[i].sfd = -1;
		}
	for (size_t i = 0; i < n; i++) {
		if (c[i].cfd >= 0)
			close(c[i].cfd);
		c[i].cfd = -1;
	}
}

/* The client's acts. The clock is read just before the call that sends the
 * FIN or RST; setup (linger, data) comes first. */
static void acted(struct conn *c)
{
	c->acted = true;
	c->t_act[0] = now_ns();
}

void act_close(struct conn *c)
{
	acted(c);
	close(c->cfd);
	c->cfd = -1;
}

void act_rst(struct conn *c)
{
	linger0(c->cfd);
	act_close(c);
}

void act_half(struct conn *c)
{
	acted(c);
	shutdown(c->cfd, SHUT_WR);
}

void act_datafin(struct conn *c)
{
	static const char data[16] = "never read here";

	if (send(c->cfd, data, sizeof(data), MSG_NOSIGNAL) < 0)
		die("datafin send", errno);
	act_close(c);
}

/*
 * Second stage of escalate: once the FIN is reported, and delay_ns later,
 * the server writes one byte; the client, closed, answers with an RST that
 * lands in CLOSE_WAIT (SO_ERROR EPIPE). A sweep reports the FIN at a probe:
 * without the random delay the write would always come just after that
 * probe, and the RST would wait a full period.
 *
 * The write must wait for the report: a path that has not looked at the
 * socket by the time the RST is in finds it past CLOSE_WAIT (one epoll
 * event, RDHUP|HUP|ERR; a probe sees CLOSE), reports RESET alone, and the
 * FIN is never reported although nothing was lost. After wait_ns without
 * the report it writes anyway (so a path that never reports cannot hold the
 * run) and returns false.
 */
bool act_escalate(struct conn *c, uint64_t wait_ns, uint64_t delay_ns)
{
	uint64_t end = now_ns() + wait_ns;
	bool seen;

	while (!(seen = atomic_load(&c->seen) &
			(1u << HUPMON_CAUSE_PEER_SHUTDOWN)) &&
	       now_ns() < end)
		sleep_ns(50000);
	if (delay_ns)
		sleep_ns(delay_ns);
	c->t_act[1] = now_ns();
	send(c->sfd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	return seen;
}

/* ---- the child process of the scale and soak scenarios -----------------
 * The child holds the client ends so that the parent's fd table has room for
 * about one server end per fd. Control messages go over a SEQPACKET pair,
 * one request and its reply at a time (a lock: soak's two threads share
 * it); the child exits when the parent closes its end. A client end is
 * named by its port, so the parent only ever names one whose fd is open
 * here: once it is closed the kernel may give the port to a new client.
 */
enum { OP_REPLY, OP_CONNECT, OP_ACT };

struct ctlmsg {
	uint32_t op;
	uint32_t arg; /* CONNECT and its reply: a count; ACT: a port */
	uint32_t how; /* ACT: enum child_how */
	int32_t err;
	uint64_t t; /* ACT's reply: the clock just before the act */
};

struct child {
	pid_t pid;
	int fd;
	pthread_mutex_t lock;
};

static int ctl_send(int fd, uint32_t op, uint32_t arg, uint32_t how, int err,
		    uint64_t t)
{
	struct ctlmsg m = {
		.op = op, .arg = arg, .how = how, .err = err, .t = t};

	return send(fd, &m, sizeof(m), MSG_NOSIGNAL) == sizeof(m) ? 0 : -EIO;
}

static int ctl_recv(int fd, struct ctlmsg *m)
{
	ssize_t n;

	do
		n = recv(fd, m, sizeof(*m), 0);
	while (n < 0 && errno == EINTR);
	return n == sizeof(*m) ? 0 : -EIO;
}

/* One request, its reply into *m. */
static int ctl_call(struct child *ch, uint32_t op, uint32_t arg, uint32_t how,
		    struct ctlmsg *m)
{
	int rc;

	pthread_mutex_lock(&ch->lock);
	rc = ctl_send(ch->fd, op, arg, how, 0, 0);
	if (!rc)
		rc = ctl_recv(ch->fd, m);
	pthread_mutex_unlock(&ch->lock);
	return rc;
}

/* The client's act on an end held by the child (HOW_DROP: close, if the
 * act left it open). Returns the clock just before the act. */
static uint64_t child_do(int *byport, uint16_t port, enum child_how how)
{
	static void (*const act[])(struct conn *) = {[HOW_FIN] = act_close,
						     [HOW_RST] = act_rst,
						     [HOW_HALF] = act_half,
						     [HOW_DATAFIN] =
							     act_datafin,
						     [HOW_DROP] = act_close};
	struct conn c = {.cfd = byport[port] - 1};

	if (c.cfd < 0 || how > HOW_DROP)
		return now_ns();
	act[how](&c);
	byport[port] = c.cfd + 1; /* 0 once closed */
	return c.t_act[0];
}

static void child_main(int ctl, uint16_t port)
{
	static int byport[65536]; /* client fd + 1, 0: none */
	struct conn c[ACCEPT_BATCH];
	struct ctlmsg m;

	while (ctl_recv(ctl, &m) == 0) {
		int err = 0;

		if (m.op == OP_CONNECT && m.arg <= ACCEPT_BATCH) {
			size_t k = connect_batch(port, c, m.arg, &err);

			for (size_t i = 0; i < k; i++)
				byport[c[i].port] = c[i].cfd + 1;
			ctl_send(ctl, OP_REPLY, (uint32_t)k, 0, err, 0);
		} else if (m.op == OP_ACT) {
			uint64_t t = child_do(byport, m.arg & 0xffff, m.how);

			ctl_send(ctl, OP_REPLY, m.arg, m.how, 0, t);
		}
	}
	_exit(0);
}

/* Forks the child. Call before any thread is started. */
struct child *child_start(uint16_t port)
{
	struct child *ch = xcalloc(1, sizeof(*ch));
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		die("child socketpair", errno);
	fflush(NULL);
	ch->pid = fork();
	if (ch->pid < 0)
		die("fork", errno);
	if (ch->pid == 0) {
		close(sv[0]);
		child_main(sv[1], port);
	}
	close(sv[1]);
	ch->fd = sv[0];
	pthread_mutex_init(&ch->lock, NULL);
	return ch;
}

/* The child connects k clients: how many it did (*err: why not all). */
static size_t child_connect(struct child *ch, size_t k, int *err)
{
	struct ctlmsg m;

	if (ctl_call(ch, OP_CONNECT, (uint32_t)k, 0, &m)) {
		*err = -EIO;
		return 0;
	}
	*err = m.err;
	return m.arg;
}

/* The child acts on c's client end and tells when it did. */
void child_act(struct child *ch, struct conn *c, enum child_how how)
{
	struct ctlmsg m;

	if (ctl_call(ch, OP_ACT, c->port, how, &m))
		die("child act", EIO);
	if (how == HOW_DROP)
		return;
	c->acted = true;
	c->t_act[0] = m.t;
}

void child_end(struct child *ch)
{
	close(ch->fd);
	waitpid(ch->pid, NULL, 0);
	pthread_mutex_destroy(&ch->lock);
	free(ch);
}
