#include "https_server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "https_connection.hpp"

namespace sessnic::server {

using asio::ip::tcp;

namespace {

// "127.0.0.1", "::1" or "[::1]" (the config's bracketed IPv6 form).
asio::ip::address parse_address(std::string host, const char* what) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::error_code ec;
  auto a = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error(fmt::format("{} address '{}' is not an IP address", what, host));
  return a;
}

}  // namespace

HttpsServer::HttpsServer(ServerOptions opt, Device& device, const Sealer& sealer)
    : opt_(std::move(opt)),
      device_(device),
      tls_(opt_.tls, device, sealer),
      site_(opt_.content, opt_.name),
      acceptor_(io_),
      accept_retry_(io_) {
  // Connections start on the default SSL_CTX, where the ClientHello callback runs.
  if (opt_.session_pull) pull_ = std::make_unique<SessionPull>(tls_.default_ctx(), device_, tls_.ctx_id());
  tcp::endpoint ep(parse_address(opt_.host, "listen"), opt_.port);
  std::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(4096, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot listen on {}:{}: {}", opt_.host, opt_.port, ec.message()));
  port_ = acceptor_.local_endpoint().port();
  if (opt_.metrics) {
    tcp::endpoint mep(parse_address(opt_.metrics->host, "metrics"), opt_.metrics->port);
    try {
      metrics_ = std::make_unique<net::MetricsHttp>(io_.get_executor(), mep, [this] { return metrics_text(); });
    } catch (const std::system_error& e) {
      throw std::runtime_error(fmt::format("cannot serve metrics on {}: {}", opt_.metrics->str(), e.what()));
    }
  }
}

HttpsServer::~HttpsServer() { stop(); }

void HttpsServer::start() {
  accept_next();
  if (metrics_) metrics_->start();
  for (unsigned i = 0; i < std::max(1u, opt_.threads); ++i) threads_.emplace_back([this] { io_.run(); });
}

void HttpsServer::stop() {
  if (stopping_.exchange(true)) return;
  io_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  pull_.reset();  // its pulls in flight post to the io_context: done before it goes
  // No I/O thread runs now. Connections still open are dropped with the io_context's
  // pending handlers when the server is destroyed; their destructors keep the sessions.
  std::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  if (metrics_) metrics_->close();
}

void HttpsServer::accept_next() {
  acceptor_.async_accept(asio::make_strand(io_), [this](std::error_code ec, tcp::socket s) {
    if (ec) {
      if (!acceptor_.is_open() || ec == asio::error::operation_aborted) return;
      // Out of file descriptors (or similar): the pending connection stays in the backlog,
      // so retrying at once would spin; try again shortly.
      counters_.accept_errors++;
      spdlog::warn("accept failed: {}; retrying in 100 ms", ec.message());
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([this](std::error_code e) {
        if (!e) accept_next();
      });
      return;
    }
    if (static_cast<size_t>(counters_.connections_open.load()) >= opt_.max_connections) {
      counters_.connections_refused++;
      std::error_code ignored;
      s.close(ignored);
    } else {
      std::make_shared<HttpsConnection>(std::move(s), ConnectionEnv{opt_, tls_, site_, counters_, pull_.get()})->start();
    }
    accept_next();
  });
}

std::string HttpsServer::metrics_text() const {
  std::optional<TableStats> table;
  try {
    table = device_.stats();
  } catch (const std::exception& e) {
    spdlog::debug("card STATS failed: {}", e.what());
  }
  std::string text = render_prometheus(counters_, tls_.attach_counters(), table);
  if (pull_) text += pull_->metrics_text();
  if (opt_.extra_metrics) text += opt_.extra_metrics();
  return text;
}

}  // namespace sessnic::server
