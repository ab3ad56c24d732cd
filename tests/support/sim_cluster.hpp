// Test harness: N model cards (the HLS card top in-process), each with its backplane
// pump (BackplaneNode), joined by one SimNetwork (lossy on purpose). A tableless card
// (the dispatcher) is a passive card. Used by the backplane tests and by every other
// component's tests that need a cluster on the simulated link (target
// sessnic_test_sim_cluster).
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <thread>
#include <vector>

#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/sim_link.hpp"
#include "sessnic/open_device.hpp"

namespace sessnic::backplane::test {

using namespace std::chrono_literals;

inline std::array<uint8_t, 32> test_cluster_key() {
  std::array<uint8_t, 32> k{};
  for (unsigned i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(0xA5 ^ (i * 7));
  return k;
}

inline constexpr uint8_t kSelf = static_cast<uint8_t>(wire::BpConst::BROADCAST);  // transfer owner: this card

struct SimCard {
  std::unique_ptr<Device> dev;  // the card (passive for a tableless node: the dispatcher)
  std::unique_ptr<BackplaneNode> node;
  uint32_t epoch = 0;
  bool with_table = true;
};

class SimCluster {
 public:
  SimCluster(std::vector<uint8_t> table_cards, Mode mode, SimLinkOptions link, std::vector<uint8_t> tableless = {},
             uint8_t hub = 0)
      : net_(SimNetwork::create(link)), mode_(mode), hub_(hub) {
    members_ = table_cards;
    members_.insert(members_.end(), tableless.begin(), tableless.end());
    for (uint8_t c : table_cards) start(c, true, 100);
    for (uint8_t c : tableless) start(c, false, 100);
  }
  ~SimCluster() {
    for (auto& [c, card] : cards_) card.node->stop();
  }

  NodeConfig config(uint8_t card, uint32_t epoch, bool with_table) const {
    NodeConfig cfg;
    cfg.passive = !with_table;
    // A lossy link needs a few retransmissions (2 ms each) for a pull: allow 20 ms.
    cfg.pull_deadline = std::chrono::milliseconds(20);
    cfg.card_id = card;
    cfg.mode = mode_;
    cfg.hub_card = hub_;
    cfg.cluster_key = test_cluster_key();
    cfg.epoch = epoch;
    cfg.rto = std::chrono::microseconds(2000);
    cfg.hello_interval = std::chrono::microseconds(20000);
    cfg.max_retries = 12;
    for (uint8_t m : members_)
      if (m != card) cfg.peers.push_back(PeerAddress{m, "127.0.0.1", 0});
    return cfg;
  }

  void start(uint8_t card, bool with_table, uint32_t epoch) {
    SimCard sc;
    sc.epoch = epoch;
    sc.with_table = with_table;
    DeviceConfig dc;
    dc.card_id = card;
    dc.geometry = with_table ? TableGeometry::small : TableGeometry::tiny;
    sc.dev = make_model_device(dc);  // the model device only: no Verilator/XRT build needed
    sc.node = std::make_unique<BackplaneNode>(config(card, epoch, with_table), *sc.dev, net_->attach(card));
    sc.node->start();
    cards_[card] = std::move(sc);
  }

  // A restart: the node and its table are gone; a fresh, empty card with a larger epoch.
  void restart(uint8_t card) {
    const uint32_t epoch = cards_[card].epoch + 1;
    const bool with_table = cards_[card].with_table;
    cards_[card].node->stop();
    cards_.erase(card);
    start(card, with_table, epoch);
  }

  bool wait_connected(std::chrono::milliseconds d = std::chrono::milliseconds(5000)) {
    for (auto& [c, card] : cards_)
      if (!card.node->wait_for_peers(d)) return false;
    return true;
  }

  SimCard& operator[](uint8_t card) { return cards_.at(card); }
  SimNetwork& net() { return *net_; }
  std::shared_ptr<SimNetwork> net_ptr() { return net_; }
  std::map<uint8_t, SimCard>& cards() { return cards_; }

 private:
  std::shared_ptr<SimNetwork> net_;
  Mode mode_;
  uint8_t hub_;
  std::vector<uint8_t> members_;
  std::map<uint8_t, SimCard> cards_;
};

inline SessionKey random_key(std::mt19937_64& rng, uint8_t ctx = 1) {
  std::array<uint8_t, 32> id;
  for (auto& b : id) b = static_cast<uint8_t>(rng());
  return SessionKey::make(id, ctx);
}

inline std::vector<uint8_t> random_blob(std::mt19937_64& rng, std::size_t n) {
  std::vector<uint8_t> b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

inline uint32_t future_expiry() { return wall_clock_seconds() + 3600; }

// The bad link of the convergence tests: 10% lost, 5% duplicated, 10% reordered, 2%
// corrupted datagrams, chosen by `seed`.
inline SimLinkOptions lossy_link(uint64_t seed) {
  SimLinkOptions o;
  o.loss = 0.10;
  o.duplicate = 0.05;
  o.reorder = 0.10;
  o.corrupt = 0.02;
  o.seed = seed;
  return o;
}

// Writes `n` random sessions of `blob_len` bytes, the i-th on card writers[i % size],
// appending their keys to `keys`. A refused write is a fatal failure: call it inside
// ASSERT_NO_FATAL_FAILURE.
inline void put_random(SimCluster& c, const std::vector<uint8_t>& writers, std::mt19937_64& rng, int n,
                       std::size_t blob_len, std::vector<SessionKey>& keys, uint8_t flags = 0) {
  for (int i = 0; i < n; ++i) {
    keys.push_back(random_key(rng));
    const uint8_t card = writers[static_cast<std::size_t>(i) % writers.size()];
    ASSERT_TRUE(c[card].dev->put(keys.back(), random_blob(rng, blob_len), future_expiry(), flags).ok())
        << "write " << i << " on card " << int(card);
  }
}

// Whether `card` holds a live entry for `key` / for every one of `keys`.
inline bool holds(SimCluster& c, uint8_t card, const SessionKey& key) {
  return c[card].dev->export_entry(key).status == wire::Status::OK;
}
inline bool holds_all(SimCluster& c, uint8_t card, std::span<const SessionKey> keys) {
  for (const SessionKey& k : keys)
    if (!holds(c, card, k)) return false;
  return true;
}

// Polls `pred` until true or the deadline; returns its last value.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= until) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace sessnic::backplane::test
