/* SPDX-License-Identifier: MIT */
/*
 * sock: a watched socket seen through its fd number. What a watch checks
 * (a connected TCP or Unix stream socket, its identity), whether the fd still
 * holds the socket that was watched, the socket's pending error, kept once
 * read, and what becomes of a watch whose fd lost its socket (an orphan).
 *
 * Kernel facts relied on:
 *   - An fd number names whatever file it holds now: the application may
 *     close a watched socket and the number be reused by an unrelated one.
 *     SO_COOKIE is a 64-bit number the kernel gives a socket for its whole
 *     life and to no other socket while the system runs, so comparing it
 *     tells whether an fd still holds the watched socket.
 *   - getsockopt(IPPROTO_TCP, TCP_INFO) succeeds on TCP sockets only: it
 *     fails with EOPNOTSUPP (UDP, unix, raw) or ENOPROTOOPT (IPv6 UDP,
 *     netlink, packet) on other sockets, ENOTSOCK on what is no socket
 *     (pipes, files), EBADF on a closed fd, and EBADF too on an fd
 *     opened with O_PATH: the socket calls look an fd up ignoring O_PATH
 *     files, as if it were closed (fcntl(F_GETFD) does see it). Its
 *     first byte, tcpi_state, tells a connected socket from a listening
 *     one (LISTEN) or one whose connect is under way (SYN_SENT,
 *     SYN_RECV); a socket never connected reads CLOSE, as one whose
 *     connection ended.
 *   - An MPTCP socket answers TCP_INFO too (with its first subflow's
 *     info): only SO_PROTOCOL (IPPROTO_MPTCP, 262, not IPPROTO_TCP) tells
 *     it apart. Nothing else answers TCP_INFO with protocol IPPROTO_TCP.
 *   - The length TCP_INFO returns is the kernel's struct tcp_info, the
 *     same for every socket: it is learnt once per monitor.
 *   - SO_COOKIE works on every socket and fails with ENOTSOCK or EBADF
 *     like any SOL_SOCKET option (EBADF on O_PATH too). The two ends of
 *     a socketpair() are two sockets with two cookies.
 *   - A Unix-domain socket answers TCP_INFO with EOPNOTSUPP (as UDP and
 *     raw IPv4 do). getpeername() on it fails with ENOTCONN while it is
 *     not connected, listening included, and succeeds with family
 *     AF_UNIX once connected, from accept(), connect() or socketpair(),
 *     even after the peer closed (the socket keeps its peer). SO_TYPE
 *     tells a stream (SOCK_STREAM) or seqpacket (SOCK_SEQPACKET) socket
 *     from a datagram one, which getpeername() answers too once
 *     connected. A Unix connect() completes at once: no "under way".
 *     So a Unix socket costs one syscall more than a TCP one: on this
 *     VM (Linux 6.18) getpeername, SO_TYPE, SO_ACCEPTCONN, SO_DOMAIN and
 *     SO_COOKIE each take 1.3-1.6 us; getpeername alone refuses both the
 *     listening and the never-connected socket, which SO_ACCEPTCONN
 *     cannot. SOCK_SEQPACKET: see probe.c.
 *   - getsockopt(SO_ERROR) clears the pending error (sock_error()), so it is
 *     read at most once per socket and kept in the slot for both paths.
 */
#ifndef HUPMON_SOCK_H
#define HUPMON_SOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "hupmon.h"

struct hupmon;
struct hupmon__slot;

/* What the checks of a watch learnt of its socket. */
struct hupmon__sock_seen {
	uint64_t cookie;   /* SO_COOKIE: the socket's identity */
	unsigned info_len; /* TCP with stall: TCP_INFO's length */
	bool unix_sock;	   /* a Unix stream or seqpacket socket */
};

/* The checks of a watch; fills *seen. Without opts->accepted fd must be a
 * connected TCP socket, not MPTCP (three getsockopt), or a connected Unix
 * stream or seqpacket socket (TCP_INFO's failure, getpeername, two
 * getsockopt); with it the caller vouched for that and opts->family
 * (0, AF_INET, AF_INET6 or AF_UNIX, else -EINVAL) says which: only the
 * identity is read. With stall (tracking wanted) a TCP socket's
 * seen->info_len gets the length of TCP_INFO as stall tracking sees it
 * (read by the check, or once per monitor when accepted). 0, -EBADF,
 * -ENOTSOCK, -EINVAL, or getsockopt's -errno. Without the lock. */
int hupmon__sock_check(struct hupmon *m, int fd,
		       const struct hupmon_watch_opts *opts, bool stall,
		       struct hupmon__sock_seen *seen);

/* Whether s->fd still holds the socket watched (SO_COOKIE), counted in
 * the stats of the path that asks; true without a read when the config
 * promises unwatch_before_close. Under m->lock. */
bool hupmon__sock_confirm(struct hupmon *m, const struct hupmon__slot *s,
			  enum hupmon_path path);

/* Reads SO_ERROR into the slot unless one is kept or no_touch; counted in
 * the stats of path. Under m->lock. */
void hupmon__sock_keep_error(struct hupmon *m, struct hupmon__slot *s,
			     enum hupmon_path path);

/* The slot's fd no longer holds its socket (the socket may live on in a
 * dup): stop probing it; its epoll events are still its own and are
 * reported with fd -1; a later watch of that fd number, or of the socket
 * through another fd, frees the slot. Under m->lock. */
void hupmon__sock_orphan(struct hupmon *m, uint32_t idx);

#endif
