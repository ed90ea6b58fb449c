/* SPDX-License-Identifier: MIT */
/*
 * listener: the server's listening sockets (see listener.h).
 *
 * Facts relied on (Linux): bind() of a Unix socket to a file name makes a
 * socket file there and fails with EADDRINUSE if any file is there, and
 * closing the socket leaves the file; an abstract name (sun_path starting
 * with a NUL) makes no file and is freed when the socket closes. connect()
 * to a socket file nobody listens on fails with ECONNREFUSED at once; to a
 * listener it succeeds (or EAGAIN on a non-blocking socket when the
 * backlog is full) without the listener accepting. A socket file cannot be
 * opened for I/O, but open(O_PATH) takes it. A file removed frees its
 * inode number once nothing refers to it, and the next file made on that
 * file system may get it at once (seen on tmpfs and ext4): a name's device
 * and inode tell files apart only while the old one is held open.
 */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"

#define SOCK_FLAGS (SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC)

/* Starts l on fd, bound to sa, listening. With l->path, the file bind()
 * made is held (removed again if listen() fails). On failure fd is closed
 * and l is left with nothing (fd -1, no path). */
static int bind_listen(struct serve_listener *l, int fd, int family,
		       const struct sockaddr *sa, socklen_t len)
{
	int err;

	if (bind(fd, sa, len) < 0) {
		err = -errno;
		close(fd);
		free(l->path);
		l->path = NULL;
		return err;
	}
	l->fd = fd;
	l->family = family;
	if (l->path)
		l->file = open(l->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (l->path && l->file < 0) {
		err = -errno; /* EMFILE, say: unheld, it could not be told
			       * apart at exit: removed now */
		unlink(l->path);
		serve_listener_close(l);
		return err;
	}
	if (listen(fd, SOMAXCONN) < 0) {
		err = -errno;
		serve_listener_close(l);
		return err;
	}
	return 0;
}

int serve_listen_tcp(struct serve_listener *l, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int one = 1, fd, err;

	memset(l, 0, sizeof(*l));
	l->fd = l->file = -1;
	err = serve_addr_parse(addr ? addr : "127.0.0.1", port, &ss, &len);
	if (err)
		return err;
	fd = socket(ss.ss_family, SOCK_FLAGS, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	err = bind_listen(l, fd, ss.ss_family, (struct sockaddr *)&ss, len);
	if (err)
		return err;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		err = -errno;
		serve_listener_close(l);
		return err;
	}
	l->port = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
	return 0;
}

/* Whether a server listens at sun: 0 no (ECONNREFUSED), -EADDRINUSE yes,
 * another negative errno if that cannot be told. */
static int listened_on(const struct sockaddr_un *sun, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_FLAGS, 0), rc;

	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sun, len);
	rc = rc == 0 || errno == EAGAIN ? -EADDRINUSE
	     : errno == ECONNREFUSED	? 0
					: -errno;
	close(fd);
	return rc;
}

/* Makes room for a socket file at sun's name: nothing there, or a stale
 * socket file, which is removed. Anything else stays. */
static int clear_stale(const struct sockaddr_un *sun, socklen_t len)
{
	struct stat st;
	int rc;

	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	rc = listened_on(sun, len);
	if (rc == 0 && unlink(sun->sun_path) < 0 && errno != ENOENT)
		rc = -errno;
	return rc;
}

int serve_listen_unix(struct serve_listener *l, const char *path)
{
	struct sockaddr_un sun;
	socklen_t len;
	int fd, err;

	memset(l, 0, sizeof(*l));
	l->fd = l->file = -1;
	err = serve_unix_parse(path, &sun, &len);
	if (err)
		return err;
	if (!serve_unix_abstract(path)) {
		err = clear_stale(&sun, len);
		if (err)
			return err;
		l->path = strdup(sun.sun_path);
		if (!l->path)
			return -ENOMEM;
	}
	fd = socket(AF_UNIX, SOCK_FLAGS, 0);
	if (fd < 0) {
		err = -errno;
		free(l->path);
		l->path = NULL;
		return err;
	}
	return bind_listen(l, fd, AF_UNIX, (struct sockaddr *)&sun, len);
}

void serve_listener_close(struct serve_listener *l)
{
	struct stat now, ours;

	if (l->fd < 0)
		return;
	/* ours while it is the file bind() made (held: its inode number is
	 * no other's), not one put in its place */
	if (l->file >= 0 && lstat(l->path, &now) == 0 &&
	    fstat(l->file, &ours) == 0 && now.st_dev == ours.st_dev &&
	    now.st_ino == ours.st_ino)
		unlink(l->path);
	if (l->file >= 0)
		close(l->file);
	close(l->fd);
	l->fd = l->file = -1;
	free(l->path);
	l->path = NULL;
}
