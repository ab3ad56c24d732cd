#include "sessnic/backplane/sim_link.hpp"

#include <algorithm>
#include <functional>

namespace sessnic::backplane {
namespace {

class SimEndpoint final : public Transport {
 public:
  SimEndpoint(std::shared_ptr<SimNetwork> net, uint8_t card, uint64_t generation)
      : net_(std::move(net)), card_(card), generation_(generation) {}
  void send(std::span<const Datagram> batch) override { net_->send_from(card_, batch); }
  void receive(std::vector<std::vector<uint8_t>>& out, std::size_t max, std::chrono::microseconds timeout) override {
    net_->receive_at(card_, generation_, out, max, timeout);
  }
  void wake() override { net_->wake(card_); }

 private:
  std::shared_ptr<SimNetwork> net_;
  uint8_t card_;
  uint64_t generation_;
};

}  // namespace

std::shared_ptr<SimNetwork> SimNetwork::create(SimLinkOptions options) {
  return std::shared_ptr<SimNetwork>(new SimNetwork(options));
}

SimNetwork::SimNetwork(SimLinkOptions options) : opt_(options), rng_(options.seed) {}

std::unique_ptr<Transport> SimNetwork::attach(uint8_t card) {
  std::lock_guard lock(mu_);
  Inbox& in = inbox_[card];
  ++in.generation;
  in.heap.clear();
  return std::make_unique<SimEndpoint>(shared_from_this(), card, in.generation);
}

void SimNetwork::set_partitioned(uint8_t card, bool cut) {
  std::lock_guard lock(mu_);
  inbox_[card].cut = cut;
  if (cut) inbox_[card].heap.clear();
}

void SimNetwork::set_options(const SimLinkOptions& options) {
  std::lock_guard lock(mu_);
  opt_ = options;
}

SimLinkCounters SimNetwork::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void SimNetwork::enqueue(uint8_t dst, const std::vector<uint8_t>& bytes) {
  auto it = inbox_.find(dst);
  if (it == inbox_.end()) return;  // nobody there: like a closed port
  Inbox& in = it->second;
  if (in.cut) {
    ++counters_.cut;
    return;
  }
  std::uniform_real_distribution<double> u(0.0, 1.0);
  if (u(rng_) < opt_.loss) {
    ++counters_.lost;
    return;
  }
  const int copies = u(rng_) < opt_.duplicate ? 2 : 1;
  if (copies == 2) ++counters_.duplicated;
  for (int c = 0; c < copies; ++c) {
    InFlight f{Clock::now() + opt_.delay, ++order_, bytes};
    if (u(rng_) < opt_.reorder) {
      ++counters_.reordered;
      f.at += std::chrono::microseconds(
          std::uniform_int_distribution<int64_t>(1, std::max<int64_t>(1, opt_.reorder_delay.count()))(rng_));
    }
    if (!f.bytes.empty() && u(rng_) < opt_.corrupt) {
      ++counters_.corrupted;
      const std::size_t i = std::uniform_int_distribution<std::size_t>(0, f.bytes.size() - 1)(rng_);
      f.bytes[i] ^= static_cast<uint8_t>(1u << std::uniform_int_distribution<int>(0, 7)(rng_));
    }
    in.heap.push_back(std::move(f));
    std::push_heap(in.heap.begin(), in.heap.end(), std::greater<>());
  }
}

void SimNetwork::send_from(uint8_t src, std::span<const Datagram> batch) {
  {
    std::lock_guard lock(mu_);
    if (inbox_[src].cut) {
      counters_.cut += batch.size();
      return;
    }
    for (const Datagram& d : batch) {
      ++counters_.sent;
      if (tap_) tap_(src, d);
      if (d.dst == static_cast<uint8_t>(wire::BpConst::BROADCAST)) {
        for (auto& [card, in] : inbox_)
          if (card != src) enqueue(card, d.bytes);
      } else {
        enqueue(d.dst, d.bytes);
      }
    }
  }
  cv_.notify_all();
}

void SimNetwork::receive_at(uint8_t card, uint64_t generation, std::vector<std::vector<uint8_t>>& out,
                            std::size_t max, std::chrono::microseconds timeout) {
  std::unique_lock lock(mu_);
  const Clock::time_point until = Clock::now() + timeout;
  for (;;) {
    Inbox& in = inbox_[card];
    if (in.generation != generation) return;  // replaced by a restarted card
    const Clock::time_point now = Clock::now();
    std::size_t n = 0;
    while (n < max && !in.heap.empty() && in.heap.front().at <= now) {
      std::pop_heap(in.heap.begin(), in.heap.end(), std::greater<>());
      out.push_back(std::move(in.heap.back().bytes));
      in.heap.pop_back();
      ++counters_.delivered;
      ++n;
    }
    if (n > 0 || in.woken || now >= until) {
      in.woken = false;
      return;
    }
    Clock::time_point wait_until = until;
    if (!in.heap.empty() && in.heap.front().at < wait_until) wait_until = in.heap.front().at;
    cv_.wait_until(lock, wait_until);
  }
}

void SimNetwork::set_tap(Tap tap) {
  std::lock_guard lock(mu_);
  tap_ = std::move(tap);
}

void SimNetwork::inject(uint8_t dst, std::vector<uint8_t> bytes) {
  {
    std::lock_guard lock(mu_);
    auto it = inbox_.find(dst);
    if (it == inbox_.end()) return;
    it->second.heap.push_back(InFlight{Clock::now(), ++order_, std::move(bytes)});
    std::push_heap(it->second.heap.begin(), it->second.heap.end(), std::greater<>());
  }
  cv_.notify_all();
}

void SimNetwork::wake(uint8_t card) {
  {
    std::lock_guard lock(mu_);
    inbox_[card].woken = true;
  }
  cv_.notify_all();
}

}  // namespace sessnic::backplane
