#include "https_test_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace sessnic::servertest {

bool wait_for_eof(int fd, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;  // a reset is a close too
  }
}

std::unique_ptr<HttpsClient> HttpsClient::connect(uint16_t port, SSL_CTX* ctx, const std::string& sni,
                                                  SSL_SESSION* resume, std::chrono::milliseconds timeout,
                                                  std::string* error) {
  // OpenSSL writes through the socket BIO with write(2): a server that closes at once (a
  // connection over its limit) would kill the test with SIGPIPE instead of failing a check.
  static const bool sigpipe_ignored = [] { return std::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)sigpipe_ignored;
  std::unique_ptr<HttpsClient> c(new HttpsClient);
  c->fd_ = tcp_connect(port, timeout);
  if (c->fd_ < 0) {
    if (error) *error = std::string("connect: ") + std::strerror(errno);
    return nullptr;
  }
  c->ssl_.reset(SSL_new(ctx));
  SSL_set_fd(c->ssl_.get(), c->fd_);
  if (!sni.empty()) SSL_set_tlsext_host_name(c->ssl_.get(), sni.c_str());
  if (resume) SSL_set_session(c->ssl_.get(), resume);
  ERR_clear_error();
  if (SSL_connect(c->ssl_.get()) != 1) {
    if (error) {
      char buf[256] = "handshake failed (timeout or EOF)";
      if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
      *error = buf;
    }
    ERR_clear_error();
    return nullptr;
  }
  return c;
}

HttpsClient::~HttpsClient() {
  // Marks the client side shut down without sending anything: on the wire this is a TCP
  // close without close_notify, and the client's own OpenSSL keeps the session resumable
  // (as browsers do), so what a test measures is the server's behaviour.
  if (ssl_) SSL_set_shutdown(ssl_.get(), SSL_get_shutdown(ssl_.get()) | SSL_SENT_SHUTDOWN);
  if (fd_ >= 0) ::close(fd_);
}

bool HttpsClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    int n = SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size()));
    if (n <= 0) {
      ERR_clear_error();
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::optional<Response> HttpsClient::read_response(bool head) {
  auto fill = [&]() {
    char tmp[16384];
    int n = SSL_read(ssl_.get(), tmp, sizeof tmp);
    if (n <= 0) {
      ERR_clear_error();
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  };
  size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
    if (!fill()) return std::nullopt;
  Response r;
  std::string head_block = buf_.substr(0, end);
  buf_.erase(0, end + 4);
  size_t line_end = head_block.find("\r\n");
  std::string status_line = head_block.substr(0, line_end);
  if (!status_line.starts_with("HTTP/1.1 ") || status_line.size() < 12) return std::nullopt;
  r.status = std::atoi(status_line.c_str() + 9);
  size_t pos = line_end == std::string::npos ? head_block.size() : line_end + 2;
  while (pos < head_block.size()) {
    size_t e = head_block.find("\r\n", pos);
    if (e == std::string::npos) e = head_block.size();
    std::string line = head_block.substr(pos, e - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    pos = e + 2;
  }
  size_t len = head ? 0 : static_cast<size_t>(std::atoll(r.header("content-length").c_str()));
  while (buf_.size() < len)
    if (!fill()) return std::nullopt;
  r.body = buf_.substr(0, len);
  buf_.erase(0, len);
  return r;
}

std::optional<Response> HttpsClient::get(const std::string& path, const std::string& host) {
  if (!send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")) return std::nullopt;
  return read_response();
}

bool HttpsClient::closed_by_server(std::chrono::milliseconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char tmp[4096];
  for (;;) {
    int n = SSL_read(ssl_.get(), tmp, sizeof tmp);
    if (n > 0) continue;
    int e = SSL_get_error(ssl_.get(), n);
    ERR_clear_error();
    if (e == SSL_ERROR_ZERO_RETURN) return true;
    // EOF without close_notify shows as SSL_ERROR_SSL (unexpected eof) or SYSCALL with errno 0.
    if (e == SSL_ERROR_SYSCALL) return errno == 0 || errno == ECONNRESET;
    return e == SSL_ERROR_SSL;
  }
}

void HttpsClient::shutdown() {
  SSL_shutdown(ssl_.get());
  ERR_clear_error();
}

bool HttpsClient::resumed() const { return SSL_session_reused(ssl_.get()) == 1; }

SslSessionPtr HttpsClient::session() const { return SslSessionPtr(SSL_get1_session(ssl_.get())); }

}  // namespace sessnic::servertest
