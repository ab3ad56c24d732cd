#include "https_server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <cerrno>
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
    : opt_(std::move(opt)), device_(device), tls_(opt_.tls, device, sealer), site_(opt_.content, opt_.name) {
  // Connections start on the default SSL_CTX, where the ClientHello callback runs.
  if (opt_.session_pull) pull_ = std::make_unique<SessionPull>(tls_.default_ctx(), device_, tls_.ctx_id());
  tcp::endpoint ep(parse_address(opt_.host, "listen"), opt_.port);
  const unsigned threads = std::max(1u, opt_.threads);
  const unsigned n = opt_.per_thread_loops ? threads : 1;  // event loops
  if (n > 1) {
    // SO_REUSEPORT would let a second server of the same user share the port silently: a
    // plain bind first, so a port in use still fails (and port 0 picks the port here).
    asio::io_context probe_io;
    tcp::acceptor probe(probe_io);
    std::error_code ec;
    probe.open(ep.protocol(), ec);
    if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) probe.bind(ep, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot listen on {}:{}: {}", opt_.host, opt_.port, ec.message()));
    ep.port(probe.local_endpoint().port());
  }
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>(static_cast<int>(threads / n));
    std::error_code ec;
    w->acceptor.open(ep.protocol(), ec);
    if (!ec) w->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && n > 1) {
      // Every worker listens on the same port; the kernel picks one per connection.
      const int one = 1;
      if (::setsockopt(w->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        ec = std::error_code(errno, std::system_category());
    }
    if (!ec) w->acceptor.bind(ep, ec);
    // Accepted sockets inherit it (Linux): no setsockopt per connection.
    if (!ec) w->acceptor.set_option(tcp::no_delay(true), ec);
    if (!ec) w->acceptor.listen(4096, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot listen on {}:{}: {}", opt_.host, ep.port(), ec.message()));
    if (i == 0) ep.port(w->acceptor.local_endpoint().port());  // port 0: the others take the one it got
    workers_.push_back(std::move(w));
  }
  port_ = ep.port();
  if (opt_.metrics) {
    tcp::endpoint mep(parse_address(opt_.metrics->host, "metrics"), opt_.metrics->port);
    try {
      metrics_ = std::make_unique<net::MetricsHttp>(workers_.front()->io.get_executor(), mep,
                                                    [this] { return metrics_text(); });
    } catch (const std::system_error& e) {
      throw std::runtime_error(fmt::format("cannot serve metrics on {}: {}", opt_.metrics->str(), e.what()));
    }
  }
}

HttpsServer::~HttpsServer() { stop(); }

void HttpsServer::start() {
  for (auto& w : workers_) accept_next(*w);
  if (metrics_) metrics_->start();
  const unsigned threads = std::max(1u, opt_.threads);
  for (unsigned i = 0; i < threads; ++i)
    threads_.emplace_back([io = &workers_[i % workers_.size()]->io] { io->run(); });
}

void HttpsServer::stop() {
  if (stopping_.exchange(true)) return;
  for (auto& w : workers_) w->io.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  pull_.reset();  // its pulls in flight post to the io_context: done before it goes
  // No I/O thread runs now. Connections still open are dropped with the io_context's
  // pending handlers when the server is destroyed; their destructors keep the sessions.
  for (auto& w : workers_) {
    std::error_code ignored;
    w->acceptor.close(ignored);
    w->accept_retry.cancel();
  }
  if (metrics_) metrics_->close();
}

void HttpsServer::accept_next(Worker& w) {
  // A loop run by one thread already runs one handler at a time: no strand (its hand-offs
  // cost a queue and a lock per step).
  const asio::any_io_executor ex = w.threads == 1 ? asio::any_io_executor(w.io.get_executor())
                                                  : asio::any_io_executor(asio::make_strand(w.io));
  w.acceptor.async_accept(ex, [this, &w](std::error_code ec, tcp::socket s) {
    if (ec) {
      if (!w.acceptor.is_open() || ec == asio::error::operation_aborted) return;
      // Out of file descriptors (or similar): the pending connection stays in the backlog,
      // so retrying at once would spin; try again shortly.
      counters_.accept_errors++;
      spdlog::warn("accept failed: {}; retrying in 100 ms", ec.message());
      w.accept_retry.expires_after(std::chrono::milliseconds(100));
      w.accept_retry.async_wait([this, &w](std::error_code e) {
        if (!e) accept_next(w);
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
    accept_next(w);
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
