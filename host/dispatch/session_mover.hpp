// How the dispatcher moves a session to the server it chose. The proxy only knows this
// interface; the backplane implementation (backplane_mover.cpp) asks the owner card over
// the UDP backplane.
#pragma once
#include <atomic>
#include <bitset>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sessnic::dispatch {

enum class MoveResult { moved, not_found, failed };

class SessionMover {
 public:
  using Done = std::function<void(MoveResult)>;
  virtual ~SessionMover() = default;
  // Asks card `owner` to move session `id` to card `dest` without blocking the caller.
  // `done` runs exactly once, on any thread (the caller posts it where it belongs), with
  // the answer or `failed` at the latest shortly after `budget` has passed.
  virtual void move(std::span<const uint8_t> id, uint8_t owner, uint8_t dest, std::chrono::microseconds budget,
                    Done done) = 0;
  // Gives up the backplane (its UDP port) for good, so a successor can bind it while this
  // process drains; later moves answer `failed` at once. Idempotent.
  virtual void release() = 0;
};

// Where each session was last moved to. The owner hint in byte 0 of an id is where the
// session was *created*; after a TLS 1.2 session moved once, the id is unchanged but the
// session lives elsewhere, so the dispatcher remembers its own moves (bounded LRU). A
// TRANSFER copies (the owner keeps its entry), so every card a session was moved to holds
// a copy too, as far as the dispatcher knows (a card may have evicted it since).
class SessionLocations {
 public:
  explicit SessionLocations(size_t capacity = 65536) : capacity_(capacity) {}
  std::optional<uint8_t> find(std::span<const uint8_t> id);
  bool holds(std::span<const uint8_t> id, uint8_t card);  // moved to `card` before
  void set(std::span<const uint8_t> id, uint8_t card);

 private:
  using Key = std::string;
  // Looked up by a view of the id: no Key (a heap allocation for a 32-byte id) per lookup.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct Entry {
    uint8_t last;
    std::bitset<256> moved_to;
    std::list<Key>::iterator age;
  };
  static std::string_view view(std::span<const uint8_t> id) {
    return {reinterpret_cast<const char*>(id.data()), id.size()};
  }
  size_t capacity_;
  // Entries, read without the lock: while the dispatcher has moved nothing (servers that
  // pull, the default) a lookup takes no lock at all.
  std::atomic<size_t> size_{0};
  std::mutex mu_;
  std::list<Key> order_;  // most recent first
  std::unordered_map<Key, Entry, Hash, std::equal_to<>> map_;
};

}  // namespace sessnic::dispatch
