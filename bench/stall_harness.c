/* SPDX-License-Identifier: MIT */
/*
 * stall_harness: what every stall case uses (stall.h): the log its monitor
 * reports into, connection pairs on loopback or across the lab, and the
 * rows it keeps.
 */
#include "stall.h"
#include "detect_stall.h"
#include "lab/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* tcpi_state and tcpi_notsent_bytes of the conn's server end, now. */
static void note_queue(struct sconn *c)
{
	struct hupmon__tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(c->sfd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return;
	c->stall_state = ti.state;
	c->stall_notsent = ti.notsent_bytes;
}

static void on_stall(const struct hupmon_stall_event *ev, void *arg)
{
	struct slog *l = arg;
	struct sconn *c = ev->user;

	if (!c) {
		l->stray++;
		return;
	}
	if (ev->kind == HUPMON_STALL_KIND_STALLED) {
		l->stalls++;
		if (!c->t_stall) {
			c->t_stall = ev->detected_ns;
			c->reason = ev->reason;
			note_queue(c);
		}
	} else {
		l->recs++;
		if (!c->t_rec)
			c->t_rec = ev->detected_ns;
	}
}

static void on_hangup(const struct hupmon_event *ev, void *arg)
{
	struct slog *l = arg;
	struct sconn *c = ev->user;

	l->hups++;
	if (c && !c->t_hup) {
		c->t_hup = ev->detected_ns;
		c->cause = ev->cause;
	}
}

hupmon *stall_monitor(struct slog *l, uint32_t stall_ms)
{
	struct hupmon_config cfg = {.on_hangup = on_hangup,
				    .on_stall = on_stall,
				    .arg = l,
				    .sweep_period_ms = STALL_PERIOD,
				    .stall_ms = stall_ms};
	hupmon *m = NULL;
	int rc = hupmon_new(&cfg, &m);

	if (rc)
		die("hupmon_new", -rc);
	return m;
}

void stall_dispatch_for(hupmon *m, uint64_t ns)
{
	uint64_t end = now_ns() + ns;

	while (now_ns() < end)
		hupmon_dispatch(m, 10);
}

int stall_pair(int lfd, bool lab, uint16_t port, int rcvbuf, int *srv, int *cli)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

	inet_pton(AF_INET, lab ? NETNS_SRV_ADDR : "127.0.0.1", &a.sin_addr);
	*cli = lab ? netns_socket(NETNS_CLI)
		   : socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*cli < 0)
		return lab ? *cli : -errno;
	if (rcvbuf)
		setsockopt(*cli, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			   sizeof(rcvbuf));
	if (connect(*cli, (struct sockaddr *)&a, sizeof(a)))
		return -errno;
	*srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (*srv < 0)
		return -errno;
	fcntl(*cli, F_SETFL, O_NONBLOCK);
	return 0;
}

uint64_t stall_gap_bound(hupmon *m)
{
	struct hupmon_stats st;

	hupmon_stats(m, &st);
	return st.sweep_gap_bound_ns;
}

/* The next row of sr, named, with its note; dies when sr's rows are full
 * (STALL_MAX_ROWS holds every case). */
static struct stall_row *row_add(struct stall_res *sr, const char *name,
				 const char *note)
{
	struct stall_row *row;

	if (sr->nrow >= STALL_MAX_ROWS)
		die("stall: rows", EOVERFLOW);
	row = &sr->row[sr->nrow++];
	memset(row, 0, sizeof(*row));
	snprintf(row->name, sizeof(row->name), "%s", name);
	snprintf(row->note, sizeof(row->note), "%s", note);
	return row;
}

struct stall_row *stall_row(const char *name, struct vec *v, double bound_ms,
			    unsigned want, unsigned fals, const char *note,
			    struct stall_res *sr)
{
	struct dist d = dist_of(v, 1e6);
	struct stall_row *row = row_add(sr, name, note);

	row->want = want;
	row->reported = (unsigned)d.n;
	row->fals = fals;
	row->p50_ms = d.p50;
	row->max_ms = d.max;
	row->bound_ms = bound_ms;
	return row;
}

struct stall_row *stall_row_silent(const char *name, unsigned fals,
				   bool untested, const char *note,
				   struct stall_res *sr)
{
	struct stall_row *row = row_add(sr, name, note);

	row->silent = true;
	row->untested = untested;
	row->fals = fals;
	row->p50_ms = row->max_ms = row->bound_ms = NAN;
	return row;
}

void stall_fig(struct stall_row *row, const char *key, double x, int prec)
{
	if (row->nfig >= STALL_MAX_FIGS)
		die("stall: figures", EOVERFLOW);
	row->fig[row->nfig++] = (struct stall_fig){key, x, prec};
}

void stall_brief(struct stall_row *row, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(row->brief, sizeof(row->brief), fmt, ap);
	va_end(ap);
}

void stall_error(struct stall_res *sr, const char *fmt, ...)
{
	va_list ap;

	sr->setup_failed++;
	if (sr->nerror >= STALL_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(sr->error[sr->nerror++], sizeof(sr->error[0]), fmt, ap);
	va_end(ap);
}

void stall_drain_each(hupmon *m, struct sconn *c, unsigned n, struct vec *rec)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t end = now_ns() + 3000 * NS_PER_MS;
		size_t got = 0;

		c[i].t_fail = now_ns();
		while (got < c[i].sent && now_ns() < end) {
			got += netns_drain(c[i].cfd);
			hupmon_dispatch(m, 0);
		}
		while (!c[i].t_rec && now_ns() < end)
			hupmon_dispatch(m, 5);
		if (c[i].t_rec)
			vec_push(rec, c[i].t_rec - c[i].t_fail);
	}
}

void stall_close(struct sconn *c, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		close(c[i].sfd);
		close(c[i].cfd);
	}
}
