#include "tls_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "sessnic/unique_fd.hpp"

namespace sessnic::dispatch {
namespace {
using Clock = std::chrono::steady_clock;

std::string header(const std::string& head, const std::string& name) {
  std::string lower = head;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string key = "\r\n" + name + ":";
  for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto p = lower.find(key);
  if (p == std::string::npos) return {};
  p += key.size();
  auto e = head.find("\r\n", p);
  std::string v = head.substr(p, e == std::string::npos ? std::string::npos : e - p);
  while (!v.empty() && v.front() == ' ') v.erase(v.begin());
  return v;
}

}  // namespace

TlsClient::TlsClient(int max_version) : ctx_(SSL_CTX_new(TLS_client_method())) {
  if (!ctx_) throw std::runtime_error("SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx_.get(), max_version);
  // The client keeps sessions itself (like s_client -sess_out): it offers what we pass.
  SSL_CTX_set_session_cache_mode(ctx_.get(), SSL_SESS_CACHE_OFF);
}

FetchResult TlsClient::fetch(const std::string& host, uint16_t port, const std::string& sni, const std::string& path,
                             SSL_SESSION* resume, std::chrono::milliseconds timeout) {
  FetchResult r;
  auto t0 = Clock::now();
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (s.get() < 0 || ::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    r.error = "bad address " + host;
    return r;
  }
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    r.error = std::string("connect: ") + std::strerror(errno);
    return r;
  }
  SslPtr ssl(SSL_new(ctx_.get()));
  SSL_set_fd(ssl.get(), s.get());
  SSL_set_tlsext_host_name(ssl.get(), sni.c_str());
  static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_set_alpn_protos(ssl.get(), alpn, sizeof alpn);
  if (resume) SSL_set_session(ssl.get(), resume);
  if (SSL_connect(ssl.get()) != 1) {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    r.error = std::string("handshake: ") + buf;
    ERR_clear_error();
    return r;
  }
  r.handshake_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  r.resumed = SSL_session_reused(ssl.get()) == 1;
  r.tls_version = SSL_get_version(ssl.get());

  std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + sni + "\r\nConnection: close\r\n\r\n";
  if (SSL_write(ssl.get(), req.data(), static_cast<int>(req.size())) <= 0) {
    r.error = "write failed";
    return r;
  }
  std::string resp;
  char buf[8192];
  int n;
  while ((n = SSL_read(ssl.get(), buf, sizeof buf)) > 0) resp.append(buf, static_cast<size_t>(n));
  ERR_clear_error();
  auto end = resp.find("\r\n\r\n");
  if (resp.size() < 12 || end == std::string::npos) {
    r.error = "no HTTP response";
    return r;
  }
  std::string head = resp.substr(0, end);
  r.status = std::atoi(head.c_str() + 9);
  r.server = header(head, "X-Sessnic-Server");
  r.server_handshake = header(head, "X-Sessnic-Handshake");
  // TLS 1.3 tickets arrive after the handshake; by now (response read) we have them.
  r.session.reset(SSL_get1_session(ssl.get()));
  SSL_shutdown(ssl.get());
  r.ok = r.status == 200;
  if (!r.ok) r.error = "HTTP status " + std::to_string(r.status);
  return r;
}

}  // namespace sessnic::dispatch
