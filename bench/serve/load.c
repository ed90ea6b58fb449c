/* SPDX-License-Identifier: MIT */
/*
 * load: the abandon scenario's clients (see load.h). One thread
 * per client connection, blocking sockets, every wait bounded.
 */
#include "load.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SETTLE_MS 30000 /* longest wait for the server to end everything */

/* One request, as its client saw it. */
struct sent {
	uint64_t id;
	uint64_t t_act;	   /* just before close, RST or shutdown; 0: none */
	uint64_t t_answer; /* complete answer received; 0: none */
	unsigned ms;
	uint8_t cls;
	bool rst;
	bool in_time; /* answered within the run's duration */
};

struct slot {
	struct load *l;
	pthread_t thread;
	uint64_t rng;
	double rtt_ns; /* moving average of WAIT round trips */
	struct sent *v;
	size_t n, cap;
	uint64_t sessions[LOAD_CLASSES];
	uint64_t dial_failed;
};

struct load {
	struct load_opts o;
	struct sockaddr_storage addr;
	socklen_t alen;
	uint64_t deadline_ns;
	atomic_uint_fast64_t next_id;
	pthread_mutex_t lock;
	struct serve_record *rec; /* under lock */
	size_t nrec, caprec;
	bool rec_lost; /* out of memory for a record */
	/* every run so far */
	struct sent *all;
	size_t nall;
	double duration_s;
	uint64_t sessions[LOAD_CLASSES], dial_failed;
	/* the latency samples of the last results, sorted (load_samples) */
	uint64_t *lat[LOAD_SAMPLES];
	size_t nlat[LOAD_SAMPLES];
};

static const char *const class_names[LOAD_CLASSES] = {
	"wait", "abandon", "half", "pipe_read", "pipe_close"};

const char *load_class_name(enum load_class c)
{
	return (unsigned)c < LOAD_CLASSES ? class_names[c] : "?";
}

void load_defaults(struct load_opts *o)
{
	*o = (struct load_opts){
		.clients = 64,
		.duration_ms = 3000,
		.min_ms = 5,
		.max_ms = 50,
		.abandon_pct = 30,
		.half_pct = 5,
		.pipe_read_pct = 5,
		.pipe_close_pct = 5,
		.answer_timeout_ms = 30000,
		.seed = 1,
	};
}

/* splitmix64 */
static uint64_t rnd(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- one client -------------------------------------------------------- */

static int dial(const struct load *l)
{
	int one = 1;
	int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&l->addr, l->alen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Sends the requests a[0..k) in one write. */
static bool send_work(int fd, const struct sent *a, int k)
{
	char buf[512];
	size_t n = 0;

	for (int i = 0; i < k; i++)
		n += (size_t)http_format_work(buf + n, sizeof(buf) - n, a[i].ms,
					      a[i].id);
	return send_all(fd, buf, n);
}

/* Reads the answers to a[0..k) in order, until all are in, the connection
 * ends or deadline (CLOCK_MONOTONIC ns) passes; sets t_answer of each that
 * arrived complete (200, its id). Returns how many did. */
static int read_answers(int fd, struct sent *a, int k, uint64_t deadline)
{
	char buf[2048];
	size_t len = 0;
	int i = 0, ok = 0;

	while (i < k) {
		struct http_resp r;
		long n = http_parse_response(buf, len, &r);
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint64_t now = now_ns();
		struct timespec left;
		ssize_t got;

		if (n > 0) {
			if (r.status == 200 && r.id == a[i].id) {
				a[i].t_answer = now;
				ok++;
			}
			len -= (size_t)n;
			memmove(buf, buf + n, len);
			i++;
			continue;
		}
		if (n < 0 || len == sizeof(buf) || now >= deadline)
			break;
		left.tv_sec = (time_t)((deadline - now) / 1000000000u);
		left.tv_nsec = (long)((deadline - now) % 1000000000u);
		if (ppoll(&pfd, 1, &left, NULL) <= 0)
			break;
		got = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	return ok;
}

/* Gives up: close (FIN), or RST with SO_LINGER {1, 0}. Returns the time
 * taken just before. */
static uint64_t give_up(int fd, bool rst)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	uint64_t t;

	if (rst)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	t = now_ns();
	close(fd);
	return t;
}

/* k new requests of class cls, with their ids and W. */
static struct sent *sent_new(struct slot *sl, enum load_class cls, int k)
{
	struct load *l = sl->l;
	struct sent *a;

	if (sl->n + (size_t)k > sl->cap) {
		size_t cap = sl->cap ? sl->cap * 2 : 256;
		struct sent *v = realloc(sl->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		sl->v = v;
		sl->cap = cap;
	}
	a = sl->v + sl->n;
	sl->n += (size_t)k;
	for (int i = 0; i < k; i++) {
		a[i] = (struct sent){
			.id = atomic_fetch_add(&l->next_id, 1),
			.ms = l->o.min_ms +
			      (unsigned)(rnd(&sl->rng) %
					 (l->o.max_ms - l->o.min_ms + 1)),
			.cls = (uint8_t)cls,
		};
	}
	return a;
}

static enum load_class pick_class(struct slot *sl)
{
	const struct load_opts *o = &sl->l->o;
	unsigned r = (unsigned)(rnd(&sl->rng) % 100);

	if (r < o->abandon_pct)
		return LOAD_ABANDON;
	r -= o->abandon_pct;
	if (r < o->half_pct)
		return LOAD_HALF;
	r -= o->half_pct;
	if (r < o->pipe_read_pct)
		return LOAD_PIPE_READ;
	r -= o->pipe_read_pct;
	return r < o->pipe_close_pct ? LOAD_PIPE_CLOSE : LOAD_WAIT;
}

static void session(struct slot *sl)
{
	struct load *l = sl->l;
	uint64_t timeout = (uint64_t)l->o.answer_timeout_ms * 1000000u;
	enum load_class cls = pick_class(sl);
	int k = cls == LOAD_PIPE_READ || cls == LOAD_PIPE_CLOSE ? 2 : 1;
	int fd = dial(l);
	struct sent *a;
	uint64_t t0;

	if (cls == LOAD_WAIT)
		k = 1 + (int)(rnd(&sl->rng) % 3);
	if (fd < 0) {
		sl->dial_failed++;
		sleep_ms(1);
		return;
	}
	a = sent_new(sl, cls, k);
	if (!a) {
		close(fd);
		return;
	}
	sl->sessions[cls]++;
	switch (cls) {
	case LOAD_WAIT:
		for (int i = 0; i < k; i++) {
			t0 = now_ns();
			if (!send_work(fd, &a[i], 1) ||
			    !read_answers(fd, &a[i], 1, t0 + timeout)) {
				sl->n -= (size_t)(k - i - 1); /* not sent */
				break;
			}
			sl->rtt_ns = 0.8 * sl->rtt_ns +
				     0.2 * (double)(a[i].t_answer - t0);
		}
		break;
	case LOAD_ABANDON:
		/* Patience: uniform over the round trip last seen. */
		t0 = now_ns();
		a->rst = rnd(&sl->rng) & 1;
		if (send_work(fd, a, 1) &&
		    !read_answers(fd, a, 1,
				  t0 + rnd(&sl->rng) %
						  ((uint64_t)sl->rtt_ns + 1))) {
			a->t_act = give_up(fd, a->rst);
			return;
		}
		break;
	case LOAD_HALF:
		if (send_work(fd, a, 1)) {
			a->t_act = now_ns();
			shutdown(fd, SHUT_WR);
			read_answers(fd, a, 1, a->t_act + timeout);
		}
		break;
	case LOAD_PIPE_READ:
		if (send_work(fd, a, 2))
			read_answers(fd, a, 2, now_ns() + timeout);
		break;
	case LOAD_PIPE_CLOSE:
		if (send_work(fd, a, 2)) {
			a[0].t_act = a[1].t_act = give_up(fd, false);
			return;
		}
		break;
	default:
		break;
	}
	close(fd);
}

static void *slot_main(void *arg)
{
	struct slot *sl = arg;

	pthread_setname_np(pthread_self(), "load-client");
	while (now_ns() < sl->l->deadline_ns)
		session(sl);
	return NULL;
}

/* ---- the server's side ------------------------------------------------- */

void load_record(const struct serve_record *rec, void *arg)
{
	struct load *l = arg;

	if (!rec->req_id)
		return;
	pthread_mutex_lock(&l->lock);
	if (l->nrec == l->caprec) {
		size_t cap = l->caprec ? l->caprec * 2 : 1024;
		struct serve_record *v = realloc(l->rec, cap * sizeof(*v));

		if (v) {
			l->rec = v;
			l->caprec = cap;
		}
	}
	if (l->nrec < l->caprec)
		l->rec[l->nrec++] = *rec;
	else
		l->rec_lost = true;
	pthread_mutex_unlock(&l->lock);
}

/* The sum of every sample of family name in a Prometheus exposition. */
static uint64_t metric_sum(const char *text, const char *name)
{
	size_t n = strlen(name);
	uint64_t sum = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p += !!p) {
		const char *sp;

		if (strncmp(p, name, n) != 0 || (p[n] != ' ' && p[n] != '{'))
			continue;
		sp = strchr(p, ' ');
		if (p[n] == '{') /* label values hold no spaces here */
			sp = strchr(strchr(p, '}'), ' ');
		sum += strtoull(sp + 1, NULL, 10);
	}
	return sum;
}

/* GET /metrics; fills the server's counters in r. Returns how many
 * requests are still in flight, or -1 if it cannot tell. */
static long scrape(struct load *l, struct load_result *r)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\n"
				  "Host: hupmon-serve\r\n"
				  "Connection: close\r\n\r\n";
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	int fd = dial(l);
	struct http_resp h;
	long flight = -1;

	if (fd >= 0 && buf && send_all(fd, req, sizeof(req) - 1)) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t got = 1;

		while (got > 0 && poll(&pfd, 1, 5000) > 0) {
			if (len + 1 == cap) {
				char *p = realloc(buf, cap * 2);

				if (!p)
					break;
				buf = p;
				cap *= 2;
			}
			got = recv(fd, buf + len, cap - len - 1, 0);
			len += got > 0 ? (size_t)got : 0;
		}
		buf[len] = '\0';
		if (http_parse_response(buf, len, &h) > 0 && h.status == 200) {
			const char *m = buf + h.body_off;

			r->srv_requests =
				metric_sum(m, "hupmon_serve_requests_total");
			r->srv_completed =
				metric_sum(m, "hupmon_serve_completed_total");
			r->srv_cancelled =
				metric_sum(m, "hupmon_serve_cancelled_total");
			r->srv_failed =
				metric_sum(m, "hupmon_serve_failed_total");
			flight = (long)metric_sum(
				m, "hupmon_serve_requests_in_flight");
		}
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return flight;
}

/* ---- the results ------------------------------------------------------- */

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int sent_by_id(const void *a, const void *b)
{
	return by_u64(&((const struct sent *)a)->id,
		      &((const struct sent *)b)->id);
}

static int rec_by_id(const void *a, const void *b)
{
	return by_u64(&((const struct serve_record *)a)->req_id,
		      &((const struct serve_record *)b)->req_id);
}

/* Nearest-rank order statistics; sorts v. */
static struct load_lat lat_of(uint64_t *v, size_t n)
{
	struct load_lat s = {.n = n};

	if (!n)
		return s;
	qsort(v, n, sizeof(*v), by_u64);
	s.p50_ms = (double)v[(n * 50 + 99) / 100 - 1] / 1e6;
	s.p99_ms = (double)v[(n * 99 + 99) / 100 - 1] / 1e6;
	s.max_ms = (double)v[n - 1] / 1e6;
	return s;
}

/* What the client saw of one request, and with rec (NULL if none) what the
 * server did with it. */
static void tally(const struct sent *a, const struct serve_record *rec,
		  struct load_result *r, uint64_t *lat[LOAD_SAMPLES])
{
	bool waits = a->cls == LOAD_WAIT || a->cls == LOAD_PIPE_READ;
	bool left = a->t_act && a->cls != LOAD_HALF;

	r->sent++;
	r->answered += !!a->t_answer;
	if (a->in_time) {
		r->answers_per_s += 1;
		r->work_ms_per_s += a->ms;
	}
	r->left += left;
	r->rst += left && a->rst;
	if (a->cls == LOAD_HALF)
		*(a->t_answer ? &r->half_answered : &r->half_refused) += 1;
	r->lost += waits && !a->t_answer;
	if (!rec) {
		r->unseen++;
		return;
	}
	if (left)
		r->cpu_after_left_ms +=
			(double)serve_cpu_after(rec, a->t_act) / 1e6;
	if (a->cls == LOAD_PIPE_CLOSE && rec->outcome != SERVE_CANCELLED)
		r->pipe_close_ran++;
	if (rec->outcome != SERVE_CANCELLED)
		return;
	if (!a->t_act || rec->t_hangup_ns < a->t_act) {
		r->false_cancels++;
		return;
	}
	/* An act before the server read the request is seen once it is read
	 * and watched: timed from the read, apart. */
	if (a->t_act >= rec->t_read_ns)
		lat[LOAD_ACT_CB][r->act_cb.n++] = rec->t_hangup_ns - a->t_act;
	else
		lat[LOAD_READ_CB][r->read_cb.n++] =
			rec->t_hangup_ns - rec->t_read_ns;
	lat[LOAD_CB_STOP][r->cb_stop.n++] = rec->t_end_ns - rec->t_hangup_ns;
	if (a->cls == LOAD_HALF && rec->cause == HUPMON_CAUSE_PEER_SHUTDOWN)
		r->by_policy++;
}

/* Joins the clients' requests of every run with the server's records, by
 * id; keeps the latency samples in l->lat. */
static int results(struct load *l, struct load_result *r)
{
	uint64_t *lat[LOAD_SAMPLES];
	size_t j = 0;

	for (int i = 0; i < LOAD_SAMPLES; i++) {
		free(l->lat[i]);
		l->lat[i] = lat[i] = malloc((l->nall + 1) * sizeof(uint64_t));
		l->nlat[i] = 0;
	}
	if (!lat[LOAD_ACT_CB] || !lat[LOAD_READ_CB] || !lat[LOAD_CB_STOP])
		return -ENOMEM;
	r->duration_s = l->duration_s;
	r->dial_failed = l->dial_failed;
	memcpy(r->sessions, l->sessions, sizeof(r->sessions));
	qsort(l->all, l->nall, sizeof(*l->all), sent_by_id);
	pthread_mutex_lock(&l->lock);
	qsort(l->rec, l->nrec, sizeof(*l->rec), rec_by_id);
	r->records = l->nrec;
	for (size_t i = 0; i < l->nall; i++) {
		const struct sent *a = &l->all[i];

		while (j < l->nrec && l->rec[j].req_id < a->id)
			j++;
		tally(a,
		      j < l->nrec && l->rec[j].req_id == a->id ? &l->rec[j]
							       : NULL,
		      r, lat);
	}
	pthread_mutex_unlock(&l->lock);
	r->answers_per_s /= r->duration_s;
	r->work_ms_per_s /= r->duration_s;
	r->act_cb = lat_of(lat[LOAD_ACT_CB], r->act_cb.n);
	r->read_cb = lat_of(lat[LOAD_READ_CB], r->read_cb.n);
	r->cb_stop = lat_of(lat[LOAD_CB_STOP], r->cb_stop.n);
	l->nlat[LOAD_ACT_CB] = r->act_cb.n;
	l->nlat[LOAD_READ_CB] = r->read_cb.n;
	l->nlat[LOAD_CB_STOP] = r->cb_stop.n;
	return 0;
}

const uint64_t *load_samples(const struct load *l, enum load_sample k,
			     size_t *n)
{
	*n = l->nlat[k];
	return l->lat[k];
}

/* ---- the run ----------------------------------------------------------- */

struct load *load_new(const struct load_opts *o)
{
	struct load *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->o = *o;
	if (l->o.max_ms < l->o.min_ms)
		l->o.max_ms = l->o.min_ms;
	if (!l->o.clients)
		l->o.clients = 1;
	atomic_init(&l->next_id, 1);
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

void load_free(struct load *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	for (int i = 0; i < LOAD_SAMPLES; i++)
		free(l->lat[i]);
	free(l->rec);
	free(l->all);
	free(l);
}

static int set_addr(struct load *l, const char *host, uint16_t port)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&l->addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&l->addr;

	memset(&l->addr, 0, sizeof(l->addr));
	if (!host)
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		l->alen = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		l->alen = sizeof(*a6);
	} else {
		return -EINVAL;
	}
	return 0;
}

/* Keeps the run's requests in l->all, sums up the slots. */
static int keep(struct load *l, struct slot *slots)
{
	size_t n = l->nall;
	struct sent *all;

	for (unsigned i = 0; i < l->o.clients; i++)
		n += slots[i].n;
	all = realloc(l->all, (n + 1) * sizeof(*all));
	if (!all)
		return -ENOMEM;
	l->all = all;
	for (unsigned i = 0; i < l->o.clients; i++) {
		for (size_t k = 0; k < slots[i].n; k++) {
			struct sent *a = &l->all[l->nall++];

			*a = slots[i].v[k];
			a->in_time =
				a->t_answer && a->t_answer <= l->deadline_ns;
		}
		l->dial_failed += slots[i].dial_failed;
		for (int c = 0; c < LOAD_CLASSES; c++)
			l->sessions[c] += slots[i].sessions[c];
	}
	l->duration_s += (double)l->o.duration_ms / 1e3;
	return 0;
}

int load_run(struct load *l, const char *host, uint16_t port,
	     struct load_result *out)
{
	struct slot *slots = calloc(l->o.clients, sizeof(*slots));
	unsigned started = 0;
	uint64_t settle;
	int rc = set_addr(l, host, port);
	long flight = -1;

	memset(out, 0, sizeof(*out));
	if (!slots)
		return -ENOMEM;
	l->deadline_ns = now_ns() + (uint64_t)l->o.duration_ms * 1000000u;
	for (unsigned i = 0; !rc && i < l->o.clients; i++) {
		slots[i].l = l;
		slots[i].rng = (l->o.seed + l->nall) * 0x100000001b3u + i;
		slots[i].rtt_ns = (double)l->o.max_ms * 1e6;
		rc = -pthread_create(&slots[i].thread, NULL, slot_main,
				     &slots[i]);
		started += !rc;
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(slots[i].thread, NULL);
	if (!rc)
		rc = keep(l, slots);
	/* Let the server end what it still has (with hupmon off it runs
	 * every abandoned request to its end), then read its counters. */
	settle = now_ns() + (uint64_t)SETTLE_MS * 1000000u;
	while (!rc && (flight = scrape(l, out)) != 0 && now_ns() < settle)
		sleep_ms(10);
	out->add_up =
		flight == 0 && out->srv_requests == out->srv_completed +
							    out->srv_cancelled +
							    out->srv_failed;
	if (!rc)
		rc = results(l, out);
	for (unsigned i = 0; i < l->o.clients; i++)
		free(slots[i].v);
	free(slots);
	if (!rc && l->rec_lost)
		rc = -ENOMEM;
	return rc;
}
