/* SPDX-License-Identifier: MIT */
/*
 * check_model: model-based random testing. Seeded random sequences of
 * watch, unwatch, peer FIN / RST / half-close / data-then-FIN, the user
 * closing a watched fd and reusing its number, and dispatch, checked after
 * every dispatch against a simple model of what must have been reported:
 * for each watch, the list of causes so far, in order, nothing else.
 *
 * The seed is printed; set HUPMON_TEST_SEED to replay one. Steps per seed:
 * 10 000 (2 000 with HUPMON_TEST_SCALE=small).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
#include "hupmon.h"

#define POOL	   24
#define MAX_CAUSES 4

enum peer { P_OPEN, P_HALF, P_GONE }; /* client end state */

struct conn {
	int srv, cli;
	enum peer peer;
	bool fin_seen; /* the server end has received a FIN */
	bool reset;    /* the connection is reset */
	int inst;      /* watch instance, -1: not watched */
};

struct inst {
	hupmon_id id;
	int fd;
	bool live;	/* watched (not unwatched, not abandoned) */
	bool abandoned; /* fd closed by the user while watched */
	bool retired;	/* a later watch on its fd number retired it */
	int nexp, ngot;
	enum hupmon_cause exp[MAX_CAUSES];
	/* An expected cause not yet delivered when a higher one happened may
	 * be skipped: edge-triggered epoll reports the socket's state when
	 * it is dispatched, so a FIN and an RST both queued arrive as one
	 * event (RESET), and a sweep probe sees only the latest state. */
	bool optional[MAX_CAUSES];
	enum hupmon_cause got[MAX_CAUSES];
	bool overflow;
};

struct model {
	hupmon *m;
	struct conn c[POOL];
	struct inst *in;
	int ninst, cap;
	uint64_t rng;
	uint64_t seed;
	unsigned steps, reports;
};

static void on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct model *md = arg;
	struct inst *in = &md->in[(intptr_t)ev->user];

	ck_assert_msg(in->id == ev->id,
		      "seed %llu: event for id %llx "
		      "delivered with another watch's user pointer",
		      (unsigned long long)md->seed, (unsigned long long)ev->id);
	if (in->ngot < MAX_CAUSES)
		in->got[in->ngot] = ev->cause;
	else
		in->overflow = true;
	in->ngot++;
	md->reports++;
}

static void expect(struct model *md, struct conn *c, enum hupmon_cause cause)
{
	struct inst *in;

	if (c->inst < 0)
		return;
	in = &md->in[c->inst];
	/* Once per level, never lower: a FIN after a reported FIN adds
	 * nothing; a reset after a FIN is an escalation. */
	for (int i = 0; i < in->nexp; i++)
		if (in->exp[i] >= cause)
			return;
	ck_assert_int_lt(in->nexp, MAX_CAUSES);
	for (int i = in->ngot; i < in->nexp; i++)
		in->optional[i] = true;
	in->exp[in->nexp++] = cause;
}

static void new_conn(struct conn *c)
{
	ck_assert_int_eq(fx_pair(AF_INET, &c->srv, &c->cli), 0);
	c->peer = P_OPEN;
	c->fin_seen = c->reset = false;
	c->inst = -1;
}

static void op_watch(struct model *md, struct conn *c)
{
	struct inst *in;
	int rc;

	if (c->inst >= 0) {
		ck_assert_int_eq(hupmon_watch(md->m, c->srv, NULL, NULL),
				 -EEXIST);
		return;
	}
	if (md->ninst == md->cap) {
		md->cap = md->cap ? md->cap * 2 : 256;
		md->in = realloc(md->in, (size_t)md->cap * sizeof(*md->in));
		ck_assert_ptr_nonnull(md->in);
	}
	in = &md->in[md->ninst];
	memset(in, 0, sizeof(*in));
	/* A watch on an fd number an abandoned watch still holds retires
	 * that watch. */
	for (int i = 0; i < md->ninst; i++)
		if (md->in[i].abandoned && !md->in[i].retired &&
		    md->in[i].fd == c->srv)
			md->in[i].retired = true;
	rc = hupmon_watch(md->m, c->srv, (void *)(intptr_t)md->ninst, &in->id);
	ck_assert_int_eq(rc, 0);
	in->fd = c->srv;
	in->live = true;
	c->inst = md->ninst++;
	/* Already gone: reported on the next dispatch. */
	if (c->reset)
		expect(md, c, HUPMON_CAUSE_RESET);
	else if (c->fin_seen)
		expect(md, c, HUPMON_CAUSE_PEER_SHUTDOWN);
}

static void op_unwatch(struct model *md, struct conn *c)
{
	struct inst *in;

	if (c->inst < 0)
		return;
	in = &md->in[c->inst];
	ck_assert_int_eq(hupmon_unwatch(md->m, in->id), 0);
	ck_assert_int_eq(hupmon_unwatch(md->m, in->id), -ENOENT);
	in->live = false;
	/* Reports not delivered before the unwatch never will be. */
	for (int i = in->ngot; i < in->nexp; i++)
		in->optional[i] = true;
	c->inst = -1;
	/* Recycle a finished connection. */
	if (c->peer == P_GONE) {
		close(c->srv);
		new_conn(c);
	}
}

static void op_peer(struct model *md, struct conn *c, unsigned what)
{
	if (c->peer == P_GONE)
		return;
	if (what == 0 && c->peer == P_OPEN) { /* FIN */
		fx_close_fin(c->cli);
		c->peer = P_GONE;
		c->fin_seen = true;
		expect(md, c, HUPMON_CAUSE_PEER_SHUTDOWN);
	} else if (what == 1 && c->peer == P_OPEN) { /* half-close */
		fx_half_close(c->cli);
		c->peer = P_HALF;
		c->fin_seen = true;
		expect(md, c, HUPMON_CAUSE_PEER_SHUTDOWN);
	} else if (what == 2 && c->peer == P_OPEN) { /* data, then FIN */
		fx_data_then_fin(c->cli);
		c->peer = P_GONE;
		c->fin_seen = true;
		expect(md, c, HUPMON_CAUSE_PEER_SHUTDOWN);
	} else { /* RST, possibly after a half-close (then EPIPE) */
		fx_close_rst(c->cli);
		c->peer = P_GONE;
		c->reset = true;
		expect(md, c, HUPMON_CAUSE_RESET);
	}
	if (c->peer == P_GONE)
		c->cli = -1;
}

/* The user closes a watched fd without unwatching (a bug hupmon must
 * survive) and a new connection takes its place, probably its number. */
static void op_close_reuse(struct model *md, struct conn *c)
{
	if (c->inst < 0)
		return;
	md->in[c->inst].abandoned = true;
	md->in[c->inst].live = false;
	close(c->srv);
	if (c->cli >= 0)
		close(c->cli);
	new_conn(c);
}

/* 1: got is exp with some optional entries left out; 0: got is a prefix
 * of that (more to come); -1: got can never match. */
static int match(const struct inst *in)
{
	int i = 0, j = 0;

	while (j < in->ngot && j < MAX_CAUSES) {
		if (i == in->nexp)
			return -1;
		if (in->got[j] == in->exp[i]) {
			i++;
			j++;
		} else if (in->optional[i]) {
			i++;
		} else {
			return -1;
		}
	}
	while (i < in->nexp && in->optional[i])
		i++;
	return i == in->nexp ? 1 : 0;
}

static bool all_expected_seen(hupmon *m, struct fx_rec *rec, void *arg)
{
	struct model *md = arg;

	(void)m;
	(void)rec;
	for (int i = 0; i < md->ninst; i++)
		if (md->in[i].live && match(&md->in[i]) == 0)
			return false;
	return true;
}

static void check_reports(struct model *md)
{
	for (int i = 0; i < md->ninst; i++) {
		struct inst *in = &md->in[i];

		ck_assert_msg(!in->overflow,
			      "seed %llu step %u: watch %d "
			      "reported more than %d times",
			      (unsigned long long)md->seed, md->steps, i,
			      MAX_CAUSES);
		/* An abandoned watch may have had reports to come when its
		 * fd was closed: those may be lost, never added to. */
		ck_assert_msg(
			match(in) == 1 || (in->abandoned && match(in) == 0),
			"seed %llu step %u: watch %d got %d reports "
			"(first %s), model says %d (first %s)",
			(unsigned long long)md->seed, md->steps, i, in->ngot,
			hupmon_cause_name(in->ngot ? in->got[0] : 0), in->nexp,
			hupmon_cause_name(in->nexp ? in->exp[0] : 0));
	}
}

static void op_dispatch(struct model *md)
{
	ck_assert_int_ge(hupmon_dispatch(md->m, 0), 0);
	if (!fx_dispatch_until(md->m, NULL, all_expected_seen, md, 2000)) {
		for (int i = 0; i < md->ninst; i++) {
			struct inst *in = &md->in[i];

			if (in->live && match(in) == 0)
				ck_abort_msg("seed %llu step %u: watch %d "
					     "(fd %d) got %d reports, model "
					     "says %d (last %s)",
					     (unsigned long long)md->seed,
					     md->steps, i, in->fd, in->ngot,
					     in->nexp,
					     hupmon_cause_name(
						     in->exp[in->nexp - 1]));
		}
	}
	check_reports(md);
}

static void run_model(unsigned paths, uint64_t seed)
{
	struct model md;
	struct hupmon_config cfg = {.on_hangup = on_hangup,
				    .paths = paths,
				    .sweep_period_ms = 20,
				    .sweep_tick_ms = 1};
	unsigned nsteps = (unsigned)fx_scaled(10000);

	memset(&md, 0, sizeof(md));
	md.seed = md.rng = seed;
	cfg.arg = &md;
	ck_assert_int_eq(hupmon_new(&cfg, &md.m), 0);
	for (int i = 0; i < POOL; i++)
		new_conn(&md.c[i]);
	for (md.steps = 0; md.steps < nsteps; md.steps++) {
		uint64_t r = fx_rand(&md.rng);
		struct conn *c = &md.c[(r >> 8) % POOL];

		if (getenv("HUPMON_MODEL_TRACE"))
			printf("step %u conn %ld op %u/%u fd %d peer %d inst "
			       "%d\n",
			       md.steps, (long)(c - md.c), (unsigned)(r % 16),
			       (unsigned)(r >> 20) % 4, c->srv, c->peer,
			       c->inst);
		switch (r % 16) {
		case 0:
		case 1:
		case 2:
		case 3:
			op_watch(&md, c);
			break;
		case 4:
		case 5:
			op_unwatch(&md, c);
			break;
		case 6:
		case 7:
		case 8:
		case 9:
			op_peer(&md, c, (unsigned)(r >> 20) % 4);
			break;
		case 10:
			op_close_reuse(&md, c);
			break;
		default:
			op_dispatch(&md);
			break;
		}
		/* A finished, unwatched connection is recycled. */
		if (c->inst < 0 && c->peer == P_GONE) {
			close(c->srv);
			new_conn(c);
		}
	}
	op_dispatch(&md);
	/* Quiescent: nothing more may arrive. */
	fx_dispatch_for(md.m, 100);
	check_reports(&md);
	/* Abandoned watches: unwatch is 0 unless a watch on their fd
	 * number retired them. */
	for (int i = 0; i < md.ninst; i++) {
		struct inst *in = &md.in[i];

		if (in->abandoned)
			ck_assert_int_eq(hupmon_unwatch(md.m, in->id),
					 in->retired ? -ENOENT : 0);
		else if (in->live)
			ck_assert_int_eq(hupmon_unwatch(md.m, in->id), 0);
	}
	printf("model: seed %llu paths %u: %u steps, %d watches, %u reports, "
	       "all as modelled\n",
	       (unsigned long long)seed, paths, md.steps, md.ninst, md.reports);
	for (int i = 0; i < POOL; i++) {
		close(md.c[i].srv);
		if (md.c[i].cli >= 0)
			close(md.c[i].cli);
	}
	hupmon_free(md.m);
	free(md.in);
}

START_TEST(test_model_epoll)
{
	uint64_t seed = fx_seed("model epoll");

	for (int k = 0; k < 3; k++)
		run_model(HUPMON_PATH_EPOLL, seed + (uint64_t)k);
}
END_TEST

START_TEST(test_model_both_paths)
{
	uint64_t seed = fx_seed("model both");

	run_model(HUPMON_PATHS_BOTH, seed);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("model");

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_model_epoll);
	tcase_add_test(tc, test_model_both_paths);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
