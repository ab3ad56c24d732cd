// Session-ID table kernel: the behavioural source of truth for sessnic.
//
// The same source is (a) synthesized by Vitis HLS (see hls/session_table_top.cpp and
// hls/vitis/), (b) C-simulated by the unit tests and (c) run in-process as the `model`
// device. The RTL in rtl/ is checked against it command by command.
//
// Streams: one command = a header beat (layout `header` in spec/wire.toml) followed by
// ceil(blob_len/64) payload beats, TLAST on the final beat. Every command gets exactly
// one response in the same form, carrying the command's tag and a status.
//
// Organisation: SETS x WAYS fixed slots. Key = (session id, ctx). The set index is a
// XOR fold of the id: ids are server-generated random bytes, so their own bits are a
// good index and inserts cannot be flooded into one set.
//
// Rules (the RTL and the reference model in tests/ implement the same):
//  * An entry is live while now < expiry; at now >= expiry it is expired.
//  * A lookup (GET/TAKE/EXPORT) that finds an expired entry frees its way: EXPIRED.
//  * Versions are lamport << CARD_BITS | card. A write with version 0 gets the next
//    local version; a write with a version (from a peer) advances the Lamport clock.
//    A write older than the stored entry (live or tombstone) is STALE and ignored; an
//    equal PUT is a duplicate and answers OK without change.
//  * DEL and TAKE leave a tombstone (same key, newer version) until expiry, so a late
//    replica of the old entry cannot resurrect it.
//  * PUT into a full set evicts: an expired way first, then the earliest expiry
//    (lowest way on ties); EVICTED says a live entry was displaced.
//  * A tombstone never evicts a live entry: with no free, expired or tombstone way it
//    is dropped (the delete itself still happened).
//  * The idle sweep frees every expired way of one set per call.
//  * Malformed commands (opcode, key length, framing) answer BAD_CMD; blobs longer than
//    a slot answer TOO_LARGE; in both cases the payload is drained and nothing changes.
#pragma once
#include <stdint.h>

#include "axis_beat.hpp"
#include "beat.hpp"
#include "hls_stream_shim.hpp"
#include "wire/sessnic_wire.hpp"

namespace sessnic {

template <unsigned SETS_LOG2, unsigned WAYS, unsigned SLOT_BYTES = wire::SLOT_BYTES>
class SessionTable {
 public:
  static constexpr unsigned kSets = 1u << SETS_LOG2;
  static constexpr unsigned kWays = WAYS;
  static constexpr unsigned kSlotBytes = SLOT_BYTES;
  static constexpr unsigned kSlotWords = SLOT_BYTES / 8;
  static constexpr unsigned kSlotBeats = SLOT_BYTES / wire::BEAT_BYTES;
  static constexpr unsigned kCapacity = kSets * WAYS;
  static_assert(SLOT_BYTES % wire::BEAT_BYTES == 0, "slot must be whole beats");
  static_assert(SLOT_BYTES < 65536, "blob_len is 16 bits");
  static_assert(WAYS >= 1 && WAYS <= 16, "ways");

  // Per-way metadata, 48 bytes: key(32) version(8) expiry(4) info(4).
  // info = key_len[5:0] | flags[7:6] | ctx[15:8] | blob_len[31:16]; key_len 0 = empty.
  struct Meta {
    uint64_t key[4];
    uint64_t version;
    uint32_t expiry;
    uint32_t info;
  };
  static_assert(sizeof(Meta) == 48, "metadata layout");

  explicit SessionTable(uint8_t card_id = 0) { reset(card_id); }

  // Power-on state: empty table, clock 0, counters 0.
  void reset(uint8_t card_id) {
    card_ = card_id;
    now_ = 0;
    lamport_ = 0;
    sweep_set_ = 0;
    for (unsigned i = 0; i < wire::STATS_COUNT; ++i) counters_[i] = 0;
    flush();
  }

  // Processes one whole command from `cmd` and writes its response to `rsp`.
  // Returns false (doing nothing) when no command is waiting.
  // The streams are hls::stream<Beat> (tests, model device) or the AXI4-Stream ports of
  // the Vitis top (hls::stream<AxisBeat>, axis_beat.hpp); read_beat/write_beat convert.
  template <class CmdStream, class RspStream>
  bool step(CmdStream& cmd, RspStream& rsp) {
    if (cmd.empty()) return false;
    Beat hdr = read_beat(cmd);
    Req r = decode(hdr);

    // Payload: stage up to one slot, drain the rest, check the framing against blob_len.
    // Only a well-framed PUT reads the stage, and only the beats it received, so it
    // needs no clearing (that clearing was a sixth of a GET's time in the model).
    uint64_t stage[kSlotWords];
    // One beat (8 words) per row: the drain loop writes a whole beat per cycle.
#pragma HLS ARRAY_RESHAPE variable = stage type = cyclic factor = 8
    unsigned got = 0;
    bool last = hdr.last;
  drain:
    while (!last) {
#pragma HLS PIPELINE II = 1
      Beat b = read_beat(cmd);
      if (got < kSlotBeats) {
        for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) {
#pragma HLS UNROLL
          stage[got * wire::BEAT_WORDS + w] = b.data[w];
        }
      }
      ++got;
      last = b.last;
    }

    Beat out;
    clear_beat(out);
    for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) out.data[w] = hdr.data[w];
    wire::set_field(out.data, wire::header::blob_len, 0);
    wire::set_field(out.data, wire::header::aux, card_);
    wire::set_field(out.data, wire::header::version, 0);  // metadata only from an entry
    wire::set_field(out.data, wire::header::expiry, 0);
    wire::set_field(out.data, wire::header::flags, 0);
    for (unsigned w = 0; w < 4; ++w) wire::set_field_word(out.data, wire::header::key, w, r.key[w]);

    const bool framing_ok = got == beats_for(r.blob_len);
    const wire::Status pre = validate(r, framing_ok);
    if (pre != wire::Status::OK) {
      ++counters_[pre == wire::Status::TOO_LARGE ? wire::STATS_TOO_LARGE : wire::STATS_BAD_CMD];
      respond(rsp, out, pre, nullptr, 0);
      return true;
    }

    switch (static_cast<wire::Opcode>(r.op)) {
      case wire::Opcode::NOP:
        respond(rsp, out, wire::Status::OK, nullptr, 0);
        break;
      case wire::Opcode::SET_TIME:
        now_ = static_cast<uint32_t>(r.aux);
        respond(rsp, out, wire::Status::OK, nullptr, 0);
        break;
      case wire::Opcode::FLUSH:
        flush();
        respond(rsp, out, wire::Status::OK, nullptr, 0);
        break;
      case wire::Opcode::STATS: {
        uint64_t s[wire::STATS_WORDS];
#pragma HLS ARRAY_PARTITION variable = s type = complete
        stats(s);
        respond(rsp, out, wire::Status::OK, s, wire::STATS_WORDS * 8);
        break;
      }
      case wire::Opcode::PUT:
        do_put(r, stage, out, rsp);
        break;
      case wire::Opcode::DEL:
        do_del(r, out, rsp);
        break;
      case wire::Opcode::SCAN:
        do_scan(r, out, rsp);
        break;
      default:  // GET, TAKE, EXPORT
        do_lookup(r, out, rsp);
        break;
    }
    return true;
  }

  // One idle cycle of the background expiry sweep: frees the expired ways of one set.
  void sweep_step() {
    const unsigned s = sweep_set_;
  sweep_ways:
    for (unsigned w = 0; w < WAYS; ++w) {
#pragma HLS UNROLL
      Meta& m = meta_[s][w];
      if (key_len_of(m) != 0 && now_ >= m.expiry) {
        free_way(s, w);
        ++counters_[wire::STATS_SWEPT];
      }
    }
    sweep_set_ = (s + 1) & (kSets - 1);
  }

  // Counters as reported by STATS (also readable directly by the model device).
  void stats(uint64_t out[wire::STATS_WORDS]) const {
    for (unsigned i = 0; i < wire::STATS_WORDS; ++i) out[i] = i < wire::STATS_COUNT ? counters_[i] : 0;
    out[wire::STATS_LAMPORT] = lamport_;
    out[wire::STATS_NOW] = now_;
    out[wire::STATS_CARD] = card_;
  }

  uint32_t now() const { return now_; }
  // Slot idx (set = idx / WAYS, way = idx % WAYS) holds an entry or tombstone that SCAN
  // would answer OK: a metadata read only, so a catch-up walk skips empty slots fast.
  bool slot_in_use(uint32_t idx) const {
    const Meta& m = meta_[idx / WAYS][idx % WAYS];
    return key_len_of(m) != 0 && now_ < m.expiry;
  }
  // Ways holding an entry or a tombstone (a catch-up walk of an empty table ends at once).
  uint64_t occupied() const { return counters_[wire::STATS_LIVE] + counters_[wire::STATS_TOMBSTONES]; }
  uint8_t card() const { return card_; }
  // The card id is a register input on the card, applied on every call of the top.
  void set_card(uint8_t card_id) { card_ = card_id; }

  // The set a key lives in: XOR fold of the zero-padded id, its length and ctx.
  static unsigned set_index(const uint64_t key[4], unsigned key_len, unsigned ctx) {
    uint64_t h = key[0] ^ key[1] ^ key[2] ^ key[3] ^ (static_cast<uint64_t>(ctx) << 56) ^ key_len;
    h ^= h >> 32;
    h ^= h >> 16;
    return static_cast<unsigned>(h) & (kSets - 1);
  }

 private:
  struct Req {
    unsigned op, key_len, flags, ctx, blob_len;
    uint64_t key[4];
    uint64_t version, aux;
    uint32_t expiry;
  };

  static unsigned key_len_of(const Meta& m) { return m.info & 0x3f; }
  static unsigned flags_of(const Meta& m) { return (m.info >> 6) & 0x3; }
  static unsigned blob_len_of(const Meta& m) { return m.info >> 16; }
  static bool is_tomb(const Meta& m) { return flags_of(m) & static_cast<unsigned>(wire::Flags::TOMBSTONE); }
  static uint32_t pack_info(unsigned key_len, unsigned flags, unsigned ctx, unsigned blob_len) {
    return (key_len & 0x3f) | ((flags & 0x3) << 6) | ((ctx & 0xff) << 8) | (blob_len << 16);
  }

  static Req decode(const Beat& h) {
    Req r;
    r.op = static_cast<unsigned>(wire::get_field(h.data, wire::header::op));
    r.key_len = static_cast<unsigned>(wire::get_field(h.data, wire::header::key_len));
    r.flags = static_cast<unsigned>(wire::get_field(h.data, wire::header::flags));
    r.ctx = static_cast<unsigned>(wire::get_field(h.data, wire::header::ctx));
    r.blob_len = static_cast<unsigned>(wire::get_field(h.data, wire::header::blob_len));
    r.version = wire::get_field(h.data, wire::header::version);
    r.expiry = static_cast<uint32_t>(wire::get_field(h.data, wire::header::expiry));
    r.aux = wire::get_field(h.data, wire::header::aux);
    // Bytes past key_len are ignored (forced to zero) so padding cannot split a key.
    for (unsigned w = 0; w < 4; ++w) {
      uint64_t v = wire::get_field_word(h.data, wire::header::key, w);
      const unsigned lo = w * 8;
      if (r.key_len <= lo) v = 0;
      else if (r.key_len < lo + 8) v &= (1ull << (8 * (r.key_len - lo))) - 1;
      r.key[w] = v;
    }
    return r;
  }

  static bool keyed(unsigned op) {
    return op == static_cast<unsigned>(wire::Opcode::PUT) || op == static_cast<unsigned>(wire::Opcode::GET) ||
           op == static_cast<unsigned>(wire::Opcode::TAKE) || op == static_cast<unsigned>(wire::Opcode::DEL) ||
           op == static_cast<unsigned>(wire::Opcode::EXPORT);
  }

  wire::Status validate(const Req& r, bool framing_ok) const {
    if (!framing_ok) return wire::Status::BAD_CMD;
    if (!wire::is_valid_opcode(r.op) || r.op == static_cast<unsigned>(wire::Opcode::TRANSFER) ||
        r.op == static_cast<unsigned>(wire::Opcode::PULL))  // card-level opcodes: never the table's
      return wire::Status::BAD_CMD;
    if (r.op == static_cast<unsigned>(wire::Opcode::SCAN) && r.aux >= kCapacity) return wire::Status::BAD_CMD;
    const bool is_put = r.op == static_cast<unsigned>(wire::Opcode::PUT);
    if (!is_put && r.blob_len != 0) return wire::Status::BAD_CMD;
    if (keyed(r.op) && (r.key_len == 0 || r.key_len > wire::KEY_MAX_BYTES)) return wire::Status::BAD_CMD;
    if (is_put && r.blob_len == 0) return wire::Status::BAD_CMD;
    if (is_put && r.blob_len > SLOT_BYTES) return wire::Status::TOO_LARGE;
    return wire::Status::OK;
  }

  // Zero the bytes of the last beat past `len` (1..SLOT_BYTES), so a stored blob never
  // holds caller junk; slot words past the last beat are never stored nor sent.
  static void mask_tail(uint64_t stage[kSlotWords], unsigned len) {
    const unsigned base = (beats_for(len) - 1) * wire::BEAT_WORDS;
  mask:
    for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) {
#pragma HLS UNROLL
      const unsigned lo = (base + w) * 8;
      if (len <= lo) stage[base + w] = 0;
      else if (len < lo + 8) stage[base + w] &= (1ull << (8 * (len - lo))) - 1;
    }
  }

  // Lamport clock: local writes take the next version; remote ones advance the clock.
  uint64_t take_version(uint64_t requested) {
    if (requested == 0) {
      ++lamport_;
      return (lamport_ << wire::CARD_BITS) | card_;
    }
    const uint64_t l = requested >> wire::CARD_BITS;
    if (l > lamport_) lamport_ = l;
    return requested;
  }

  // Way holding (key, ctx) in set s, or -1.
  int find(unsigned s, const Req& r) const {
    int hit = -1;
  compare_ways:
    for (unsigned w = 0; w < WAYS; ++w) {
#pragma HLS UNROLL
      const Meta& m = meta_[s][w];
      const bool eq = key_len_of(m) == r.key_len && ((m.info >> 8) & 0xff) == r.ctx && m.key[0] == r.key[0] &&
                      m.key[1] == r.key[1] && m.key[2] == r.key[2] && m.key[3] == r.key[3];
      if (eq && hit < 0) hit = static_cast<int>(w);
    }
    return hit;
  }

  // Victim for an insert: a free way, else an expired one, else the earliest expiry
  // (lowest way on ties). `live_ok` false (tombstones) never displaces a live entry.
  int victim(unsigned s, bool live_ok) const {
    int best = -1;
    unsigned rank_best = 3;
    uint32_t exp_best = 0;
  choose_way:
    for (unsigned w = 0; w < WAYS; ++w) {
#pragma HLS UNROLL
      const Meta& m = meta_[s][w];
      unsigned rank;  // 0 free, 1 expired, 2 evictable, 3 not allowed
      if (key_len_of(m) == 0) rank = 0;
      else if (now_ >= m.expiry) rank = 1;
      else rank = (live_ok || is_tomb(m)) ? 2 : 3;
      const bool better = rank < rank_best || (rank == 2 && rank_best == 2 && m.expiry < exp_best);
      if (better) {
        best = static_cast<int>(w);
        rank_best = rank;
        exp_best = m.expiry;
      }
    }
    return best;
  }

  void free_way(unsigned s, unsigned w) {
    Meta& m = meta_[s][w];
    if (key_len_of(m) != 0) --counters_[is_tomb(m) ? wire::STATS_TOMBSTONES : wire::STATS_LIVE];
    m.info = 0;
  }

  void write_meta(unsigned s, unsigned w, const Req& r, uint64_t version, uint32_t expiry, unsigned flags,
                  unsigned blob_len) {
    free_way(s, w);
    Meta& m = meta_[s][w];
    for (unsigned i = 0; i < 4; ++i) m.key[i] = r.key[i];
    m.version = version;
    m.expiry = expiry;
    m.info = pack_info(r.key_len, flags, r.ctx, blob_len);
    ++counters_[(flags & static_cast<unsigned>(wire::Flags::TOMBSTONE)) ? wire::STATS_TOMBSTONES : wire::STATS_LIVE];
  }

  void fill_meta(Beat& out, const Meta& m) const {
    wire::set_field(out.data, wire::header::version, m.version);
    wire::set_field(out.data, wire::header::expiry, m.expiry);
    wire::set_field(out.data, wire::header::flags, flags_of(m));
  }

  template <class RspStream>
  void do_put(const Req& r, uint64_t stage[kSlotWords], Beat& out, RspStream& rsp) {
    if (r.expiry <= now_) {
      ++counters_[wire::STATS_EXPIRED];
      respond(rsp, out, wire::Status::EXPIRED, nullptr, 0);
      return;
    }
    const unsigned s = set_index(r.key, r.key_len, r.ctx);
    int w = find(s, r);
    if (w >= 0 && now_ >= meta_[s][w].expiry) {
      free_way(s, static_cast<unsigned>(w));  // an expired entry protects nothing
      w = -1;
    }
    const uint64_t v = take_version(r.version);
    wire::Status st = wire::Status::OK;
    if (w >= 0) {
      const Meta& m = meta_[s][w];
      if (v < m.version) {
        ++counters_[wire::STATS_STALE];
        fill_meta(out, m);
        respond(rsp, out, wire::Status::STALE, nullptr, 0);
        return;
      }
      if (v == m.version) {  // duplicate delivery of the same write
        fill_meta(out, m);
        respond(rsp, out, wire::Status::OK, nullptr, 0);
        return;
      }
    } else {
      w = victim(s, true);
      const Meta& m = meta_[s][w];
      if (key_len_of(m) != 0 && !is_tomb(m) && now_ < m.expiry) {  // displacing a tombstone is no eviction
        st = wire::Status::EVICTED;
        ++counters_[wire::STATS_EVICTIONS];
      }
    }
    const unsigned flags = r.flags & static_cast<unsigned>(wire::Flags::SINGLE_USE);
    write_meta(s, static_cast<unsigned>(w), r, v, r.expiry, flags, r.blob_len);
    mask_tail(stage, r.blob_len);
    // A beat per iteration: blob_ and stage are reshaped to one beat per row.
    const unsigned beats = beats_for(r.blob_len);
  store_blob:
    for (unsigned b = 0; b < beats; ++b) {
#pragma HLS LOOP_TRIPCOUNT max = kSlotBeats
#pragma HLS PIPELINE II = 1
      for (unsigned i = 0; i < wire::BEAT_WORDS; ++i) {
#pragma HLS UNROLL
        blob_[s][w][b * wire::BEAT_WORDS + i] = stage[b * wire::BEAT_WORDS + i];
      }
    }
    ++counters_[wire::STATS_PUTS];
    fill_meta(out, meta_[s][w]);
    respond(rsp, out, st, nullptr, 0);
  }

  template <class RspStream>
  void do_del(const Req& r, Beat& out, RspStream& rsp) {
    const unsigned s = set_index(r.key, r.key_len, r.ctx);
    int w = find(s, r);
    if (w >= 0 && now_ >= meta_[s][w].expiry) {
      free_way(s, static_cast<unsigned>(w));
      w = -1;
    }
    const uint64_t v = take_version(r.version);
    if (w >= 0) {
      const Meta m = meta_[s][w];
      if (v <= m.version) {
        const bool dup = v == m.version && is_tomb(m);
        if (!dup) ++counters_[wire::STATS_STALE];
        fill_meta(out, m);
        respond(rsp, out, dup ? wire::Status::MISS : wire::Status::STALE, nullptr, 0);
        return;
      }
      const bool was_live = !is_tomb(m);
      const uint32_t exp = r.expiry > m.expiry ? r.expiry : m.expiry;
      write_meta(s, static_cast<unsigned>(w), r, v, exp, static_cast<unsigned>(wire::Flags::TOMBSTONE), 0);
      if (was_live) ++counters_[wire::STATS_DELETES];
      fill_meta(out, meta_[s][w]);
      respond(rsp, out, was_live ? wire::Status::OK : wire::Status::MISS, nullptr, 0);
      return;
    }
    // Unknown key: remember the delete (if it has a future expiry) so a reordered older
    // PUT from a peer cannot bring the session back.
    if (r.expiry > now_) {
      const int t = victim(s, false);
      if (t >= 0) {
        write_meta(s, static_cast<unsigned>(t), r, v, r.expiry, static_cast<unsigned>(wire::Flags::TOMBSTONE), 0);
        fill_meta(out, meta_[s][t]);
      }
    }
    respond(rsp, out, wire::Status::MISS, nullptr, 0);
  }

  template <class RspStream>
  void do_lookup(const Req& r, Beat& out, RspStream& rsp) {
    ++counters_[wire::STATS_GETS];
    const unsigned s = set_index(r.key, r.key_len, r.ctx);
    const int w = find(s, r);
    if (w < 0 || is_tomb(meta_[s][w])) {
      if (w >= 0 && now_ >= meta_[s][w].expiry) free_way(s, static_cast<unsigned>(w));
      ++counters_[wire::STATS_MISSES];
      respond(rsp, out, wire::Status::MISS, nullptr, 0);
      return;
    }
    const Meta m = meta_[s][w];
    if (now_ >= m.expiry) {
      free_way(s, static_cast<unsigned>(w));
      ++counters_[wire::STATS_EXPIRED];
      respond(rsp, out, wire::Status::EXPIRED, nullptr, 0);
      return;
    }
    ++counters_[wire::STATS_HITS];
    fill_meta(out, m);
    const bool consume = r.op == static_cast<unsigned>(wire::Opcode::TAKE) ||
                         (r.op == static_cast<unsigned>(wire::Opcode::GET) &&
                          (flags_of(m) & static_cast<unsigned>(wire::Flags::SINGLE_USE)));
    if (consume) {
      const uint64_t v = take_version(0);
      write_meta(s, static_cast<unsigned>(w), r, v, m.expiry, static_cast<unsigned>(wire::Flags::TOMBSTONE), 0);
      ++counters_[wire::STATS_DELETES];
      // The tombstone's version in aux: the card replicates the delete without a second
      // table command (version still names the taken entry and its writer).
      wire::set_field(out.data, wire::header::aux, v);
    }
    // The blob is still in the slot: a tombstone does not clear it, and no write
    // happens between here and the read below.
    respond(rsp, out, wire::Status::OK, blob_[s][w], blob_len_of(m));
  }

  // SCAN: one slot as it is (catch-up walks the table with it). Changes nothing: no
  // consume, no free on expiry, no counter but none.
  template <class RspStream>
  void do_scan(const Req& r, Beat& out, RspStream& rsp) {
    const unsigned s = static_cast<unsigned>(r.aux / WAYS);
    const unsigned w = static_cast<unsigned>(r.aux % WAYS);
    const Meta& m = meta_[s][w];
    if (key_len_of(m) == 0 || now_ >= m.expiry) {
      respond(rsp, out, wire::Status::MISS, nullptr, 0);
      return;
    }
    wire::set_field(out.data, wire::header::key_len, key_len_of(m));
    wire::set_field(out.data, wire::header::ctx, (m.info >> 8) & 0xff);
    for (unsigned i = 0; i < 4; ++i) wire::set_field_word(out.data, wire::header::key, i, m.key[i]);
    fill_meta(out, m);
    respond(rsp, out, wire::Status::OK, blob_[s][w], is_tomb(m) ? 0 : blob_len_of(m));
  }

  template <class RspStream>
  void respond(RspStream& rsp, Beat& out, wire::Status st, const uint64_t* blob, unsigned len) {
    wire::set_field(out.data, wire::header::status, static_cast<uint64_t>(st));
    wire::set_field(out.data, wire::header::blob_len, len);
    out.last = len == 0;
    write_beat(rsp, out);
    const unsigned n = beats_for(len);
  send_blob:
    for (unsigned b = 0; b < n; ++b) {
#pragma HLS PIPELINE II = 1
      Beat d;
      for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) d.data[w] = blob[b * wire::BEAT_WORDS + w];
      d.last = b + 1 == n;
      write_beat(rsp, d);
    }
  }

  void flush() {
  flush_sets:
    for (unsigned s = 0; s < kSets; ++s) {
#pragma HLS PIPELINE II = 1
      for (unsigned w = 0; w < WAYS; ++w) meta_[s][w].info = 0;
    }
    counters_[wire::STATS_LIVE] = 0;
    counters_[wire::STATS_TOMBSTONES] = 0;
  }

  Meta meta_[kSets][WAYS];
  uint64_t blob_[kSets][WAYS][kSlotWords];
  uint64_t counters_[wire::STATS_COUNT];
  uint64_t lamport_;
  uint32_t now_;
  uint32_t sweep_set_;
  uint8_t card_;
};

// Geometry of the model device: 2^18 sets x 4 ways = 1,048,576 sessions of 256 B.
using ModelTable = SessionTable<18, 4>;

}  // namespace sessnic
