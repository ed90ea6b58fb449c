/* SPDX-License-Identifier: MIT */
/*
 * sock: the checks of a watch, socket identity (SO_COOKIE), the kept
 * SO_ERROR, and orphaned watches. See sock.h for the kernel facts.
 */
#include "sock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "compare.h"
#include "detect.h"
#include "detect_stall.h"
#include "state.h"
#include "sweep.h"

/* A socket call's EBADF on fd for a watch: -EBADF if fd is not open,
 * -ENOTSOCK if it is (opened with O_PATH: no socket call sees it). Else
 * -err. */
static int fd_err(int fd, int err)
{
	if (err == EBADF && fcntl(fd, F_GETFD) >= 0)
		return -ENOTSOCK;
	return -err;
}

/* What TCP_INFO's failure means for a watch: EBADF (fd_err) and ENOTSOCK
 * as they are, anything else (EOPNOTSUPP, ENOPROTOOPT: a socket that is
 * not TCP) -EINVAL. */
static int tcp_info_err(int fd, int err)
{
	return err == EBADF || err == ENOTSOCK ? fd_err(fd, err) : -EINVAL;
}

static int read_cookie(int fd, uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) < 0 ? -errno
								       : 0;
}

/* The length of a TCP_INFO read as stall tracking sees it (through the
 * test hook), remembered for the monitor. */
static unsigned info_len_seen(struct hupmon *m, int fd, socklen_t len)
{
	unsigned got = len;

	if (m->tcp_info_hook)
		m->tcp_info_hook(m, fd, &got);
	atomic_store_explicit(&m->tcp_info_len, got, memory_order_relaxed);
	return got;
}

/* A socket whose TCP_INFO failed with EOPNOTSUPP: a connected Unix
 * stream or seqpacket socket, or -EINVAL. getpeername tells the family
 * and that it is connected (ENOTCONN: listening or never connected; the
 * address is cut short, only the family is wanted), SO_TYPE the kind. */
static int check_unix(int fd)
{
	struct sockaddr sa;
	socklen_t len = sizeof(sa);
	int type;

	if (getpeername(fd, &sa, &len) < 0)
		return errno == ENOTCONN ? -EINVAL : fd_err(fd, errno);
	if (len < sizeof(sa.sa_family) || sa.sa_family != AF_UNIX)
		return -EINVAL;
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return fd_err(fd, errno);
	return type == SOCK_STREAM || type == SOCK_SEQPACKET ? 0 : -EINVAL;
}

/* Checks that fd is a connected TCP socket, not MPTCP, or a connected
 * Unix stream or seqpacket socket, and reads its identity: three
 * getsockopt for TCP; for Unix the failed TCP_INFO, getpeername and two
 * getsockopt. With stall (tracking wanted) a TCP socket's one TCP_INFO
 * read is a whole sample, whose length the stall check wants. */
static int check_socket(struct hupmon *m, int fd, bool stall,
			struct hupmon__sock_seen *seen)
{
	struct hupmon__tcp_info ti;
	/* tcpi_state is the first byte; 8 is what a sweep probe reads */
	socklen_t len = stall ? sizeof(ti) : 8;
	int v, err;

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) {
		if (errno != EOPNOTSUPP)
			return tcp_info_err(fd, errno);
		err = check_unix(fd);
		if (err)
			return err;
		seen->unix_sock = true;
		return read_cookie(fd, &seen->cookie);
	}
	if (!len ||
	    hupmon__tcp_state_verdict(ti.state) == HUPMON__STATE_NOT_CONNECTED)
		return -EINVAL; /* listening, or connect still under way */
	if (stall)
		seen->info_len = info_len_seen(m, fd, len);
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) < 0)
		return -errno;
	if (v != IPPROTO_TCP)
		return -EINVAL; /* MPTCP */
	return read_cookie(fd, &seen->cookie);
}

/* opts.accepted: the caller vouches for what check_socket checks, and
 * for the family; only the identity is read. Stall tracking of a TCP
 * socket needs TCP_INFO's length: known for the monitor after its first
 * read, else read here (once). */
static int check_accepted(struct hupmon *m, int fd, int family, bool stall,
			  struct hupmon__sock_seen *seen)
{
	struct hupmon__tcp_info ti;
	socklen_t len = sizeof(ti);
	int err;

	if (family != 0 && family != AF_INET && family != AF_INET6 &&
	    family != AF_UNIX)
		return -EINVAL;
	err = read_cookie(fd, &seen->cookie);
	if (err)
		return fd_err(fd, -err);
	seen->unix_sock = family == AF_UNIX;
	if (!stall || seen->unix_sock)
		return 0;
	seen->info_len =
		atomic_load_explicit(&m->tcp_info_len, memory_order_relaxed);
	if (seen->info_len)
		return 0;
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return tcp_info_err(fd, errno); /* the caller was wrong */
	seen->info_len = info_len_seen(m, fd, len);
	return 0;
}

int hupmon__sock_check(struct hupmon *m, int fd,
		       const struct hupmon_watch_opts *opts, bool stall,
		       struct hupmon__sock_seen *seen)
{
	*seen = (struct hupmon__sock_seen){0};
	return opts->accepted ? check_accepted(m, fd, opts->family, stall, seen)
			      : check_socket(m, fd, stall, seen);
}

static bool same(const struct hupmon__slot *s)
{
	uint64_t cookie = 0;

	return read_cookie(s->fd, &cookie) == 0 && cookie == s->cookie;
}

bool hupmon__sock_confirm(struct hupmon *m, const struct hupmon__slot *s,
			  enum hupmon_path path)
{
	/* Promised: a watched number holds its socket until the unwatch. */
	if (m->cfg.unwatch_before_close)
		return true;
	if (path == HUPMON_PATH_EPOLL)
		m->st.epoll_cookie_reads++;
	else
		m->st.sweep_cookie_reads++;
	return same(s);
}

void hupmon__sock_keep_error(struct hupmon *m, struct hupmon__slot *s,
			     enum hupmon_path path)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (s->error || m->cfg.no_touch)
		return;
	if (path == HUPMON_PATH_EPOLL)
		m->st.epoll_error_reads++;
	else
		m->st.sweep_error_reads++;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err > 0)
		s->error = err > 255 ? 255 : (uint8_t)err;
}

void hupmon__sock_orphan(struct hupmon *m, uint32_t idx)
{
	struct hupmon__slot *s = &m->reg.slots[idx];

	if (s->flags & HUPMON__SLOT_ORPHAN)
		return;
	s->flags |= HUPMON__SLOT_ORPHAN;
	hupmon__sweep_remove(m, idx);
	/* Nobody can see its socket now: its outcomes wait for the unwatch
	 * or retire that counts them as cut short. */
	hupmon__compare_orphan(m, idx);
	/* The fd map keeps pointing here, so that a watch of whatever socket
	 * now has this fd number frees the slot (retire, counted there). */
}
