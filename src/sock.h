/*
 * sock: a watched socket seen through its fd number. Whether the fd still
 * holds the socket that was watched, the socket's pending error, kept once
 * read, and what becomes of a watch whose fd lost its socket (an orphan).
 *
 * Kernel facts relied on:
 *   - An fd number names whatever file it holds now: the application may
 *     close a watched socket and the number be reused by an unrelated one.
 *     SO_COOKIE is a 64-bit number the kernel gives a socket for its whole
 *     life and to no other socket while the system runs, so comparing it
 *     tells whether an fd still holds the watched socket.
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

/* Compares the socket on s->fd with the one watched (SO_COOKIE). */
bool hupmon__sock_same(const struct hupmon__slot *s);

/* hupmon__sock_same, counted in the stats of the path that asks. Under
 * m->lock. */
bool hupmon__sock_check(struct hupmon *m, const struct hupmon__slot *s,
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

/* The fd to report for the slot: its fd, or -1 once orphaned. */
int hupmon__sock_fd(const struct hupmon__slot *s);

#endif
