// sessnic-dispatch --config CLUSTER.toml [--no-share] [--policy content|affinity]
// The load dispatcher as a foreground process: SIGTERM/SIGINT drain gracefully.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cluster_config.hpp"
#include "dispatcher.hpp"
#include "make_mover.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sessnic-dispatch: TLS-aware L4 load dispatcher with session transfer"};
  std::string config_path, policy, listen, metrics;
  bool no_share = false;
  app.add_option("-c,--config", config_path, "cluster config (TOML)")->required();
  app.add_flag("--no-share", no_share, "do not transfer sessions (baseline: full handshake on every server change)");
  app.add_option("--policy", policy, "content (default) or affinity (sticky baseline)");
  app.add_option("--listen", listen, "override dispatcher.listen (host:port)");
  app.add_option("--metrics", metrics, "override dispatcher.metrics (host:port)");
  CLI11_PARSE(app, argc, argv);

  try {
    auto cfg = sessnic::config::load_cluster_config(config_path);
    if (no_share) cfg.dispatcher.sharing = false;
    if (!policy.empty()) {
      if (policy == "content") cfg.dispatcher.policy = sessnic::config::Policy::content;
      else if (policy == "affinity") cfg.dispatcher.policy = sessnic::config::Policy::affinity;
      else throw std::invalid_argument("--policy must be content or affinity");
    }
    auto override_ep = [](const std::string& s, sessnic::config::Endpoint& e, const char* what) {
      if (s.empty()) return;
      auto ep = sessnic::config::parse_endpoint(s);
      if (!ep) throw std::invalid_argument(fmt::format("{} '{}' is not host:port", what, s));
      e = *ep;
    };
    override_ep(listen, cfg.dispatcher.listen, "--listen");
    override_ep(metrics, cfg.dispatcher.metrics, "--metrics");

    // With sharing off nothing is ever moved, so no backplane node is needed (and a second,
    // no-share dispatcher can run next to a sharing one for side-by-side comparisons).
    auto mover = cfg.dispatcher.sharing ? sessnic::dispatch::make_mover(cfg) : nullptr;
    sessnic::dispatch::Dispatcher d(cfg, mover);
    fmt::print("sessnic-dispatch: listening on {}:{}, metrics on http://{}:{}/metrics, sharing {}, policy {}, "
               "transfers via {}\n",
               cfg.dispatcher.listen.host, d.port(), cfg.dispatcher.metrics.host, d.metrics_port(),
               cfg.dispatcher.sharing ? "on" : "off",
               cfg.dispatcher.policy == sessnic::config::Policy::content ? "content" : "affinity",
               mover ? "backplane" : (cfg.dispatcher.sharing ? "nothing (no backplane configured)" : "nothing (sharing off)"));
    std::fflush(stdout);
    d.run();
    fmt::print("sessnic-dispatch: stopped\n");
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sessnic-dispatch: {}\n", e.what());
    return 1;
  }
}
