/* SPDX-License-Identifier: MIT */
/*
 * fixture: loopback helpers shared by the end-to-end suites.
 *
 * Real sockets only: fx_pair() connects a client to a listener on 127.0.0.1
 * or ::1 and hands back both ends; the server end is the one hupmon watches.
 * The client actions (FIN, RST, half-close, data-then-FIN) return the
 * CLOCK_MONOTONIC time taken just before the action, for latency checks.
 *
 * An event recorder (struct fx_rec) collects copies of every hangup and
 * compare record; fx_dispatch_*() dispatch in short slices until a condition
 * holds or a deadline passes, never sleeping as synchronisation.
 *
 * Helpers that cannot go on (a failed socket call) fail the running Check
 * test with ck_assert, so callers need not check their results.
 */
#ifndef HUPMON_TEST_FIXTURE_H
#define HUPMON_TEST_FIXTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hupmon.h"

/* --- environment ------------------------------------------------------- */

/* 1.0 normally, 0.2 with HUPMON_TEST_SCALE=small (sanitizer presets). */
double fx_scale(void);
/* n scaled by fx_scale(), at least 1. */
int fx_scaled(int n);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t fx_now_ns(void);
/* Entries in /proc/self/fd (the directory's own fd not counted). */
int fx_count_fds(void);

/* Checked fixture: setup records the fd count, teardown closes the cached
 * listeners and fails the test if the count changed. */
void fx_setup(void);
void fx_teardown(void);

/* --- loopback pairs ---------------------------------------------------- */

/* True if a loopback listener of this family (AF_INET, AF_INET6) can be
 * opened; otherwise prints why once and returns false. */
bool fx_family_available(int family);
/* "ipv4" / "ipv6". */
const char *fx_family_name(int family);

/* A connected pair over loopback: *server_fd is the accepted end, *client_fd
 * the connecting end; both blocking and close-on-exec. Returns 0 or -errno.
 * The listener of each family is opened on first use and kept until
 * fx_listeners_close() (called by fx_teardown). */
int fx_pair(int family, int *server_fd, int *client_fd);
void fx_listeners_close(void);
/* fx_pair that must succeed (fails the test otherwise). */
void fx_pair_ok(int family, int *server_fd, int *client_fd);

/* Client actions; each returns CLOCK_MONOTONIC ns taken just before it.
 * fx_close_fin, fx_close_rst and fx_data_then_fin close fd; fx_half_close
 * leaves it open (the caller closes it later). */
uint64_t fx_close_fin(int fd);
uint64_t fx_close_rst(int fd);	/* SO_LINGER {1, 0} then close: RST */
uint64_t fx_half_close(int fd); /* shutdown(SHUT_WR): FIN, fd stays open */
uint64_t fx_data_then_fin(int fd);

/* One of the client actions above on *c, which is then -1 (closed) except
 * after a half-close; returns the time taken just before it. */
enum fx_action { FX_FIN, FX_RST, FX_HALF, FX_DATA_FIN };
uint64_t fx_act(enum fx_action a, int *c);

/* Closes k of the n client fds c[], chosen at random (seeded), each by FIN
 * or RST at random: sets want[x] to the cause the server end must report
 * (PEER_SHUTDOWN or RESET) and c[x] to -1 for each one closed; want[] of
 * the others is left as it was. */
void fx_close_random(int *c, enum hupmon_cause *want, int n, int k,
		     uint64_t *seed);

/* poll() fd until one of events (POLLHUP/POLLERR always count) is reported
 * or timeout_ms passes; returns the revents seen (0 on timeout). Used to
 * know a FIN or RST has reached a socket before watching it. */
short fx_wait_fd(int fd, short events, int timeout_ms);

/* xorshift64* generator for seeded, reproducible random choices. */
uint64_t fx_rand(uint64_t *state);
/* A seed from HUPMON_TEST_SEED if set, else from the clock; printed. */
uint64_t fx_seed(const char *what);

/* --- event recorder ---------------------------------------------------- */

struct fx_rec;
/* Optional hooks run on the dispatching thread after the record is stored,
 * outside the recorder lock (so they may block or call hupmon). */
typedef void fx_event_hook(struct fx_rec *rec, const struct hupmon_event *ev);
typedef void fx_compare_hook(struct fx_rec *rec,
			     const struct hupmon_compare *cmp);

struct fx_rec {
	pthread_mutex_t lock;
	struct hupmon_event *ev; /* under lock */
	size_t n_ev, cap_ev;
	struct hupmon_compare *cmp; /* under lock */
	size_t n_cmp, cap_cmp;
	/* set before the monitor dispatches, read-only afterwards */
	fx_event_hook *on_event;
	fx_compare_hook *on_compare;
	void *hook_arg;
};

void fx_rec_init(struct fx_rec *rec);
void fx_rec_destroy(struct fx_rec *rec);
/* Pass as config.on_hangup / config.on_compare with the recorder as arg. */
void fx_rec_on_hangup(const struct hupmon_event *ev, void *arg);
void fx_rec_on_compare(const struct hupmon_compare *cmp, void *arg);

size_t fx_rec_count(struct fx_rec *rec);
size_t fx_rec_count_id(struct fx_rec *rec, hupmon_id id);
size_t fx_rec_count_cause(struct fx_rec *rec, enum hupmon_cause cause);
size_t fx_rec_count_id_cause(struct fx_rec *rec, hupmon_id id,
			     enum hupmon_cause cause);
/* Copies the i-th event overall; false if there is none. */
bool fx_rec_event(struct fx_rec *rec, size_t i, struct hupmon_event *out);
/* Copies the nth (0-based) event for id; false if there is none. */
bool fx_rec_find(struct fx_rec *rec, hupmon_id id, size_t nth,
		 struct hupmon_event *out);

size_t fx_rec_count_cmp(struct fx_rec *rec);
size_t fx_rec_count_cmp_id(struct fx_rec *rec, hupmon_id id);
bool fx_rec_cmp(struct fx_rec *rec, size_t i, struct hupmon_compare *out);
bool fx_rec_find_cmp(struct fx_rec *rec, hupmon_id id,
		     struct hupmon_compare *out);

/* --- stall reports ----------------------------------------------------- */

/* A plain log of stall reports and hangups for the stall suites: pass the
 * two callbacks in the config with the log as arg. Single-threaded (the
 * dispatching thread writes, the test reads after dispatching). */
#define FX_STALL_LOG_MAX 64
struct fx_stall_log {
	struct hupmon_stall_event st[FX_STALL_LOG_MAX];
	size_t nst;
	struct hupmon_event hup[FX_STALL_LOG_MAX];
	size_t nhup;
};
void fx_stall_log_on_stall(const struct hupmon_stall_event *ev, void *arg);
void fx_stall_log_on_hangup(const struct hupmon_event *ev, void *arg);

/* An IPv4 loopback pair whose client has a small receive buffer (4 KiB, set
 * before connect, so the window scale stays small) and the server a small
 * send buffer: once the client stops reading, the server's writes shut its
 * window within a few KiB. Both ends are non-blocking. */
void fx_small_pair(int *srv, int *cli);
/* Writes until the send buffer is full (EAGAIN); returns bytes written. */
size_t fx_fill(int fd);
/* Reads what is there (non-blocking); returns bytes read. */
size_t fx_drain(int fd);

/* --- dispatching ------------------------------------------------------- */

typedef bool fx_pred(hupmon *m, struct fx_rec *rec, void *arg);

/* Dispatches (hupmon_dispatch(m, 50)) until pred holds or deadline_ms
 * passes; returns whether pred holds. Fails the test if dispatch fails. */
bool fx_dispatch_until(hupmon *m, struct fx_rec *rec, fx_pred *pred, void *arg,
		       int deadline_ms);
/* ... until the recorder holds at least n hangup events. */
bool fx_dispatch_until_count(hupmon *m, struct fx_rec *rec, size_t n,
			     int deadline_ms);
/* ... until an event for id with cause has been recorded. */
bool fx_dispatch_until_event(hupmon *m, struct fx_rec *rec, hupmon_id id,
			     enum hupmon_cause cause, int deadline_ms);
/* ... until the recorder holds at least n compare records. */
bool fx_dispatch_until_cmp(hupmon *m, struct fx_rec *rec, size_t n,
			   int deadline_ms);
/* Dispatches for ms milliseconds whatever happens (for "nothing is
 * reported" checks); returns the sum of dispatch results. */
long fx_dispatch_for(hupmon *m, int ms);

/* --- checked calls ---------------------------------------------------- */

/* hupmon_watch that must succeed with a non-zero id. */
hupmon_id fx_watch_ok(hupmon *m, int fd, void *user);
/* hupmon_unwatch that must succeed. */
void fx_unwatch_ok(hupmon *m, hupmon_id id);
/* close() that must succeed; fd < 0 is skipped. */
void fx_close_ok(int fd);
/* hupmon_stats into a poisoned struct, so an unset field shows. */
void fx_get_stats(hupmon *m, struct hupmon_stats *st);

/* --- monitors and their reports --------------------------------------- */

/* Loop tests run index 0 over IPv4 and 1 over IPv6 (and so on, mod 2). */
int fx_family_of(int i);

/* The epoll path's waits: reports are near-instant; "nothing more is
 * reported" is a bounded quiet window. */
#define FX_DEADLINE_MS 2000
#define FX_QUIET_MS    300

/* The sweep of the end-to-end suites: a 100 ms period in 10 ms ticks.
 * Waits for a report allow several periods plus 2 s; waits for n laps, n
 * periods plus 2 s. */
#define FX_SWEEP_PERIOD_MS  100
#define FX_SWEEP_TICK_MS    10
#define FX_SWEEP_REPORT_MS  (5 * FX_SWEEP_PERIOD_MS + 2000)
#define FX_SWEEP_LAPS_MS(n) ((n)*FX_SWEEP_PERIOD_MS + 2000)

/* Loop index bit 1 picks the sweep method: 0-1 TCP_INFO, 2-3 PEEK. */
enum hupmon_sweep_method fx_method_of(int i);
/* "tcp_info" / "peek". */
const char *fx_method_name(enum hupmon_sweep_method m);

/* A monitor of the epoll path alone, reporting to rec; fails the test if
 * it cannot be made. */
hupmon *fx_new_epoll_monitor(struct fx_rec *rec, bool no_touch);
/* A monitor with the sweep above, reporting hangups (and, with compare,
 * compare records) to rec; paths 0 means both. Fails the test if it cannot
 * be made. */
hupmon *fx_new_sweep_monitor(struct fx_rec *rec,
			     enum hupmon_sweep_method method, unsigned paths,
			     bool compare, bool no_touch);

/* Checks the fields every report must carry: id, fd, user, path, cause,
 * error, escalation, and detected_ns within [after_ns, now]. */
void fx_check_event(const struct hupmon_event *ev, enum hupmon_path path,
		    hupmon_id id, int fd, void *user, enum hupmon_cause cause,
		    int error, bool escalation, uint64_t after_ns);

/* The sum of a path x cause table of struct hupmon_stats. */
uint64_t fx_sum_cells(const uint64_t t[HUPMON_PATH_COUNT][HUPMON_CAUSE_COUNT]);

/* Dispatches until n more sweep laps have completed; fails the test if the
 * sweep does not lap within FX_SWEEP_LAPS_MS(n). */
void fx_wait_laps(hupmon *m, struct fx_rec *rec, unsigned n);
/* A "nothing more is reported" window of n laps. A socket that reached a
 * final cause leaves the sweep (nothing more can be reported for it), so
 * with nothing left under the sweep the timer stops and laps no longer
 * complete: then it dispatches for n periods instead. */
void fx_quiet_laps(hupmon *m, struct fx_rec *rec, unsigned n);

/* --- running a suite --------------------------------------------------- */

struct Suite;
struct TTest;
/* Adds to su a test case named name holding t (a loop test over
 * 0..loops-1 when loops > 0), with the checked fixture fx_setup /
 * fx_teardown and a timeout of timeout_s seconds. */
void fx_add_case(struct Suite *su, const char *name, const struct TTest *t,
		 int loops, int timeout_s);
/* Runs every test of the suite (CK_NORMAL output) and frees it; returns
 * the process exit status: EXIT_SUCCESS if all passed. */
int fx_run_suite(struct Suite *s);

#endif
