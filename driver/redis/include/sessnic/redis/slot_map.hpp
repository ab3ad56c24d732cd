// Redis Cluster key distribution: the hash slot of a key (CRC16/XMODEM mod 16384, hash
// tags honoured) and which master serves each slot (from CLUSTER SLOTS, corrected by
// MOVED redirections).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "sessnic/redis/options.hpp"
#include "sessnic/redis/reply.hpp"

namespace sessnic::redis {

constexpr uint16_t kSlots = 16384;

uint16_t key_slot(std::string_view key);

class SlotMap {
 public:
  // From a CLUSTER SLOTS reply; false (map unchanged) when it is not one.
  bool load(const Reply& cluster_slots);
  // One slot now lives at `node` (a MOVED redirection).
  void set(uint16_t slot, const RedisAddress& node);
  std::optional<RedisAddress> owner(uint16_t slot) const;
  const std::vector<RedisAddress>& nodes() const { return nodes_; }
  bool empty() const { return nodes_.empty(); }

 private:
  static constexpr uint16_t kNone = 0xffff;
  uint16_t index_of(const RedisAddress& a);
  std::vector<RedisAddress> nodes_;
  std::array<uint16_t, kSlots> slot_{};
};

// "MOVED 3999 127.0.0.1:6381" / "ASK ..." -> slot and address.
struct Redirect {
  uint16_t slot = 0;
  RedisAddress to;
};
std::optional<Redirect> parse_redirect(const std::string& error);

}  // namespace sessnic::redis
