#include "async_figures.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>

#include "alloc_count.hpp"
#include "bench_keys.hpp"
#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sessnic/open_device.hpp"

namespace sessnic::bench {
namespace {

using namespace sessnic::backplane;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kOps = 2000;
constexpr std::size_t kBlobBytes = 170;  // a sealed TLS 1.2 session without client cert
constexpr auto kDeadline = std::chrono::milliseconds(20);
constexpr auto kBudget = std::chrono::seconds(8);  // per series: the whole bench stays < 60 s

struct Card {
  std::unique_ptr<Device> dev;
  std::unique_ptr<BackplaneNode> node;
};

// Cards `ids` fully meshed over UDP; the first is passive (a dispatcher) when asked.
std::vector<Card> make_cluster(const std::vector<uint8_t>& ids, bool first_passive) {
  std::array<uint8_t, 32> key{};
  std::mt19937_64 rng(14);
  for (auto& x : key) x = static_cast<uint8_t>(rng());
  std::vector<NodeConfig> cfgs;
  std::vector<std::unique_ptr<UdpTransport>> transports;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    NodeConfig c;  // production defaults otherwise
    c.card_id = ids[i];
    c.mode = Mode::transfer;
    c.cluster_key = key;
    c.passive = first_passive && i == 0;
    cfgs.push_back(c);
    transports.push_back(std::make_unique<UdpTransport>(c));
  }
  for (std::size_t i = 0; i < ids.size(); ++i)
    for (std::size_t j = 0; j < ids.size(); ++j) {
      if (i == j) continue;
      const PeerAddress p{ids[j], "127.0.0.1", transports[j]->local_port()};
      cfgs[i].peers.push_back(p);
      transports[i]->set_peer(p);
    }
  std::vector<Card> cards(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    DeviceConfig dc;
    dc.card_id = ids[i];
    dc.geometry = cfgs[i].passive ? TableGeometry::tiny : TableGeometry::full;  // no evictions
    cards[i].dev = make_model_device(dc);
    cards[i].node = std::make_unique<BackplaneNode>(cfgs[i], *cards[i].dev, std::move(transports[i]));
    cards[i].node->start();
  }
  for (Card& c : cards)
    if (!c.node->wait_for_peers(std::chrono::milliseconds(5000))) {
      std::fprintf(stderr, "bench_backplane: in-process cluster did not connect over UDP\n");
      std::exit(1);
    }
  return cards;
}

// A completion's arrival: the completing thread stamps the time and wakes the bench.
struct Stamp {
  std::atomic<int> done{0};
  Clock::time_point at;
  bool ok = false;
  void set(const Response& r) {
    at = Clock::now();
    ok = r.status == wire::Status::OK;
    done.store(1, std::memory_order_release);
    done.notify_one();
  }
  void reset() { done.store(0, std::memory_order_relaxed); }
  void wait() { done.wait(0, std::memory_order_acquire); }
};

double us_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::micro>(b - a).count(); }

void measure_pulls(AsyncFigures& f, const std::vector<uint8_t>& blob, uint32_t expiry) {
  std::vector<Card> c = make_cluster({21, 22}, false);
  Device& a = *c[0].dev;
  Device& b = *c[1].dev;
  std::vector<SessionKey> keys;
  for (std::size_t i = 0; i < 2 * kOps + 200; ++i) {
    keys.push_back(bench_key(i, 0x2100));
    a.put(keys.back(), blob, expiry);
  }
  for (std::size_t i = 0; i < 200; ++i) b.pull(keys[i], 21, kDeadline);  // warm-up
  Stamp s;
  // Interleaved, so both see the same machine.
  const auto until = Clock::now() + kBudget;
  for (std::size_t i = 0; i < kOps && Clock::now() < until; ++i) {
    s.reset();
    const auto t0 = Clock::now();
    b.pull_async(keys[200 + 2 * i], 21, kDeadline, [&s](Response r) { s.set(r); });
    s.wait();
    f.pull_async_us.push_back(us_between(t0, s.at));
    f.pull_async_ok += s.ok;
    const auto t1 = Clock::now();
    const Response r = b.pull(keys[201 + 2 * i], 21, kDeadline);
    f.pull_sync_us.push_back(us_between(t1, Clock::now()));
    f.pull_sync_ok += r.status == wire::Status::OK;
  }
}

void measure_await(AsyncFigures& f, const std::vector<uint8_t>& blob, uint32_t expiry) {
  std::vector<Card> c = make_cluster({30, 31, 32}, true);  // dispatcher 30, owner 31, target 32
  Device& d = *c[0].dev;
  Device& owner = *c[1].dev;
  Device& target = *c[2].dev;
  std::vector<SessionKey> keys;
  for (std::size_t i = 0; i < kOps + 200; ++i) {
    keys.push_back(bench_key(i, 0x3100));
    owner.put(keys.back(), blob, expiry);
  }
  for (std::size_t i = 0; i < 200; ++i) d.transfer(keys[i], 32, 31, kDeadline);  // warm-up
  Stamp landed, answered;
  const auto until = Clock::now() + kBudget;
  for (std::size_t i = 0; i < kOps && Clock::now() < until; ++i) {
    const SessionKey& k = keys[200 + i];
    landed.reset();
    answered.reset();
    SessionWait w = target.await_session(k, kDeadline, [&landed](Response r) { landed.set(r); });
    const auto t0 = Clock::now();
    d.transfer_async(k, 32, 31, kDeadline, [&answered](Response r) { answered.set(r); });
    landed.wait();
    answered.wait();
    f.await_us.push_back(us_between(t0, landed.at));
    f.await_ok += landed.ok;
    f.relayed_us.push_back(us_between(t0, answered.at));
    f.relayed_ok += answered.ok;
  }
}

void measure_card_get(AsyncFigures& f, const std::vector<uint8_t>& blob, uint32_t expiry) {
  DeviceConfig dc;
  dc.card_id = 40;  // production geometry, no backplane: a server's local hit
  auto dev = make_model_device(dc);
  constexpr std::size_t kKeys = 1000, kGets = 200000;
  std::vector<SessionKey> keys;
  for (std::size_t i = 0; i < kKeys; ++i) {
    keys.push_back(bench_key(i, 0x4000));
    dev->put(keys.back(), blob, expiry);
  }
  for (std::size_t i = 0; i < kKeys; ++i) (void)dev->get(keys[i]);  // warm-up
  std::size_t hits = 0;
  const uint64_t a0 = thread_allocations();
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < kGets; ++i) hits += dev->get(keys[i % kKeys]).status == wire::Status::OK;
  const double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  const uint64_t a1 = thread_allocations();
  if (hits != kGets) std::fprintf(stderr, "bench_backplane: card GET: %zu of %zu hit\n", hits, kGets);
  f.card_get_hit_ns = ns / kGets;
  f.card_get_hit_allocs = static_cast<double>(a1 - a0) / kGets;
  const SessionKey absent = bench_key(1u << 30, 0x4000);
  const uint64_t m0 = thread_allocations();
  for (std::size_t i = 0; i < 1000; ++i) (void)dev->get(absent);
  f.card_get_miss_allocs = static_cast<double>(thread_allocations() - m0) / 1000;
}

}  // namespace

AsyncFigures measure_async_figures() {
  std::vector<uint8_t> blob(kBlobBytes);
  for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<uint8_t>(i * 29);
  const uint32_t expiry = wall_clock_seconds() + 3600;
  AsyncFigures f;
  measure_card_get(f, blob, expiry);
  measure_pulls(f, blob, expiry);
  measure_await(f, blob, expiry);
  return f;
}

}  // namespace sessnic::bench
