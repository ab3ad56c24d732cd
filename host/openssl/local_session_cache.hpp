// A bounded host-local map from session id to a decoded SSL_SESSION. attach() uses two:
//  * the store for sessions that do not fit a table slot (typically with a client
//    certificate): they resume only on the server that made them;
//  * decoded copies of device entries, tagged with the entry's version: used only when
//    the device, asked first every time, answers with that same version, so the device
//    stays the source of truth and only the unseal + d2i_SSL_SESSION work is saved.
// When full, the oldest insert goes.
#pragma once
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>

#include "sessnic/ossl_ptr.hpp"

namespace sessnic {

class LocalSessionCache {
 public:
  explicit LocalSessionCache(std::size_t capacity) : capacity_(capacity) {}

  // Keeps its own reference to `session` (the caller's stays the caller's). Ids longer
  // than 32 bytes (none from OpenSSL) are not kept.
  void insert(std::span<const uint8_t> id, SSL_SESSION* session, uint32_t expiry, uint64_t version = 0);
  // A new reference to the live session with this id (and, if given, this version), or
  // null. `take` removes it (single-use TLS 1.3 tickets). Expired or other-version
  // entries are dropped on the way.
  SslSessionPtr find(std::span<const uint8_t> id, uint32_t now, bool take, std::optional<uint64_t> version = {});
  void erase(std::span<const uint8_t> id);
  // OpenSSL marked `session` not resumable (its remove callback after a failed
  // connection). If the entry for `id` is that very object, it is replaced by a fresh
  // decoded copy (i2d + d2i), so the session still resumes from here.
  void refresh(std::span<const uint8_t> id, SSL_SESSION* session);
  std::size_t size() const;

 private:
  // A session id by value (at most 32 bytes): no string is allocated per entry or per
  // lookup; every resumption looks up here.
  struct Key {
    std::array<uint8_t, 32> bytes{};
    uint8_t len = 0;
    static std::optional<Key> of(std::span<const uint8_t> id);
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
      return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(k.bytes.data()), k.len));
    }
  };
  using Order = std::pmr::list<Key>;  // oldest first
  struct Entry {
    SslSessionPtr session;
    uint32_t expiry;
    uint64_t version;
    Order::iterator age;  // position in order_
  };
  using Map = std::pmr::unordered_map<Key, Entry, KeyHash>;
  void erase_locked(Map::iterator it);

  std::size_t capacity_;
  mutable std::mutex mu_;
  // The map's and the list's nodes come from this pool (guarded by mu_, like them): a
  // node freed by an erase or an eviction serves the next insert, so a cache in its
  // steady state makes no heap allocation (it would be several per new session).
  std::pmr::unsynchronized_pool_resource pool_;
  Map entries_{&pool_};
  Order order_{&pool_};
  // entries_.size() (written under mu_), readable without it: size(), and most lookups,
  // which go to an empty cache (the too-large store) and so skip the lock.
  std::atomic<std::size_t> size_{0};
};

}  // namespace sessnic
