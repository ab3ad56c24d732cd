#include "pull_hint.hpp"

#include <algorithm>

namespace sessnic::proxy_v2 {
namespace {
constexpr uint8_t kFormat = 1;
constexpr int64_t kMaxBudgetUs = (1 << 24) - 1;
}  // namespace

Tlv encode_pull_hint(const PullHint& h) {
  const auto us = static_cast<uint32_t>(std::clamp<int64_t>(h.budget.count(), 0, kMaxBudgetUs));
  return Tlv{kTypePullHint,
             {kFormat, h.owner, static_cast<uint8_t>(us >> 16), static_cast<uint8_t>(us >> 8), static_cast<uint8_t>(us)}};
}

std::optional<PullHint> decode_pull_hint(const Tlv& t) {
  if (t.type != kTypePullHint || t.value.size() != 5 || t.value[0] != kFormat) return std::nullopt;
  const uint32_t us = static_cast<uint32_t>(t.value[2]) << 16 | static_cast<uint32_t>(t.value[3]) << 8 | t.value[4];
  return PullHint{t.value[1], std::chrono::microseconds(us)};
}

std::optional<PullHint> find_pull_hint(const Decoded& d) {
  const Tlv* t = d.find(kTypePullHint);
  return t ? decode_pull_hint(*t) : std::nullopt;
}

}  // namespace sessnic::proxy_v2
