#include "pull_hint.hpp"

#include <algorithm>

namespace sessnic::proxy_v2 {
namespace {
constexpr uint8_t kFormat = 1;
constexpr uint8_t kFormatFlags = 2;
constexpr uint8_t kFlagMoveInFlight = 0x01;
constexpr uint8_t kSessionFormat = 1;
constexpr int64_t kMaxBudgetUs = (1 << 24) - 1;
}  // namespace

Tlv encode_pull_hint(const PullHint& h) {
  const auto us = static_cast<uint32_t>(std::clamp<int64_t>(h.budget.count(), 0, kMaxBudgetUs));
  Tlv t{kTypePullHint,
        {kFormat, h.owner, static_cast<uint8_t>(us >> 16), static_cast<uint8_t>(us >> 8), static_cast<uint8_t>(us)}};
  if (h.move_in_flight) {
    t.value[0] = kFormatFlags;
    t.value.push_back(kFlagMoveInFlight);
  }
  return t;
}

void append_pull_hint(std::vector<Tlv>& out, const PullHint& h) {
  out.push_back(encode_pull_hint(h));
  const size_t n = h.session_id.size();
  if (n == 0 || n > kMaxHintSessionId) return;
  Tlv id{kTypePullHintSession, {kSessionFormat}};
  id.value.insert(id.value.end(), h.session_id.begin(), h.session_id.end());
  out.push_back(std::move(id));
}

std::optional<PullHint> decode_pull_hint(const Tlv& t) {
  if (t.type != kTypePullHint) return std::nullopt;
  const bool v1 = t.value.size() == 5 && t.value[0] == kFormat;
  const bool v2 = t.value.size() == 6 && t.value[0] == kFormatFlags;
  if (!v1 && !v2) return std::nullopt;
  const uint32_t us = static_cast<uint32_t>(t.value[2]) << 16 | static_cast<uint32_t>(t.value[3]) << 8 | t.value[4];
  // Unknown flag bits are ignored: a newer dispatcher's extra news is not an error.
  return PullHint{t.value[1], std::chrono::microseconds(us), v2 && (t.value[5] & kFlagMoveInFlight) != 0};
}

std::optional<PullHint> find_pull_hint(const Decoded& d) {
  const Tlv* t = d.find(kTypePullHint);
  if (t == nullptr) return std::nullopt;
  auto h = decode_pull_hint(*t);
  // Without the hint the id means nothing; a bad one leaves the hint as it is (the server
  // then pulls from its ClientHello callback, as for a dispatcher that sends none).
  const Tlv* id = d.find(kTypePullHintSession);
  if (h && id != nullptr && id->value.size() >= 2 && id->value.size() <= 1 + kMaxHintSessionId &&
      id->value[0] == kSessionFormat)
    h->session_id.assign(id->value.begin() + 1, id->value.end());
  return h;
}

}  // namespace sessnic::proxy_v2
