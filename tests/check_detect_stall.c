/* SPDX-License-Identifier: MIT */
/*
 * check_detect_stall: the stall classifier on traces, sample by sample. No
 * sockets. Each trace follows what TCP_INFO shows in one situation (see
 * src/detect_stall.h): a dead path with data in flight, a live peer with its
 * window shut, a slow lossy link, an idle connection that writes once, data
 * that never left (a qdisc dropping everything, no route) and the live
 * cases of the same shape that must stay silent (cork, a window smaller than
 * a segment, a tiny pacing rate); plus the hysteresis, the one escalation
 * per episode and the clock wrap. The never-sent traces and their live
 * look-alikes are TCP_INFO as sampled on Linux 6.18 (bytes_acked,
 * delivered, probes, backoff, rto, snd_wnd as read; times rounded).
 */
#include <check.h>

#include "fixture.h"
#include <stdlib.h>
#include <string.h>

#include "detect_stall.h"

#define STALL_MS 1000u

enum {
	N = HUPMON__STALL_NONE,
	ZW = HUPMON__STALL_ZERO_WINDOW,
	NA = HUPMON__STALL_NO_ACK,
	RE = HUPMON__STALL_RECOVERED
};

/* One sample: time, then the TCP_INFO fields the classifier reads, then the
 * verdict wanted (and whether it is an escalation). */
struct row {
	uint64_t t_ms;
	uint32_t unacked, notsent;
	uint64_t acked;
	uint32_t delivered, last_ack_ms, probes, backoff, rto_ms, wnd;
	int want;
	bool esc;
};

struct trace {
	const char *name;
	const struct row *rows;
	size_t n;
	uint64_t t0; /* added to every t_ms (clock wrap) */
};

static void sample(const struct row *r, struct hupmon__tcp_info *ti)
{
	memset(ti, 0, sizeof(*ti));
	ti->unacked = r->unacked;
	ti->notsent_bytes = r->notsent;
	ti->bytes_acked = r->acked;
	ti->delivered = r->delivered;
	ti->last_ack_recv_ms = r->last_ack_ms;
	ti->probes = (uint8_t)r->probes;
	ti->backoff = (uint8_t)r->backoff;
	ti->rto_us = r->rto_ms * 1000u;
	ti->snd_wnd = r->wnd;
}

/* A dead path: 10 segments in flight, nothing acknowledged, the window
 * open, retransmissions backing off. NO_ACK once stall_ms of samples saw
 * no progress, once; then nothing however long it lasts. */
static const struct row dead_path[] = {
	{0, 10, 0, 5000, 50, 5, 0, 0, 200, 65535, N, false},
	{100, 10, 0, 5000, 50, 105, 0, 0, 200, 65535, N, false},
	{300, 10, 0, 5000, 50, 305, 0, 1, 200, 65535, N, false},
	{700, 10, 4000, 5000, 50, 705, 0, 2, 200, 65535, N, false},
	{999, 10, 8000, 5000, 50, 1004, 0, 3, 200, 65535, N, false},
	{1000, 10, 8000, 5000, 50, 1005, 0, 3, 200, 65535, NA, false},
	{1100, 10, 8000, 5000, 50, 1105, 0, 3, 200, 65535, N, false},
	{5000, 10, 8000, 5000, 50, 5005, 0, 5, 200, 65535, N, false},
	{60000, 10, 8000, 5000, 50, 60005, 0, 9, 200, 65535, N, false},
};

/* A live peer that stopped reading: window 0, our data queued, only window
 * probes out, each answered (last_ack_recv saw-tooths, probes 0 or 1, even
 * 2 for one round trip). ZERO_WINDOW after stall_ms, never escalated; the
 * peer drains: RECOVERED at the first sample with progress. */
static const struct row window_shut[] = {
	{0, 0, 90000, 1000000, 700, 10, 0, 0, 200, 0, N, false},
	{200, 0, 90000, 1000000, 700, 210, 0, 1, 200, 0, N, false},
	{400, 0, 90000, 1000000, 700, 10, 1, 1, 200, 0, N, false},
	{900, 0, 90000, 1000000, 700, 310, 0, 2, 200, 0, N, false},
	{1000, 0, 90000, 1000000, 700, 410, 0, 2, 200, 0, ZW, false},
	{1500, 0, 90000, 1000000, 700, 100, 2, 3, 200, 0, N, false},
	{2500, 0, 90000, 1000000, 700, 900, 1, 3, 200, 0, N, false},
	{4000, 0, 90000, 1000000, 700, 1500, 0, 4, 200, 0, N, false},
	{4100, 0, 60000, 1030000, 721, 0, 0, 0, 200, 32768, RE, false},
	{4200, 0, 0, 1090000, 762, 0, 0, 0, 200, 65535, N, false},
	{9000, 0, 0, 1090000, 762, 4800, 0, 0, 200, 65535, N, false},
};

/* The peer stops answering the window probes (its host died with the
 * window shut): one escalation to NO_ACK at probes >= 3, then nothing. */
static const struct row window_then_dead[] = {
	{0, 0, 90000, 1000000, 700, 10, 0, 0, 200, 0, N, false},
	{1000, 0, 90000, 1000000, 700, 410, 0, 2, 200, 0, ZW, false},
	{2000, 0, 90000, 1000000, 700, 1410, 1, 3, 200, 0, N, false},
	{3000, 0, 90000, 1000000, 700, 2410, 2, 4, 200, 0, N, false},
	{6000, 0, 90000, 1000000, 700, 5410, 3, 5, 200, 0, NA, true},
	{9000, 0, 90000, 1000000, 700, 8410, 4, 6, 200, 0, N, false},
	{20000, 0, 90000, 1000000, 700, 19410, 5, 7, 200, 0, N, false},
};

/* The same, seen through the ACK age instead: probes still reads 2, but
 * no ACK for more than twice rto << backoff (2 x 200 << 1 = 800 ms). */
static const struct row window_then_silent[] = {
	{0, 0, 90000, 1000000, 700, 10, 0, 0, 200, 0, N, false},
	{1000, 0, 90000, 1000000, 700, 300, 0, 1, 200, 0, ZW, false},
	{1500, 0, 90000, 1000000, 700, 800, 2, 1, 200, 0, N, false},
	{1600, 0, 90000, 1000000, 700, 801, 2, 1, 200, 0, NA, true},
	{1700, 0, 90000, 1000000, 700, 900, 2, 1, 200, 0, N, false},
};

/* tbf at 10 mbit / 50 ms with drops: in loss recovery bytes_acked freezes
 * for over a second while delivered (SACKs) moves at every sample; unacked
 * always > 0. Never a stall. */
static const struct row lossy_link[] = {
	{0, 40, 200000, 1000000, 1000, 3, 0, 0, 250, 60000, N, false},
	{100, 42, 200000, 1000000, 1009, 1, 0, 0, 250, 60000, N, false},
	{300, 44, 200000, 1000000, 1027, 4, 0, 0, 250, 60000, N, false},
	{600, 45, 200000, 1000000, 1049, 2, 0, 0, 250, 60000, N, false},
	{900, 43, 200000, 1000000, 1070, 8, 0, 0, 250, 60000, N, false},
	{1200, 41, 200000, 1000000, 1094, 3, 0, 0, 250, 60000, N, false},
	{1300, 40, 180000, 1250000, 1101, 2, 0, 0, 250, 60000, N, false},
	{2500, 39, 100000, 1400000, 1210, 24, 0, 0, 250, 60000, N, false},
};

/* Idle for 3 s, then one write: the sample in between sees unacked 1 and
 * an ACK 3 s old; the next sees the ACK. Nothing to report. */
static const struct row idle_then_write[] = {
	{0, 0, 0, 4000, 40, 100, 0, 0, 200, 65535, N, false},
	{1000, 0, 0, 4000, 40, 1100, 0, 0, 200, 65535, N, false},
	{3000, 1, 0, 4000, 40, 3000, 0, 0, 200, 65535, N, false},
	{3100, 0, 0, 4100, 41, 20, 0, 0, 200, 65535, N, false},
	{9000, 0, 0, 4100, 41, 5920, 0, 0, 200, 65535, N, false},
};

/* Hysteresis: after RECOVERED a new episode needs a full stall_ms without
 * progress from the recovering sample; a streak restarts at each bit of
 * progress (a reader that sips keeps it from ever stalling). */
static const struct row hysteresis[] = {
	{0, 0, 90000, 1000000, 700, 10, 0, 0, 200, 0, N, false},
	{1000, 0, 90000, 1000000, 700, 410, 0, 2, 200, 0, ZW, false},
	{1100, 0, 90000, 1000100, 701, 0, 0, 0, 200, 0, RE, false},
	{1200, 0, 90000, 1000100, 701, 100, 0, 1, 200, 0, N, false},
	{2000, 0, 90000, 1000100, 701, 900, 0, 2, 200, 0, N, false},
	{2099, 0, 90000, 1000100, 701, 999, 0, 2, 200, 0, N, false},
	{2100, 0, 90000, 1000100, 701, 1000, 0, 2, 200, 0, ZW, false},
	{2600, 0, 90000, 1000200, 702, 0, 0, 0, 200, 0, RE, false},
	{3500, 0, 90000, 1000300, 703, 0, 0, 0, 200, 0, N, false},
	{4400, 0, 90000, 1000400, 704, 0, 0, 0, 200, 0, N, false},
	{5300, 0, 90000, 1000500, 705, 0, 0, 0, 200, 0, N, false},
};

/* Nothing outstanding, counters frozen: an idle connection never stalls. */
static const struct row idle[] = {
	{0, 0, 0, 4000, 40, 100, 0, 0, 200, 65535, N, false},
	{5000, 0, 0, 4000, 40, 5100, 0, 0, 200, 65535, N, false},
	{500000, 0, 0, 4000, 40, 500100, 0, 0, 200, 65535, N, false},
};

/* Data that never left, loopback in a namespace with a pfifo qdisc of
 * limit 0: 64 KiB written at 100 ms, nothing in flight, the window open,
 * the probe timer failing every 500 ms after the first RTO (probes 1 at
 * ~350 ms, 3 at ~1350 ms). stall_ms passes at 1100 with probes 2: nothing
 * yet; NO_ACK when the third attempt has failed; then nothing however long
 * it lasts; RECOVERED when the qdisc goes and the data is acknowledged. */
static const struct row never_sent_qdisc[] = {
	{0, 0, 0, 0, 1, 940, 0, 0, 204, 65536, N, false},
	{100, 0, 65536, 0, 1, 1040, 0, 0, 204, 65536, N, false},
	{350, 0, 65536, 0, 1, 1292, 1, 0, 204, 65536, N, false},
	{600, 0, 65536, 0, 1, 1540, 1, 0, 204, 65536, N, false},
	{850, 0, 65536, 0, 1, 1792, 2, 0, 204, 65536, N, false},
	{1100, 0, 65536, 0, 1, 2040, 2, 0, 204, 65536, N, false},
	{1350, 0, 65536, 0, 1, 2292, 3, 0, 204, 65536, NA, false},
	{1600, 0, 65536, 0, 1, 2548, 3, 0, 204, 65536, N, false},
	{3600, 0, 65536, 0, 1, 4548, 7, 0, 204, 65536, N, false},
	{6100, 0, 65536, 0, 1, 7048, 12, 0, 204, 65536, N, false},
	{6400, 0, 0, 65536, 3, 10, 0, 0, 204, 65536, RE, false},
	{9000, 0, 0, 65536, 3, 2610, 0, 0, 204, 65536, N, false},
};

/* Data that never left, veth, the server's own link down (no route): the
 * probe timer backs off (rto << backoff), its third failure at ~1600 ms
 * after the write; probes sit at 2 for 800 ms past stall_ms. */
static const struct row never_sent_no_route[] = {
	{0, 0, 0, 0, 1, 900, 0, 0, 204, 64512, N, false},
	{100, 0, 65536, 0, 1, 1012, 0, 0, 204, 64512, N, false},
	{300, 0, 65536, 0, 1, 1212, 0, 0, 204, 64512, N, false},
	{500, 0, 65536, 0, 1, 1412, 1, 1, 204, 64512, N, false},
	{900, 0, 65536, 0, 1, 1812, 2, 2, 204, 64512, N, false},
	{1100, 0, 65536, 0, 1, 2012, 2, 2, 204, 64512, N, false},
	{1500, 0, 65536, 0, 1, 2416, 2, 2, 204, 64512, N, false},
	{1700, 0, 65536, 0, 1, 2616, 3, 3, 204, 64512, NA, false},
	{2900, 0, 65536, 0, 1, 3816, 3, 3, 204, 64512, N, false},
};

/* Live: 100 bytes written under TCP_CORK. The probe timer pushes them
 * within an RTO; the ACK is progress. Nothing to report. */
static const struct row corked[] = {
	{0, 0, 0, 0, 1, 900, 0, 0, 200, 65536, N, false},
	{100, 0, 100, 0, 1, 1000, 0, 0, 200, 65536, N, false},
	{200, 0, 100, 0, 1, 1100, 0, 0, 200, 65536, N, false},
	{300, 0, 100, 0, 1, 1200, 0, 0, 200, 65536, N, false},
	{400, 0, 0, 100, 2, 96, 0, 0, 204, 65536, N, false},
	{5000, 0, 0, 100, 2, 4696, 0, 0, 204, 65536, N, false},
};

/* Live: the reader clamped its window to 2 KiB, below our 46 KiB MSS, and
 * reads all it gets: a full segment never fits, the probe timer sends one
 * window's worth per RTO and the peer acknowledges it (tcpi_probes 0, and
 * progress at every sample 200 ms apart). */
static const struct row window_below_segment[] = {
	{0, 0, 658432, 128000, 6, 200, 0, 0, 208, 2048, N, false},
	{200, 0, 656384, 130048, 7, 188, 0, 0, 208, 2048, N, false},
	{400, 0, 654336, 132096, 8, 172, 0, 0, 208, 2048, N, false},
	{600, 0, 652288, 134144, 9, 160, 0, 0, 204, 2048, N, false},
	{800, 0, 650240, 136192, 10, 152, 0, 0, 204, 2048, N, false},
	{1000, 0, 648192, 138240, 11, 144, 0, 0, 204, 2048, N, false},
	{1200, 0, 646144, 140288, 12, 136, 0, 0, 204, 2048, N, false},
	{1400, 0, 644096, 142336, 13, 132, 0, 0, 204, 2048, N, false},
	{1600, 0, 642048, 144384, 14, 124, 0, 0, 204, 2048, N, false},
	{1800, 0, 640000, 146432, 15, 116, 0, 0, 204, 2048, N, false},
	{2000, 0, 637952, 148480, 16, 108, 0, 0, 204, 2048, N, false},
};

/* Live: SO_MAX_PACING_RATE 1000 B/s. Ten segments go unpaced, then 3.5 MB
 * wait on the pacing timer (the next 64 KiB segment is 65 s away): window
 * open, nothing in flight, no progress for as long as it lasts, and the
 * probe timer never fires (tcpi_probes 0). Nothing to report. */
static const struct row tiny_pacing_rate[] = {
	{0, 2, 3830272, 32768, 2, 8, 0, 0, 204, 95232, N, false},
	{250, 0, 3523584, 419840, 11, 248, 0, 0, 204, 192512, N, false},
	{500, 0, 3523584, 419840, 11, 496, 0, 0, 204, 192512, N, false},
	{1250, 0, 3523584, 419840, 11, 1248, 0, 0, 204, 192512, N, false},
	{1500, 0, 3523584, 419840, 11, 1500, 0, 0, 204, 192512, N, false},
	{3000, 0, 3523584, 419840, 11, 3000, 0, 0, 204, 192512, N, false},
	{6000, 0, 3523584, 419840, 11, 6004, 0, 0, 204, 192512, N, false},
};

/* The never-sent rule needs the shape at every sample of the streak: a
 * streak that began with the window shut and went on with it open and
 * the probe count high is not one (whatever it is, it is not data that
 * never left). */
static const struct row unsent_not_whole_streak[] = {
	{0, 0, 0, 0, 1, 900, 0, 0, 204, 65536, N, false},
	{100, 0, 65536, 0, 1, 1000, 0, 0, 204, 0, N, false},
	{300, 0, 65536, 0, 1, 1200, 1, 0, 204, 65536, N, false},
	{1100, 0, 65536, 0, 1, 2000, 2, 0, 204, 65536, N, false},
	{1600, 0, 65536, 0, 1, 2500, 3, 0, 204, 65536, N, false},
	{3000, 0, 65536, 0, 1, 3900, 6, 0, 204, 65536, N, false},
};

#define TRACE(r, t0)                                                           \
	{                                                                      \
#r, r, sizeof(r) / sizeof(r[0]), t0                            \
	}

static const struct trace traces[] = {
	TRACE(dead_path, 0),
	TRACE(window_shut, 0),
	TRACE(window_then_dead, 0),
	TRACE(window_then_silent, 0),
	TRACE(lossy_link, 0),
	TRACE(idle_then_write, 0),
	TRACE(hysteresis, 0),
	TRACE(idle, 0),
	TRACE(never_sent_qdisc, 0),
	TRACE(never_sent_no_route, 0),
	TRACE(corked, 0),
	TRACE(window_below_segment, 0),
	TRACE(tiny_pacing_rate, 0),
	TRACE(unsent_not_whole_streak, 0),
	/* the state keeps 24 bits of the clock: across its wrap */
	TRACE(dead_path, (1ull << 24) - 500),
	TRACE(hysteresis, (3ull << 24) - 1050),
	TRACE(never_sent_qdisc, (1ull << 24) - 1200),
};

START_TEST(test_traces)
{
	const struct trace *tr = &traces[_i];
	struct hupmon__stall st;
	bool open = false;

	memset(&st, 0, sizeof(st));
	for (size_t k = 0; k < tr->n; k++) {
		const struct row *r = &tr->rows[k];
		struct hupmon__tcp_info ti;
		bool esc = true;
		int got;

		sample(r, &ti);
		got = (int)hupmon__stall_step(&st, &ti, tr->t0 + r->t_ms,
					      STALL_MS, &esc);
		ck_assert_msg(got == r->want && esc == r->esc,
			      "%s, t=%llu ms: verdict %d escalation %d, want "
			      "%d %d",
			      tr->name, (unsigned long long)r->t_ms, got, esc,
			      r->want, r->esc);
		if (got == ZW || got == NA)
			open = true;
		else if (got == RE)
			open = false;
		ck_assert_int_eq(hupmon__stall_open(&st), open);
	}
}
END_TEST

/* An open episode stays open until progress, through any number of
 * samples; a new state starts fresh (no verdict on the first sample, even
 * one that looks stalled). */
START_TEST(test_first_sample_never_reports)
{
	struct hupmon__stall st;
	struct hupmon__tcp_info ti;
	bool esc;

	memset(&st, 0, sizeof(st));
	memset(&ti, 0, sizeof(ti));
	ti.unacked = 5;
	ti.snd_wnd = 65535;
	ti.last_ack_recv_ms = 100000;
	ck_assert_int_eq(hupmon__stall_step(&st, &ti, 50000, STALL_MS, &esc),
			 HUPMON__STALL_NONE);
	ck_assert(!hupmon__stall_open(&st));
	ck_assert_int_eq(hupmon__stall_step(&st, &ti, 50999, STALL_MS, &esc),
			 HUPMON__STALL_NONE);
	ck_assert_int_eq(hupmon__stall_step(&st, &ti, 51000, STALL_MS, &esc),
			 HUPMON__STALL_NO_ACK);
	ck_assert(hupmon__stall_open(&st));
	for (int i = 1; i < 100; i++)
		ck_assert_int_eq(hupmon__stall_step(&st, &ti, 51000 + i * 1000u,
						    STALL_MS, &esc),
				 HUPMON__STALL_NONE);
	ck_assert(hupmon__stall_open(&st));
	ti.delivered = 1;
	ck_assert_int_eq(hupmon__stall_step(&st, &ti, 200000, STALL_MS, &esc),
			 HUPMON__STALL_RECOVERED);
	ck_assert(!hupmon__stall_open(&st));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("detect_stall");
	TCase *tc = tcase_create("traces");

	tcase_add_loop_test(tc, test_traces, 0,
			    (int)(sizeof(traces) / sizeof(traces[0])));
	tcase_add_test(tc, test_first_sample_never_reports);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
