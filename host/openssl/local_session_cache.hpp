// A bounded host-local map from session id to a decoded SSL_SESSION. attach() uses two:
//  * the store for sessions that do not fit a table slot (typically with a client
//    certificate): they resume only on the server that made them;
//  * decoded copies of device entries, tagged with the entry's version: used only when
//    the device, asked first every time, answers with that same version, so the device
//    stays the source of truth and only the unseal + d2i_SSL_SESSION work is saved.
// When full, the oldest insert goes.
#pragma once
#include <openssl/ssl.h>

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sessnic/ossl_ptr.hpp"

namespace sessnic {

class LocalSessionCache {
 public:
  explicit LocalSessionCache(std::size_t capacity) : capacity_(capacity) {}

  // Keeps its own reference to `session` (the caller's stays the caller's).
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
  struct Entry {
    SslSessionPtr session;
    uint32_t expiry;
    uint64_t version;
    std::list<std::string>::iterator age;  // position in order_
  };
  // Lookups by a view of the id: no string is allocated to find an entry (one per lookup,
  // on the path of every resumption).
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>>;
  static std::string_view key_of(std::span<const uint8_t> id) {
    return {reinterpret_cast<const char*>(id.data()), id.size()};
  }
  void erase_locked(Map::iterator it);

  std::size_t capacity_;
  mutable std::mutex mu_;
  Map entries_;
  std::list<std::string> order_;  // oldest first
};

}  // namespace sessnic
