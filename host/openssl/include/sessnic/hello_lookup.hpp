// A non-blocking session lookup before OpenSSL looks for the session (as h2o does for its
// remote session cache): a ClientHello callback that sees which session the client
// offers, starts a fetch (e.g. from Redis into the card) and returns
// SSL_CLIENT_HELLO_RETRY, so SSL_do_handshake returns SSL_ERROR_WANT_CLIENT_HELLO_CB
// instead of blocking the server's thread. When the fetch is done the server calls
// SSL_do_handshake again; the callback then lets the handshake go on and OpenSSL's
// get-session callback (attach()) finds the session in the card.
//
//   auto lookup = HelloLookup::install(ctx, fetch);      // after attach(ctx, ...)
//   ... SSL_do_handshake(ssl) == -1 && SSL_get_error(...) == SSL_ERROR_WANT_CLIENT_HELLO_CB:
//   HelloLookup::when_done(ssl, [] { /* post: call SSL_do_handshake again */ });
//
// The session offered: TLS 1.3 (the client offers it and the SSL allows it) the first
// PSK identity; otherwise the legacy session id. Hellos offering none go on at once.
#pragma once
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace sessnic {

struct HelloLookupRequest {
  std::vector<uint8_t> session_id;  // 1..32 bytes
  bool tls13 = false;               // a PSK identity (single-use ticket), else a TLS 1.2 id
  SSL* ssl = nullptr;               // the connection; valid only during the Fetch call
  // Set by the Fetch: how long the callback may wait on its thread (yielding the CPU) for `done`
  // before it pauses the handshake (0: pause at once). A pause costs a wake-up of this
  // thread when the fetch finishes; a wait holds the thread, so ask for one only when it
  // has nothing else to do (SessionPull: `pull_spin_us`, its loop's only connection).
  std::chrono::microseconds spin{0};
  // Set by the Fetch (optional): called between looks while the callback waits, to bring
  // the answer to this thread itself (SessionPull: Device::direct_wait, the PULL_RESP read
  // off the backplane's direct port); true when it took something. Destroyed when the wait
  // ends, answered or not.
  std::function<bool()> poll;
};

struct HelloLookupCounters {
  uint64_t offered = 0;   // hellos offering a session
  uint64_t deferred = 0;  // of those, handshakes paused (RETRY) while the fetch ran
  uint64_t spun = 0;      // fetches the callback waited for (HelloLookupRequest::spin)
  uint64_t spin_done = 0;  // ... of those, done within the wait: no pause, no resume to post
};

class HelloLookup {
 public:
  // Starts the lookup and calls `done` exactly once, from any thread, when the session is
  // where the handshake will look for it (or known not to be). Must not block; calling
  // `done` before returning lets the handshake go on without a pause, and so may `done`
  // called within the request's `spin`, which the fetch may set.
  using Fetch = std::function<void(HelloLookupRequest&, std::function<void()> done)>;

  // Sets the ClientHello callback of `ctx` (it replaces any other) and holds a reference
  // to `ctx`; both are released when the HelloLookup goes.
  static std::unique_ptr<HelloLookup> install(SSL_CTX* ctx, Fetch fetch);
  ~HelloLookup();
  HelloLookup(const HelloLookup&) = delete;
  HelloLookup& operator=(const HelloLookup&) = delete;

  // After SSL_ERROR_WANT_CLIENT_HELLO_CB: `resume` runs once the fetch is done - at once
  // on this thread if it already is, else on the thread that finishes it (post from
  // there). False when no lookup is pending for `ssl`.
  static bool when_done(SSL* ssl, std::function<void()> resume);

  HelloLookupCounters counters() const;

 private:
  HelloLookup(SSL_CTX* ctx, Fetch fetch) : ctx_(ctx), fetch_(std::move(fetch)) {}
  static int on_client_hello(SSL* ssl, int* alert, void* arg);

  SSL_CTX* ctx_;
  Fetch fetch_;
  std::atomic<uint64_t> offered_{0}, deferred_{0}, spun_{0}, spin_done_{0};
};

}  // namespace sessnic
