/* SPDX-License-Identifier: MIT */
/*
 * defaults: what a zero struct hupmon_config runs, and the rule for paths 0
 * (hupmon.h, struct hupmon_config.paths): the epoll path alone, which costs
 * nothing per idle socket and creates no timerfd, unless a field only the
 * sweep uses is set, which turns on both paths. Each field of that table is
 * tested alone, with paths 0 and with an explicit EPOLL.
 *
 * Whether a monitor runs the sweep shows without internals: its timerfd
 * (a /proc/self/fd link "anon_inode:[timerfd]") and stats.swept, the
 * sockets under the sweep.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
#include "hupmon.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Open timerfds of this process. */
static int count_timerfds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		char path[300], link[64];
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len < 0)
			continue;
		link[len] = '\0';
		if (strcmp(link, "anon_inode:[timerfd]") == 0)
			n++;
	}
	closedir(d);
	return n;
}

static void on_stall(const struct hupmon_stall_event *ev, void *arg)
{
	(void)ev;
	(void)arg;
}

static void on_compare(const struct hupmon_compare *cmp, void *arg)
{
	(void)cmp;
	(void)arg;
}

/* One field of the table in hupmon.h, set to a valid non-zero value. */
struct field {
	const char *name;
	void (*set)(struct hupmon_config *c);
	/* hupmon_new with paths EPOLL and this field alone */
	int epoll_only_rc;
};

static void set_method(struct hupmon_config *c)
{
	c->sweep_method = HUPMON_SWEEP_PEEK;
}
static void set_period(struct hupmon_config *c)
{
	c->sweep_period_ms = 500;
}
static void set_tick(struct hupmon_config *c)
{
	c->sweep_tick_ms = 5;
}
static void set_budget(struct hupmon_config *c)
{
	c->sweep_cpu_budget = 0.5;
}
static void set_stall_ms(struct hupmon_config *c)
{
	c->stall_ms = 2000;
}
static void set_on_stall(struct hupmon_config *c)
{
	c->on_stall = on_stall;
}
static void set_compare(struct hupmon_config *c)
{
	c->compare = true;
}
static void set_deadline(struct hupmon_config *c)
{
	c->compare_deadline_ms = 100;
}
static void set_on_compare(struct hupmon_config *c)
{
	c->on_compare = on_compare;
}

static const struct field fields[] = {
	{"sweep_method", set_method, 0},
	{"sweep_period_ms", set_period, 0},
	{"sweep_tick_ms", set_tick, 0},
	{"sweep_cpu_budget", set_budget, 0},
	{"stall_ms", set_stall_ms, -EINVAL},
	{"on_stall", set_on_stall, 0},
	{"compare", set_compare, -EINVAL},
	{"compare_deadline_ms", set_deadline, 0},
	{"on_compare", set_on_compare, 0},
};

/* Watches one idle loopback socket and returns stats.swept. */
static uint64_t swept_with_one_socket(hupmon *m)
{
	struct hupmon_stats st;
	int s, c;
	hupmon_id id;

	fx_pair_ok(AF_INET, &s, &c);
	id = fx_watch_ok(m, s, NULL);
	fx_get_stats(m, &st);
	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	fx_close_ok(c);
	return st.swept;
}

/* paths 0 with nothing else set, by NULL and by a zero struct: the epoll
 * path alone (a FIN is reported), no timerfd, nothing swept. */
START_TEST(test_zero_config_is_epoll_only)
{
	struct hupmon_config zero;
	struct hupmon_event ev;
	struct fx_rec rec;
	hupmon *m;
	int before = count_timerfds(), s, c;
	hupmon_id id;

	ck_assert_int_eq(hupmon_new(NULL, &m), 0);
	ck_assert_int_eq(count_timerfds(), before);
	ck_assert_uint_eq(swept_with_one_socket(m), 0);
	hupmon_free(m);

	fx_rec_init(&rec);
	memset(&zero, 0, sizeof(zero));
	zero.on_hangup = fx_rec_on_hangup;
	zero.arg = &rec;
	ck_assert_int_eq(hupmon_new(&zero, &m), 0);
	ck_assert_int_eq(count_timerfds(), before);
	fx_pair_ok(AF_INET, &s, &c);
	id = fx_watch_ok(m, s, NULL);
	fx_close_fin(c);
	ck_assert(fx_dispatch_until_event(
		m, &rec, id, HUPMON_CAUSE_PEER_SHUTDOWN, FX_DEADLINE_MS));
	ck_assert(fx_rec_find(&rec, id, 0, &ev));
	ck_assert_int_eq(ev.path, HUPMON_PATH_EPOLL);
	fx_unwatch_ok(m, id);
	fx_close_ok(s);
	hupmon_free(m);
	fx_rec_destroy(&rec);
}
END_TEST

/* Each sweep field alone, paths 0: both paths (a timerfd, the socket
 * swept). The same field with paths EPOLL: refused where it needs the
 * sweep (stall_ms, compare), else accepted with no timerfd. */
START_TEST(test_sweep_field_turns_sweep_on)
{
	const struct field *f = &fields[_i];
	struct hupmon_config cfg;
	hupmon *m;
	int before = count_timerfds(), rc;

	memset(&cfg, 0, sizeof(cfg));
	f->set(&cfg);
	rc = hupmon_new(&cfg, &m);
	ck_assert_msg(rc == 0, "%s, paths 0: %d", f->name, rc);
	ck_assert_msg(count_timerfds() == before + 1, "%s: no timerfd",
		      f->name);
	ck_assert_msg(swept_with_one_socket(m) == 1, "%s: not swept", f->name);
	hupmon_free(m);
	ck_assert_int_eq(count_timerfds(), before);

	cfg.paths = HUPMON_PATH_EPOLL;
	rc = hupmon_new(&cfg, &m);
	ck_assert_msg(rc == f->epoll_only_rc, "%s, paths EPOLL: %d, want %d",
		      f->name, rc, f->epoll_only_rc);
	if (rc == 0) {
		ck_assert_int_eq(count_timerfds(), before);
		ck_assert_uint_eq(swept_with_one_socket(m), 0);
		hupmon_free(m);
	}
}
END_TEST

/* A field that turns the sweep on is still checked: an invalid value is
 * -EINVAL, not a silent default. */
START_TEST(test_sweep_field_still_checked)
{
	struct hupmon_config cfg;
	hupmon *m = (hupmon *)&cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.sweep_cpu_budget = NAN;
	ck_assert_int_eq(hupmon_new(&cfg, &m), -EINVAL);
	ck_assert_ptr_null(m);
	memset(&cfg, 0, sizeof(cfg));
	cfg.sweep_tick_ms = 2000; /* longer than the default period */
	ck_assert_int_eq(hupmon_new(&cfg, &m), -EINVAL);
	memset(&cfg, 0, sizeof(cfg));
	cfg.stall_ms = 1000; /* under 2 x the default period */
	ck_assert_int_eq(hupmon_new(&cfg, &m), -EINVAL);
	memset(&cfg, 0, sizeof(cfg));
	cfg.sweep_method = HUPMON_SWEEP_PEEK;
	cfg.no_touch = true;
	ck_assert_int_eq(hupmon_new(&cfg, &m), -EINVAL);
}
END_TEST

#define IDLE_SOCKETS 1000

/* The cost of the default: 1 000 watched idle sockets for 3 s, no probe,
 * no tick, no timerfd. */
START_TEST(test_zero_config_idle_costs_nothing)
{
	static int s[IDLE_SOCKETS], c[IDLE_SOCKETS];
	static hupmon_id id[IDLE_SOCKETS];
	struct hupmon_stats st;
	struct rlimit r;
	hupmon *m;
	int before = count_timerfds();

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &r), 0);
	if (r.rlim_cur < 2 * IDLE_SOCKETS + 64) {
		ck_assert_uint_ge(r.rlim_max, 2 * IDLE_SOCKETS + 64);
		r.rlim_cur = 2 * IDLE_SOCKETS + 64;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &r), 0);
	}
	ck_assert_int_eq(hupmon_new(NULL, &m), 0);
	for (int i = 0; i < IDLE_SOCKETS; i++) {
		fx_pair_ok(AF_INET, &s[i], &c[i]);
		id[i] = fx_watch_ok(m, s[i], NULL);
	}
	fx_dispatch_for(m, 3000);
	fx_get_stats(m, &st);
	ck_assert_uint_eq(st.watched, IDLE_SOCKETS);
	ck_assert_uint_eq(st.swept, 0);
	ck_assert_uint_eq(st.sweep_probes, 0);
	ck_assert_uint_eq(st.sweep_ticks, 0);
	ck_assert_uint_eq(st.sweep_laps, 0);
	ck_assert_uint_eq(st.sweep_tick_ns, 0);
	ck_assert_int_eq(count_timerfds(), before);
	for (int i = 0; i < IDLE_SOCKETS; i++) {
		fx_unwatch_ok(m, id[i]);
		fx_close_ok(s[i]);
		fx_close_ok(c[i]);
	}
	hupmon_free(m);
}
END_TEST

static Suite *defaults_suite(void)
{
	Suite *su = suite_create("defaults");

	fx_add_case(su, "zero_config_is_epoll_only",
		    test_zero_config_is_epoll_only, 0, 10);
	fx_add_case(su, "sweep_field_turns_sweep_on",
		    test_sweep_field_turns_sweep_on, (int)ARRAY_SIZE(fields),
		    10);
	fx_add_case(su, "sweep_field_still_checked",
		    test_sweep_field_still_checked, 0, 10);
	fx_add_case(su, "zero_config_idle_costs_nothing",
		    test_zero_config_idle_costs_nothing, 0, 60);
	return su;
}

int main(void)
{
	return fx_run_suite(defaults_suite());
}
