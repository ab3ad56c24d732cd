// sessnic-server: a small HTTPS/1.1 static-content server, one process per "location"
// (flights, cars, hotels). Its session cache is the card's session table through
// sessnic::attach, so a session transferred to this card before the ClientHello arrives
// resumes here. Multi-threaded: `threads` workers share one listening socket, each serving
// one connection at a time with blocking I/O and socket timeouts (simple, and the
// dispatcher in front holds the many idle client connections).
#pragma once
#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sessnic/attach.hpp"
#include "sessnic/device.hpp"
#include "sessnic/ossl_ptr.hpp"
#include "sessnic/seal.hpp"

namespace sessnic::server {

struct ServerOptions {
  std::string name;             // shown in the X-Sessnic-Server header
  std::string host = "127.0.0.1";
  uint16_t port = 0;            // 0: any free port (tests)
  std::filesystem::path content;
  std::filesystem::path cert, key;
  std::string service = "sessnic";  // session-id context, identical on every server
  bool proxy_protocol = false;       // require a PROXY v2 header before TLS
  unsigned threads = 4;
  int io_timeout_ms = 10000;         // per read/write, also the keep-alive idle limit
  long session_timeout_s = 300;
};

struct ServerCounters {
  std::atomic<uint64_t> connections{0}, handshakes_full{0}, handshakes_resumed{0}, handshake_failures{0},
      requests{0}, proxy_header_errors{0};
};

class HttpsServer {
 public:
  // Binds the listener and attaches `device` to a new SSL_CTX. Throws std::runtime_error
  // (bad cert/key, port in use, ...). `device` and `sealer` must outlive the server.
  HttpsServer(ServerOptions opt, Device& device, const Sealer& sealer);
  ~HttpsServer();  // stops and joins

  void start();  // spawns the workers
  void stop();   // closes the listener; workers finish their current connection
  uint16_t port() const { return port_; }
  const ServerCounters& counters() const { return counters_; }
  AttachCounters attach_counters() const { return attachment_->counters(); }

 private:
  void worker();
  void serve(int fd);
  bool read_proxy_header(int fd);

  ServerOptions opt_;
  std::filesystem::path root_;
  SslCtxPtr ctx_;
  std::unique_ptr<Attachment> attachment_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> workers_;
  ServerCounters counters_;
};

}  // namespace sessnic::server
