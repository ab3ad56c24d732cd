#include "sessnic/redis/store.hpp"

#include <fmt/format.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <stdexcept>

namespace sessnic::redis {
namespace {

using Clock = std::chrono::steady_clock;

// KEYS[1] = session key, ARGV[1] = encoded record (version first), ARGV[2] = EXAT.
// 1 = written, 2 = the same version is already there, 0 = a newer version is kept.
constexpr const char* kVersionedWrite = R"lua(
local cur = redis.call('GET', KEYS[1])
if cur then
  local have = string.sub(cur, 1, 16)
  local want = string.sub(ARGV[1], 1, 16)
  if have > want then return 0 end
  if have == want then return 2 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[2])
return 1
)lua";

// KEYS[1] = session key. GETDEL semantics, except that a live session leaves a tombstone
// of the same version (and the same TTL) in the same atomic step, so "taken" and "never written"
// stay distinguishable and a late copy of the ticket cannot come back.
constexpr const char* kTake = R"lua(
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 17, 17) == 'S' then
  redis.call('SET', KEYS[1], string.sub(v, 1, 16) .. 'T' .. string.sub(v, 18, 27), 'KEEPTTL')
end
return v
)lua";

std::string sha1_hex(std::string_view s) {
  unsigned char d[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  std::string out;
  for (unsigned char b : d) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace

const char* to_string(StoreStatus s) {
  switch (s) {
    case StoreStatus::ok: return "ok";
    case StoreStatus::miss: return "miss";
    case StoreStatus::deleted: return "deleted";
    case StoreStatus::stale: return "stale";
    case StoreStatus::refused: return "refused";
    case StoreStatus::unavailable: return "unavailable";
  }
  return "?";
}

struct RedisStore::Atomics {
  std::atomic<uint64_t> puts{0}, put_stale{0}, refused{0}, gets{0}, get_hits{0}, takes{0}, take_hits{0}, tombstones{0},
      unavailable{0}, moved{0}, ask{0}, slot_refreshes{0}, connects{0}, connect_failures{0}, malformed{0};
};

struct RedisStore::Node {
  RedisAddress addr;
  std::vector<std::unique_ptr<Connection>> idle;
  Clock::time_point down_until{};
  std::chrono::milliseconds backoff{0};
};

// A connection borrowed from a node's idle list; returned on destruction unless broken.
class RedisStore::Lease {
 public:
  Lease(RedisStore& s, Node& n, std::unique_ptr<Connection> c) : s_(s), n_(n), c_(std::move(c)) {}
  Lease(Lease&&) = default;
  ~Lease() {
    if (!c_) return;
    std::lock_guard lock(s_.mu_);
    if (c_->broken()) {
      // The node stopped answering mid-command: back off like a failed connect.
      n_.backoff = std::clamp(n_.backoff * 2, s_.options_.backoff_min, s_.options_.backoff_max);
      n_.down_until = Clock::now() + n_.backoff;
      for (auto& c : n_.idle) c.reset();  // their peer is likely gone too
      n_.idle.clear();
      s_.refresh_due_ = true;
      return;
    }
    n_.backoff = std::chrono::milliseconds(0);
    if (n_.idle.size() < s_.options_.max_idle_connections) n_.idle.push_back(std::move(c_));
  }
  Connection& operator*() { return *c_; }

 private:
  RedisStore& s_;
  Node& n_;
  std::unique_ptr<Connection> c_;
};

RedisStore::RedisStore(RedisOptions options)
    : options_(std::move(options)), script_sha_(sha1_hex(kVersionedWrite)), take_sha_(sha1_hex(kTake)), n_(std::make_unique<Atomics>()) {
  if (options_.addresses.empty()) throw std::invalid_argument("redis: no address configured");
  if (options_.backoff_min.count() <= 0) options_.backoff_min = std::chrono::milliseconds(1);
  if (options_.backoff_max < options_.backoff_min) options_.backoff_max = options_.backoff_min;
}

RedisStore::~RedisStore() = default;

uint32_t RedisStore::now() const {
  return clock_ ? clock_() : static_cast<uint32_t>(std::time(nullptr));
}

RedisStore::Lease RedisStore::acquire(const RedisAddress& a) {
  Node* node;
  {
    std::lock_guard lock(mu_);
    auto& slot = nodes_[a.str()];
    if (!slot) {
      slot = std::make_unique<Node>();
      slot->addr = a;
    }
    node = slot.get();
    if (Clock::now() < node->down_until) throw Unreachable("redis " + a.str() + ": down, backing off");
    if (!node->idle.empty()) {
      auto c = std::move(node->idle.back());
      node->idle.pop_back();
      return Lease(*this, *node, std::move(c));
    }
  }
  try {
    n_->connects++;
    auto c = std::make_unique<Connection>(a, options_);
    return Lease(*this, *node, std::move(c));
  } catch (const Unreachable&) {
    n_->connect_failures++;
    std::lock_guard lock(mu_);
    node->backoff = std::clamp(node->backoff * 2, options_.backoff_min, options_.backoff_max);
    node->down_until = Clock::now() + node->backoff;
    refresh_due_ = true;
    throw;
  }
}

void RedisStore::refresh_slots(bool force) {
  if (!options_.cluster) return;
  std::vector<RedisAddress> candidates;
  {
    std::lock_guard lock(mu_);
    // At most one refresh per 200 ms: with a master down, every command would ask again.
    if (!force && Clock::now() - last_refresh_ < std::chrono::milliseconds(200)) return;
    last_refresh_ = Clock::now();
    candidates = slots_.nodes();
    for (const auto& s : options_.addresses)
      if (std::find(candidates.begin(), candidates.end(), s) == candidates.end()) candidates.push_back(s);
  }
  for (const auto& a : candidates) {
    try {
      auto lease = acquire(a);
      Reply r = (*lease).run(RespCommand{"CLUSTER", "SLOTS"});
      std::lock_guard lock(mu_);
      if (slots_.load(r)) {
        n_->slot_refreshes++;
        refresh_due_ = false;
        return;
      }
    } catch (const Unreachable&) {
    }
  }
}

RedisAddress RedisStore::route(uint16_t slot) {
  if (!options_.cluster) return options_.addresses.front();
  if (refresh_due_) refresh_slots(false);
  std::lock_guard lock(mu_);
  if (auto o = slots_.owner(slot)) return *o;
  return options_.addresses.front();  // no map yet: a seed redirects us
}

Reply RedisStore::command(const std::string& key, const RespCommand& cmd) {
  RedisAddress target = route(key_slot(key));
  bool asking = false;
  for (int hop = 0; hop < 5; ++hop) {
    auto lease = acquire(target);
    Reply r;
    if (asking) {
      const RespCommand both[2] = {RespCommand{"ASKING"}, cmd};
      r = std::move((*lease).run(both).back());
    } else {
      r = (*lease).run(cmd);
    }
    if (options_.cluster && (r.error_is("MOVED") || r.error_is("ASK"))) {
      auto to = parse_redirect(r.str);
      if (!to) return r;
      if (r.error_is("MOVED")) {
        n_->moved++;
        std::lock_guard lock(mu_);
        slots_.set(to->slot, to->to);
        refresh_due_ = true;
        asking = false;
      } else {
        n_->ask++;
        asking = true;  // this one command only; the slot stays where it is until MOVED
      }
      target = to->to;
      continue;
    }
    return r;
  }
  throw Unreachable("redis: too many redirections for one key");
}

void RedisStore::check_reachable() {
  for (const auto& a : options_.addresses) {
    auto lease = acquire(a);
    Reply r = (*lease).run(RespCommand{"PING"});
    if (r.is_error()) throw Unreachable("redis " + a.str() + ": PING answered " + r.str);
  }
  if (options_.cluster) {
    refresh_slots(true);
    std::lock_guard lock(mu_);
    if (slots_.empty()) throw Unreachable("redis: cluster = true but no seed answered CLUSTER SLOTS");
  }
}

Reply RedisStore::script(const std::string& key, const char* body, const std::string& sha, std::vector<std::string> args) {
  RespCommand c{"EVALSHA", sha, "1", key};
  c.insert(c.end(), args.begin(), args.end());
  Reply r = command(key, c);
  if (!r.error_is("NOSCRIPT")) return r;
  c[0] = "EVAL";  // first use on this master: send the script itself (Redis caches it)
  c[1] = body;
  return command(key, c);
}

StoreStatus RedisStore::versioned_write(const SessionKey& key, const std::string& value, uint32_t expiry) {
  const std::string k = key_name(key);
  const std::string exat = std::to_string(expiry);
  try {
    Reply r = script(k, kVersionedWrite, script_sha_, {value, exat});
    if (r.type != Reply::Type::integer) {
      n_->unavailable++;
      return StoreStatus::unavailable;
    }
    if (r.integer == 0) {
      n_->put_stale++;
      return StoreStatus::stale;
    }
    return StoreStatus::ok;
  } catch (const Unreachable&) {
    n_->unavailable++;
    return StoreStatus::unavailable;
  }
}

StoreStatus RedisStore::put(const SessionKey& key, const Record& record) {
  if (record.tombstone || !looks_sealed(record.blob) || record.expiry <= now()) {
    n_->refused++;
    return StoreStatus::refused;
  }
  StoreStatus s = versioned_write(key, encode_record(record), record.expiry);
  if (s == StoreStatus::ok) n_->puts++;
  return s;
}

StoreStatus RedisStore::tombstone(const SessionKey& key, uint64_t version, uint32_t expiry) {
  if (expiry <= now()) expiry = now() + 1;  // still shadow any late copy for a moment
  Record t;
  t.version = version;
  t.tombstone = true;
  t.expiry = expiry;
  StoreStatus s = versioned_write(key, encode_record(t), expiry);
  if (s == StoreStatus::ok) n_->tombstones++;
  return s;
}

StoreResult RedisStore::read(const SessionKey& key, bool consume) {
  (consume ? n_->takes : n_->gets)++;
  const std::string k = key_name(key);
  try {
    Reply r = consume ? script(k, kTake, take_sha_, {}) : command(k, RespCommand{"GET", k});
    if (r.is_nil()) return {StoreStatus::miss, {}};
    if (r.type != Reply::Type::string) {
      n_->unavailable++;
      return {StoreStatus::unavailable, {}};
    }
    auto rec = decode_record(r.str);
    if (!rec) {
      n_->malformed++;
      return {StoreStatus::miss, {}};
    }
    if (rec->tombstone) return {StoreStatus::deleted, {}};
    if (rec->expiry <= now()) return {StoreStatus::miss, {}};
    (consume ? n_->take_hits : n_->get_hits)++;
    return {StoreStatus::ok, std::move(*rec)};
  } catch (const Unreachable&) {
    n_->unavailable++;
    return {StoreStatus::unavailable, {}};
  }
}

StoreResult RedisStore::get(const SessionKey& key) { return read(key, false); }
StoreResult RedisStore::take(const SessionKey& key) { return read(key, true); }

StoreCounters RedisStore::counters() const {
  StoreCounters c;
  c.puts = n_->puts;
  c.put_stale = n_->put_stale;
  c.refused = n_->refused;
  c.gets = n_->gets;
  c.get_hits = n_->get_hits;
  c.takes = n_->takes;
  c.take_hits = n_->take_hits;
  c.tombstones = n_->tombstones;
  c.unavailable = n_->unavailable;
  c.moved = n_->moved;
  c.ask = n_->ask;
  c.slot_refreshes = n_->slot_refreshes;
  c.connects = n_->connects;
  c.connect_failures = n_->connect_failures;
  c.malformed = n_->malformed;
  return c;
}

}  // namespace sessnic::redis
