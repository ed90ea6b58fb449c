/* SPDX-License-Identifier: MIT */
/*
 * detect_stall: the stall classifier, pure like the rest of detect. A
 * TCP_INFO sample and the socket's previous stall state in, the next state
 * and what to report out. No syscalls: the sweep reads TCP_INFO and passes
 * the sample.
 *
 * What only TCP_INFO shows (Linux 6.x, measured on loopback and on a veth
 * between two namespaces; the never-sent case and its live look-alikes
 * measured again on 6.18):
 *   - The path or the peer died with our data in flight: tcpi_unacked stays
 *     above 0, tcpi_bytes_acked and tcpi_delivered freeze, tcpi_backoff
 *     climbs, tcpi_last_ack_recv grows; the window (tcpi_snd_wnd) stays
 *     open. The kernel retransmits for ~15 minutes (tcp_retries2) or until
 *     TCP_USER_TIMEOUT before the socket errors.
 *   - The peer is alive but stopped reading: tcpi_snd_wnd is 0, our data
 *     waits in tcpi_notsent_bytes, unacked is 0 (only window probes go
 *     out), bytes_acked and delivered freeze; last_ack_recv saw-tooths up
 *     to the probe interval (backing off to 120 s) since probes are
 *     answered; tcpi_probes counts unanswered probes, but the answers are
 *     rate-limited (one per 500 ms), so a live peer can show 2. The same
 *     holds after a half-close, in CLOSE_WAIT (the peer's FIN came) and in
 *     LAST_ACK (our FIN too, queued behind the data: notsent counts it).
 *   - Our data never left: our own side cannot send (its link down, so no
 *     route; a qdisc that drops every packet). A failed transmission is not
 *     in flight: unacked 0, notsent is everything written, the window
 *     open, bytes_acked and delivered frozen. The kernel's probe timer
 *     retries, and tcpi_probes counts each failed attempt: the first one
 *     RTO after the write, then every 500 ms when a qdisc drops (the 3rd
 *     at ~1.2 s on loopback, ~1.4 s on a veth), at RTO << backoff when
 *     there is no route (the 3rd at 7 RTOs, ~1.4-1.6 s). Meanwhile
 *     tcpi_bytes_sent and tcpi_last_data_sent move as if the data went
 *     (failed attempts count), and last_ack_recv is large on any socket
 *     that idled and then wrote: neither tells.
 *   - Live look-alikes of that shape (window open, nothing unacked, data
 *     queued) show tcpi_probes below 3, because any ACK resets it to 0:
 *     corked data (TCP_CORK, or Nagle's hold) is pushed by the probe
 *     timer within an RTO (100 corked bytes left at ~200-300 ms) and
 *     acknowledged; a window smaller than a segment (the peer clamped its
 *     window to 2 KiB below our 46 KiB MSS) is served by the probe timer,
 *     one window's worth per RTO, each acknowledged (progress every
 *     ~200 ms, tcpi_probes 0); a tiny SO_MAX_PACING_RATE (1000 B/s)
 *     leaves MBs waiting on the pacing timer with no progress for as long
 *     as it likes, but the probe timer is not involved (tcpi_probes 0).
 *   - A slow, lossy but healthy path: bytes_acked can freeze for ~1 s in
 *     loss recovery, but delivered (which counts SACKed segments too)
 *     moves at every sample.
 *   - Idle, then one write: unacked is 1 for one round trip and
 *     last_ack_recv is as old as the idle time, until the ACK.
 *   - tcpi_probes also counts keepalive probes, which go out only when
 *     nothing is queued: it means something only while the window is shut
 *     or nothing has left.
 *
 * So progress is any change of bytes_acked or delivered between two
 * samples. A socket is stalled when it had data outstanding or queued
 * (unacked > 0 || notsent_bytes > 0) at every sample for at least stall_ms
 * with no progress. Then: window shut: ZERO_WINDOW; window open, unacked
 * data and no ACK for stall_ms: NO_ACK; window open, nothing unacked and
 * data queued at every sample of the streak, and probes >= 3 (the kernel
 * failed to send it three times): NO_ACK too, whenever probes gets there
 * after stall_ms. One escalation per episode, ZERO_WINDOW -> NO_ACK, when
 * the peer stops answering window probes (probes >= 3, or no ACK for twice
 * the probe interval the kernel is at, min(rto << backoff, 120 s)).
 * RECOVERED at the first sample that shows progress; a new episode then
 * needs a full stall_ms again. The classifier knows nothing of the
 * connection's state: when tracking ends is the caller's (probe.c).
 */
#ifndef HUPMON_DETECT_STALL_H
#define HUPMON_DETECT_STALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The kernel's struct tcp_info (include/uapi/linux/tcp.h) up to tcpi_snd_wnd,
 * at its offsets. glibc's struct tcp_info stops at 104 bytes, before every
 * field stall tracking reads, and <linux/tcp.h> cannot be included beside
 * <netinet/tcp.h>. Field ages: bytes_acked 4.1, notsent_bytes 4.6,
 * delivered 4.18, snd_wnd 5.4: a kernel that returns fewer bytes than
 * HUPMON__TCP_INFO_STALL_LEN lacks one and stall tracking is refused.
 */
struct hupmon__tcp_info {
	uint8_t state, ca_state, retransmits, probes, backoff, options, wscale,
		flags;
	uint32_t rto_us; /* 8 */
	uint32_t ato, snd_mss, rcv_mss;
	uint32_t unacked; /* 24 */
	uint32_t sacked, lost, retrans, fackets;
	uint32_t last_data_sent, last_ack_sent, last_data_recv;
	uint32_t last_ack_recv_ms; /* 56 */
	uint32_t pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd,
		advmss, reordering, rcv_rtt, rcv_space, total_retrans;
	uint64_t pacing_rate, max_pacing_rate;
	uint64_t bytes_acked; /* 120 */
	uint64_t bytes_received;
	uint32_t segs_out, segs_in;
	uint32_t notsent_bytes; /* 144 */
	uint32_t min_rtt, data_segs_in, data_segs_out;
	uint64_t delivery_rate, busy_time, rwnd_limited, sndbuf_limited;
	uint32_t delivered; /* 192 */
	uint32_t delivered_ce;
	uint64_t bytes_sent, bytes_retrans;
	uint32_t dsack_dups, reord_seen, rcv_ooopack;
	uint32_t snd_wnd; /* 228 */
};
#define HUPMON__TCP_INFO_STALL_LEN sizeof(struct hupmon__tcp_info)
_Static_assert(offsetof(struct hupmon__tcp_info, rto_us) == 8, "tcpi_rto");
_Static_assert(offsetof(struct hupmon__tcp_info, unacked) == 24,
	       "tcpi_unacked");
_Static_assert(offsetof(struct hupmon__tcp_info, last_ack_recv_ms) == 56,
	       "tcpi_last_ack_recv");
_Static_assert(offsetof(struct hupmon__tcp_info, total_retrans) == 100,
	       "tcpi_total_retrans");
_Static_assert(offsetof(struct hupmon__tcp_info, bytes_acked) == 120,
	       "tcpi_bytes_acked");
_Static_assert(offsetof(struct hupmon__tcp_info, notsent_bytes) == 144,
	       "tcpi_notsent_bytes");
_Static_assert(offsetof(struct hupmon__tcp_info, delivered) == 192,
	       "tcpi_delivered");
_Static_assert(offsetof(struct hupmon__tcp_info, snd_wnd) == 228,
	       "tcpi_snd_wnd");
_Static_assert(sizeof(struct hupmon__tcp_info) == 232, "up to tcpi_snd_wnd");

/* Per-socket stall state: 8 bytes. Zero-initialised means "no sample yet". */
struct hupmon__stall {
	uint32_t progress; /* fingerprint of bytes_acked and delivered */
	uint32_t since;	   /* bits 0-23: ms clock (mod 2^24, 4.6 h) when the
			      streak without progress began; 24-30: phase;
			      31: every sample of the streak showed data
			      that never left */
};
_Static_assert(sizeof(struct hupmon__stall) == 8, "stall state is 8 bytes");

/* What a sample means. */
enum hupmon__stall_verdict {
	HUPMON__STALL_NONE = 0,	   /* nothing new */
	HUPMON__STALL_ZERO_WINDOW, /* an episode begins: window shut */
	HUPMON__STALL_NO_ACK,	   /* an episode begins, or a ZERO_WINDOW one
				      escalates: nothing acknowledged, or
				      nothing could be sent */
	HUPMON__STALL_RECOVERED,   /* the open episode ends: progress */
};

/* Longest stall_ms the 24-bit clock in the state can time (1 hour). */
#define HUPMON__STALL_MAX_MS 3600000u

/* Whether an episode is open (between a stall verdict and RECOVERED). */
bool hupmon__stall_open(const struct hupmon__stall *st);

/* The verdict that opened the episode under way (NO_ACK once escalated),
 * or HUPMON__STALL_NONE when none is open. */
enum hupmon__stall_verdict
hupmon__stall_episode(const struct hupmon__stall *st);

/* The next state and verdict for sample ti taken at now_ms (any ms clock
 * that only moves forward), with stall threshold stall_ms (1..
 * HUPMON__STALL_MAX_MS). *escalation is set when a NO_ACK verdict
 * escalates an open ZERO_WINDOW episode. */
enum hupmon__stall_verdict
hupmon__stall_step(struct hupmon__stall *st, const struct hupmon__tcp_info *ti,
		   uint64_t now_ms, uint32_t stall_ms, bool *escalation);

#endif
