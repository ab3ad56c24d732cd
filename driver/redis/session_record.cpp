#include "sessnic/redis/session_record.hpp"

#include <fmt/format.h>

#include <charconv>

#include "sessnic/seal.hpp"

namespace sessnic::redis {
namespace {

constexpr size_t kHead = 16 + 1 + 2 + 8;

template <typename T>
bool parse_hex(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string record_key(const std::string& prefix, const SessionKey& key) {
  std::string k = prefix;
  k += fmt::format("s:{:02x}:", key.ctx);
  for (uint8_t b : key.bytes()) k += fmt::format("{:02x}", b);
  return k;
}

std::string encode_record(const Record& r) {
  std::string v = fmt::format("{:016x}{}{:02x}{:08x}", r.version, r.tombstone ? 'T' : 'S', r.flags, r.expiry);
  v.append(reinterpret_cast<const char*>(r.blob.data()), r.blob.size());
  return v;
}

std::optional<Record> decode_record(std::string_view v) {
  if (v.size() < kHead) return std::nullopt;
  Record r;
  unsigned flags = 0;
  if (!parse_hex(v.substr(0, 16), r.version) || !parse_hex(v.substr(17, 2), flags) || !parse_hex(v.substr(19, 8), r.expiry))
    return std::nullopt;
  if (v[16] != 'S' && v[16] != 'T') return std::nullopt;
  r.tombstone = v[16] == 'T';
  r.flags = static_cast<uint8_t>(flags);
  r.blob.assign(v.begin() + kHead, v.end());
  if (r.tombstone != r.blob.empty()) return std::nullopt;
  return r;
}

bool looks_sealed(std::span<const uint8_t> blob) {
  return blob.size() >= Sealer::kOverhead && blob[0] == Sealer::kFormatVersion;
}

}  // namespace sessnic::redis
