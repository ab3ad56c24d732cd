// bench_dispatch_tls13: how often the dispatcher mistakes a TLS 1.3 full handshake for a
// resumption. Every TLS 1.3 client sends a random 32-byte legacy_session_id; only the PSK
// identity names a session. 1,000 full TLS 1.3 handshakes (no session offered) through
// the sharing dispatcher of a real loopback cluster; the figure is the number of
// transfers the dispatcher asked for (goal 0), read from its /metrics.
// Writes $SESSNIC_BENCH_PARTS/dispatch_tls13.json when that variable is set.
#include <fmt/format.h>
#include <openssl/ssl.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "local_cluster.hpp"
#include "tls_client.hpp"

using namespace sessnic::dispatch;

namespace {
// "name{labels} value" lines of the Prometheus text.
std::map<std::string, double> parse(const std::string& text) {
  std::map<std::string, double> m;
  std::istringstream in(text.substr(std::min(text.size(), text.find("\r\n\r\n"))));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    if (sp != std::string::npos) m[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return m;
}
double transfers_asked(const std::map<std::string, double>& m) {
  double n = 0;
  for (const char* o : {"moved", "not_found", "failed", "timeout", "overload"}) {
    auto it = m.find(fmt::format("sessnic_dispatch_transfers_total{{outcome=\"{}\"}}", o));
    if (it != m.end()) n += it->second;
  }
  return n;
}
}  // namespace

int main() {
  testing::LocalCluster cluster;
  TlsClient client(TLS1_3_VERSION);
  const auto before = parse(cluster.metrics(true));
  const int handshakes = 1000;
  int ok = 0, resumed = 0;
  for (int i = 0; i < handshakes; ++i) {
    // Alternate the servers, so any mistaken "session" would have somewhere to move to.
    const char* sni = i % 2 ? "cars.travel.test" : "flights.travel.test";
    auto r = client.fetch("127.0.0.1", cluster.port_on, sni, "/", nullptr);
    ok += r.ok ? 1 : 0;
    resumed += r.resumed ? 1 : 0;
  }
  const auto after = parse(cluster.metrics(true));
  const double asked = transfers_asked(after) - transfers_asked(before);
  auto attempts = [](const std::map<std::string, double>& m) {
    auto it = m.find("sessnic_dispatch_resumption_attempts_total");
    return it == m.end() ? 0.0 : it->second;
  };
  fmt::print("{} TLS 1.3 full handshakes through the dispatcher ({} ok, {} resumed):\n", handshakes, ok, resumed);
  fmt::print("  resumption attempts seen  {:.0f}\n", attempts(after) - attempts(before));
  fmt::print("  transfers asked           {:.0f}   (goal 0)\n", asked);
  if (ok != handshakes) {
    fmt::print(stderr, "bench_dispatch_tls13: {} handshakes failed\n{}", handshakes - ok, cluster.logs());
    return 1;
  }
  if (const char* dir = std::getenv("SESSNIC_BENCH_PARTS"))
    std::ofstream(std::string(dir) + "/dispatch_tls13.json") << fmt::format("{{\"dispatch_tls13_full_transfers\": {:.0f}}}\n", asked);
  return 0;
}
