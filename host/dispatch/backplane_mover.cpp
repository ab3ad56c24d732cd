// The dispatcher as a card on the backplane: a passive card (no table) or, in hub mode
// when the dispatcher is the hub, the central repository. Moves are TRANSFER commands on
// that card (Device::transfer, relayed to the owner card); the backplane pump carries
// the card's frames over UDP.
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "backplane_nodes.hpp"
#include "make_mover.hpp"
#include "redis_mover.hpp"
#include "sessnic/attach.hpp"
#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sessnic/key_file.hpp"
#include "sessnic/open_device.hpp"
#include "sessnic/session_identity.hpp"

namespace sessnic::dispatch {
namespace {

// With a backplane pump (the model card, async_native()) a move is one transfer_async and
// no thread waits, and none is started. Otherwise threads wait on the card's TRANSFER
// answers: Device::transfer blocks, the proxy must not, so moves queue here. Each move takes
// one round trip (~0.1-1 ms on a LAN), so a few threads carry tens of thousands of moves per
// second.
constexpr unsigned kMoveThreads = 8;

class BackplaneMover : public SessionMover {
 public:
  BackplaneMover(const config::ClusterConfig& cfg, std::chrono::milliseconds peer_wait)
      : ctx_(identity::table_ctx(session_id_context(cfg.tls.session_context))) {
    auto keys = load_key_file(cfg.key_file);
    auto nc = config::node_config(cfg, cfg.dispatcher.card, keys);
    const bool repository = nc.mode == backplane::Mode::hub && nc.hub_card == nc.card_id;
    DeviceConfig dc;
    dc.card_id = nc.card_id;
    // The central repository holds every session; a passive card holds none (a tiny
    // table it never uses: the card top always has one).
    dc.geometry = repository ? TableGeometry::full : TableGeometry::tiny;
    nc.passive = !repository;
    nc.direct_answers = false;  // the dispatcher never waits on its thread for a PULL of its own
    card_ = open_device(dc);
    node_ = std::make_unique<backplane::BackplaneNode>(nc, *card_, std::make_unique<backplane::UdpTransport>(nc));
    node_->start();
    // Idle workers beside an asynchronous card are not free: they shared the condition
    // variable of the asynchronous answers, so every answer woke all eight (measured: ~300 us
    // of CPU per move on the 2-core machine, inside the client's handshake).
    if (!card_->async_native())
      for (unsigned i = 0; i < kMoveThreads; ++i) workers_.emplace_back([this] { work(); });
    // Servers start first (cluster up, tests); hearing from them before the first client
    // arrives makes the first transfer as fast as the rest. Not fatal if one is missing.
    if (peer_wait.count() > 0 && !node_->wait_for_peers(peer_wait))
      spdlog::warn("not every backplane peer answered within {} ms; continuing", peer_wait.count());
  }
  ~BackplaneMover() override { release(); }

  void move(std::span<const uint8_t> id, uint8_t owner, uint8_t dest, std::chrono::microseconds budget,
            Done done) override {
    if (card_->async_native()) {
      // No thread waits: the card's backplane pump delivers the answer.
      {
        std::lock_guard lock(mu_);
        if (released_) return done(MoveResult::failed);
        ++async_in_flight_;
      }
      card_->transfer_async(SessionKey::make(id, ctx_), dest, owner, budget, [this, done = std::move(done)](Response r) {
        done(result_of(r));
        std::lock_guard lock(mu_);
        if (--async_in_flight_ == 0 && released_) drained_.notify_all();
      });
      return;
    }
    {
      std::lock_guard lock(mu_);
      if (!released_) {
        jobs_.push_back(Job{SessionKey::make(id, ctx_), owner, dest, budget, std::move(done)});
        cv_.notify_one();
        return;
      }
    }
    done(MoveResult::failed);
  }

  void release() override {
    std::deque<Job> left;
    {
      std::lock_guard lock(mu_);
      if (released_) return;
      released_ = true;
      left.swap(jobs_);
    }
    cv_.notify_all();
    for (Job& j : left) j.done(MoveResult::failed);
    for (std::thread& t : workers_) t.join();  // moves in flight finish by their deadline
    {
      // Asynchronous ones too, answered by the pump (still running) by their deadline.
      std::unique_lock lock(mu_);
      drained_.wait_for(lock, std::chrono::seconds(5), [&] { return async_in_flight_ == 0; });
    }
    node_->stop();  // the UDP socket closes with the node
    node_.reset();
  }

 private:
  struct Job {
    SessionKey key;
    uint8_t owner, dest;
    std::chrono::microseconds budget;
    Done done;
  };

  void work() {
    for (;;) {
      Job j;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return released_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        j = std::move(jobs_.front());
        jobs_.pop_front();
      }
      j.done(result_of(card_->transfer(j.key, j.dest, j.owner, j.budget)));
    }
  }

  static MoveResult result_of(const Response& r) {
    if (r.status == wire::Status::OK) return MoveResult::moved;
    if (r.status == wire::Status::MISS || r.status == wire::Status::EXPIRED) return MoveResult::not_found;
    return MoveResult::failed;
  }

  uint8_t ctx_;
  std::unique_ptr<Device> card_;
  std::unique_ptr<backplane::BackplaneNode> node_;
  std::mutex mu_;  // guards jobs_, released_ and async_in_flight_
  std::condition_variable cv_;       // workers: a job, or released_
  std::condition_variable drained_;  // release(): the last asynchronous answer was delivered
  size_t async_in_flight_ = 0;  // transfer_async answers not delivered yet
  std::deque<Job> jobs_;
  bool released_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace

std::shared_ptr<SessionMover> make_mover(const config::ClusterConfig& cfg, std::chrono::milliseconds peer_wait) {
  if (!cfg.dispatcher.backplane) return nullptr;
  if (cfg.redis) return make_redis_mover(cfg, peer_wait);  // Redis is the central repository
  return std::make_shared<BackplaneMover>(cfg, peer_wait);
}

}  // namespace sessnic::dispatch
