/* SPDX-License-Identifier: MIT */
/*
 * netns: a two-host lab for silent peer death and stalls (root only), used by
 * hupmon-bench's silent and stall scenarios and by tests/check_silent_death.c
 * and tests/check_stall_netns.c (library hupmon-lab, bench/lab/). Two
 * network namespaces joined by a veth pair, IPv6 off on both (no
 * autoconfiguration chatter beside the keepalive probes); the client's end of
 * the link can be taken down inside the client's namespace, so the server keeps
 * its route and sees no unreachable error, only silence.
 *
 * One lab per process. It is removed by netns_down, and at exit by a guard
 * that acts only in the process that made it (forked children leave it).
 */
#ifndef HUPMON_NETNS_H
#define HUPMON_NETNS_H

#include <stdbool.h>
#include <stddef.h>

#define NETNS_SRV_ADDR "10.213.0.1"
#define NETNS_CLI_ADDR "10.213.0.2"

enum netns_side { NETNS_SRV, NETNS_CLI };

/* Runs a shell command (stderr with stdout); returns its exit status, 0 on
 * success. On failure the first line it printed is left in why. */
int netns_sh(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Makes the lab, its namespaces named "<prefix>-srv-<pid>" and "-cli-".
 * 0, or -1 with why it cannot be made here (not root, no iproute2, no netns
 * or veth support), everything made removed again. */
int netns_up(const char *prefix, char *why, size_t len);

/* Removes the lab; idempotent, and a no-op outside the process that made
 * it. */
void netns_down(void);

/* A TCP socket made in one side's namespace (it stays there); -errno. */
int netns_socket(enum netns_side side);

/* The client's end of the link up or down; 0 or the command's status. */
int netns_link(bool up, char *why, size_t len);

/* One side's namespace name and its end of the veth pair. */
const char *netns_name(enum netns_side side);
const char *netns_dev(enum netns_side side);

/* Traffic across the lab, on a non-blocking socket: netns_fill sends until
 * the send buffer is full or max bytes went (returns bytes sent);
 * netns_drain reads what is there, at most 64 reads (returns bytes read). */
size_t netns_fill(int fd, size_t max);
size_t netns_drain(int fd);

/* "dropped N" of the qdisc on the server's end of the link, or -1. */
long netns_tc_drops(void);

#endif
