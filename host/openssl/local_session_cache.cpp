#include "local_session_cache.hpp"

namespace sessnic {

void LocalSessionCache::insert(std::span<const uint8_t> id, SSL_SESSION* session, uint32_t expiry,
                               uint64_t version) {
  if (capacity_ == 0 || id.empty()) return;
  std::string key(key_of(id));
  SSL_SESSION_up_ref(session);
  SslSessionPtr ref(session);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = entries_.find(key); it != entries_.end()) erase_locked(it);
  while (entries_.size() >= capacity_) erase_locked(entries_.find(order_.front()));
  order_.push_back(key);
  entries_.emplace(std::move(key), Entry{std::move(ref), expiry, version, std::prev(order_.end())});
}

SslSessionPtr LocalSessionCache::find(std::span<const uint8_t> id, uint32_t now, bool take,
                                      std::optional<uint64_t> version) {
  SslSessionPtr out;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key_of(id));
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
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = entries_.find(key_of(id)); it != entries_.end()) erase_locked(it);
}

void LocalSessionCache::refresh(std::span<const uint8_t> id, SSL_SESSION* session) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key_of(id));
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
  auto it = entries_.find(key_of(id));
  if (it == entries_.end() || it->second.session.get() != session) return;
  if (fresh) it->second.session = std::move(fresh);
  else erase_locked(it);
}

std::size_t LocalSessionCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

void LocalSessionCache::erase_locked(Map::iterator it) {
  order_.erase(it->second.age);
  entries_.erase(it);
}

}  // namespace sessnic
