#include "https_connection.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <spdlog/spdlog.h>

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>

#include <climits>

#include "proxy_protocol.hpp"
#include "pull_hint.hpp"
#include "sessnic/hello_lookup.hpp"

namespace sessnic::server {

using asio::ip::tcp;

HttpsConnection::HttpsConnection(tcp::socket sock, const ConnectionEnv& env)
    : sock_(std::move(sock)), deadline_(sock_.get_executor()), env_(env), parser_(env.opt.max_header_bytes) {
  env_.counters.connections++;
  env_.counters.connections_open++;
}

HttpsConnection::~HttpsConnection() {
  set_busy(false);
  // A server stopping with this connection open must not cost the client its session.
  if (ssl_ && handshake_done_) SSL_set_shutdown(ssl_.get(), SSL_get_shutdown(ssl_.get()) | SSL_SENT_SHUTDOWN);
  env_.counters.connections_open--;
}

void HttpsConnection::start() {
  // Everything of a connection runs on its strand, its first step too.
  asio::dispatch(sock_.get_executor(), [self = shared_from_this()] { self->begin(); });
}

// TCP_NODELAY comes from the listener (Linux copies it to every accepted socket): one
// setsockopt per connection less.
void HttpsConnection::begin() {
  std::error_code ec;
  sock_.non_blocking(true, ec);  // OpenSSL reads the socket itself and must never block
  if (ec) {
    spdlog::debug("connection dropped before it started: {}", ec.message());
    return finish();
  }
  ssl_.reset(SSL_new(env_.tls.default_ctx()));
  BIO* rbio = ssl_ ? BIO_new_socket(sock_.native_handle(), BIO_NOCLOSE) : nullptr;
  wbio_ = BIO_new(BIO_s_mem());
  if (!ssl_ || !rbio || !wbio_) {
    spdlog::error("cannot set up a TLS connection: SSL_new/BIO_new failed (out of memory?)");
    BIO_free(rbio);
    BIO_free(wbio_);
    wbio_ = nullptr;
    ERR_clear_error();
    return finish();
  }
  SSL_set_bio(ssl_.get(), rbio, wbio_);  // ssl_ owns both now
  SSL_set_accept_state(ssl_.get());
  enter(Phase::handshake, env_.opt.handshake_timeout);
  deadline_.expires_at(deadline_at_);
  watch_deadline();
  if (env_.opt.proxy_protocol) read_proxy_header();
  else do_handshake();
}

// The PROXY v2 header is read with exact lengths so no TLS byte is consumed here. It
// usually arrives with the connection, so the socket is read at once; only for bytes not
// there yet does the connection wait (two asio reads cost two handler hand-offs).
void HttpsConnection::read_proxy_header() {
  for (;;) {
    size_t need = proxy_v2::kHeaderFixed;
    if (proxy_got_ >= proxy_v2::kHeaderFixed) {
      auto d = proxy_v2::decode(std::span<const uint8_t>(proxy_buf_.data(), proxy_v2::kHeaderFixed));
      need += static_cast<size_t>(proxy_buf_[14]) << 8 | proxy_buf_[15];
      if (d.status == proxy_v2::DecodeStatus::bad || need > proxy_buf_.size()) {
        env_.counters.proxy_header_errors++;
        spdlog::debug("{}: connection refused: bad PROXY v2 header", peer());
        return finish();
      }
    }
    if (proxy_got_ == need && need > proxy_v2::kHeaderFixed) break;
    if (proxy_got_ < need) {
      const ssize_t n = ::recv(sock_.native_handle(), proxy_buf_.data() + proxy_got_, need - proxy_got_, MSG_DONTWAIT);
      if (n > 0) {
        proxy_got_ += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return wait_readable(&HttpsConnection::read_proxy_header);
      // EOF or an error. A bare connect-and-close is the dispatcher's health probe, not an error.
      if (proxy_got_ != 0) env_.counters.proxy_header_errors++;
      return finish();
    }
    // need == kHeaderFixed == proxy_got_ here only when the header has no address block:
    // decode() answers that below.
    break;
  }
  auto d = proxy_v2::decode(std::span<const uint8_t>(proxy_buf_.data(), proxy_got_));
  if (d.status != proxy_v2::DecodeStatus::ok && d.status != proxy_v2::DecodeStatus::local) {
    env_.counters.proxy_header_errors++;
    return finish();
  }
  if (d.status == proxy_v2::DecodeStatus::ok) proxied_peer_ = d.addr;
  const auto hint = env_.pull ? proxy_v2::find_pull_hint(d) : std::nullopt;
  if (hint) {
    set_busy(true);  // counted before the pull decides whether this thread may wait for it
    env_.pull->on_hint(ssl_.get(), *hint, env_.loop_busy);
  }
  do_handshake();
  // The hello was not all here: until it is, this thread serves other connections, so the
  // early pull's answer must not wait on a port only this connection's callback reads.
  if (hint) SessionPull::end_early_claim(ssl_.get());
}

void HttpsConnection::do_handshake() {
  set_busy(true);  // a client is here (a warm spare is not counted while it waits for its header)
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    handshake_done_ = true;
    resumed_ = SSL_session_reused(ssl_.get()) == 1;
    (resumed_ ? env_.counters.handshakes_resumed : env_.counters.handshakes_full)++;
    enter(Phase::request, env_.opt.request_timeout);  // the first request is due promptly
    // TLS 1.2: the client waits for our last flight (full handshake) before it asks. TLS 1.3:
    // the client has asked already, and what we hold is the session ticket, which it does not
    // wait for: read first, so the ticket goes out in the response's write (do_read flushes
    // it before any wait).
    if (SSL_version(ssl_.get()) < TLS1_3_VERSION) return flush([this] { do_read(); });
    return do_read();
  }
  int e = SSL_get_error(ssl_.get(), r);
  if (e == SSL_ERROR_WANT_READ) return flush([this] { wait_readable(&HttpsConnection::do_handshake); });
  // A ClientHello lookup (sessnic/hello_lookup.hpp) is fetching the session: carry on when it is done.
  if (e == SSL_ERROR_WANT_CLIENT_HELLO_CB &&
      HelloLookup::when_done(ssl_.get(), [self = shared_from_this()] {
        asio::post(self->sock_.get_executor(), [self] {
          if (!self->closed_) self->do_handshake();
        });
      }))
    return;
  // Not one byte arrived (a TCP probe: connect and close): not a failed handshake.
  if (BIO_number_read(SSL_get_rbio(ssl_.get())) != 0) {
    env_.counters.handshake_failures++;
    if (spdlog::should_log(spdlog::level::debug)) {
      char buf[256] = "closed";
      if (unsigned long err = ERR_peek_error()) ERR_error_string_n(err, buf, sizeof buf);
      spdlog::debug("{}: handshake failed: {}", peer(), buf);
    }
  }
  ERR_clear_error();
  flush([this] { finish(); });  // the alert, if OpenSSL wrote one
}

void HttpsConnection::do_read() {
  if (process_input()) return;
  char buf[16384];
  for (;;) {
    ERR_clear_error();
    int n = SSL_read(ssl_.get(), buf, sizeof buf);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      if (process_input()) return;
      continue;
    }
    int e = SSL_get_error(ssl_.get(), n);
    if (e == SSL_ERROR_WANT_READ) return flush([this] { wait_readable(&HttpsConnection::do_read); });
    // SSL_ERROR_ZERO_RETURN: close_notify, or a plain EOF (SSL_OP_IGNORE_UNEXPECTED_EOF).
    ERR_clear_error();
    client_says_done_ = e == SSL_ERROR_ZERO_RETURN;  // it sends nothing more
    return close(e == SSL_ERROR_ZERO_RETURN);
  }
}

// Parses what has arrived; true when a response is on its way (reading pauses meanwhile).
bool HttpsConnection::process_input() {
  if (in_.empty()) return false;
  if (phase_ == Phase::idle) enter(Phase::request, env_.opt.request_timeout);  // a new request starts
  auto r = parser_.feed(in_);
  in_.erase(0, r.consumed);
  using S = HttpRequestParser::Status;
  switch (r.status) {
    case S::need_more: return false;
    case S::complete: {
      env_.counters.requests++;
      const auto& req = parser_.request();
      bool head = req.method == "HEAD";
      if (req.http_major != 1) {
        respond(505, HttpResponse{505, "text/plain; charset=utf-8", "HTTP/1.x only\n", {}}, false, head);
        return true;
      }
      auto resp = env_.site.respond(req.method, req.target);
      client_says_done_ = !req.keep_alive;  // its last request (Connection: close, HTTP/1.0)
      respond(resp.status, resp, req.keep_alive, head);
      return true;
    }
    case S::bad_request:
    case S::header_too_large:
    case S::body_too_large: {
      env_.counters.requests++;
      int status = r.status == S::bad_request ? 400 : r.status == S::header_too_large ? 431 : 413;
      spdlog::debug("{}: request refused with {}: {}", peer(), status, parser_.error());
      respond(status, HttpResponse{status, "text/plain; charset=utf-8", fmt::format("{}\n", reason_phrase(status)), {}},
              false, false);
      return true;
    }
  }
  return false;
}

void HttpsConnection::respond(int status, const HttpResponse& r, bool keep_alive, bool head_only) {
  env_.counters.count_response(status);
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nServer: sessnic-server\r\nX-Sessnic-Server: {}\r\nX-Sessnic-Handshake: {}\r\n"
      "X-Sessnic-Tls: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: {}\r\n\r\n",
      status, reason_phrase(status), env_.site.server_name(), resumed_ ? "resumed" : "full", SSL_get_version(ssl_.get()),
      r.content_type, r.body.size(), r.allow.empty() ? "" : fmt::format("Allow: {}\r\n", r.allow),
      keep_alive ? "keep-alive" : "close");
  if (!head_only) out += r.body;
  close_after_write_ = !keep_alive;
  enter(Phase::send, env_.opt.send_timeout);
  // The memory BIO takes every record at once; flush() hands them to the kernel.
  for (size_t pos = 0; pos < out.size();) {
    ERR_clear_error();
    int n = SSL_write(ssl_.get(), out.data() + pos, static_cast<int>(std::min<size_t>(out.size() - pos, INT_MAX)));
    if (n <= 0) {
      ERR_clear_error();
      return close(false);
    }
    pos += static_cast<size_t>(n);
  }
  // The last response: its close_notify goes out in the same write (close() sees it sent),
  // and whether to linger is decided now, before the client can answer it.
  if (close_after_write_) {
    write_close_notify();
    linger_ = client_may_still_send();
  }
  flush([this] { after_response(); });
}

void HttpsConnection::after_response() {
  if (close_after_write_) return close(true);
  enter(Phase::idle, env_.opt.idle_timeout);
  do_read();  // pipelined requests already in in_ are served first
}

// The kernel nearly always takes a whole flight at once: send it here and go on in this
// handler; only what the socket does not take waits in an asio write. An asio write for
// every flight cost a handler hand-off each (behind every other ready handler at load).
// Going on in this handler nests calls (pipelined requests: respond, flush, do_read,
// respond, ...), so after a few the next step is posted.
void HttpsConnection::flush(std::function<void()> then) {
  char* data = nullptr;
  long n = BIO_get_mem_data(wbio_, &data);
  if (n <= 0) return then();
  size_t sent = 0;
  if (nested_ < kMaxNested) {
    for (;;) {
      const ssize_t r = ::send(sock_.native_handle(), data, static_cast<size_t>(n), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (r >= 0) {
        sent = static_cast<size_t>(r);
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return close(false);
    }
    if (sent == static_cast<size_t>(n)) {
      if (!reset_wbio()) return finish();
      ++nested_;
      then();
      --nested_;
      return;
    }
  }
  flushing_ = true;
  asio::async_write(sock_, asio::buffer(data + sent, static_cast<size_t>(n) - sent),
                    [self = shared_from_this(), then = std::move(then)](std::error_code ec, size_t) {
                      self->flushing_ = false;
                      if (self->closed_) return;
                      if (ec) return self->close(false);
                      if (!self->reset_wbio()) return self->finish();
                      then();
                    });
}

// Empties the memory BIO after a flush; false when a new one cannot be had.
bool HttpsConnection::reset_wbio() {
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(wbio_, &mem);
  if (mem && mem->max > 64 * 1024) {
    // A big response left a big buffer: an idle connection should not keep it.
    wbio_ = BIO_new(BIO_s_mem());
    if (!wbio_) return false;
    SSL_set0_wbio(ssl_.get(), wbio_);
  } else {
    (void)BIO_reset(wbio_);
  }
  return true;
}

void HttpsConnection::wait_readable(Step next) {
  sock_.async_receive(asio::buffer(&peek_byte_, 1), tcp::socket::message_peek,
                      [self = shared_from_this(), next](std::error_code ec, size_t) {
                        if (self->closed_) return;
                        // EOF is for OpenSSL to see (it ends the read loop cleanly).
                        if (ec && ec != asio::error::eof) return self->close(false);
                        ((*self).*next)();
                      });
}

// Only on log lines (debug), so the socket is not asked on every connection.
std::string HttpsConnection::peer() const {
  if (proxied_peer_) return proxied_peer_->src_string();
  std::error_code ec;
  const auto ep = sock_.remote_endpoint(ec);
  return ec ? std::string("?") : fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

// The timer is moved only to an earlier time (closing): a later deadline is noted, and the
// armed wait, when it fires, finds it and waits on. Moving the timer at every phase change
// cost a cancel, a handler run and a timerfd update each.
void HttpsConnection::enter(Phase p, std::chrono::milliseconds limit) {
  phase_ = p;
  if (p == Phase::idle || p == Phase::closing) set_busy(false);
  else if (p != Phase::handshake) set_busy(true);  // a keep-alive connection's next request
  deadline_at_ = asio::steady_timer::clock_type::now() + limit;
  if (deadline_at_ < deadline_.expiry()) deadline_.expires_at(deadline_at_);  // cancels the wait: re-armed
}

void HttpsConnection::watch_deadline() {
  deadline_.async_wait([self = shared_from_this()](std::error_code) { self->on_deadline(); });
}

void HttpsConnection::on_deadline() {
  if (closed_) return;
  if (deadline_at_ > asio::steady_timer::clock_type::now()) {  // moved on (a later phase, or re-armed earlier)
    if (deadline_.expiry() != deadline_at_) deadline_.expires_at(deadline_at_);
    return watch_deadline();
  }
  if (phase_ == Phase::closing) return finish();
  TimeoutPhase which = phase_ == Phase::handshake ? TimeoutPhase::handshake
                       : phase_ == Phase::request ? TimeoutPhase::request
                       : phase_ == Phase::send    ? TimeoutPhase::send
                                                  : TimeoutPhase::idle;
  env_.counters.timeouts[static_cast<size_t>(which)]++;
  spdlog::debug("{}: connection closed: {} deadline passed", peer(), to_string(which));
  if (which == TimeoutPhase::idle) return close(true);  // a quiet keep-alive end, as nginx does
  close(false);
}

void HttpsConnection::close(bool send_close_notify) {
  if (closed_ || phase_ == Phase::closing) return;
  if (handshake_done_) {
    // close_notify goes out with the flush below; we never wait for the peer's. Either way
    // the session stays in the cache (SSL_SENT_SHUTDOWN).
    if (send_close_notify && !flushing_) write_close_notify();
    SSL_set_shutdown(ssl_.get(), SSL_get_shutdown(ssl_.get()) | SSL_SENT_SHUTDOWN);
  }
  if (!send_close_notify || flushing_) return finish();
  // Decided before our close_notify goes out (respond() did for a last response): what the
  // client sends after it (its own close_notify) is no reason to linger.
  if (!linger_) linger_ = client_may_still_send();
  enter(Phase::closing, env_.opt.linger_timeout);  // bounds the flush and the lingering read
  flush([this] { linger(); });
}

// Writes close_notify into the memory BIO, once: a second SSL_shutdown would wait for the
// peer's close_notify, reading the socket.
void HttpsConnection::write_close_notify() {
  if (!handshake_done_ || (SSL_get_shutdown(ssl_.get()) & SSL_SENT_SHUTDOWN) != 0) return;
  ERR_clear_error();
  SSL_shutdown(ssl_.get());
  ERR_clear_error();
}

// Lingering close: stop sending, then read and discard what the client still sends for a
// moment, so a response followed by close is not destroyed by a TCP reset. Only when the
// client may still be sending (as nginx's `lingering_close on`): after an error response
// or the idle timeout, or when bytes are waiting. A client whose last request asked to
// close, with nothing unread, is closed at once: the lingering read cost it a wake-up, two
// reads and a shutdown per connection, for bytes that do not come.
void HttpsConnection::linger() {
  if (!*linger_) return finish();
  std::error_code ec;
  sock_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return finish();
  drain_buf_ = std::make_unique<std::array<char, 4096>>();
  drain();
}

bool HttpsConnection::client_may_still_send() {
  if (!client_says_done_ || !in_.empty() || SSL_has_pending(ssl_.get()) != 0) return true;
  int n = 0;  // bytes in the socket not read yet (or cannot tell)
  return ::ioctl(sock_.native_handle(), FIONREAD, &n) != 0 || n > 0;
}

void HttpsConnection::drain() {
  sock_.async_read_some(asio::buffer(*drain_buf_), [self = shared_from_this()](std::error_code ec, size_t n) {
    if (self->closed_) return;
    self->drained_ += n;
    if (ec || self->drained_ > 64 * 1024) return self->finish();
    self->drain();
  });
}

void HttpsConnection::set_busy(bool busy) {
  if (env_.loop_busy == nullptr || busy == busy_) return;
  busy_ = busy;
  env_.loop_busy->fetch_add(busy ? 1 : -1, std::memory_order_relaxed);
}

void HttpsConnection::finish() {
  if (closed_) return;
  closed_ = true;
  set_busy(false);
  deadline_.cancel();
  std::error_code ignored;
  sock_.close(ignored);  // completes every pending wait with operation_aborted
}

}  // namespace sessnic::server
