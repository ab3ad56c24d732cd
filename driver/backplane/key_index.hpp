// The catch-up index of a node: the newest version (and tombstone-ness) of every key
// this card has written or applied, so a (re)joining peer can be sent what it missed.
// Open addressing with linear probing in one flat array: one write per replicated
// session is on the hot path, so no per-entry allocation. Not thread-safe (the node
// holds a lock around it).
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

#include "sessnic/device.hpp"

namespace sessnic::backplane {

struct IndexEntry {
  SessionKey key;
  uint64_t version = 0;
  uint32_t expiry = 0;
  bool tomb = false;
};

class KeyIndex {
 public:
  // Records (key, version) unless a newer version of the key is already recorded.
  void remember(const SessionKey& key, uint64_t version, uint32_t expiry, bool tomb) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    Slot& s = probe(slots_, key);
    if (!s.used) {
      s.used = true;
      ++size_;
    } else if (version < s.e.version) {
      return;
    }
    s.e = IndexEntry{key, version, expiry, tomb};
  }

  std::vector<IndexEntry> snapshot() const {
    std::vector<IndexEntry> out;
    out.reserve(size_);
    for (const Slot& s : slots_)
      if (s.used) out.push_back(s.e);
    return out;
  }
  std::size_t size() const { return size_; }

 private:
  struct Slot {
    bool used = false;
    IndexEntry e;
  };
  // Session ids are random: 8 of their bytes are a good hash already.
  static std::size_t hash(const SessionKey& k) {
    uint64_t h = 0;
    std::memcpy(&h, k.id.data(), sizeof h);
    return static_cast<std::size_t>((h ^ (uint64_t{k.ctx} << 56) ^ k.len) * 0x9E3779B97F4A7C15ull >> 7);
  }
  static Slot& probe(std::vector<Slot>& slots, const SessionKey& key) {
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = hash(key) & mask;; i = (i + 1) & mask)
      if (!slots[i].used || slots[i].e.key == key) return slots[i];
  }
  void grow() {
    std::vector<Slot> bigger(slots_.empty() ? 1024 : slots_.size() * 2);
    for (const Slot& s : slots_)
      if (s.used) probe(bigger, s.e.key) = s;
    slots_.swap(bigger);
  }
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace sessnic::backplane
