// An in-process backplane for tests: every attached card gets a Transport whose
// datagrams go through one shared, deliberately bad link (seeded, so a failing run
// can be replayed): loss, duplication, reordering (an extra random delay) and
// corruption (one flipped byte, which the MAC must catch). Cards can be cut off
// (partitioned) to model a dead or restarting card.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "sessnic/backplane/transport.hpp"
#include "wire/sessnic_wire.hpp"

namespace sessnic::backplane {

struct SimLinkOptions {
  double loss = 0.0;       // probability a datagram is dropped
  double duplicate = 0.0;  // probability it is delivered twice
  double reorder = 0.0;    // probability it gets an extra random delay
  double corrupt = 0.0;    // probability one byte is flipped
  std::chrono::microseconds delay{20};          // base one-way delay
  std::chrono::microseconds reorder_delay{800};  // max extra delay of a reordered datagram
  uint64_t seed = 1;
};

struct SimLinkCounters {
  uint64_t sent = 0, delivered = 0, lost = 0, duplicated = 0, reordered = 0, corrupted = 0, cut = 0;
};

class SimNetwork : public std::enable_shared_from_this<SimNetwork> {
 public:
  static std::shared_ptr<SimNetwork> create(SimLinkOptions options);

  // The transport of card `card`; replaces an earlier one of the same card (restart).
  std::unique_ptr<Transport> attach(uint8_t card);
  // A partitioned card neither sends nor receives (everything is dropped and counted).
  void set_partitioned(uint8_t card, bool cut);
  void set_options(const SimLinkOptions& options);
  SimLinkCounters counters() const;
  // Test hooks: `tap` sees every datagram a card sends (before any fault is applied);
  // inject() delivers raw bytes to a card as if they came off the link (no faults).
  using Tap = std::function<void(uint8_t src, const Datagram&)>;
  void set_tap(Tap tap);
  void inject(uint8_t dst, std::vector<uint8_t> bytes);

  // Used by the endpoints.
  void send_from(uint8_t src, std::span<const Datagram> batch);
  void receive_at(uint8_t card, uint64_t generation, std::vector<std::vector<uint8_t>>& out, std::size_t max,
                  std::chrono::microseconds timeout);
  void wake(uint8_t card);

 private:
  explicit SimNetwork(SimLinkOptions options);
  using Clock = std::chrono::steady_clock;
  struct InFlight {
    Clock::time_point at;
    uint64_t order;
    std::vector<uint8_t> bytes;
    bool operator>(const InFlight& o) const { return at != o.at ? at > o.at : order > o.order; }
  };
  struct Inbox {
    uint64_t generation = 0;
    bool cut = false;
    bool woken = false;
    std::vector<InFlight> heap;  // min-heap by delivery time
  };
  void enqueue(uint8_t dst, const std::vector<uint8_t>& bytes);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  SimLinkOptions opt_;
  std::mt19937_64 rng_;
  std::map<uint8_t, Inbox> inbox_;
  uint64_t order_ = 0;
  SimLinkCounters counters_;
  Tap tap_;
};

}  // namespace sessnic::backplane
