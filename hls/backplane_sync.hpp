// Backplane sync kernel: reliable, ordered-by-version session replication and transfer
// between cards. Behavioural source of truth for the backplane (the RTL and the host
// driver's software node run exactly this code). Full description: docs/backplane.md;
// frame layout: spec/wire.toml (`frame`, `frame_type`, `sync_cmd`, `bp_stats`).
//
// Six streams, all 512-bit beats with TLAST:
//   cmd_in    host -> kernel   `header` beats: PUT/DEL events (replicate this entry),
//                              TRANSFER (move a key), GET (pull a key from the hub)
//   rsp_out   kernel -> host   results of TRANSFER and GET (tag echoed), and NOP
//                              "peer joined" notices (sync_cmd.dest = the card;
//                              flags 1 = it holds no table)
//   tbl_cmd   kernel -> table  commands to the local session-table kernel
//   tbl_rsp   table -> kernel  its responses (exactly one per command, in order)
//   frame_in  link -> kernel   backplane frames
//   frame_out kernel -> link   backplane frames (dst = a card, or BROADCAST for HELLO)
//
// Rules (the RTL implements the same):
//  * Reliable frames carry a per-(src,dst) seq from 1; the receiver accepts seq in
//    [base, base + WINDOW) once (out of order is fine: entries carry versions and the
//    table is last-writer-wins), acks with ack = base plus the sack bitmap, piggybacked
//    on every frame and sent alone when the input goes idle. `una` lets the receiver
//    skip seqs the sender abandoned.
//  * Every reliable frame sits in a retransmit slot until acked; on timeout it is sent
//    again after the peer's rto: its smoothed RTT estimate (Jacobson/Karels, floor
//    cfg.rto, cap 64 x cfg.rto), doubled on every timeout until an ACK of a frame sent only
//    once gives a clean sample (Karn); an ACK whose sack shows a hole at the
//    oldest frame resends it at once (fast retransmit). Only the oldest frame of a peer
//    is resent on a timeout. After max_retries the peer is declared
//    down, its slots are released (transfers in flight answer FAILED) and it is caught up
//    (a "peer joined" notice to the host) when it is heard from again.
//  * A TRANSFER is finished only by an ACK whose req = its seq (carrying the outcome);
//    the receiver re-applies duplicate TRANSFERs (idempotent by version) to re-ack.
//  * Epochs: each frame carries the sender's epoch and the receiver's epoch as the
//    sender knows it. A higher sender epoch means a restart: that peer's sequence state
//    is reset and the host is told to catch it up. Frames from an older epoch, or meant
//    for an older epoch of this card, are dropped (and answered with a HELLO).
//  * Back-pressure: a host command is read only when enough retransmit slots are free
//    for every live peer and no live peer's window is full; frames that need a table
//    operation are not read while one is in flight. Nothing is dropped silently: every
//    refusal and drop has a counter (bp_stats).
//  * Frames failing the version, CRC, length, source/destination or epoch checks are
//    dropped and counted without touching the table.
#pragma once
#include <stdint.h>

#include "backplane_crc32.hpp"
#include "axis_beat.hpp"
#include "beat.hpp"
#include "hls_stream_shim.hpp"
#include "wire/sessnic_wire.hpp"

namespace sessnic {

// Run-time configuration (AXI-Lite registers on the card).
struct BackplaneConfig {
  uint8_t card = 0;
  uint32_t epoch = 1;                        // nonzero; larger on every restart
  wire::BpMode mode = wire::BpMode::REPLICATE;
  uint8_t hub = 0;                           // hub card (mode HUB)
  uint64_t rto = 1000;                       // retransmit timeout, in `now` ticks
  uint32_t max_retries = 12;                 // then the peer is declared down
  uint64_t hello_interval = 100000;          // HELLO period, in ticks
  uint64_t peers[4] = {0, 0, 0, 0};          // bitmap of member cards (bit = card id)
  bool passive = false;                      // no table here (a dispatcher): peers do not replicate to it
};

namespace bp {
constexpr unsigned kBroadcast = static_cast<unsigned>(wire::BpConst::BROADCAST);
constexpr unsigned kWindow = 1u << static_cast<unsigned>(wire::BpConst::WINDOW_LOG2);
constexpr unsigned kWindowWords = kWindow / 64;
constexpr unsigned kSackWords = static_cast<unsigned>(wire::BpConst::SACK_WORDS);
static_assert(kSackWords <= kWindowWords && kSackWords * 64 == 192, "frame.sack is 192 bits at word 5");
constexpr unsigned kFrameVersion = static_cast<unsigned>(wire::BpConst::FRAME_VERSION);
inline unsigned u(wire::FrameType t) { return static_cast<unsigned>(t); }
inline unsigned u(wire::Opcode o) { return static_cast<unsigned>(o); }
inline unsigned u(wire::Status s) { return static_cast<unsigned>(s); }
inline unsigned u(wire::Flags f) { return static_cast<unsigned>(f); }
}  // namespace bp

// CARDS: card ids supported (0..CARDS-1, BROADCAST excluded). RTX_SLOTS: frames held
// for retransmission (the in-flight limit over all peers). SLOT_BYTES: the table's slot.
// StreamBeat: Beat (tests, model devices) or AxisBeat (the Vitis top's AXI4-Stream
// ports, axis_beat.hpp); read_beat/write_beat convert at the stream.
template <unsigned CARDS, unsigned RTX_SLOTS, unsigned SLOT_BYTES = wire::SLOT_BYTES, class StreamBeat = Beat>
class BackplaneSync {
 public:
  static constexpr unsigned kSlotBeats = SLOT_BYTES / wire::BEAT_BYTES;
  static constexpr unsigned kMaxFrameBeats = 2 + kSlotBeats;  // header + entry + blob
  static constexpr unsigned kMaxPayload = wire::BEAT_BYTES + SLOT_BYTES;
  static constexpr uint64_t kIdleHelloFactor = 16;  // HELLO period multiplier once every member is up
  static_assert(CARDS >= 2 && CARDS <= 255, "card ids are 8 bits, 255 = broadcast");
  static_assert(RTX_SLOTS >= 4 && RTX_SLOTS < 65535, "retransmit slots");
  static_assert(SLOT_BYTES % wire::BEAT_BYTES == 0, "slot must be whole beats");

  struct Io {
    hls::stream<StreamBeat>& cmd_in;
    hls::stream<StreamBeat>& rsp_out;
    hls::stream<StreamBeat>& tbl_cmd;
    hls::stream<StreamBeat>& tbl_rsp;
    hls::stream<StreamBeat>& frame_in;
    hls::stream<StreamBeat>& frame_out;
  };

  BackplaneSync() { configure(BackplaneConfig{}); }

  // Power-on / restart: all sequence state, slots and counters cleared.
  void configure(const BackplaneConfig& c) {
    cfg_ = c;
    if (cfg_.epoch == 0) cfg_.epoch = 1;
    for (unsigned p = 0; p < CARDS; ++p) {
      up_[p] = false;
      passive_[p] = false;
      peer_epoch_[p] = 0;
      ack_pending_[p] = false;
      in_ring_[p] = false;
      reset_peer_state(p);
    }
    for (unsigned i = 0; i < RTX_SLOTS; ++i) {
      rtx_[i].valid = false;
      free_[i] = static_cast<uint16_t>(RTX_SLOTS - 1 - i);
    }
    free_top_ = RTX_SLOTS;
    slot_hi_ = 0;
    ack_head_ = ack_tail_ = 0;
    up_count_ = 0;
    full_windows_ = 0;
    pend_.kind = PendKind::NONE;
    next_hello_ = 0;
    next_timer_ = ~0ull;
    timer_slot_ = 0;
    tbl_tag_ = 0;
    for (unsigned i = 0; i < wire::BP_STATS_COUNT; ++i) counters_[i] = 0;
  }

  const BackplaneConfig& config() const { return cfg_; }
  uint64_t counter(unsigned i) const { return i < wire::BP_STATS_COUNT ? counters_[i] : 0; }
  bool peer_up(unsigned p) const { return p < CARDS && up_[p]; }
  uint32_t peer_epoch(unsigned p) const { return p < CARDS ? peer_epoch_[p] : 0; }
  unsigned slots_in_use() const { return RTX_SLOTS - free_top_; }
  bool table_busy() const { return pend_.kind != PendKind::NONE; }
  // Card top (catch-up walk): would a host event for peer p be read and sent now?
  bool can_take_event_for(unsigned p) const { return can_send(p) && can_accept_command(); }

  // One unit of work: a table response, else one inbound frame, else pending acks, else
  // one host command; then the HELLO timer and one retransmit slot's timer. Returns true
  // if it did anything besides the timer check (the caller loops while true).
  bool step(uint64_t now, Io& io) {
    now_ = now;
    bool did = false;
    if (pend_.kind != PendKind::NONE) {
      if (!io.tbl_rsp.empty()) {
        on_table_response(io);
        did = true;
      }
    } else if (!io.frame_in.empty()) {
      on_frame(io);
      did = true;
    } else if (ack_head_ != ack_tail_) {
      flush_acks(io);
      did = true;
    } else if (!io.cmd_in.empty() && can_accept_command()) {
      on_command(io);
      did = true;
    }
    if (now_ >= next_hello_) {
      const bool missing = any_member_down();
      send_hello(io, bp::kBroadcast, missing ? 1 : 0);
      // Liveness rides on traffic (any frame marks its sender up; reliable frames find a
      // dead peer by their retries), so once every member is up a HELLO only re-announces
      // the epoch: send it kIdleHelloFactor times less often. A joining or restarted node
      // misses members, broadcasts at hello_interval with "reply wanted", and is answered
      // at once - discovery stays as fast. Idle cost per node: linear in peers, 16x lower.
      next_hello_ = now_ + (missing ? cfg_.hello_interval : cfg_.hello_interval * kIdleHelloFactor);
    }
    check_timer(io, timer_slot_);
    timer_slot_ = timer_slot_ + 1 == RTX_SLOTS ? 0 : timer_slot_ + 1;
    return did;
  }

  // Software top: check every retransmit timer (the card checks one per cycle). Skipped
  // entirely before the earliest deadline, so an idle scan costs nothing; and only the
  // slots below slot_hi_ can be valid (a scan of all 4096 was ~50,000 instructions, once
  // per reliable frame when its stale deadline came: most of the pumps' card time in a pull).
  void service_timers(uint64_t now, Io& io) {
    now_ = now;
    if (now_ < next_timer_) return;
    next_timer_ = ~0ull;
  timers:
    for (unsigned i = 0; i < slot_hi_; ++i) {
#pragma HLS PIPELINE II = 1
      check_timer(io, i);
      if (rtx_[i].valid && rtx_[i].deadline < next_timer_) next_timer_ = rtx_[i].deadline;
    }
  }

  // Earliest tick at which a timer can fire (for a software node's sleep).
  uint64_t next_deadline() const { return next_timer_ < next_hello_ ? next_timer_ : next_hello_; }

 private:
  enum class PendKind : uint8_t { NONE, APPLY, APPLY_TRANSFER, EXPORT_TRANSFER, EXPORT_PULL, APPLY_PULL_RESP };
  struct Pending {
    PendKind kind;
    uint8_t peer;     // frame source (APPLY*, EXPORT_PULL) or destination (EXPORT_TRANSFER)
    uint8_t origin;   // EXPORT_TRANSFER: requester card, or broadcast = this card's host
    uint32_t seq;     // APPLY*: the frame's seq
    uint32_t req;     // request id / host tag
  };
  struct RtxSlot {
    bool valid;
    bool outcome;     // TRANSFER: finished by an outcome ACK only
    bool fast_done;   // already fast-retransmitted once (see process_acks)
    uint8_t peer;
    uint8_t type;
    uint8_t nbeats;
    uint8_t origin;   // TRANSFER on behalf of TRANSFER_REQ: requester; else broadcast
    uint32_t retries;
    uint32_t seq;
    uint32_t req;     // host tag, or the requester's request id
    uint64_t sent_at; // first transmission (RTT sample when acked without a resend)
    uint64_t deadline;
  };

  // ---- small helpers -------------------------------------------------------------
  bool member(unsigned p) const {
    return p < CARDS && p != cfg_.card && ((cfg_.peers[p / 64] >> (p % 64)) & 1);
  }
  // Calls f(p) for every member card, in ascending id order. The card checks every id (a
  // loop the hardware unrolls); the host model walks the bitmap's set bits instead, since
  // every replicated PUT/DELETE fans out and 255 checks per event showed up in a resumed
  // handshake's cost (bench_resume, docs/benchmarks.md). Same members, same order.
  template <class F>
  void for_each_member(F&& f) const {
#ifdef __SYNTHESIS__
    for (unsigned p = 0; p < CARDS; ++p)
      if (member(p)) f(p);
#else
    for (unsigned w = 0; w < 4; ++w) {
      for (uint64_t bits = cfg_.peers[w]; bits != 0; bits &= bits - 1) {
        const unsigned p = w * 64 + static_cast<unsigned>(__builtin_ctzll(bits));
        if (member(p)) f(p);
      }
    }
#endif
  }
  bool any_member_down() const { return up_count_ < member_count(); }
  unsigned member_count() const {
    unsigned n = 0;
    for (unsigned p = 0; p < CARDS; ++p) n += member(p) ? 1 : 0;
    return n;
  }
  bool window_full(unsigned p) const { return tx_next_[p] - tx_una_[p] >= bp::kWindow; }
  bool can_send(unsigned p) const { return p < CARDS && up_[p] && !window_full(p) && free_top_ > 0; }
  bool can_accept_command() const { return free_top_ >= up_count_ + 1 && full_windows_ == 0; }
  static void copy_beat(Beat& d, const Beat& s) {
    for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) d.data[w] = s.data[w];
    d.last = s.last;
  }
  static unsigned hdr(const Beat& b, wire::Field f) { return static_cast<unsigned>(wire::get_field(b.data, f)); }

  // tx_next/tx_una changes go through here so full_windows_ stays exact.
  void set_tx(unsigned p, uint32_t next, uint32_t una) {
    const bool was = up_[p] && window_full(p);
    tx_next_[p] = next;
    tx_una_[p] = una;
    const bool is = up_[p] && window_full(p);
    if (was && !is) --full_windows_;
    if (!was && is) ++full_windows_;
  }
  void set_up(unsigned p, bool up) {
    if (up_[p] == up) return;
    if (window_full(p)) {
      if (up) ++full_windows_;
      else --full_windows_;
    }
    up_[p] = up;
    if (up) ++up_count_;
    else --up_count_;
  }

  void reset_peer_state(unsigned p) {
    if (p < CARDS && up_[p] && window_full(p)) --full_windows_;
    tx_next_[p] = 1;
    tx_una_[p] = 1;
    rx_base_[p] = 1;
    srtt_[p] = 0;
    rttvar_[p] = 0;
    backoff_[p] = 0;
  reset_maps:
    for (unsigned w = 0; w < bp::kWindowWords; ++w) {
      rx_map_[p][w] = 0;
      inflight_[p][w] = 0;  // slot_of_ is read only where its bit is set: no clearing
    }
  }

  // ---- frame output --------------------------------------------------------------
  // Fills the per-transmission fields (acks, epochs, crc) and writes the frame.
  void transmit(Io& io, Beat* f, unsigned nbeats) {
    const unsigned dst = hdr(f[0], wire::frame::dst);
    wire::set_field(f[0].data, wire::frame::fver, bp::kFrameVersion);
    wire::set_field(f[0].data, wire::frame::src, cfg_.card);
    wire::set_field(f[0].data, wire::frame::epoch, cfg_.epoch);
    const bool uni = dst < CARDS;
    wire::set_field(f[0].data, wire::frame::dst_epoch, uni ? peer_epoch_[dst] : 0);
    wire::set_field(f[0].data, wire::frame::ack, uni ? rx_base_[dst] : 0);
    wire::set_field(f[0].data, wire::frame::una, uni ? tx_una_[dst] : 0);
    for (unsigned w = 0; w < bp::kSackWords; ++w) wire::set_field_word(f[0].data, wire::frame::sack, w, uni ? rx_map_[dst][w] : 0);
    wire::set_field(f[0].data, wire::frame::crc, 0);
    uint32_t c = crc32_init();
  crc_beats:
    for (unsigned b = 0; b < nbeats; ++b)
      for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) c = crc32_word(c, f[b].data[w]);
    wire::set_field(f[0].data, wire::frame::crc, crc32_final(c));
    for (unsigned b = 0; b < nbeats; ++b) {
      f[b].last = b + 1 == nbeats;
      write_beat(io.frame_out, f[b]);
    }
    ++counters_[wire::BP_STATS_TX_FRAMES];
    if (uni) ack_pending_[dst] = false;  // this frame carried the ack
  }

  static void start_frame(Beat& h, wire::FrameType t, unsigned dst) {
    clear_beat(h);
    wire::set_field(h.data, wire::frame::ftype, bp::u(t));
    wire::set_field(h.data, wire::frame::dst, dst);
  }

  void send_hello(Io& io, unsigned dst, unsigned reply_wanted) {
    Beat f[1];
    start_frame(f[0], wire::FrameType::HELLO, dst);
    wire::set_field(f[0].data, wire::frame::status, reply_wanted);
    wire::set_field(f[0].data, wire::frame::arg, cfg_.passive ? 1 : 0);
    transmit(io, f, 1);
  }

  void send_ack(Io& io, unsigned p, wire::FrameType t, uint32_t req, unsigned status) {
    Beat f[1];
    start_frame(f[0], t, p);
    wire::set_field(f[0].data, wire::frame::req, req);
    wire::set_field(f[0].data, wire::frame::status, status);
    transmit(io, f, 1);
  }

  // ack_pending_: an ack is owed (cleared when any frame to p carries it); in_ring_: p is
  // queued for flush_acks (at most once, so the ring never overflows).
  void queue_ack(unsigned p) {
    ack_pending_[p] = true;
    if (in_ring_[p]) return;
    in_ring_[p] = true;
    ack_ring_[ack_tail_] = static_cast<uint8_t>(p);
    ack_tail_ = ack_tail_ + 1 == CARDS + 1 ? 0 : ack_tail_ + 1;
  }

  void flush_acks(Io& io) {
  acks:
    while (ack_head_ != ack_tail_) {
      const unsigned p = ack_ring_[ack_head_];
      ack_head_ = ack_head_ + 1 == CARDS + 1 ? 0 : ack_head_ + 1;
      in_ring_[p] = false;
      if (ack_pending_[p]) send_ack(io, p, wire::FrameType::ACK, 0, 0);
    }
  }

  // Sends a reliable frame: takes a slot and the next seq towards p. `entry` (may be
  // null) is the payload's entry beat, `blob` its blob beats. Caller checked can_send.
  void send_reliable(Io& io, unsigned p, wire::FrameType t, const Beat* entry, const Beat* blob, unsigned blob_len,
                     unsigned arg, uint32_t req, unsigned status, bool outcome, unsigned origin) {
    const unsigned i = free_[--free_top_];
    if (i >= slot_hi_) slot_hi_ = i + 1;
    RtxSlot& s = rtx_[i];
    const uint32_t seq = tx_next_[p];
    set_tx(p, seq + 1, tx_una_[p]);
    slot_of_[p][seq % bp::kWindow] = static_cast<uint16_t>(i + 1);
    inflight_[p][(seq % bp::kWindow) / 64] |= 1ull << (seq % 64);
    Beat* f = frames_[i];
    start_frame(f[0], t, p);
    wire::set_field(f[0].data, wire::frame::seq, seq);
    wire::set_field(f[0].data, wire::frame::arg, arg);
    wire::set_field(f[0].data, wire::frame::req, req);
    wire::set_field(f[0].data, wire::frame::status, status);
    unsigned n = 1;
    if (entry) {
      copy_beat(f[1], *entry);
      f[1].last = false;
      const unsigned nb = beats_for(blob_len);
    copy_blob:
      for (unsigned b = 0; b < nb; ++b) copy_beat(f[2 + b], blob[b]);
      n = 2 + nb;
      wire::set_field(f[0].data, wire::frame::payload_len, wire::BEAT_BYTES + blob_len);
    }
    s.valid = true;
    s.outcome = outcome;
    s.peer = static_cast<uint8_t>(p);
    s.type = static_cast<uint8_t>(bp::u(t));
    s.nbeats = static_cast<uint8_t>(n);
    s.origin = static_cast<uint8_t>(origin);
    s.retries = 0;
    s.fast_done = false;
    s.seq = seq;
    s.req = req;
    s.sent_at = now_;
    s.deadline = now_ + rto_of(p);
    if (s.deadline < next_timer_) next_timer_ = s.deadline;
    transmit(io, f, n);
  }

  void release_slot(unsigned i) {
    RtxSlot& s = rtx_[i];
    if (!s.valid) return;
    s.valid = false;
    if (slot_at(s.peer, s.seq) == i + 1) {
      slot_of_[s.peer][s.seq % bp::kWindow] = 0;
      inflight_[s.peer][(s.seq % bp::kWindow) / 64] &= ~(1ull << (s.seq % 64));
    }
    free_[free_top_++] = static_cast<uint16_t>(i);
    if (free_top_ == RTX_SLOTS) {  // nothing in flight: no retransmit deadline is left
      next_timer_ = ~0ull;
      slot_hi_ = 0;
    }
  }

  // Retransmit slot + 1 of seq s towards p, or 0 (the in-flight bitmap says whether
  // slot_of_ holds one: a peer reset clears 16 words instead of 1024 entries).
  unsigned slot_at(unsigned p, uint32_t s) const {
    return (inflight_[p][(s % bp::kWindow) / 64] >> (s % 64)) & 1 ? slot_of_[p][s % bp::kWindow] : 0;
  }

  // Offsets d < n (ascending) of the in-flight seqs `from + d` towards p, written to
  // out[]; returns how many. One pass over the window's words (plus the first word again
  // for the wrap) and one step per in-flight seq: no loop over the window's 1024 seqs.
  unsigned inflight_in(unsigned p, uint32_t from, uint32_t n, uint16_t* out, unsigned max) const {
    const unsigned start = from % bp::kWindow;
    unsigned cnt = 0;
  inflight_words:
    for (unsigned k = 0; k <= bp::kWindowWords; ++k) {
#pragma HLS LOOP_TRIPCOUNT max = 17
      uint64_t bits = inflight_[p][(start / 64 + k) % bp::kWindowWords];
      if (k == 0) bits &= ~0ull << (start % 64);
    inflight_bits:
      while (bits) {
#pragma HLS LOOP_TRIPCOUNT max = 64
        const unsigned d = k * 64 + static_cast<unsigned>(__builtin_ctzll(bits)) - start % 64;
        bits &= bits - 1;
        if (d >= n || cnt == max) return cnt;
        out[cnt++] = static_cast<uint16_t>(d);
      }
    }
    return cnt;
  }

  // tx_una moves to the oldest seq still held in a retransmit slot (or tx_next).
  void advance_una(unsigned p) {
    const uint32_t n = tx_next_[p] - tx_una_[p];
    uint16_t d = 0;
    const unsigned found = inflight_in(p, tx_una_[p], n, &d, 1);
    set_tx(p, tx_next_[p], tx_una_[p] + (found ? d : n));
  }

  // ---- results towards the host or a requesting card ------------------------------
  void host_result(Io& io, wire::Opcode op, uint32_t tag, unsigned status, const Beat* entry, unsigned dest) {
    Beat r;
    if (entry) copy_beat(r, *entry);
    else clear_beat(r);
    wire::set_field(r.data, wire::header::op, bp::u(op));
    wire::set_field(r.data, wire::header::status, status);
    wire::set_field(r.data, wire::header::tag, tag);
    wire::set_field(r.data, wire::header::blob_len, 0);
    wire::set_field(r.data, wire::header::aux, 0);
    wire::set_field(r.data, wire::sync_cmd::dest, dest);
    wire::set_field(r.data, wire::sync_cmd::owner, cfg_.card);
    r.last = true;
    write_beat(io.rsp_out, r);
  }

  // A TRANSFER finished (outcome ACK, give-up, or nothing to send): tell whoever asked.
  void finish_transfer(Io& io, unsigned origin, uint32_t req, unsigned dest, unsigned status, const Beat* entry) {
    ++counters_[status == bp::u(wire::Status::OK) ? wire::BP_STATS_TRANSFERS_OK : wire::BP_STATS_TRANSFERS_FAILED];
    if (origin == bp::kBroadcast || origin == cfg_.card) {
      host_result(io, wire::Opcode::TRANSFER, req, status, entry, dest);
    } else if (can_send(origin)) {
      send_reliable(io, origin, wire::FrameType::TRANSFER_RESULT, nullptr, nullptr, 0, dest, req, status, false,
                    bp::kBroadcast);
    } else {
      ++counters_[wire::BP_STATS_NOT_SENT];  // requester gone; it times out on its own
    }
  }

  void fail_slot(Io& io, unsigned i) {
    RtxSlot& s = rtx_[i];
    const bool outcome = s.outcome;
    const unsigned origin = s.origin, dest = s.peer;
    const uint32_t req = s.req;
    Beat entry;
    copy_beat(entry, frames_[i][1]);
    release_slot(i);
    if (outcome) finish_transfer(io, origin, req, dest, bp::u(wire::Status::FAILED), &entry);
  }

  // Releases every slot towards p (restart or give-up); transfers in flight FAIL.
  void drop_peer_slots(Io& io, unsigned p) {
  drop:
    for (unsigned i = 0; i < RTX_SLOTS; ++i)
      if (rtx_[i].valid && rtx_[i].peer == p) fail_slot(io, i);
  }

  void peer_down(Io& io, unsigned p) {
    set_up(p, false);
    drop_peer_slots(io, p);
    set_tx(p, tx_next_[p], tx_next_[p]);  // abandoned seqs: `una` tells the receiver
    ack_pending_[p] = false;
  }

  void peer_joined(Io& io, unsigned p) {
    set_up(p, true);
    ++counters_[wire::BP_STATS_PEER_JOINS];
    Beat notice;
    clear_beat(notice);
    wire::set_field(notice.data, wire::header::flags, passive_[p] ? 1 : 0);  // 1: nothing to catch up
    host_result(io, wire::Opcode::NOP, 0, bp::u(wire::Status::OK), &notice, p);
  }

  // ---- timers --------------------------------------------------------------------
  // Only the peer's oldest outstanding frame is resent on a timeout (the others are
  // re-armed): after a stall the first ACK and its sack tell what is really missing,
  // instead of a whole window being sent twice.
  void check_timer(Io& io, unsigned i) {
    RtxSlot& s = rtx_[i];
    if (!s.valid || now_ < s.deadline) return;
    if (s.seq != tx_una_[s.peer]) {
      s.deadline = now_ + rto_of(s.peer);
      if (s.deadline < next_timer_) next_timer_ = s.deadline;
      return;
    }
    if (s.retries >= cfg_.max_retries) {
      ++counters_[wire::BP_STATS_RTX_GIVEUP];
      peer_down(io, s.peer);  // releases this slot too
      return;
    }
    ++s.retries;
    if (backoff_[s.peer] < 6) ++backoff_[s.peer];
    s.deadline = now_ + rto_of(s.peer);
    if (s.deadline < next_timer_) next_timer_ = s.deadline;
    ++counters_[wire::BP_STATS_RETRANSMITS];
    transmit(io, frames_[i], s.nbeats);
  }

  // ---- host commands -------------------------------------------------------------
  void on_command(Io& io) {
    Beat h = read_beat(io.cmd_in);
    Beat blob[kSlotBeats];
    const unsigned blob_len = hdr(h, wire::header::blob_len);
    unsigned got = 0;
    bool last = h.last;
  drain:
    while (!last) {
#pragma HLS PIPELINE II = 1
      Beat b = read_beat(io.cmd_in);
      if (got < kSlotBeats) copy_beat(blob[got], b);
      ++got;
      last = b.last;
    }
    const unsigned op = hdr(h, wire::header::op);
    const uint32_t tag = static_cast<uint32_t>(wire::get_field(h.data, wire::header::tag));
    const unsigned key_len = hdr(h, wire::header::key_len);
    const unsigned dest = hdr(h, wire::sync_cmd::dest);
    const unsigned owner = hdr(h, wire::sync_cmd::owner);
    const bool key_ok = key_len >= 1 && key_len <= wire::KEY_MAX_BYTES;
    const bool framing_ok = got == beats_for(blob_len) && blob_len <= SLOT_BYTES;
    const bool is_event = op == bp::u(wire::Opcode::PUT) || op == bp::u(wire::Opcode::DEL);
    const bool is_req = op == bp::u(wire::Opcode::TRANSFER) || op == bp::u(wire::Opcode::GET);
    bool ok = key_ok && framing_ok && (is_event || is_req);
    if (op == bp::u(wire::Opcode::PUT)) ok = ok && blob_len > 0 && wire::get_field(h.data, wire::header::version) != 0;
    if (op != bp::u(wire::Opcode::PUT)) ok = ok && blob_len == 0;
    if (op == bp::u(wire::Opcode::DEL)) ok = ok && wire::get_field(h.data, wire::header::version) != 0;
    if (!ok) {
      ++counters_[wire::BP_STATS_BAD_CMD];
      if (is_req) host_result(io, static_cast<wire::Opcode>(op), tag, bp::u(wire::Status::BAD_CMD), &h, dest);
      return;
    }
    // The entry beat that goes on the wire: the header with the host-only fields zeroed.
    Beat entry;
    copy_beat(entry, h);
    wire::set_field(entry.data, wire::header::status, 0);
    wire::set_field(entry.data, wire::header::tag, 0);
    wire::set_field(entry.data, wire::header::aux, 0);
    if (is_event) {
      const wire::FrameType t = op == bp::u(wire::Opcode::PUT) ? wire::FrameType::UPDATE : wire::FrameType::DELETE;
      if (dest != bp::kBroadcast) {
        if (member(dest) && can_send(dest)) send_reliable(io, dest, t, &entry, blob, blob_len, 0, 0, 0, false, bp::kBroadcast);
        else ++counters_[wire::BP_STATS_NOT_SENT];
        return;
      }
      if (cfg_.mode == wire::BpMode::TRANSFER) {
        ++counters_[wire::BP_STATS_NOT_SENT];
      } else if (cfg_.mode == wire::BpMode::HUB) {
        if (cfg_.hub == cfg_.card) return;  // the hub already holds it
        if (member(cfg_.hub) && can_send(cfg_.hub))
          send_reliable(io, cfg_.hub, t, &entry, blob, blob_len, 0, 0, 0, false, bp::kBroadcast);
        else ++counters_[wire::BP_STATS_NOT_SENT];
      } else {
      fanout:
        for_each_member([&](unsigned p) {
          if (passive_[p]) return;
          if (can_send(p)) send_reliable(io, p, t, &entry, blob, blob_len, 0, 0, 0, false, bp::kBroadcast);
          else ++counters_[wire::BP_STATS_NOT_SENT];  // down: caught up when it returns
        });
      }
      return;
    }
    if (op == bp::u(wire::Opcode::GET)) {  // pull from `owner` (the hub)
      if (member(owner) && can_send(owner)) {
        send_reliable(io, owner, wire::FrameType::PULL, &entry, nullptr, 0, 0, tag, 0, false, bp::kBroadcast);
      } else {
        host_result(io, wire::Opcode::GET, tag, bp::u(wire::Status::FAILED), &h, owner);
      }
      return;
    }
    // TRANSFER
    if (owner == bp::kBroadcast || owner == cfg_.card) {
      start_transfer(io, entry, dest, bp::kBroadcast, tag);
    } else if (member(owner) && can_send(owner)) {
      send_reliable(io, owner, wire::FrameType::TRANSFER_REQ, &entry, nullptr, 0, dest, tag, 0, false, bp::kBroadcast);
    } else {
      ++counters_[wire::BP_STATS_TRANSFERS_FAILED];
      host_result(io, wire::Opcode::TRANSFER, tag, bp::u(wire::Status::FAILED), &h, dest);
    }
  }

  // Export the key from the local table; on_table_response sends it on.
  void start_transfer(Io& io, const Beat& entry, unsigned dest, unsigned origin, uint32_t req) {
    pend_.kind = PendKind::EXPORT_TRANSFER;
    pend_.peer = static_cast<uint8_t>(dest);
    pend_.origin = static_cast<uint8_t>(origin);
    pend_.req = req;
    pend_.seq = 0;
    table_command(io, wire::Opcode::EXPORT, entry, nullptr, 0);
  }

  void table_command(Io& io, wire::Opcode op, const Beat& entry, const Beat* blob, unsigned blob_len) {
    Beat c;
    copy_beat(c, entry);
    wire::set_field(c.data, wire::header::op, bp::u(op));
    wire::set_field(c.data, wire::header::status, 0);
    wire::set_field(c.data, wire::header::tag, ++tbl_tag_);
    wire::set_field(c.data, wire::header::aux, 0);
    wire::set_field(c.data, wire::header::blob_len, blob_len);
    if (op != wire::Opcode::PUT && op != wire::Opcode::DEL) {
      wire::set_field(c.data, wire::header::version, 0);
      wire::set_field(c.data, wire::header::expiry, 0);
      wire::set_field(c.data, wire::header::flags, 0);
    }
    if (op == wire::Opcode::DEL) wire::set_field(c.data, wire::header::flags, 0);
    const unsigned nb = beats_for(blob_len);
    c.last = nb == 0;
    write_beat(io.tbl_cmd, c);
  send_blob:
    for (unsigned b = 0; b < nb; ++b) {
      Beat d;
      copy_beat(d, blob[b]);
      d.last = b + 1 == nb;
      write_beat(io.tbl_cmd, d);
    }
  }

  // ---- table responses -------------------------------------------------------------
  void on_table_response(Io& io) {
    Beat r = read_beat(io.tbl_rsp);
    Beat blob[kSlotBeats];
    unsigned got = 0;
    bool last = r.last;
  drain:
    while (!last) {
#pragma HLS PIPELINE II = 1
      Beat b = read_beat(io.tbl_rsp);
      if (got < kSlotBeats) copy_beat(blob[got], b);
      ++got;
      last = b.last;
    }
    const Pending p = pend_;
    pend_.kind = PendKind::NONE;
    const unsigned st = hdr(r, wire::header::status);
    unsigned blob_len = hdr(r, wire::header::blob_len);
    if (blob_len > SLOT_BYTES || got != beats_for(blob_len)) blob_len = 0;  // table guarantees; be safe
    const bool stored = st == bp::u(wire::Status::OK) || st == bp::u(wire::Status::EVICTED) ||
                        st == bp::u(wire::Status::STALE);  // STALE: it already holds newer
    // Entry beat for the wire / the host: table response minus host-only fields.
    Beat entry;
    copy_beat(entry, r);
    wire::set_field(entry.data, wire::header::op, bp::u(wire::Opcode::PUT));
    wire::set_field(entry.data, wire::header::status, 0);
    wire::set_field(entry.data, wire::header::tag, 0);
    wire::set_field(entry.data, wire::header::aux, 0);
    switch (p.kind) {
      case PendKind::APPLY: {
        const bool applied = stored || st == bp::u(wire::Status::MISS);  // DEL of an absent key: tombstone kept
        ++counters_[applied ? wire::BP_STATS_APPLIED : wire::BP_STATS_APPLY_FAILED];
        if (!applied && p.peer < CARDS && up_[p.peer]) send_ack(io, p.peer, wire::FrameType::NACK, p.seq, st);
        break;
      }
      case PendKind::APPLY_TRANSFER: {
        ++counters_[stored ? wire::BP_STATS_APPLIED : wire::BP_STATS_APPLY_FAILED];
        send_ack(io, p.peer, wire::FrameType::ACK, p.seq, stored ? bp::u(wire::Status::OK) : st);
        break;
      }
      case PendKind::APPLY_PULL_RESP: {
        ++counters_[stored ? wire::BP_STATS_APPLIED : wire::BP_STATS_APPLY_FAILED];
        host_result(io, wire::Opcode::GET, p.req, stored ? bp::u(wire::Status::OK) : st, &entry, p.peer);
        break;
      }
      case PendKind::EXPORT_PULL: {
        ++counters_[wire::BP_STATS_PULLS_SERVED];
        // Transfer mode: the table's GET consumed a SINGLE_USE entry (a TLS 1.3 ticket),
        // so this copy is now a tombstone (version in aux) and the puller gets the only
        // live one. Its version names the puller as writer, one lamport tick past that
        // tombstone: the puller's TAKE then owes no DELETE to anyone (card rule 4), and
        // wherever the moved copy meets this tombstone the live copy is the newer.
        if (st == bp::u(wire::Status::OK) && cfg_.mode == wire::BpMode::TRANSFER &&
            (hdr(r, wire::header::flags) & bp::u(wire::Flags::SINGLE_USE)) != 0) {
          const uint64_t tomb = wire::get_field(r.data, wire::header::aux);
          wire::set_field(entry.data, wire::header::version,
                          (((tomb >> wire::CARD_BITS) + 1) << wire::CARD_BITS) | p.peer);
        }
        if (can_send(p.peer)) {
          const bool hit = st == bp::u(wire::Status::OK);
          send_reliable(io, p.peer, wire::FrameType::PULL_RESP, hit ? &entry : nullptr, blob, hit ? blob_len : 0, 0,
                        p.req, st, false, bp::kBroadcast);
        } else {
          ++counters_[wire::BP_STATS_NOT_SENT];
        }
        break;
      }
      case PendKind::EXPORT_TRANSFER: {
        if (st != bp::u(wire::Status::OK)) {
          finish_transfer(io, p.origin, p.req, p.peer, st, &entry);  // MISS / EXPIRED: nothing to move
        } else if (p.peer == cfg_.card) {
          finish_transfer(io, p.origin, p.req, p.peer, bp::u(wire::Status::OK), &entry);  // already here
        } else if (member(p.peer) && can_send(p.peer)) {
          send_reliable(io, p.peer, wire::FrameType::TRANSFER, &entry, blob, blob_len, 0, p.req, 0, true, p.origin);
        } else {
          finish_transfer(io, p.origin, p.req, p.peer, bp::u(wire::Status::FAILED), &entry);
        }
        break;
      }
      case PendKind::NONE:
        break;
    }
  }

  // ---- inbound frames --------------------------------------------------------------
  // A sender's epoch: learn it, detect a restart, or reject it as stale.
  bool observe_epoch(Io& io, unsigned src, uint32_t e) {
    if (e < peer_epoch_[src] || e == 0) {
      ++counters_[wire::BP_STATS_RX_STALE_EPOCH];
      return false;
    }
    if (e > peer_epoch_[src]) {
      if (peer_epoch_[src] != 0) {  // restarted: its sequence state and tables are new
        drop_peer_slots(io, src);
        reset_peer_state(src);
      }
      peer_epoch_[src] = e;
      peer_joined(io, src);
    } else if (!up_[src]) {
      peer_joined(io, src);
    }
    return true;
  }

  void process_acks(Io& io, const Beat& h, unsigned p) {
    uint32_t ack = static_cast<uint32_t>(wire::get_field(h.data, wire::frame::ack));
    if (ack > tx_next_[p]) ack = tx_next_[p];  // never beyond what was sent
    // Cumulative: the in-flight seqs below ack (at most RTX_SLOTS), not every seq.
    uint16_t offs[RTX_SLOTS];
    const uint32_t una0 = tx_una_[p];
    const unsigned nrel = ack > una0 ? inflight_in(p, una0, ack - una0, offs, RTX_SLOTS) : 0;
  cumulative:
    for (unsigned k = 0; k < nrel; ++k) release_acked(p, una0 + offs[k]);
    bool later = false;  // the peer holds something beyond its cumulative ack
  selective:
    for (unsigned w = 0; w < bp::kSackWords; ++w) {
      uint64_t bits = wire::get_field_word(h.data, wire::frame::sack, w);
      later = later || bits != 0;
      while (bits) {
        const unsigned j = static_cast<unsigned>(__builtin_ctzll(bits));
        bits &= bits - 1;
        const uint32_t s = ack + w * 64 + j;
        if (s < tx_next_[p]) release_acked(p, s);
      }
    }
    advance_una(p);
    // Fast retransmit: the peer is missing exactly our oldest frame but has later ones,
    // so it was lost (or is late); resend it now, once, instead of waiting for the timer.
    if (later && ack == tx_una_[p] && tx_una_[p] != tx_next_[p]) {
      const unsigned i1 = slot_at(p, tx_una_[p]);
      if (i1 != 0 && rtx_[i1 - 1].valid && !rtx_[i1 - 1].fast_done) {
        rtx_[i1 - 1].fast_done = true;
        ++counters_[wire::BP_STATS_RETRANSMITS];
        ++counters_[wire::BP_STATS_FAST_RETRANSMITS];
        transmit(io, frames_[i1 - 1], rtx_[i1 - 1].nbeats);
      }
    }
  }

  void release_acked(unsigned p, uint32_t s) {
    const unsigned i1 = slot_at(p, s);
    if (i1 == 0) return;
    const RtxSlot& r = rtx_[i1 - 1];
    if (!r.valid || r.seq != s || r.peer != p) return;
    if (r.retries == 0 && !r.fast_done) rtt_sample(p, now_ - r.sent_at);
    if (!r.outcome) release_slot(i1 - 1);
  }

  // Jacobson/Karels smoothed RTT per peer, in shifts (srtt x8, rttvar x4): the timeout
  // follows queueing on a loaded host instead of firing spuriously. cfg.rto is the floor.
  void rtt_sample(unsigned p, uint64_t m) {
    backoff_[p] = 0;  // a clean sample: the path works at the estimated RTT
    if (srtt_[p] == 0) {
      srtt_[p] = (m << 3) | 1;
      rttvar_[p] = m << 1;
      return;
    }
    const int64_t err = static_cast<int64_t>(m) - static_cast<int64_t>(srtt_[p] >> 3);
    srtt_[p] = static_cast<uint64_t>(static_cast<int64_t>(srtt_[p]) + err) | 1;
    const uint64_t aerr = static_cast<uint64_t>(err < 0 ? -err : err);
    rttvar_[p] = rttvar_[p] + aerr - (rttvar_[p] >> 2);
  }
  // Timeouts double the peer's rto until a clean sample (TCP's backoff): without it a
  // first window larger than the floor allows would time out, be resent in full, give no
  // clean sample (Karn) and repeat.
  uint64_t rto_of(unsigned p) const {
    const uint64_t est = (srtt_[p] >> 3) + rttvar_[p];
    const uint64_t cap = cfg_.rto << 6;
    const uint64_t base = est < cfg_.rto ? cfg_.rto : est;
    const uint64_t r = base << backoff_[p];
    return r > cap ? cap : r;
  }

  // Receiver side of `una`: seqs below it will never come; treat them as received.
  void skip_abandoned(unsigned p, uint32_t una) {
    if (una <= rx_base_[p]) return;
    uint32_t gap = una - rx_base_[p];
    if (gap >= bp::kWindow) {
      for (unsigned w = 0; w < bp::kWindowWords; ++w) rx_map_[p][w] = 0;
      rx_base_[p] = una;
      return;
    }
    shift_window(p, gap);
    shift_window(p, received_run(p));
  }

  // Seqs received in a row from rx_base (the trailing ones of the map): one pass over
  // the words.
  unsigned received_run(unsigned p) const {
    unsigned n = 0;
  run_words:
    for (unsigned w = 0; w < bp::kWindowWords; ++w) {
#pragma HLS PIPELINE II = 1
      const uint64_t m = rx_map_[p][w];
      if (m == ~0ull) {
        n += 64;
        continue;
      }
      return n + static_cast<unsigned>(__builtin_ctzll(~m));
    }
    return n;
  }

  // Moves the receive window on by n (< window) seqs: one word shift and one bit shift
  // per word, not n one-bit shifts of the whole map.
  void shift_window(unsigned p, unsigned n) {
    const unsigned q = n / 64, r = n % 64;
  shift_words:
    for (unsigned w = 0; w < bp::kWindowWords; ++w) {  // ascending: reads only words >= w
#pragma HLS PIPELINE II = 1
      const uint64_t lo = w + q < bp::kWindowWords ? rx_map_[p][w + q] : 0;
      const uint64_t hi = w + q + 1 < bp::kWindowWords ? rx_map_[p][w + q + 1] : 0;
      rx_map_[p][w] = r == 0 ? lo : (lo >> r) | (hi << (64 - r));
    }
    rx_base_[p] += n;
  }

  void mark_received(unsigned p, uint32_t s) {
    const uint32_t off = s - rx_base_[p];
    rx_map_[p][off / 64] |= 1ull << (off % 64);
    shift_window(p, received_run(p));
  }

  bool already_received(unsigned p, uint32_t s) const {
    if (s < rx_base_[p]) return true;
    const uint32_t off = s - rx_base_[p];
    return (rx_map_[p][off / 64] >> (off % 64)) & 1;
  }

  void on_frame(Io& io) {
    Beat f[kMaxFrameBeats];
    // One beat (8 words + last) per memory word: read_frame writes a whole beat per cycle.
#pragma HLS AGGREGATE variable = f compact = bit
    unsigned n = 0;
    bool last = false;
    bool overflow = false;
  read_frame:
    while (!last) {
#pragma HLS PIPELINE II = 1
      Beat b = read_beat(io.frame_in);
      if (n < kMaxFrameBeats) copy_beat(f[n], b);
      else overflow = true;
      ++n;
      last = b.last;
    }
    ++counters_[wire::BP_STATS_RX_FRAMES];
    const Beat& h = f[0];
    if (hdr(h, wire::frame::fver) != bp::kFrameVersion) {
      ++counters_[wire::BP_STATS_RX_BAD_VERSION];
      return;
    }
    const unsigned payload_len = hdr(h, wire::frame::payload_len);
    if (overflow || payload_len > kMaxPayload || n != 1 + beats_for(payload_len)) {
      ++counters_[wire::BP_STATS_RX_BAD_LEN];
      return;
    }
    const uint32_t got_crc = static_cast<uint32_t>(wire::get_field(h.data, wire::frame::crc));
    Beat hz;  // the header as the sender's CRC saw it: the crc field zero
    copy_beat(hz, h);
    wire::set_field(hz.data, wire::frame::crc, 0);
    uint32_t c = crc32_init();
    for (unsigned b = 0; b < n; ++b)
      for (unsigned w = 0; w < wire::BEAT_WORDS; ++w)
        c = crc32_word(c, b == 0 ? hz.data[w] : f[b].data[w]);
    if (crc32_final(c) != got_crc) {
      ++counters_[wire::BP_STATS_RX_BAD_CRC];
      return;
    }
    const unsigned src = hdr(h, wire::frame::src);
    const unsigned dst = hdr(h, wire::frame::dst);
    const unsigned type = hdr(h, wire::frame::ftype);
    if (!member(src) || (dst != cfg_.card && dst != bp::kBroadcast) || !wire::is_valid_frame_type(type) ||
        (dst == bp::kBroadcast && type != bp::u(wire::FrameType::HELLO))) {
      ++counters_[wire::BP_STATS_RX_NOT_MINE];
      return;
    }
    const uint32_t epoch = static_cast<uint32_t>(wire::get_field(h.data, wire::frame::epoch));
    const uint32_t dst_epoch = static_cast<uint32_t>(wire::get_field(h.data, wire::frame::dst_epoch));
    if (type == bp::u(wire::FrameType::HELLO)) passive_[src] = (hdr(h, wire::frame::arg) & 1) != 0;
    if (!observe_epoch(io, src, epoch)) return;
    if (type == bp::u(wire::FrameType::HELLO)) {
      // Reply when asked, or when a unicast HELLO shows the sender has our epoch wrong.
      if (hdr(h, wire::frame::status) == 1 || (dst != bp::kBroadcast && dst_epoch != cfg_.epoch))
        send_hello(io, src, 0);
      return;
    }
    if (dst_epoch != cfg_.epoch) {  // meant for an earlier life of this card
      ++counters_[wire::BP_STATS_RX_STALE_EPOCH];
      send_hello(io, src, 0);
      return;
    }
    process_acks(io, h, src);
    skip_abandoned(src, static_cast<uint32_t>(wire::get_field(h.data, wire::frame::una)));
    const uint32_t req = static_cast<uint32_t>(wire::get_field(h.data, wire::frame::req));
    const unsigned status = hdr(h, wire::frame::status);
    if (type == bp::u(wire::FrameType::ACK) || type == bp::u(wire::FrameType::NACK)) {
      if (req != 0) outcome_ack(io, src, req, status);
      return;
    }
    const uint32_t seq = static_cast<uint32_t>(wire::get_field(h.data, wire::frame::seq));
    if (seq == 0) {
      ++counters_[wire::BP_STATS_RX_BAD_LEN];  // every other type is reliable
      return;
    }
    // Entry-carrying frames must hold one well-formed entry.
    const bool needs_entry = type == bp::u(wire::FrameType::UPDATE) || type == bp::u(wire::FrameType::DELETE) ||
                             type == bp::u(wire::FrameType::TRANSFER) ||
                             type == bp::u(wire::FrameType::TRANSFER_REQ) || type == bp::u(wire::FrameType::PULL) ||
                             (type == bp::u(wire::FrameType::PULL_RESP) && status == bp::u(wire::Status::OK));
    const Beat& e = f[1];
    if (needs_entry) {
      const unsigned kl = payload_len >= wire::BEAT_BYTES ? hdr(e, wire::header::key_len) : 0;
      const unsigned bl = payload_len >= wire::BEAT_BYTES ? hdr(e, wire::header::blob_len) : 0;
      if (payload_len < wire::BEAT_BYTES || kl == 0 || kl > wire::KEY_MAX_BYTES ||
          bl != payload_len - wire::BEAT_BYTES) {
        ++counters_[wire::BP_STATS_RX_BAD_LEN];
        return;
      }
    }
    const bool dup = already_received(src, seq);
    if (dup) {
      ++counters_[wire::BP_STATS_RX_DUP];
      if (type == bp::u(wire::FrameType::TRANSFER)) apply_entry(io, PendKind::APPLY_TRANSFER, src, seq, 0, f, wire::Opcode::PUT);
      else queue_ack(src);
      return;
    }
    if (seq - rx_base_[src] >= bp::kWindow) {
      ++counters_[wire::BP_STATS_RX_WINDOW];
      return;
    }
    const bool needs_slot = type == bp::u(wire::FrameType::PULL) || type == bp::u(wire::FrameType::TRANSFER_REQ);
    if (needs_slot && free_top_ == 0) {
      ++counters_[wire::BP_STATS_RX_BUSY];  // not marked received: the sender retries
      return;
    }
    mark_received(src, seq);
    switch (static_cast<wire::FrameType>(type)) {
      case wire::FrameType::UPDATE:
        queue_ack(src);
        apply_entry(io, PendKind::APPLY, src, seq, 0, f, wire::Opcode::PUT);
        break;
      case wire::FrameType::DELETE:
        queue_ack(src);
        apply_entry(io, PendKind::APPLY, src, seq, 0, f, wire::Opcode::DEL);
        break;
      case wire::FrameType::TRANSFER:
        apply_entry(io, PendKind::APPLY_TRANSFER, src, seq, 0, f, wire::Opcode::PUT);
        break;
      case wire::FrameType::PULL_RESP:
        queue_ack(src);
        if (status == bp::u(wire::Status::OK)) apply_entry(io, PendKind::APPLY_PULL_RESP, src, seq, req, f, wire::Opcode::PUT);
        else host_result(io, wire::Opcode::GET, req, status, nullptr, src);
        break;
      case wire::FrameType::PULL:
        queue_ack(src);
        pend_.kind = PendKind::EXPORT_PULL;
        pend_.peer = static_cast<uint8_t>(src);
        pend_.req = req;
        // Transfer mode moves a SINGLE_USE entry (GET consumes exactly those, and copies
        // the rest like EXPORT); replicate and hub mode copy (the puller's consume DELETE
        // reaches this card anyway as a mode destination; a hub never consumes on a pull).
        table_command(io, cfg_.mode == wire::BpMode::TRANSFER ? wire::Opcode::GET : wire::Opcode::EXPORT, e, nullptr, 0);
        break;
      case wire::FrameType::TRANSFER_REQ:
        queue_ack(src);
        start_transfer(io, e, hdr(h, wire::frame::arg), src, req);
        break;
      case wire::FrameType::TRANSFER_RESULT:
        queue_ack(src);
        host_result(io, wire::Opcode::TRANSFER, req, status, nullptr, hdr(h, wire::frame::arg));
        break;
      default:  // DIGEST (reserved)
        queue_ack(src);
        ++counters_[wire::BP_STATS_DIGESTS];
        break;
    }
  }

  void apply_entry(Io& io, PendKind k, unsigned src, uint32_t seq, uint32_t req, const Beat* f, wire::Opcode op) {
    pend_.kind = k;
    pend_.peer = static_cast<uint8_t>(src);
    pend_.seq = seq;
    pend_.req = req;
    const unsigned bl = op == wire::Opcode::PUT ? hdr(f[1], wire::header::blob_len) : 0;
    table_command(io, op, f[1], f + 2, bl);
  }

  void outcome_ack(Io& io, unsigned p, uint32_t seq, unsigned status) {
    const unsigned i1 = slot_at(p, seq);
    if (i1 == 0) return;
    RtxSlot& r = rtx_[i1 - 1];
    if (!r.valid || r.seq != seq || r.peer != p || !r.outcome) return;
    if (r.retries == 0 && !r.fast_done) rtt_sample(p, now_ - r.sent_at);
    const unsigned origin = r.origin;
    const uint32_t rq = r.req;
    Beat entry;
    copy_beat(entry, frames_[i1 - 1][1]);
    release_slot(i1 - 1);
    advance_una(p);
    finish_transfer(io, origin, rq, p, status, &entry);
  }

  BackplaneConfig cfg_;
  uint64_t now_ = 0;
  // Per card.
  uint32_t peer_epoch_[CARDS];
  bool up_[CARDS];
  bool passive_[CARDS];  // peer said (HELLO arg bit 0) it holds no table
  uint32_t tx_next_[CARDS];
  uint32_t tx_una_[CARDS];
  uint64_t srtt_[CARDS];
  uint64_t rttvar_[CARDS];
  uint8_t backoff_[CARDS];
  uint32_t rx_base_[CARDS];
  uint64_t rx_map_[CARDS][bp::kWindowWords];
  uint16_t slot_of_[CARDS][bp::kWindow];  // seq % window -> retransmit slot + 1 (valid where inflight_ has the bit)
  uint64_t inflight_[CARDS][bp::kWindowWords];  // bit seq % window: slot_of_ holds a retransmit slot
  bool ack_pending_[CARDS];
  bool in_ring_[CARDS];
  uint8_t ack_ring_[CARDS + 1];
  unsigned ack_head_ = 0, ack_tail_ = 0;
  unsigned up_count_ = 0;
  unsigned full_windows_ = 0;
  // Retransmit buffer.
  RtxSlot rtx_[RTX_SLOTS];
  Beat frames_[RTX_SLOTS][kMaxFrameBeats];
  uint16_t free_[RTX_SLOTS];
  unsigned free_top_ = 0;
  // One past the highest slot handed out since none was last in use: the software top's
  // timer scan stops there (the free stack hands out low slots first).
  unsigned slot_hi_ = 0;
  unsigned timer_slot_ = 0;
  uint64_t next_hello_ = 0;
  uint64_t next_timer_ = ~0ull;  // no retransmit deadline is earlier than this
  Pending pend_;
  uint32_t tbl_tag_ = 0;
  uint64_t counters_[wire::BP_STATS_COUNT];
};

// Software nodes (the driver) and the C-simulation tests: every 8-bit card id but the
// broadcast, 4096 frames in flight.
using ModelBackplane = BackplaneSync<255, 4096>;

}  // namespace sessnic
