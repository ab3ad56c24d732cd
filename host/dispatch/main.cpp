// sessnic-dispatch --config CLUSTER.toml [--no-share] [--policy content|affinity]
// The load dispatcher as a foreground process: SIGTERM/SIGINT drain gracefully, SIGHUP
// reloads the routes and the server list from the config file.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <optional>

#include "cluster_config.hpp"
#include "dispatcher.hpp"
#include "make_mover.hpp"
#include "sessnic/logging.hpp"
#include "sessnic/process_start.hpp"
#include "sessnic/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sessnic-dispatch: TLS-aware L4 load dispatcher with session transfer"};
  std::string config_path, policy, listen, metrics, log_level;
  bool no_share = false;
  std::optional<size_t> warm;
  app.set_version_flag("--version", std::string("sessnic-dispatch ") + sessnic::kVersion);
  app.add_option("-c,--config", config_path, "cluster config (TOML)")->required();
  app.add_flag("--no-share", no_share, "do not transfer sessions (baseline: full handshake on every server change)");
  app.add_option("--policy", policy, "content (default) or affinity (sticky baseline)");
  app.add_option("--listen", listen, "override dispatcher.listen (host:port)");
  app.add_option("--metrics", metrics, "override dispatcher.metrics (host:port)");
  app.add_option("--log-level", log_level, sessnic::logging::kLevels);
  app.add_option("--warm-connections", warm, "override dispatcher.warm_connections (spares per server, 0 = off)")
      ->check(CLI::Range(0, 64));
  CLI11_PARSE(app, argc, argv);

  // Its signals (SIGTERM/SIGINT drain, SIGHUP reload) are the Dispatcher's asio signal_set.
  if (!sessnic::start_process("sessnic-dispatch", log_level)) return 2;
  try {
    // The command line wins over the file, at start and at every reload.
    auto load = [&] {
      auto cfg = sessnic::config::load_cluster_config(config_path);
      if (no_share) cfg.dispatcher.sharing = false;
      if (warm) cfg.dispatcher.warm_connections = *warm;
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
      return cfg;
    };
    auto cfg = load();

    // With sharing off nothing is ever moved, so no backplane node is needed (and a second,
    // no-share dispatcher can run next to a sharing one for side-by-side comparisons).
    auto mover = cfg.dispatcher.sharing ? sessnic::dispatch::make_mover(cfg) : nullptr;
    sessnic::dispatch::Dispatcher d(cfg, mover, load);
    spdlog::info("{} listening on {}:{}, metrics on http://{}:{}/metrics, sharing {}, policy {}, transfers via {}",
                 sessnic::kVersion, cfg.dispatcher.listen.host, d.port(), cfg.dispatcher.metrics.host, d.metrics_port(),
                 cfg.dispatcher.sharing ? "on" : "off",
                 cfg.dispatcher.policy == sessnic::config::Policy::content ? "content" : "affinity",
                 mover ? "backplane" : (cfg.dispatcher.sharing ? "nothing (no backplane configured)" : "nothing (sharing off)"));
    d.run();
    spdlog::info("stopped");
    return 0;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}
