// sessnic-server: a small HTTPS/1.1 static-content server, one process per "location"
// (flights, cars, hotels). Its session cache is the card's session table through
// sessnic::attach, so a session transferred to this card before the ClientHello arrives
// resumes here.
//
// Event-driven: `threads` I/O threads either share one asio io_context (default: any
// thread runs any connection's next step, so a preempted thread holds nobody up) or each
// run their own with their own listening socket on the same port (per_thread_loops:
// SO_REUSEPORT spreads the connections, as nginx's `reuseport`, and a connection's steps
// never wait for another thread to wake up). Measured trade-off in docs/server.md ("How it
// serves"). Each connection is an HttpsConnection (OpenSSL on a non-blocking socket,
// waiting on the reactor) with its own deadlines, so slow or idle clients hold memory,
// never a thread. At most max_connections are open; more are accepted and closed at once
// (counted).
#pragma once
#include <asio.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "metrics_http.hpp"
#include "server_metrics.hpp"
#include "server_options.hpp"
#include "session_pull.hpp"
#include "sessnic/attach.hpp"
#include "sessnic/device.hpp"
#include "sessnic/seal.hpp"
#include "static_site.hpp"
#include "tls_contexts.hpp"

namespace sessnic::server {

class HttpsServer {
 public:
  // Binds the listener (and the metrics endpoint) and attaches `device` to the SSL_CTXs.
  // Throws std::runtime_error (bad cert/key, content directory, port in use, ...).
  // `device` and `sealer` must outlive the server.
  HttpsServer(ServerOptions opt, Device& device, const Sealer& sealer);
  ~HttpsServer();  // stop()
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  void start();  // starts the I/O threads
  void stop();   // closes the listeners, drops every connection, joins the threads

  uint16_t port() const { return port_; }
  uint16_t metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  const ServerCounters& counters() const { return counters_; }
  const SessionPull* session_pull() const { return pull_.get(); }  // null unless opt.session_pull
  AttachCounters attach_counters() const { return tls_.attach_counters(); }
  SSL_CTX* default_ctx() const { return tls_.default_ctx(); }  // where connections start (ClientHello hooks)
  std::string metrics_text() const;  // what GET /metrics answers

 private:
  // An event loop and its listening socket (one per thread, or one for all).
  struct Worker {
    explicit Worker(int threads) : threads(threads), io(threads) {}
    int threads;          // how many threads run io
    asio::io_context io;  // the hint: how many threads run it
    asio::ip::tcp::acceptor acceptor{io};
    asio::steady_timer accept_retry{io};
  };
  void accept_next(Worker& w);

  ServerOptions opt_;
  Device& device_;
  TlsContexts tls_;
  StaticSite site_;
  ServerCounters counters_;
  std::unique_ptr<SessionPull> pull_;
  // Declared after everything a connection refers to: destroying the io_contexts destroys
  // the handlers that keep connections alive.
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<net::MetricsHttp> metrics_;  // on the first worker's io_context
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace sessnic::server
