// sessnic-server --config CLUSTER.toml --name NAME [--listen host:port] [--metrics host:port]
// One location of the cluster: serves its content directory over HTTPS on its own card.
// SIGINT/SIGTERM stop it; logs go to stderr (sessnic::logging), docs/server.md.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include "https_server.hpp"
#include "server_card.hpp"
#include "server_sharing.hpp"
#include "sessnic/key_file.hpp"
#include "sessnic/logging.hpp"
#include "sessnic/process_start.hpp"
#include "sessnic/version.hpp"

namespace {

// Every connection is a file descriptor: lift the soft limit to what max_connections needs
// (bounded by the hard limit the administrator set), as nginx's worker_rlimit_nofile does.
void raise_fd_limit(size_t max_connections) {
  constexpr rlim_t kSpare = 256;  // listener, metrics, backplane, content files, logs
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t want = static_cast<rlim_t>(max_connections) + kSpare;
  if (rl.rlim_cur >= want) return;
  rlim_t before = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = before;
  if (rl.rlim_cur < want)
    spdlog::warn("open-file limit {} (hard {}) is below max_connections {} + {}: accepts will fail first", rl.rlim_cur,
                 rl.rlim_max, max_connections, kSpare);
  else
    spdlog::info("open-file limit raised from {} to {}", before, rl.rlim_cur);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sessnic-server: HTTPS static server sharing TLS sessions through its sessnic card"};
  std::string config_path, name, listen, metrics, log_level;
  app.add_option("-c,--config", config_path, "cluster config (TOML)")->required();
  app.add_option("-n,--name", name, "which [[server]] of the config this process is")->required();
  app.add_option("--listen", listen, "override the server's listen address (host:port)");
  app.add_option("--metrics", metrics, "override the server's metrics address (host:port; port 0 = off)");
  app.add_option("--log-level", log_level, std::string("log level: ") + sessnic::logging::kLevels);
  app.set_version_flag("--version", std::string("sessnic-server ") + sessnic::kVersion);
  CLI11_PARSE(app, argc, argv);

  const sessnic::SignalSet stop{SIGINT, SIGTERM};  // before any thread starts
  if (!sessnic::start_process("sessnic-server", log_level)) return 2;

  try {
    auto [cfg, me] = sessnic::config::load_server_section(config_path, name);
    auto override_ep = [](const std::string& s, const char* what) {
      auto ep = sessnic::config::parse_endpoint(s);
      if (!ep) throw std::invalid_argument(fmt::format("{} '{}' is not host:port", what, s));
      return *ep;
    };
    if (!listen.empty()) me.listen = override_ep(listen, "--listen");
    if (!metrics.empty()) {
      auto ep = override_ep(metrics, "--metrics");
      me.metrics = ep.port ? std::optional(ep) : std::nullopt;
    }
    raise_fd_limit(me.max_connections);
    auto keys = sessnic::load_key_file(cfg.key_file);
    sessnic::Sealer sealer(keys);
    auto card = sessnic::config::open_cluster_card(cfg, me, keys);  // model, verilator or xrt (docs/alveo.md)

    // [redis]: Redis is the central repository (docs/scaling.md); the card stays in front.
    std::unique_ptr<sessnic::redis::ServerSharing> redis;
    if (cfg.redis) redis = std::make_unique<sessnic::redis::ServerSharing>(cfg, card.device());

    auto o = sessnic::server::server_options(cfg, me);
    if (redis && o.session_pull) {
      // Redis's ClientHello lookup pulls from the owner card itself on a Redis miss.
      spdlog::info("{}: session_pull is off with [redis] (its own lookup pulls on a miss)", me.name);
      o.session_pull = false;
    }
    // /metrics: the server's own figures, then the backplane node's (and Redis's).
    o.extra_metrics = [&card, &redis] { return card.metrics_text() + (redis ? redis->metrics_text() : std::string()); };
    sessnic::server::HttpsServer srv(o, redis ? redis->device() : card.device(), sealer);
    if (redis) redis->install(srv.default_ctx());
    srv.start();
    spdlog::info("{} {}: https://{}:{}/ serving {} on {}{}{}", "sessnic-server", me.name, o.host, srv.port(),
                 o.content.string(), card.description() + (redis ? ", " + redis->description() : std::string()), o.proxy_protocol ? ", PROXY v2 required" : "",
                 srv.metrics_port() ? fmt::format(", metrics on http://{}:{}/metrics", o.metrics->host, srv.metrics_port())
                                    : std::string());

    const int sig = stop.wait();
    spdlog::info("{}: signal {}, stopping", me.name, sig);
    srv.stop();
    auto& c = srv.counters();
    spdlog::info("{}: stopped; connections={} full={} resumed={} failed={} requests={} | {}", me.name,
                 c.connections.load(), c.handshakes_full.load(), c.handshakes_resumed.load(),
                 c.handshake_failures.load(), c.requests.load(), srv.attach_counters());
    return 0;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}
