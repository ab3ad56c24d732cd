#include "sessnic/redis/slot_map.hpp"

#include <charconv>

namespace sessnic::redis {
namespace {

uint16_t crc16(std::string_view s) {  // CRC16-CCITT (XMODEM): polynomial 0x1021, init 0
  uint16_t crc = 0;
  for (unsigned char c : s) {
    crc ^= static_cast<uint16_t>(c) << 8;
    for (int i = 0; i < 8; ++i) crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021) : static_cast<uint16_t>(crc << 1);
  }
  return crc;
}

}  // namespace

uint16_t key_slot(std::string_view key) {
  // Only the part between the first '{' and the next '}' counts, if non-empty.
  if (auto open = key.find('{'); open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) % kSlots;
}

uint16_t SlotMap::index_of(const RedisAddress& a) {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i] == a) return static_cast<uint16_t>(i);
  nodes_.push_back(a);
  return static_cast<uint16_t>(nodes_.size() - 1);
}

bool SlotMap::load(const Reply& r) {
  if (r.type != Reply::Type::array || r.elements.empty()) return false;
  SlotMap next;
  next.slot_.fill(kNone);
  for (const auto& range : r.elements) {
    // [start, end, [host, port, id...], replicas...]
    if (range.type != Reply::Type::array || range.elements.size() < 3) return false;
    const auto& lo = range.elements[0];
    const auto& hi = range.elements[1];
    const auto& master = range.elements[2];
    if (lo.type != Reply::Type::integer || hi.type != Reply::Type::integer || master.type != Reply::Type::array ||
        master.elements.size() < 2 || master.elements[0].type != Reply::Type::string ||
        master.elements[1].type != Reply::Type::integer)
      return false;
    if (lo.integer < 0 || hi.integer >= kSlots || lo.integer > hi.integer) return false;
    RedisAddress a{master.elements[0].str, static_cast<uint16_t>(master.elements[1].integer)};
    const uint16_t idx = next.index_of(a);
    for (long long s = lo.integer; s <= hi.integer; ++s) next.slot_[static_cast<size_t>(s)] = idx;
  }
  *this = std::move(next);
  return true;
}

void SlotMap::set(uint16_t slot, const RedisAddress& node) {
  if (nodes_.empty()) slot_.fill(kNone);
  slot_[slot % kSlots] = index_of(node);
}

std::optional<RedisAddress> SlotMap::owner(uint16_t slot) const {
  if (nodes_.empty()) return std::nullopt;
  const uint16_t i = slot_[slot % kSlots];
  if (i == kNone) return std::nullopt;
  return nodes_[i];
}

std::optional<Redirect> parse_redirect(const std::string& e) {
  // "<WORD> <slot> <host>:<port>"
  auto sp1 = e.find(' ');
  if (sp1 == std::string::npos) return std::nullopt;
  auto sp2 = e.find(' ', sp1 + 1);
  if (sp2 == std::string::npos) return std::nullopt;
  unsigned slot = 0;
  auto [p, ec] = std::from_chars(e.data() + sp1 + 1, e.data() + sp2, slot);
  if (ec != std::errc() || p != e.data() + sp2 || slot >= kSlots) return std::nullopt;
  auto addr = parse_address(e.substr(sp2 + 1));
  if (!addr) return std::nullopt;
  return Redirect{static_cast<uint16_t>(slot), *addr};
}

}  // namespace sessnic::redis
