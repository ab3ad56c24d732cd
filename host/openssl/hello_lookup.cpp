#include "sessnic/hello_lookup.hpp"

#include <openssl/tls1.h>

#include <sched.h>

#include <mutex>
#include <stdexcept>

namespace sessnic {
namespace {

// Per-connection state, in the SSL's ex_data; shared with the fetch, which may finish
// after the connection is gone.
struct Pending {
  std::mutex mu;
  // Written under `mu`; read without it only by the callback's spin, which takes `mu`
  // before it acts on what it saw.
  std::atomic<bool> done{false};
  std::function<void()> resume;
};
using PendingPtr = std::shared_ptr<Pending>;

void free_pending(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<PendingPtr*>(ptr); }

int ex_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_pending);
  return index;
}

// Waits up to `spin` for `p.done`; true if it came. It yields rather than spins on a
// pause instruction: the thread that brings the answer (the card's pump) is often queued
// on this very CPU (its last one, or the only one not idle), and a pause loop would hold
// it off until the wait ran out. Measured: with a pause loop 200 µs long, 1 in 3 pulls
// were answered within it and a change took longer than with no wait; with sched_yield,
// 9 in 10 (docs/backplane.md, "The io thread waits for its pull").
// `poll` (may be empty) brings the answer to this thread; it took something: look again at
// once, else yield.
bool spin_until_done(const Pending& p, std::chrono::microseconds spin, const std::function<bool()>& poll) {
  const auto until = std::chrono::steady_clock::now() + spin;
  for (;;) {
    if (p.done.load(std::memory_order_acquire)) return true;
    if (std::chrono::steady_clock::now() >= until) {
      // A yield may have kept this thread off the CPU past the wait while the answer came:
      // one last look, or the answer waits for another thread to deliver it.
      if (poll && !p.done.load(std::memory_order_acquire)) (void)poll();
      return p.done.load(std::memory_order_acquire);
    }
    if (poll && poll()) continue;
    sched_yield();
  }
}

uint16_t be16(const unsigned char* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

bool offers_tls13(SSL* ssl) {
  const long max = SSL_get_max_proto_version(ssl);
  if (max != 0 && max < TLS1_3_VERSION) return false;
  const unsigned char* p = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &p, &len) != 1 || len < 1) return false;
  const size_t n = p[0];
  if (n + 1 > len) return false;
  for (size_t i = 1; i + 1 <= n; i += 2)
    if (be16(p + i) == TLS1_3_VERSION) return true;
  return false;
}

// The first PSK identity (the session id with stateful tickets), if 1..32 bytes.
std::vector<uint8_t> first_psk_identity(SSL* ssl) {
  const unsigned char* p = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_psk, &p, &len) != 1 || len < 4) return {};
  const size_t ids = be16(p);
  if (ids + 2 > len || ids < 2) return {};
  const size_t id_len = be16(p + 2);
  if (id_len == 0 || id_len > 32 || 4 + id_len > 2 + ids) return {};
  return {p + 4, p + 4 + id_len};
}

}  // namespace

std::unique_ptr<HelloLookup> HelloLookup::install(SSL_CTX* ctx, Fetch fetch) {
  if (ctx == nullptr || !fetch) throw std::invalid_argument("HelloLookup::install: null SSL_CTX or fetch");
  if (SSL_CTX_up_ref(ctx) != 1) throw std::runtime_error("HelloLookup::install: SSL_CTX_up_ref failed");
  std::unique_ptr<HelloLookup> l(new HelloLookup(ctx, std::move(fetch)));  // holds that reference
  SSL_CTX_set_client_hello_cb(ctx, &HelloLookup::on_client_hello, l.get());
  return l;
}

HelloLookup::~HelloLookup() {
  SSL_CTX_set_client_hello_cb(ctx_, nullptr, nullptr);
  SSL_CTX_free(ctx_);
}

int HelloLookup::on_client_hello(SSL* ssl, int* /*alert*/, void* arg) {
  auto* self = static_cast<HelloLookup*>(arg);
  // Called again after a RETRY: go on once the fetch is done.
  if (auto* box = static_cast<PendingPtr*>(SSL_get_ex_data(ssl, ex_index()))) {
    std::lock_guard lock((*box)->mu);
    return (*box)->done.load(std::memory_order_relaxed) ? SSL_CLIENT_HELLO_SUCCESS : SSL_CLIENT_HELLO_RETRY;
  }
  HelloLookupRequest req;
  req.ssl = ssl;
  if (offers_tls13(ssl)) {
    req.tls13 = true;
    req.session_id = first_psk_identity(ssl);
  } else {
    const unsigned char* id = nullptr;
    const size_t n = SSL_client_hello_get0_session_id(ssl, &id);
    if (n > 0 && n <= 32) req.session_id.assign(id, id + n);
  }
  if (req.session_id.empty()) return SSL_CLIENT_HELLO_SUCCESS;  // a full handshake: nothing to fetch
  self->offered_.fetch_add(1, std::memory_order_relaxed);

  auto pending = std::make_shared<Pending>();
  auto* box = new PendingPtr(pending);
  if (SSL_set_ex_data(ssl, ex_index(), box) != 1) {
    delete box;
    return SSL_CLIENT_HELLO_SUCCESS;  // no lookup: the card alone decides
  }
  try {
    self->fetch_(req, [pending] {
      std::function<void()> resume;
      {
        std::lock_guard lock(pending->mu);
        pending->done.store(true, std::memory_order_release);
        resume.swap(pending->resume);
      }
      if (resume) resume();
    });
  } catch (...) {  // never unwind through OpenSSL; go on without the lookup
    std::lock_guard lock(pending->mu);
    pending->done.store(true, std::memory_order_release);
  }
  // Asked to wait: the answer usually comes within the wait, and then the handshake goes
  // on here with nothing paused, so `done` posts nothing (no resume is registered until
  // after a RETRY) and this thread is never put to sleep and woken again.
  if (req.spin.count() > 0 && !pending->done.load(std::memory_order_acquire)) {
    self->spun_.fetch_add(1, std::memory_order_relaxed);
    if (spin_until_done(*pending, req.spin, req.poll)) self->spin_done_.fetch_add(1, std::memory_order_relaxed);
  }
  req.poll = nullptr;  // the wait is over: whatever comes later is the pump's to deliver
  std::lock_guard lock(pending->mu);
  if (pending->done.load(std::memory_order_relaxed)) return SSL_CLIENT_HELLO_SUCCESS;
  self->deferred_.fetch_add(1, std::memory_order_relaxed);
  return SSL_CLIENT_HELLO_RETRY;
}

bool HelloLookup::when_done(SSL* ssl, std::function<void()> resume) {
  auto* box = static_cast<PendingPtr*>(SSL_get_ex_data(ssl, ex_index()));
  if (box == nullptr) return false;
  PendingPtr p = *box;
  {
    std::lock_guard lock(p->mu);
    if (!p->done.load(std::memory_order_relaxed)) {
      p->resume = std::move(resume);
      return true;
    }
  }
  resume();
  return true;
}

HelloLookupCounters HelloLookup::counters() const {
  return {offered_.load(std::memory_order_relaxed), deferred_.load(std::memory_order_relaxed),
          spun_.load(std::memory_order_relaxed), spin_done_.load(std::memory_order_relaxed)};
}

}  // namespace sessnic
