/* SPDX-License-Identifier: MIT */
/*
 * query: hupmon_query(), what the monitor has reported about one watched
 * socket, read under the monitor's lock from the state the reports are
 * made from: the slot's cause, kept error and the path that reported the
 * cause (registry.h), and the sweep's stall record (sweep.h). The
 * dispatching thread changes them under the lock before it queues the
 * callbacks, so a query sees a report from the moment it is decided, and
 * inside a callback the report it is about. No syscall: nothing here
 * looks at the socket.
 *
 * Nothing is kept for the query alone: the slot stays 32 bytes (the
 * path that reported its cause takes the byte the cause's level used to,
 * the level following from the cause), so the detection time is the
 * callbacks' (event.detected_ns), not the query's.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "hupmon.h"
#include "registry.h"
#include "sized.h"
#include "state.h"
#include "sweep.h"

/* The sizes of a caller's struct hupmon_status (sized.h): 0.2.0, the
 * first release that has it, is today's struct; no field appended since. */
static const struct hupmon__sized status_sized = {
	.size = sizeof(struct hupmon_status),
	.first = sizeof(struct hupmon_status),
};

/* The status of the live slot idx. Under m->lock. */
static void status_of(const struct hupmon *m, uint32_t idx,
		      struct hupmon_status *st)
{
	const struct hupmon__slot *s = &m->reg.slots[idx];

	memset(st, 0, sizeof(*st));
	st->cause = (enum hupmon_cause)s->cause;
	st->path = (enum hupmon_path)s->path;
	/* as the event carries it (deliver.c) */
	st->error = st->cause >= HUPMON_CAUSE_RESET ? s->error : 0;
	st->stall_reason = hupmon__sweep_stall_reason(m, idx);
}

int hupmon_query_sized(const hupmon *m, hupmon_id id, struct hupmon_status *out,
		       size_t out_size)
{
	struct hupmon_status st;
	bool found;
	int err;

	if (!m || !out)
		return -EINVAL;
	/* Only written: the contents of the caller's struct do not matter. */
	err = hupmon__sized_check(&status_sized, NULL, out_size);
	if (err)
		return err;
	pthread_mutex_lock(hupmon__lock_of(m));
	found = hupmon__registry_get(&m->reg, id) != NULL;
	if (found)
		status_of(m, (uint32_t)id, &st);
	pthread_mutex_unlock(hupmon__lock_of(m));
	if (!found)
		return -ENOENT;
	if (out_size > sizeof(st)) {
		memset((char *)out + sizeof(st), 0, out_size - sizeof(st));
		out_size = sizeof(st);
	}
	memcpy(out, &st, out_size);
	return 0;
}
