/* SPDX-License-Identifier: MIT */
/*
 * deliver: observations become reports, reports become callbacks. The one
 * entry both paths share (hupmon__deliver_report) and compare mode's
 * per-lap expiry; see deliver.h.
 *
 * Calls compare.c (which never calls back), the sweep to take a slot off,
 * and sock.c to check an unverified socket's identity.
 */
#include "deliver.h"

#include <pthread.h>

#include "clock.h"
#include "compare.h"
#include "detect.h"
#include "state.h"
#include "sock.h"
#include "stats.h"
#include "sweep.h"

static void queue_event(struct hupmon *m, uint32_t idx, enum hupmon_path path,
			bool escalation, uint64_t now, struct hupmon__outq *q)
{
	struct hupmon__slot *s = &m->reg.slots[idx];
	struct hupmon__out *o;

	if (!m->cfg.on_hangup)
		return;
	o = hupmon__outq_push(q);
	o->compare = false;
	o->stall = false;
	o->ev.id = hupmon__slot_id(&m->reg, idx);
	o->ev.fd = hupmon__slot_fd(s);
	o->ev.user = s->user;
	o->ev.path = path;
	o->ev.cause = (enum hupmon_cause)s->cause;
	o->ev.error = s->cause >= HUPMON_CAUSE_RESET ? s->error : 0;
	o->ev.escalation = escalation;
	o->ev.detected_ns = now;
}

static void queue_stall(struct hupmon *m, uint32_t idx,
			const struct hupmon__report *r, uint64_t now,
			struct hupmon__outq *q)
{
	struct hupmon__slot *s = &m->reg.slots[idx];
	struct hupmon__out *o;

	if (!m->cfg.on_stall)
		return;
	o = hupmon__outq_push(q);
	o->compare = false;
	o->stall = true;
	o->sev.id = hupmon__slot_id(&m->reg, idx);
	o->sev.fd = hupmon__slot_fd(s);
	o->sev.user = s->user;
	o->sev.kind = r->stall;
	o->sev.reason = r->reason;
	o->sev.escalation = r->escalation;
	o->sev.detected_ns = now;
}

/* A stall report: counted, and queued. Each is news (the classifier
 * reports each episode's start, escalation and end once). */
static void observe_stall(struct hupmon *m, uint32_t idx,
			  const struct hupmon__report *r, uint64_t now,
			  struct hupmon__outq *q)
{
	unsigned reason = (unsigned)r->reason;

	if (reason < 1 || reason > HUPMON_STALL_REASON_MAX)
		return;
	if (r->stall == HUPMON_STALL_KIND_STALLED) {
		m->st.stalls[reason]++;
		if (r->escalation)
			m->st.stall_escalations++;
	} else {
		m->st.stall_recoveries[reason]++;
	}
	queue_stall(m, idx, r, now, q);
}

void hupmon__deliver_stall_close(struct hupmon *m, uint32_t idx)
{
	struct hupmon__stall *st = hupmon__sweep_stall(m, idx);

	if (!st)
		return;
	if (hupmon__stall_open(st))
		m->st.stall_closed++;
	*st = (struct hupmon__stall){0};
}

/* Would observing cause on this path change anything (a report, or a
 * compare time)? */
static bool is_news(const struct hupmon *m, uint32_t idx, enum hupmon_path path,
		    enum hupmon_cause cause)
{
	const struct hupmon__slot *s = &m->reg.slots[idx];
	int level = hupmon__cause_level(cause);

	if (level > hupmon__cause_level(s->cause))
		return true;
	/* compare: a level this path has not seen yet is news to it */
	return level && hupmon__compare_unseen(m, idx, path, level);
}

/* A path saw cause on a live slot at now: the slot, the counters and
 * compare mode take it in, and the report it makes (if any) is queued. */
static void observe(struct hupmon *m, uint32_t idx, enum hupmon_path path,
		    enum hupmon_cause cause, uint64_t now, uint64_t laps,
		    struct hupmon__outq *q)
{
	struct hupmon__slot *s = &m->reg.slots[idx];
	int level = hupmon__cause_level(cause);

	if (!level)
		return;
	if (cause == HUPMON_CAUSE_PEER_SHUTDOWN)
		s->flags |= HUPMON__SLOT_FIN;
	int had = hupmon__cause_level(s->cause);

	hupmon__compare_observe(m, idx, path, cause, level, now, laps,
				level > had);
	if (level > had) {
		bool escalation = had != HUPMON__LEVEL_NONE;

		s->cause = (uint8_t)cause;
		s->path = (uint8_t)path;
		m->st.hangups[path][cause]++;
		if (escalation)
			m->st.escalations++;
		queue_event(m, idx, path, escalation, now, q);
	}
	/* Stall tracking ends with the connection, not at a FIN: after
	 * PEER_SHUTDOWN, or HANGUP short of CLOSE (LAST_ACK), data may still
	 * be queued (probe.c). */
	if (level >= HUPMON__LEVEL_FINAL || (s->flags & HUPMON__SLOT_CLOSED))
		hupmon__deliver_stall_close(m, idx);
}

/* Runs the queued callbacks, dropping m->lock around each; skips those whose
 * id was unwatched meanwhile. Empties q. Returns callbacks run. */
static int run_callbacks(struct hupmon *m, struct hupmon__outq *q)
{
	int ran = 0;

	for (unsigned i = 0; i < q->n && !m->free_pending; i++) {
		struct hupmon__out *o = &q->item[i];
		hupmon_id id = o->compare ? o->rec.id
			       : o->stall ? o->sev.id
					  : o->ev.id;
		uint64_t t0;

		/* Unwatched by an earlier callback of this batch: a compare
		 * outcome nobody will hear of was cut short, as if the
		 * unwatch had come first. (A hangup event is always first in
		 * its batch.) */
		if (!hupmon__registry_get(&m->reg, id)) {
			if (o->compare)
				hupmon__compare_uncount(m, &o->rec);
			continue;
		}
		m->inflight = id;
		m->inflight_thread = pthread_self();
		pthread_mutex_unlock(&m->lock);
		t0 = hupmon__now_ns();
		if (o->compare)
			m->cfg.on_compare(&o->rec, m->cfg.arg);
		else if (o->stall)
			m->cfg.on_stall(&o->sev, m->cfg.arg);
		else
			m->cfg.on_hangup(&o->ev, m->cfg.arg);
		t0 = hupmon__now_ns() - t0;
		pthread_mutex_lock(&m->lock);
		m->inflight = 0;
		m->st.callbacks++;
		hupmon__hist_add(&m->st.callback_duration, t0);
		if (m->waiters)
			pthread_cond_broadcast(&m->cb_done);
		ran++;
	}
	q->n = 0;
	return ran;
}

int hupmon__deliver_report(struct hupmon *m, uint32_t idx,
			   const struct hupmon__report *r)
{
	struct hupmon__outq q; /* only q.n needs a value: not 900 bytes */
	struct hupmon__slot *s = &m->reg.slots[idx];
	bool seen = false, identified = r->identified, pending;
	uint64_t now = 0;

	q.n = 0;
	if (r->cause != HUPMON_CAUSE_NONE) {
		/* Looked at by fd number: the fd may have been closed and
		 * its number reused. Before news goes out, make sure the fd
		 * still holds the socket watched (a socket in CLOSE_WAIT is
		 * probed every lap and costs one syscall, not two). */
		if (!identified && !(s->flags & HUPMON__SLOT_ORPHAN) &&
		    is_news(m, idx, r->path, r->cause)) {
			if (!hupmon__sock_confirm(m, s, r->path)) {
				hupmon__sock_orphan(m, idx);
				/* A probe looked at another socket: nothing
				 * seen. An epoll event is the watched
				 * socket's own: reported, with fd -1. */
				if (r->path == HUPMON_PATH_SWEEP)
					return 0;
			} else {
				identified = true;
			}
		}
		now = hupmon__clock(m);
		observe(m, idx, r->path, r->cause, now, r->laps, &q);
		seen = true;
	}
	/* A stall verdict is news by construction: confirm the identity
	 * first, as for a hangup (a probe looked by fd number). A hangup part
	 * that was news confirmed it already, so an orphan found here had
	 * nothing queued. */
	if (r->stall && !(s->flags & HUPMON__SLOT_ORPHAN)) {
		if (!identified && !hupmon__sock_confirm(m, s, r->path)) {
			hupmon__sock_orphan(m, idx);
			return 0;
		}
		now = now ? now : hupmon__clock(m);
		observe_stall(m, idx, r, now, &q);
	}
	/* Outcomes pending in compare mode may come due at any look. */
	pending = (s->flags & HUPMON__SLOT_CMP) != 0;
	if (pending)
		hupmon__compare_expire(m, idx, now ? now : hupmon__clock(m),
				       r->laps, &q);
	if (seen || pending)
		hupmon__sweep_update(m, idx);
	return q.n ? run_callbacks(m, &q) : 0;
}

int hupmon__deliver_expired(struct hupmon *m)
{
	struct hupmon__outq q; /* only q.n needs a value */
	uint64_t now;
	uint32_t idx;
	int ran = 0;

	if (!hupmon__compare_scan_begin(m, hupmon__sweep_laps(m)))
		return 0;
	now = hupmon__clock(m);
	q.n = 0;
	/* Callbacks may unwatch any socket (and end a lap): the scan steps
	 * over a slot that leaves the list, and each slot is judged by the
	 * laps completed when its turn comes. */
	while (!m->free_pending &&
	       (idx = hupmon__compare_scan_next(m)) != HUPMON__NO_SLOT) {
		hupmon__compare_expire(m, idx, now, hupmon__sweep_laps(m), &q);
		hupmon__sweep_update(m, idx);
		if (q.n)
			ran += run_callbacks(m, &q);
	}
	return ran;
}
