// sessnic-card --config CLUSTER.toml --server NAME [--socket PATH] [--device model|verilator|xrt]
// The per-host card service: opens server NAME's card (device + backplane node, with the
// start-up sessnic-server uses: host/config/server_card.hpp) and serves it to every
// process of the host that attaches to the socket (default: the server's `card_service`
// in the config). docs/integrate.md. SIGINT/SIGTERM stop it; logs go to stderr.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "card_service.hpp"
#include "server_card.hpp"
#include "sessnic/key_file.hpp"
#include "sessnic/logging.hpp"
#include "sessnic/process_start.hpp"
#include "sessnic/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sessnic-card: the host's sessnic card, shared by every server process through shared-memory rings"};
  std::string config_path, name, socket, device, log_level;
  unsigned ring_log2 = 8;
  app.add_option("-c,--config", config_path, "cluster config (TOML)")->required();
  app.add_option("-n,--server", name, "the [[server]] whose card this host holds")->required();
  app.add_option("--socket", socket, "attach socket (default: the server's card_service in the config)");
  app.add_option("--device", device,
                 "card device kind (model, verilator, xrt: as this build has them); default: the server's device");
  app.add_option("--ring-log2", ring_log2, "each client's rings hold 2^N 64-byte slots")->check(CLI::Range(4, 16));
  app.add_option("--log-level", log_level, std::string("log level: ") + sessnic::logging::kLevels);
  app.set_version_flag("--version", std::string("sessnic-card ") + sessnic::kVersion);
  CLI11_PARSE(app, argc, argv);

  const sessnic::SignalSet stop{SIGINT, SIGTERM};  // before any thread starts
  if (!sessnic::start_process("sessnic-card", log_level)) return 2;

  try {
    auto [cfg, self] = sessnic::config::load_server_section(config_path, name);
    if (!device.empty()) self.device = device;
    sessnic::cardsvc::CardServiceOptions o;
    if (!socket.empty())
      o.socket = socket;
    else if (self.card_service)
      o.socket = *self.card_service;
    else
      throw std::invalid_argument(fmt::format("server '{}' has no card_service socket in {}; give --socket", name, config_path));
    o.layout.cmd_log2 = o.layout.rsp_log2 = ring_log2;

    auto keys = sessnic::load_key_file(cfg.key_file);
    auto card = sessnic::config::open_cluster_card(cfg, self, keys);
    o.description = card.description();
    sessnic::cardsvc::CardService service(card.device(), o);
    service.start();
    spdlog::info("{}: {} on {}", name, card.description(), o.socket.string());

    const int sig = stop.wait();
    spdlog::info("{}: signal {}, stopping", name, sig);
    service.stop();
    const auto& c = service.counters();
    spdlog::info("{}: stopped; clients attached={} reaped={} refused={} commands={} privileged_refused={}", name,
                 c.attached.load(), c.reaped.load(), c.refused.load(), c.card.commands.load(), c.card.privileged.load());
    return 0;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}
