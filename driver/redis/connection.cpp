#include "sessnic/redis/connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sessnic::redis {
namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

std::string openssl_error() {
  char buf[256] = "unknown TLS error";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

struct ReaderDeleter {
  void operator()(redisReader* r) const { redisReaderFree(r); }
};
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
struct SslDeleter {
  void operator()(SSL* s) const { SSL_free(s); }
};
struct SslCtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};

Reply copy_reply(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING: out.type = Reply::Type::string; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_STATUS: out.type = Reply::Type::status; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_ERROR: out.type = Reply::Type::error; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_INTEGER: out.type = Reply::Type::integer; out.integer = r->integer; break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(copy_reply(r->element[i]));
      break;
    default: out.type = Reply::Type::nil; break;
  }
  return out;
}

}  // namespace

struct Connection::Impl {
  int fd = -1;
  std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx;
  std::unique_ptr<SSL, SslDeleter> ssl;
  std::unique_ptr<redisReader, ReaderDeleter> reader{redisReaderCreate()};
  std::string where;

  ~Impl() {
    if (ssl) SSL_shutdown(ssl.get());  // best effort, non-blocking socket
    if (fd >= 0) ::close(fd);
  }

  [[noreturn]] void fail(const std::string& what) const { throw Unreachable("redis " + where + ": " + what); }

  void wait(short events, Clock::time_point deadline, const char* what) const {
    for (;;) {
      pollfd p{fd, events, 0};
      int n = ::poll(&p, 1, ms_left(deadline));
      if (n > 0) return;
      if (n == 0) fail(std::string("timed out ") + what);
      if (errno != EINTR) fail(std::string("poll: ") + std::strerror(errno));
    }
  }

  void connect_tcp(const RedisAddress& a, Clock::time_point deadline) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    const bool v6 = a.host.find(':') != std::string::npos;
    if (v6) {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons(a.port);
      if (inet_pton(AF_INET6, a.host.c_str(), &s6->sin6_addr) != 1) fail("not a numeric address");
      len = sizeof *s6;
    } else {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
      s4->sin_family = AF_INET;
      s4->sin_port = htons(a.port);
      if (inet_pton(AF_INET, a.host.c_str(), &s4->sin_addr) != 1) fail("not a numeric address");
      len = sizeof *s4;
    }
    fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      if (errno != EINPROGRESS) fail(std::string("connect: ") + std::strerror(errno));
      wait(POLLOUT, deadline, "connecting");
      int err = 0;
      socklen_t el = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
      if (err != 0) fail(std::string("connect: ") + std::strerror(err));
    }
  }

  void start_tls(const RedisTls& t, Clock::time_point deadline) {
    ctx.reset(SSL_CTX_new(TLS_client_method()));
    if (!ctx) fail("SSL_CTX_new: " + openssl_error());
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    if (SSL_CTX_load_verify_locations(ctx.get(), t.ca.c_str(), nullptr) != 1)
      fail("tls ca " + t.ca.string() + ": " + openssl_error());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (!t.cert.empty()) {
      if (SSL_CTX_use_certificate_chain_file(ctx.get(), t.cert.c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(ctx.get(), t.key.c_str(), SSL_FILETYPE_PEM) != 1)
        fail("tls client certificate/key: " + openssl_error());
    }
    ssl.reset(SSL_new(ctx.get()));
    if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) fail("SSL_new: " + openssl_error());
    if (!t.server_name.empty()) {
      SSL_set_tlsext_host_name(ssl.get(), t.server_name.c_str());
      SSL_set1_host(ssl.get(), t.server_name.c_str());
    }
    for (;;) {
      ERR_clear_error();
      int r = SSL_connect(ssl.get());
      if (r == 1) return;
      int e = SSL_get_error(ssl.get(), r);
      if (e == SSL_ERROR_WANT_READ) wait(POLLIN, deadline, "in the TLS handshake");
      else if (e == SSL_ERROR_WANT_WRITE) wait(POLLOUT, deadline, "in the TLS handshake");
      else fail("TLS handshake: " + openssl_error());
    }
  }

  void write_all(const char* p, size_t n, Clock::time_point deadline) {
    while (n > 0) {
      ssize_t w;
      if (ssl) {
        ERR_clear_error();
        int r = SSL_write(ssl.get(), p, static_cast<int>(n));
        if (r <= 0) {
          int e = SSL_get_error(ssl.get(), r);
          if (e == SSL_ERROR_WANT_READ) { wait(POLLIN, deadline, "writing"); continue; }
          if (e == SSL_ERROR_WANT_WRITE) { wait(POLLOUT, deadline, "writing"); continue; }
          fail("TLS write: " + openssl_error());
        }
        w = r;
      } else {
        w = ::send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
          if (errno == EAGAIN || errno == EINTR) { wait(POLLOUT, deadline, "writing"); continue; }
          fail(std::string("send: ") + std::strerror(errno));
        }
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
  }

  // Reads whatever is available (at least one byte) into the RESP reader.
  void read_some(Clock::time_point deadline) {
    char buf[16384];
    for (;;) {
      ssize_t n;
      if (ssl) {
        ERR_clear_error();
        int r = SSL_read(ssl.get(), buf, sizeof buf);
        if (r <= 0) {
          int e = SSL_get_error(ssl.get(), r);
          if (e == SSL_ERROR_WANT_READ) { wait(POLLIN, deadline, "waiting for the reply"); continue; }
          if (e == SSL_ERROR_WANT_WRITE) { wait(POLLOUT, deadline, "waiting for the reply"); continue; }
          fail(e == SSL_ERROR_ZERO_RETURN ? "connection closed" : "TLS read: " + openssl_error());
        }
        n = r;
      } else {
        n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
          if (errno == EAGAIN || errno == EINTR) { wait(POLLIN, deadline, "waiting for the reply"); continue; }
          fail(std::string("recv: ") + std::strerror(errno));
        }
        if (n == 0) fail("connection closed");
      }
      if (redisReaderFeed(reader.get(), buf, static_cast<size_t>(n)) != REDIS_OK) fail("bad RESP from the server");
      return;
    }
  }

  Reply read_reply(Clock::time_point deadline) {
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK) fail("bad RESP from the server");
      if (raw) {
        std::unique_ptr<redisReply, ReplyDeleter> r(static_cast<redisReply*>(raw));
        return copy_reply(r.get());
      }
      read_some(deadline);
    }
  }
};

Connection::Connection(const RedisAddress& addr, const RedisOptions& o)
    : addr_(addr), io_timeout_(o.io_timeout), impl_(std::make_unique<Impl>()) {
  impl_->where = addr.str();
  if (!impl_->reader) throw std::bad_alloc();
  const auto deadline = Clock::now() + o.connect_timeout;
  impl_->connect_tcp(addr, deadline);
  if (o.tls) impl_->start_tls(*o.tls, deadline);
  if (!o.password.empty()) {
    RespCommand auth = o.user.empty() ? RespCommand{"AUTH", o.password} : RespCommand{"AUTH", o.user, o.password};
    Reply r = run(auth);
    if (r.is_error()) {
      broken_ = true;
      throw Unreachable("redis " + addr.str() + ": AUTH refused: " + r.str);
    }
  }
}

Connection::~Connection() = default;

std::vector<Reply> Connection::run(std::span<const RespCommand> commands) {
  if (broken_) throw Unreachable("redis " + addr_.str() + ": connection broken");
  try {
    const auto deadline = Clock::now() + io_timeout_;
    std::string out;
    for (const auto& c : commands) {
      std::vector<const char*> argv;
      std::vector<size_t> lens;
      for (const auto& a : c) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      char* cmd = nullptr;
      int n = redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), argv.data(), lens.data());
      if (n < 0 || cmd == nullptr) throw std::bad_alloc();
      out.append(cmd, static_cast<size_t>(n));
      redisFreeCommand(cmd);
    }
    impl_->write_all(out.data(), out.size(), deadline);
    std::vector<Reply> replies;
    replies.reserve(commands.size());
    for (size_t i = 0; i < commands.size(); ++i) replies.push_back(impl_->read_reply(deadline));
    return replies;
  } catch (...) {
    broken_ = true;  // a reply may still be on its way: this connection is out of step
    throw;
  }
}

Reply Connection::run(const RespCommand& command) { return std::move(run(std::span<const RespCommand>(&command, 1)).front()); }

}  // namespace sessnic::redis
