#include "dispatcher.hpp"

#include <fmt/format.h>

#include <array>
#include <chrono>

#include "proxy_protocol.hpp"

namespace sessnic::dispatch {
namespace {
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr size_t kSpliceBuffer = 16 * 1024;

tcp::endpoint resolve(const config::Endpoint& e) {
  std::error_code ec;
  auto addr = asio::ip::make_address(e.host == "localhost" ? "127.0.0.1" : e.host, ec);
  if (ec) throw std::system_error(ec, fmt::format("address '{}' (use a numeric IP)", e.host));
  return {addr, e.port};
}

proxy_v2::Address proxy_address(const tcp::endpoint& src, const tcp::endpoint& dst) {
  proxy_v2::Address a;
  a.ipv6 = src.address().is_v6();
  if (a.ipv6) {
    auto s = src.address().to_v6().to_bytes();
    auto d = dst.address().is_v6() ? dst.address().to_v6().to_bytes() : asio::ip::address_v6::bytes_type{};
    std::copy(s.begin(), s.end(), a.src.begin());
    std::copy(d.begin(), d.end(), a.dst.begin());
  } else {
    auto s = src.address().to_v4().to_bytes();
    auto d = dst.address().is_v4() ? dst.address().to_v4().to_bytes() : asio::ip::address_v4::bytes_type{};
    std::copy(s.begin(), s.end(), a.src.begin());
    std::copy(d.begin(), d.end(), a.dst.begin());
  }
  a.src_port = src.port();
  a.dst_port = dst.port();
  return a;
}
}  // namespace

// One client connection: hello -> route -> (transfer || connect) -> forward -> splice.
// All its handlers run on its own strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Dispatcher& d, tcp::socket client)
      : d_(d),
        client_(std::move(client)),
        server_(client_.get_executor()),
        timer_(client_.get_executor()),
        hello_(d.cfg_.max_hello_bytes),
        c2s_(kSpliceBuffer),
        s2c_(kSpliceBuffer) {}

  void start() {
    std::error_code ec;
    peer_ = client_.remote_endpoint(ec);
    local_ = client_.local_endpoint(ec);
    client_.set_option(tcp::no_delay(true), ec);
    arm_timer(d_.cfg_.hello_timeout, Phase::hello);
    read_hello();
  }

 private:
  enum class Phase { hello, connect, splice };

  void arm_timer(std::chrono::milliseconds t, Phase p) {
    phase_ = p;
    timer_.expires_after(t);
    timer_.async_wait([self = shared_from_this(), p](std::error_code ec) {
      if (ec || self->closed_ || self->phase_ != p) return;
      if (p == Phase::hello) return self->close(CloseReason::hello_timeout);
      if (p == Phase::connect) return self->close(CloseReason::backend_connect);
      // splice: idle only if nothing moved for a whole idle period
      auto idle = Clock::now() - self->last_activity_;
      if (idle >= self->d_.cfg_.idle_timeout) return self->close(CloseReason::idle_timeout);
      self->arm_timer(std::chrono::duration_cast<std::chrono::milliseconds>(self->d_.cfg_.idle_timeout - idle) +
                          std::chrono::milliseconds(1),
                      Phase::splice);
    });
  }

  void read_hello() {
    client_.async_read_some(asio::buffer(c2s_), [self = shared_from_this()](std::error_code ec, size_t n) {
      if (self->closed_) return;
      if (ec) {
        // The client went away mid-hello: a truncated hello. An empty connection (port
        // scan, probe) is just closed.
        if (self->hello_.raw().empty()) return self->close();
        self->d_.metrics_->parse_failure(ParseError::truncated);
        return self->close(CloseReason::parse_error);
      }
      auto st = self->hello_.feed(std::span<const uint8_t>(self->c2s_.data(), n));
      if (st == HelloAssembler::State::need_more) return self->read_hello();
      if (st == HelloAssembler::State::failed) {
        self->d_.metrics_->parse_failure(self->hello_.error());
        return self->close(CloseReason::parse_error);
      }
      self->on_hello();
    });
  }

  void on_hello() {
    Metrics& m = *d_.metrics_;
    m.hellos_parsed++;
    const ClientHello& h = hello_.hello();
    auto b = d_.router_.choose(h, peer_.address().to_string());
    if (!b) return close(CloseReason::no_route);
    backend_ = *b;
    d_.router_.connection_opened(*b);
    m.routed(*b);
    const Backend& be = d_.router_.backends()[*b];

    pending_ = 1;  // the connect
    if (auto rid = h.resumption_id()) {
      m.resumption_attempts++;
      session_id_.assign(rid->begin(), rid->end());
      uint8_t owner = d_.locations_.find(*rid).value_or((*rid)[0]);
      if (!d_.cfg_.sharing) {
        m.transfer(TransferOutcome::sharing_off);
      } else if (owner == be.card) {
        m.transfer(TransferOutcome::already_there);
      } else if (!d_.router_.by_card(owner)) {
        m.transfer(TransferOutcome::unknown_owner);
      } else {
        pending_ = 2;
        start_transfer(owner, be.card);
      }
    }
    arm_timer(d_.cfg_.connect_timeout, Phase::connect);
    server_.async_connect(d_.backend_eps_[*b], [self = shared_from_this()](std::error_code ec) {
      if (self->closed_) return;
      // Passive health: real traffic updates the verdict between probe rounds.
      self->d_.router_.set_healthy(*self->backend_, !ec);
      self->d_.metrics_->health(*self->backend_, !ec);
      if (ec) return self->close(CloseReason::backend_connect);
      std::error_code ignored;
      self->server_.set_option(tcp::no_delay(true), ignored);
      self->step_done();
    });
  }

  // The move blocks up to the deadline, so it runs on a worker and reports back here.
  void start_transfer(uint8_t owner, uint8_t dest) {
    asio::post(d_.workers_, [self = shared_from_this(), owner, dest] {
      auto t0 = Clock::now();
      MoveResult r = MoveResult::failed;
      if (self->d_.mover_) {
        try {
          r = self->d_.mover_->move(self->session_id_, owner, dest, self->d_.cfg_.transfer_deadline);
        } catch (const std::exception&) {
          r = MoveResult::failed;
        }
      }
      double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
      Metrics& m = *self->d_.metrics_;
      m.transfer_latency_us(us);
      if (r == MoveResult::moved) {
        self->d_.locations_.set(self->session_id_, dest);
        m.transfer(TransferOutcome::moved);
      } else {
        m.transfer(r == MoveResult::not_found ? TransferOutcome::not_found : TransferOutcome::failed);
      }
      asio::post(self->client_.get_executor(), [self] {
        if (!self->closed_) self->step_done();
      });
    });
  }

  void step_done() {
    if (--pending_ > 0) return;
    // Connected, and the session (if any) is where it should be: forward what we buffered.
    const Backend& be = d_.router_.backends()[*backend_];
    if (be.proxy_protocol) {
      auto hdr = proxy_v2::encode(proxy_address(peer_, local_));
      first_write_.assign(hdr.begin(), hdr.end());
    }
    first_write_.insert(first_write_.end(), hello_.raw().begin(), hello_.raw().end());
    d_.metrics_->bytes_client_to_server += hello_.raw().size();
    last_activity_ = Clock::now();
    arm_timer(d_.cfg_.idle_timeout, Phase::splice);
    asio::async_write(server_, asio::buffer(first_write_), [self = shared_from_this()](std::error_code ec, size_t) {
      if (self->closed_) return;
      if (ec) return self->close();
      self->first_write_.clear();
      self->first_write_.shrink_to_fit();
      self->pump(self->client_, self->server_, self->c2s_, true);
      self->pump(self->server_, self->client_, self->s2c_, false);
    });
  }

  void pump(tcp::socket& from, tcp::socket& to, std::vector<uint8_t>& buf, bool c2s) {
    from.async_read_some(asio::buffer(buf), [self = shared_from_this(), &from, &to, &buf, c2s](std::error_code ec, size_t n) {
      if (self->closed_) return;
      if (ec) {
        // EOF (or reset) one way: pass the half-close on, finish when both ways are done.
        std::error_code ignored;
        to.shutdown(tcp::socket::shutdown_send, ignored);
        if (--self->open_directions_ == 0 || ec != asio::error::eof) self->close();
        return;
      }
      self->last_activity_ = Clock::now();
      (c2s ? self->d_.metrics_->bytes_client_to_server : self->d_.metrics_->bytes_server_to_client) += n;
      asio::async_write(to, asio::buffer(buf.data(), n), [self, &from, &to, &buf, c2s](std::error_code ec2, size_t) {
        if (self->closed_) return;
        if (ec2) return self->close();
        self->pump(from, to, buf, c2s);
      });
    });
  }

  void close(std::optional<CloseReason> reason = std::nullopt) {
    if (closed_) return;
    closed_ = true;
    if (reason) d_.metrics_->closed(*reason);
    std::error_code ignored;
    timer_.cancel();
    client_.close(ignored);
    server_.close(ignored);
    if (backend_) d_.router_.connection_closed(*backend_);
    d_.connection_finished();
  }

  Dispatcher& d_;
  tcp::socket client_;
  tcp::socket server_;
  asio::steady_timer timer_;
  HelloAssembler hello_;
  std::vector<uint8_t> c2s_, s2c_, first_write_, session_id_;
  tcp::endpoint peer_, local_;
  std::optional<size_t> backend_;
  Phase phase_ = Phase::hello;
  int pending_ = 0;
  int open_directions_ = 2;
  bool closed_ = false;
  Clock::time_point last_activity_ = Clock::now();
};

Dispatcher::Dispatcher(const config::ClusterConfig& cfg, std::shared_ptr<SessionMover> mover)
    : cfg_(cfg.dispatcher),
      control_(asio::make_strand(io_)),
      acceptor_(control_),
      signals_(control_, SIGINT, SIGTERM),
      health_timer_(control_),
      drain_timer_(control_),
      router_(cfg),
      mover_(std::move(mover)) {
  std::vector<std::string> names;
  for (auto& b : router_.backends()) {
    names.push_back(b.name);
    backend_eps_.push_back(resolve(b.addr));
  }
  metrics_ = std::make_unique<Metrics>(std::move(names));
  auto open = [](tcp::acceptor& a, const tcp::endpoint& ep) {
    a.open(ep.protocol());
    a.set_option(tcp::acceptor::reuse_address(true));
    a.bind(ep);
    a.listen(asio::socket_base::max_listen_connections);
    return a.local_endpoint().port();
  };
  listen_port_ = open(acceptor_, resolve(cfg_.listen));
  metrics_http_ = std::make_unique<net::MetricsHttp>(
      control_, resolve(cfg_.metrics), [this] { return metrics_->render(); },
      [this]() -> std::string { return draining_ ? "draining" : ""; });
  metrics_port_ = metrics_http_->port();
}

Dispatcher::~Dispatcher() { workers_.join(); }

void Dispatcher::run() {
  asio::post(control_, [this] {
    signals_.async_wait([this](std::error_code ec, int) {
      if (!ec) begin_drain();
    });
    accept_next();
    metrics_http_->start();
    health_round();
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

void Dispatcher::accept_next() {
  acceptor_.async_accept(asio::make_strand(io_), [this](std::error_code ec, tcp::socket s) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      return accept_next();  // e.g. EMFILE: keep serving the others
    }
    metrics_->connections_total++;
    if (draining_) {
      metrics_->closed(CloseReason::draining);
    } else if (active_ >= cfg_.max_connections) {
      metrics_->closed(CloseReason::connection_limit);  // s closes when it goes out of scope
    } else {
      active_++;
      metrics_->connections_active++;
      std::make_shared<Connection>(*this, std::move(s))->start();
    }
    accept_next();
  });
}

void Dispatcher::connection_finished() {
  metrics_->connections_active--;
  if (--active_ == 0 && draining_) asio::post(control_, [this] { io_.stop(); });
}

void Dispatcher::begin_drain() {
  if (draining_.exchange(true)) {
    io_.stop();  // a second signal: stop now
    return;
  }
  std::error_code ignored;
  acceptor_.close(ignored);
  health_timer_.cancel();
  signals_.async_wait([this](std::error_code ec, int) {
    if (!ec) io_.stop();
  });
  if (active_ == 0) return io_.stop();
  drain_timer_.expires_after(cfg_.drain_timeout);
  drain_timer_.async_wait([this](std::error_code ec) {
    if (!ec) io_.stop();
  });
}

// Health: a TCP connect to every server each interval; a server that refuses is skipped by
// the router until it accepts again.
void Dispatcher::health_round() {
  if (draining_) return;
  for (size_t i = 0; i < backend_eps_.size(); ++i) {
    struct Probe {
      explicit Probe(asio::strand<asio::io_context::executor_type> ex) : sock(ex), timer(ex) {}
      tcp::socket sock;
      asio::steady_timer timer;
      bool done = false;
    };
    auto p = std::make_shared<Probe>(control_);
    auto finish = [this, i, p](bool up) {
      if (p->done) return;
      p->done = true;
      std::error_code ignored;
      p->timer.cancel();
      p->sock.close(ignored);
      router_.set_healthy(i, up);
      metrics_->health(i, up);
    };
    p->timer.expires_after(cfg_.connect_timeout);
    p->timer.async_wait([finish](std::error_code ec) {
      if (!ec) finish(false);
    });
    p->sock.async_connect(backend_eps_[i], [finish](std::error_code ec) { finish(!ec); });
  }
  health_timer_.expires_after(cfg_.health_interval);
  health_timer_.async_wait([this](std::error_code ec) {
    if (!ec) health_round();
  });
}

}  // namespace sessnic::dispatch
