#include "dispatcher.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace sessnic::dispatch {
using asio::ip::tcp;
namespace {
// A spare connection is closed unused after this long: far inside any server's handshake
// timeout, and short enough that a server restarted meanwhile is noticed soon.
constexpr std::chrono::milliseconds kWarmMaxAge{2000};
}  // namespace

Dispatcher::Dispatcher(const config::ClusterConfig& cfg, std::shared_ptr<SessionMover> mover, ConfigSource reload_from)
    : cfg_(cfg.dispatcher),
      reload_from_(std::move(reload_from)),
      // One io thread: tell asio, so it skips waking other threads.
      io_(cfg_.io_threads > 1 ? ASIO_CONCURRENCY_HINT_DEFAULT : 1),
      control_(asio::make_strand(io_)),
      acceptor_(control_),
      signals_(control_, SIGINT, SIGTERM, SIGHUP),
      drain_timer_(control_),
      transfers_(cfg, std::move(mover), metrics_),
      admission_(Admission::create(cfg_.max_connections, cfg_.max_connections_per_source)),
      router_(std::make_shared<Router>(cfg)),
      health_(control_, cfg_.health_interval, cfg_.connect_timeout, [this] { return router(); }),
      warm_(std::make_shared<WarmConnections>(io_, cfg_.warm_connections, kWarmMaxAge)) {
  const tcp::endpoint ep = resolve_endpoint(cfg_.listen);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  // A successor started while this one drains binds the same port.
  acceptor_.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
  acceptor_.bind(ep);
  // Accepted sockets inherit it (Linux): one setsockopt per connection less.
  acceptor_.set_option(tcp::no_delay(true));
  acceptor_.listen(asio::socket_base::max_listen_connections);
  listen_endpoint_ = acceptor_.local_endpoint();
  listen_any_ = listen_endpoint_.address().is_unspecified();
  listen_port_ = listen_endpoint_.port();
  metrics_http_ = std::make_unique<net::MetricsHttp>(
      control_, resolve_endpoint(cfg_.metrics),
      [this] {
        return metrics_.render(router()->render_metrics()) +
               fmt::format("# HELP sessnic_dispatch_warm_connections Connections to servers opened before a client "
                           "needs them, ready now.\n# TYPE sessnic_dispatch_warm_connections gauge\n"
                           "sessnic_dispatch_warm_connections {}\n"
                           "# HELP sessnic_dispatch_warm_connections_used_total Hellos forwarded on a warm connection.\n"
                           "# TYPE sessnic_dispatch_warm_connections_used_total counter\n"
                           "sessnic_dispatch_warm_connections_used_total {}\n"
                           "# HELP sessnic_dispatch_warm_connections_discarded_total Warm connections closed unused "
                           "(too old, or closed by the server).\n"
                           "# TYPE sessnic_dispatch_warm_connections_discarded_total counter\n"
                           "sessnic_dispatch_warm_connections_discarded_total {}\n",
                           warm_->spares(), warm_->used(), warm_->discarded());
      },
      [this] { return health(); });
  metrics_port_ = metrics_http_->port();
}

// The mover's node thread may still answer a transfer: stop it while everything its
// callbacks touch (metrics, strands) is alive.
Dispatcher::~Dispatcher() {
  warm_->stop();
  transfers_.release();
}

std::shared_ptr<Router> Dispatcher::router() const {
  std::lock_guard lock(router_mu_);
  return router_;
}

std::string Dispatcher::health() const {
  if (draining_) return "draining";
  auto r = router();
  for (auto& b : r->backends())
    if (b->healthy) return "";
  return "no server is up";
}

void Dispatcher::run() {
  asio::post(control_, [this] {
    wait_signal();
    accept_next();
    metrics_http_->start();
    health_.start();
    warm_->start([this] { return router(); });
  });
  std::vector<std::thread> extra;
  for (unsigned i = 1; i < cfg_.io_threads; ++i) extra.emplace_back([this] { io_.run(); });
  io_.run();
  for (auto& t : extra) t.join();
}

void Dispatcher::drain() {
  asio::post(control_, [this] { begin_drain(); });
}

void Dispatcher::stop() { io_.stop(); }

void Dispatcher::reload(const config::ClusterConfig& cfg) {
  auto next = std::make_shared<Router>(cfg, router().get());
  {
    std::lock_guard lock(router_mu_);
    router_ = std::move(next);
  }
  metrics_.reloads_ok++;
  spdlog::info("reloaded {}: {} servers, {} routes", cfg.source.string(), cfg.servers.size(), cfg.routes.size());
}

void Dispatcher::reload_from_source() {
  if (!reload_from_) {
    spdlog::warn("SIGHUP: no config file to reload from");
    return;
  }
  try {
    reload(reload_from_());
  } catch (const std::exception& e) {
    // A bad file never takes the service down: the running routes stay.
    metrics_.reloads_failed++;
    spdlog::error("reload failed, keeping the running config: {}", e.what());
  }
}

void Dispatcher::wait_signal() {
  signals_.async_wait([this](std::error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) reload_from_source();
    else begin_drain();
    wait_signal();
  });
}

void Dispatcher::accept_next() {
  // One io thread: the connection's handlers run on the io_context itself (a strand would
  // only add a queue and a lock to every handler). Several: each connection its own strand.
  const asio::any_io_executor ex = cfg_.io_threads > 1 ? asio::any_io_executor(asio::make_strand(io_))
                                                       : asio::any_io_executor(io_.get_executor());
  // accept(2) fills in the peer's address: no getpeername per connection.
  acceptor_.async_accept(ex, accept_peer_, [this](std::error_code ec, tcp::socket s) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      return accept_next();  // e.g. EMFILE: keep serving the others
    }
    metrics_.connections_total++;
    const tcp::endpoint peer = accept_peer_;
    Admission::Ticket ticket;
    const auto verdict = draining_ ? Admission::Verdict::connection_limit
                                   : admission_->admit(peer.address().to_string(), ticket);
    if (draining_) {
      metrics_.closed(CloseReason::draining);
    } else if (verdict == Admission::Verdict::connection_limit) {
      metrics_.closed(CloseReason::connection_limit);  // s closes when it goes out of scope
    } else if (verdict == Admission::Verdict::source_limit) {
      metrics_.closed(CloseReason::source_limit);
    } else {
      active_++;
      metrics_.connections_active++;
      // A listener bound to one address: every connection arrives on it (no getsockname).
      std::error_code local_ec;
      const tcp::endpoint local = listen_any_ ? s.local_endpoint(local_ec) : listen_endpoint_;
      std::make_shared<Connection>(static_cast<ConnectionHost&>(*this), std::move(s), peer, local, std::move(ticket))
          ->start();
    }
    accept_next();
  });
}

void Dispatcher::connection_finished() {
  metrics_.connections_active--;
  if (--active_ == 0 && draining_) asio::post(control_, [this] { io_.stop(); });
}

void Dispatcher::begin_drain() {
  if (draining_.exchange(true)) {
    spdlog::info("second signal: stopping now");
    io_.stop();
    return;
  }
  spdlog::info("draining: {} open connections, at most {} ms", active_.load(), cfg_.drain_timeout.count());
  std::error_code ignored;
  acceptor_.close(ignored);
  metrics_http_->close();
  health_.stop();
  warm_->stop();
  transfers_.release();  // the backplane port is free for a successor
  if (active_ == 0) return io_.stop();
  drain_timer_.expires_after(cfg_.drain_timeout);
  drain_timer_.async_wait([this](std::error_code ec) {
    if (ec) return;
    spdlog::warn("drain timeout: closing {} connections", active_.load());
    io_.stop();
  });
}

}  // namespace sessnic::dispatch
