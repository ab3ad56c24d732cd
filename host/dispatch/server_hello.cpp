#include "server_hello.hpp"

#include <algorithm>
#include <array>

namespace sessnic::dispatch {
namespace {
constexpr size_t kMaxBytes = 64 * 1024;
constexpr uint8_t kHandshake = 22;
constexpr uint8_t kServerHello = 2;
// RFC 8446 4.1.3: a ServerHello with this random is a HelloRetryRequest.
constexpr std::array<uint8_t, 32> kHrrRandom = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
                                                0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
                                                0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
}  // namespace

std::string_view to_string(ServerHelloReader::Kind k) {
  switch (k) {
    case ServerHelloReader::Kind::full: return "full";
    case ServerHelloReader::Kind::resumed: return "resumed";
    default: return "-";
  }
}

bool ServerHelloReader::feed(std::span<const uint8_t> bytes) {
  if (done_) return false;
  const size_t take = std::min(bytes.size(), kMaxBytes - records_.size());
  records_.insert(records_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
  // Strip whole records into handshake_ until the first message is complete.
  while (records_.size() - parsed_ >= 5) {
    const uint8_t* h = records_.data() + parsed_;
    const size_t len = static_cast<size_t>(h[3]) << 8 | h[4];
    if (h[0] != kHandshake || h[1] != 3 || len == 0) {
      done_ = true;  // an alert or not TLS: nothing to learn
      return false;
    }
    if (records_.size() - parsed_ < 5 + len) break;
    handshake_.insert(handshake_.end(), h + 5, h + 5 + len);
    parsed_ += 5 + len;
    if (handshake_.size() >= 4) {
      const size_t mlen = static_cast<size_t>(handshake_[1]) << 16 | static_cast<size_t>(handshake_[2]) << 8 | handshake_[3];
      if (handshake_[0] != kServerHello) {
        done_ = true;
        return false;
      }
      if (handshake_.size() >= 4 + mlen) {
        parse(std::span<const uint8_t>(handshake_).subspan(4, mlen));
        done_ = true;
        return false;
      }
    }
  }
  if (records_.size() >= kMaxBytes) done_ = true;
  return !done_;
}

void ServerHelloReader::parse(std::span<const uint8_t> b) {
  // legacy_version(2) random(32) session_id<0..32> cipher(2) compression(1) extensions<..>
  if (b.size() < 2 + 32 + 1) return;
  if (std::equal(kHrrRandom.begin(), kHrrRandom.end(), b.begin() + 2)) return;  // retry: not decided yet
  size_t p = 34;
  const size_t sid_len = b[p++];
  if (sid_len > 32 || p + sid_len + 3 > b.size()) return;
  auto sid = b.subspan(p, sid_len);
  p += sid_len + 3;
  bool tls13 = false, psk = false;
  if (p + 2 <= b.size()) {
    const size_t ext_len = static_cast<size_t>(b[p]) << 8 | b[p + 1];
    p += 2;
    const size_t end = std::min(b.size(), p + ext_len);
    while (p + 4 <= end) {
      const unsigned type = static_cast<unsigned>(b[p]) << 8 | b[p + 1];
      const size_t len = static_cast<size_t>(b[p + 2]) << 8 | b[p + 3];
      p += 4;
      if (p + len > end) return;
      if (type == 43 && len == 2 && b[p] == 3 && b[p + 1] == 4) tls13 = true;  // supported_versions
      if (type == 41) psk = true;                                             // pre_shared_key
      p += len;
    }
  }
  const unsigned legacy = static_cast<unsigned>(b[0]) << 8 | b[1];
  version_ = tls13 ? "1.3" : legacy == 0x0303 ? "1.2" : legacy == 0x0302 ? "1.1" : legacy == 0x0301 ? "1.0" : "-";
  if (tls13) kind_ = psk ? Kind::resumed : Kind::full;
  else kind_ = !sid.empty() && std::equal(sid.begin(), sid.end(), offered_.begin(), offered_.end()) ? Kind::resumed : Kind::full;
}

}  // namespace sessnic::dispatch
