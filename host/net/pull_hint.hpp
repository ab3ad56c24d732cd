// The dispatcher's pull hint, a PROXY v2 TLV of sessnic's own type: "this hello offers a
// session that lives on card `owner`, not on yours; pull it from there, waiting at most
// `budget` from when this header arrives". The dispatcher then forwards the hello at
// once instead of moving the session first, so the move is no longer on the client's
// path before the connect (docs/dispatcher.md, step 5).
//
// Value (5 bytes): format 1, owner card, budget in microseconds (big-endian u24: at most
// 16.7 s). Anything else is not a hint (ignored: the server does what it does without one).
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
  bool operator==(const PullHint&) const = default;
};

Tlv encode_pull_hint(const PullHint& h);  // a budget past the u24 range is clamped
std::optional<PullHint> decode_pull_hint(const Tlv& t);
std::optional<PullHint> find_pull_hint(const Decoded& d);

}  // namespace sessnic::proxy_v2
