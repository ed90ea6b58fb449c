/* SPDX-License-Identifier: MIT */
/*
 * server: the server behind hupmon-serve (see server.h for what it does).
 *
 * Threads
 *   acceptor   one epoll loop: accepts, reads requests, answers /metrics and
 *              bad requests itself, hands /work requests to the queue,
 *              closes the connections whose timeout ran out; with
 *              --loop acceptor it also dispatches hupmon (hupmon_fd()).
 *   hupmon     hupmon_run(), with --loop thread; runs on_hangup().
 *   workers    take requests from the queue, burn, answer. At SCHED_IDLE
 *              (see start_workers()), so that the acceptor and the hupmon
 *              thread never queue behind their CPU-bound work.
 *
 * Ownership: a connection belongs to one party at a time. The acceptor owns
 * it while reading (it is then in the acceptor's epoll set, never watched);
 * the queue owns it while its request waits (watched); a worker while the
 * request runs (watched until just before the response). s->lock guards the
 * hand-overs, the queue, the cancel state and the counters. Lock order: no
 * hupmon call is ever made with s->lock held (hupmon_unwatch() waits for a
 * running callback, which takes s->lock).
 *
 * Cancellation: on_hangup() records the cause under s->lock. A queued
 * request is taken out of the queue and dropped right there, in the
 * callback; a running one gets its atomic cancel flag set and the worker
 * stops at its next chunk; a request the acceptor is about to queue is
 * dropped by the acceptor. Who drops it ends it: unwatch, count, close.
 *
 * Limits (see server.h). The acceptor times the connections it holds: one
 * list per timeout, in deadline order since each deadline is now + that
 * timeout; its epoll_wait() sleeps until the first deadline. What the
 * kernel does at the fd limit: accept4() fails with EMFILE (the process's
 * RLIMIT_NOFILE), ENFILE (the system's), or ENOBUFS/ENOMEM, and leaves the
 * connection in the listen backlog, so the listener stays readable and a
 * level-triggered epoll reports it again at once: retrying each time is a
 * busy loop that serves nobody. So the acceptor takes the listener out of
 * its poll (events 0) and retries on a timer, or as soon as a connection
 * closes (conn_close() wakes it); the clients wait in the backlog and are
 * served once fds are free. Not the reserve-fd trick (close a spare fd,
 * accept, answer 503, close): it answers every newcomer at once but makes
 * an accept per newcomer while the limit lasts and turns away clients that
 * a moment later could have been served.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "listener.h"

#define CHUNK_NS 250000u /* /work burns CPU in chunks of 0.25 ms */
#define CONN_BUF 8192	 /* the largest request head taken */

enum conn_state {
	C_ACCEPTOR, /* reading the next request, or answering /metrics */
	C_QUEUED,   /* its request waits in the queue */
	C_RUNNING,  /* a worker runs its request */
};

struct conn {
	int fd;
	int family; /* its listener's: AF_INET, AF_INET6 or AF_UNIX */
	enum conn_state state;	  /* under s->lock */
	struct conn *prev, *next; /* queue or returned list, under s->lock */
	struct conn *all_prev, *all_next; /* every connection, s->lock */

	/* The request in flight. cause, half_closed and t_hangup_ns of rec
	 * are written by on_hangup() under s->lock. */
	struct serve_record rec;
	bool keep_alive;
	hupmon_id watch; /* 0: not watched */
	atomic_bool cancel;

	/* the owner's */
	bool eof;      /* our read saw the client's FIN */
	bool in_epoll; /* in the acceptor's epoll set */
	char *out;     /* an answer the acceptor is writing */
	size_t out_len, out_off;
	bool close_after;
	bool served; /* a request was read: between two it waits idle */
	/* the acceptor's: the timeout c waits under, if timed, and its place
	 * in that timeout's list */
	bool timed;
	enum serve_timeout wait;
	uint64_t deadline_ns;
	struct conn *wait_prev, *wait_next;
	size_t len;
	char buf[CONN_BUF];
};

struct serve {
	struct serve_opts o;
	hupmon *mon; /* NULL with SERVE_OFF */
	/* TCP first, if any; then Unix, if any: nls of them */
	struct serve_listener ls[2];
	unsigned nls;
	int ep, wake;
	atomic_bool stopping;
	bool nice_workers; /* else SCHED_IDLE, see start_workers(); lock */
	pthread_t acceptor, hupmon_thread, *workers;
	unsigned nworkers, started, ready; /* asked for, started, lowered */
	bool acceptor_started, hupmon_started;

	pthread_mutex_t lock;
	pthread_cond_t queued;	  /* the queue got a request, stopping, or a
				     worker is ready */
	struct conn *head, *tail; /* the queue (FIFO) */
	struct conn *returned;	  /* given back by workers (keep-alive) */
	struct conn *conns;	  /* every open connection */
	struct serve_counters n;

	/* the acceptor's: the connections it times, one list per timeout in
	 * deadline order; when a paused accept is retried */
	struct conn *wait_head[SERVE_TIMEOUT_MAX],
		*wait_tail[SERVE_TIMEOUT_MAX];
	uint64_t timeout_ns[SERVE_TIMEOUT_MAX];
	uint64_t accept_retry_ns;
	atomic_bool accept_paused; /* the listeners are out of the poll */
	atomic_bool fd_freed;	   /* a connection closed since accept_all() */
};

/* ---- small things ------------------------------------------------------ */

uint64_t serve_cpu_after(const struct serve_record *r, uint64_t t)
{
	double last = (double)(r->cpu_ns - r->chunk_cpu_ns);

	if (!r->cpu_ns || t >= r->run_end_ns)
		return 0;
	if (t <= r->run_start_ns)
		return r->cpu_ns;
	if (t >= r->chunk_start_ns)
		return (uint64_t)(last * (double)(r->run_end_ns - t) /
				  (double)(r->run_end_ns - r->chunk_start_ns));
	return (uint64_t)(last + (double)r->chunk_cpu_ns *
					 (double)(r->chunk_start_ns - t) /
					 (double)(r->chunk_start_ns -
						  r->run_start_ns));
}

static void hist_add(struct hupmon_hist *h, uint64_t ns)
{
	unsigned i = 0;

	while (i < HUPMON_HIST_BUCKETS - 1 && ns > hupmon_hist_bound_ns(i))
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum_ns += ns;
}

/* ---- connections ------------------------------------------------------- */

/* Takes c out of the queue; under s->lock. */
static void queue_unlink(struct serve *s, struct conn *c)
{
	*(c->prev ? &c->prev->next : &s->head) = c->next;
	*(c->next ? &c->next->prev : &s->tail) = c->prev;
	c->prev = c->next = NULL;
}

static void conn_unwatch(struct serve *s, struct conn *c)
{
	if (c->watch) {
		hupmon_unwatch(s->mon, c->watch);
		c->watch = 0;
	}
}

/* Takes c off its timeout's list. Only the acceptor times connections; a
 * connection another thread owns is not timed (a no-op). */
static void conn_untime(struct serve *s, struct conn *c)
{
	enum serve_timeout k = c->wait;

	if (!c->timed)
		return;
	*(c->wait_prev ? &c->wait_prev->wait_next : &s->wait_head[k]) =
		c->wait_next;
	*(c->wait_next ? &c->wait_next->wait_prev : &s->wait_tail[k]) =
		c->wait_prev;
	c->wait_prev = c->wait_next = NULL;
	c->timed = false;
}

/* The acceptor's: c waits under timeout k, until now + k's timeout; if it
 * already waits under k, its deadline stays unless restart. */
static void conn_time(struct serve *s, struct conn *c, enum serve_timeout k,
		      bool restart)
{
	if (c->timed && c->wait == k && !restart)
		return;
	conn_untime(s, c);
	c->timed = true;
	c->wait = k;
	c->deadline_ns = now_ns() + s->timeout_ns[k];
	c->wait_prev = s->wait_tail[k];
	*(s->wait_tail[k] ? &s->wait_tail[k]->wait_next : &s->wait_head[k]) = c;
	s->wait_tail[k] = c;
}

/* Closes an unwatched connection and frees it. */
static void conn_close(struct serve *s, struct conn *c)
{
	uint64_t one = 1;

	conn_untime(s, c);
	pthread_mutex_lock(&s->lock);
	*(c->all_prev ? &c->all_prev->all_next : &s->conns) = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
	s->n.connections--;
	pthread_mutex_unlock(&s->lock);
	/* Out of the acceptor's set first: close() alone leaves it there
	 * while a copy of the fd lives on (a child between fork and exec). */
	if (c->in_epoll)
		epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	/* An fd is free: a paused acceptor retries now (flag first, then
	 * the pause is read; accept_all() does the reverse). */
	atomic_store(&s->fd_freed, true);
	if (atomic_load(&s->accept_paused) &&
	    write(s->wake, &one, sizeof(one)) < 0) {
		/* cannot fail: the counter is far from overflow */
	}
	free(c->out);
	free(c);
}

/* Ends a request: hands its record to the hook, then counts it (in this
 * order, so that once the counters show nothing in flight every record has
 * been handed over). cause, half_closed and t_hangup_ns are read under the
 * lock, as on_hangup() writes them. */
static void request_end(struct serve *s, struct serve_record *r,
			enum serve_outcome o, enum serve_fail f)
{
	struct serve_counters *n = &s->n;
	struct serve_record done;

	pthread_mutex_lock(&s->lock);
	r->outcome = o;
	r->fail = f;
	r->t_end_ns = now_ns();
	done = *r;
	pthread_mutex_unlock(&s->lock);
	if (s->o.on_record)
		s->o.on_record(&done, s->o.arg);
	pthread_mutex_lock(&s->lock);
	if (o == SERVE_COMPLETED) {
		n->completed[done.half_closed]++;
	} else if (o == SERVE_CANCELLED) {
		n->cancelled[done.cause][done.ran]++;
		n->cpu_after_hangup_ns +=
			serve_cpu_after(&done, done.t_hangup_ns);
		hist_add(&n->cancel_latency, done.t_end_ns - done.t_hangup_ns);
	} else {
		n->failed[f]++;
	}
	n->work_cpu_ns += done.cpu_ns;
	pthread_mutex_unlock(&s->lock);
}

static void count_request(struct serve *s)
{
	pthread_mutex_lock(&s->lock);
	s->n.requests++;
	pthread_mutex_unlock(&s->lock);
}

/* The client is gone (cancelled, or our answer could not be written): the
 * requests it pipelined behind the one that ended, already in c->buf, end
 * the same way, then the connection is closed. */
static void conn_gone(struct serve *s, struct conn *c, enum serve_outcome o,
		      enum serve_fail f)
{
	struct http_req q;
	long n;

	while ((n = http_parse_request(c->buf, c->len, &q)) > 0) {
		struct serve_record r = {
			.req_id = q.id,
			.ms = q.ms,
			.cause = c->rec.cause,
			.half_closed = c->rec.half_closed,
			.t_read_ns = c->rec.t_read_ns, /* read with it */
			.t_hangup_ns = c->rec.t_hangup_ns,
		};

		c->len -= (size_t)n;
		memmove(c->buf, c->buf + n, c->len);
		if (q.route != HTTP_WORK)
			continue; /* not counted, as when answered */
		count_request(s);
		request_end(s, &r, o, f);
	}
	conn_close(s, c);
}

/* Ends the cancelled request in flight on c, and c. */
static void conn_cancelled(struct serve *s, struct conn *c)
{
	conn_unwatch(s, c);
	request_end(s, &c->rec, SERVE_CANCELLED, 0);
	conn_gone(s, c, SERVE_CANCELLED, 0);
}

/* ---- hupmon ------------------------------------------------------------ */

/*
 * A client of a request in flight is gone, or half-closed. Runs on the
 * dispatching thread: the hupmon thread, or the acceptor with --loop
 * acceptor. Short and non-blocking but for s->lock.
 */
static void on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct serve *s = arg;
	struct conn *c = ev->user;
	bool half = ev->cause == HUPMON_CAUSE_PEER_SHUTDOWN;
	bool wait = half && s->o.half_close == SERVE_HALF_WAIT;
	bool drop = false;

	pthread_mutex_lock(&s->lock);
	if (half) {
		c->rec.half_closed = true;
		s->n.half_close[wait]++;
	}
	if (!wait && c->rec.cause == HUPMON_CAUSE_NONE) {
		c->rec.cause = ev->cause;
		c->rec.t_hangup_ns = now_ns();
		if (c->state == C_QUEUED) {
			queue_unlink(s, c); /* ours to drop, now */
			drop = true;
		} else {
			/* Running, or about to be queued: its owner sees
			 * the flag (or the cause) and stops. */
			atomic_store(&c->cancel, true);
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (drop)
		conn_cancelled(s, c); /* unwatch from inside: returns at once */
}

static void *hupmon_main(void *arg)
{
	struct serve *s = arg;
	int rc;

	pthread_setname_np(pthread_self(), "serve-hupmon");
	rc = hupmon_run(s->mon);

	if (rc < 0)
		fprintf(stderr, "hupmon-serve: hupmon_run: %s\n",
			strerror(-rc));
	return NULL;
}

static int monitor_new(struct serve *s)
{
	struct hupmon_config cfg = {
		.on_hangup = on_hangup,
		.arg = s,
		.paths = HUPMON_PATH_EPOLL,
		.sweep_method = HUPMON_SWEEP_TCP_INFO,
		.sweep_period_ms = SERVE_SWEEP_PERIOD_MS,
		.sweep_tick_ms = SERVE_SWEEP_TICK_MS,
	};

	if (s->o.mode == SERVE_OFF)
		return 0;
	if (s->o.mode == SERVE_SWEEP)
		cfg.paths = HUPMON_PATH_SWEEP;
	if (s->o.mode == SERVE_COMPARE) {
		cfg.paths = HUPMON_PATHS_BOTH;
		cfg.compare = true;
	}
	return hupmon_new(&cfg, &s->mon);
}

/* ---- workers ----------------------------------------------------------- */

/* Burns the request's W ms of this thread's CPU, chunk by chunk, and stops
 * early when it is cancelled or the server stops. Returns true if it ran to
 * its end. Fills the run's figures in c->rec (the worker's own). */
static bool burn(struct serve *s, struct conn *c)
{
	struct serve_record *r = &c->rec;
	uint64_t goal = (uint64_t)r->ms * 1000000u;
	uint64_t cpu0 = thread_cpu_ns(), done = 0;
	uint64_t x = r->req_id | 1;

	r->ran = true;
	r->run_start_ns = now_ns();
	while (done < goal && !atomic_load(&c->cancel) &&
	       !atomic_load(&s->stopping)) {
		uint64_t end = goal - done < CHUNK_NS ? goal : done + CHUNK_NS;

		r->chunk_start_ns = now_ns();
		r->chunk_cpu_ns = done;
		while (done < end) {
			for (int i = 0; i < 4096; i++)
				x = x * 6364136223846793005u +
				    1442695040888963407u;
			done = thread_cpu_ns() - cpu0;
		}
	}
	r->run_end_ns = now_ns();
	r->cpu_ns = done;
	__asm__ volatile("" : : "r"(x)); /* keep the loop */
	return done >= goal;
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};

		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && errno == EAGAIN &&
			   poll(&pfd, 1, (int)SERVE_WRITE_TIMEOUT_MS) > 0) {
			continue;
		} else {
			return false;
		}
	}
	return true;
}

/* Gives a keep-alive connection back to the acceptor. */
static void conn_return(struct serve *s, struct conn *c)
{
	uint64_t one = 1;

	pthread_mutex_lock(&s->lock);
	c->state = C_ACCEPTOR;
	c->next = s->returned;
	s->returned = c;
	pthread_mutex_unlock(&s->lock);
	if (write(s->wake, &one, sizeof(one)) < 0) {
		/* cannot fail: the counter is far from overflow */
	}
}

static void work(struct serve *s, struct conn *c)
{
	char resp[320], body[32];
	bool ran_out = burn(s, c), cancelled, half;
	int n, bn;

	/* Unwatch before answering (and before any close): from here on no
	 * callback for c runs, and its cause is final. */
	conn_unwatch(s, c);
	pthread_mutex_lock(&s->lock);
	cancelled = c->rec.cause != HUPMON_CAUSE_NONE;
	half = c->rec.half_closed;
	pthread_mutex_unlock(&s->lock);
	if (cancelled) {
		conn_cancelled(s, c);
		return;
	}
	if (!ran_out) {
		request_end(s, &c->rec, SERVE_FAILED, SERVE_FAIL_SHUTDOWN);
		conn_close(s, c);
		return;
	}
	/* A half-closed client sends nothing more: answer, then close. */
	c->keep_alive = c->keep_alive && !half && !c->eof;
	bn = snprintf(body, sizeof(body), "worked %u ms\n", c->rec.ms);
	n = http_format_head(resp, sizeof(resp), 200, "text/plain", (size_t)bn,
			     c->keep_alive, c->rec.req_id);
	memcpy(resp + n, body, (size_t)bn); /* head and body in one write */
	if (!send_all(c->fd, resp, (size_t)(n + bn))) {
		request_end(s, &c->rec, SERVE_FAILED, SERVE_FAIL_WRITE);
		conn_gone(s, c, SERVE_FAILED, SERVE_FAIL_WRITE);
		return;
	}
	request_end(s, &c->rec, SERVE_COMPLETED, 0);
	if (c->keep_alive)
		conn_return(s, c);
	else
		conn_close(s, c);
}

static void *worker_main(void *arg)
{
	struct serve *s = arg;
	struct sched_param idle = {0};
	bool nice = s->o.workers_nice ||
		    pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);

	pthread_setname_np(pthread_self(), "serve-worker");
	if (nice)
		setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
	pthread_mutex_lock(&s->lock);
	s->nice_workers |= nice;
	s->ready++;
	pthread_cond_broadcast(&s->queued); /* start_workers() waits */
	pthread_mutex_unlock(&s->lock);
	for (;;) {
		struct conn *c;

		pthread_mutex_lock(&s->lock);
		while (!s->head && !atomic_load(&s->stopping))
			pthread_cond_wait(&s->queued, &s->lock);
		c = atomic_load(&s->stopping) ? NULL : s->head;
		if (c) {
			queue_unlink(s, c);
			c->state = C_RUNNING;
		}
		pthread_mutex_unlock(&s->lock);
		if (!c)
			return NULL;
		work(s, c);
	}
}

/*
 * Starts the workers and waits until each has lowered itself.
 *
 * Workers run at SCHED_IDLE: a worker gets a CPU only when no normal thread
 * wants it, so the acceptor and the hupmon thread, woken by a hangup,
 * preempt a burning worker at once. nice +10 would only shrink the workers'
 * share: a woken dispatcher could still wait for a worker's time slice to
 * run out. SCHED_IDLE needs no privilege; nice +10 is the fallback where it
 * is refused, and what serve_opts.workers_nice asks for: next to other busy
 * processes (tests on a loaded machine) a SCHED_IDLE worker may get no CPU
 * for seconds. Returns 0 or a negative errno.
 */
static int start_workers(struct serve *s)
{
	int rc = 0;

	while (!rc && s->started < s->nworkers) {
		rc = pthread_create(&s->workers[s->started], NULL, worker_main,
				    s);
		s->started += !rc;
	}
	pthread_mutex_lock(&s->lock);
	while (s->ready < s->started)
		pthread_cond_wait(&s->queued, &s->lock);
	pthread_mutex_unlock(&s->lock);
	return -rc;
}

/* ---- the acceptor ------------------------------------------------------ */

/* Puts c in the acceptor's epoll set, waiting for events. */
static int conn_arm(struct serve *s, struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	if (epoll_ctl(s->ep, c->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd,
		      &ev) < 0)
		return -errno;
	c->in_epoll = true;
	return 0;
}

/* Writes what is left of c->out. Returns true when it is all written and c
 * stays open; false when c waits for room (EPOLLOUT) or was closed. */
static bool conn_flush(struct serve *s, struct conn *c)
{
	size_t off0 = c->out_off;

	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);

		if (w > 0) {
			c->out_off += (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && errno == EAGAIN &&
			   conn_arm(s, c, EPOLLOUT) == 0) {
			/* timed out when no byte leaves for a while */
			conn_time(s, c, SERVE_TIMEOUT_WRITE,
				  c->out_off != off0);
			return false;
		} else {
			conn_close(s, c);
			return false;
		}
	}
	free(c->out);
	c->out = NULL;
	if (c->close_after) {
		conn_close(s, c);
		return false;
	}
	return true;
}

/* Answers from the acceptor (/metrics, errors); returns as conn_flush(). */
static bool reply(struct serve *s, struct conn *c, int status,
		  const char *ctype, const char *body, size_t len,
		  bool keep_alive)
{
	char head[256];
	int hn = http_format_head(head, sizeof(head), status, ctype, len,
				  keep_alive, 0);

	c->out = malloc((size_t)hn + len);
	if (!c->out) {
		conn_close(s, c);
		return false;
	}
	memcpy(c->out, head, (size_t)hn);
	memcpy(c->out + hn, body, len);
	c->out_len = (size_t)hn + len;
	c->out_off = 0;
	c->close_after = !keep_alive;
	return conn_flush(s, c);
}

static bool reply_metrics(struct serve *s, struct conn *c, bool keep_alive)
{
	char *body;
	long n = serve_metrics(s, &body);
	bool open;

	if (n < 0) {
		conn_close(s, c);
		return false;
	}
	open = reply(s, c, 200, "text/plain; version=0.0.4; charset=utf-8",
		     body, (size_t)n, keep_alive);
	free(body);
	return open;
}

/* A request we do not serve: counted as failed, answered, closed. */
static void reply_error(struct serve *s, struct conn *c, int status)
{
	static const char body[] = "no\n";

	pthread_mutex_lock(&s->lock);
	s->n.requests++;
	s->n.failed[SERVE_FAIL_BAD_REQUEST]++;
	pthread_mutex_unlock(&s->lock);
	reply(s, c, status, "text/plain", body, sizeof(body) - 1, false);
}

/* Queues the /work request just read on c. Watched first, so that a client
 * that leaves while its request waits is seen. c came from accept4() on one
 * of our listeners, whose family it has: hupmon's accepted watch may skip
 * its checks. */
static void hand_off(struct serve *s, struct conn *c, const struct http_req *q)
{
	struct hupmon_watch_opts wo = {
		.user = c,
		.accepted = true,
		.family = c->family,
	};
	bool gone;
	int rc;

	if (c->in_epoll)
		epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	c->in_epoll = false;
	memset(&c->rec, 0, sizeof(c->rec));
	c->rec.req_id = q->id;
	c->rec.ms = q->ms;
	c->rec.t_read_ns = now_ns();
	c->keep_alive = q->keep_alive;
	atomic_store(&c->cancel, false);
	count_request(s);
	if (s->mon &&
	    (rc = hupmon_watch_ex(s->mon, c->fd, &wo, &c->watch)) < 0) {
		fprintf(stderr, "hupmon-serve: hupmon_watch_ex: %s\n",
			strerror(-rc));
		c->watch = 0; /* served unwatched */
	}
	pthread_mutex_lock(&s->lock);
	gone = c->rec.cause != HUPMON_CAUSE_NONE; /* reported already */
	if (!gone) {
		c->state = C_QUEUED;
		c->next = NULL;
		c->prev = s->tail;
		*(s->tail ? &s->tail->next : &s->head) = c;
		s->tail = c;
		pthread_cond_signal(&s->queued);
	}
	pthread_mutex_unlock(&s->lock);
	if (gone)
		conn_cancelled(s, c);
}

/* Serves the requests complete in c's buffer until one goes to the queue,
 * then waits for more bytes. */
static void conn_next(struct serve *s, struct conn *c)
{
	for (;;) {
		struct http_req q;
		long n = http_parse_request(c->buf, c->len, &q);

		if (n == 0 && c->eof) {
			/* Gone between requests, or amid one: nothing to
			 * count, nobody to answer. */
			conn_close(s, c);
			return;
		}
		if (n == 0 && c->len < CONN_BUF) {
			/* Idle until the next request begins; then its head
			 * is timed from its first byte (from the accept on a
			 * new connection), whatever trickles in after. */
			conn_time(s, c,
				  c->len || !c->served ? SERVE_TIMEOUT_HEADER
						       : SERVE_TIMEOUT_IDLE,
				  false);
			if (conn_arm(s, c, EPOLLIN) < 0)
				conn_close(s, c);
			return;
		}
		if (n <= 0) {
			reply_error(s, c, 400); /* unparsable, or too long */
			return;
		}
		conn_untime(s, c);
		c->served = true;
		c->len -= (size_t)n;
		memmove(c->buf, c->buf + n, c->len);
		switch (q.route) {
		case HTTP_WORK:
			hand_off(s, c, &q);
			return;
		case HTTP_METRICS:
			if (!reply_metrics(s, c, q.keep_alive))
				return;
			break;
		case HTTP_NOT_FOUND:
			reply_error(s, c, 404);
			return;
		case HTTP_BAD_METHOD:
			reply_error(s, c, 405);
			return;
		case HTTP_BAD_REQUEST:
			reply_error(s, c, 400);
			return;
		}
	}
}

static void conn_read(struct serve *s, struct conn *c)
{
	while (c->len < CONN_BUF && !c->eof) {
		ssize_t r = recv(c->fd, c->buf + c->len, CONN_BUF - c->len, 0);

		if (r > 0) {
			c->len += (size_t)r;
		} else if (r == 0) {
			c->eof = true;
		} else if (errno == EAGAIN) {
			break;
		} else if (errno != EINTR) {
			conn_close(s, c); /* reset between requests */
			return;
		}
	}
	conn_next(s, c);
}

/* Which shortage an accept4() error is (enum serve_accept_fail), -1 if
 * none: the connection then stays in the backlog. */
static int accept_shortage(int err)
{
	switch (err) {
	case EMFILE:
		return SERVE_ACCEPT_EMFILE;
	case ENFILE:
		return SERVE_ACCEPT_ENFILE;
	case ENOBUFS:
		return SERVE_ACCEPT_ENOBUFS;
	case ENOMEM:
		return SERVE_ACCEPT_ENOMEM;
	default:
		return -1;
	}
}

/* Puts the listeners in the acceptor's poll, or takes them out (events
 * 0). Returns true if it did. */
static bool listener_poll(struct serve *s, bool on)
{
	bool done = true;

	for (unsigned i = 0; i < s->nls; i++) {
		struct epoll_event ev = {.events = on ? EPOLLIN : 0,
					 .data.ptr = &s->ls[i]};

		done &= epoll_ctl(s->ep, EPOLL_CTL_MOD, s->ls[i].fd, &ev) == 0;
	}
	return done;
}

/* The listener that tag (an epoll event's data.ptr) is, or NULL. */
static struct serve_listener *listener_of(struct serve *s, void *tag)
{
	for (unsigned i = 0; i < s->nls; i++) {
		if (tag == &s->ls[i])
			return &s->ls[i];
	}
	return NULL;
}

/* Accepts from l until its backlog is empty, counting the calls in
 * *calls. Returns -1, or the shortage (enum serve_accept_fail) that
 * stopped it. */
static int accept_from(struct serve *s, struct serve_listener *l,
		       uint64_t *calls)
{
	for (;;) {
		int one = 1, fd = accept4(l->fd, NULL, NULL,
					  SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		++*calls;
		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0) /* EAGAIN: all taken; or a shortage */
			return accept_shortage(errno);
		if (l->family != AF_UNIX)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
		c = calloc(1, sizeof(*c));
		if (!c) { /* as short of memory as ENOMEM */
			close(fd);
			return SERVE_ACCEPT_ENOMEM;
		}
		c->fd = fd;
		c->family = l->family;
		pthread_mutex_lock(&s->lock);
		c->all_next = s->conns;
		if (s->conns)
			s->conns->all_prev = c;
		s->conns = c;
		s->n.connections++;
		pthread_mutex_unlock(&s->lock);
		conn_time(s, c, SERVE_TIMEOUT_HEADER, true);
		if (conn_arm(s, c, EPOLLIN) < 0)
			conn_close(s, c);
	}
}

/* Accepts until the backlog of l (NULL: of every listener) is empty, or
 * pauses accepting (see the top of this file) at a shortage of fds or
 * memory, on every listener: the shortage is the process's. A paused
 * acceptor calls it again, for every listener, at its retry time or when a
 * connection closed. */
static void accept_all(struct serve *s, struct serve_listener *l)
{
	bool paused = atomic_load(&s->accept_paused);
	uint64_t calls = 0;
	int short_of = -1;

	atomic_store(&s->fd_freed, false);
	for (unsigned i = 0; i < s->nls && short_of < 0; i++) {
		if (!l || l == &s->ls[i])
			short_of = accept_from(s, &s->ls[i], &calls);
	}
	if (short_of >= 0 && !paused)
		paused = listener_poll(s, false);
	else if (short_of < 0 && paused)
		paused = !listener_poll(s, true);
	atomic_store(&s->accept_paused, paused);
	if (paused) {
		s->accept_retry_ns =
			now_ns() + SERVE_ACCEPT_RETRY_MS * 1000000u;
		if (atomic_load(&s->fd_freed)) /* closed before it saw us */
			s->accept_retry_ns = 0;
	}
	pthread_mutex_lock(&s->lock);
	s->n.accept_calls += calls;
	if (short_of >= 0) {
		s->n.accept_failed[short_of]++;
		s->n.accept_pauses += !s->n.accept_paused && paused;
	}
	s->n.accept_paused = paused;
	pthread_mutex_unlock(&s->lock);
}

/* Closes the connections whose wait is over. A request head cut short is
 * answered 408 first, in one try: the client is not waited for. */
static void expire(struct serve *s, uint64_t now)
{
	char head[160];
	int hn = http_format_head(head, sizeof(head), 408, "text/plain", 0,
				  false, 0);

	for (int k = 0; k < SERVE_TIMEOUT_MAX; k++) {
		struct conn *c;

		while ((c = s->wait_head[k]) && c->deadline_ns <= now) {
			conn_untime(s, c);
			if (k == SERVE_TIMEOUT_HEADER && c->len &&
			    send(c->fd, head, (size_t)hn,
				 MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* gone, or no room: closed all the same */
			}
			pthread_mutex_lock(&s->lock);
			s->n.timeouts[k]++;
			pthread_mutex_unlock(&s->lock);
			conn_close(s, c);
		}
	}
}

/* How long the acceptor may sleep: until the first deadline, or the retry
 * of a paused accept (ms, rounded up); -1: no end. */
static int acceptor_sleep_ms(struct serve *s, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (int k = 0; k < SERVE_TIMEOUT_MAX; k++) {
		if (s->wait_head[k] && s->wait_head[k]->deadline_ns < next)
			next = s->wait_head[k]->deadline_ns;
	}
	if (atomic_load(&s->accept_paused) && s->accept_retry_ns < next)
		next = s->accept_retry_ns;
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	next = (next - now + 999999u) / 1000000u;
	return next > INT_MAX ? INT_MAX : (int)next;
}

/* Takes back the keep-alive connections the workers answered. */
static void resume_returned(struct serve *s)
{
	struct conn *c, *next;
	uint64_t v;

	if (read(s->wake, &v, sizeof(v)) < 0) {
		/* EAGAIN: someone else's wake-up was read already */
	}
	pthread_mutex_lock(&s->lock);
	c = s->returned;
	s->returned = NULL;
	pthread_mutex_unlock(&s->lock);
	for (; c; c = next) {
		next = c->next;
		conn_next(s, c);
	}
}

static void *acceptor_main(void *arg)
{
	struct serve *s = arg;
	struct epoll_event ev[64];

	pthread_setname_np(pthread_self(), "serve-acceptor");
	while (!atomic_load(&s->stopping)) {
		int n = epoll_wait(s->ep, ev, 64,
				   acceptor_sleep_ms(s, now_ns()));
		uint64_t now;

		for (int i = 0; i < n; i++) {
			void *p = ev[i].data.ptr;
			struct serve_listener *l = listener_of(s, p);
			struct conn *c = p;

			if (l)
				accept_all(s, l);
			else if (p == &s->wake)
				resume_returned(s);
			else if (p == &s->mon) /* --loop acceptor */
				hupmon_dispatch(s->mon, 0);
			else if (!c->out)
				conn_read(s, c);
			else if (conn_flush(s, c)) /* room for an answer */
				conn_next(s, c);
		}
		now = now_ns();
		expire(s, now);
		if (atomic_load(&s->accept_paused) &&
		    (now >= s->accept_retry_ns || atomic_load(&s->fd_freed)))
			accept_all(s, NULL);
	}
	return NULL;
}

/* ---- start, stop ------------------------------------------------------- */

/* Opens the listeners serve_opts asks for: TCP unless no_tcp, Unix with
 * unix_path. */
static int listen_on(struct serve *s)
{
	int rc;

	if (s->o.no_tcp && !s->o.unix_path)
		return -EINVAL; /* nowhere to listen */
	if (!s->o.no_tcp &&
	    (rc = serve_listen_tcp(&s->ls[s->nls], s->o.bind, s->o.port)))
		return rc;
	s->nls += !s->o.no_tcp;
	if (s->o.unix_path &&
	    (rc = serve_listen_unix(&s->ls[s->nls], s->o.unix_path)))
		return rc;
	s->nls += !!s->o.unix_path;
	return 0;
}

/* Adds fd to the acceptor's epoll set; tag tells the acceptor what it is. */
static int ep_add(struct serve *s, int fd, void *tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};

	return epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int setup(struct serve *s)
{
	int rc = listen_on(s);

	if (rc)
		return rc;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->ep < 0 || s->wake < 0)
		return -errno;
	for (unsigned i = 0; i < s->nls; i++) {
		if ((rc = ep_add(s, s->ls[i].fd, &s->ls[i])))
			return rc;
	}
	if ((rc = ep_add(s, s->wake, &s->wake)) || (rc = monitor_new(s)))
		return rc;
	/* --loop acceptor: hupmon's epoll fd is readable while it has work;
	 * level-triggered here, so one hupmon_dispatch(m, 0) per wake-up. */
	if (s->mon && s->o.loop == SERVE_LOOP_ACCEPTOR &&
	    (rc = ep_add(s, hupmon_fd(s->mon), &s->mon)))
		return rc;
	if ((rc = start_workers(s)))
		return rc;
	if (s->mon && s->o.loop == SERVE_LOOP_THREAD) {
		rc = -pthread_create(&s->hupmon_thread, NULL, hupmon_main, s);
		if (rc)
			return rc;
		s->hupmon_started = true;
	}
	rc = -pthread_create(&s->acceptor, NULL, acceptor_main, s);
	s->acceptor_started = !rc;
	return rc;
}

int serve_start(const struct serve_opts *o, struct serve **out)
{
	struct serve *s = calloc(1, sizeof(*s));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->o = *o;
	if (!s->o.header_timeout_ms)
		s->o.header_timeout_ms = SERVE_HEADER_TIMEOUT_MS;
	if (!s->o.idle_timeout_ms)
		s->o.idle_timeout_ms = SERVE_IDLE_TIMEOUT_MS;
	s->timeout_ns[SERVE_TIMEOUT_HEADER] =
		(uint64_t)s->o.header_timeout_ms * 1000000u;
	s->timeout_ns[SERVE_TIMEOUT_IDLE] =
		(uint64_t)s->o.idle_timeout_ms * 1000000u;
	s->timeout_ns[SERVE_TIMEOUT_WRITE] =
		(uint64_t)SERVE_WRITE_TIMEOUT_MS * 1000000u;
	s->ls[0].fd = s->ls[1].fd = -1;
	s->ep = s->wake = -1;
	s->nworkers = o->workers ? o->workers : cpus > 0 ? (unsigned)cpus : 1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->queued, NULL);
	s->workers = calloc(s->nworkers, sizeof(*s->workers));
	rc = s->workers ? setup(s) : -ENOMEM;
	if (rc) {
		serve_stop(s);
		return rc;
	}
	*out = s;
	return 0;
}

void serve_stop(struct serve *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->stopping, true);
	pthread_cond_broadcast(&s->queued);
	pthread_mutex_unlock(&s->lock);
	if (s->wake >= 0 && write(s->wake, &one, sizeof(one)) < 0) {
		/* cannot fail */
	}
	if (s->acceptor_started)
		pthread_join(s->acceptor, NULL);
	for (unsigned i = 0; i < s->started; i++)
		pthread_join(s->workers[i], NULL);
	if (s->hupmon_started) {
		hupmon_stop(s->mon);
		pthread_join(s->hupmon_thread, NULL);
	}
	/* Only this thread is left: end what still waits, close the rest. */
	while (s->conns) {
		struct conn *c = s->conns;

		conn_unwatch(s, c);
		if (c->state == C_QUEUED)
			request_end(s, &c->rec, SERVE_FAILED,
				    SERVE_FAIL_SHUTDOWN);
		conn_close(s, c);
	}
	hupmon_free(s->mon);
	for (unsigned i = 0; i < 2; i++)
		serve_listener_close(&s->ls[i]); /* and its socket file */
	if (s->ep >= 0)
		close(s->ep);
	if (s->wake >= 0)
		close(s->wake);
	pthread_cond_destroy(&s->queued);
	pthread_mutex_destroy(&s->lock);
	free(s->workers);
	free(s);
}

uint16_t serve_port(const struct serve *s)
{
	return s->nls && s->ls[0].family != AF_UNIX ? s->ls[0].port : 0;
}

unsigned serve_workers(const struct serve *s)
{
	return s->nworkers;
}

const struct serve_opts *serve_options(const struct serve *s)
{
	return &s->o;
}

const char *serve_worker_sched(const struct serve *s)
{
	return s->nice_workers ? "nice +10" : "SCHED_IDLE";
}

hupmon *serve_monitor(const struct serve *s)
{
	return s->mon;
}

void serve_counters(struct serve *s, struct serve_counters *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->n;
	pthread_mutex_unlock(&s->lock);
}

long serve_metrics(struct serve *s, char **out)
{
	struct serve_snapshot v = {.o = s->o, .workers = s->nworkers};

	v.sched = serve_worker_sched(s);
	hupmon_stats(s->mon, &v.st);
	serve_counters(s, &v.n);
	return serve_metrics_format(&v, out);
}
