// Frame <-> datagram: one frame per datagram, authenticated with HMAC-SHA256.
//
// Datagram = frame header beat (64 bytes) || payload (payload_len bytes: the zero
// padding of the last beat is not sent) || tag (first MAC_BYTES of
// HMAC-SHA256(mac_key, header || payload)). mac_key = HKDF-SHA256(cluster key,
// salt = none, info = "sessnic backplane mac"). Replay protection is the kernel's
// (per-peer sequence window + epochs); this layer rejects forged and truncated input.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "beat.hpp"

struct evp_mac_ctx_st;

namespace sessnic::backplane {

enum class DecodeError : uint8_t { none, truncated, too_long, bad_mac, bad_length };
const char* to_string(DecodeError e);

class FrameAuth {
 public:
  // Throws std::runtime_error if OpenSSL cannot derive the key or set up HMAC.
  explicit FrameAuth(std::span<const uint8_t, 32> cluster_key);
  ~FrameAuth();
  FrameAuth(const FrameAuth&) = delete;
  FrameAuth& operator=(const FrameAuth&) = delete;

  // Serialises one frame (header beat + payload beats) and appends the tag.
  void encode(std::span<const Beat> frame, std::vector<uint8_t>& out);
  // Checks and unpacks one datagram into beats (TLAST on the last). `max_bytes` is the
  // largest datagram accepted. On error `out` is left unchanged.
  DecodeError decode(std::span<const uint8_t> dgram, std::size_t max_bytes, std::vector<Beat>& out);

  static constexpr std::size_t kTagBytes = static_cast<std::size_t>(wire::BpConst::MAC_BYTES);

 private:
  void mac(std::span<const uint8_t> data, uint8_t out[32]);
  struct MacCtxFree {
    void operator()(evp_mac_ctx_st* c) const noexcept;
  };
  std::unique_ptr<evp_mac_ctx_st, MacCtxFree> ctx_;
};

}  // namespace sessnic::backplane
