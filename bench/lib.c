/* SPDX-License-Identifier: MIT */
/*
 * lib: what a path does on a hupmon monitor (lib_ops), as raw.c holds what
 * the floors do (raw_ops). The monitor's config comes from the path
 * (bench.h, struct bpath) and the options; its reports are recorded on the
 * conn they name (bench_record), and compare records are added to the run's
 * cell.
 */
#include "bench.h"

#include <errno.h>

/* The conn behind a report, or NULL if user is not one of this run's. */
static struct conn *conn_of(struct run *r, void *user)
{
	struct conn *c = user;

	if (c < r->c || c >= r->c + r->n) {
		r->stray++;
		return NULL;
	}
	return c;
}

static void on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct run *r = arg;
	struct conn *c = conn_of(r, ev->user);

	if (!c)
		return;
	if (ev->id != c->id || ev->fd != c->sfd) {
		c->misattr++;
		return;
	}
	if (!atomic_load(&c->seen))
		c->by = ev->path;
	c->error = ev->error;
	/* a timeout is the kernel giving up: ETIMEDOUT, nothing else */
	if (ev->cause == HUPMON_CAUSE_TIMEOUT && ev->error != ETIMEDOUT)
		c->order_bad = true;
	bench_record(c, ev->cause, ev->detected_ns);
}

static void on_compare(const struct hupmon_compare *rec, void *arg)
{
	struct run *r = arg;
	struct conn *c = conn_of(r, rec->user);
	enum hupmon_cause k = rec->cause;

	if (!c || k < HUPMON_CAUSE_PEER_SHUTDOWN || k > HUPMON_CAUSE_MAX ||
	    (rec->first != HUPMON_PATH_EPOLL &&
	     rec->first != HUPMON_PATH_SWEEP))
		return;
	if (rec->missed) {
		r->cell->cmp_missed++;
	} else {
		vec_push(&r->cell->cmp_lag, rec->lag_ns);
		if (rec->second_cause != k)
			r->cell->cmp_disagree++;
	}
	if (rec->first == HUPMON_PATH_EPOLL) {
		r->cell->cmp_epoll++;
		c->t_epoll[k] = rec->first_ns;
	} else {
		r->cell->cmp_sweep++;
		if (!rec->missed)
			c->t_epoll[k] = rec->first_ns + rec->lag_ns;
	}
	atomic_fetch_or(&c->seen, SEEN_CMP);
}

static int lib_open(struct run *r)
{
	struct hupmon_config cfg = {
		.on_hangup = on_hangup,
		.arg = r,
		.paths = r->p->paths,
		.sweep_method = r->p->method,
		.sweep_period_ms = r->o->period_ms,
		.sweep_tick_ms = r->o->tick_ms,
		.compare = r->p->compare,
		.on_compare = r->p->compare ? on_compare : NULL,
		.unwatch_before_close = r->p->promise,
	};

	return hupmon_new(&cfg, &r->m);
}

static int lib_watch(struct run *r, struct conn *c)
{
	return hupmon_watch(r->m, c->sfd, c, &c->id);
}

static int lib_unwatch(struct run *r, struct conn *c)
{
	return c->id ? hupmon_unwatch(r->m, c->id) : 0;
}

static void lib_loop(struct run *r)
{
	while (!atomic_load(&r->stop)) {
		int rc = hupmon_dispatch(r->m, -1);

		/* the wakeup that brings the stop request is not counted */
		if (rc > 0 && !atomic_load(&r->stop))
			r->wakeups++;
		else if (rc < 0) {
			r->loop_err = rc;
			break;
		}
	}
}

static void lib_stop(struct run *r)
{
	hupmon_stop(r->m);
}

static bool lib_counters(struct run *r, struct hupmon_stats *st)
{
	hupmon_stats(r->m, st);
	return true;
}

static void lib_close(struct run *r)
{
	hupmon_free(r->m);
	r->m = NULL;
}

const struct path_ops lib_ops = {
	.open = lib_open,
	.watch = lib_watch,
	.unwatch = lib_unwatch,
	.loop = lib_loop,
	.stop = lib_stop,
	.counters = lib_counters,
	.close = lib_close,
};
