// One client connection: hello -> route -> (transfer || connect) -> forward -> splice,
// every handler on the connection's own strand. It knows its dispatcher only through
// ConnectionHost: settings, counters, the current routes and the transfer service.
#pragma once
#include <asio.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "admission.hpp"
#include "client_hello.hpp"
#include "cluster_config.hpp"
#include "metrics.hpp"
#include "router.hpp"
#include "server_hello.hpp"
#include "transfers.hpp"
#include "warm_connections.hpp"

namespace sessnic::dispatch {

class ConnectionHost {
 public:
  virtual const config::DispatcherConfig& settings() const = 0;
  virtual Metrics& metrics() = 0;
  virtual std::shared_ptr<Router> router() const = 0;
  virtual Transfers& transfers() = 0;
  virtual WarmConnections& warm() = 0;
  virtual void connection_finished() = 0;  // after the connection's last byte

 protected:
  ~ConnectionHost() = default;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ConnectionHost& host, asio::ip::tcp::socket client, Admission::Ticket ticket);
  void start();

 private:
  using Clock = std::chrono::steady_clock;
  enum class Phase { hello, connect, splice };

  void arm_timer(std::chrono::milliseconds t, Phase p);
  void read_hello();
  void on_hello();
  void connected();
  // session_pull server: fires the move toward its card (Transfers::start), no waiting.
  void fire_early_move();
  void transfer_done(TransferOutcome o);
  void step_done();
  void pump(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to, std::vector<uint8_t>& buf, bool c2s);
  void close(std::optional<CloseReason> reason = std::nullopt, const char* end = "closed");
  void access_log(const char* end) const;

  ConnectionHost& host_;
  asio::ip::tcp::socket client_;
  asio::ip::tcp::socket server_;
  asio::steady_timer timer_;
  asio::steady_timer transfer_timer_;
  Admission::Ticket ticket_;
  HelloAssembler hello_;
  std::vector<uint8_t> c2s_, s2c_, first_write_;
  asio::ip::tcp::endpoint peer_, local_;
  std::shared_ptr<Router> router_;    // the routes this connection was routed by
  std::shared_ptr<Backend> backend_;
  TransferPlan plan_;
  std::optional<ServerHelloReader> server_hello_;  // what the server decided, for the access log
  std::optional<TransferOutcome> outcome_;
  Phase phase_ = Phase::hello;
  int pending_ = 0;
  int open_directions_ = 2;
  bool closed_ = false;
  bool pull_hint_ = false;  // the server pulls the session (Backend::session_pull): say so in PROXY v2
  bool move_in_flight_ = false;  // ... and the move toward it was fired at the hello (the hint says so)
  Clock::time_point opened_ = Clock::now(), hello_at_{}, transfer_asked_{}, forwarded_at_{}, last_activity_ = Clock::now();
  double transfer_us_ = 0;
  uint64_t bytes_c2s_ = 0, bytes_s2c_ = 0;
};

}  // namespace sessnic::dispatch
