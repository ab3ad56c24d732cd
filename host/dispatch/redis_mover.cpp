#include "redis_mover.hpp"

#include <spdlog/spdlog.h>

#include <mutex>

#include "backplane_nodes.hpp"
#include "redis_options.hpp"
#include "sessnic/attach.hpp"
#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sessnic/key_file.hpp"
#include "sessnic/open_device.hpp"
#include "sessnic/redis/store.hpp"
#include "sessnic/redis/workers.hpp"

namespace sessnic::dispatch {
namespace {

using Clock = std::chrono::steady_clock;

MoveResult result_of(const Response& r) {
  if (r.status == wire::Status::OK) return MoveResult::moved;
  if (r.status == wire::Status::MISS || r.status == wire::Status::EXPIRED) return MoveResult::not_found;
  return MoveResult::failed;
}

class RedisMover : public SessionMover {
 public:
  RedisMover(const config::ClusterConfig& cfg, std::chrono::milliseconds peer_wait)
      : ctx_(session_id_context(cfg.tls.session_context)[0]) {
    const redis::RedisOptions o = redis::redis_options(*cfg.redis);
    store_ = std::make_unique<redis::RedisStore>(o);
    try {
      store_->check_reachable();
    } catch (const redis::Unreachable& e) {
      if (o.on_unreachable == redis::OnUnreachable::fail)
        throw redis::Unreachable(std::string(e.what()) + " (redis.on_unreachable = \"fail\")");
      spdlog::warn("{}; starting degraded: transfers come from the servers' cards until Redis answers", e.what());
    }
    auto keys = load_key_file(cfg.key_file);
    auto nc = config::node_config(cfg, cfg.dispatcher.card, keys);
    card_ = nc.card_id;
    nc.direct_answers = false;  // the dispatcher never waits on its thread for a PULL of its own
    // The dispatcher's table: where an entry fetched from Redis waits for its TRANSFER.
    DeviceConfig dc;
    dc.card_id = nc.card_id;
    table_ = open_device(dc);
    node_ = std::make_shared<backplane::BackplaneNode>(nc, *table_, std::make_unique<backplane::UdpTransport>(nc));
    node_->start();
    if (peer_wait.count() > 0 && !node_->wait_for_peers(peer_wait))
      spdlog::warn("not every backplane peer answered within {} ms; continuing", peer_wait.count());
    workers_ = std::make_unique<redis::Workers>(o.threads, o.max_pending);
  }
  ~RedisMover() override {
    workers_.reset();  // queued fetches finish (bounded by the Redis timeouts) before the node goes
    release();
  }

  void move(std::span<const uint8_t> id, uint8_t owner, uint8_t dest, std::chrono::microseconds budget,
            Done done) override {
    auto node = current();
    if (!node) return done(MoveResult::failed);
    const SessionKey key = SessionKey::make(id, ctx_);
    const auto deadline = Clock::now() + budget;
    const bool queued = workers_->submit([this, node, key, owner, dest, deadline, done] {
      const redis::StoreResult r = store_->get(key);
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
      if (left.count() <= 0) return done(MoveResult::failed);
      // Device::transfer blocks until the card answers (the card enforces the deadline);
      // this runs on a Redis worker, never on the dispatcher's io thread.
      if (r.status == redis::StoreStatus::ok &&
          table_->put(key, r.record.blob, r.record.expiry, r.record.flags, r.record.version).ok())
        return done(result_of(table_->transfer(key, dest, card_, left)));
      // Not in Redis (yet), or Redis unreachable: the card that made it still has it.
      done(result_of(table_->transfer(key, dest, owner, left)));
    });
    if (!queued) done(MoveResult::failed);  // workers saturated: a full handshake, never a blocked io thread
  }

  void release() override {
    std::shared_ptr<backplane::BackplaneNode> node;
    {
      std::lock_guard lock(mu_);
      node.swap(node_);
    }
    if (node) node->stop();
  }

 private:
  std::shared_ptr<backplane::BackplaneNode> current() {
    std::lock_guard lock(mu_);
    return node_;
  }

  uint8_t ctx_;
  uint8_t card_ = 0;
  std::unique_ptr<redis::RedisStore> store_;
  std::unique_ptr<Device> table_;
  std::mutex mu_;  // guards node_ (release() races with moves)
  std::shared_ptr<backplane::BackplaneNode> node_;
  std::unique_ptr<redis::Workers> workers_;
};

}  // namespace

std::shared_ptr<SessionMover> make_redis_mover(const config::ClusterConfig& cfg, std::chrono::milliseconds peer_wait) {
  return std::make_shared<RedisMover>(cfg, peer_wait);
}

}  // namespace sessnic::dispatch
