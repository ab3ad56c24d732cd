// RedisStore: the cluster's central session repository on Redis (a single server or a
// Redis Cluster). Thread-safe; every call is bounded by the options' timeouts and never
// throws for an unreachable Redis - that is a status (`unavailable`), counted.
//
//  * put():       versioned write-through (a Lua script: a newer version already there
//                 wins; TTL = the session's remaining lifetime via SET ... EXAT).
//  * get():       read (a tombstone reads as `deleted`).
//  * take():      single-use: GETDEL semantics in a script that leaves a tombstone of
//                 the same version and TTL in the same step (a plain GETDEL would forget
//                 that the ticket was ever there), atomic on the one master that owns the key,
//                 so a TLS 1.3 ticket is handed out once cluster-wide and a later take
//                 tells `deleted` (taken) from `miss` (never written through).
//  * tombstone(): versioned delete (same script): a late older copy cannot come back.
//
// Cluster mode: the slot map comes from CLUSTER SLOTS (a seed that answers), MOVED
// updates it (and schedules a full refresh), ASK is followed once with ASKING. A node that
// fails is not tried again for a back-off that doubles from backoff_min to backoff_max,
// so a dead master costs its keys a fast `unavailable`, not a connect timeout each.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sessnic/device.hpp"
#include "sessnic/redis/connection.hpp"
#include "sessnic/redis/options.hpp"
#include "sessnic/redis/session_record.hpp"
#include "sessnic/redis/slot_map.hpp"

namespace sessnic::redis {

enum class StoreStatus {
  ok,           // written / found
  miss,         // no such key (never written through, expired, or Redis lost it)
  deleted,      // a tombstone: taken (single use) or removed
  stale,        // put: Redis holds a newer version, kept
  refused,      // put: not a sealed blob, or already expired; nothing sent
  unavailable,  // Redis (the key's master) unreachable, timed out or answered an error
};
const char* to_string(StoreStatus s);

struct StoreResult {
  StoreStatus status = StoreStatus::unavailable;
  Record record;  // when ok
};

struct StoreCounters {
  uint64_t puts = 0, put_stale = 0, refused = 0, gets = 0, get_hits = 0, takes = 0, take_hits = 0, tombstones = 0;
  uint64_t unavailable = 0, moved = 0, ask = 0, slot_refreshes = 0, connects = 0, connect_failures = 0, malformed = 0;
};

class RedisStore {
 public:
  // Connects lazily; throws std::invalid_argument for options that cannot work (no address).
  explicit RedisStore(RedisOptions options);
  ~RedisStore();
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  // Start-up check: a PING to every configured address (cluster: also a slot map).
  // Throws Unreachable naming what failed.
  void check_reachable();

  StoreStatus put(const SessionKey& key, const Record& record);
  StoreResult get(const SessionKey& key);
  StoreResult take(const SessionKey& key);
  StoreStatus tombstone(const SessionKey& key, uint64_t version, uint32_t expiry);

  // Any command on the master owning `key` (redirections followed). Throws Unreachable.
  Reply command(const std::string& key, const RespCommand& cmd);

  std::string key_name(const SessionKey& key) const { return record_key(options_.prefix, key); }
  const RedisOptions& options() const { return options_; }
  StoreCounters counters() const;

  // Overridable clock (tests): Unix seconds.
  void set_clock(std::function<uint32_t()> clock) { clock_ = std::move(clock); }

 private:
  struct Node;
  class Lease;
  Lease acquire(const RedisAddress& a);
  RedisAddress route(uint16_t slot);
  void refresh_slots(bool force);
  Reply script(const std::string& key, const char* body, const std::string& sha, std::vector<std::string> args);
  StoreStatus versioned_write(const SessionKey& key, const std::string& value, uint32_t expiry);
  StoreResult read(const SessionKey& key, bool consume);
  uint32_t now() const;

  RedisOptions options_;
  std::string script_sha_, take_sha_;
  std::function<uint32_t()> clock_;
  mutable std::mutex mu_;  // nodes_, slots_, refresh time
  std::map<std::string, std::unique_ptr<Node>> nodes_;
  SlotMap slots_;
  std::chrono::steady_clock::time_point last_refresh_{};
  std::atomic<bool> refresh_due_{true};
  struct Atomics;
  std::unique_ptr<Atomics> n_;
};

}  // namespace sessnic::redis
