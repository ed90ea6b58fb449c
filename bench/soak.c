/* SPDX-License-Identifier: MIT */
/*
 * soak: N connections (default 9 900) under continuous churn for --soak-s
 * seconds, on one monitor in compare mode (both paths, TCP_INFO sweep).
 * The client ends live in the child process of the scale scenario, so the
 * parent holds N server ends and the child N client ends.
 *
 * Three threads: one dispatches; two (workers) watch and unwatch, each
 * walking its half of the connections in order, one act every 2 x pace on
 * average. An act ends a connection in one of the modes of soak_modes[],
 * chosen at random: every closure, RST after FIN (the worker writes once
 * when the FIN is reported), a FIN unwatched at its first report (its
 * compare outcome is then cut short), or an unwatch while alive. When all
 * it must get has come (its reports and, but for "cut", their compare
 * records), or 3 s + 5 periods have passed, the worker unwatches it, closes
 * both ends and opens a new connection in its place, which it watches. A
 * churn cycle is N replacements (each connection replaced once); at the end
 * of each, memory_bytes, the watched count and the process RSS are sampled.
 * At the end every connection is unwatched and the final counters must add
 * up (the identities of soak_analyse).
 */
#include "soak.h"
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PERIOD_MS    100 /* the sweep, unless --period-ms / --tick-ms */
#define TICK_MS	     10
#define POLL_NS	     (200 * 1000ull)	   /* a worker's nap between passes */
#define REC(level)   (1u << (8 + (level))) /* in conn.seen: a record came */
#define LEVELS	     3			   /* PEER_SHUTDOWN, HANGUP, final */
#define CAUSE_BIT(k) (1u << (k))

#define PS HUPMON_CAUSE_PEER_SHUTDOWN

const struct soak_mode_def soak_modes[SM_COUNT] = {
	[SM_FIN] = {"fin", "close()", HOW_FIN, {PS}},
	[SM_RST] = {"rst",
		    "SO_LINGER {1,0} + close() (RST)",
		    HOW_RST,
		    {HUPMON_CAUSE_RESET},
		    ECONNRESET},
	[SM_HALF] = {"half", "shutdown(SHUT_WR)", HOW_HALF, {PS}},
	[SM_DATAFIN] = {"datafin",
			"send 16 B never read, then close()",
			HOW_DATAFIN,
			{PS}},
	[SM_ESCALATE] = {"escalate",
			 "close(); server sends 1 B; client answers RST",
			 HOW_FIN,
			 {PS, HUPMON_CAUSE_RESET},
			 EPIPE},
	[SM_CUT] = {"cut",
		    "close(); unwatched at the first report",
		    HOW_FIN,
		    {PS}},
	[SM_LIVE] = {"live", "nothing: unwatched alive (and all at the end)",
		     HOW_DROP},
};

enum { ST_IDLE, ST_BUSY, ST_CLOSED }; /* watched; acted; both ends closed */

struct soak_conn {
	/* sfd, port, id, t_act, seen (cause bits, REC bits), and what
	 * bench_record keeps: nrep, t_cb, t_det, order_bad; misattr */
	struct conn c;
	uint8_t mode, state;
	bool wrote;	   /* escalate: the server's write is done */
	uint64_t deadline; /* retired then, whatever came */
	/* compare records by level, written by the dispatching thread */
	uint32_t rec[LEVELS + 1], rec_missed, rec_disagree;
};

struct soak {
	const struct bopts *o;
	struct soak_res *res;
	struct run r; /* the dispatching thread; r.m is the monitor */
	struct child *child;
	int lfd;
	uint16_t port;
	struct soak_conn *conn;
	size_t n;
	pthread_mutex_t open_lock; /* conns_open: connect, then accept */
	_Atomic uint64_t replaced;
	uint64_t t0, t_end, wait_ns;
	/* the dispatching thread's, read once it is joined */
	unsigned long long cb_hangup, cb_compare, stray;
};

struct worker {
	struct soak *s;
	unsigned w;	  /* its connections: w, w + 2, w + 4, ... */
	size_t own, next; /* how many; the next to act on */
	size_t *busy, nbusy, cap;
	size_t *closed, nclosed;
	struct conn *tmp; /* conns_open's */
	uint64_t rng, next_act;
	pthread_t thr;
	/* merged into the result once joined */
	struct soak_tally t[SM_COUNT];
	unsigned long long watches, unwatches, errors, unresolved;
};

static int level_of(enum hupmon_cause k)
{
	return k >= HUPMON_CAUSE_RESET ? LEVELS : (int)k;
}

static struct soak_conn *conn_of(struct soak *s, void *user)
{
	struct soak_conn *c = user;

	if (c < s->conn || c >= s->conn + s->n) {
		s->stray++;
		return NULL;
	}
	return c;
}

static void on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct soak *s = arg;
	struct soak_conn *c;

	s->cb_hangup++;
	c = conn_of(s, ev->user);
	if (!c)
		return;
	if (ev->id != c->c.id || ev->fd != c->c.sfd)
		c->c.misattr++;
	else {
		c->c.error = ev->error;
		bench_record(&c->c, ev->cause, ev->detected_ns);
	}
}

static void on_compare(const struct hupmon_compare *rec, void *arg)
{
	struct soak *s = arg;
	struct soak_conn *c;
	int l = level_of(rec->cause);

	s->cb_compare++;
	c = conn_of(s, rec->user);
	if (!c)
		return;
	if (rec->id != c->c.id || rec->fd != c->c.sfd || l < 1) {
		c->c.misattr++;
		return;
	}
	c->rec[l]++;
	if (rec->missed)
		c->rec_missed++;
	else if (rec->second_cause != rec->cause)
		c->rec_disagree++;
	atomic_fetch_or(&c->c.seen, REC(l));
}

static uint64_t rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long long size = 0, res = 0;

	if (f) {
		if (fscanf(f, "%llu %llu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}

/* The end of cycle k: what the monitor holds now. */
static void sample(struct soak *s, uint64_t k)
{
	struct hupmon_stats st;
	struct soak_cycle *c = &s->res->cyc[k];

	if (k > SOAK_MAX_CYCLES)
		return;
	hupmon_stats(s->r.m, &st);
	c->t_s = (double)(now_ns() - s->t0) / 1e9;
	c->memory_bytes = st.memory_bytes;
	c->watched = st.watched;
	c->rss_kib = rss_kib();
	if (k)
		fprintf(stderr, "hupmon-bench: soak cycle %llu done (%.1f s)\n",
			(unsigned long long)k, c->t_s);
}

/* New connections in the k (closed) places idx[], each watched; those
 * that were replacements count towards the cycles. How many opened. */
static size_t open_into(struct soak *s, struct worker *wk, const size_t *idx,
			size_t k, bool replace)
{
	size_t got;
	int err;

	pthread_mutex_lock(&s->open_lock);
	got = conns_open(s->lfd, s->port, s->child, wk->tmp, k, &err);
	pthread_mutex_unlock(&s->open_lock);
	if (err) {
		fprintf(stderr,
			"hupmon-bench: soak: %zu of %zu connections (%s)\n",
			got, k, strerror(-err));
		wk->errors++;
	}
	for (size_t j = 0; j < got; j++) {
		struct soak_conn *c = &s->conn[idx[j]];
		uint64_t done;
		int rc;

		memset(c, 0, sizeof(*c));
		c->c.cfd = -1;
		c->c.sfd = wk->tmp[j].sfd;
		c->c.port = wk->tmp[j].port;
		rc = hupmon_watch(s->r.m, c->c.sfd, c, &c->c.id);
		if (rc) { /* an error; it stays in the walk, unwatched */
			fprintf(stderr, "hupmon-bench: soak: watch: %s\n",
				strerror(-rc));
			wk->errors++;
			c->c.id = 0;
		}
		wk->watches += !rc;
		if (!replace)
			continue;
		done = atomic_fetch_add(&s->replaced, 1) + 1;
		if (done % s->n == 0)
			sample(s, done / s->n);
	}
	return got;
}

/* What a connection saw, once unwatched (no callback can run for it now,
 * and hupmon_unwatch's lock orders the dispatching thread's writes before
 * these reads). */
static void evaluate(struct worker *wk, const struct soak_conn *c)
{
	const struct soak_mode_def *d = &soak_modes[c->mode];
	const struct conn *k = &c->c;
	struct soak_tally *t = &wk->t[c->mode];
	bool want[LEVELS + 1] = {false}, hung[LEVELS + 1] = {false};
	enum hupmon_cause last = d->cause[1] ? d->cause[1] : d->cause[0];
	uint32_t total = 0;

	t->conns++;
	t->fals += k->misattr;
	for (int cause = 1; cause <= HUPMON_CAUSE_MAX; cause++) {
		total += k->nrep[cause];
		hung[level_of(cause)] |= k->nrep[cause] > 0;
	}
	for (unsigned st = 0; k->acted && st < BENCH_STAGES; st++) {
		enum hupmon_cause cause = d->cause[st];
		uint32_t n = cause ? k->nrep[cause] : 0;

		if (!cause || (st && !c->wrote)) /* the RST never provoked */
			break;
		total -= n;
		if (!n) {
			t->lost++;
		} else if (k->t_det[cause] < k->t_act[st]) {
			t->fals += n; /* before the act: not this act's */
		} else {
			t->seen++;
			t->dup += n - 1;
			want[level_of(cause)] = c->mode != SM_CUT;
			if (!st)
				vec_push(&t->lat,
					 k->t_cb[cause] > k->t_act[0]
						 ? k->t_cb[cause] - k->t_act[0]
						 : 0);
		}
	}
	/* never acted (live): every report is false; else unexpected ones,
	 * and an error other than the one the kernel sets, are wrong */
	if (k->acted)
		t->wrong += total + (k->order_bad ? 1 : 0) +
			    (k->nrep[last] && k->error != d->error ? 1 : 0);
	else
		t->fals += total;
	for (int l = 1; l <= LEVELS; l++) {
		uint32_t r = c->rec[l];

		wk->unresolved += hung[l] && !r;
		t->rec_lost += want[l] && !r;
		if (r && !hung[l])
			t->wrong += r; /* an outcome of nothing reported */
		else if (r) {
			t->recs++;
			t->dup += r - 1;
		}
	}
	t->rec_missed += c->rec_missed;
	t->rec_disagree += c->rec_disagree;
}

/* Unwatch, judge, close the client end if still open, then the server end
 * (RST: no TIME_WAIT); the place waits for a new connection. The client
 * goes first: once it is closed the child may reuse its port. */
static void retire(struct worker *wk, size_t i)
{
	struct soak *s = wk->s;
	struct soak_conn *c = &s->conn[i];
	int rc = c->c.id ? hupmon_unwatch(s->r.m, c->c.id) : 0;

	if (rc) {
		fprintf(stderr, "hupmon-bench: soak: unwatch: %s\n",
			strerror(-rc));
		wk->errors++;
	}
	wk->unwatches += c->c.id && !rc;
	if (c->c.id) /* else its watch failed: counted */
		evaluate(wk, c);
	if (c->mode == SM_HALF || c->mode == SM_LIVE)
		child_act(s->child, &c->c, HOW_DROP);
	conns_close(&c->c, 1);
	c->state = ST_CLOSED;
	wk->closed[wk->nclosed++] = i;
}

/* Is everything in that c must get (or its time is up)? Escalate: the
 * server writes once its FIN is reported. */
static bool complete(struct soak *s, struct soak_conn *c, uint64_t now)
{
	const struct soak_mode_def *d = &soak_modes[c->mode];
	unsigned seen = atomic_load(&c->c.seen), want = 0;

	if (c->mode == SM_ESCALATE && !c->wrote &&
	    (seen & CAUSE_BIT(HUPMON_CAUSE_PEER_SHUTDOWN))) {
		c->wrote = true;
		c->c.t_act[1] = now_ns();
		c->deadline = c->c.t_act[1] + s->wait_ns;
		send(c->c.sfd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	for (unsigned st = 0; st < BENCH_STAGES && d->cause[st]; st++)
		want |= CAUSE_BIT(d->cause[st]) |
			(c->mode == SM_CUT ? 0 : REC(level_of(d->cause[st])));
	return (seen & want) == want || now >= c->deadline;
}

/* The next connection of the walk, in a random mode, while the pace and
 * the cap on connections in flight allow. */
static void act_due(struct worker *wk, uint64_t now)
{
	struct soak *s = wk->s;
	uint64_t pace = (uint64_t)s->o->pace_us * 1000u;

	while (wk->own && now >= wk->next_act && wk->nbusy < wk->cap) {
		size_t i = wk->w + 2 * wk->next;
		struct soak_conn *c = &s->conn[i];

		if (c->state != ST_IDLE) /* still in flight: wait for it */
			return;
		wk->next = (wk->next + 1) % wk->own;
		c->mode = (uint8_t)(rng_next(&wk->rng) % SM_COUNT);
		c->state = ST_BUSY;
		c->deadline = now;
		if (c->mode != SM_LIVE) {
			child_act(s->child, &c->c, soak_modes[c->mode].how);
			c->deadline = c->c.t_act[0] + s->wait_ns;
		}
		wk->busy[wk->nbusy++] = i;
		/* uniform in [pace, 3 pace]: two workers, one act per pace */
		wk->next_act += pace + rng_next(&wk->rng) % (2 * pace + 1);
		if (wk->next_act + 100 * NS_PER_MS < now)
			wk->next_act = now; /* no burst after a stall */
	}
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct soak *s = wk->s;

	wk->next_act = now_ns();
	for (;;) {
		uint64_t now = now_ns();
		bool stopping = now >= s->t_end;

		for (size_t j = 0; j < wk->nbusy;) {
			size_t i = wk->busy[j];

			if (complete(s, &s->conn[i], now)) {
				retire(wk, i);
				wk->busy[j] = wk->busy[--wk->nbusy];
			} else {
				j++;
			}
		}
		if (stopping && !wk->nbusy)
			break;
		if (!stopping && wk->nclosed) {
			size_t got =
				open_into(s, wk, wk->closed, wk->nclosed, true);

			wk->nclosed -= got;
			memmove(wk->closed, wk->closed + got,
				wk->nclosed * sizeof(*wk->closed));
		}
		if (!stopping)
			act_due(wk, now_ns());
		sleep_ns(POLL_NS);
	}
	/* the end: the rest is unwatched alive */
	for (size_t j = 0; j < wk->own; j++) {
		struct soak_conn *c = &s->conn[wk->w + 2 * j];

		if (c->state == ST_IDLE) {
			c->mode = SM_LIVE;
			retire(wk, wk->w + 2 * j);
		}
	}
	return NULL;
}

static void worker_init(struct worker *wk, struct soak *s, unsigned w)
{
	wk->s = s;
	wk->w = w;
	wk->own = (s->n - w + 1) / 2;
	wk->cap = wk->own / 4 > 16 ? wk->own / 4 : 16;
	wk->busy = xcalloc(wk->own, sizeof(*wk->busy));
	wk->closed = xcalloc(wk->own, sizeof(*wk->closed));
	wk->tmp = xcalloc(wk->own, sizeof(*wk->tmp));
	wk->rng = s->o->seed ^ ((uint64_t)s->r.sc << 40) ^ w;
	/* its first connections, before any thread starts */
	for (size_t j = 0; j < wk->own; j++)
		wk->busy[j] = w + 2 * j;
	if (open_into(s, wk, wk->busy, wk->own, false) < wk->own)
		die("soak: opening the connections", EIO);
}

static void tally_add(struct soak_tally *a, const struct soak_tally *b)
{
	a->conns += b->conns;
	a->seen += b->seen;
	a->lost += b->lost;
	a->fals += b->fals;
	a->dup += b->dup;
	a->wrong += b->wrong;
	a->recs += b->recs;
	a->rec_lost += b->rec_lost;
	a->rec_missed += b->rec_missed;
	a->rec_disagree += b->rec_disagree;
	for (size_t i = 0; i < b->lat.n; i++)
		vec_push(&a->lat, b->lat.v[i]);
}

/* Adds a joined worker's counts to the result. */
static void worker_fini(struct worker *wk, struct soak_res *res)
{
	for (int m = 0; m < SM_COUNT; m++) {
		tally_add(&res->t[m], &wk->t[m]);
		vec_free(&wk->t[m].lat);
	}
	res->watches += wk->watches;
	res->unwatches += wk->unwatches;
	res->errors += wk->errors;
	res->unresolved += wk->unresolved;
	free(wk->busy);
	free(wk->closed);
	free(wk->tmp);
}

static int soak_open_monitor(struct soak *s)
{
	const struct bopts *o = s->o;
	struct hupmon_config cfg = {
		.on_hangup = on_hangup,
		.on_compare = on_compare,
		.arg = s,
		.paths = HUPMON_PATHS_BOTH,
		.sweep_method = HUPMON_SWEEP_TCP_INFO,
		.compare = true,
		.sweep_period_ms = o->sweep_set ? o->period_ms : PERIOD_MS,
		.sweep_tick_ms = o->sweep_set ? o->tick_ms : TICK_MS,
	};

	s->res->period_ms = cfg.sweep_period_ms;
	s->res->tick_ms = cfg.sweep_tick_ms;
	s->wait_ns = (3000 + 5ull * cfg.sweep_period_ms) * NS_PER_MS;
	return hupmon_new(&cfg, &s->r.m);
}

/* Churns until the time is up, then waits for the workers. */
static void churn(struct soak *s)
{
	struct worker wk[2] = {{0}};

	worker_init(&wk[0], s, 0);
	worker_init(&wk[1], s, 1);
	s->t0 = now_ns();
	s->t_end = s->t0 + (uint64_t)s->o->soak_s * 1000 * NS_PER_MS;
	sample(s, 0);
	for (unsigned w = 0; w < 2; w++) {
		int rc = pthread_create(&wk[w].thr, NULL, worker_main, &wk[w]);

		if (rc)
			die("pthread_create", rc);
	}
	for (unsigned w = 0; w < 2; w++) {
		pthread_join(wk[w].thr, NULL);
		worker_fini(&wk[w], s->res);
	}
}

void *soak_run(const struct bctx *x)
{
	struct soak_res *res = xcalloc(1, sizeof(*res));
	struct soak s = {.o = x->o, .res = res, .lfd = x->lfd, .port = x->port};
	uint64_t t0 = now_ns();
	int rc;

	s.r = (struct run){
		.o = x->o, .p = &bench_paths[BP_COMPARE], .sc = x->sc};
	s.n = conns_for(x->o, x->s);
	s.conn = xcalloc(s.n, sizeof(*s.conn));
	pthread_mutex_init(&s.open_lock, NULL);
	res->n = s.n;
	res->secs = x->o->soak_s;
	res->pace_us = x->o->pace_us;
	s.child = child_start(x->port); /* before any thread */
	rc = soak_open_monitor(&s);
	if (rc)
		die("soak: hupmon_new", -rc);
	loop_start(&s.r);
	churn(&s);
	loop_stop(&s.r);
	hupmon_stats(s.r.m, &res->st);
	res->errors += s.r.loop_err ? 1 : 0;
	res->replaced = atomic_load(&s.replaced);
	res->cycles = (unsigned)(res->replaced / s.n);
	res->cb_hangup = s.cb_hangup;
	res->cb_compare = s.cb_compare;
	res->stray = s.stray;
	for (unsigned k = 0; k <= res->cycles && k <= SOAK_MAX_CYCLES; k++)
		if (res->cyc[k].rss_kib > res->rss_max_kib)
			res->rss_max_kib = res->cyc[k].rss_kib;
	hupmon_free(s.r.m);
	child_end(s.child);
	pthread_mutex_destroy(&s.open_lock);
	free(s.conn);
	res->wall_s = (double)(now_ns() - t0) / 1e9;
	res->ran = true;
	fprintf(stderr, "hupmon-bench: soak         done (%.1f s)\n",
		res->wall_s);
	return res;
}

/* ---- analysis ---------------------------------------------------------- */

static unsigned long long
sum_paths(const uint64_t a[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT])
{
	unsigned long long n = 0;

	for (int p = HUPMON_PATH_EPOLL; p <= HUPMON_PATH_SWEEP; p++)
		for (int k = 1; k <= HUPMON_CAUSE_MAX; k++)
			n += a[p][k];
	return n;
}

static void identities(struct soak_res *r)
{
	const struct hupmon_stats *st = &r->st;
	long long hangups = (long long)(r->hangups = sum_paths(st->hangups));
	long long first = (long long)(r->outcomes = sum_paths(st->cmp_first));
	long long cut =
		(long long)(r->cut_short = sum_paths(st->cmp_cut_short));
	const struct soak_ident id[SOAK_IDENTS] = {
		{"watched = watches - unwatches - retired",
		 (long long)st->watched,
		 (long long)(st->watches - st->unwatches - st->retired)},
		{"watches = the bench's successful watches",
		 (long long)st->watches, (long long)r->watches},
		{"unwatches = the bench's successful unwatches",
		 (long long)st->unwatches, (long long)r->unwatches},
		{"on_hangup calls = sum of hangups[path][cause]",
		 (long long)r->cb_hangup, hangups},
		{"on_compare calls = sum of cmp_first (outcomes)",
		 (long long)r->cb_compare, first},
		{"callbacks = on_hangup + on_compare calls",
		 (long long)st->callbacks,
		 (long long)(r->cb_hangup + r->cb_compare)},
		{"hangups = outcomes + cut short (all unwatched)", hangups,
		 first + cut},
		{"cut short = levels unwatched before their record", cut,
		 (long long)r->unresolved},
	};

	memcpy(r->id, id, sizeof(id));
}

void soak_analyse(void *res, const struct bctx *x)
{
	struct soak_res *r = res;
	struct soak_tally *all;
	unsigned fails = 0;

	if (!r->ran)
		return;
	all = &r->t[SM_COUNT];
	vec_free(&all->lat);
	memset(all, 0, sizeof(*all));
	for (int m = 0; m < SM_COUNT; m++) {
		r->t[m].us = dist_of(&r->t[m].lat, 1e3);
		tally_add(all, &r->t[m]);
	}
	all->us = dist_of(&all->lat, 1e3);
	identities(r);
	for (int i = 0; i < SOAK_IDENTS; i++)
		fails += !check_ok(x->v, CK_SOAK, r->id[i].lhs == r->id[i].rhs);
	/* memory: no growth from one cycle's end to the next after the
	 * first, in exact bytes; judged from two cycles, and how many the
	 * churn made in its time follows the machine's speed */
	r->grew_at = 0;
	for (unsigned k = 2; k <= r->cycles && k <= SOAK_MAX_CYCLES; k++)
		if (!r->grew_at &&
		    r->cyc[k].memory_bytes > r->cyc[k - 1].memory_bytes)
			r->grew_at = k;
	r->cycles_ok = check_ok(x->v, CK_SOAK_CYCLES, r->cycles >= 2);
	if (r->cycles >= 2)
		fails += !check_ok(x->v, CK_SOAK, !r->grew_at);
	fails += !check_ok(x->v, CK_SOAK,
			   !(all->lost || all->fals || all->dup || all->wrong ||
			     all->rec_lost || all->rec_missed ||
			     all->rec_disagree || r->errors || r->stray));
	r->failures = fails;
}

void soak_free(void *res)
{
	struct soak_res *s = res;

	for (int m = 0; m <= SM_COUNT; m++)
		vec_free(&s->t[m].lat);
	free(s);
}
