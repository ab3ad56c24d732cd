#include "connection.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "health_checker.hpp"
#include "proxy_protocol.hpp"
#include "pull_hint.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace sessnic::dispatch {
namespace {
using asio::ip::tcp;
constexpr size_t kSpliceBuffer = 16 * 1024;

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

Connection::Connection(ConnectionHost& host, tcp::socket client, const tcp::endpoint& peer, const tcp::endpoint& local,
                       Admission::Ticket ticket)
    : host_(host),
      client_(std::move(client)),
      server_(client_.get_executor()),
      timer_(client_.get_executor()),
      transfer_timer_(client_.get_executor()),
      ticket_(std::move(ticket)),
      hello_(host.settings().max_hello_bytes),
      buffers_(std::make_unique_for_overwrite<uint8_t[]>(2 * kSpliceBuffer)),
      peer_(peer),
      local_(local) {}

// TCP_NODELAY comes from the listener (Linux copies it to every accepted socket).
void Connection::start() {
  watch(Phase::hello, opened_ + host_.settings().hello_timeout);
  read_hello();
}

void Connection::watch(Phase p, Clock::time_point deadline) {
  phase_ = p;
  phase_deadline_ = deadline;
  // A wait that ends later than the new deadline is moved earlier; one that ends sooner
  // is left alone and, when it fires, finds the phase changed and waits again.
  if (!timer_waiting_ || deadline < timer_at_) wait_timer(deadline);
}

void Connection::wait_timer(Clock::time_point at) {
  timer_at_ = at;
  timer_waiting_ = true;
  timer_.expires_at(at);  // a pending wait ends with operation_aborted
  timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (ec) return;
    self->timer_waiting_ = false;
    self->on_timer();
  });
}

void Connection::on_timer() {
  if (closed_) return;
  // splice: idle only if nothing moved for a whole idle period
  const auto due = phase_ == Phase::splice ? last_activity_ + host_.settings().idle_timeout : phase_deadline_;
  if (Clock::now() < due) return wait_timer(due);
  switch (phase_) {
    case Phase::hello:
      return close(CloseReason::hello_timeout, "hello_timeout");
    case Phase::connect:
      // Connected and waiting for a transfer: the transfer's own deadline ends that wait.
      if (connected_) return;
      return connect_failed();
    case Phase::splice:
      return close(CloseReason::idle_timeout, "idle_timeout");
  }
}

void Connection::read_hello() {
  client_.async_read_some(asio::buffer(buffers_.get(), kSpliceBuffer), [self = shared_from_this()](std::error_code ec,
                                                                                                   size_t n) {
    if (self->closed_) return;
    if (ec) {
      // The client went away mid-hello: a truncated hello. An empty connection (port
      // scan, probe) is just closed.
      if (self->hello_.raw().empty()) return self->close(std::nullopt, "empty");
      self->host_.metrics().parse_failure(ParseError::truncated);
      return self->close(CloseReason::parse_error, "parse_error");
    }
    auto st = self->hello_.feed(std::span<const uint8_t>(self->buffers_.get(), n));
    if (st == HelloAssembler::State::need_more) return self->read_hello();
    if (st == HelloAssembler::State::failed) {
      self->host_.metrics().parse_failure(self->hello_.error());
      return self->close(CloseReason::parse_error, "parse_error");
    }
    self->on_hello();
  });
}

void Connection::on_hello() {
  hello_at_ = Clock::now();  // the transfer deadline counts from here
  Metrics& m = host_.metrics();
  m.hellos_parsed++;
  m.phase_us(SetupPhase::hello, std::chrono::duration<double, std::micro>(hello_at_ - opened_).count());
  const ClientHello& h = hello_.hello();
  router_ = host_.router();
  backend_ = router_->choose(h, ticket_.source());
  if (!backend_) return close(CloseReason::no_route, "no_route");

  plan_ = host_.transfers().plan(h, *backend_, *router_);
  if (plan_.offered()) m.resumption_attempts++;
  if (plan_.settled) {
    outcome_ = plan_.settled;
    m.transfer(*outcome_);
  } else if (plan_.needs_move() && backend_->session_pull && backend_->proxy_protocol) {
    // The hello goes out as soon as the connect is done, never waiting for the backplane
    // (docs/dispatcher.md step 5). The move toward the server's card is fired now, so it
    // overlaps the connect and the forward, and the hint tells the server to wait for it
    // to land instead of starting its own pull once the hello is there.
    pull_hint_ = true;
    outcome_ = TransferOutcome::server_pull;
    m.transfer(*outcome_);
  } else if (plan_.needs_move()) {
    // In parallel with the connect; whichever of answer and deadline comes first decides.
    transfer_pending_ = true;
    const auto budget = host_.settings().transfer_deadline;
    transfer_asked_ = Clock::now();
    transfer_timer_.expires_at(hello_at_ + budget);
    transfer_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
      if (!ec) self->transfer_done(TransferOutcome::timeout);
    });
    // The node keeps at it for half a deadline more than the client waits: the client's
    // timer decides `timeout`, and a session that lands a little late is still recorded.
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(hello_at_ + budget - Clock::now());
    host_.transfers().start(plan_, backend_->card, std::max(left, std::chrono::microseconds(1)) + budget / 2,
                            [self = shared_from_this()](TransferOutcome o) {
                              asio::post(self->client_.get_executor(), [self, o] { self->transfer_done(o); });
                            });
  }
  // A connection opened before this client came (WarmConnections): no connect to wait for.
  refill_pending_ = true;
  if (auto spare = host_.warm().take(backend_)) {
    // The spares are the loop's own: the socket is on this connection's io_context as it is.
    server_ = std::move(*spare);
    fire_early_move();
    if (!transfer_pending_) forward();
    else await_connect();
    return;
  }
  connect_server();
}

// A plain non-blocking connect, then (unless a transfer holds the hello) the hello is
// written at once: on loopback and on a LAN the connect is usually complete by the time
// connect(2) returns, so the write goes out without a trip through the event loop
// (where the other connections' completions would run first). If it is not, the write
// waits for the socket like any other.
void Connection::connect_server() {
  const tcp::endpoint& ep = backend_->endpoint;
  std::error_code ec;
  // Opened by asio (not assigned), so asio knows no other descriptor shares it and its
  // close needs no epoll_ctl(DEL).
  server_.open(ep.protocol(), ec);
  if (ec) return close(CloseReason::backend_connect, "backend_connect");  // no descriptor: not the server's fault
  server_.set_option(tcp::no_delay(true), ec);
  server_.non_blocking(true, ec);  // the connect below and write_some in forward() never wait
  if (ec) return close(CloseReason::backend_connect, "backend_connect");
  if (::connect(server_.native_handle(), ep.data(), static_cast<socklen_t>(ep.size())) != 0 && errno != EINPROGRESS)
    return connect_failed();
  // After the SYN is out: the card command must not delay the connect.
  fire_early_move();
  if (transfer_pending_) return await_connect();
  forward();
}

void Connection::await_connect() {
  watch(Phase::connect, Clock::now() + host_.settings().connect_timeout);
  server_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](std::error_code ec) {
    if (self->closed_) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (ec || ::getsockopt(self->server_.native_handle(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
      return self->connect_failed();
    self->connected();
    if (!self->transfer_pending_) self->forward();
  });
}

// Passive health: real traffic updates the verdict between probe rounds.
void Connection::connected() {
  connected_ = true;
  set_health(*backend_, true, "connect");
}

void Connection::connect_failed() {
  set_health(*backend_, false, "connect");
  close(CloseReason::backend_connect, "backend_connect");
}

void Connection::fire_early_move() {
  // A session moved to this card before (a TLS 1.2 session changing servers back and
  // forth) is still there, unless the card evicted it: the server finds it, or pulls it,
  // and the backplane carries nothing (a move per hello cost 10-15 % of the handshakes
  // per second at saturation).
  if (!pull_hint_ || plan_.target_has_copy) return;
  // Off (the default): the server pulls the session from the owner on the hint - two
  // datagrams, and nothing on this thread's way to the forward. On the shared 2-core
  // machine the move's four datagrams and wake-ups cost more inside the client's handshake
  // than its head start saved (docs/backplane.md, "A server change through sessnic-dispatch").
  if (!host_.settings().early_move) return;
  Metrics& m = host_.metrics();
  const auto budget = host_.settings().pull_deadline;
  // The node keeps at it half a deadline longer than the server waits (as for transfers).
  move_in_flight_ = host_.transfers().start(plan_, backend_->card, budget + budget / 2,
                                            [&m](TransferOutcome o) { m.early_move(o); });
}

void Connection::transfer_done(TransferOutcome o) {
  if (outcome_) return;  // the deadline or the answer came first
  outcome_ = o;
  transfer_pending_ = false;
  transfer_us_ = std::chrono::duration<double, std::micro>(Clock::now() - transfer_asked_).count();
  transfer_timer_.cancel();
  host_.metrics().transfer(o);
  if (!closed_ && connected_) forward();
}

// Connected (or on its way), and the session (if any) is where it should be: the PROXY v2
// header and every byte received so far, in one gathered write.
void Connection::forward() {
  forwarded_at_ = Clock::now();
  host_.metrics().phase_us(SetupPhase::forward, std::chrono::duration<double, std::micro>(forwarded_at_ - hello_at_).count());
  if (backend_->proxy_protocol) {
    std::vector<proxy_v2::Tlv> tlvs;
    // pull_deadline_us, counted by the server from when it reads this header: the wait
    // holds no thread anywhere, while a pull given up costs a full handshake - the
    // expensive outcome under load, when backplane round trips also take longest. The
    // offered session goes with it, so the server can pull before OpenSSL has read the hello.
    if (pull_hint_)
      proxy_v2::append_pull_hint(tlvs, {plan_.owner, host_.settings().pull_deadline, move_in_flight_, plan_.id});
    proxy_header_ = proxy_v2::encode(proxy_address(peer_, local_), tlvs);
  }
  server_hello_.emplace(hello_.hello().session_id);
  host_.metrics().bytes_client_to_server += hello_.raw().size();
  bytes_c2s_ += hello_.raw().size();
  last_activity_ = forwarded_at_;
  const std::array<asio::const_buffer, 2> out{asio::buffer(proxy_header_), asio::buffer(hello_.raw())};
  std::error_code ec;
  const size_t n = server_.write_some(out, ec);  // non-blocking: would_block while the connect is on its way
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again)
    return connected_ ? close(std::nullopt, "server_error") : connect_failed();
  if (!ec && !connected_) connected();
  if (!ec && n == asio::buffer_size(out)) return forwarded();
  if (!connected_) watch(Phase::connect, Clock::now() + host_.settings().connect_timeout);
  const size_t head = proxy_header_.size();
  const std::array<asio::const_buffer, 2> rest{asio::buffer(proxy_header_) + std::min(n, head),
                                               asio::buffer(hello_.raw()) + (n > head ? n - head : 0)};
  asio::async_write(server_, rest, [self = shared_from_this()](std::error_code ec2, size_t) {
    if (self->closed_) return;
    if (ec2) return self->connected_ ? self->close(std::nullopt, "server_error") : self->connect_failed();
    if (!self->connected_) self->connected();
    self->forwarded();
  });
}

void Connection::forwarded() {
  watch(Phase::splice, last_activity_ + host_.settings().idle_timeout);
  read_next(client_, server_, buffers_.get(), true);
  read_next(server_, client_, buffers_.get() + kSpliceBuffer, false);
}

// One direction of the splice (docs/dispatcher.md, "CPU per handshake"). A read that
// asio completed (`n` bytes at `buf`, or its EOF or error) is topped up with what else
// `from` already has (until it would block, its EOF, or a full buffer) and goes out in one
// send, made here rather than through an asio write operation; an EOF read with the last
// bytes leaves in the same segment as them (MSG_MORE, then the FIN of end_direction()), so
// the peer gets one segment and one wake-up, not two. Waiting for `from` stays asio's read
// (a speculative recv, then epoll): a bare readiness wait would cost an epoll_ctl(MOD).
void Connection::relay(tcp::socket& from, tcp::socket& to, uint8_t* buf, bool c2s, std::error_code ec, size_t n) {
  bool eof = ec == asio::error::eof;
  std::error_code rec = eof ? std::error_code() : ec;
  while (!ec && n < kSpliceBuffer) {
    const ssize_t r = ::recv(from.native_handle(), buf + n, kSpliceBuffer - n, MSG_DONTWAIT);
    if (r > 0) {
      n += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) eof = true;
    else if (errno == EINTR) continue;
    else if (errno != EAGAIN && errno != EWOULDBLOCK) rec = std::error_code(errno, std::system_category());
    break;
  }
  const bool ends = eof || rec;
  if (n > 0) {
    last_activity_ = Clock::now();
    (c2s ? host_.metrics().bytes_client_to_server : host_.metrics().bytes_server_to_client) += n;
    (c2s ? bytes_c2s_ : bytes_s2c_) += n;
    if (!c2s && !server_hello_->done()) {
      server_hello_->feed(std::span<const uint8_t>(buf, n));
      if (server_hello_->done())
        host_.metrics().phase_us(SetupPhase::server_hello,
                                 std::chrono::duration<double, std::micro>(Clock::now() - forwarded_at_).count());
    }
    // MSG_MORE holds the segment for the FIN that end_direction() sends right after.
    const ssize_t w = ::send(to.native_handle(), buf, n, MSG_NOSIGNAL | MSG_DONTWAIT | (ends ? MSG_MORE : 0));
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return close(std::nullopt, c2s ? "server_error" : "client_error");
    const size_t done = w > 0 ? static_cast<size_t>(w) : 0;
    if (done < n) {
      // `to` is full: the rest waits for it (asio's write), and so does this direction's reading.
      asio::async_write(to, asio::buffer(buf + done, n - done),
                        [self = shared_from_this(), &from, &to, buf, c2s, eof, rec](std::error_code ec2, size_t) {
                          if (self->closed_) return;
                          if (ec2) return self->close(std::nullopt, c2s ? "server_error" : "client_error");
                          self->sent(from, to, buf, c2s, eof, rec);
                        });
      return;
    }
  }
  sent(from, to, buf, c2s, eof, rec);
}

void Connection::sent(tcp::socket& from, tcp::socket& to, uint8_t* buf, bool c2s, bool eof, std::error_code rec) {
  // The server's first flight is with the client: the spare's connect (and the server's
  // accept of it) no longer competes with this handshake for the CPU.
  if (!c2s && bytes_s2c_ > 0) refill();
  if (eof || rec) return end_direction(to, c2s, rec);
  read_next(from, to, buf, c2s);
}

void Connection::read_next(tcp::socket& from, tcp::socket& to, uint8_t* buf, bool c2s) {
  from.async_read_some(asio::buffer(buf, kSpliceBuffer),
                       [self = shared_from_this(), &from, &to, buf, c2s](std::error_code ec, size_t n) {
                         if (self->closed_) return;
                         self->relay(from, to, buf, c2s, ec, n);
                       });
}

// EOF (or reset) one way: pass the half-close on, finish when both ways are done. The
// last direction needs no shutdown: close() sends the FIN.
void Connection::end_direction(tcp::socket& to, bool c2s, std::error_code ec) {
  if (--open_directions_ == 0) return close(std::nullopt, "done");
  std::error_code ignored;
  to.shutdown(tcp::socket::shutdown_send, ignored);
  if (ec) close(std::nullopt, c2s ? "client_reset" : "server_reset");
}

void Connection::refill() {
  if (!refill_pending_) return;
  refill_pending_ = false;
  host_.warm().replace(backend_);
}

void Connection::close(std::optional<CloseReason> reason, const char* end) {
  if (closed_) return;
  closed_ = true;
  refill();
  if (reason) host_.metrics().closed(*reason);
  std::error_code ignored;
  timer_.cancel();
  transfer_timer_.cancel();
  client_.close(ignored);
  server_.close(ignored);
  if (backend_) --backend_->active;
  if (!hello_.raw().empty()) access_log(end);
  ticket_ = {};  // the admission slot is free again
  host_.connection_finished();
}

// One line per connection that sent something: who, what for, where to, how the session
// fared, how much and how long.
void Connection::access_log(const char* end) const {
  if (!spdlog::should_log(spdlog::level::info)) return;  // nothing formatted when nobody reads it
  const bool parsed = hello_.state() == HelloAssembler::State::done;
  const ClientHello& h = hello_.hello();
  std::string transfer = "-";
  if (outcome_) {
    transfer = std::string(to_string(*outcome_));
    if (plan_.needs_move()) transfer += fmt::format(" transfer_us={:.0f}", transfer_us_);
  }
  spdlog::info(
      "access client={} sni={} alpn={} server={} tls={} handshake={} resumption={} transfer={} bytes_in={} "
      "bytes_out={} duration_ms={:.1f} end={}",
      fmt::format("{}:{}", peer_.address().to_string(), peer_.port()), parsed && !h.sni.empty() ? h.sni : "-",
      parsed && !h.alpn.empty() ? fmt::format("{}", fmt::join(h.alpn, ",")) : "-", backend_ ? backend_->name : "-",
      server_hello_ ? server_hello_->version() : "-",
      server_hello_ ? to_string(server_hello_->kind()) : "-", plan_.offered() ? "offered" : "none", transfer, bytes_c2s_,
      bytes_s2c_, std::chrono::duration<double, std::milli>(Clock::now() - opened_).count(), end);
}

}  // namespace sessnic::dispatch
