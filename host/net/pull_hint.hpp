// The dispatcher's pull hint, a PROXY v2 TLV of sessnic's own type: "this hello offers a
// session that lives on card `owner`, not on yours; pull it from there, waiting at most
// `budget` from when this header arrives". The dispatcher then forwards the hello at
// once instead of moving the session first, so the move is no longer on the client's
// path before the connect (docs/dispatcher.md, step 5).
//
// Value: format 1 (5 bytes): owner card, budget in microseconds (big-endian u24: at most
// 16.7 s). Format 2 (6 bytes): the same, then a flags byte; bit 0 = "move in flight": the
// dispatcher has already asked the owner to move the session to your card (fired when it
// parsed the hello, before its connect), so wait for it to land before pulling.
// Anything else is not a hint (ignored: the server does what it does without one).
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

#include "proxy_protocol.hpp"

namespace sessnic::proxy_v2 {

inline constexpr uint8_t kTypePullHint = kTypeMinCustom + 0x05;

struct PullHint {
  uint8_t owner = 0;
  std::chrono::microseconds budget{0};
  bool move_in_flight = false;
  bool operator==(const PullHint&) const = default;
};

// Format 1 unless move_in_flight; a budget past the u24 range is clamped.
Tlv encode_pull_hint(const PullHint& h);
std::optional<PullHint> decode_pull_hint(const Tlv& t);
std::optional<PullHint> find_pull_hint(const Decoded& d);

}  // namespace sessnic::proxy_v2
