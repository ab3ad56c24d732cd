// A blocking HTTPS/1.1 client for the server tests and bench: real OpenSSL over a real
// loopback TCP socket, every read and write bounded by a socket timeout, so a server that
// does not answer makes a test fail (not hang). Responses are read by Content-Length.
#pragma once
#include "loopback.hpp"
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sessnic/ossl_ptr.hpp"

namespace sessnic::servertest {

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

using sessnic::testing::tcp_connect;
// Blocks until the peer closes (true) or `timeout` passes / the socket errs (false).
// Bytes received meanwhile are discarded.
bool wait_for_eof(int fd, std::chrono::milliseconds timeout);

class HttpsClient {
 public:
  // Connects and handshakes (SNI `sni` when not empty, offering `resume` when given).
  // nullptr on failure, with the reason in *error.
  static std::unique_ptr<HttpsClient> connect(uint16_t port, SSL_CTX* ctx, const std::string& sni, SSL_SESSION* resume,
                                              std::chrono::milliseconds timeout, std::string* error);
  ~HttpsClient();  // closes without close_notify (the tests that need one call shutdown())
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  bool send(std::string_view bytes);
  // One response; nullopt on timeout, EOF or a malformed response. `head`: no body follows.
  std::optional<Response> read_response(bool head = false);
  std::optional<Response> get(const std::string& path, const std::string& host = "localhost");
  // The server closed the connection (TLS close_notify or TCP EOF) within `timeout`.
  bool closed_by_server(std::chrono::milliseconds timeout);
  void shutdown();  // sends close_notify

  SSL* ssl() const { return ssl_.get(); }
  int fd() const { return fd_; }
  bool resumed() const;
  // The session to resume with later (for TLS 1.3 read after a response, so the ticket arrived).
  SslSessionPtr session() const;

 private:
  HttpsClient() = default;
  int fd_ = -1;
  SslPtr ssl_;
  std::string buf_;  // bytes read past the last response
};

}  // namespace sessnic::servertest
