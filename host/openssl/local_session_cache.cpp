#include "local_session_cache.hpp"

#include <algorithm>

namespace sessnic {

std::optional<LocalSessionCache::Key> LocalSessionCache::Key::of(std::span<const uint8_t> id) {
  if (id.empty() || id.size() > Key{}.bytes.size()) return std::nullopt;
  Key k;
  std::copy(id.begin(), id.end(), k.bytes.begin());
  k.len = static_cast<uint8_t>(id.size());
  return k;
}

void LocalSessionCache::insert(std::span<const uint8_t> id, SSL_SESSION* session, uint32_t expiry,
                               uint64_t version) {
  const std::optional<Key> key = Key::of(id);
  if (capacity_ == 0 || !key) return;
  SSL_SESSION_up_ref(session);
  SslSessionPtr ref(session);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = entries_.find(*key); it != entries_.end()) erase_locked(it);
  while (entries_.size() >= capacity_) erase_locked(entries_.find(order_.front()));
  order_.push_back(*key);
  entries_.emplace(*key, Entry{std::move(ref), expiry, version, std::prev(order_.end())});
  size_.store(entries_.size(), std::memory_order_release);
}

SslSessionPtr LocalSessionCache::find(std::span<const uint8_t> id, uint32_t now, bool take,
                                      std::optional<uint64_t> version) {
  SslSessionPtr out;
  // Acquire pairs with the release of the insert: a client that got its session from
  // an insert on another thread finds it here.
  if (size_.load(std::memory_order_acquire) == 0) return out;
  const std::optional<Key> key = Key::of(id);
  if (!key) return out;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(*key);
  if (it == entries_.end()) return out;
  if (now >= it->second.expiry || (version && *version != it->second.version)) {
    erase_locked(it);
    return out;
  }
  if (take) {
    out = std::move(it->second.session);
    erase_locked(it);
  } else {
    SSL_SESSION_up_ref(it->second.session.get());
    out.reset(it->second.session.get());
  }
  return out;
}

void LocalSessionCache::erase(std::span<const uint8_t> id) {
  if (size_.load(std::memory_order_acquire) == 0) return;
  const std::optional<Key> key = Key::of(id);
  if (!key) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = entries_.find(*key); it != entries_.end()) erase_locked(it);
}

void LocalSessionCache::refresh(std::span<const uint8_t> id, SSL_SESSION* session) {
  const std::optional<Key> key = Key::of(id);
  if (!key) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(*key);
    if (it == entries_.end() || it->second.session.get() != session) return;
  }
  // Outside the lock: encoding is the slow part. The entry may change meanwhile; then
  // the swap below finds another object and leaves it alone.
  unsigned char* der = nullptr;
  const int len = i2d_SSL_SESSION(session, &der);
  if (len <= 0) return;
  const unsigned char* p = der;
  SslSessionPtr fresh(d2i_SSL_SESSION(nullptr, &p, len));
  OPENSSL_clear_free(der, static_cast<size_t>(len));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(*key);
  if (it == entries_.end() || it->second.session.get() != session) return;
  if (fresh) it->second.session = std::move(fresh);
  else erase_locked(it);
}

std::size_t LocalSessionCache::size() const { return size_.load(std::memory_order_acquire); }

void LocalSessionCache::erase_locked(Map::iterator it) {
  order_.erase(it->second.age);
  entries_.erase(it);
  size_.store(entries_.size(), std::memory_order_release);
}

}  // namespace sessnic
