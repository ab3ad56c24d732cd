// sessnic-travel: runs the travel scenario through two dispatchers of the same cluster,
// one with sharing off and one with sharing on, and prints them side by side (the
// patent's FIG. 3 vs FIG. 6, with measured numbers).
//   sessnic-travel --off 127.0.0.1:8444 --on 127.0.0.1:8443 [--clients 20] [--tls 1.3]
#include <CLI/CLI.hpp>
#include <openssl/ssl.h>
#include <fmt/format.h>

#include "cluster_config.hpp"
#include "sessnic/version.hpp"
#include "travel_scenario.hpp"

using namespace sessnic::dispatch;

int main(int argc, char** argv) {
  CLI::App app{"sessnic-travel: the travel scenario, sharing off vs on"};
  std::string off, on, tls = "1.3";
  size_t clients = 20;
  app.set_version_flag("--version", std::string("sessnic-travel ") + sessnic::kVersion);
  app.add_option("--off", off, "dispatcher with sharing off (host:port)")->required();
  app.add_option("--on", on, "dispatcher with sharing on (host:port)")->required();
  app.add_option("--clients", clients, "clients per run (the table shows the first; figures cover all)");
  app.add_option("--tls", tls, "1.2 or 1.3")->check(CLI::IsMember({"1.2", "1.3"}));
  CLI11_PARSE(app, argc, argv);
  auto e_off = sessnic::config::parse_endpoint(off), e_on = sessnic::config::parse_endpoint(on);
  if (!e_off || !e_on || clients == 0) {
    fmt::print(stderr, "sessnic-travel: --off/--on must be host:port and --clients > 0\n");
    return 2;
  }
  int version = tls == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
  auto steps = default_travel_steps();
  TravelRun a = run_travel(e_off->host, e_off->port, steps, clients, version);
  TravelRun b = run_travel(e_on->host, e_on->port, steps, clients, version);

  auto kind = [](const StepOutcome& s) -> std::string {
    if (!s.ok) return "FAILED";
    return s.resumed && s.server_resumed ? "resumed" : "full";
  };
  fmt::print("\nTLS {} - one client books a flight, a car and a hotel (new connection each time)\n\n", tls);
  fmt::print("{:<15}|{:^36}|{:^36}\n", "", "sharing OFF (FIG. 3: prior art)", "sharing ON (FIG. 6: sessnic)");
  fmt::print("{:<15}|{:<9}{:<10}{:>8}{:>9} |{:<9}{:<10}{:>8}{:>9}\n", "step", " server", "handshake", "time",
             "median", " server", "handshake", "time", "median");
  fmt::print("{:-<15}+{:-<36}+{:-<36}\n", "", "", "");
  for (size_t i = 0; i < steps.size(); ++i) {
    auto& x = a.clients[0][i];
    auto& y = b.clients[0][i];
    fmt::print("{:<15}| {:<8}{:<10}{:>6.0f}us{:>7.0f}us | {:<8}{:<10}{:>6.0f}us{:>7.0f}us\n", steps[i].label, x.server,
               kind(x), x.handshake_us, a.median_us(i), y.server, kind(y), y.handshake_us, b.median_us(i));
  }
  fmt::print("{:-<15}+{:-<36}+{:-<36}\n", "", "", "");
  fmt::print("{:<15}| {:<35}| {:<35}\n", "resumed",
             fmt::format("{}/{} server changes = {:.1f}%", a.resumed_changes(), a.changes(), 100 * a.resumption_rate()),
             fmt::format("{}/{} server changes = {:.1f}%", b.resumed_changes(), b.changes(), 100 * b.resumption_rate()));
  auto load = [](const TravelRun& r) {
    std::string s;
    for (auto& [name, n] : r.load()) s += fmt::format("{}={} ", name, n);
    return s;
  };
  fmt::print("{:<15}| {:<35}| {:<35}\n", "load", load(a), load(b));
  double ta = 0, tb = 0;
  for (size_t i = 1; i < steps.size(); ++i) {
    ta += a.median_us(i);
    tb += b.median_us(i);
  }
  fmt::print("{:<15}| {:<35}| {:<35}\n", "steps 2-3", fmt::format("{:.0f} us (median sum)", ta),
             fmt::format("{:.0f} us (median sum)", tb));
  fmt::print("\n({} clients per column; 'time' is the first client, 'median' over all; time = TCP connect + TLS "
             "handshake through the dispatcher)\n",
             clients);
  if (a.failures() || b.failures()) {
    for (auto* r : {&a, &b})
      for (auto& c : r->clients)
        for (auto& s : c)
          if (!s.ok) {
            fmt::print(stderr, "sessnic-travel: a request failed: {}\n", s.error);
            return 1;
          }
  }
  return 0;
}
