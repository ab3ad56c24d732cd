// bench_backplane: the backplane over real UDP on 127.0.0.1.
//
//   transfer_p50_us / transfer_p99_us  the dispatcher's relayed TRANSFER: a passive card
//                                      here, three card processes (this executable with
//                                      --card), four hops; call to answer (relay_cluster.hpp)
//   transfer_p50_us_loaded / _p99_us_loaded / transfer_ok_rate_loaded
//                                      the same with a busy loop per core; the share
//                                      answered OK within the 2 ms deadline
//   transfer_inproc_p50_us / _p99_us   Device::transfer() of one session between two
//                                      nodes in this process, card 3 -> 4 (two hops)
//   replicate_sessions_per_s           PUTs on card 1 applied on card 2 per second
//                                      (replicate mode; first PUT to last apply)
//   wire_bytes_per_session             UDP payload + 28 B IPv4/UDP header, both
//                                      directions (frames, acks, hellos) per session
//   pull_async_p50_us / _p99_us, pull_sync_p50_us / _p99_us, await_session_p50_us /
//   _p99_us, transfer_relayed_inproc_p50_us / _p99_us, card_get_hit_ns,
//   card_get_hit_allocs, card_get_miss_allocs
//                                      asynchronous completions and a local card hit
//                                      (async_figures.hpp); --async-only prints just these
// The relayed runs go three times - before (send_from_caller off: the old path), with the
// defaults, and with pump_realtime on - and print each node's hop histograms
// (docs/backplane.md, "Latency").
// Writes the figures to $SESSNIC_BENCH_PARTS/backplane.json when that variable is set.
#include <sys/resource.h>

#include <csignal>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "async_figures.hpp"
#include "bench_keys.hpp"
#include "relay_cluster.hpp"
#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sessnic/open_device.hpp"

using namespace sessnic;
using namespace sessnic::backplane;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kReplicated = 300000;
constexpr std::size_t kTransfers = 5000;
constexpr std::size_t kBlobBytes = 170;
constexpr uint8_t kSelf = static_cast<uint8_t>(wire::BpConst::BROADCAST);  // transfer owner: this card  // a sealed TLS 1.2 session without client cert

struct Pair {
  std::unique_ptr<Device> dev_a, dev_b;
  std::unique_ptr<BackplaneNode> a, b;
};

Pair make_pair(uint8_t ca, uint8_t cb, Mode mode) {
  std::array<uint8_t, 32> key{};
  std::mt19937_64 krng(1);
  for (auto& x : key) x = static_cast<uint8_t>(krng());
  auto cfg = [&](uint8_t card) {
    NodeConfig c;
    c.card_id = card;
    c.mode = mode;
    c.cluster_key = key;
    c.rto = std::chrono::microseconds(20000);  // floor; the kernel adapts to the measured RTT
    return c;
  };
  NodeConfig a = cfg(ca), b = cfg(cb);
  auto ua = std::make_unique<UdpTransport>(a);
  auto ub = std::make_unique<UdpTransport>(b);
  ua->set_peer({cb, "127.0.0.1", ub->local_port()});
  ub->set_peer({ca, "127.0.0.1", ua->local_port()});
  a.peers = {{cb, "127.0.0.1", ub->local_port()}};
  b.peers = {{ca, "127.0.0.1", ua->local_port()}};
  Pair p;
  DeviceConfig da, db;
  da.card_id = ca;
  db.card_id = cb;
  p.dev_a = make_model_device(da);
  p.dev_b = make_model_device(db);
  p.a = std::make_unique<BackplaneNode>(a, *p.dev_a, std::move(ua));
  p.b = std::make_unique<BackplaneNode>(b, *p.dev_b, std::move(ub));
  p.a->start();
  p.b->start();
  if (!p.a->wait_for_peers(std::chrono::milliseconds(5000)) || !p.b->wait_for_peers(std::chrono::milliseconds(5000))) {
    std::fprintf(stderr, "bench_backplane: nodes did not connect over UDP\n");
    std::exit(1);
  }
  return p;
}

SessionKey key_n(uint64_t n, uint8_t salt) { return bench::bench_key(n, uint64_t{salt} << 56); }

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

void print_hops(const char* title, const bench::RelayResult& r) {
  auto line = [](const char* who, const bench::CardReport& c) {
    std::printf("    %-10s card %u: socket wait p50 %6.1f p99 %7.1f | turnaround p50 %6.1f p99 %7.1f | handoff p50 %6.1f "
                "p99 %7.1f us (n %llu) | rtx %llu fast %llu giveup %llu busy %llu dup %llu refused %llu failed %llu "
                "not_sent %llu\n",
                who, c.card, c.socket_wait.percentile_us(0.5), c.socket_wait.percentile_us(0.99),
                c.turnaround.percentile_us(0.5), c.turnaround.percentile_us(0.99), c.handoff.percentile_us(0.5),
                c.handoff.percentile_us(0.99), static_cast<unsigned long long>(c.handoff.count()), c.retransmits,
                c.fast_retransmits, c.giveups, c.rx_busy, c.rx_dup, c.refused, c.transfers_failed, c.not_sent);
  };
  std::printf("  %s: %zu relayed transfers, p50 %.1f us, p99 %.1f us; ok %zu, late %zu, failed %zu, miss %zu\n", title,
              r.us.size(), percentile(r.us, 0.5), percentile(r.us, 0.99), r.ok, r.late, r.failed, r.miss);
  line("dispatcher", r.dispatcher);
  for (const bench::CardReport& c : r.cards) line("server", c);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--card") == 0) return bench::card_process_main(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  const std::string self = "/proc/self/exe";
  const uint32_t expiry = wall_clock_seconds() + 3600;
  std::vector<uint8_t> blob(kBlobBytes);
  for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<uint8_t>(i * 31);

  // ---- asynchronous completions and a local card hit (issue 14) ----
  const bench::AsyncFigures af = bench::measure_async_figures();
  std::printf("card GET hit (model device, one thread): %.0f ns, %.2f heap allocations per call (miss: %.2f)\n",
              af.card_get_hit_ns, af.card_get_hit_allocs, af.card_get_miss_allocs);
  std::printf("pull (B copies from A): async p50 %.1f p99 %.1f us (ok %zu/%zu); blocking p50 %.1f p99 %.1f us (ok %zu/%zu)\n",
              percentile(af.pull_async_us, 0.5), percentile(af.pull_async_us, 0.99), af.pull_async_ok,
              af.pull_async_us.size(), percentile(af.pull_sync_us, 0.5), percentile(af.pull_sync_us, 0.99),
              af.pull_sync_ok, af.pull_sync_us.size());
  std::printf("fired move D -> owner -> target: target's await_session completes p50 %.1f p99 %.1f us (ok %zu/%zu); "
              "the answer back at D p50 %.1f p99 %.1f us (ok %zu)\n",
              percentile(af.await_us, 0.5), percentile(af.await_us, 0.99), af.await_ok, af.await_us.size(),
              percentile(af.relayed_us, 0.5), percentile(af.relayed_us, 0.99), af.relayed_ok);
  if (argc > 1 && std::strcmp(argv[1], "--async-only") == 0) return 0;

  // ---- TRANSFER latency (transfer mode: nothing else on the wire) ----
  double p50 = 0, p99 = 0, failed = 0;
  {
    Pair p = make_pair(3, 4, Mode::transfer);
    std::vector<SessionKey> keys;
    for (std::size_t i = 0; i < kTransfers; ++i) {
      keys.push_back(key_n(i, 3));
      p.dev_a->put(keys.back(), blob, expiry);
    }
    for (std::size_t i = 0; i < 200; ++i) p.dev_a->transfer(keys[i], 4, kSelf, std::chrono::milliseconds(20));  // warm-up
    std::vector<double> us;
    us.reserve(kTransfers);
    const auto budget = Clock::now() + std::chrono::seconds(15);  // the whole bench stays < 60 s
    for (std::size_t i = 0; i < kTransfers && Clock::now() < budget; ++i) {
      const auto t0 = Clock::now();
      const Response r = p.dev_a->transfer(keys[i], 4, kSelf, std::chrono::milliseconds(20));
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      if (r.status != wire::Status::OK) ++failed;
    }
    p50 = percentile(us, 0.50);
    p99 = percentile(us, 0.99);
    std::printf("transfer: %zu transfers, p50 %.1f us, p99 %.1f us, failed %.0f\n", us.size(), p50, p99, failed);
  }

  // ---- replication throughput and wire bytes ----
  double rate = 0, wire = 0;
  {
    Pair p = make_pair(1, 2, Mode::replicate);
    std::vector<SessionKey> keys;
    keys.reserve(kReplicated);
    for (std::size_t i = 0; i < kReplicated; ++i) keys.push_back(key_n(i, 1));
    const NodeStats a0 = p.a->stats(), b0 = p.b->stats();
    const double cpu0 = cpu_seconds();
    const auto t0 = Clock::now();
    for (const SessionKey& k : keys) p.dev_a->put(k, blob, expiry);
    const auto deadline = t0 + std::chrono::seconds(30);
    uint64_t applied = 0;
    while (Clock::now() < deadline) {
      applied = p.b->stats()[wire::BP_STATS_APPLIED] - b0[wire::BP_STATS_APPLIED];
      if (applied >= kReplicated) break;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu_us = (cpu_seconds() - cpu0) * 1e6 / static_cast<double>(std::max<uint64_t>(applied, 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the last acks
    const NodeStats a1 = p.a->stats(), b1 = p.b->stats();
    rate = static_cast<double>(applied) / secs;
    const double bytes = static_cast<double>((a1.tx_bytes - a0.tx_bytes) + (b1.tx_bytes - b0.tx_bytes)) +
                         28.0 * static_cast<double>((a1.tx_datagrams - a0.tx_datagrams) + (b1.tx_datagrams - b0.tx_datagrams));
    wire = bytes / static_cast<double>(std::max<uint64_t>(applied, 1));
    std::printf("replicate: %llu/%zu sessions in %.3f s = %.0f sessions/s; %.1f wire bytes/session "
                "(%llu datagrams A->B, %llu B->A, %llu retransmits, %llu frames refused by B)\n",
                static_cast<unsigned long long>(applied), kReplicated, secs, rate, wire,
                static_cast<unsigned long long>(a1.tx_datagrams - a0.tx_datagrams),
                static_cast<unsigned long long>(b1.tx_datagrams - b0.tx_datagrams),
                static_cast<unsigned long long>(a1[wire::BP_STATS_RETRANSMITS] - a0[wire::BP_STATS_RETRANSMITS]),
                static_cast<unsigned long long>(b1.rx_refused));
    std::printf("  CPU (all threads, both nodes, the writer): %.1f us per replicated session\n", cpu_us);
    std::printf("  diagnostics: B rx_dup %llu rx_window %llu rx_frames %llu; A: giveup %llu not_sent %llu fast %llu\n",
                (unsigned long long)(b1[wire::BP_STATS_RX_DUP]), (unsigned long long)(b1[wire::BP_STATS_RX_WINDOW]),
                (unsigned long long)(b1[wire::BP_STATS_RX_FRAMES]), (unsigned long long)(a1[wire::BP_STATS_RTX_GIVEUP]),
                (unsigned long long)(a1[wire::BP_STATS_NOT_SENT]), (unsigned long long)(a1[wire::BP_STATS_FAST_RETRANSMITS]));
  }

  // ---- the dispatcher's relayed TRANSFER across processes, idle and under a CPU hog ----
  // Before/after in one run: send_from_caller off (the old path), the defaults, and the
  // real-time pump option (docs/backplane.md, "Latency").
  auto relay = [&](bool caller, bool realtime, bool hog) {
    bench::RelayOptions o;
    o.send_from_caller = caller;
    o.pump_realtime = realtime;
    o.cpu_hog = hog;
    return bench::run_relay(self, o);
  };
  const bench::RelayResult idle_before = relay(false, false, false), loaded_before = relay(false, false, true);
  const bench::RelayResult idle = relay(true, false, false), loaded = relay(true, false, true);
  const bench::RelayResult idle_rt = relay(true, true, false), loaded_rt = relay(true, true, true);
  std::printf("relayed transfer (dispatcher -> owner -> target -> owner -> dispatcher, 3 card processes, deadline 2000 us):\n");
  print_hops("before (send_from_caller off), idle", idle_before);
  print_hops("before, loaded (a busy loop per core)", loaded_before);
  print_hops("default, idle", idle);
  print_hops("default, loaded", loaded);
  print_hops("pump_realtime on, idle", idle_rt);
  print_hops("pump_realtime on, loaded", loaded_rt);
  auto ok_rate = [](const bench::RelayResult& r) {
    return static_cast<double>(r.ok) / static_cast<double>(std::max<std::size_t>(1, r.us.size()));
  };
  const double ok_loaded = ok_rate(loaded);

  if (const char* dir = std::getenv("SESSNIC_BENCH_PARTS")) {
    std::ofstream out(std::string(dir) + "/backplane.json");
    out << "{\"transfer_p50_us\": " << percentile(idle.us, 0.5) << ", \"transfer_p99_us\": " << percentile(idle.us, 0.99)
        << ", \"transfer_p50_us_loaded\": " << percentile(loaded.us, 0.5)
        << ", \"transfer_p99_us_loaded\": " << percentile(loaded.us, 0.99)
        << ", \"transfer_ok_rate_loaded\": " << ok_loaded
        << ", \"transfer_p50_us_before\": " << percentile(idle_before.us, 0.5)
        << ", \"transfer_p99_us_before\": " << percentile(idle_before.us, 0.99)
        << ", \"transfer_p50_us_loaded_before\": " << percentile(loaded_before.us, 0.5)
        << ", \"transfer_p99_us_loaded_before\": " << percentile(loaded_before.us, 0.99)
        << ", \"transfer_ok_rate_loaded_before\": " << ok_rate(loaded_before) << ", \"transfer_p99_us_realtime\": " << percentile(idle_rt.us, 0.99)
        << ", \"transfer_p99_us_loaded_realtime\": " << percentile(loaded_rt.us, 0.99)
        << ", \"transfer_ok_rate_loaded_realtime\": " << ok_rate(loaded_rt) << ", \"transfer_inproc_p50_us\": " << p50
        << ", \"transfer_inproc_p99_us\": " << p99 << ", \"replicate_sessions_per_s\": " << rate
        << ", \"wire_bytes_per_session\": " << wire
        << ", \"pull_async_p50_us\": " << percentile(af.pull_async_us, 0.5)
        << ", \"pull_async_p99_us\": " << percentile(af.pull_async_us, 0.99)
        << ", \"pull_sync_p50_us\": " << percentile(af.pull_sync_us, 0.5)
        << ", \"pull_sync_p99_us\": " << percentile(af.pull_sync_us, 0.99)
        << ", \"await_session_p50_us\": " << percentile(af.await_us, 0.5)
        << ", \"await_session_p99_us\": " << percentile(af.await_us, 0.99)
        << ", \"transfer_relayed_inproc_p50_us\": " << percentile(af.relayed_us, 0.5)
        << ", \"transfer_relayed_inproc_p99_us\": " << percentile(af.relayed_us, 0.99)
        << ", \"card_get_hit_ns\": " << af.card_get_hit_ns << ", \"card_get_hit_allocs\": " << af.card_get_hit_allocs
        << ", \"card_get_miss_allocs\": " << af.card_get_miss_allocs << "}\n";
  }
  return 0;
}
