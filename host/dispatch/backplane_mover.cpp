// The dispatcher as a backplane node: it holds no sessions itself (except the central
// repository in hub mode) and asks owner cards to move sessions to the chosen server.
#include <spdlog/spdlog.h>

#include <mutex>

#include "backplane_nodes.hpp"
#include "make_mover.hpp"
#include "redis_mover.hpp"
#include "sessnic/attach.hpp"
#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sessnic/key_file.hpp"
#include "sessnic/open_device.hpp"

namespace sessnic::dispatch {
namespace {

class BackplaneMover : public SessionMover {
 public:
  BackplaneMover(const config::ClusterConfig& cfg, std::chrono::milliseconds peer_wait)
      : ctx_(session_id_context(cfg.tls.session_context)[0]) {
    auto keys = load_key_file(cfg.key_file);
    auto nc = config::node_config(cfg, cfg.dispatcher.card, keys);
    if (nc.mode == backplane::Mode::hub && nc.hub_card == nc.card_id) {
      // The dispatcher's card is the central repository: give it a table.
      DeviceConfig dc;
      dc.card_id = nc.card_id;
      repository_ = open_device(dc);
    }
    node_ = std::make_shared<backplane::BackplaneNode>(nc, repository_.get(),
                                                       std::make_unique<backplane::UdpTransport>(nc));
    node_->start();
    // Servers start first (cluster up, tests); hearing from them before the first client
    // arrives makes the first transfer as fast as the rest. Not fatal if one is missing.
    if (peer_wait.count() > 0 && !node_->wait_for_peers(peer_wait))
      spdlog::warn("not every backplane peer answered within {} ms; continuing", peer_wait.count());
  }
  ~BackplaneMover() override { release(); }

  void move(std::span<const uint8_t> id, uint8_t owner, uint8_t dest, std::chrono::microseconds budget,
            Done done) override {
    std::shared_ptr<backplane::BackplaneNode> node;
    {
      std::lock_guard lock(mu_);
      node = node_;
    }
    if (!node) return done(MoveResult::failed);
    node->transfer_async(SessionKey::make(id, ctx_), owner, dest, budget, [done = std::move(done)](Response r) {
      if (r.status == wire::Status::OK) return done(MoveResult::moved);
      if (r.status == wire::Status::MISS || r.status == wire::Status::EXPIRED) return done(MoveResult::not_found);
      done(MoveResult::failed);
    });
  }

  void release() override {
    std::shared_ptr<backplane::BackplaneNode> node;
    {
      std::lock_guard lock(mu_);
      node.swap(node_);
    }
    if (!node) return;
    node->stop();  // pending moves answer failed; the UDP socket closes with the node
    node.reset();  // a move still holding a copy only finds it stopped
  }

 private:
  uint8_t ctx_;
  std::unique_ptr<Device> repository_;
  std::mutex mu_;  // guards node_ (release() races with moves from io threads)
  std::shared_ptr<backplane::BackplaneNode> node_;
};

}  // namespace

std::shared_ptr<SessionMover> make_mover(const config::ClusterConfig& cfg, std::chrono::milliseconds peer_wait) {
  if (!cfg.dispatcher.backplane) return nullptr;
  if (cfg.redis) return make_redis_mover(cfg, peer_wait);  // Redis is the central repository
  return std::make_shared<BackplaneMover>(cfg, peer_wait);
}

}  // namespace sessnic::dispatch
