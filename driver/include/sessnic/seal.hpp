// Sealing: a session leaves the host only as AES-256-GCM ciphertext.
//
// Sealed blob, format v1 (all integers little-endian):
//   off  len  field
//     0    1  format version = 1
//     1    4  key id (which cluster key sealed it)
//     5    4  expiry, Unix seconds
//     9   12  nonce (random, RAND_bytes)
//    21    n  ciphertext (n = plaintext length)
//  21+n   16  GCM tag
// AAD = bytes 0..20 || ctx (1 byte) || session id length (1 byte) || session id, so a
// blob only opens under the session id, context and expiry it was sealed for: moving it
// to another key, changing its expiry or any byte of it fails authentication.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sessnic/ossl_ptr.hpp"

namespace sessnic {

// One 256-bit cluster key and its id. The bytes are wiped when the key is destroyed.
struct ClusterKey {
  uint32_t id = 0;
  std::array<uint8_t, 32> bytes{};

  ClusterKey() = default;
  ClusterKey(uint32_t key_id, const std::array<uint8_t, 32>& key) : id(key_id), bytes(key) {}
  ClusterKey(const ClusterKey&) = default;
  ClusterKey& operator=(const ClusterKey&) = default;
  ~ClusterKey();
};

// The current key (seals) and the previous ones (still open blobs during a rotation).
class Keyring {
 public:
  // Throws std::invalid_argument if two keys share an id.
  explicit Keyring(ClusterKey current, std::vector<ClusterKey> previous = {});
  const ClusterKey& current() const { return keys_.front(); }
  const ClusterKey* find(uint32_t key_id) const;
  std::span<const ClusterKey> keys() const { return keys_; }  // current first

 private:
  std::vector<ClusterKey> keys_;
};

enum class UnsealError : uint8_t {
  none = 0,
  truncated,      // shorter than header + tag
  bad_format,     // unknown format version
  unknown_key,    // key id not in the keyring
  auth_failed,    // tag mismatch: tampered, wrong key bytes, or bound to another id/ctx/expiry
  expired,        // authentic but now >= expiry
  count
};
const char* to_string(UnsealError e);

// What a sealed blob is bound to besides its own header.
struct SealBinding {
  std::span<const uint8_t> session_id;
  uint8_t ctx = 0;
};

struct Unsealed {
  UnsealError error = UnsealError::none;
  uint32_t expiry = 0;
  std::vector<uint8_t> plain;  // empty unless error == none
  bool ok() const { return error == UnsealError::none; }
};

struct SealCounters {
  uint64_t sealed = 0;
  uint64_t opened = 0;
  std::array<uint64_t, static_cast<size_t>(UnsealError::count)> rejected{};  // by reason; [none] unused
  uint64_t rejected_total() const;
};

class Sealer {
 public:
  static constexpr uint8_t kFormatVersion = 1;
  static constexpr size_t kHeaderBytes = 21;
  static constexpr size_t kTagBytes = 16;
  static constexpr size_t kOverhead = kHeaderBytes + kTagBytes;

  // Throws std::runtime_error if OpenSSL has no AES-256-GCM.
  explicit Sealer(Keyring keys);
  ~Sealer();
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;

  // Seals with the current key. Empty result only if OpenSSL fails (RAND or cipher).
  std::vector<uint8_t> seal(std::span<const uint8_t> plain, const SealBinding& binding, uint32_t expiry) const;

  // Sealing without a plaintext buffer of its own: blob_for(n) is a blob-sized buffer,
  // the caller writes its n plaintext bytes into plain_of(blob) (e.g. i2d_SSL_SESSION
  // straight into it), and seal_in_place() writes the header, encrypts those bytes where
  // they are and appends the tag. So the plaintext (a master secret) is never copied, and
  // one allocation serves both. False if OpenSSL fails: the buffer is wiped then.
  static std::vector<uint8_t> blob_for(std::size_t plain_len) { return std::vector<uint8_t>(kOverhead + plain_len); }
  static std::span<uint8_t> plain_of(std::vector<uint8_t>& blob) {
    return blob.size() < kOverhead ? std::span<uint8_t>() : std::span<uint8_t>(blob).subspan(kHeaderBytes, blob.size() - kOverhead);
  }
  bool seal_in_place(std::vector<uint8_t>& blob, const SealBinding& binding, uint32_t expiry) const;
  // Opens with whichever keyring key the blob names; rejects and counts anything else.
  Unsealed unseal(std::span<const uint8_t> blob, const SealBinding& binding, uint32_t now) const;

  const Keyring& keyring() const { return keys_; }
  SealCounters counters() const;

 private:
  Unsealed reject(UnsealError e) const;

  // Keyed cipher contexts for reuse (a key schedule per call cost more than the
  // encryption) and a RandomPool for nonces. Both in seal.cpp.
  struct Pools;

  Keyring keys_;
  EvpCipherPtr cipher_;
  std::unique_ptr<Pools> pools_;
  mutable std::atomic<uint64_t> sealed_{0};
  mutable std::atomic<uint64_t> opened_{0};
  mutable std::array<std::atomic<uint64_t>, static_cast<size_t>(UnsealError::count)> rejected_{};
};

}  // namespace sessnic
