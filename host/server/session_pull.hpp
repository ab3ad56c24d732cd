// Pull on miss, asked by the dispatcher: the server side of the pull hint
// (host/net/pull_hint.hpp). The dispatcher forwards a hello at once when the offered
// session lives on another card and says which one in the PROXY v2 header; this pulls it
// from there while the handshake waits, without holding a server thread:
//
//   HttpsConnection (PROXY v2 header with a hint) -> SessionPull::set_hint(ssl, hint)
//   ClientHello callback (HelloLookup) -> this card holds the session (EXPORT, a look
//     that never consumes)? go on at once. Else PULL from the owner on a worker,
//     bounded by the hint's budget, and SSL_CLIENT_HELLO_RETRY; the connection resumes
//     the handshake when the pull is answered, and attach()'s get-session callback finds
//     the session on the card (a TLS 1.3 ticket is then TAKEN here: the card tombstones
//     the owner's copy, so it is still used once cluster-wide).
// A hello without a hint (no dispatcher, or one that moved the session itself) is left
// alone: the card alone decides, as without this class.
#pragma once
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "pull_hint.hpp"
#include "sessnic/device.hpp"
#include "sessnic/hello_lookup.hpp"
#include "sessnic/redis/workers.hpp"

namespace sessnic::server {

struct SessionPullCounters {
  uint64_t hinted = 0;     // hellos that came with a hint and offered a session
  uint64_t local = 0;      // ... already on this card: no pull
  uint64_t pulled = 0;     // ... pulled from the owner (OK)
  uint64_t not_found = 0;  // ... the owner had none (MISS/EXPIRED): full handshake
  uint64_t failed = 0;     // ... no answer by the budget, owner down: full handshake
  uint64_t late = 0;       // ... a hint with a zero budget: no pull
  uint64_t busy = 0;       // ... worker queue full: no pull
};

class SessionPull {
 public:
  // Installs the ClientHello lookup on `ctx` (after attach(); it replaces another
  // ClientHello callback). `card` must outlive this object; `ctx_id` is the attachment's.
  SessionPull(SSL_CTX* ctx, Device& card, uint8_t ctx_id);
  ~SessionPull();  // no new pulls; waits for those in flight (each bounded by its budget)
  SessionPull(const SessionPull&) = delete;
  SessionPull& operator=(const SessionPull&) = delete;

  // The hint of this connection's PROXY v2 header; its budget counts from the ClientHello.
  static void set_hint(SSL* ssl, const proxy_v2::PullHint& hint);

  SessionPullCounters counters() const;
  std::string metrics_text() const;  // Prometheus text, sessnic_server_session_pulls_total

 private:
  void fetch(const HelloLookupRequest& req, std::function<void()> done);

  Device& card_;
  uint8_t ctx_id_;
  std::unique_ptr<redis::Workers> workers_;  // Device::pull waits for the answer
  std::unique_ptr<HelloLookup> lookup_;
  std::atomic<uint64_t> hinted_{0}, local_{0}, pulled_{0}, not_found_{0}, failed_{0}, late_{0}, busy_{0};
};

}  // namespace sessnic::server
