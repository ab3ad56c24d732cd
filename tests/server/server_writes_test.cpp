// What sessnic-server sends per flight: the TLS 1.3 session ticket, the response and the
// close_notify after a last response leave in one write, so the client is woken once for
// them (each write is a system call on the server and a wake-up on the client).
//
// The client here holds its records in a memory BIO and sends its Finished and its request
// in one send(), so the server has both at once; the test then takes only what the first
// arrival holds (one recv as soon as the socket is readable, no waiting for more) and checks
// that it is the whole answer. A server that wrote the ticket, the response and the
// close_notify separately is caught here: the first arrival then lacks the response or
// the close_notify.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "loopback.hpp"
#include "server_fixture.hpp"
#include "tls_test_support.hpp"

namespace sessnic::servertest {
namespace {

constexpr int kIoMs = 5000;  // a server that does not answer fails the test, it does not hang it

class HeldClient {
 public:
  HeldClient(uint16_t port, SSL_CTX* ctx, SSL_SESSION* resume)
      : ssl_(SSL_new(ctx)), fd_(sessnic::testing::tcp_connect(port, std::chrono::milliseconds(kIoMs))) {
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    connected_ = fd_ >= 0;
    rbio_ = BIO_new(BIO_s_mem());
    wbio_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_.get(), rbio_, wbio_);
    SSL_set_tlsext_host_name(ssl_.get(), "localhost");
    if (resume) SSL_set_session(ssl_.get(), resume);
  }
  ~HeldClient() {
    // Freed without a shutdown, OpenSSL would mark the client's session not resumable.
    SSL_set_shutdown(ssl_.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    if (fd_ >= 0) ::close(fd_);
  }
  HeldClient(const HeldClient&) = delete;
  HeldClient& operator=(const HeldClient&) = delete;

  // The handshake up to the client's last flight, which stays held (not sent).
  bool handshake() {
    if (!connected_) return false;
    for (;;) {
      ERR_clear_error();
      const int r = SSL_connect(ssl_.get());
      if (r == 1) return true;
      if (SSL_get_error(ssl_.get(), r) != SSL_ERROR_WANT_READ || !send_held() || !receive_some()) return false;
    }
  }
  bool write(const std::string& s) { return SSL_write(ssl_.get(), s.data(), static_cast<int>(s.size())) == static_cast<int>(s.size()); }
  // Everything held so far, in one send().
  bool send_held() {
    char* data = nullptr;
    const long n = BIO_get_mem_data(wbio_, &data);
    if (n > 0 && ::send(fd_, data, static_cast<size_t>(n), MSG_NOSIGNAL) != n) return false;
    (void)BIO_reset(wbio_);
    return true;
  }
  // One recv as soon as the socket is readable: what the first arrival holds.
  bool receive_some() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, kIoMs) != 1) return false;
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) return false;
    BIO_write(rbio_, buf, static_cast<int>(n));
    return true;
  }
  // Decrypts what has been received (nothing more is read from the socket).
  std::string plaintext() {
    std::string out;
    char buf[4096];
    for (;;) {
      ERR_clear_error();
      const int n = SSL_read(ssl_.get(), buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ERR_clear_error();
    return out;
  }
  bool close_notify_received() const { return (SSL_get_shutdown(ssl_.get()) & SSL_RECEIVED_SHUTDOWN) != 0; }
  bool resumed() const { return SSL_session_reused(ssl_.get()) == 1; }
  // A session the client could offer next (TLS 1.3: only once the ticket has been read).
  SslSessionPtr resumable_session() const {
    SslSessionPtr s(SSL_get1_session(ssl_.get()));
    return s && SSL_SESSION_is_resumable(s.get()) ? std::move(s) : nullptr;
  }

 private:
  SslPtr ssl_;
  int fd_ = -1;
  bool connected_ = false;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;
};

const std::string kLastRequest = "GET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

// One connection: handshake, then the held last flight and a last request in one send();
// returns the session the first arrival carried.
SslSessionPtr last_request_in_one_arrival(uint16_t port, SSL_CTX* ctx, SSL_SESSION* resume, bool expect_resumed) {
  HeldClient c(port, ctx, resume);
  EXPECT_TRUE(c.handshake());
  EXPECT_EQ(c.resumed(), expect_resumed);
  EXPECT_TRUE(c.write(kLastRequest));
  EXPECT_TRUE(c.send_held());
  EXPECT_TRUE(c.receive_some());
  const std::string text = c.plaintext();
  EXPECT_NE(text.find("200 OK"), std::string::npos) << "the first arrival lacks the response: '" << text << "'";
  EXPECT_TRUE(text.ends_with("\r\n\r\nalpha")) << text;
  EXPECT_TRUE(c.close_notify_received()) << "the close_notify came in a later write";
  return c.resumable_session();
}

TEST(ServerWrites, Tls13TicketResponseAndCloseNotifyLeaveInOneWrite) {
  ServerFixture f;
  auto srv = f.start();
  auto ctx = testtls::make_client_ctx(TLS1_3_VERSION);
  SslSessionPtr s = last_request_in_one_arrival(srv->port(), ctx.get(), nullptr, false);
  ASSERT_TRUE(s) << "no session ticket in the first arrival";
  SslSessionPtr again = last_request_in_one_arrival(srv->port(), ctx.get(), s.get(), true);
  EXPECT_TRUE(again) << "no fresh ticket in the first arrival of the resumed connection";
}

TEST(ServerWrites, Tls12ResumedResponseAndCloseNotifyLeaveInOneWrite) {
  ServerFixture f;
  auto srv = f.start();
  auto ctx = testtls::make_client_ctx(TLS1_2_VERSION);
  SslSessionPtr s = last_request_in_one_arrival(srv->port(), ctx.get(), nullptr, false);
  ASSERT_TRUE(s);
  last_request_in_one_arrival(srv->port(), ctx.get(), s.get(), true);
}

// The server's end of the connection whose client end is `client_fd` (this process holds
// both): -1 until the server has accepted it.
int server_end(int client_fd, uint16_t server_port) {
  sockaddr_in me{};
  socklen_t len = sizeof me;
  if (::getsockname(client_fd, reinterpret_cast<sockaddr*>(&me), &len) != 0) return -1;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const int fd = std::stoi(e.path().filename().string());
    sockaddr_in local{}, peer{};
    socklen_t l1 = sizeof local, l2 = sizeof peer;
    if (fd == client_fd || ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &l1) != 0 ||
        local.sin_family != AF_INET || ntohs(local.sin_port) != server_port ||
        ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &l2) != 0)
      continue;
    if (peer.sin_port == me.sin_port) return fd;
  }
  return -1;
}

// Every flight is one write (above), so Nagle's algorithm would only hold a flight back
// until the client's delayed ACK. TCP_NODELAY is set on the listener and Linux copies it to
// the accepted sockets, with one event loop and with one listener per thread.
TEST(ServerWrites, AcceptedConnectionsSendWithoutNagle) {
  for (bool per_thread : {false, true}) {
    ServerFixture f;
    f.options.per_thread_loops = per_thread;
    auto srv = f.start();
    for (int i = 0; i < 4; ++i) {  // SO_REUSEPORT spreads these over both listeners
      const int c = sessnic::testing::tcp_connect(srv->port(), std::chrono::milliseconds(kIoMs));
      ASSERT_GE(c, 0);
      int fd = -1;
      for (auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kIoMs);
           fd < 0 && std::chrono::steady_clock::now() < until;)
        if ((fd = server_end(c, srv->port())) < 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      ASSERT_GE(fd, 0) << "the server did not accept the connection";
      int nodelay = 0;
      socklen_t len = sizeof nodelay;
      ASSERT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
      EXPECT_EQ(nodelay, 1) << (per_thread ? "per_thread" : "shared") << " loops, connection " << i;
      ::close(c);
    }
  }
}

}  // namespace
}  // namespace sessnic::servertest
