// bench_dispatch: the dispatcher's cost and effect, measured on a real loopback cluster
// (three sessnic-server processes, two sessnic-dispatch processes: sharing on and off).
//  * connection setup latency (TCP connect + resumed TLS 1.3 handshake) through the
//    dispatcher vs directly to the same server, interleaved in one run: p50/p99 and the
//    difference = what the dispatcher adds;
//  * resumption rate with 1,000 clients each moving flights -> cars -> hotels, sharing on
//    vs off.
// Writes $SESSNIC_BENCH_PARTS/dispatch.json when that variable is set.
#include <fmt/format.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "local_cluster.hpp"
#include "tls_client.hpp"
#include "travel_scenario.hpp"

using namespace sessnic::dispatch;

namespace {
double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}
}  // namespace

int main() {
  testing::LocalClusterOptions opt;
  opt.proxy_protocol = false;  // so a client can also connect to a server directly
  opt.off_args = {"--warm-connections", "2"};
  testing::LocalCluster cluster(opt);

  // 1. Added latency: same server (flights), same kind of handshake (resumed), directly,
  //    through the dispatcher (default settings), and through a dispatcher with warm
  //    connections (the no-share one started with --warm-connections 2: no transfer
  //    happens either way, the session is already on flights), interleaved.
  TlsClient client(TLS1_3_VERSION);
  const std::string sni = "flights.travel.test";
  auto seed_via = client.fetch("127.0.0.1", cluster.port_on, sni, "/", nullptr);
  auto seed_warm = client.fetch("127.0.0.1", cluster.port_off, sni, "/", nullptr);
  auto seed_direct = client.fetch("127.0.0.1", cluster.server_ports[0], sni, "/", nullptr);
  if (!seed_via.ok || !seed_warm.ok || !seed_direct.ok) {
    fmt::print(stderr, "bench_dispatch: cluster not answering: {} / {} / {}\n{}", seed_via.error, seed_warm.error,
               seed_direct.error, cluster.logs());
    return 1;
  }
  sessnic::SslSessionPtr s_via = std::move(seed_via.session), s_warm = std::move(seed_warm.session),
                         s_direct = std::move(seed_direct.session);
  std::vector<double> via, warm, direct;
  const int samples = 600;
  for (int i = 0; i < samples; ++i) {
    // TLS 1.3 tickets are single use: carry the fresh one forward each time.
    auto a = client.fetch("127.0.0.1", cluster.port_on, sni, "/", s_via.get());
    auto c = client.fetch("127.0.0.1", cluster.port_off, sni, "/", s_warm.get());
    auto b = client.fetch("127.0.0.1", cluster.server_ports[0], sni, "/", s_direct.get());
    if (a.ok && a.resumed) via.push_back(a.handshake_us);
    if (c.ok && c.resumed) warm.push_back(c.handshake_us);
    if (b.ok && b.resumed) direct.push_back(b.handshake_us);
    if (a.session) s_via = std::move(a.session);
    if (c.session) s_warm = std::move(c.session);
    if (b.session) s_direct = std::move(b.session);
  }
  double via50 = percentile(via, 0.5), via99 = percentile(via, 0.99);
  double warm50 = percentile(warm, 0.5), warm99 = percentile(warm, 0.99);
  double dir50 = percentile(direct, 0.5), dir99 = percentile(direct, 0.99);

  // 2. Resumption rate: 1,000 clients moving between the three servers.
  const size_t clients = 1000;
  auto on = run_travel("127.0.0.1", cluster.port_on, default_travel_steps(), clients, TLS1_3_VERSION);
  auto off = run_travel("127.0.0.1", cluster.port_off, default_travel_steps(), clients, TLS1_3_VERSION);

  fmt::print("connection setup (TCP connect + resumed TLS 1.3 handshake), {} interleaved samples each:\n", samples);
  fmt::print("  direct to server      p50 {:8.1f} us   p99 {:8.1f} us   (n={})\n", dir50, dir99, direct.size());
  fmt::print("  through dispatcher    p50 {:8.1f} us   p99 {:8.1f} us   (n={})\n", via50, via99, via.size());
  fmt::print("  warm connections      p50 {:8.1f} us   p99 {:8.1f} us   (n={})\n", warm50, warm99, warm.size());
  fmt::print("  added by dispatcher   p50 {:8.1f} us   p99 {:8.1f} us\n", via50 - dir50, via99 - dir99);
  fmt::print("  added, warm conns     p50 {:8.1f} us   p99 {:8.1f} us\n", warm50 - dir50, warm99 - dir99);
  fmt::print("resumption with {} clients moving flights -> cars -> hotels ({} server changes each run):\n", clients,
             on.changes());
  fmt::print("  sharing on   {:.4f}  ({} failed requests)\n", on.resumption_rate(), on.failures());
  fmt::print("  sharing off  {:.4f}  ({} failed requests)\n", off.resumption_rate(), off.failures());

  if (const char* dir = std::getenv("SESSNIC_BENCH_PARTS")) {
    std::ofstream(std::string(dir) + "/dispatch.json")
        << fmt::format("{{\"resumption_rate_sharing_on\": {:.6f}, \"resumption_rate_sharing_off\": {:.6f}, "
                       "\"dispatch_added_p50_us\": {:.2f}, \"dispatch_added_p99_us\": {:.2f}, "
                       "\"dispatch_added_warm_p50_us\": {:.2f}, \"dispatch_added_warm_p99_us\": {:.2f}}}\n",
                       on.resumption_rate(), off.resumption_rate(), via50 - dir50, via99 - dir99, warm50 - dir50,
                       warm99 - dir99);
  }
  return 0;
}
