/* SPDX-License-Identifier: MIT */
/*
 * compare: compare mode's records, the pending list and the lap-counted
 * deadline. See compare.h.
 */
#include "compare.h"

#include <assert.h>
#include <string.h>

#include "outq.h"
#include "detect.h"
#include "state.h"
#include "stats.h"

static enum hupmon_cause level_cause(const struct hupmon__cmp *c, int level,
				     unsigned path)
{
	if (level == HUPMON__LEVEL_SHUTDOWN)
		return HUPMON_CAUSE_PEER_SHUTDOWN;
	if (level == HUPMON__LEVEL_HANGUP)
		return HUPMON_CAUSE_HANGUP;
	return (enum hupmon_cause)c->final[path - 1];
}

/* The path compared with first: compare mode compares the two. */
static unsigned second_of(unsigned first)
{
	return first == HUPMON_PATH_EPOLL ? HUPMON_PATH_SWEEP
					  : HUPMON_PATH_EPOLL;
}

static void compare_record(struct hupmon *m, uint32_t idx, int level,
			   uint64_t lag, bool missed, struct hupmon__outq *q)
{
	struct hupmon__slot *s = &m->reg.slots[idx];
	struct hupmon__cmp *c = &m->cmp.rec[idx];
	unsigned first = c->first[level - 1];
	unsigned other = second_of(first);
	enum hupmon_cause cause = level_cause(c, level, first);
	struct hupmon__out *o;

	c->resolved |= 1u << (level - 1);
	m->st.cmp_first[first][cause]++;
	if (missed) {
		m->st.cmp_missed[other][cause]++;
	} else {
		m->st.cmp_second[other][cause]++;
		hupmon__hist_add(&m->st.cmp_lag, lag);
	}
	if (!m->cfg.on_compare)
		return;
	o = hupmon__outq_push(q);
	memset(o, 0, sizeof(*o));
	o->compare = true;
	o->rec.id = hupmon__slot_id(&m->reg, idx);
	o->rec.fd = hupmon__slot_fd(s);
	o->rec.user = s->user;
	o->rec.cause = cause;
	o->rec.second_cause =
		missed ? HUPMON_CAUSE_NONE : level_cause(c, level, other);
	o->rec.first = (enum hupmon_path)first;
	o->rec.missed = missed;
	o->rec.first_ns = c->t[first - 1][level - 1];
	o->rec.lag_ns = missed ? 0 : lag;
}

/* The pending list: slots with compare outcomes still to record. */
void hupmon__compare_uncount(struct hupmon *m, const struct hupmon_compare *rec)
{
	unsigned first = rec->first;
	unsigned other = second_of(first);

	m->st.cmp_first[first][rec->cause]--;
	if (rec->missed) {
		m->st.cmp_missed[other][rec->cause]--;
	} else {
		m->st.cmp_second[other][rec->cause]--;
		hupmon__hist_remove(&m->st.cmp_lag, rec->lag_ns);
	}
	m->st.cmp_cut_short[first][rec->cause]++;
}

static void pending_add(struct hupmon__compare *cmp, uint32_t idx)
{
	struct hupmon__cmp *c = &cmp->rec[idx];

	if (c->pend_prev != HUPMON__CMP_OFF_LIST)
		return;
	c->pend_prev = HUPMON__NO_SLOT;
	c->pend_next = cmp->pend_head;
	if (cmp->pend_head != HUPMON__NO_SLOT)
		cmp->rec[cmp->pend_head].pend_prev = idx;
	cmp->pend_head = idx;
}

static void pending_remove(struct hupmon__compare *cmp, uint32_t idx)
{
	struct hupmon__cmp *c = &cmp->rec[idx];

	if (c->pend_prev == HUPMON__CMP_OFF_LIST)
		return;
	if (cmp->scan == idx) /* a scan is under way: step over it */
		cmp->scan = c->pend_next;
	if (c->pend_prev != HUPMON__NO_SLOT)
		cmp->rec[c->pend_prev].pend_next = c->pend_next;
	else
		cmp->pend_head = c->pend_next;
	if (c->pend_next != HUPMON__NO_SLOT)
		cmp->rec[c->pend_next].pend_prev = c->pend_prev;
	c->pend_prev = HUPMON__CMP_OFF_LIST;
}

static void compare_reset(struct hupmon__cmp *c)
{
	memset(c, 0, sizeof(*c));
	c->pend_prev = HUPMON__CMP_OFF_LIST;
}

/* Compare mode and the slot has outcomes pending. */
static bool pending(const struct hupmon *m, uint32_t idx)
{
	return m->cmp.rec && (m->reg.slots[idx].flags & HUPMON__SLOT_CMP);
}

void hupmon__compare_init(struct hupmon *m)
{
	m->cmp.deadline_ns = (uint64_t)m->cfg.compare_deadline_ms * 1000000u;
	m->cmp.pend_head = HUPMON__NO_SLOT;
	m->cmp.scan = HUPMON__NO_SLOT;
}

void hupmon__compare_fini(struct hupmon *m)
{
	hupmon__mem_realloc(&m->mem, m->cmp.rec,
			    (size_t)m->cmp.cap * sizeof(*m->cmp.rec), 0);
	m->cmp.rec = NULL;
	m->cmp.cap = m->cmp.ready = 0;
}

int hupmon__compare_reserve(struct hupmon *m)
{
	struct hupmon__compare *cmp = &m->cmp;
	int err;

	if (!m->cfg.compare)
		return 0;
	err = hupmon__mem_grow(&m->mem, (void **)&cmp->rec, &cmp->cap,
			       m->reg.cap, sizeof(*cmp->rec), 16);
	if (err)
		return err;
	/* Records are set up as the registry hands their slots out (every
	 * slot below reg.used and the next one): a record or two per watch,
	 * never a whole grown array at once. */
	while (cmp->ready <= m->reg.used && cmp->ready < cmp->cap)
		compare_reset(&cmp->rec[cmp->ready++]);
	return 0;
}

void hupmon__compare_watch(struct hupmon *m, uint32_t idx)
{
	if (m->cmp.rec)
		compare_reset(&m->cmp.rec[idx]);
}

bool hupmon__compare_unseen(const struct hupmon *m, uint32_t idx,
			    enum hupmon_path path, int level)
{
	return pending(m, idx) && !m->cmp.rec[idx].t[path - 1][level - 1];
}

void hupmon__compare_observe(struct hupmon *m, uint32_t idx,
			     enum hupmon_path path, enum hupmon_cause cause,
			     int level, uint64_t now, uint64_t laps,
			     bool reported)
{
	struct hupmon__cmp *c;

	if (!m->cmp.rec)
		return;
	c = &m->cmp.rec[idx];
	for (int l = 1; l <= level; l++)
		if (!c->t[path - 1][l - 1])
			c->t[path - 1][l - 1] = now;
	if (level == HUPMON__LEVEL_FINAL && !c->final[path - 1])
		c->final[path - 1] = (uint8_t)cause;
	if (!reported)
		return;
	c->reported |= 1u << (level - 1);
	c->first[level - 1] = (uint8_t)path;
	c->lap[level - 1] = (uint16_t)laps;
	m->reg.slots[idx].flags |= HUPMON__SLOT_CMP;
	pending_add(&m->cmp, idx);
}

/* Has the second path had its chance at level l, seen first at t1? By
 * default: once the sweep completed two full laps after the lap under way
 * when it was reported (3 completions), however long laps take (churn,
 * overload); with compare_deadline_ms set: once that much time passed. */
static bool compare_due(const struct hupmon__compare *cmp,
			const struct hupmon__cmp *c, int l, uint64_t t1,
			uint64_t now, uint64_t laps)
{
	if (cmp->deadline_ns)
		return now - t1 > cmp->deadline_ns;
	return (uint16_t)((uint16_t)laps - c->lap[l - 1]) >= 3;
}

void hupmon__compare_expire(struct hupmon *m, uint32_t idx, uint64_t now,
			    uint64_t laps, struct hupmon__outq *q)
{
	struct hupmon__slot *s = &m->reg.slots[idx];
	struct hupmon__cmp *c = &m->cmp.rec[idx];
	uint64_t deadline_ns = m->cmp.deadline_ns;

	for (int l = 1; l <= HUPMON__LEVEL_FINAL; l++) {
		unsigned bit = 1u << (l - 1);
		unsigned first, other;
		uint64_t t1, t2;

		if (!(c->reported & bit) || (c->resolved & bit))
			continue;
		first = c->first[l - 1];
		other = second_of(first);
		t1 = c->t[first - 1][l - 1];
		t2 = c->t[other - 1][l - 1];
		if (t2) {
			uint64_t lag = t2 > t1 ? t2 - t1 : 0;
			bool late = deadline_ns && lag > deadline_ns;

			compare_record(m, idx, l, lag, late, q);
		} else if (compare_due(&m->cmp, c, l, t1, now, laps)) {
			compare_record(m, idx, l, 0, true, q);
		}
	}
	if (c->resolved == c->reported) {
		s->flags &= (uint8_t)~HUPMON__SLOT_CMP;
		pending_remove(&m->cmp, idx);
	}
}

void hupmon__compare_orphan(struct hupmon *m, uint32_t idx)
{
	if (m->cmp.rec)
		pending_remove(&m->cmp, idx);
}

void hupmon__compare_cut_short(struct hupmon *m, uint32_t idx)
{
	struct hupmon__cmp *c;

	if (!pending(m, idx))
		return;
	c = &m->cmp.rec[idx];
	for (int l = 1; l <= HUPMON__LEVEL_FINAL; l++) {
		unsigned bit = 1u << (l - 1);
		unsigned first = c->first[l - 1];

		if ((c->reported & bit) && !(c->resolved & bit))
			m->st.cmp_cut_short[first][level_cause(c, l, first)]++;
	}
	pending_remove(&m->cmp, idx);
}

bool hupmon__compare_scan_begin(struct hupmon *m, uint64_t laps)
{
	struct hupmon__compare *cmp = &m->cmp;

	if (!cmp->rec || cmp->scan_laps == laps)
		return false;
	cmp->scan_laps = laps;
	cmp->scan = cmp->pend_head;
	return true;
}

uint32_t hupmon__compare_scan_next(struct hupmon *m)
{
	struct hupmon__compare *cmp = &m->cmp;
	uint32_t idx = cmp->scan;

	if (idx != HUPMON__NO_SLOT)
		cmp->scan = cmp->rec[idx].pend_next;
	return idx;
}
