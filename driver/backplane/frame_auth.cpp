#include "sessnic/backplane/frame_auth.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <bit>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace sessnic::backplane {
namespace {
// Beat words are copied as wire bytes (little-endian, byte 0 = bits 7:0 of word 0).
static_assert(std::endian::native == std::endian::little, "little-endian hosts only");
constexpr char kMacLabel[] = "sessnic backplane mac";
constexpr std::size_t kHeaderBytes = wire::BEAT_BYTES;

struct KdfFree {
  void operator()(EVP_KDF* k) const noexcept { EVP_KDF_free(k); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* k) const noexcept { EVP_KDF_CTX_free(k); }
};
struct MacFree {
  void operator()(EVP_MAC* m) const noexcept { EVP_MAC_free(m); }
};

std::array<uint8_t, 32> derive_mac_key(std::span<const uint8_t, 32> cluster_key) {
  std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) throw std::runtime_error("backplane: OpenSSL has no HKDF");
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> kctx(EVP_KDF_CTX_new(kdf.get()));
  if (!kctx) throw std::runtime_error("backplane: EVP_KDF_CTX_new failed");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(cluster_key.data()),
                                        cluster_key.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(kMacLabel), sizeof(kMacLabel) - 1),
      OSSL_PARAM_construct_end()};
  std::array<uint8_t, 32> key{};
  if (EVP_KDF_derive(kctx.get(), key.data(), key.size(), params) != 1)
    throw std::runtime_error("backplane: HKDF derivation failed");
  return key;
}
}  // namespace

const char* to_string(DecodeError e) {
  switch (e) {
    case DecodeError::none: return "none";
    case DecodeError::truncated: return "truncated";
    case DecodeError::too_long: return "too_long";
    case DecodeError::bad_mac: return "bad_mac";
    case DecodeError::bad_length: return "bad_length";
  }
  return "?";
}

void FrameAuth::MacCtxFree::operator()(evp_mac_ctx_st* c) const noexcept { EVP_MAC_CTX_free(c); }

FrameAuth::FrameAuth(std::span<const uint8_t, 32> cluster_key) {
  std::array<uint8_t, 32> key = derive_mac_key(cluster_key);
  std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) throw std::runtime_error("backplane: OpenSSL has no HMAC");
  ctx_.reset(EVP_MAC_CTX_new(mac.get()));
  if (!ctx_) throw std::runtime_error("backplane: EVP_MAC_CTX_new failed");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  const int ok = EVP_MAC_init(ctx_.get(), key.data(), key.size(), params);
  OPENSSL_cleanse(key.data(), key.size());
  if (ok != 1) throw std::runtime_error("backplane: HMAC init failed");
}

FrameAuth::~FrameAuth() = default;

// Re-initialising with a null key keeps the key set in the constructor.
void FrameAuth::mac(std::span<const uint8_t> data, uint8_t out[32]) {
  std::size_t n = 0;
  if (EVP_MAC_init(ctx_.get(), nullptr, 0, nullptr) != 1 || EVP_MAC_update(ctx_.get(), data.data(), data.size()) != 1 ||
      EVP_MAC_final(ctx_.get(), out, &n, 32) != 1 || n != 32)
    throw std::runtime_error("backplane: HMAC computation failed");
}

void FrameAuth::encode(std::span<const Beat> frame, std::vector<uint8_t>& out) {
  const unsigned payload_len = static_cast<unsigned>(wire::get_field(frame[0].data, wire::frame::payload_len));
  const std::size_t start = out.size();
  out.resize(start + kHeaderBytes + payload_len + kTagBytes);
  uint8_t* p = out.data() + start;
  std::memcpy(p, frame[0].data, kHeaderBytes);  // little-endian host: words are the wire bytes
  std::size_t left = payload_len;
  for (std::size_t b = 1; b < frame.size() && left > 0; ++b) {
    const std::size_t n = left < wire::BEAT_BYTES ? left : wire::BEAT_BYTES;
    std::memcpy(p + kHeaderBytes + (b - 1) * wire::BEAT_BYTES, frame[b].data, n);
    left -= n;
  }
  uint8_t tag[32];
  mac({p, kHeaderBytes + payload_len}, tag);
  std::memcpy(p + kHeaderBytes + payload_len, tag, kTagBytes);
}

DecodeError FrameAuth::decode(std::span<const uint8_t> dgram, std::size_t max_bytes, std::vector<Beat>& out) {
  if (dgram.size() > max_bytes) return DecodeError::too_long;
  if (dgram.size() < kHeaderBytes + kTagBytes) return DecodeError::truncated;
  const std::size_t body = dgram.size() - kTagBytes;
  uint8_t tag[32];
  mac(dgram.first(body), tag);
  if (CRYPTO_memcmp(tag, dgram.data() + body, kTagBytes) != 0) return DecodeError::bad_mac;
  Beat h;
  clear_beat(h);
  std::memcpy(h.data, dgram.data(), kHeaderBytes);
  const std::size_t payload_len = wire::get_field(h.data, wire::frame::payload_len);
  if (body != kHeaderBytes + payload_len) return DecodeError::bad_length;
  const unsigned nb = beats_for(static_cast<unsigned>(payload_len));
  h.last = nb == 0;
  out.push_back(h);
  for (unsigned b = 0; b < nb; ++b) {
    Beat d;
    clear_beat(d);
    const std::size_t off = kHeaderBytes + std::size_t{b} * wire::BEAT_BYTES;
    const std::size_t n = payload_len - b * wire::BEAT_BYTES < wire::BEAT_BYTES ? payload_len - b * wire::BEAT_BYTES
                                                                               : wire::BEAT_BYTES;
    std::memcpy(d.data, dgram.data() + off, n);
    d.last = b + 1 == nb;
    out.push_back(d);
  }
  return DecodeError::none;
}

}  // namespace sessnic::backplane
