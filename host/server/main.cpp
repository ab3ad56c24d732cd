// sessnic-server --config CLUSTER.toml --name NAME [--listen host:port]
// One location of the cluster: serves its content directory over HTTPS on its own card.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <signal.h>

#include <csignal>

#include "cluster_config.hpp"
#include "https_server.hpp"
#include "server_device.hpp"
#include "sessnic/key_file.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sessnic-server: HTTPS static server sharing TLS sessions through its sessnic card"};
  std::string config_path, name, listen;
  app.add_option("-c,--config", config_path, "cluster config (TOML)")->required();
  app.add_option("-n,--name", name, "which [[server]] of the config this process is")->required();
  app.add_option("--listen", listen, "override the server's listen address (host:port)");
  CLI11_PARSE(app, argc, argv);

  // SIGINT/SIGTERM are taken synchronously by sigwait below, in no particular thread.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    auto cfg = sessnic::config::load_cluster_config(config_path);
    const auto* self = cfg.find_server(name);
    if (!self) throw std::invalid_argument(fmt::format("{}: no [[server]] named '{}'", config_path, name));
    auto me = *self;
    if (!listen.empty()) {
      auto ep = sessnic::config::parse_endpoint(listen);
      if (!ep) throw std::invalid_argument(fmt::format("--listen '{}' is not host:port", listen));
      me.listen = *ep;
    }
    auto keys = sessnic::load_key_file(cfg.key_file);
    sessnic::Sealer sealer(keys);
    auto card = sessnic::server::open_server_card(cfg, me, keys);

    sessnic::server::ServerOptions o;
    o.name = me.name;
    o.host = me.listen.host;
    o.port = me.listen.port;
    o.content = me.content;
    o.cert = cfg.tls.cert;
    o.key = cfg.tls.key;
    o.service = cfg.tls.session_context;
    o.proxy_protocol = me.proxy_protocol;
    o.threads = me.threads;
    o.session_timeout_s = cfg.tls.session_timeout_s;
    sessnic::server::HttpsServer srv(o, card->device(), sealer);
    srv.start();
    fmt::print("sessnic-server {}: https://{}:{}/ serving {} on {}{}\n", me.name, o.host, srv.port(), o.content.string(),
               card->describe(), o.proxy_protocol ? ", PROXY v2 required" : "");
    std::fflush(stdout);

    int sig = 0;
    sigwait(&sigs, &sig);
    srv.stop();
    auto& c = srv.counters();
    fmt::print("sessnic-server {}: stopping; connections={} full={} resumed={} failed={} requests={} | {}\n", me.name,
               c.connections.load(), c.handshakes_full.load(), c.handshakes_resumed.load(),
               c.handshake_failures.load(), c.requests.load(), srv.attach_counters());
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sessnic-server: {}\n", e.what());
    return 1;
  }
}
