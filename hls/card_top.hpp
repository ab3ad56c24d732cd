// The card: one kernel that holds the session table, the backplane sync engine and
// every card-level rule. Behavioural source of truth for a sessnic card (the RTL
// `sessnic_top` implements the same rules; docs/card.md describes them for both).
//
// Ports (512-bit beats with TLAST, layouts in spec/wire.toml):
//   host_cmd  host -> card   `header` beats: table opcodes, TRANSFER, PULL
//   host_rsp  card -> host   exactly one response per command (tag echoed). Table-only
//                            commands answer in command order; TRANSFER, PULL and a hub
//                            pull on a GET/TAKE miss answer when their backplane work is
//                            done (or at their deadline), so later answers may overtake.
//   frame_out card -> link   backplane frames
//   frame_in  link -> card   backplane frames
//   registers                CardRegisters, written by configure() at start (the table
//                            survives a configure; the sync state does not).
//
// Inside: SessionTable answers every table command, BackplaneSync owns the wire
// protocol (windows, retransmission, epochs, frame types). This file adds only the card
// rules of the contract (docs/card.md, "Card rules"):
//   1. PUT stored (OK/EVICTED) -> UPDATE to the mode's destinations.
//   2. DEL OK, or MISS that wrote a tombstone -> DELETE (tombstone version).
//   3. Hub mode, non-hub card: GET/TAKE MISS/EXPIRED -> PULL from the hub; if it brings
//      the entry the same GET/TAKE runs again here and that is the answer.
//   4. Consumed (TAKE OK, GET OK of a SINGLE_USE entry) -> DELETE with the tombstone
//      version (table response aux) to the mode's destinations, and to the writer card
//      when it still holds a copy (transfer mode; hub mode with writer != hub).
//   5. Received frames: BackplaneSync applies them to the table (tbl_cmd/tbl_rsp). In
//      transfer mode it serves a PULL by GET, so a SINGLE_USE entry moves: the puller's
//      copy names the puller as writer, and rule 4 then sends its TAKE's DELETE nowhere.
//   6. Catch-up: a peer that (re)joins and should hold this card's entries gets a SCAN
//      walk of the whole table (host commands first), each live entry as UPDATE and
//      each tombstone as DELETE, reliable.
//   7. Epoch and every other setting from the registers; nothing is a synthesis
//      parameter but the geometry.
// Fixed-size state, no heap: the Vitis top (card_top.cpp) instantiates it as a static.
#pragma once
#include <stdint.h>

#include "axis_beat.hpp"
#include "backplane_sync.hpp"
#include "beat.hpp"
#include "card_registers.hpp"
#include "hls_stream_shim.hpp"
#include "session_table.hpp"
#include "wire/sessnic_wire.hpp"

namespace sessnic {

namespace card {
inline unsigned u(wire::Opcode o) { return static_cast<unsigned>(o); }
inline unsigned u(wire::Status s) { return static_cast<unsigned>(s); }
inline unsigned u(wire::Flags f) { return static_cast<unsigned>(f); }
}  // namespace card

// SETS_LOG2 x WAYS: table geometry. CARDS, RTX_SLOTS: as BackplaneSync. PENDING: host
// requests waiting on the backplane at once (TRANSFER, PULL, hub pulls); a full set
// holds the next such command back (back-pressure, nothing dropped).
template <unsigned SETS_LOG2, unsigned WAYS, unsigned CARDS, unsigned RTX_SLOTS, unsigned PENDING = 64,
          unsigned SLOT_BYTES = wire::SLOT_BYTES, class StreamBeat = Beat>
class CardTop {
 public:
  using Table = SessionTable<SETS_LOG2, WAYS, SLOT_BYTES>;
  using Sync = BackplaneSync<CARDS, RTX_SLOTS, SLOT_BYTES, Beat>;
  static constexpr unsigned kSlotBeats = SLOT_BYTES / wire::BEAT_BYTES;
  static constexpr unsigned kCapacity = Table::kCapacity;
  static constexpr unsigned kWalkSkip = 4096;  // empty slots passed per round of a walk
  static_assert(PENDING >= 1 && PENDING <= 65535, "pending requests");

  struct Ports {
    hls::stream<StreamBeat>& host_cmd;
    hls::stream<StreamBeat>& host_rsp;
    hls::stream<StreamBeat>& frame_in;
    hls::stream<StreamBeat>& frame_out;
  };

  explicit CardTop(uint8_t card_id = 0) : table_(card_id) {
    CardRegisters r;
    r.card = card_id;
    configure(r);
  }

  // Register write at start (or restart): sync state, pending requests and the walk are
  // reset; the table keeps its entries (a card restart with a new epoch empties it by a
  // FLUSH from the driver, or by power-on).
  void configure(const CardRegisters& r) {
    regs_ = r;
    if (regs_.epoch == 0) regs_.epoch = 1;
    BackplaneConfig c;
    c.card = r.card;
    c.epoch = regs_.epoch;
    c.mode = r.mode;
    c.hub = r.hub;
    c.rto = r.rto;
    c.max_retries = r.max_retries;
    c.hello_interval = r.hello_interval;
    for (unsigned i = 0; i < 4; ++i) c.peers[i] = r.members[i];
    c.passive = r.passive;
    sync_.configure(c);
    table_.set_card(r.card);
    for (unsigned i = 0; i < PENDING; ++i) pend_[i].valid = false;
    pend_count_ = 0;
    gen_ = 0;
    for (unsigned i = 0; i < 4; ++i) joiners_[i] = walk_to_[i] = 0;
    walking_ = false;
    walk_idx_ = 0;
    catchup_pushed_ = catchup_walks_ = 0;
    clear_streams();
  }

  const CardRegisters& registers() const { return regs_; }
  Table& table() { return table_; }
  const Sync& sync() const { return sync_; }
  bool walking() const { return walking_; }
  unsigned pending() const { return pend_count_; }

  // bp_stats as the register file shows them: the sync engine's counters plus the
  // card's catch-up counters.
  uint64_t bp_counter(unsigned i) const {
    if (i == wire::BP_STATS_CATCHUP_PUSHED) return catchup_pushed_;
    if (i == wire::BP_STATS_CATCHUP_WALKS) return catchup_walks_;
    return sync_.counter(i);
  }

  // One round of work at card time `now` (ticks): the sync engine, its table commands,
  // its results, deadlines, then one host command, else one catch-up SCAN. Returns true
  // if anything happened (the caller loops while true).
  bool step(uint64_t now, Ports& io) {
    now_ = now;
    bool did = false;
    typename Sync::Io sio{s_cmd_, s_rsp_, s_tcmd_, s_trsp_, frame_in_, frame_out_};
    move_in(io.frame_in, frame_in_);
    if (sync_.step(now, sio)) did = true;
    sync_.service_timers(now, sio);
  serve_sync_table:
    while (!s_tcmd_.empty()) {
      table_.step(s_tcmd_, s_trsp_);
      did = true;
    }
  sync_results:
    while (!s_rsp_.empty()) {
      on_sync_result(io);
      did = true;
    }
    if (check_deadlines(io)) did = true;
    if (!io.host_cmd.empty() && s_cmd_.empty() && pend_count_ < PENDING) {
      on_host_command(io);
      did = true;
    } else if (walking_ && io.host_cmd.empty() && s_cmd_.empty()) {
      if (walk_step()) did = true;
    }
    move_out(frame_out_, io.frame_out);
    return did;
  }

  // An idle cycle of the table's expiry sweep.
  void sweep_step() { table_.sweep_step(); }

  // Earliest card time at which step() has work without new input (~0 = none): the sync
  // engine's retransmit/HELLO timers, a request deadline, or now while the catch-up walk
  // can go on. For a software top that sleeps between steps (the host pump); the card
  // itself runs every cycle and never asks.
  uint64_t next_deadline() const {
    uint64_t d = sync_.next_deadline();
    if (walking_ && walk_ready()) d = now_;
    if (pend_count_ == 0) return d;
    for (unsigned i = 0; i < PENDING; ++i)
      if (pend_[i].valid && pend_[i].deadline < d) d = pend_[i].deadline;
    return d;
  }

 private:
  enum class ReqKind : uint8_t { TRANSFER, PULL, HUB_PULL };
  struct Req {
    bool valid;
    ReqKind kind;
    uint16_t gen;
    uint32_t host_tag;
    uint64_t deadline;
    Beat cmd;   // the host command's header beat (HUB_PULL: runs again on success)
    Beat miss;  // HUB_PULL: the original miss answer
  };

  static unsigned hdr(const Beat& b, wire::Field f) { return static_cast<unsigned>(wire::get_field(b.data, f)); }
  static void copy_beat(Beat& d, const Beat& s) {
    for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) d.data[w] = s.data[w];
    d.last = s.last;
  }
  // The Vitis top's streams carry AxisBeat; the internal ones carry Beat.
  static void move_in(hls::stream<StreamBeat>& from, hls::stream<Beat>& to) {
  frames_in:
    while (!from.empty()) to.write(read_beat(from));
  }
  static void move_out(hls::stream<Beat>& from, hls::stream<StreamBeat>& to) {
  frames_out:
    while (!from.empty()) write_beat(to, from.read());
  }
  void clear_streams() {
    Beat b;
    while (!s_cmd_.empty()) b = s_cmd_.read();
    while (!s_rsp_.empty()) b = s_rsp_.read();
    while (!s_tcmd_.empty()) b = s_tcmd_.read();
    while (!s_trsp_.empty()) b = s_trsp_.read();
    while (!t_cmd_.empty()) b = t_cmd_.read();
    while (!t_rsp_.empty()) b = t_rsp_.read();
  }

  bool member(unsigned p) const {
    return p < CARDS && p != regs_.card && ((regs_.members[p / 64] >> (p % 64)) & 1);
  }
  // Does this mode send local writes anywhere? (replicate: every live, non-passive
  // peer; hub: the hub unless this is the hub; transfer: nowhere.)
  bool mode_sends() const {
    if (regs_.mode == wire::BpMode::TRANSFER) return false;
    if (regs_.mode == wire::BpMode::HUB) return regs_.hub != regs_.card;
    return true;
  }

  // ---- events towards the sync engine (PUT -> UPDATE, DEL -> DELETE) ---------------
  // `entry`: a header-layout beat with key, ctx, version, expiry, flags. dest =
  // BROADCAST: the mode's destinations (the sync engine fans out); else that card.
  void send_event(wire::Opcode op, const Beat& entry, const Beat* blob, unsigned blob_len, unsigned dest) {
    Beat h;
    copy_beat(h, entry);
    wire::set_field(h.data, wire::header::op, card::u(op));
    wire::set_field(h.data, wire::header::status, 0);
    wire::set_field(h.data, wire::header::tag, 0);
    wire::set_field(h.data, wire::header::aux, 0);
    wire::set_field(h.data, wire::sync_cmd::dest, dest);
    wire::set_field(h.data, wire::sync_cmd::owner, bp::kBroadcast);
    if (op == wire::Opcode::DEL) {
      wire::set_field(h.data, wire::header::flags, 0);
      blob_len = 0;
    }
    wire::set_field(h.data, wire::header::blob_len, blob_len);
    const unsigned nb = beats_for(blob_len);
    h.last = nb == 0;
    s_cmd_.write(h);
  event_blob:
    for (unsigned b = 0; b < nb; ++b) {
      Beat d;
      copy_beat(d, blob[b]);
      d.last = b + 1 == nb;
      s_cmd_.write(d);
    }
  }

  // ---- the table, for the card's own commands ---------------------------------------
#ifndef __SYNTHESIS__
  // run_table()'s command and answer in software builds: what the t_cmd_ / t_rsp_
  // streams would carry, as the table's stream interface (empty / read_beat / write_beat).
  struct DirectCmd {
    const Beat& h;
    const Beat* blob;
    unsigned nblob;
    unsigned next = 0;  // 0: the header; b + 1: blob beat b
    bool empty() const { return next > nblob; }
    friend Beat read_beat(DirectCmd& c) {
      const Beat& s = c.next == 0 ? c.h : c.blob[c.next - 1];
      Beat b;
      for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) b.data[w] = s.data[w];
      b.last = c.next == c.nblob;  // TLAST as the stream version sets it
      ++c.next;
      return b;
    }
  };
  struct DirectRsp {
    Beat& r;
    Beat* rblob;  // at most kSlotBeats kept (the table never sends more)
    unsigned got = 0;  // blob beats after the header
    bool header = true;
    friend void write_beat(DirectRsp& o, const Beat& b) {
      if (o.header) {
        o.r = b;
        o.header = false;
        return;
      }
      if (o.got < kSlotBeats) o.rblob[o.got] = b;
      ++o.got;
    }
  };
#endif
  // Runs one command (header + blob) on the table; returns the response header in `r`
  // and its blob in `blob` (at most kSlotBeats kept; the table never sends more).
  unsigned run_table(const Beat& h, const Beat* blob, unsigned nblob, Beat& r, Beat* rblob) {
#ifndef __SYNTHESIS__
    // Software builds (the model device, tests, C-simulation): the table reads the
    // command from h/blob and writes its answer into r/rblob directly - the same table
    // step, the same beats, without the two internal streams between (two copies of
    // every beat and the streams' own memory, per command).
    DirectCmd in{h, blob, nblob};
    DirectRsp out{r, rblob};
    table_.step(in, out);
    return out.got;
#else
    Beat c;
    copy_beat(c, h);
    c.last = nblob == 0;
    t_cmd_.write(c);
  cmd_blob:
    for (unsigned b = 0; b < nblob; ++b) {
      Beat d;
      copy_beat(d, blob[b]);
      d.last = b + 1 == nblob;
      t_cmd_.write(d);
    }
    table_.step(t_cmd_, t_rsp_);
    r = t_rsp_.read();
    unsigned got = 0;
    bool last = r.last;
  rsp_blob:
    while (!last) {
      Beat d = t_rsp_.read();
      if (got < kSlotBeats) copy_beat(rblob[got], d);
      ++got;
      last = d.last;
    }
    return got;
#endif
  }

  // Rules 1, 2 and 4 after the table answered a host command `h` with `r`.
  void table_rules(const Beat& h, const Beat* blob, const Beat& r) {
    const unsigned op = hdr(h, wire::header::op);
    const unsigned st = hdr(r, wire::header::status);
    const unsigned flags = hdr(r, wire::header::flags);
    const uint64_t version = wire::get_field(r.data, wire::header::version);
    if (op == card::u(wire::Opcode::PUT)) {
      if ((st == card::u(wire::Status::OK) || st == card::u(wire::Status::EVICTED)) && mode_sends()) {
        Beat e;
        copy_beat(e, h);  // the entry as stored: key and ctx from the command, metadata from the table
        wire::set_field(e.data, wire::header::version, version);
        wire::set_field(e.data, wire::header::expiry, wire::get_field(r.data, wire::header::expiry));
        wire::set_field(e.data, wire::header::flags, flags);
        send_event(wire::Opcode::PUT, e, blob, hdr(h, wire::header::blob_len), bp::kBroadcast);
      }
      return;
    }
    const bool tomb = (flags & card::u(wire::Flags::TOMBSTONE)) != 0;
    if (op == card::u(wire::Opcode::DEL)) {
      const bool wrote = st == card::u(wire::Status::OK) || (st == card::u(wire::Status::MISS) && tomb && version != 0);
      if (wrote && mode_sends()) send_event(wire::Opcode::DEL, r, nullptr, 0, bp::kBroadcast);
      return;
    }
    const bool single_use = (flags & card::u(wire::Flags::SINGLE_USE)) != 0;
    const bool consumed = st == card::u(wire::Status::OK) &&
                          (op == card::u(wire::Opcode::TAKE) || (op == card::u(wire::Opcode::GET) && single_use));
    if (!consumed) return;
    Beat t;  // the tombstone: the taken entry's key, the table's new version (aux)
    copy_beat(t, r);
    wire::set_field(t.data, wire::header::version, wire::get_field(r.data, wire::header::aux));
    if (mode_sends()) send_event(wire::Opcode::DEL, t, nullptr, 0, bp::kBroadcast);
    const unsigned writer = static_cast<unsigned>(version & ((1u << wire::CARD_BITS) - 1));
    const bool writer_has_it = regs_.mode == wire::BpMode::TRANSFER ||
                               (regs_.mode == wire::BpMode::HUB && writer != regs_.hub);
    if (single_use && writer_has_it && writer != regs_.card) send_event(wire::Opcode::DEL, t, nullptr, 0, writer);
  }

  // ---- host commands ------------------------------------------------------------------
  void on_host_command(Ports& io) {
    Beat h = read_beat(io.host_cmd);
    Beat blob[kSlotBeats];
    unsigned got = 0;
    bool last = h.last;
    Beat first_extra;  // beats past a slot: forwarded to the table, which answers TOO_LARGE
    bool overflow = false;
  drain:
    while (!last) {
      Beat b = read_beat(io.host_cmd);
      if (got < kSlotBeats) copy_beat(blob[got], b);
      else if (!overflow) {
        copy_beat(first_extra, b);
        overflow = true;
      }
      ++got;
      last = b.last;
    }
    const unsigned op = hdr(h, wire::header::op);
    if (op == card::u(wire::Opcode::TRANSFER) || op == card::u(wire::Opcode::PULL)) {
      start_request(io, h, got);
      return;
    }
    Beat r;
    Beat rblob[kSlotBeats];
    if (overflow) {
      // Framing past a slot: the table must see it all to answer (TOO_LARGE/BAD_CMD); its
      // payload never matters, so the extra beats are repeats of the first one.
      Beat c;
      copy_beat(c, h);
      c.last = false;
      t_cmd_.write(c);
      for (unsigned b = 0; b < got; ++b) {
        Beat d;
        copy_beat(d, b < kSlotBeats ? blob[b] : first_extra);
        d.last = b + 1 == got;
        t_cmd_.write(d);
      }
      table_.step(t_cmd_, t_rsp_);
      r = t_rsp_.read();
      write_beat(io.host_rsp, r);
      while (!r.last) {
        r = t_rsp_.read();
        write_beat(io.host_rsp, r);
      }
      return;
    }
    const unsigned nrb = run_table(h, blob, got, r, rblob);
    const unsigned st = hdr(r, wire::header::status);
    const bool lookup = op == card::u(wire::Opcode::GET) || op == card::u(wire::Opcode::TAKE);
    const bool miss = st == card::u(wire::Status::MISS) || st == card::u(wire::Status::EXPIRED);
    if (lookup && miss && regs_.mode == wire::BpMode::HUB && regs_.hub != regs_.card && !regs_.passive &&
        member(regs_.hub)) {
      // Rule 3: ask the hub; the answer comes later (the host matches by tag).
      const unsigned i = alloc_request(ReqKind::HUB_PULL, h, regs_.pull_deadline);
      copy_beat(pend_[i].miss, r);
      Beat p;
      copy_beat(p, h);
      wire::set_field(p.data, wire::header::op, card::u(wire::Opcode::GET));
      wire::set_field(p.data, wire::header::tag, internal_tag(i));
      wire::set_field(p.data, wire::header::aux, 0);
      wire::set_field(p.data, wire::sync_cmd::dest, bp::kBroadcast);
      wire::set_field(p.data, wire::sync_cmd::owner, regs_.hub);
      wire::set_field(p.data, wire::header::blob_len, 0);
      p.last = true;
      s_cmd_.write(p);
      return;
    }
    table_rules(h, blob, r);
    send_response(io, r, rblob, nrb);
  }

  void send_response(Ports& io, Beat& r, const Beat* blob, unsigned n) {
    r.last = n == 0;
    write_beat(io.host_rsp, r);
  rsp_blob:
    for (unsigned b = 0; b < n; ++b) {
      Beat d;
      copy_beat(d, blob[b]);
      d.last = b + 1 == n;
      write_beat(io.host_rsp, d);
    }
  }

  uint32_t internal_tag(unsigned i) const { return (static_cast<uint32_t>(pend_[i].gen) << 16) | (i + 1); }

  unsigned alloc_request(ReqKind k, const Beat& h, uint64_t timeout) {
    unsigned i = 0;
  find_free:
    while (pend_[i].valid) ++i;  // caller checked pend_count_ < PENDING
    Req& q = pend_[i];
    q.valid = true;
    q.kind = k;
    q.gen = ++gen_;
    q.host_tag = static_cast<uint32_t>(wire::get_field(h.data, wire::header::tag));
    q.deadline = now_ + timeout;
    copy_beat(q.cmd, h);
    ++pend_count_;
    return i;
  }

  void free_request(unsigned i) {
    pend_[i].valid = false;
    --pend_count_;
  }

  // TRANSFER / PULL: a request for the sync engine (TRANSFER as is, PULL as its GET),
  // tagged with the pending slot; expiry = the deadline in ticks (0: the register's).
  void start_request(Ports& io, const Beat& h, unsigned blob_beats) {
    const unsigned op = hdr(h, wire::header::op);
    const uint64_t exp = wire::get_field(h.data, wire::header::expiry);
    const bool transfer = op == card::u(wire::Opcode::TRANSFER);
    if (blob_beats != 0 || hdr(h, wire::header::blob_len) != 0) {
      Beat r;
      copy_beat(r, h);
      wire::set_field(r.data, wire::header::status, card::u(wire::Status::BAD_CMD));
      wire::set_field(r.data, wire::header::blob_len, 0);
      send_response(io, r, nullptr, 0);
      return;
    }
    const unsigned i = alloc_request(transfer ? ReqKind::TRANSFER : ReqKind::PULL, h, exp ? exp : regs_.deadline);
    Beat c;
    copy_beat(c, h);
    wire::set_field(c.data, wire::header::op, card::u(transfer ? wire::Opcode::TRANSFER : wire::Opcode::GET));
    wire::set_field(c.data, wire::header::tag, internal_tag(i));
    wire::set_field(c.data, wire::header::expiry, 0);
    if (!transfer) wire::set_field(c.data, wire::sync_cmd::dest, bp::kBroadcast);
    c.last = true;
    s_cmd_.write(c);
  }

  // Answers FAILED for requests past their deadline (a late answer finds no slot).
  bool check_deadlines(Ports& io) {
    if (pend_count_ == 0) return false;
    bool did = false;
  deadlines:
    for (unsigned i = 0; i < PENDING; ++i) {
      Req& q = pend_[i];
      if (!q.valid || now_ < q.deadline) continue;
      Beat r;
      if (q.kind == ReqKind::HUB_PULL) {
        copy_beat(r, q.miss);  // the pull did not come back in time: the original miss
      } else {
        copy_beat(r, q.cmd);
        wire::set_field(r.data, wire::header::status, card::u(wire::Status::FAILED));
        wire::set_field(r.data, wire::header::blob_len, 0);
        if (q.kind == ReqKind::PULL) wire::set_field(r.data, wire::header::aux, 0);
        wire::set_field(r.data, wire::sync_cmd::dest,
                        q.kind == ReqKind::TRANSFER ? hdr(q.cmd, wire::sync_cmd::dest) : bp::kBroadcast);
        wire::set_field(r.data, wire::sync_cmd::owner, regs_.card);
      }
      free_request(i);
      send_response(io, r, nullptr, 0);
      did = true;
    }
    return did;
  }

  // ---- results of the sync engine -----------------------------------------------------
  void on_sync_result(Ports& io) {
    Beat r = s_rsp_.read();  // results are single beats
    const unsigned op = hdr(r, wire::header::op);
    if (op == card::u(wire::Opcode::NOP)) {  // "peer joined": sync_cmd.dest, flags 1 = passive
      peer_joined(hdr(r, wire::sync_cmd::dest), (hdr(r, wire::header::flags) & 1) != 0);
      return;
    }
    const uint32_t tag = static_cast<uint32_t>(wire::get_field(r.data, wire::header::tag));
    const unsigned i = (tag & 0xffff) - 1;
    if ((tag & 0xffff) == 0 || i >= PENDING || !pend_[i].valid || pend_[i].gen != (tag >> 16)) return;  // late
    Req& q = pend_[i];
    const unsigned st = hdr(r, wire::header::status);
    if (q.kind == ReqKind::HUB_PULL) {
      Beat h;
      copy_beat(h, q.cmd);
      Beat miss;
      copy_beat(miss, q.miss);
      free_request(i);
      if (st != card::u(wire::Status::OK)) {
        send_response(io, miss, nullptr, 0);
        return;
      }
      Beat a;
      Beat ablob[kSlotBeats];
      const unsigned n = run_table(h, nullptr, 0, a, ablob);  // rule 3: the same GET/TAKE again
      table_rules(h, nullptr, a);
      send_response(io, a, ablob, n);
      return;
    }
    // TRANSFER / PULL: the sync result with the host's opcode and tag.
    wire::set_field(r.data, wire::header::op,
                    card::u(q.kind == ReqKind::TRANSFER ? wire::Opcode::TRANSFER : wire::Opcode::PULL));
    wire::set_field(r.data, wire::header::tag, q.host_tag);
    wire::set_field(r.data, wire::header::blob_len, 0);
    free_request(i);
    send_response(io, r, nullptr, 0);
  }

  // ---- catch-up (rule 6) ----------------------------------------------------------------
  void peer_joined(unsigned p, bool passive) {
    if (p >= CARDS || regs_.passive) return;
    const bool push = (regs_.mode == wire::BpMode::REPLICATE && !passive) ||
                      (regs_.mode == wire::BpMode::HUB && p == regs_.hub && regs_.card != regs_.hub);
    if (!push) return;
    joiners_[p / 64] |= 1ull << (p % 64);
    if (!walking_) start_walk();
  }

  void start_walk() {
    bool any = false;
    for (unsigned w = 0; w < 4; ++w) {
      walk_to_[w] = joiners_[w];
      joiners_[w] = 0;
      any = any || walk_to_[w] != 0;
    }
    if (!any) return;
    walking_ = true;
    walk_idx_ = 0;
    ++catchup_walks_;
  }

  // Would walk_step() do anything now? (A target went down, or every target has window
  // room; otherwise the walk waits for acks, which come as frames.)
  bool walk_ready() const {
    for (unsigned p = 0; p < CARDS; ++p) {
      if (!((walk_to_[p / 64] >> (p % 64)) & 1)) continue;
      if (!sync_.peer_up(p)) return true;
      if (!sync_.can_take_event_for(p)) return false;
    }
    return true;
  }

  // One SCAN of the walk, when every target still up has window room; a target that
  // went down leaves the walk (it gets a new one when it comes back).
  bool walk_step() {
    bool any = false;
  targets_ready:
    for (unsigned p = 0; p < CARDS; ++p) {
      if (!((walk_to_[p / 64] >> (p % 64)) & 1)) continue;
      if (!sync_.peer_up(p)) {
        walk_to_[p / 64] &= ~(1ull << (p % 64));
        continue;
      }
      if (!sync_.can_take_event_for(p)) return false;  // window full: wait for acks
      any = true;
    }
    // An empty table has nothing to push (anything written from now on reaches the
    // joiner by rule 1, it is up): the walk of a fresh cluster costs nothing.
    if (!any || walk_idx_ >= kCapacity || table_.occupied() == 0) {
      walking_ = false;
      start_walk();  // joiners that arrived meanwhile get their own full walk
      return true;
    }
    // Empty slots are skipped by a metadata read (up to kWalkSkip per round); only a
    // slot in use costs a SCAN.
    unsigned skipped = 0;
  walk_skip:
    while (walk_idx_ < kCapacity && skipped < kWalkSkip && !table_.slot_in_use(walk_idx_)) {
      ++walk_idx_;
      ++skipped;
    }
    if (walk_idx_ >= kCapacity || !table_.slot_in_use(walk_idx_)) return true;
    Beat s;
    clear_beat(s);
    wire::set_field(s.data, wire::header::op, card::u(wire::Opcode::SCAN));
    wire::set_field(s.data, wire::header::aux, walk_idx_);
    s.last = true;
    Beat r;
    Beat rblob[kSlotBeats];
    run_table(s, nullptr, 0, r, rblob);
    ++walk_idx_;
    if (hdr(r, wire::header::status) != card::u(wire::Status::OK)) return true;
    const bool tomb = (hdr(r, wire::header::flags) & card::u(wire::Flags::TOMBSTONE)) != 0;
    const unsigned bl = tomb ? 0 : hdr(r, wire::header::blob_len);
  push_targets:
    for (unsigned p = 0; p < CARDS; ++p) {
      if (!((walk_to_[p / 64] >> (p % 64)) & 1)) continue;
      send_event(tomb ? wire::Opcode::DEL : wire::Opcode::PUT, r, rblob, bl, p);
      ++catchup_pushed_;
    }
    return true;
  }

  CardRegisters regs_;
  Table table_;
  Sync sync_;
  uint64_t now_ = 0;
  // Internal streams: card -> sync commands, sync results, sync <-> table, card <-> table,
  // and the frame ports in the internal beat type.
  hls::stream<Beat> s_cmd_, s_rsp_, s_tcmd_, s_trsp_, t_cmd_, t_rsp_, frame_in_, frame_out_;
  Req pend_[PENDING];
  unsigned pend_count_ = 0;
  uint16_t gen_ = 0;
  uint64_t joiners_[4];  // joined while a walk runs: the next walk
  uint64_t walk_to_[4];  // targets of the running walk
  bool walking_ = false;
  uint32_t walk_idx_ = 0;
  uint64_t catchup_pushed_ = 0;
  uint64_t catchup_walks_ = 0;
};

}  // namespace sessnic
