// sessnic-dispatch: the load dispatching processor as an L4 proxy on asio.
//
// Per connection (Connection): read the ClientHello (any segmentation, bounded size and
// time), route by content (Router), and when the hello offers a session that is not where
// the chosen server will look for it, ask the mover to move it there (Transfers) - in
// parallel with the TCP connect to the server, never blocking a thread, and bounded by a
// deadline that counts from the hello's arrival - then forward the buffered bytes (after
// an optional PROXY v2 header) and splice both directions. A failed or slow transfer
// never stalls the client: the hello goes out anyway and the server does a full handshake.
//
// Threads: `io_threads` run the io_context; with more than one, every connection has its
// own strand; the listener, signals, health checks and the metrics endpoint share the
// control strand.
// Transfer answers come from the backplane node's thread and are posted to the strand.
//
// Signals: SIGTERM/SIGINT drain (a second one stops at once); SIGHUP re-reads the config
// and swaps the routes and the server list without touching open connections.
#pragma once
#include <asio.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "admission.hpp"
#include "cluster_config.hpp"
#include "connection.hpp"
#include "health_checker.hpp"
#include "metrics.hpp"
#include "metrics_http.hpp"
#include "router.hpp"
#include "session_mover.hpp"
#include "transfers.hpp"
#include "warm_connections.hpp"

namespace sessnic::dispatch {

class Dispatcher : private ConnectionHost {
 public:
  // What SIGHUP reloads from (normally: parse the config file again). Throws on a bad file.
  using ConfigSource = std::function<config::ClusterConfig()>;

  // Binds the listener (SO_REUSEPORT, so a successor can bind it too) and the metrics
  // endpoint (port 0 = any free port). Throws std::system_error when a port cannot be
  // bound. `mover` may be null (no backplane): then every transfer counts as failed and
  // the servers do full handshakes.
  Dispatcher(const config::ClusterConfig& cfg, std::shared_ptr<SessionMover> mover, ConfigSource reload_from = {});
  ~Dispatcher();

  // Runs until stop() or until a graceful drain completes. Call once.
  void run();
  // Stop accepting, give up every port (listener, metrics, backplane) so a successor can
  // start, let open connections finish (up to drain_timeout), then return from run().
  void drain();
  void stop();
  // Swaps in the routes and the server list of `cfg` (any thread). Open connections keep
  // the server they have; other [dispatcher] settings need a restart.
  void reload(const config::ClusterConfig& cfg);

  uint16_t port() const { return listen_port_; }
  uint16_t metrics_port() const { return metrics_port_; }
  Metrics& metrics() override { return metrics_; }
  std::shared_ptr<Router> router() const override;
  // Empty = healthy; otherwise why not (served by /healthz with 503).
  std::string health() const;

 private:
  const config::DispatcherConfig& settings() const override { return cfg_; }
  Transfers& transfers() override { return transfers_; }
  WarmConnections& warm() override { return *warm_; }
  void connection_finished() override;

  void accept_next();
  void wait_signal();
  void reload_from_source();
  void begin_drain();

  config::DispatcherConfig cfg_;
  ConfigSource reload_from_;
  asio::io_context io_;
  asio::strand<asio::io_context::executor_type> control_;
  asio::ip::tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer drain_timer_;
  Metrics metrics_;
  Transfers transfers_;
  std::shared_ptr<Admission> admission_;
  mutable std::mutex router_mu_;
  std::shared_ptr<Router> router_;
  HealthChecker health_;
  std::shared_ptr<WarmConnections> warm_;
  std::unique_ptr<net::MetricsHttp> metrics_http_;
  std::atomic<size_t> active_{0};
  std::atomic<bool> draining_{false};
  asio::ip::tcp::endpoint accept_peer_;      // filled by the accept in flight (one at a time)
  asio::ip::tcp::endpoint listen_endpoint_;  // where clients connect (the PROXY v2 destination)
  bool listen_any_ = false;                  // bound to 0.0.0.0 / ::: ask each socket instead
  uint16_t listen_port_ = 0;
  uint16_t metrics_port_ = 0;
};

}  // namespace sessnic::dispatch
