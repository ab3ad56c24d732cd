// The operator's plain-HTTP window into a process: GET /metrics (Prometheus text format
// 0.0.4) and GET /healthz ("ok", or 503 with the reason). One request per connection,
// bounded in size and time, served on the io_context the owner gives it. It binds where
// the config says; the configs default to loopback, since the figures are not secret but
// the endpoint is not hardened for the open internet.
#pragma once
#include <asio.hpp>

#include <functional>
#include <string>

namespace sessnic::net {

class MetricsHttp {
 public:
  using Render = std::function<std::string()>;
  // Empty string = healthy; otherwise the reason served with 503.
  using Health = std::function<std::string()>;

  // Binds `ep` (port 0 = any free port). Throws std::system_error when it cannot bind.
  MetricsHttp(asio::any_io_executor ex, const asio::ip::tcp::endpoint& ep, Render render, Health health = {});
  ~MetricsHttp();
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

  void start();  // begins accepting
  void close();  // stops accepting; requests in flight finish or time out
  uint16_t port() const { return port_; }

 private:
  void accept_next();
  asio::any_io_executor ex_;
  asio::ip::tcp::acceptor acceptor_;
  Render render_;
  Health health_;
  uint16_t port_ = 0;
};

// Parses the request line of a bounded request head; the answer MetricsHttp sends.
// Exposed for tests.
std::string metrics_http_response(const std::string& head, const MetricsHttp::Render& render,
                                  const MetricsHttp::Health& health);

}  // namespace sessnic::net
