// A sessnic-server's side of Redis as the central repository:
//  * its card is wrapped in a WriteThroughDevice: new sessions go to Redis asynchronously;
//  * a HelloLookup on its SSL_CTX: a ClientHello offering a session the card cannot serve
//    pauses the handshake (SSL_CLIENT_HELLO_RETRY) while a worker fetches the session
//    from Redis into the card, then OpenSSL finds it there.
//      TLS 1.2 id: a card hit goes on at once; a miss is fetched with GET.
//      TLS 1.3 ticket: always TAKEN from Redis (GETDEL leaving a tombstone), whether the
//      card holds a copy or not, so a ticket is used once cluster-wide: one Redis says was
//      taken (or any session it says was removed) is tombstoned on the card too (full
//      handshake).
//      Not in Redis (yet): the creating server's write-through may still be in flight
//      when a client moves the moment it has its session. The session is pulled over
//      the backplane from the card that made it (the id's owner hint) unless this card
//      holds it; a TLS 1.3 ticket the card is about to use gets its tombstone written to
//      Redis first, so the late write-through lands as stale and the ticket cannot be
//      taken a second time elsewhere. Redis unreachable: the card alone decides.
// Start-up: on_unreachable = fail refuses to start when Redis does not answer; degraded
// starts anyway (logged) and uses Redis once it answers.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "cluster_config.hpp"
#include "sessnic/device.hpp"
#include "sessnic/hello_lookup.hpp"
#include "sessnic/redis/store.hpp"
#include "sessnic/redis/workers.hpp"
#include "sessnic/redis/write_through_device.hpp"

namespace sessnic::redis {


class ServerSharing {
 public:
  // Throws Unreachable (on_unreachable = fail and no answer), std::runtime_error (password
  // file). `card` must outlive this object.
  ServerSharing(const config::ClusterConfig& cfg, Device& card);
  ~ServerSharing();

  Device& device() { return *write_through_; }  // give this to attach()
  // After attach(ctx, device(), ...): installs the ClientHello lookup on `ctx`.
  void install(SSL_CTX* ctx);
  std::string metrics_text() const;  // Prometheus text, sessnic_redis_*
  std::string description() const;
  RedisStore& store() { return *store_; }

 private:
  void fetch(const HelloLookupRequest& req, std::function<void()> done);
  void on_redis_miss(const SessionKey& key, const std::vector<uint8_t>& session_id, bool tls13);

  Device& card_;
  uint8_t ctx_id_;
  uint32_t session_timeout_s_;
  std::chrono::milliseconds pull_deadline_;  // a pull from the owner card: one Redis command's bound
  std::unique_ptr<RedisStore> store_;
  std::unique_ptr<Workers> workers_;
  std::unique_ptr<WriteThroughDevice> write_through_;
  std::vector<std::unique_ptr<HelloLookup>> lookups_;
  std::string description_;
  std::atomic<uint64_t> card_hits_{0}, fetched_{0}, not_in_redis_{0}, taken_elsewhere_{0}, unavailable_{0}, busy_{0};
  std::atomic<uint64_t> pulled_from_owner_{0}, fenced_{0};
};

}  // namespace sessnic::redis
