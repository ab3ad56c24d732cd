// bench_redis: Redis (a 3-master Redis Cluster) as the central repository.
//
//  redis_change_p50_ratio_transfer  server-change setup p50 (TCP connect + resumed TLS 1.3
//      handshake through the dispatcher to another server than the one that made the
//      session) with the Redis hub, divided by the same with the backplane transfer. Two
//      loopback clusters (3 servers + dispatcher each) run side by side; samples interleave.
//  redis_resume_rate   resumed / attempted server changes through the Redis cluster (goal 1.0)
//  redis_takes_per_s   single-use ticket takes against the 3-master cluster, 2 threads
//
// Writes $SESSNIC_BENCH_PARTS/redis.json when that variable is set.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <thread>
#include <vector>

#include "local_cluster.hpp"
#include "redis_processes.hpp"
#include "sessnic/redis/store.hpp"
#include "sessnic/seal.hpp"
#include "tls_test_support.hpp"
#include "tls_visit.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace rd = sessnic::redis;

namespace {

double p50(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string redis_table(const std::vector<rd::RedisAddress>& a) {
  std::string list;
  for (const auto& x : a) list += fmt::format("{}\"{}\"", list.empty() ? "" : ", ", x.str());
  return fmt::format("[redis]\naddresses = [{}]\ncluster = true\n", list);
}

double takes_per_s(const std::vector<rd::RedisAddress>& addresses) {
  rd::RedisOptions o;
  o.addresses = addresses;
  o.cluster = true;
  rd::RedisStore store(o);
  store.check_reachable();
  sessnic::Sealer sealer(sessnic::Keyring(sessnic::ClusterKey(1, std::array<uint8_t, 32>{9})));
  constexpr int kTickets = 4000, kThreads = 2;
  const uint32_t expiry = static_cast<uint32_t>(std::time(nullptr)) + 300;
  std::vector<sessnic::SessionKey> keys;
  for (int i = 0; i < kTickets; ++i) {
    std::array<uint8_t, 32> id{};
    id[0] = 7;
    id[1] = static_cast<uint8_t>(i);
    id[2] = static_cast<uint8_t>(i >> 8);
    keys.push_back(sessnic::SessionKey::make(id, 0x42));
    rd::Record r;
    r.version = 0x100'07;
    r.flags = 1;
    r.expiry = expiry;
    r.blob = sealer.seal(std::vector<uint8_t>(180, 0x30), {keys.back().bytes(), 0x42}, expiry);
    // A cluster formed a moment ago (or a loaded machine) may fail a write once: said, and
    // retried a few times, so one hiccup does not turn the figure into 0.
    rd::StoreStatus st = store.put(keys.back(), r);
    for (int retry = 0; st != rd::StoreStatus::ok && retry < 5; ++retry) {
      fmt::print(stderr, "bench_redis: writing ticket {} failed ({}), retrying\n", i, rd::to_string(st));
      std::this_thread::sleep_for(100ms);
      st = store.put(keys.back(), r);
    }
    if (st != rd::StoreStatus::ok) return 0;
  }
  std::atomic<int> taken{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = t; i < kTickets; i += kThreads) taken += store.take(keys[static_cast<size_t>(i)]).status == rd::StoreStatus::ok;
    });
  for (auto& t : ts) t.join();
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (taken != kTickets) fmt::print(stderr, "bench_redis: only {} of {} takes succeeded\n", taken.load(), kTickets);
  return taken / s;
}

}  // namespace

int main() {
  sessnic::testing::TempDirectory dir;
  sessnic::testing::RedisClusterProcesses rc(dir.path(), 3);
  const double takes = takes_per_s(rc.addresses());

  sessnic::dispatch::testing::LocalClusterOptions with_redis, with_transfer;
  with_redis.extra_config = redis_table(rc.addresses());
  sessnic::dispatch::testing::LocalCluster redis_cluster(with_redis);
  sessnic::dispatch::testing::LocalCluster transfer_cluster(with_transfer);
  std::this_thread::sleep_for(500ms);

  auto client = sessnic::testtls::make_client_ctx(TLS1_3_VERSION);
  constexpr int kSamples = 300;
  std::vector<double> t_redis, t_transfer;
  int attempts = 0, resumed = 0;
  auto change = [&](sessnic::dispatch::testing::LocalCluster& c, std::vector<double>& out, bool count) {
    using sessnic::cluster_test::visit;
    auto first = visit(client.get(), c.port_on, "flights.travel.test", {});
    if (!first.ok || !first.session) return;
    const auto t0 = Clock::now();
    auto again = visit(client.get(), c.port_on, "cars.travel.test", {.session = first.session.get(), .request = false});
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    if (count) {
      attempts++;
      resumed += again.reused;
    }
    if (again.ok && again.reused) out.push_back(us);
  };
  for (int i = 0; i < kSamples; ++i) {
    if (i % 2) {
      change(redis_cluster, t_redis, true);
      change(transfer_cluster, t_transfer, false);
    } else {
      change(transfer_cluster, t_transfer, false);
      change(redis_cluster, t_redis, true);
    }
  }
  const double pr = p50(t_redis), pt = p50(t_transfer);
  const double ratio = pt > 0 ? pr / pt : 0;
  const double rate = attempts ? static_cast<double>(resumed) / attempts : 0;
  fmt::print("redis_takes_per_s {:.0f}\nredis_change_p50_us {:.0f} (transfer {:.0f})\nredis_change_p50_ratio_transfer {:.3f}\n"
             "redis_resume_rate {:.4f} ({} of {})\n",
             takes, pr, pt, ratio, rate, resumed, attempts);
  if (const char* parts = std::getenv("SESSNIC_BENCH_PARTS")) {
    std::ofstream(std::string(parts) + "/redis.json")
        << fmt::format("{{\"redis_change_p50_ratio_transfer\": {:.4f}, \"redis_resume_rate\": {:.4f}, "
                       "\"redis_takes_per_s\": {:.0f}, \"redis_change_p50_us\": {:.1f}, \"transfer_change_p50_us\": {:.1f}}}\n",
                       ratio, rate, takes, pr, pt);
  }
  return 0;
}
