// Pull on miss, asked by the dispatcher: the server side of the pull hint
// (host/net/pull_hint.hpp). The dispatcher forwards a hello at once when the offered
// session lives on another card and says which one in the PROXY v2 header; this pulls it
// from there while the handshake waits, without holding a server thread:
//
//   HttpsConnection (PROXY v2 header with a hint) -> SessionPull::on_hint(ssl, hint):
//     the hint names the offered session (the dispatcher parsed the hello)? EXPORT check
//     and PULL now, before OpenSSL reads the hello; the callback below then finds that
//     pull answered or in flight (if the hello offers that very session).
//   ClientHello callback (HelloLookup) -> this card holds the session (EXPORT, a look
//     that never consumes)? go on at once. Else SSL_CLIENT_HELLO_RETRY while
//       - the hint says "move in flight" (the dispatcher asked the owner to move it here
//         when it parsed the hello): wait for it to land (Device::await_session), or
//       - PULL it from the owner (Device::pull_async),
//     bounded by the hint's budget. Neither holds a thread: the card's backplane pump
//     answers, and the connection resumes the handshake on its own io thread; attach()'s
//     get-session callback then finds the session on the card (a TLS 1.3 ticket is TAKEN
//     here: the card tombstones the owner's copy, so it is still used once cluster-wide).
//     A card without asynchronous completions (no backplane pump) pulls on a worker.
//     With `pull_spin_us` and no other connection busy on the io loop, the callback first
//     waits for the answer on its own thread (HelloLookupRequest::spin): answered in time,
//     the handshake goes on at once and the io thread is never put to sleep and woken.
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
  uint64_t hinted = 0;     // pulls decided: at the PROXY header (the hint named the session) or in the callback
  uint64_t local = 0;      // ... already on this card: no pull
  uint64_t pulled = 0;     // ... pulled from the owner (OK)
  uint64_t landed = 0;     // ... moved here by the dispatcher's early transfer while waiting
  uint64_t not_found = 0;  // ... the owner had none (MISS/EXPIRED): full handshake
  uint64_t failed = 0;     // ... no answer by the budget, owner down: full handshake
  uint64_t late = 0;       // ... a hint with a zero budget: no pull
  uint64_t busy = 0;       // ... worker queue full: no pull
  uint64_t spun = 0;       // pulls the callback waited for on its thread (pull_spin_us)
  uint64_t spin_done = 0;  // ... answered within that wait (the rest resumed as paused ones)
  uint64_t early = 0;           // pulls started at the PROXY header (the hint named the session)
  uint64_t early_ready = 0;     // ... answered before the ClientHello callback asked: no wait at all
  uint64_t early_mismatch = 0;  // ... whose hello offered another session: pulled again from the callback
};

class SessionPull {
 public:
  // Installs the ClientHello lookup on `ctx` (after attach(); it replaces another
  // ClientHello callback). `card` must outlive this object; `ctx_id` is the attachment's.
  // `spin`: how long the callback may wait for a pull on its thread (0: never), when its
  // loop has no other busy connection (set_hint's `loop_busy`).
  SessionPull(SSL_CTX* ctx, Device& card, uint8_t ctx_id, std::chrono::microseconds spin = {});
  ~SessionPull();  // no new pulls; waits for those in flight (each bounded by its budget)
  SessionPull(const SessionPull&) = delete;
  SessionPull& operator=(const SessionPull&) = delete;

  // The hint of this connection's PROXY v2 header, kept with the connection for the
  // ClientHello callback. `loop_busy`: connections busy on this connection's io loop,
  // itself included (it must outlive the connection; null: never spin).
  // When the hint names the offered session (and another card), the pull starts now,
  // before OpenSSL reads the hello, and its budget counts from now; the callback then
  // waits for that pull, or goes on at once if it was answered - if the hello offers that
  // very session. Otherwise (no id, or the hello offers another one) the callback pulls
  // the offered session, its budget counting from the ClientHello.
  void on_hint(SSL* ssl, const proxy_v2::PullHint& hint, const std::atomic<int>* loop_busy = nullptr);
  // After the first handshake step that followed on_hint: if the ClientHello callback has
  // not run yet (the hello was not all in), the early pull's claim on the backplane's
  // direct port ends, so the card's pump takes its answer (docs/backplane.md).
  static void end_early_claim(SSL* ssl);

  SessionPullCounters counters() const;
  std::string metrics_text() const;  // Prometheus text, sessnic_server_session_pulls_total

 private:
  // Counters and the count of waits in flight; shared with the card's completions.
  struct State;
  struct EarlyPull;
  struct Hint;  // in the SSL's ex_data
  static void free_hint(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*);
  static int hint_index();
  // The connection's hint, replacing any earlier one (null: OpenSSL would not keep it).
  static Hint* set_hint(SSL* ssl, const proxy_v2::PullHint& hint, const std::atomic<int>* loop_busy);
  void fetch(HelloLookupRequest& req, std::function<void()> done);
  // Pulls `key` as `hint` says (or finds it here) and calls `done` exactly once. `req`:
  // the ClientHello's, whose spin it sets (null: a pull started before the hello).
  void start(const SessionKey& key, Hint& hint, std::function<void()> done, HelloLookupRequest* req = nullptr);
  std::chrono::microseconds spin_for(const Hint& hint, std::chrono::microseconds left) const;

  Device& card_;
  uint8_t ctx_id_;
  std::chrono::microseconds spin_;
  std::shared_ptr<State> state_;
  std::unique_ptr<redis::Workers> workers_;  // only for a card without asynchronous completions
  std::unique_ptr<HelloLookup> lookup_;
};

}  // namespace sessnic::server
