// The session-identity contract, in one place: how a session id, a table key, a version
// and a card id relate. Everything that reads or writes one of these uses this header
// (the OpenSSL layer, the dispatcher, the config), never a literal.
//
//  * Owner hint: byte 0 of a session id a sessnic server generates is the id of the
//    card that created it (the rest is random). The dispatcher routes a resumption to
//    that card, or to where it last moved the session.
//  * Table context: the table's `ctx` byte of a session is byte 0 of its SSL session-id
//    context (derived from the service name).
//  * Writer card: a version is lamport << CARD_BITS | card id of the writer
//    (spec/wire.toml), so the low CARD_BITS of any version name the card that wrote it.
//  * Card ids: 0..254; 255 is the backplane's BROADCAST address.
#pragma once
#include <cstdint>
#include <optional>
#include <span>

#include "wire/sessnic_wire.hpp"

namespace sessnic::identity {

inline constexpr unsigned kBroadcastCard = static_cast<unsigned>(wire::BpConst::BROADCAST);
inline constexpr unsigned kMaxCard = kBroadcastCard - 1;
static_assert(kMaxCard < (1u << wire::CARD_BITS), "card ids fit the version's card field");

inline constexpr bool valid_card(int64_t card) { return card >= 0 && card <= static_cast<int64_t>(kMaxCard); }

// Byte 0 of a session id: the card that created it. Nothing for an empty id.
inline std::optional<uint8_t> owner_hint(std::span<const uint8_t> session_id) {
  if (session_id.empty()) return std::nullopt;
  return session_id[0];
}
inline void set_owner_hint(std::span<uint8_t> session_id, uint8_t card) {
  if (!session_id.empty()) session_id[0] = card;
}

// The table's ctx byte for a session-id context.
inline uint8_t table_ctx(std::span<const uint8_t> session_id_context) {
  return session_id_context.empty() ? 0 : session_id_context[0];
}

// The card that wrote a version.
inline constexpr uint8_t writer_card(uint64_t version) {
  return static_cast<uint8_t>(version & ((uint64_t{1} << wire::CARD_BITS) - 1));
}

}  // namespace sessnic::identity
