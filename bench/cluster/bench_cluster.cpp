// bench_cluster: sessions through real client behaviour, on a real loopback cluster
// (three sessnic-server processes on the UDP backplane, sessnic-dispatch in front).
//  * unclean_close_resume_rate: 200 clients (100 TLS 1.2, 100 TLS 1.3; half of each
//    after one keep-alive request) do a full handshake on flights, close TCP without
//    close_notify, then - 20 ms later - offer the session through the dispatcher to
//    cars (another server). Resumed / attempts; goal 1.0.
// Writes $SESSNIC_BENCH_PARTS/cluster.json when that variable is set.
#include <fmt/format.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "local_cluster.hpp"
#include "tls_test_support.hpp"
#include "tls_visit.hpp"

using namespace sessnic;

int main() try {
  constexpr int kPerVersion = 100;
  const auto t0 = std::chrono::steady_clock::now();
  dispatch::testing::LocalCluster cluster;
  int attempts = 0, resumed = 0, errors = 0;
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto client = testtls::make_client_ctx(version);
    int v_resumed = 0;
    for (int i = 0; i < kPerVersion; ++i) {
      cluster_test::VisitOptions first_opt;
      first_opt.request = i % 2 == 1;
      first_opt.close_notify = false;
      cluster_test::Visit first = cluster_test::visit(client.get(), cluster.port_on, "flights.travel.test", first_opt);
      if (!first.ok) {
        ++errors;
        continue;
      }
      // A client's next page comes human-time later; 20 ms also leaves a TLS 1.2
      // server the moment between sending its Finished and storing the session (a
      // separate race, see docs/openssl.md).
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      cluster_test::VisitOptions again_opt;
      again_opt.session = first.session.get();
      cluster_test::Visit again = cluster_test::visit(client.get(), cluster.port_on, "cars.travel.test", again_opt);
      ++attempts;
      if (again.ok && again.reused && again.server == "cars") ++v_resumed;
      if (!again.ok) ++errors;
    }
    resumed += v_resumed;
    fmt::print("  {}  resumed on another server after a close without close_notify: {}/{}\n",
               version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2", v_resumed, kPerVersion);
  }
  const double rate = attempts > 0 ? static_cast<double>(resumed) / attempts : 0.0;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("unclean_close_resume_rate {:.4f} ({} attempts, {} connection errors, {:.1f} s)\n", rate, attempts, errors,
             secs);
  if (const char* dir = std::getenv("SESSNIC_BENCH_PARTS"); dir != nullptr && *dir != '\0') {
    std::ofstream out(std::string(dir) + "/cluster.json");
    out << fmt::format("{{\"unclean_close_resume_rate\": {:.6f}}}\n", rate);
    if (!out) {
      fmt::print(stderr, "bench_cluster: cannot write {}/cluster.json\n", dir);
      return 1;
    }
  }
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "bench_cluster: {}\n", e.what());
  return 1;
}
