// One client connection: hello -> route -> (transfer || connect) -> forward -> splice,
// every handler on the executor of the event loop that accepted it (one thread). It
// knows its dispatcher only through ConnectionHost: settings, counters, the current
// routes and the transfer service.
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
  // `client` was accepted from `peer` on the dispatcher's address `local` (what the PROXY
  // v2 header names as the destination).
  Connection(ConnectionHost& host, asio::ip::tcp::socket client, const asio::ip::tcp::endpoint& peer,
             const asio::ip::tcp::endpoint& local, Admission::Ticket ticket);
  void start();

 private:
  using Clock = std::chrono::steady_clock;
  enum class Phase { hello, connect, splice };

  // One timer per connection, armed once for the hello and re-armed only when a phase
  // needs an earlier deadline (a connect that did not complete at once): each re-arm
  // costs a cancelled wait and a trip through the event loop.
  void watch(Phase p, Clock::time_point deadline);
  void wait_timer(Clock::time_point at);
  void on_timer();
  void read_hello();
  void on_hello();
  void connect_server();
  void await_connect();  // a transfer is pending: the hello waits for it, so confirm the connect first
  void connect_failed();
  void connected();
  // session_pull server: fires the move toward its card (Transfers::start), no waiting.
  void fire_early_move();
  void transfer_done(TransferOutcome o);
  void forward();
  void forwarded();
  // The splice, one direction: what an asio read brought (`n` bytes, or `ec`) plus what
  // else `from` has goes out in one send (relay), then the next read (sent) or the
  // direction's end (end_direction).
  void relay(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to, uint8_t* buf, bool c2s, std::error_code ec,
             size_t n);
  void sent(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to, uint8_t* buf, bool c2s, bool eof,
            std::error_code rec);
  void read_next(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to, uint8_t* buf, bool c2s);
  void end_direction(asio::ip::tcp::socket& to, bool c2s, std::error_code ec);
  void refill();  // once per connection that asked WarmConnections: top up the spares
  void close(std::optional<CloseReason> reason = std::nullopt, const char* end = "closed");
  void access_log(const char* end) const;

  ConnectionHost& host_;
  asio::ip::tcp::socket client_;
  asio::ip::tcp::socket server_;
  asio::steady_timer timer_;
  asio::steady_timer transfer_timer_;
  Admission::Ticket ticket_;
  HelloAssembler hello_;
  // Both relay buffers in one block, not zero-filled (they are only ever read into).
  std::unique_ptr<uint8_t[]> buffers_;
  std::vector<uint8_t> proxy_header_;
  asio::ip::tcp::endpoint peer_, local_;
  std::shared_ptr<Router> router_;    // the routes this connection was routed by
  std::shared_ptr<Backend> backend_;
  TransferPlan plan_;
  std::optional<ServerHelloReader> server_hello_;  // what the server decided, for the access log
  std::optional<TransferOutcome> outcome_;
  Phase phase_ = Phase::hello;
  Clock::time_point phase_deadline_{}, timer_at_{};
  bool timer_waiting_ = false;
  bool connected_ = false;         // the server connection is confirmed (a byte went out, or it was writable)
  bool transfer_pending_ = false;  // the hello waits for a transfer's answer or deadline
  bool refill_pending_ = false;    // asked WarmConnections for a spare, not yet replaced
  int open_directions_ = 2;
  bool closed_ = false;
  bool pull_hint_ = false;  // the server pulls the session (Backend::session_pull): say so in PROXY v2
  bool move_in_flight_ = false;  // ... and the move toward it was fired at the hello (the hint says so)
  Clock::time_point opened_ = Clock::now(), hello_at_{}, transfer_asked_{}, forwarded_at_{}, last_activity_ = Clock::now();
  double transfer_us_ = 0;
  uint64_t bytes_c2s_ = 0, bytes_s2c_ = 0;
};

}  // namespace sessnic::dispatch
