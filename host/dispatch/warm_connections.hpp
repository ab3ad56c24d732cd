// Connections to each server opened before a client needs them (what Envoy calls
// "preconnect"): a routed hello goes out on an already established TCP connection, so
// the connect (and the server's accept and connection set-up) leaves the client's
// critical path. Nothing is sent on a spare before a client's bytes, so a spare is just
// an idle TCP connection to the server; it is closed unused after `max_age`, well inside
// a server's handshake timeout (sessnic-server 10 s, nginx 60 s), and the server sees a
// connect-and-close with no byte, which it does not count as a failed handshake.
#pragma once
#include <asio.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "router.hpp"

namespace sessnic::dispatch {

class WarmConnections : public std::enable_shared_from_this<WarmConnections> {
 public:
  using Clock = std::chrono::steady_clock;

  // `per_server` spares per server (0 = off); each kept at most `max_age`.
  WarmConnections(asio::io_context& io, size_t per_server, std::chrono::milliseconds max_age);

  // A socket to `b`, connected or with its connect on the way (non-blocking, TCP_NODELAY,
  // on the io_context's own executor), or nullopt when none is ready. Call it on the
  // thread that runs the io_context.
  std::optional<asio::ip::tcp::socket> take(const std::shared_ptr<Backend>& b);
  // Tops up `b`'s spares (after a take, when the caller's connection no longer needs the
  // server's attention).
  void replace(const std::shared_ptr<Backend>& b);

  // Keeps `per_server` spares for every server of `router` (and drops spares of servers
  // it no longer has) now and every max_age / 2 until stop().
  void start(std::function<std::shared_ptr<Router>()> router);
  void stop();

  size_t spares() const;      // ready now, all servers
  uint64_t used() const;      // hellos that went out on a spare
  uint64_t discarded() const; // spares closed unused (too old, or closed by the server)

 private:
  struct Spare {
    asio::ip::tcp::socket sock;
    Clock::time_point opened;
  };
  struct Pool {
    std::deque<Spare> ready;
  };

  void fill(const std::shared_ptr<Backend>& b);
  void refresh();
  static bool alive(asio::ip::tcp::socket& s);

  asio::io_context& io_;
  const size_t per_server_;
  const std::chrono::milliseconds max_age_;
  // The io_context's own: one thread (the dispatcher's loop) runs it, so no strand.
  asio::io_context::executor_type ex_;
  asio::steady_timer timer_;
  std::function<std::shared_ptr<Router>()> router_;
  mutable std::mutex mu_;  // guards pools_, stopped_ and the counters
  std::map<std::shared_ptr<Backend>, Pool> pools_;
  bool stopped_ = false;
  uint64_t used_ = 0, discarded_ = 0;
};

}  // namespace sessnic::dispatch
