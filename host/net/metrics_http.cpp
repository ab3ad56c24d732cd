#include "metrics_http.hpp"

#include <fmt/format.h>

#include <chrono>
#include <memory>

namespace sessnic::net {

using asio::ip::tcp;

MetricsHttp::MetricsHttp(asio::any_io_executor ex, const tcp::endpoint& ep, Render render, Health health)
    : ex_(std::move(ex)), acceptor_(ex_), render_(std::move(render)), health_(std::move(health)) {
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
}

MetricsHttp::~MetricsHttp() { close(); }

void MetricsHttp::start() { accept_next(); }

void MetricsHttp::close() {
  std::error_code ignored;
  acceptor_.close(ignored);
}

static std::string reply(const char* status, const char* type, const std::string& body) {
  return fmt::format("HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", status,
                     type, body.size(), body);
}

std::string metrics_http_response(const std::string& head, const MetricsHttp::Render& render,
                                  const MetricsHttp::Health& health) {
  auto is = [&](const char* path) {
    const std::string get = fmt::format("GET {} ", path), head_req = fmt::format("HEAD {} ", path);
    return head.rfind(get, 0) == 0 || head.rfind(head_req, 0) == 0;
  };
  if (is("/metrics") || is("/")) return reply("200 OK", "text/plain; version=0.0.4", render ? render() : "");
  if (is("/healthz")) {
    std::string why = health ? health() : std::string();
    if (why.empty()) return reply("200 OK", "text/plain", "ok\n");
    return reply("503 Service Unavailable", "text/plain", why + "\n");
  }
  return reply("404 Not Found", "text/plain", "not found (try /metrics or /healthz)\n");
}

void MetricsHttp::accept_next() {
  acceptor_.async_accept(ex_, [this](std::error_code ec, tcp::socket s) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      return accept_next();
    }
    struct Req {
      Req(tcp::socket s, const asio::any_io_executor& ex) : sock(std::move(s)), timer(ex) {}
      tcp::socket sock;
      asio::steady_timer timer;
      asio::streambuf buf{8192};  // a request head larger than this is refused (read fails)
      std::string out;
    };
    auto r = std::make_shared<Req>(std::move(s), ex_);
    r->timer.expires_after(std::chrono::seconds(2));
    r->timer.async_wait([r](std::error_code e) {
      std::error_code ignored;
      if (!e) r->sock.close(ignored);
    });
    asio::async_read_until(r->sock, r->buf, "\r\n\r\n", [this, r](std::error_code e, size_t) {
      if (e) return;
      std::string head(asio::buffers_begin(r->buf.data()), asio::buffers_end(r->buf.data()));
      r->out = metrics_http_response(head, render_, health_);
      asio::async_write(r->sock, asio::buffer(r->out), [r](std::error_code, size_t) {
        std::error_code ignored;
        r->timer.cancel();
        r->sock.shutdown(tcp::socket::shutdown_both, ignored);
        r->sock.close(ignored);
      });
    });
    accept_next();
  });
}

}  // namespace sessnic::net
