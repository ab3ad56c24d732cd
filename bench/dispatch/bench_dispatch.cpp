// bench_dispatch: the dispatcher's cost and effect, measured on a real loopback cluster
// (three sessnic-server processes, two sessnic-dispatch processes: sharing on and off).
//  * connection setup latency (TCP connect + resumed TLS 1.3 handshake) through the
//    dispatcher vs directly to the same server, interleaved in one run: p50/p99 and the
//    difference = what the dispatcher adds;
//  * resumption rate with 1,000 clients each moving flights -> cars -> hotels, sharing on
//    vs off, and the sharing dispatcher's CPU time per connection during that run (user +
//    system, from /proc/PID/stat: the proxying and its moves of sessions).
// Writes $SESSNIC_BENCH_PARTS/dispatch.json when that variable is set.
#include <fmt/format.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

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

// utime + stime of a process, in microseconds (/proc/PID/stat fields 14 and 15).
double cpu_us(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  const auto close_paren = stat.rfind(')');  // the command name may hold spaces
  if (close_paren == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close_paren + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// A counter from the Prometheus text (0 when absent).
double counter(const std::string& text, const std::string& name) {
  const auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? 0 : std::stod(text.substr(at + name.size() + 2));
}
}  // namespace

int main() {
  testing::LocalClusterOptions opt;
  opt.proxy_protocol = false;  // so a client can also connect to a server directly
  opt.off_args = {"--warm-connections", "0"};
  testing::LocalCluster cluster(opt);

  // 1. Added latency: same server (flights), same kind of handshake (resumed), directly,
  //    through the dispatcher (default settings: warm connections), and through a
  //    dispatcher without them (the no-share one started with --warm-connections 0: no
  //    transfer happens either way, the session is already on flights), interleaved.
  TlsClient client(TLS1_3_VERSION);
  const std::string sni = "flights.travel.test";
  auto seed_via = client.fetch("127.0.0.1", cluster.port_on, sni, "/", nullptr);
  auto seed_cold = client.fetch("127.0.0.1", cluster.port_off, sni, "/", nullptr);
  auto seed_direct = client.fetch("127.0.0.1", cluster.server_ports[0], sni, "/", nullptr);
  if (!seed_via.ok || !seed_cold.ok || !seed_direct.ok) {
    fmt::print(stderr, "bench_dispatch: cluster not answering: {} / {} / {}\n{}", seed_via.error, seed_cold.error,
               seed_direct.error, cluster.logs());
    return 1;
  }
  sessnic::SslSessionPtr s_via = std::move(seed_via.session), s_cold = std::move(seed_cold.session),
                         s_direct = std::move(seed_direct.session);
  std::vector<double> via, cold, direct;
  const int samples = 600;
  for (int i = 0; i < samples; ++i) {
    // TLS 1.3 tickets are single use: carry the fresh one forward each time.
    auto a = client.fetch("127.0.0.1", cluster.port_on, sni, "/", s_via.get());
    auto c = client.fetch("127.0.0.1", cluster.port_off, sni, "/", s_cold.get());
    auto b = client.fetch("127.0.0.1", cluster.server_ports[0], sni, "/", s_direct.get());
    if (a.ok && a.resumed) via.push_back(a.handshake_us);
    if (c.ok && c.resumed) cold.push_back(c.handshake_us);
    if (b.ok && b.resumed) direct.push_back(b.handshake_us);
    if (a.session) s_via = std::move(a.session);
    if (c.session) s_cold = std::move(c.session);
    if (b.session) s_direct = std::move(b.session);
  }
  double via50 = percentile(via, 0.5), via99 = percentile(via, 0.99);
  double cold50 = percentile(cold, 0.5), cold99 = percentile(cold, 0.99);
  double dir50 = percentile(direct, 0.5), dir99 = percentile(direct, 0.99);

  // 2. Resumption rate: 1,000 clients moving between the three servers.
  const size_t clients = 1000;
  const double cpu0 = cpu_us(cluster.dispatch_on_pid);
  const double conns0 = counter(cluster.metrics(true), "sessnic_dispatch_connections_total");
  auto on = run_travel("127.0.0.1", cluster.port_on, default_travel_steps(), clients, TLS1_3_VERSION);
  const double conns = counter(cluster.metrics(true), "sessnic_dispatch_connections_total") - conns0;
  const double cpu_per_conn = conns > 0 ? (cpu_us(cluster.dispatch_on_pid) - cpu0) / conns : 0;
  auto off = run_travel("127.0.0.1", cluster.port_off, default_travel_steps(), clients, TLS1_3_VERSION);

  fmt::print("connection setup (TCP connect + resumed TLS 1.3 handshake), {} interleaved samples each:\n", samples);
  fmt::print("  direct to server      p50 {:8.1f} us   p99 {:8.1f} us   (n={})\n", dir50, dir99, direct.size());
  fmt::print("  through dispatcher    p50 {:8.1f} us   p99 {:8.1f} us   (n={})\n", via50, via99, via.size());
  fmt::print("  no warm connections   p50 {:8.1f} us   p99 {:8.1f} us   (n={})\n", cold50, cold99, cold.size());
  fmt::print("  added by dispatcher   p50 {:8.1f} us   p99 {:8.1f} us\n", via50 - dir50, via99 - dir99);
  fmt::print("  added, no warm conns  p50 {:8.1f} us   p99 {:8.1f} us\n", cold50 - dir50, cold99 - dir99);
  fmt::print("resumption with {} clients moving flights -> cars -> hotels ({} server changes each run):\n", clients,
             on.changes());
  fmt::print("  sharing on   {:.4f}  ({} failed requests)\n", on.resumption_rate(), on.failures());
  fmt::print("  sharing off  {:.4f}  ({} failed requests)\n", off.resumption_rate(), off.failures());
  fmt::print("sharing dispatcher CPU (user + system) per connection in the sharing-on run: {:.1f} us ({:.0f} connections)\n",
             cpu_per_conn, conns);

  if (const char* dir = std::getenv("SESSNIC_BENCH_PARTS")) {
    std::ofstream(std::string(dir) + "/dispatch.json")
        << fmt::format("{{\"resumption_rate_sharing_on\": {:.6f}, \"resumption_rate_sharing_off\": {:.6f}, "
                       "\"dispatch_added_p50_us\": {:.2f}, \"dispatch_added_p99_us\": {:.2f}, "
                       "\"dispatch_added_warm_p50_us\": {:.2f}, \"dispatch_added_warm_p99_us\": {:.2f}, "
                       "\"dispatch_added_cold_p50_us\": {:.2f}, \"dispatch_added_cold_p99_us\": {:.2f}, "
                       "\"dispatch_cpu_us_per_connection\": {:.2f}}}\n",
                       on.resumption_rate(), off.resumption_rate(), via50 - dir50, via99 - dir99, via50 - dir50,
                       via99 - dir99, cold50 - dir50, cold99 - dir99, cpu_per_conn);
  }
  return 0;
}
