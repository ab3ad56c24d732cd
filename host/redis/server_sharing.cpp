#include "server_sharing.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <ctime>

#include "redis_options.hpp"
#include "sessnic/attach.hpp"
#include "sessnic/session_identity.hpp"

namespace sessnic::redis {

ServerSharing::ServerSharing(const config::ClusterConfig& cfg, Device& card)
    : card_(card),
      ctx_id_(session_id_context(cfg.tls.session_context)[0]),
      session_timeout_s_(cfg.tls.session_timeout_s) {
  RedisOptions o = redis_options(*cfg.redis);
  pull_deadline_ = o.io_timeout;
  store_ = std::make_unique<RedisStore>(o);
  std::vector<std::string> where;
  for (const auto& a : o.addresses) where.push_back(a.str());
  description_ = fmt::format("redis {} {}{}", o.cluster ? "cluster" : "server", fmt::join(where, ","), o.tls ? " (TLS)" : "");
  try {
    store_->check_reachable();
  } catch (const Unreachable& e) {
    if (o.on_unreachable == OnUnreachable::fail)
      throw Unreachable(std::string(e.what()) + " (redis.on_unreachable = \"fail\"; \"degraded\" starts without it)");
    spdlog::warn("{}; starting degraded: sessions stay on this card until Redis answers", e.what());
  }
  workers_ = std::make_unique<Workers>(o.threads, o.max_pending);
  write_through_ = std::make_unique<WriteThroughDevice>(card_, *store_, *workers_);
}

ServerSharing::~ServerSharing() {
  lookups_.clear();  // no new fetches
  workers_.reset();  // finishes queued writes and fetches (each bounded by the timeouts)
}

void ServerSharing::install(SSL_CTX* ctx) {
  lookups_.push_back(HelloLookup::install(ctx, [this](const HelloLookupRequest& r, std::function<void()> done) {
    fetch(r, std::move(done));
  }));
}

void ServerSharing::fetch(const HelloLookupRequest& req, std::function<void()> done) {
  const SessionKey key = SessionKey::make(req.session_id, ctx_id_);
  // TLS 1.2: multi-use; the card serves what it has. (GET does not consume a 1.2 entry.)
  if (!req.tls13 && card_.get(key).ok()) {
    card_hits_.fetch_add(1, std::memory_order_relaxed);
    return done();
  }
  const bool queued = workers_->submit([this, key, id = req.session_id, tls13 = req.tls13, done] {
    const StoreResult r = tls13 ? store_->take(key) : store_->get(key);
    if (r.status == StoreStatus::ok) {
      // A versioned import: the card keeps whichever version is newer; not written back.
      card_.put(key, r.record.blob, r.record.expiry, r.record.flags, r.record.version);
      fetched_.fetch_add(1, std::memory_order_relaxed);
    } else if (r.status == StoreStatus::deleted) {
      // Taken elsewhere (a ticket) or removed: a copy on this card must not serve it again.
      taken_elsewhere_.fetch_add(1, std::memory_order_relaxed);
      card_.del(key, static_cast<uint32_t>(std::time(nullptr)) + session_timeout_s_);
    } else if (r.status == StoreStatus::miss) {
      on_redis_miss(key, id, tls13);
    } else {
      unavailable_.fetch_add(1, std::memory_order_relaxed);
    }
    done();
  });
  if (!queued) {
    busy_.fetch_add(1, std::memory_order_relaxed);
    done();
  }
}

// Redis has nothing: not written through yet (the client came here the moment it had
// its session), expired, or lost by Redis. The card that made the session may hold it.
void ServerSharing::on_redis_miss(const SessionKey& key, const std::vector<uint8_t>& session_id, bool tls13) {
  Response have = card_.export_entry(key);  // a look without consuming
  const std::optional<uint8_t> owner = identity::owner_hint(session_id);
  if (!have.ok() && owner && identity::valid_card(*owner) && *owner != card_.card_id()) {
    // A copy over the backplane; an owner that is down or not a member answers at once.
    if (card_.pull(key, *owner, pull_deadline_).ok()) {
      pulled_from_owner_.fetch_add(1, std::memory_order_relaxed);
      have = card_.export_entry(key);
    }
  }
  if (!have.ok()) {
    not_in_redis_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // A TLS 1.3 ticket this card is about to use: its tombstone in Redis, same version, so
  // the write-through still in flight lands as stale instead of offering the ticket again.
  // Had the write landed in between, the tombstone of the same version changes nothing:
  // the take after it turns that copy into the tombstone.
  if (tls13 && have.version != 0 && store_->tombstone(key, have.version, have.expiry) == StoreStatus::ok) {
    (void)store_->take(key);
    fenced_.fetch_add(1, std::memory_order_relaxed);
  }
}

std::string ServerSharing::description() const { return description_; }

std::string ServerSharing::metrics_text() const {
  const StoreCounters s = store_->counters();
  const WriteThroughCounters w = write_through_->counters();
  std::string t;
  auto counter = [&t](const char* name, const char* help, std::initializer_list<std::pair<const char*, uint64_t>> v) {
    t += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    for (auto& [label, n] : v)
      t += label[0] ? fmt::format("{}{{{}}} {}\n", name, label, n) : fmt::format("{} {}\n", name, n);
  };
  counter("sessnic_redis_store_ops_total", "Redis store operations by kind and outcome",
          {{"op=\"put\",outcome=\"ok\"", s.puts}, {"op=\"put\",outcome=\"stale\"", s.put_stale},
           {"op=\"put\",outcome=\"refused\"", s.refused}, {"op=\"get\",outcome=\"all\"", s.gets},
           {"op=\"get\",outcome=\"hit\"", s.get_hits}, {"op=\"take\",outcome=\"all\"", s.takes},
           {"op=\"take\",outcome=\"hit\"", s.take_hits}, {"op=\"tombstone\",outcome=\"ok\"", s.tombstones}});
  counter("sessnic_redis_unavailable_total", "operations that found Redis unreachable, timed out or failing", {{"", s.unavailable}});
  counter("sessnic_redis_redirections_total", "Redis Cluster redirections followed",
          {{"kind=\"moved\"", s.moved}, {"kind=\"ask\"", s.ask}});
  counter("sessnic_redis_connects_total", "connections opened / failed",
          {{"result=\"ok\"", s.connects - s.connect_failures}, {"result=\"failed\"", s.connect_failures}});
  counter("sessnic_redis_write_through_total", "new sessions written through",
          {{"result=\"written\"", w.written}, {"result=\"failed\"", w.failed}, {"result=\"dropped\"", w.dropped}});
  counter("sessnic_redis_lookups_total", "ClientHello lookups",
          {{"result=\"card_hit\"", card_hits_.load()}, {"result=\"fetched\"", fetched_.load()},
           {"result=\"not_in_redis\"", not_in_redis_.load()}, {"result=\"deleted\"", taken_elsewhere_.load()}, {"result=\"unavailable\"", unavailable_.load()},
           {"result=\"busy\"", busy_.load()}, {"result=\"pulled_from_owner\"", pulled_from_owner_.load()}});
  counter("sessnic_redis_tickets_fenced_total",
          "TLS 1.3 tickets Redis did not have yet, tombstoned there before this card used them", {{"", fenced_.load()}});
  uint64_t deferred = 0;
  for (const auto& l : lookups_) deferred += l->counters().deferred;
  counter("sessnic_redis_handshakes_deferred_total", "handshakes paused (SSL_CLIENT_HELLO_RETRY) for a fetch", {{"", deferred}});
  return t;
}

}  // namespace sessnic::redis
