#include "https_server.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string_view>

#include "proxy_protocol.hpp"

namespace sessnic::server {
namespace {

std::string openssl_error() {
  std::string s;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!s.empty()) s += "; ";
    s += buf;
  }
  return s.empty() ? "unknown OpenSSL error" : s;
}

// Reads exactly n bytes (blocking, bounded by the socket timeout).
bool read_exact(int fd, uint8_t* p, size_t n) {
  while (n) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      return false;
    }
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

std::string_view content_type(const std::filesystem::path& p) {
  auto ext = p.extension().string();
  if (ext == ".html" || ext == ".htm") return "text/html; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".css") return "text/css";
  if (ext == ".js") return "text/javascript";
  if (ext == ".png") return "image/png";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

int alpn_select(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void*) {
  static const unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* sel = nullptr;
  if (SSL_select_next_proto(&sel, outlen, http11, sizeof http11, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;  // only http/1.1 here; a client offering just h2 gets no ALPN
}

}  // namespace

HttpsServer::HttpsServer(ServerOptions opt, Device& device, const Sealer& sealer) : opt_(std::move(opt)) {
  std::error_code ec;
  root_ = std::filesystem::canonical(opt_.content, ec);
  if (ec || !std::filesystem::is_directory(root_))
    throw std::runtime_error(fmt::format("content directory '{}' does not exist", opt_.content.string()));

  ctx_.reset(SSL_CTX_new(TLS_server_method()));
  if (!ctx_) throw std::runtime_error("SSL_CTX_new: " + openssl_error());
  SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx_.get(), opt_.cert.c_str()) != 1)
    throw std::runtime_error(fmt::format("certificate '{}': {}", opt_.cert.string(), openssl_error()));
  if (SSL_CTX_use_PrivateKey_file(ctx_.get(), opt_.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx_.get()) != 1)
    throw std::runtime_error(fmt::format("private key '{}': {}", opt_.key.string(), openssl_error()));
  SSL_CTX_set_timeout(ctx_.get(), opt_.session_timeout_s);
  SSL_CTX_set_alpn_select_cb(ctx_.get(), alpn_select, nullptr);
  AttachOptions ao;
  ao.sealer = &sealer;
  ao.service = opt_.service;
  attachment_ = attach(ctx_.get(), device, ao);

  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(opt_.port);
  if (::inet_pton(AF_INET, opt_.host.c_str(), &a.sin_addr) != 1)
    throw std::runtime_error(fmt::format("listen address '{}' is not an IPv4 address", opt_.host));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 512) != 0) {
    int e = errno;
    ::close(listen_fd_);
    throw std::runtime_error(fmt::format("cannot listen on {}:{}: {}", opt_.host, opt_.port, std::strerror(e)));
  }
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
}

HttpsServer::~HttpsServer() {
  stop();
  for (auto& t : workers_) t.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  attachment_.reset();  // detach before the SSL_CTX goes
}

void HttpsServer::start() {
  for (unsigned i = 0; i < std::max(1u, opt_.threads); ++i) workers_.emplace_back([this] { worker(); });
}

void HttpsServer::stop() {
  if (stopping_.exchange(true)) return;
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes every thread blocked in accept()
}

void HttpsServer::worker() {
  while (!stopping_) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) continue;
      return;
    }
    counters_.connections++;
    timeval tv{opt_.io_timeout_ms / 1000, (opt_.io_timeout_ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    serve(fd);
    ::close(fd);
    ERR_clear_error();
  }
}

bool HttpsServer::read_proxy_header(int fd) {
  std::vector<uint8_t> buf(proxy_v2::kHeaderFixed);
  if (!read_exact(fd, buf.data(), buf.size())) return false;
  auto d = proxy_v2::decode(buf);
  if (d.status == proxy_v2::DecodeStatus::bad) return false;
  size_t total = static_cast<size_t>(buf[14]) << 8 | buf[15];
  buf.resize(proxy_v2::kHeaderFixed + total);
  if (!read_exact(fd, buf.data() + proxy_v2::kHeaderFixed, total)) return false;
  d = proxy_v2::decode(buf);
  return d.status == proxy_v2::DecodeStatus::ok || d.status == proxy_v2::DecodeStatus::local;
}

void HttpsServer::serve(int fd) {
  if (opt_.proxy_protocol && !read_proxy_header(fd)) {
    counters_.proxy_header_errors++;
    return;
  }
  SslPtr ssl(SSL_new(ctx_.get()));
  if (!ssl) return;
  SSL_set_fd(ssl.get(), fd);
  if (SSL_accept(ssl.get()) != 1) {
    counters_.handshake_failures++;
    return;
  }
  bool resumed = SSL_session_reused(ssl.get()) == 1;
  (resumed ? counters_.handshakes_resumed : counters_.handshakes_full)++;
  const char* version = SSL_get_version(ssl.get());

  std::string in;
  char buf[8192];
  for (;;) {
    size_t end;
    bool eof = false;
    while ((end = in.find("\r\n\r\n")) == std::string::npos) {
      if (in.size() > 16384) {  // header block too large
        eof = true;
        break;
      }
      int n = SSL_read(ssl.get(), buf, sizeof buf);
      if (n <= 0) {
        eof = true;
        break;
      }
      in.append(buf, static_cast<size_t>(n));
    }
    if (eof) break;
    std::string head = in.substr(0, end);
    in.erase(0, end + 4);
    counters_.requests++;
    auto line_end = head.find("\r\n");
    std::string line = head.substr(0, line_end);
    std::string lower = head;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool keep_alive = line.ends_with("HTTP/1.1") && lower.find("\r\nconnection: close") == std::string::npos;

    int status = 200;
    std::string body, type = "text/plain; charset=utf-8";
    auto sp1 = line.find(' '), sp2 = line.rfind(' ');
    std::string method = line.substr(0, sp1);
    std::string target = (sp1 != std::string::npos && sp2 > sp1) ? line.substr(sp1 + 1, sp2 - sp1 - 1) : "";
    if (method != "GET" && method != "HEAD") {
      status = 405;
      body = "method not allowed\n";
    } else if (target.empty() || target[0] != '/' || target.find("..") != std::string::npos ||
               target.find('\0') != std::string::npos) {
      status = 400;
      body = "bad request\n";
    } else {
      std::string path = target.substr(0, target.find('?'));
      if (path.ends_with("/")) path += "index.html";
      std::error_code ec;
      auto file = std::filesystem::weakly_canonical(root_ / path.substr(1), ec);
      auto rel = file.lexically_relative(root_);
      if (ec || rel.empty() || rel.native().starts_with("..") || !std::filesystem::is_regular_file(file, ec)) {
        status = 404;
        body = fmt::format("not found on {}\n", opt_.name);
      } else {
        std::ifstream f(file, std::ios::binary);
        body.assign(std::istreambuf_iterator<char>(f), {});
        type = content_type(file);
      }
    }
    std::string reason = status == 200 ? "OK" : status == 404 ? "Not Found" : status == 405 ? "Method Not Allowed" : "Bad Request";
    std::string resp = fmt::format(
        "HTTP/1.1 {} {}\r\nServer: sessnic-server\r\nX-Sessnic-Server: {}\r\nX-Sessnic-Handshake: {}\r\n"
        "X-Sessnic-Tls: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n",
        status, reason, opt_.name, resumed ? "resumed" : "full", version, type, body.size(),
        keep_alive ? "keep-alive" : "close");
    if (method != "HEAD") resp += body;
    if (SSL_write(ssl.get(), resp.data(), static_cast<int>(resp.size())) <= 0) break;
    if (!keep_alive) break;
  }
  // close_notify on every close after a good handshake (idle timeout and peer EOF too):
  // OpenSSL drops a session from the cache when a connection ends without it.
  SSL_shutdown(ssl.get());
}

}  // namespace sessnic::server
