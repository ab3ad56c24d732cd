// The transfer path's latency measures (issue 14): a request leaves from the thread that
// made it (send_from_caller), the pump runs at real-time priority when asked
// (pump_realtime), the hop histograms fill, and the latency histogram
// itself reports percentiles within its bucket resolution. Real UDP on 127.0.0.1.
#include <dirent.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <cstdlib>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "sessnic/backplane/latency_histogram.hpp"
#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sim_cluster.hpp"
#include "udp_pair.hpp"

namespace sessnic::backplane::test {
namespace {

using namespace std::chrono_literals;

using Pair = UdpPair;

// Cards 1 and 2 on UDP, started and connected; `tweak` adjusts both configs.
Pair connected_pair(Mode mode, const std::function<void(NodeConfig&)>& tweak = {}) {
  NodeConfig a, b;
  a.mode = b.mode = mode;
  a.cluster_key = b.cluster_key = test_cluster_key();
  if (tweak) tweak(a), tweak(b);
  Pair p = make_udp_pair(a, b);
  EXPECT_TRUE(p.a->wait_for_peers(5000ms) && p.b->wait_for_peers(5000ms));
  return p;
}

constexpr uint8_t kHere = static_cast<uint8_t>(wire::BpConst::BROADCAST);  // transfer owner: this card

// Card 1's pump is stopped: only the thread that asks for the transfer can put its
// TRANSFER frame on the wire. Card 2 (pump running) applies it; card 1 never hears the
// outcome (nobody reads its socket), so its answer is FAILED at the deadline.
bool transfer_lands_without_the_pump(bool send_from_caller) {
  Pair p = connected_pair(Mode::transfer, [&](NodeConfig& c) { c.send_from_caller = send_from_caller; });
  std::mt19937_64 rng(41);
  const SessionKey k = random_key(rng);
  EXPECT_TRUE(p.dev_a->put(k, random_blob(rng, 120), future_expiry()).ok());
  p.a->stop();
  EXPECT_EQ(p.dev_a->transfer(k, 2, kHere, 150ms).status, wire::Status::FAILED);
  return eventually([&] { return p.dev_b->export_entry(k).status == wire::Status::OK; }, 1s);
}

TEST(backplane_transfer_path, RequestLeavesFromTheCallersThread) {
  EXPECT_TRUE(transfer_lands_without_the_pump(true));
  // The old path (documented option): the frame waits for the pump, which is stopped.
  EXPECT_FALSE(transfer_lands_without_the_pump(false));
}

TEST(backplane_transfer_path, CallerSendsAreCountedAndTransfersComplete) {
  Pair p = connected_pair(Mode::transfer);
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20; ++i) {
    const SessionKey k = random_key(rng);
    ASSERT_TRUE(p.dev_a->put(k, random_blob(rng, 100), future_expiry()).ok());
    ASSERT_EQ(p.dev_a->transfer(k, 2, kHere, 2s).status, wire::Status::OK) << i;
  }
  const NodeStats a = p.a->stats(), b = p.b->stats();
  // The TRANSFERs left from the caller; a pump that happened to be running (an ack, a
  // HELLO) may take one first, which costs no hand-off either.
  EXPECT_GE(a.caller_sends, 10u);
  // Both pumps measured their hops: datagrams waited in the socket, and card 2 answered
  // each TRANSFER with an outcome ACK (a turnaround).
  EXPECT_GE(a.socket_wait.count(), 20u);
  EXPECT_GE(b.socket_wait.count(), 20u);
  EXPECT_GE(b.turnaround.count(), 1u);
  EXPECT_GT(b.socket_wait.percentile_us(0.5), 0.0);
  EXPECT_LT(b.socket_wait.percentile_us(0.5), 1e6);
}

// Scheduling policy of every thread of this process whose policy is `policy`.
int threads_with_policy(int policy) {
  int n = 0;
  DIR* d = ::opendir("/proc/self/task");
  if (!d) return -1;
  while (dirent* e = ::readdir(d)) {
    const int tid = std::atoi(e->d_name);
    if (tid > 0 && ::sched_getscheduler(tid) == policy) ++n;
  }
  ::closedir(d);
  return n;
}

// Whether this process may use SCHED_FIFO at all (root or CAP_SYS_NICE / RLIMIT_RTPRIO).
bool realtime_permitted() {
  bool ok = false;
  std::thread t([&] {
    sched_param sp{};
    sp.sched_priority = 1;
    ok = ::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &sp) == 0;
  });
  t.join();
  return ok;
}

TEST(backplane_transfer_path, PumpRunsRealTimeOnlyWhenAsked) {
  if (!realtime_permitted()) GTEST_SKIP() << "this process may not use SCHED_FIFO (no CAP_SYS_NICE)";
  const int before = threads_with_policy(SCHED_FIFO);
  {
    Pair p = connected_pair(Mode::transfer, [](NodeConfig& n) { n.pump_realtime = true; });
    EXPECT_EQ(threads_with_policy(SCHED_FIFO), before + 2);  // both pumps
  }
  {
    Pair p = connected_pair(Mode::transfer);  // the default: normal priority
    EXPECT_EQ(threads_with_policy(SCHED_FIFO), before);
  }
}

// NodeConfig::ack_delay: a replicated PUT's UPDATE is owed a bare ack. Card 2 holds it
// (nothing else goes to card 1) and sends it when the delay runs out; the sender's
// retransmit timer (rto, far longer here) never fires. A frame card 2 sends to card 1
// meanwhile carries the ack instead, and the held one is dropped.
uint64_t acks_received(const BackplaneNode& n) {
  return n.stats().rx_frames_by_type[static_cast<std::size_t>(wire::FrameType::ACK)];
}

TEST(backplane_transfer_path, BareAcksWaitTheirDelayOrRideOnTheNextFrame) {
  Pair p = connected_pair(Mode::replicate, [](NodeConfig& n) {
    n.rto = 400ms;  // no retransmit while the ack is held
    n.ack_delay = 80ms;
  });
  std::mt19937_64 rng(43);
  const uint64_t acks0 = acks_received(*p.a);
  const auto t0 = std::chrono::steady_clock::now();
  // Three writes a few ms apart: card 2 owes three acks in turn; the newest replaces the
  // one held, and the one that goes is a well-formed frame.
  constexpr uint64_t kWrites = 3;
  for (uint64_t i = 1; i <= kWrites; ++i) {
    ASSERT_TRUE(p.dev_a->put(random_key(rng), random_blob(rng, 100), future_expiry()).ok());
    ASSERT_TRUE(eventually([&] { return p.b->stats().rx_frames_by_type[static_cast<std::size_t>(wire::FrameType::UPDATE)] >= i; }, 1s));
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(eventually([&] { return acks_received(*p.a) > acks0; }, 2s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 70ms);  // held, not sent at once
  EXPECT_EQ(p.b->stats().acks_delayed_sent, 1u);
  EXPECT_GE(p.b->stats().acks_superseded, 1u);
  EXPECT_EQ(p.a->stats().rx_rejected(), 0u);
  EXPECT_EQ(p.a->stats()[wire::BP_STATS_RETRANSMITS], 0u);

  // Card 1 writes again, and card 2 writes before card 2's ack is due: its UPDATE carries the ack.
  const uint64_t acks1 = acks_received(*p.a), superseded1 = p.b->stats().acks_superseded;
  ASSERT_TRUE(p.dev_a->put(random_key(rng), random_blob(rng, 100), future_expiry()).ok());
  ASSERT_TRUE(eventually([&] { return p.b->stats().rx_frames_by_type[static_cast<std::size_t>(wire::FrameType::UPDATE)] >= kWrites + 1; }, 1s));
  ASSERT_TRUE(p.dev_b->put(random_key(rng), random_blob(rng, 100), future_expiry()).ok());
  ASSERT_TRUE(eventually([&] { return p.b->stats().acks_superseded > superseded1; }, 1s));
  std::this_thread::sleep_for(150ms);  // past the delay: nothing more goes
  EXPECT_EQ(acks_received(*p.a), acks1);
  EXPECT_EQ(p.b->stats().acks_delayed_sent, 1u);
  EXPECT_EQ(p.a->stats()[wire::BP_STATS_RETRANSMITS], 0u);
}

TEST(backplane_transfer_path, AckDelayZeroSendsBareAcksAtOnce) {
  Pair p = connected_pair(Mode::replicate, [](NodeConfig& n) {
    n.rto = 400ms;
    n.ack_delay = 0us;
  });
  std::mt19937_64 rng(44);
  const uint64_t acks0 = acks_received(*p.a);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(p.dev_a->put(random_key(rng), random_blob(rng, 100), future_expiry()).ok());
  ASSERT_TRUE(eventually([&] { return acks_received(*p.a) > acks0; }, 2s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 300ms);  // not held up to the retransmit timer
  EXPECT_EQ(p.b->stats().acks_delayed_sent + p.b->stats().acks_superseded, 0u);
}

// A UdpTransport whose send() holds the thread named in `block` inside it until `release`
// (a caller preempted in its sendmmsg), and which counts sends that overlap.
class GatedTransport : public Transport {
 public:
  explicit GatedTransport(std::unique_ptr<UdpTransport> inner) : inner_(std::move(inner)) {}
  void send(std::span<const Datagram> batch) override {
    const int now_in = ++inside_;
    if (now_in > 1) overlapped_ = true;
    {
      std::unique_lock lock(mu_);
      if (block_ == std::this_thread::get_id()) {
        blocked_ = true;
        cv_.notify_all();
        cv_.wait(lock, [&] { return block_ != std::this_thread::get_id(); });
      }
    }
    inner_->send(batch);
    --inside_;
  }
  void receive(std::vector<std::vector<uint8_t>>& out, std::size_t max, std::chrono::microseconds timeout) override {
    inner_->receive(out, max, timeout);
  }
  void wake() override { inner_->wake(); }
  void wake_at(uint64_t host_us) override { inner_->wake_at(host_us); }
  void forget_wake_at() override { inner_->forget_wake_at(); }

  void block(std::thread::id t) {
    std::lock_guard lock(mu_);
    block_ = t;
  }
  bool wait_blocked(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, d, [&] { return blocked_; });
  }
  void release() {
    std::lock_guard lock(mu_);
    block_ = {};
    cv_.notify_all();
  }
  bool overlapped() const { return overlapped_; }

 private:
  std::unique_ptr<UdpTransport> inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread::id block_;
  bool blocked_ = false;
  std::atomic<int> inside_{0};
  std::atomic<bool> overlapped_{false};
};

// A caller's send (send_from_caller) stuck in the syscall does not stop the pump: the
// pump keeps receiving and taking the card's frames, which leave after the caller's, in
// order, from the sending thread. (Before, pump_out held the send lock across the send:
// the pump - and stats() - waited for the caller.)
TEST(backplane_transfer_path, APumpDoesNotWaitForACallerInsideItsSend) {
  NodeConfig a, b;
  a.mode = b.mode = Mode::transfer;
  a.cluster_key = b.cluster_key = test_cluster_key();
  a.hello_interval = b.hello_interval = 5ms;  // traffic to card 1 while its caller is stuck
  GatedTransport* gated = nullptr;
  UdpPair p = make_udp_pair(a, b, TableGeometry::small, [&](std::unique_ptr<UdpTransport> inner) {
    auto g = std::make_unique<GatedTransport>(std::move(inner));
    gated = g.get();
    return g;
  });
  GatedTransport& gate = *gated;
  Device* dev_a = p.dev_a.get();
  Device* dev_b = p.dev_b.get();
  BackplaneNode& node_a = *p.a;
  BackplaneNode& node_b = *p.b;
  ASSERT_TRUE(node_a.wait_for_peers(5000ms) && node_b.wait_for_peers(5000ms));

  std::mt19937_64 rng(45);
  const SessionKey k = random_key(rng);
  ASSERT_TRUE(dev_a->put(k, random_blob(rng, 120), future_expiry()).ok());
  Response moved;
  std::thread caller([&] {
    gate.block(std::this_thread::get_id());
    moved = dev_a->transfer(k, 2, kHere, 2s);  // its TRANSFER leaves from this thread
  });
  ASSERT_TRUE(gate.wait_blocked(2s));
  // The caller is inside send(). The pump goes on: it hears card 2's HELLOs (stats()
  // takes the send lock too, so ask from a thread that cannot hang the test).
  std::vector<std::thread> askers;  // joined once the caller is let go
  auto rx_now = [&] {
    auto got = std::make_shared<std::promise<uint64_t>>();
    std::future<uint64_t> f = got->get_future();
    askers.emplace_back([&node_a, got] { got->set_value(node_a.stats().rx_datagrams); });
    return f.wait_for(1s) == std::future_status::ready ? std::optional<uint64_t>(f.get()) : std::nullopt;
  };
  const std::optional<uint64_t> rx0 = rx_now();
  std::optional<uint64_t> rx1 = rx0;
  // Card 2's HELLOs come every 16th hello interval once both are up (80 ms).
  for (int i = 0; i < 100 && rx0 && rx1 && *rx1 == *rx0; ++i) {
    std::this_thread::sleep_for(10ms);
    rx1 = rx_now();
  }
  gate.release();
  caller.join();
  for (auto& t : askers) t.join();
  ASSERT_TRUE(rx0 && rx1) << "stats() waited for the caller's send";
  EXPECT_GT(*rx1, *rx0) << "the pump waited for the caller's send";
  EXPECT_EQ(moved.status, wire::Status::OK);
  EXPECT_TRUE(eventually([&] { return dev_b->export_entry(k).status == wire::Status::OK; }, 1s));
  EXPECT_FALSE(gate.overlapped());
  // The pump's frames made meanwhile (HELLOs, acks) left in order: card 2 saw no gap
  // that needed a retransmit, and the cards stay up.
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(node_b.stats().rx_rejected(), 0u);
  EXPECT_TRUE(node_a.peer_up(2) && node_b.peer_up(1));
}

TEST(backplane_latency_histogram, PercentilesWithinTheBucketResolution) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile_us(0.5), 0.0);
  for (int i = 1; i <= 1000; ++i) h.add_us(i);  // 1..1000 us, uniform
  EXPECT_EQ(h.count(), 1000u);
  const double p50 = h.percentile_us(0.5), p99 = h.percentile_us(0.99);
  // Upper bucket edges: at most a quarter octave (19%) above the true value.
  EXPECT_GE(p50, 500.0);
  EXPECT_LE(p50, 500.0 * 1.19);
  EXPECT_GE(p99, 990.0);
  EXPECT_LE(p99, 990.0 * 1.19);
  LatencyHistogram far;
  far.add_us(0);       // a stamp from the future (clock step): counted, in the first bucket
  far.add_us(-5);
  far.add_us(1e12);    // beyond the last bucket: clamped
  EXPECT_EQ(far.count(), 3u);
  EXPECT_GT(far.percentile_us(1.0), 1e6);
  LatencyHistogram rebuilt;  // as a card process's report is read back
  for (std::size_t b = 0; b < LatencyHistogram::kBuckets; ++b) rebuilt.add_bucket(b, h.buckets()[b]);
  EXPECT_EQ(rebuilt.count(), h.count());
  EXPECT_EQ(rebuilt.percentile_us(0.99), p99);
}

}  // namespace
}  // namespace sessnic::backplane::test
