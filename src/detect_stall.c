/* SPDX-License-Identifier: MIT */
/*
 * detect_stall: the stall classifier (see detect_stall.h for the kernel
 * facts it encodes). Pure: no syscalls, no clock of its own.
 */
#include "detect_stall.h"

enum phase {
	PH_FRESH = 0,	/* no sample yet */
	PH_IDLE,	/* nothing outstanding, or progress at the last one */
	PH_STREAK,	/* outstanding, no progress since `since` */
	PH_ZERO_WINDOW, /* episode open: window shut */
	PH_NO_ACK,	/* episode open: nothing acknowledged */
};

#define CLOCK_MASK 0xffffffu
#define PHASE_MASK 0x7fu
#define UNSENT_BIT (1u << 31) /* PH_STREAK: data never left, so far */

static enum phase phase_of(const struct hupmon__stall *st)
{
	return (enum phase)((st->since >> 24) & PHASE_MASK);
}

static void set(struct hupmon__stall *st, enum phase ph, uint64_t now_ms)
{
	st->since = (uint32_t)ph << 24 | ((uint32_t)now_ms & CLOCK_MASK);
}

/* The shape of data that never left: window open, nothing in flight, data
 * queued. Alone it means nothing (cork, a small window, pacing show it);
 * for a whole streak, with the probe timer failing, it is a stall. */
static bool unsent(const struct hupmon__tcp_info *ti)
{
	return ti->snd_wnd > 0 && ti->unacked == 0 && ti->notsent_bytes > 0;
}

/* No episode from here on: idle, or a streak that begins with sample ti. */
static void calm(struct hupmon__stall *st, const struct hupmon__tcp_info *ti,
		 uint64_t now_ms)
{
	bool outstanding = ti->unacked > 0 || ti->notsent_bytes > 0;

	set(st, outstanding ? PH_STREAK : PH_IDLE, now_ms);
	if (outstanding && unsent(ti))
		st->since |= UNSENT_BIT;
}

static uint32_t elapsed_ms(const struct hupmon__stall *st, uint64_t now_ms)
{
	return ((uint32_t)now_ms - st->since) & CLOCK_MASK;
}

/* bytes_acked (bytes) and delivered (segments, SACKed ones included)
 * folded into 32 bits: any change of either is progress. */
static uint32_t fingerprint(const struct hupmon__tcp_info *ti)
{
	uint64_t acked = ti->bytes_acked;

	return (uint32_t)acked ^ (uint32_t)(acked >> 32) ^
	       ti->delivered * 0x9e3779b1u;
}

/* The peer stopped answering window probes: three unanswered, or no ACK
 * for twice the interval the kernel probes at now (rto << backoff, which
 * it caps at 120 s). A live peer may show 2 for one round trip. */
static bool probes_unanswered(const struct hupmon__tcp_info *ti)
{
	uint64_t interval_ms = (uint64_t)ti->rto_us / 1000u;

	if (ti->probes >= 3)
		return true;
	interval_ms = ti->backoff >= 20 ? 120000u : interval_ms << ti->backoff;
	if (interval_ms > 120000u)
		interval_ms = 120000u;
	return ti->last_ack_recv_ms > 2 * interval_ms;
}

bool hupmon__stall_open(const struct hupmon__stall *st)
{
	enum phase ph = phase_of(st);

	return ph == PH_ZERO_WINDOW || ph == PH_NO_ACK;
}

enum hupmon__stall_verdict hupmon__stall_episode(const struct hupmon__stall *st)
{
	switch (phase_of(st)) {
	case PH_ZERO_WINDOW:
		return HUPMON__STALL_ZERO_WINDOW;
	case PH_NO_ACK:
		return HUPMON__STALL_NO_ACK;
	default:
		return HUPMON__STALL_NONE;
	}
}

enum hupmon__stall_verdict
hupmon__stall_step(struct hupmon__stall *st, const struct hupmon__tcp_info *ti,
		   uint64_t now_ms, uint32_t stall_ms, bool *escalation)
{
	uint32_t fp = fingerprint(ti);
	bool moved = fp != st->progress;
	bool outstanding = ti->unacked > 0 || ti->notsent_bytes > 0;
	enum phase ph = phase_of(st);

	*escalation = false;
	st->progress = fp;
	if (ph == PH_FRESH) {
		calm(st, ti, now_ms);
		return HUPMON__STALL_NONE;
	}
	if (ph == PH_ZERO_WINDOW || ph == PH_NO_ACK) {
		if (moved) {
			/* The episode ends; a new one needs a full stall_ms
			 * from here (hysteresis: no flapping faster). */
			calm(st, ti, now_ms);
			return HUPMON__STALL_RECOVERED;
		}
		if (ph == PH_ZERO_WINDOW && probes_unanswered(ti)) {
			set(st, PH_NO_ACK, now_ms);
			*escalation = true;
			return HUPMON__STALL_NO_ACK;
		}
		return HUPMON__STALL_NONE;
	}
	if (moved || !outstanding || ph == PH_IDLE) {
		calm(st, ti, now_ms);
		return HUPMON__STALL_NONE;
	}
	/* A streak: outstanding at every sample, no progress since. */
	if (!unsent(ti))
		st->since &= ~UNSENT_BIT;
	if (elapsed_ms(st, now_ms) < stall_ms)
		return HUPMON__STALL_NONE;
	if (ti->snd_wnd == 0) {
		/* Whatever unacked is: a peer that shrinks its window under
		 * memory pressure acks with window 0 while retransmissions
		 * are out. */
		set(st, PH_ZERO_WINDOW, now_ms);
		return HUPMON__STALL_ZERO_WINDOW;
	}
	if (ti->unacked > 0 && ti->last_ack_recv_ms >= stall_ms) {
		set(st, PH_NO_ACK, now_ms);
		return HUPMON__STALL_NO_ACK;
	}
	/* Nothing ever left during the streak, and the kernel's probe timer
	 * failed to send it three times (an ACK would have reset the count:
	 * a live peer never lets it get there with the window open). */
	if ((st->since & UNSENT_BIT) && ti->probes >= 3) {
		set(st, PH_NO_ACK, now_ms);
		return HUPMON__STALL_NO_ACK;
	}
	return HUPMON__STALL_NONE;
}
