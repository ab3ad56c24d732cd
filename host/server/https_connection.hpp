// One client connection of sessnic-server, event-driven on asio. OpenSSL reads the
// non-blocking socket directly (a socket BIO) and writes into a memory BIO that asio then
// sends; when OpenSSL wants more input the connection waits for readability with a
// one-byte MSG_PEEK receive. Both are asio operations that try the socket before they
// wait, so no readiness edge is lost (a bare async_wait on asio's edge-triggered epoll
// can miss one). No thread is held while waiting: ten thousand idle keep-alive
// connections cost memory, not threads. Every handler runs on the connection's strand (or
// on its loop's only thread, which serializes them the same way).
//
// Phases and their deadlines (one timer per connection, re-armed at each phase change):
//   proxy+handshake  handshake_timeout from accept
//   request          request_timeout from the first byte of a request to its last
//                    (also the first request after the handshake: a fresh connection
//                    must ask promptly); slow headers do not extend it
//   send             send_timeout to hand a whole response to the kernel
//   idle             idle_timeout between keep-alive requests
// A deadline closes the connection at once. After a completed handshake every close marks
// the TLS connection as shut down, so OpenSSL never drops the session because one
// connection ended badly (the session's life is the cluster's business, see attach.hpp).
#pragma once
#include <openssl/ssl.h>

#include <array>
#include <asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "http_request_parser.hpp"
#include "proxy_protocol.hpp"
#include "server_metrics.hpp"
#include "server_options.hpp"
#include "session_pull.hpp"
#include "sessnic/ossl_ptr.hpp"
#include "static_site.hpp"
#include "tls_contexts.hpp"

namespace sessnic::server {

// What every connection of one server shares (owned by HttpsServer, outlives them all).
struct ConnectionEnv {
  const ServerOptions& opt;
  const TlsContexts& tls;
  const StaticSite& site;
  ServerCounters& counters;
  SessionPull* pull = nullptr;  // acts on the dispatcher's pull hint; null: hints are ignored
};

class HttpsConnection : public std::enable_shared_from_this<HttpsConnection> {
 public:
  // `sock`'s executor must run one handler at a time: a strand, or a loop run by one thread.
  HttpsConnection(asio::ip::tcp::socket sock, const ConnectionEnv& env);
  ~HttpsConnection();
  HttpsConnection(const HttpsConnection&) = delete;
  HttpsConnection& operator=(const HttpsConnection&) = delete;

  void start();

 private:
  enum class Phase { handshake, request, send, idle, closing };
  using Step = void (HttpsConnection::*)();

  void begin();
  void read_proxy_header();
  void do_handshake();
  void do_read();
  bool process_input();
  void respond(int status, const HttpResponse& r, bool keep_alive, bool head_only);
  void after_response();
  // Sends what OpenSSL wrote into the memory BIO, then calls `then` (on the strand).
  void flush(std::function<void()> then);
  bool reset_wbio();
  void wait_readable(Step next);
  void enter(Phase p, std::chrono::milliseconds limit);
  void watch_deadline();
  void on_deadline();
  void close(bool send_close_notify);
  void write_close_notify();
  void linger();
  bool client_may_still_send();  // nginx's rule: no "last request" said, or bytes unread
  void drain();
  void finish();
  std::string peer() const;  // the client for log lines: from the PROXY v2 header, else the socket

  asio::ip::tcp::socket sock_;
  asio::steady_timer deadline_;
  ConnectionEnv env_;
  Phase phase_ = Phase::handshake;
  SslPtr ssl_;
  HttpRequestParser parser_;
  std::string in_;   // decrypted bytes not parsed yet (pipelined requests wait here)
  BIO* wbio_ = nullptr;  // owned by ssl_: TLS output waiting for flush()
  bool flushing_ = false;
  static constexpr int kMaxNested = 8;  // flush() steps run inside one handler before one is posted
  int nested_ = 0;
  bool close_after_write_ = false;
  bool client_says_done_ = false;  // its last request asked to close, or it closed
  std::optional<bool> linger_;     // decided at the last response or close(): linger() reads on
  char peek_byte_ = 0;
  std::optional<proxy_v2::Address> proxied_peer_;  // the client, from the PROXY v2 header
  asio::steady_timer::time_point deadline_at_{};  // the current phase's; the timer may be armed earlier
  bool handshake_done_ = false, resumed_ = false, closed_ = false;
  std::array<uint8_t, proxy_v2::kMaxHeader> proxy_buf_{};
  size_t proxy_got_ = 0;  // bytes of the PROXY v2 header read so far
  std::unique_ptr<std::array<char, 4096>> drain_buf_;  // only while closing
  size_t drained_ = 0;
};

}  // namespace sessnic::server
