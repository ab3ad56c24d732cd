// AES-256-GCM sealing of session blobs (format in sessnic/seal.hpp).
#include "sessnic/seal.hpp"

#include "sessnic/random_pool.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>

namespace sessnic {
namespace {

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}

constexpr size_t kNonceOff = 9;
constexpr size_t kNonceBytes = 12;

// header || ctx || id_len || id, on the stack: the binding's id is at most 255 bytes
// (checked by the callers).
struct Aad {
  std::array<uint8_t, Sealer::kHeaderBytes + 2 + 255> bytes;
  std::size_t size;
  Aad(const uint8_t* header, const SealBinding& b) {
    std::copy_n(header, Sealer::kHeaderBytes, bytes.begin());
    bytes[Sealer::kHeaderBytes] = b.ctx;
    bytes[Sealer::kHeaderBytes + 1] = static_cast<uint8_t>(b.session_id.size());
    std::copy(b.session_id.begin(), b.session_id.end(), bytes.begin() + Sealer::kHeaderBytes + 2);
    size = Sealer::kHeaderBytes + 2 + b.session_id.size();
  }
  int len() const { return static_cast<int>(size); }
};

bool int_size_ok(size_t n) { return n <= static_cast<size_t>(INT32_MAX); }

}  // namespace

struct Sealer::Pools {
  // Cipher contexts already keyed with one key, for one direction. Reinitialising such a
  // context with only a new nonce skips the AES key expansion and GHASH setup.
  struct Keyed {
    uint32_t key_id;
    bool encrypt;
    EvpCipherCtxPtr ctx;
  };
  static constexpr size_t kMaxIdle = 64;
  std::mutex cipher_mu;
  std::vector<Keyed> idle;

  // Nonces: fresh DRBG output, fetched in bulk (see random_pool.hpp).
  RandomPool random;

  // A context keyed with `key` for `encrypt`, from the pool or new. Null on failure.
  EvpCipherCtxPtr acquire(const EVP_CIPHER* cipher, const ClusterKey& key, bool encrypt) {
    {
      std::lock_guard<std::mutex> lock(cipher_mu);
      for (auto it = idle.rbegin(); it != idle.rend(); ++it) {
        if (it->key_id == key.id && it->encrypt == encrypt) {
          EvpCipherCtxPtr ctx = std::move(it->ctx);
          idle.erase(std::next(it).base());
          return ctx;
        }
      }
    }
    EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    if (!ctx) return ctx;
    const int ok = encrypt ? EVP_EncryptInit_ex2(ctx.get(), cipher, key.bytes.data(), nullptr, nullptr)
                           : EVP_DecryptInit_ex2(ctx.get(), cipher, key.bytes.data(), nullptr, nullptr);
    if (ok != 1) ctx.reset();
    return ctx;
  }

  void release(uint32_t key_id, bool encrypt, EvpCipherCtxPtr ctx) {
    std::lock_guard<std::mutex> lock(cipher_mu);
    if (idle.size() < kMaxIdle) idle.push_back({key_id, encrypt, std::move(ctx)});
  }
};

ClusterKey::~ClusterKey() { OPENSSL_cleanse(bytes.data(), bytes.size()); }

Keyring::Keyring(ClusterKey current, std::vector<ClusterKey> previous) {
  keys_.reserve(previous.size() + 1);
  keys_.push_back(std::move(current));
  for (auto& k : previous) {
    if (find(k.id) != nullptr) throw std::invalid_argument("keyring: duplicate key id " + std::to_string(k.id));
    keys_.push_back(std::move(k));
  }
}

const ClusterKey* Keyring::find(uint32_t key_id) const {
  for (const auto& k : keys_)
    if (k.id == key_id) return &k;
  return nullptr;
}

const char* to_string(UnsealError e) {
  switch (e) {
    case UnsealError::none: return "none";
    case UnsealError::truncated: return "truncated";
    case UnsealError::bad_format: return "bad_format";
    case UnsealError::unknown_key: return "unknown_key";
    case UnsealError::auth_failed: return "auth_failed";
    case UnsealError::expired: return "expired";
    case UnsealError::count: break;
  }
  return "?";
}

uint64_t SealCounters::rejected_total() const {
  uint64_t t = 0;
  for (auto v : rejected) t += v;
  return t;
}

Sealer::Sealer(Keyring keys)
    : keys_(std::move(keys)),
      cipher_(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr)),
      pools_(std::make_unique<Pools>()) {
  if (!cipher_) throw std::runtime_error("OpenSSL provides no AES-256-GCM");
}

Sealer::~Sealer() = default;

std::vector<uint8_t> Sealer::seal(std::span<const uint8_t> plain, const SealBinding& binding, uint32_t expiry) const {
  std::vector<uint8_t> out = blob_for(plain.size());
  std::copy(plain.begin(), plain.end(), plain_of(out).begin());
  if (!seal_in_place(out, binding, expiry)) return {};
  return out;
}

bool Sealer::seal_in_place(std::vector<uint8_t>& out, const SealBinding& binding, uint32_t expiry) const {
  const std::span<uint8_t> plain = plain_of(out);
  const auto fail = [&] {
    OPENSSL_cleanse(out.data(), out.size());
    return false;
  };
  if (out.size() < kOverhead || !int_size_ok(plain.size()) || binding.session_id.size() > 255) return fail();
  const ClusterKey& key = keys_.current();
  out[0] = kFormatVersion;
  put_u32(&out[1], key.id);
  put_u32(&out[5], expiry);
  if (!pools_->random.fill(std::span<uint8_t>(&out[kNonceOff], kNonceBytes))) return fail();
  const Aad aad(out.data(), binding);

  EvpCipherCtxPtr ctx = pools_->acquire(cipher_.get(), key, true);
  int len = 0, final_len = 0;
  // GCM encrypts in place (out == in): the plaintext is overwritten by its ciphertext.
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), nullptr, nullptr, &out[kNonceOff], nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.bytes.data(), aad.len()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), plain.data(), &len, plain.data(), static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), plain.data() + len, &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kTagBytes, out.data() + kHeaderBytes + plain.size()) != 1)
    return fail();
  pools_->release(key.id, true, std::move(ctx));
  sealed_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

Unsealed Sealer::reject(UnsealError e) const {
  rejected_[static_cast<size_t>(e)].fetch_add(1, std::memory_order_relaxed);
  Unsealed u;
  u.error = e;
  return u;
}

Unsealed Sealer::unseal(std::span<const uint8_t> blob, const SealBinding& binding, uint32_t now) const {
  if (blob.size() < kOverhead) return reject(UnsealError::truncated);
  if (blob[0] != kFormatVersion) return reject(UnsealError::bad_format);
  if (!int_size_ok(blob.size()) || binding.session_id.size() > 255) return reject(UnsealError::bad_format);
  const ClusterKey* key = keys_.find(get_u32(&blob[1]));
  if (key == nullptr) return reject(UnsealError::unknown_key);

  const size_t n = blob.size() - kOverhead;
  const Aad aad(blob.data(), binding);
  std::vector<uint8_t> plain(n);
  // GCM wants a writable tag buffer.
  std::array<uint8_t, kTagBytes> tag;
  std::copy(blob.end() - kTagBytes, blob.end(), tag.begin());

  EvpCipherCtxPtr ctx = pools_->acquire(cipher_.get(), *key, false);
  int len = 0;
  const bool ok =
      ctx && EVP_DecryptInit_ex2(ctx.get(), nullptr, nullptr, &blob[kNonceOff], nullptr) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.bytes.data(), aad.len()) == 1 &&
      EVP_DecryptUpdate(ctx.get(), plain.data(), &len, &blob[kHeaderBytes], static_cast<int>(n)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), plain.data() + len, &len) == 1;
  // A failed tag check leaves the context reusable: the next use sets a new nonce.
  if (ctx) pools_->release(key->id, false, std::move(ctx));
  if (!ok) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return reject(UnsealError::auth_failed);
  }
  const uint32_t expiry = get_u32(&blob[5]);
  if (now >= expiry) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return reject(UnsealError::expired);
  }
  opened_.fetch_add(1, std::memory_order_relaxed);
  Unsealed u;
  u.expiry = expiry;
  u.plain = std::move(plain);
  return u;
}

SealCounters Sealer::counters() const {
  SealCounters c;
  c.sealed = sealed_.load(std::memory_order_relaxed);
  c.opened = opened_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < c.rejected.size(); ++i) c.rejected[i] = rejected_[i].load(std::memory_order_relaxed);
  return c;
}

}  // namespace sessnic
