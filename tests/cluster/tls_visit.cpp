#include "tls_visit.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace sessnic::cluster_test {
namespace {

using Clock = std::chrono::steady_clock;

std::string errors() {
  std::string out;
  char buf[256];
  while (unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    out += out.empty() ? "" : "; ";
    out += buf;
  }
  return out;
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Runs a non-blocking SSL call until it completes, waiting on the socket as OpenSSL
// asks. Returns the call's last result (> 0 done; <= 0 failed or timed out).
template <typename Call>
int run(SSL* ssl, int fd, Clock::time_point until, Call call) {
  for (;;) {
    ERR_clear_error();
    const int rc = call();
    if (rc > 0) return rc;
    const int e = SSL_get_error(ssl, rc);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return rc;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return -1;
    pollfd p{fd, static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
    ::poll(&p, 1, static_cast<int>(left));
  }
}

std::string header(const std::string& head, const std::string& name) {
  const std::string key = "\r\n" + name + ": ";
  const auto p = head.find(key);
  if (p == std::string::npos) return {};
  const auto b = p + key.size();
  return head.substr(b, head.find("\r\n", b) - b);
}

}  // namespace

Visit visit(SSL_CTX* client, uint16_t port, const std::string& sni, const VisitOptions& o) {
  Visit v;
  const auto until = Clock::now() + std::chrono::milliseconds(o.timeout_ms);
  Socket sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (sock.fd() < 0 || ::connect(sock.fd(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    v.error = std::string("connect: ") + std::strerror(errno);
    return v;
  }
  const int one = 1;
  ::setsockopt(sock.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(sock.fd(), F_SETFL, ::fcntl(sock.fd(), F_GETFL) | O_NONBLOCK);
  SslPtr ssl(SSL_new(client));
  if (!ssl || SSL_set_fd(ssl.get(), sock.fd()) != 1) {
    v.error = "SSL_new: " + errors();
    return v;
  }
  SSL_set_tlsext_host_name(ssl.get(), sni.c_str());
  if (o.session != nullptr) SSL_set_session(ssl.get(), o.session);
  if (run(ssl.get(), sock.fd(), until, [&] { return SSL_connect(ssl.get()); }) != 1) {
    v.error = "handshake: " + errors();
    return v;
  }
  v.reused = SSL_session_reused(ssl.get()) == 1;

  std::string in;
  char buf[4096];
  if (o.request) {
    const std::string req = "GET / HTTP/1.1\r\nHost: " + sni + "\r\n\r\n";  // keep-alive
    if (run(ssl.get(), sock.fd(), until, [&] { return SSL_write(ssl.get(), req.data(), static_cast<int>(req.size())); }) <= 0) {
      v.error = "request: " + errors();
      return v;
    }
    std::size_t end = std::string::npos, need = 0;
    while (end == std::string::npos || in.size() < need) {
      const int n = run(ssl.get(), sock.fd(), until, [&] { return SSL_read(ssl.get(), buf, sizeof buf); });
      if (n <= 0) {
        v.error = "response: " + errors();
        return v;
      }
      in.append(buf, static_cast<std::size_t>(n));
      if (end == std::string::npos && (end = in.find("\r\n\r\n")) != std::string::npos) {
        const std::string len = header(in.substr(0, end), "Content-Length");
        need = end + 4 + (len.empty() ? 0 : std::stoul(len));
      }
    }
    const std::string head = "\r\n" + in.substr(0, end);
    v.server = header(head, "X-Sessnic-Server");
    v.handshake = header(head, "X-Sessnic-Handshake");
  }
  // TLS 1.3: the ticket comes after the handshake; read until it is there (a new
  // session object: a resumed connection starts with the offered one).
  auto fresh_ticket = [&] {
    const SSL_SESSION* s = SSL_get0_session(ssl.get());
    return s != o.session && SSL_SESSION_has_ticket(s) == 1;
  };
  while (SSL_version(ssl.get()) == TLS1_3_VERSION && !fresh_ticket()) {
    ERR_clear_error();
    const int n = SSL_read(ssl.get(), buf, sizeof buf);
    if (n > 0) continue;
    if (SSL_get_error(ssl.get(), n) != SSL_ERROR_WANT_READ) {
      v.error = "reading the ticket: " + errors();
      return v;
    }
    if (fresh_ticket()) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) {
      v.error = "no TLS 1.3 ticket in time";
      return v;
    }
    pollfd p{sock.fd(), POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left));
  }
  v.session.reset(SSL_get1_session(ssl.get()));
  if (o.close_notify) {
    (void)run(ssl.get(), sock.fd(), until, [&] { return SSL_shutdown(ssl.get()); });
  } else {
    // Nothing more is sent: the TCP FIN comes without close_notify. Marking the shutdown
    // done keeps OpenSSL from flagging the client's own session as bad on SSL_free.
    SSL_set_shutdown(ssl.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  }
  v.ok = true;
  return v;
}

}  // namespace sessnic::cluster_test
