/*
 * sock: socket identity (SO_COOKIE), the kept SO_ERROR, and orphaned
 * watches. See sock.h for the kernel facts.
 */
#include "sock.h"

#include <sys/socket.h>

#include "compare.h"
#include "monitor.h"
#include "sweep.h"

bool hupmon__sock_same(const struct hupmon__slot *s)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);

	if (getsockopt(s->fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) < 0)
		return false;
	return cookie == s->cookie;
}

bool hupmon__sock_check(struct hupmon *m, const struct hupmon__slot *s,
			enum hupmon_path path)
{
	if (path == HUPMON_PATH_EPOLL)
		m->st.epoll_cookie_reads++;
	else
		m->st.sweep_cookie_reads++;
	return hupmon__sock_same(s);
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

int hupmon__sock_fd(const struct hupmon__slot *s)
{
	return (s->flags & HUPMON__SLOT_ORPHAN) ? -1 : s->fd;
}
