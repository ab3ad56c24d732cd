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
//
// The offered session, a second TLV of its own type that only goes with a hint: format 1,
// then the session id the hello offers (1..32 bytes: the first PSK identity when TLS 1.3
// will be negotiated, else the legacy session id), as the dispatcher parsed it. With it the
// server starts the pull when it reads the PROXY header, while OpenSSL still reads and
// parses the hello, and checks in the ClientHello callback that the hello offers this very
// id (docs/server.md "Pull on miss"). A TLV of its own rather than a new hint format: a
// server that does not know it still decodes the hint and pulls from the callback as
// before, so dispatchers and servers can be upgraded in either order. A bad or unknown
// one is ignored (the hint then carries no id).
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "proxy_protocol.hpp"

namespace sessnic::proxy_v2 {

inline constexpr uint8_t kTypePullHint = kTypeMinCustom + 0x05;
inline constexpr uint8_t kTypePullHintSession = kTypeMinCustom + 0x06;
inline constexpr size_t kMaxHintSessionId = 32;

struct PullHint {
  uint8_t owner = 0;
  std::chrono::microseconds budget{0};
  bool move_in_flight = false;
  std::vector<uint8_t> session_id{};  // the offered session (1..32 bytes); empty: not said
  bool operator==(const PullHint&) const = default;
};

// The hint itself: format 1 unless move_in_flight; a budget past the u24 range is clamped.
// Its session_id is not in it (see append_pull_hint).
Tlv encode_pull_hint(const PullHint& h);
// The hint's TLVs, appended to `out`: the hint, then the offered session when session_id
// is 1..32 bytes (else none: such an id names no session a card holds).
void append_pull_hint(std::vector<Tlv>& out, const PullHint& h);
// The hint TLV alone (its session_id stays empty).
std::optional<PullHint> decode_pull_hint(const Tlv& t);
// The hint with its offered session, if a valid one came with it.
std::optional<PullHint> find_pull_hint(const Decoded& d);

}  // namespace sessnic::proxy_v2
