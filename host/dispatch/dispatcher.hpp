// sessnic-dispatch: the load dispatching processor as an L4 proxy on asio.
//
// Per connection: read the ClientHello (any segmentation, bounded size and time), route by
// content (Router), and when the hello offers a session whose owner card is not the chosen
// server's card, ask the SessionMover to move it there with a bounded deadline - in
// parallel with the TCP connect to the server - then forward the buffered bytes (after an
// optional PROXY v2 header) and splice both directions. A failed or slow transfer never
// stalls the client: the hello goes out anyway and the server does a full handshake.
//
// Threads: `io_threads` run the io_context (every connection on its own strand, so no
// thread per connection); transfers block, so they run on a small separate worker pool.
#pragma once
#include <asio.hpp>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "cluster_config.hpp"
#include "metrics.hpp"
#include "metrics_http.hpp"
#include "router.hpp"
#include "session_mover.hpp"

namespace sessnic::dispatch {

class Connection;

class Dispatcher {
 public:
  // Binds the listener and the metrics endpoint (port 0 = any free port). Throws
  // std::system_error when a port cannot be bound. `mover` may be null (no backplane):
  // then every transfer counts as failed and the servers do full handshakes.
  Dispatcher(const config::ClusterConfig& cfg, std::shared_ptr<SessionMover> mover);
  ~Dispatcher();

  // Runs until stop() or until a graceful drain completes. Call once.
  void run();
  // Stop accepting, let open connections finish (up to drain_timeout), then return from run().
  void drain();
  void stop();

  uint16_t port() const { return listen_port_; }
  uint16_t metrics_port() const { return metrics_port_; }
  Metrics& metrics() { return *metrics_; }
  Router& router() { return router_; }
  const config::DispatcherConfig& settings() const { return cfg_; }

 private:
  friend class Connection;
  void accept_next();
  void health_round();
  void connection_finished();
  void begin_drain();

  config::DispatcherConfig cfg_;
  asio::io_context io_;
  asio::strand<asio::io_context::executor_type> control_;
  asio::ip::tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer health_timer_;
  asio::steady_timer drain_timer_;
  asio::thread_pool workers_{2};
  Router router_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<net::MetricsHttp> metrics_http_;
  std::shared_ptr<SessionMover> mover_;
  SessionLocations locations_;
  std::vector<asio::ip::tcp::endpoint> backend_eps_;
  std::atomic<size_t> active_{0};
  std::atomic<bool> draining_{false};
  uint16_t listen_port_ = 0;
  uint16_t metrics_port_ = 0;
};

}  // namespace sessnic::dispatch
