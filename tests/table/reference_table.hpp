// Plain reference model of the session table, for the differential test.
//
// Written from the rules in the header comment of hls/session_table.hpp, NOT from its
// code: entries live in a std::map keyed by (id bytes, ctx), each set is a vector of
// way slots naming the key that occupies it, blobs are byte vectors, the set index is
// computed byte by byte, counters of live entries/tombstones are recounted from the map.
// It shares only the geometry (sets, ways, slot size) and the observable rules with the
// kernel, so a disagreement points at a real bug in one of them.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "table_codec.hpp"

namespace sessnic::table_test {

class ReferenceTable {
 public:
  ReferenceTable(unsigned sets_log2, unsigned ways, unsigned slot_bytes, uint8_t card)
      : sets_log2_(sets_log2), ways_(ways), slot_bytes_(slot_bytes), card_(card), slots_(1u << sets_log2) {
    for (auto& set : slots_) set.resize(ways);
  }

  TableResponse execute(const TableCommand& c) {
    TableResponse r = header_echo(c);
    const std::optional<wire::Status> bad = reject(c);
    if (bad) {
      ++count_[*bad == wire::Status::TOO_LARGE ? wire::STATS_TOO_LARGE : wire::STATS_BAD_CMD];
      r.status = static_cast<unsigned>(*bad);
      return r;
    }
    const Key k{std::string(c.key.begin(), c.key.begin() + std::min<unsigned>(c.key_len, wire::KEY_MAX_BYTES)), c.ctx};
    switch (static_cast<wire::Opcode>(c.op)) {
      case wire::Opcode::NOP: return answer(r, wire::Status::OK);
      case wire::Opcode::SET_TIME:
        now_ = static_cast<uint32_t>(c.aux);
        return answer(r, wire::Status::OK);
      case wire::Opcode::FLUSH:
        entries_.clear();
        for (auto& set : slots_) std::fill(set.begin(), set.end(), std::nullopt);
        return answer(r, wire::Status::OK);
      case wire::Opcode::STATS: r.blob = stats_blob(); return answer(r, wire::Status::OK);
      case wire::Opcode::PUT: return put(c, k, r);
      case wire::Opcode::DEL: return del(c, k, r);
      case wire::Opcode::GET:
      case wire::Opcode::TAKE:
      case wire::Opcode::EXPORT: return lookup(c, k, r);
      case wire::Opcode::SCAN: return scan(c, r);
      case wire::Opcode::TRANSFER:
      case wire::Opcode::PULL: break;  // rejected above (card-level opcodes)
    }
    return answer(r, wire::Status::FAILED);
  }

  // Idle sweep: one set per call, round robin, every expired entry or tombstone freed.
  void sweep_step() {
    for (unsigned w = 0; w < ways_; ++w) {
      const auto& slot = slots_[sweep_cursor_][w];
      if (slot && now_ >= entries_.at(*slot).expiry) {
        remove(*slot);
        ++count_[wire::STATS_SWEPT];
      }
    }
    sweep_cursor_ = (sweep_cursor_ + 1) % slots_.size();
  }

  // The set a key maps to: the id's bytes XOR-folded into 8 lanes (byte i into lane
  // i mod 8), key length into lane 0 and ctx into lane 7, then the 64-bit lane word
  // folded by 16-bit quarters. Same function as the kernel, computed differently.
  unsigned set_of(const std::string& id, unsigned ctx) const {
    std::array<uint8_t, 8> lane{};
    for (size_t i = 0; i < id.size(); ++i) lane[i % 8] ^= static_cast<uint8_t>(id[i]);
    lane[0] ^= static_cast<uint8_t>(id.size());
    lane[7] ^= static_cast<uint8_t>(ctx);
    uint64_t x = 0;
    for (int i = 7; i >= 0; --i) x = (x << 8) | lane[i];
    const uint64_t folded = x ^ (x >> 16) ^ (x >> 32) ^ (x >> 48);
    return static_cast<unsigned>(folded & ((1ull << sets_log2_) - 1));
  }

 private:
  struct Key {
    std::string id;
    unsigned ctx;
    auto operator<=>(const Key&) const = default;
  };
  struct Entry {
    unsigned set, way;
    uint64_t version;
    uint32_t expiry;
    bool tombstone;
    bool single_use;
    Bytes blob;
  };

  TableResponse header_echo(const TableCommand& c) const {
    TableResponse r;
    r.op = c.op;
    r.tag = c.tag;
    r.key_len = c.key_len;
    r.ctx = c.ctx;
    r.aux = card_;
    for (unsigned i = 0; i < wire::KEY_MAX_BYTES; ++i) r.key[i] = i < c.key_len ? c.key[i] : 0;
    return r;
  }

  std::optional<wire::Status> reject(const TableCommand& c) const {
    const int wanted = static_cast<int>((c.blob_len() + 63) / 64);
    if (std::max(c.beats_sent(), 0) != wanted) return wire::Status::BAD_CMD;  // TLAST early or late
    using O = wire::Opcode;
    const bool known = c.op <= static_cast<unsigned>(O::SCAN);
    if (!known || c.op == static_cast<unsigned>(O::TRANSFER) || c.op == static_cast<unsigned>(O::PULL))
      return wire::Status::BAD_CMD;
    if (c.op == static_cast<unsigned>(O::SCAN) && c.aux >= (uint64_t{1} << sets_log2_) * ways_)
      return wire::Status::BAD_CMD;
    const O op = static_cast<O>(c.op);
    const bool has_key = op == O::PUT || op == O::GET || op == O::TAKE || op == O::DEL || op == O::EXPORT;
    if (op != O::PUT && c.blob_len() > 0) return wire::Status::BAD_CMD;
    if (has_key && (c.key_len < 1 || c.key_len > 32)) return wire::Status::BAD_CMD;
    if (op == O::PUT && c.blob_len() == 0) return wire::Status::BAD_CMD;
    if (op == O::PUT && c.blob_len() > slot_bytes_) return wire::Status::TOO_LARGE;
    return std::nullopt;
  }

  static TableResponse answer(TableResponse& r, wire::Status s) {
    r.status = static_cast<unsigned>(s);
    return r;
  }
  static void show(TableResponse& r, const Entry& e) {
    r.version = e.version;
    r.expiry = e.expiry;
    r.flags = (e.tombstone ? 1u : 0u) | (e.single_use ? 2u : 0u);
  }

  bool expired(const Entry& e) const { return !(now_ < e.expiry); }

  uint64_t next_version(uint64_t asked) {
    if (asked != 0) {
      lamport_ = std::max(lamport_, asked >> wire::CARD_BITS);
      return asked;
    }
    lamport_ += 1;
    return (lamport_ << wire::CARD_BITS) | card_;
  }

  void remove(const Key& k) {
    const auto it = entries_.find(k);
    slots_[it->second.set][it->second.way].reset();
    entries_.erase(it);
  }

  // Finds k; an expired (or expired tombstone) entry found on the way is dropped first.
  Entry* find_live_or_tomb(const Key& k) {
    auto it = entries_.find(k);
    if (it == entries_.end()) return nullptr;
    if (expired(it->second)) {
      remove(k);
      return nullptr;
    }
    return &it->second;
  }

  // Where a new key goes: an empty way, else an expired one, else (if allowed) the
  // unexpired candidate with the earliest expiry; lowest way wins every tie.
  std::optional<unsigned> pick_way(unsigned set, bool may_displace_live) const {
    const auto& ways = slots_[set];
    for (unsigned w = 0; w < ways_; ++w)
      if (!ways[w]) return w;
    for (unsigned w = 0; w < ways_; ++w)
      if (expired(entries_.at(*ways[w]))) return w;
    std::optional<unsigned> best;
    for (unsigned w = 0; w < ways_; ++w) {
      const Entry& e = entries_.at(*ways[w]);
      if (!may_displace_live && !e.tombstone) continue;
      if (!best || e.expiry < entries_.at(*ways[*best]).expiry) best = w;
    }
    return best;
  }

  void place(const Key& k, unsigned set, unsigned way, Entry e) {
    if (slots_[set][way]) remove(*slots_[set][way]);
    e.set = set;
    e.way = way;
    slots_[set][way] = k;
    entries_[k] = std::move(e);
  }

  TableResponse put(const TableCommand& c, const Key& k, TableResponse& r) {
    if (c.expiry <= now_) {
      ++count_[wire::STATS_EXPIRED];
      return answer(r, wire::Status::EXPIRED);
    }
    Entry* old = find_live_or_tomb(k);
    const uint64_t v = next_version(c.version);
    Bytes blob = c.blob;
    blob.resize(c.blob_len());
    Entry fresh{0, 0, v, c.expiry, false, (c.flags & 2u) != 0, std::move(blob)};
    wire::Status st = wire::Status::OK;
    if (old) {
      if (v <= old->version) {
        if (v < old->version) ++count_[wire::STATS_STALE];
        show(r, *old);
        return answer(r, v < old->version ? wire::Status::STALE : wire::Status::OK);
      }
      const unsigned set = old->set, way = old->way;
      place(k, set, way, std::move(fresh));
    } else {
      const unsigned set = set_of(k.id, k.ctx);
      const unsigned way = *pick_way(set, true);
      const auto& occupant = slots_[set][way];
      if (occupant) {
        const Entry& o = entries_.at(*occupant);
        if (!o.tombstone && !expired(o)) {
          st = wire::Status::EVICTED;
          ++count_[wire::STATS_EVICTIONS];
        }
      }
      place(k, set, way, std::move(fresh));
    }
    ++count_[wire::STATS_PUTS];
    show(r, entries_.at(k));
    return answer(r, st);
  }

  TableResponse del(const TableCommand& c, const Key& k, TableResponse& r) {
    Entry* old = find_live_or_tomb(k);
    const uint64_t v = next_version(c.version);
    if (old) {
      if (v < old->version || (v == old->version && !old->tombstone)) {
        ++count_[wire::STATS_STALE];
        show(r, *old);
        return answer(r, wire::Status::STALE);
      }
      if (v == old->version) {  // the same delete delivered twice
        show(r, *old);
        return answer(r, wire::Status::MISS);
      }
      const bool was_live = !old->tombstone;
      const uint32_t keep_until = std::max(c.expiry, old->expiry);
      place(k, old->set, old->way, Entry{0, 0, v, keep_until, true, false, {}});
      if (was_live) ++count_[wire::STATS_DELETES];
      show(r, entries_.at(k));
      return answer(r, was_live ? wire::Status::OK : wire::Status::MISS);
    }
    if (c.expiry > now_) {
      const unsigned set = set_of(k.id, k.ctx);
      if (const auto way = pick_way(set, false)) {
        place(k, set, *way, Entry{0, 0, v, c.expiry, true, false, {}});
        show(r, entries_.at(k));
      }
    }
    return answer(r, wire::Status::MISS);
  }

  TableResponse lookup(const TableCommand& c, const Key& k, TableResponse& r) {
    ++count_[wire::STATS_GETS];
    auto it = entries_.find(k);
    if (it == entries_.end() || it->second.tombstone) {
      if (it != entries_.end() && expired(it->second)) remove(k);
      ++count_[wire::STATS_MISSES];
      return answer(r, wire::Status::MISS);
    }
    if (expired(it->second)) {
      remove(k);
      ++count_[wire::STATS_EXPIRED];
      return answer(r, wire::Status::EXPIRED);
    }
    ++count_[wire::STATS_HITS];
    Entry& e = it->second;
    show(r, e);
    r.blob = e.blob;
    const bool take = c.op == static_cast<unsigned>(wire::Opcode::TAKE);
    const bool get = c.op == static_cast<unsigned>(wire::Opcode::GET);
    if (take || (get && e.single_use)) {
      const uint64_t v = next_version(0);
      place(k, e.set, e.way, Entry{0, 0, v, e.expiry, true, false, {}});
      ++count_[wire::STATS_DELETES];
      r.aux = v;  // the tombstone's version (the card replicates the delete with it)
    }
    return answer(r, wire::Status::OK);
  }

  // SCAN: slot aux (set = aux / ways, way = aux % ways) as it is; nothing changes.
  TableResponse scan(const TableCommand& c, TableResponse& r) const {
    const auto& slot = slots_[c.aux / ways_][c.aux % ways_];
    if (!slot) return answer(r, wire::Status::MISS);
    const Entry& e = entries_.at(*slot);
    if (expired(e)) return answer(r, wire::Status::MISS);
    r.key_len = static_cast<unsigned>(slot->id.size());
    r.ctx = slot->ctx;
    for (unsigned i = 0; i < wire::KEY_MAX_BYTES; ++i)
      r.key[i] = i < slot->id.size() ? static_cast<uint8_t>(slot->id[i]) : 0;
    show(r, e);
    if (!e.tombstone) r.blob = e.blob;
    return answer(r, wire::Status::OK);
  }

  Bytes stats_blob() const {
    std::array<uint64_t, wire::STATS_WORDS> s{};
    for (unsigned i = 0; i < wire::STATS_WORDS; ++i) s[i] = count_[i];
    s[wire::STATS_LIVE] = static_cast<uint64_t>(
        std::count_if(entries_.begin(), entries_.end(), [](const auto& kv) { return !kv.second.tombstone; }));
    s[wire::STATS_TOMBSTONES] = entries_.size() - s[wire::STATS_LIVE];
    s[wire::STATS_LAMPORT] = lamport_;
    s[wire::STATS_NOW] = now_;
    s[wire::STATS_CARD] = card_;
    Bytes out;
    for (uint64_t v : s)
      for (unsigned b = 0; b < 8; ++b) out.push_back(static_cast<uint8_t>(v >> (8 * b)));
    return out;
  }

  unsigned sets_log2_, ways_, slot_bytes_;
  uint8_t card_;
  std::vector<std::vector<std::optional<Key>>> slots_;  // [set][way] -> occupant
  std::map<Key, Entry> entries_;
  std::array<uint64_t, wire::STATS_WORDS> count_{};
  uint64_t lamport_ = 0;
  uint32_t now_ = 0;
  size_t sweep_cursor_ = 0;
};

}  // namespace sessnic::table_test
