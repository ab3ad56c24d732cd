#include "dispatcher.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <thread>

namespace sessnic::dispatch {
using asio::ip::tcp;
namespace {
// A spare connection is closed unused after this long: far inside any server's handshake
// timeout, and short enough that a server restarted meanwhile is noticed soon.
constexpr std::chrono::milliseconds kWarmMaxAge{2000};
}  // namespace

// `warm_per_server` is this loop's share of warm_connections (each loop keeps its own, so
// a connection takes a spare that is already on its executor).
Dispatcher::Loop::Loop(Dispatcher& d, size_t warm_per_server)
    : d_(d),
      // One thread runs it: tell asio, so it skips waking other threads.
      io_(1),
      acceptor_(io_),
      warm_(std::make_shared<WarmConnections>(io_, warm_per_server, kWarmMaxAge)) {}

void Dispatcher::Loop::listen(const tcp::endpoint& ep) {
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  // Every loop binds the same port, and a successor started while this process drains
  // binds it too; the kernel spreads new connections over the listeners.
  acceptor_.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
  acceptor_.bind(ep);
  // Accepted sockets inherit it (Linux): one setsockopt per connection less.
  acceptor_.set_option(tcp::no_delay(true));
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

std::shared_ptr<Router> Dispatcher::Loop::router() const {
  // Only this loop's thread calls it; a reload bumps the version after swapping.
  const uint64_t v = d_.router_version_.load(std::memory_order_acquire);
  if (v != router_version_) {
    router_ = d_.router();
    router_version_ = v;
  }
  return router_;
}

Dispatcher::Dispatcher(const config::ClusterConfig& cfg, std::shared_ptr<SessionMover> mover, ConfigSource reload_from)
    : cfg_(cfg.dispatcher),
      reload_from_(std::move(reload_from)),
      transfers_(cfg, std::move(mover), metrics_),
      admission_(Admission::create(cfg_.max_connections, cfg_.max_connections_per_source)),
      router_(std::make_shared<Router>(cfg)),
      loops_([this] {
        std::vector<std::unique_ptr<Loop>> v;
        // warm_connections is per server for the whole dispatcher: each loop keeps its
        // share, at least one when on.
        const size_t n = std::max(1u, cfg_.io_threads);
        const size_t per_loop = cfg_.warm_connections == 0 ? 0 : std::max<size_t>(1, (cfg_.warm_connections + n - 1) / n);
        for (size_t i = 0; i < n; ++i) v.push_back(std::make_unique<Loop>(*this, per_loop));
        return v;
      }()),
      signals_(loops_[0]->io_, SIGINT, SIGTERM, SIGHUP),
      drain_timer_(loops_[0]->io_),
      health_(loops_[0]->io_.get_executor(), cfg_.health_interval, cfg_.connect_timeout, [this] { return router(); }) {
  loops_[0]->listen(resolve_endpoint(cfg_.listen));
  listen_endpoint_ = loops_[0]->acceptor_.local_endpoint();
  // The other loops bind the port the first one got (it may have asked for port 0).
  for (size_t i = 1; i < loops_.size(); ++i) loops_[i]->listen(listen_endpoint_);
  listen_any_ = listen_endpoint_.address().is_unspecified();
  listen_port_ = listen_endpoint_.port();
  metrics_http_ = std::make_unique<net::MetricsHttp>(
      loops_[0]->io_.get_executor(), resolve_endpoint(cfg_.metrics), [this] { return render_metrics(); },
      [this] { return health(); });
  metrics_port_ = metrics_http_->port();
}

// The mover's node thread may still answer a transfer: stop it while everything its
// callbacks touch (metrics, loops) is alive.
Dispatcher::~Dispatcher() {
  for (auto& l : loops_) l->warm_->stop();
  transfers_.release();
}

std::string Dispatcher::render_metrics() const {
  size_t spares = 0;
  uint64_t used = 0, discarded = 0;
  for (const auto& l : loops_) {
    spares += l->warm_->spares();
    used += l->warm_->used();
    discarded += l->warm_->discarded();
  }
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
                     spares, used, discarded);
}

std::shared_ptr<Router> Dispatcher::router() const {
  std::lock_guard lock(router_mu_);
  return router_;
}

std::vector<uint64_t> Dispatcher::accepted_per_loop() const {
  std::vector<uint64_t> v;
  for (const auto& l : loops_) v.push_back(l->accepted_.load());
  return v;
}

std::string Dispatcher::health() const {
  if (draining_) return "draining";
  auto r = router();
  for (auto& b : r->backends())
    if (b->healthy) return "";
  return "no server is up";
}

void Dispatcher::run() {
  asio::post(loops_[0]->io_, [this] {
    wait_signal();
    metrics_http_->start();
    health_.start();
  });
  for (auto& l : loops_)
    asio::post(l->io_, [this, loop = l.get()] {
      loop->accept_next();
      loop->warm_->start([this] { return router(); });
    });
  std::vector<std::thread> extra;
  for (size_t i = 1; i < loops_.size(); ++i) extra.emplace_back([loop = loops_[i].get()] { loop->io_.run(); });
  loops_[0]->io_.run();
  for (auto& t : extra) t.join();
  // Every loop has stopped (a drain may have stopped them before their listener's close
  // ran there): the listeners are closed when run() returns.
  for (auto& l : loops_) {
    std::error_code ignored;
    l->acceptor_.close(ignored);
    l->warm_->stop();
  }
}

void Dispatcher::drain() {
  asio::post(loops_[0]->io_, [this] { begin_drain(); });
}

void Dispatcher::stop_loops() {
  for (auto& l : loops_) l->io_.stop();
}

void Dispatcher::stop() { stop_loops(); }

void Dispatcher::reload(const config::ClusterConfig& cfg) {
  auto next = std::make_shared<Router>(cfg, router().get());
  {
    std::lock_guard lock(router_mu_);
    router_ = std::move(next);
    router_version_.fetch_add(1, std::memory_order_release);
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

void Dispatcher::Loop::accept_next() {
  // accept(2) fills in the peer's address: no getpeername per connection. The socket is
  // on this loop's io_context, like every handler of the connection.
  acceptor_.async_accept(accept_peer_, [this](std::error_code ec, tcp::socket s) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      return accept_next();  // e.g. EMFILE: keep serving the others
    }
    accepted_.fetch_add(1, std::memory_order_relaxed);
    Metrics& m = d_.metrics_;
    m.connections_total++;
    const tcp::endpoint peer = accept_peer_;
    Admission::Ticket ticket;
    const bool draining = d_.draining_;
    const auto verdict = draining ? Admission::Verdict::connection_limit
                                  : d_.admission_->admit(peer.address().to_string(), ticket);
    if (draining) {
      m.closed(CloseReason::draining);
    } else if (verdict == Admission::Verdict::connection_limit) {
      m.closed(CloseReason::connection_limit);  // s closes when it goes out of scope
    } else if (verdict == Admission::Verdict::source_limit) {
      m.closed(CloseReason::source_limit);
    } else {
      d_.active_++;
      m.connections_active++;
      // A listener bound to one address: every connection arrives on it (no getsockname).
      std::error_code local_ec;
      const tcp::endpoint local = d_.listen_any_ ? s.local_endpoint(local_ec) : d_.listen_endpoint_;
      std::make_shared<Connection>(static_cast<ConnectionHost&>(*this), std::move(s), peer, local, std::move(ticket))
          ->start();
    }
    accept_next();
  });
}

void Dispatcher::connection_finished() {
  metrics_.connections_active--;
  if (--active_ == 0 && draining_) stop_loops();
}

void Dispatcher::begin_drain() {
  if (draining_.exchange(true)) {
    spdlog::info("second signal: stopping now");
    stop_loops();
    return;
  }
  spdlog::info("draining: {} open connections, at most {} ms", active_.load(), cfg_.drain_timeout.count());
  // Each listener closes on its own loop's thread (asio objects are not thread-safe); a
  // connection still in a closed listener's queue is refused there, as with one loop.
  for (auto& l : loops_)
    asio::post(l->io_, [loop = l.get()] {
      std::error_code ignored;
      loop->acceptor_.close(ignored);
      loop->warm_->stop();
    });
  metrics_http_->close();
  health_.stop();
  transfers_.release();  // the backplane port is free for a successor
  if (active_ == 0) return stop_loops();
  drain_timer_.expires_after(cfg_.drain_timeout);
  drain_timer_.async_wait([this](std::error_code ec) {
    if (ec) return;
    spdlog::warn("drain timeout: closing {} connections", active_.load());
    stop_loops();
  });
}

}  // namespace sessnic::dispatch
