/* SPDX-License-Identifier: MIT */
/*
 * deliver: what the two paths see becomes reports. Each path hands every
 * observation of a socket to hupmon__deliver_report(), the one entry both
 * paths share: it keeps the cause order (each level reported at most once,
 * never lower after higher, an escalation counted), lets compare mode
 * record who saw what first, takes the socket off the sweep once probing
 * it can tell nothing more, and runs the callbacks with m->lock dropped.
 *
 * Reports are queued under the lock and delivered after it is dropped; a
 * report whose id was unwatched by an earlier callback of the same batch
 * is dropped.
 */
#ifndef HUPMON_DELIVER_H
#define HUPMON_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "hupmon.h"
#include "outq.h"

struct hupmon;

/* One observation of one watched socket, by one path. */
struct hupmon__report {
	enum hupmon_path path;
	/* How the connection ended; HUPMON_CAUSE_NONE: it has not, as far as
	 * this look could tell (a probe found it alive). */
	enum hupmon_cause cause;
	/* A stall verdict of the TCP_INFO sweep (0: none): what was seen,
	 * the episode's reason (for RECOVERED, the reason of the episode that
	 * ended), escalation. Not a hangup: the cause order and compare mode
	 * ignore it. */
	enum hupmon_stall_kind stall;
	enum hupmon_stall_reason reason;
	bool escalation;
	/* The fd is known to hold the watched socket: an epoll event comes
	 * from the socket's own registration; a probe that read an error
	 * checked SO_COOKIE first. Otherwise a report that is news is only
	 * delivered once SO_COOKIE shows the fd still holds the socket. */
	bool identified;
	/* Sweep laps completed when the path looked (hupmon__sweep_laps):
	 * compare mode counts its deadline in laps. */
	uint64_t laps;
};

/* Takes one observation of the live slot idx: updates the slot and the
 * counters, records compare outcomes, takes the slot off the sweep if
 * nothing more can be learned by probing it, and runs the callbacks that
 * follow (m->lock dropped around each). Returns the callbacks run. Under
 * m->lock, on the dispatching thread. */
int hupmon__deliver_report(struct hupmon *m, uint32_t idx,
			   const struct hupmon__report *r);

/* The connection of slot idx is over (a final cause, or a probe saw
 * CLOSE): an open stall episode ends without RECOVERED (counted in
 * stall_closed) and the stall state is cleared. PEER_SHUTDOWN and HANGUP
 * short of CLOSE end nothing: data may still be queued behind them. Under
 * m->lock. */
void hupmon__deliver_stall_close(struct hupmon *m, uint32_t idx);

/* Compare mode: once per completed sweep lap, records the outcomes of every
 * socket whose deadline passed, probed or not, and delivers them (drops
 * m->lock around callbacks). Returns callbacks run. Under m->lock, on the
 * dispatching thread. */
int hupmon__deliver_expired(struct hupmon *m);

#endif
