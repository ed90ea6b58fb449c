/* SPDX-License-Identifier: MIT */
/*
 * netns: the two-host lab of netns.h. Commands go to iproute2 (ip netns,
 * ip link); sockets and sysctls switch this thread into a namespace and
 * back with setns, through descriptors kept open for the lab's lifetime.
 */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static struct {
	char name[2][32]; /* namespaces, by enum netns_side */
	char dev[2][16];  /* veth ends */
	int self, fd[2];  /* netns fds, -1 when closed */
	bool made;	  /* a namespace may exist */
	bool guard;	  /* atexit registered */
	pid_t owner;	  /* the process that made them */
} lab = {.self = -1, .fd = {-1, -1}};

int netns_sh(char *why, size_t len, const char *fmt, ...)
{
	char cmd[512], line[256];
	size_t n;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	n = strlen(cmd);
	snprintf(cmd + n, sizeof(cmd) - n, " 2>&1");
	if (why && len)
		why[0] = 0;
	fflush(NULL);
	p = popen(cmd, "r");
	if (!p) {
		if (why && len)
			snprintf(why, len, "popen: %s", strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), p))
		if (why && len && !why[0]) {
			size_t l = strcspn(line, "\n");

			l = l < len ? l : len - 1;
			memcpy(why, line, l);
			why[l] = 0;
		}
	st = pclose(p);
	if (st == -1)
		return -1;
	if (!WIFEXITED(st))
		return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	if (WEXITSTATUS(st) && why && len && !why[0])
		snprintf(why, len, "exit status %d", WEXITSTATUS(st));
	return WEXITSTATUS(st);
}

static void fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void netns_down(void)
{
	if (getpid() != lab.owner)
		return;
	fd_close(&lab.fd[NETNS_SRV]);
	fd_close(&lab.fd[NETNS_CLI]);
	fd_close(&lab.self);
	if (!lab.made)
		return;
	netns_sh(NULL, 0, "ip netns del %s", lab.name[NETNS_SRV]);
	netns_sh(NULL, 0, "ip netns del %s", lab.name[NETNS_CLI]);
	lab.made = false;
}

static int enter(int fd)
{
	return setns(fd, CLONE_NEWNET) ? -errno : 0;
}

/* Back to our own namespace: staying in another would be worse than dying. */
static void leave(void)
{
	if (setns(lab.self, CLONE_NEWNET)) {
		fprintf(stderr, "netns: setns back to our own namespace: %s\n",
			strerror(errno));
		exit(2);
	}
}

/* net.ipv6.conf.{all,default}.disable_ipv6=1 in a namespace (/proc/sys/net
 * resolves to the opener's namespace). No IPv6 in the kernel is fine too. */
static int no_ipv6(int fd)
{
	static const char *const knob[] = {
		"/proc/sys/net/ipv6/conf/all/disable_ipv6",
		"/proc/sys/net/ipv6/conf/default/disable_ipv6",
	};
	int rc = enter(fd);

	if (rc)
		return rc;
	for (size_t i = 0; i < sizeof(knob) / sizeof(knob[0]) && !rc; i++) {
		int k = open(knob[i], O_WRONLY | O_CLOEXEC);

		if (k < 0) {
			rc = errno == ENOENT ? 0 : -errno;
			continue;
		}
		if (write(k, "1", 1) != 1)
			rc = -errno;
		close(k);
	}
	leave();
	return rc;
}

static int open_ns(const char *name)
{
	char path[96];

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Namespaces, veth pair, addresses, links up. */
static int create(char *why, size_t len)
{
	const char *srv = lab.name[NETNS_SRV], *cli = lab.name[NETNS_CLI];
	const char *dsrv = lab.dev[NETNS_SRV], *dcli = lab.dev[NETNS_CLI];
	char out[160];
	int rc;

	lab.made = true; /* from here on, netns_down tries */
	if (netns_sh(out, sizeof(out), "ip netns add %s", srv) ||
	    netns_sh(out, sizeof(out), "ip netns add %s", cli)) {
		snprintf(why, len, "ip netns add: %s", out);
		return -1;
	}
	lab.self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	lab.fd[NETNS_SRV] = open_ns(srv);
	lab.fd[NETNS_CLI] = open_ns(cli);
	if (lab.self < 0 || lab.fd[NETNS_SRV] < 0 || lab.fd[NETNS_CLI] < 0) {
		snprintf(why, len, "opening the namespaces: %s",
			 strerror(errno));
		return -1;
	}
	if ((rc = no_ipv6(lab.fd[NETNS_SRV])) ||
	    (rc = no_ipv6(lab.fd[NETNS_CLI]))) {
		snprintf(why, len, "disable_ipv6 in the namespaces: %s",
			 strerror(-rc));
		return -1;
	}
	if (netns_sh(out, sizeof(out),
		     "ip link add %s netns %s type veth peer name %s netns %s",
		     dsrv, srv, dcli, cli)) {
		snprintf(why, len, "veth pair: %s", out);
		return -1;
	}
	if (netns_sh(out, sizeof(out),
		     "ip -n %s addr add " NETNS_SRV_ADDR "/24 dev %s", srv,
		     dsrv) ||
	    netns_sh(out, sizeof(out),
		     "ip -n %s addr add " NETNS_CLI_ADDR "/24 dev %s", cli,
		     dcli) ||
	    netns_sh(out, sizeof(out), "ip -n %s link set %s up", srv, dsrv) ||
	    netns_sh(out, sizeof(out), "ip -n %s link set %s up", cli, dcli)) {
		snprintf(why, len, "configuring the veth pair: %s", out);
		return -1;
	}
	return 0;
}

int netns_up(const char *prefix, char *why, size_t len)
{
	int pid = (int)getpid();

	if (geteuid() != 0) {
		snprintf(why, len,
			 "needs root (CAP_NET_ADMIN) to create network "
			 "namespaces and a veth pair");
		return -1;
	}
	if (netns_sh(NULL, 0, "ip -V")) {
		snprintf(why, len,
			 "iproute2 'ip' not found (apt-get install iproute2)");
		return -1;
	}
	snprintf(lab.name[NETNS_SRV], sizeof(lab.name[0]), "%s-srv-%d", prefix,
		 pid);
	snprintf(lab.name[NETNS_CLI], sizeof(lab.name[0]), "%s-cli-%d", prefix,
		 pid);
	snprintf(lab.dev[NETNS_SRV], sizeof(lab.dev[0]), "hms%d", pid);
	snprintf(lab.dev[NETNS_CLI], sizeof(lab.dev[0]), "hmc%d", pid);
	lab.owner = getpid();
	if (!lab.guard) {
		atexit(netns_down);
		lab.guard = true;
	}
	if (create(why, len)) {
		netns_down();
		return -1;
	}
	return 0;
}

int netns_socket(enum netns_side side)
{
	int fd, rc = enter(lab.fd[side]);

	if (rc)
		return rc;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	rc = fd < 0 ? -errno : fd;
	leave();
	return rc;
}

int netns_link(bool up, char *why, size_t len)
{
	return netns_sh(why, len, "ip -n %s link set %s %s",
			lab.name[NETNS_CLI], lab.dev[NETNS_CLI],
			up ? "up" : "down");
}

const char *netns_name(enum netns_side side)
{
	return lab.name[side];
}

const char *netns_dev(enum netns_side side)
{
	return lab.dev[side];
}

size_t netns_fill(int fd, size_t max)
{
	static char buf[16384];
	size_t total = 0;

	while (total < max) {
		ssize_t n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);

		if (n <= 0)
			break;
		total += (size_t)n;
	}
	return total;
}

size_t netns_drain(int fd)
{
	static char buf[65536];
	size_t total = 0;

	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n <= 0)
			break;
		total += (size_t)n;
	}
	return total;
}

long netns_tc_drops(void)
{
	char cmd[256], line[512];
	long drops = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "ip netns exec %s tc -s qdisc show dev %s",
		 netns_name(NETNS_SRV), netns_dev(NETNS_SRV));
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "dropped ");

		if (p && drops < 0)
			drops = strtol(p + 8, NULL, 10);
	}
	pclose(f);
	return drops;
}
