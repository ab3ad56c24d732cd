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
// Threads: `io_threads` event loops, each an io_context run by one thread with its own
// SO_REUSEPORT listener on the same port: the kernel spreads new connections over the
// loops, and a connection lives on the loop that accepted it (no strands, no handoff
// between threads). Shared state is read without a lock on a connection's path: the
// routes through a per-loop copy refreshed after a reload, server loads and health and
// the counters as atomics. Signals, health checks, the metrics endpoint and the drain
// timer run on loop 0. Transfer answers come from the backplane node's thread and are
// posted to the connection's loop.
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
#include <vector>

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

class Dispatcher {
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
  Metrics& metrics() { return metrics_; }
  std::shared_ptr<Router> router() const;
  // Connections each event loop has accepted (io_threads entries).
  std::vector<uint64_t> accepted_per_loop() const;
  // Empty = healthy; otherwise why not (served by /healthz with 503).
  std::string health() const;

 private:
  // One event loop: an io_context run by one thread (asio told so: concurrency hint 1),
  // its own listener bound to the dispatcher's port with SO_REUSEPORT, its own spare
  // connections (so a spare is on the same executor as the connection that takes it).
  class Loop final : public ConnectionHost {
   public:
    Loop(Dispatcher& d, size_t warm_per_server);
    const config::DispatcherConfig& settings() const override { return d_.cfg_; }
    Metrics& metrics() override { return d_.metrics_; }
    // This loop's copy of the routes: one atomic load per connection, the lock only
    // after a reload.
    std::shared_ptr<Router> router() const override;
    Transfers& transfers() override { return d_.transfers_; }
    WarmConnections& warm() override { return *warm_; }
    void connection_finished() override { d_.connection_finished(); }

    void listen(const asio::ip::tcp::endpoint& ep);
    void accept_next();

    Dispatcher& d_;
    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_;
    asio::ip::tcp::endpoint accept_peer_;  // filled by the accept in flight (one at a time)
    std::shared_ptr<WarmConnections> warm_;
    mutable std::shared_ptr<Router> router_;
    mutable uint64_t router_version_ = 0;
    std::atomic<uint64_t> accepted_{0};
  };

  void connection_finished();
  void stop_loops();
  void wait_signal();
  void reload_from_source();
  void begin_drain();
  std::string render_metrics() const;

  config::DispatcherConfig cfg_;
  ConfigSource reload_from_;
  Metrics metrics_;
  Transfers transfers_;
  std::shared_ptr<Admission> admission_;
  mutable std::mutex router_mu_;
  std::shared_ptr<Router> router_;
  std::atomic<uint64_t> router_version_{1};  // bumped by every reload, after the swap
  std::vector<std::unique_ptr<Loop>> loops_;  // [0] also runs the control work below
  asio::signal_set signals_;
  asio::steady_timer drain_timer_;
  HealthChecker health_;
  std::unique_ptr<net::MetricsHttp> metrics_http_;
  std::atomic<size_t> active_{0};
  std::atomic<bool> draining_{false};
  asio::ip::tcp::endpoint listen_endpoint_;  // where clients connect (the PROXY v2 destination)
  bool listen_any_ = false;                  // bound to 0.0.0.0 / ::: ask each socket instead
  uint16_t listen_port_ = 0;
  uint16_t metrics_port_ = 0;
};

}  // namespace sessnic::dispatch
