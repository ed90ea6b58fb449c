/* SPDX-License-Identifier: MIT */
/*
 * listener: the server's listening sockets, one over TCP (--bind, --port)
 * and one over a Unix-domain stream socket (--unix): opened, and closed
 * with what they leave behind (a Unix socket's file).
 */
#ifndef HUPMON_SERVE_LISTENER_H
#define HUPMON_SERVE_LISTENER_H

#include <stdint.h>

struct serve_listener {
	int fd;	       /* non-blocking, close-on-exec; -1: none */
	int family;    /* AF_INET, AF_INET6 or AF_UNIX: its accepted sockets' */
	uint16_t port; /* TCP: the port bound */
	/* Unix with a file name: the name (a copy) of the file bind() made
	 * and an O_PATH fd of that file, which keeps its inode number from
	 * being given to another; removed on close while it is still that
	 * one. NULL and -1 otherwise. */
	char *path;
	int file;
};

/* Listens over TCP on addr (addr.h; NULL: 127.0.0.1) and port (0: a free
 * one, then in l->port). Returns 0 or a negative errno (-EINVAL, -ENODEV,
 * -EDESTADDRREQ from addr.h; bind()'s and listen()'s). */
int serve_listen_tcp(struct serve_listener *l, const char *addr, uint16_t port);

/*
 * Listens on a Unix-domain stream socket at path (addr.h's
 * serve_unix_parse: a file name or "@name", abstract). A file already at
 * path is taken over only if it is a socket nobody listens on (a stale
 * one, left by a server that did not remove it): it is removed, then
 * bound anew. Returns 0 or a negative errno: -EEXIST (a file that is not
 * a socket, a directory..., left in place), -EADDRINUSE (a server
 * listens there), -EINVAL or -ENAMETOOLONG (the name), -ENOMEM, or what
 * lstat(), bind() and listen() say (-ENOENT: no such directory, -EACCES).
 */
int serve_listen_unix(struct serve_listener *l, const char *path);

/* Closes l (nothing if l->fd is -1) and removes its file if it is still
 * the one bound, not another put in its place. l->fd is -1 after. */
void serve_listener_close(struct serve_listener *l);

#endif
