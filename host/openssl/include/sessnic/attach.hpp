// sessnic for OpenSSL: attach(SSL_CTX*, Device&, options) makes a server's session
// cache the cluster's session table.
//
// What attach() changes on the SSL_CTX (docs/openssl.md has the reasons):
//  * session cache mode SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL: the device
//    is the single source of truth, so a delete or a single-use TAKE anywhere in the
//    cluster is seen by every server. Only sessions too large for a table slot stay in a
//    small bounded local cache.
//  * SSL_OP_NO_TICKET: TLS 1.2 resumes by session id, TLS 1.3 by stateful PSK whose
//    identity is the session id; SSL_CTX_set_num_tickets(ctx, 1): one ticket per
//    handshake, and each TLS 1.3 ticket resumes once, cluster-wide (TAKE).
//  * session-id context = SHA-256("sessnic sid_ctx v1\n" + service): same service name,
//    same context on every server. Its first byte is the table's ctx id unless set.
//  * session ids: 32 bytes, byte 0 = this server's card id (the dispatcher's owner hint),
//    31 bytes of DRBG output (RAND_bytes, buffered: RandomPool).
//  * new/get/remove session callbacks; sessions leave the process sealed (AES-256-GCM).
//  * an info callback (chaining the one set before attach()): a TLS 1.2 full handshake's
//    session is stored when the server's ChangeCipherSpec is written, before its
//    Finished leaves OpenSSL's handshake buffer - OpenSSL's new-session callback comes
//    only after that Finished is on the wire, so a client reconnecting to another server
//    at once could otherwise ask for a session the owner has not stored yet. Set your own
//    info callback before attach(), or call the one it replaced.
//
// Removal policy: a session leaves the cluster when it is consumed (single-use TLS 1.3
// ticket), expires, or is removed with Attachment::remove(). OpenSSL's remove callback
// also fires when one connection fails (fatal alert, EOF without close_notify, a
// connection freed without shutdown, a failed handshake), and cannot tell that apart from
// SSL_CTX_remove_session(); so it only drops this process's decoded copy and never
// deletes a cluster entry. attach() leaves SSL_OP_IGNORE_UNEXPECTED_EOF to the server:
// whether a missing close_notify is an attack (truncation) depends on the application
// protocol's framing, not on the session cache.
//
// Exceptions never cross OpenSSL's C frames: a callback that catches one (a device or
// allocation failure) counts it (`callback_errors`), logs it (rate-limited) and returns
// OpenSSL's documented failure value, so the handshake goes on without the cache.
//
// Thread safety: the callbacks may run on many threads at once. Destroy the Attachment
// only when no handshake is in progress on the SSL_CTX.
#pragma once
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <fmt/format.h>

#include "sessnic/device.hpp"
#include "sessnic/ossl_ptr.hpp"
#include "sessnic/random_pool.hpp"
#include "sessnic/seal.hpp"

namespace sessnic {

class LocalSessionCache;
class LogLimiter;

struct AttachOptions {
  const Sealer* sealer = nullptr;  // required; must outlive the Attachment
  std::string service = "default";  // names the session-id context (see above)
  std::optional<uint8_t> ctx_id;    // table ctx id; default: first byte of the sid_ctx
  std::size_t local_cache_capacity = 1024;  // sessions too large for a slot, FIFO bounded
  // Decoded copies of device entries (see LocalSessionCache): each is used only when the
  // device answers with the same entry version. 0 disables it; the default is OpenSSL's
  // own default internal cache size.
  std::size_t decoded_cache_capacity = 20480;
  // Unix seconds for the expiry checks done on the host. Empty = wall clock.
  std::function<uint32_t()> clock;
};

// Why a stored entry was refused at resumption time.
enum class RejectReason : uint8_t {
  truncated,    // sealed blob shorter than its header
  bad_format,   // unknown sealed-blob format
  unknown_key,  // sealed with a key id this server does not hold
  auth_failed,  // GCM tag mismatch: tampered, wrong key, or another session's blob
  expired,      // authentic but past its expiry
  undecodable,  // authentic but not a session (d2i failed), or another session id
  count
};
const char* to_string(RejectReason r);

struct AttachCounters {
  uint64_t stores = 0;        // sessions written to the device
  uint64_t store_failed = 0;  // device refused (other than TOO_LARGE) or sealing failed
  uint64_t too_large = 0;     // kept in the local cache instead
  uint64_t hits = 0;          // resumptions served from the device
  uint64_t decoded_reuse = 0;  // ... of which the device's version matched a decoded copy
  uint64_t local_hits = 0;    // resumptions served from the local cache
  uint64_t misses = 0;        // no such session anywhere (or a deleted/taken one)
  uint64_t expired = 0;       // the device found it expired
  uint64_t device_errors = 0;  // the device answered FAILED/BAD_CMD
  uint64_t removes = 0;       // Attachment::remove() calls turned into DEL
  uint64_t remove_callbacks = 0;  // OpenSSL remove callbacks (the cluster entry stays)
  uint64_t callback_errors = 0;   // exceptions caught inside an OpenSSL callback
  std::array<uint64_t, static_cast<std::size_t>(RejectReason::count)> rejected{};
  uint64_t rejected_total() const;
  uint64_t rejected_by(RejectReason r) const { return rejected[static_cast<std::size_t>(r)]; }
};

class Attachment {
 public:
  ~Attachment();  // detaches: callbacks and ex_data removed, cache mode restored
  Attachment(const Attachment&) = delete;
  Attachment& operator=(const Attachment&) = delete;

  AttachCounters counters() const;
  uint8_t ctx_id() const { return ctx_id_; }
  std::span<const uint8_t> sid_ctx() const { return sid_ctx_; }
  Device& device() const { return device_; }

  // Removes a session from the cluster: DEL on the device, which leaves a tombstone until
  // the session's expiry (so a late replica cannot bring it back) and, per backplane
  // mode, a DELETE to the other cards; this server's local copies go too. Use it (not
  // SSL_CTX_remove_session) to revoke a session. Returns the device's answer: OK =
  // deleted, MISS = not there (a tombstone is still written when the expiry is in the
  // future). Device exceptions propagate: this is a C++ call, not an OpenSSL callback.
  Response remove(const SSL_SESSION* session);
  // The same by session id (TLS 1.2 session id / TLS 1.3 PSK identity); `expiry` 0 keeps
  // the entry's own expiry for the tombstone.
  Response remove(std::span<const uint8_t> session_id, uint32_t expiry = 0);

 private:
  friend std::unique_ptr<Attachment> attach(SSL_CTX*, Device&, AttachOptions);
  friend struct AttachCallbacks;
  Attachment(SSL_CTX* ctx, Device& device, AttachOptions options);

  SslCtxPtr ctx_;  // holds a reference so detaching never touches a freed SSL_CTX
  Device& device_;
  const Sealer& sealer_;
  std::function<uint32_t()> clock_;
  std::array<uint8_t, 32> sid_ctx_{};
  uint8_t ctx_id_ = 0;
  long previous_cache_mode_ = 0;
  void (*previous_info_cb_)(const SSL*, int, int) = nullptr;
  std::unique_ptr<LocalSessionCache> local_;    // too large for a slot: authoritative here
  std::unique_ptr<LocalSessionCache> decoded_;  // versioned shadows of device entries
  RandomPool random_;                            // session ids
  std::unique_ptr<LogLimiter> error_log_;        // callback_errors lines

  struct Counters {
    std::atomic<uint64_t> stores{0}, store_failed{0}, too_large{0}, hits{0}, decoded_reuse{0}, local_hits{0}, misses{0}, expired{0},
        device_errors{0}, removes{0}, remove_callbacks{0}, callback_errors{0};
    std::array<std::atomic<uint64_t>, static_cast<std::size_t>(RejectReason::count)> rejected{};
  };
  mutable Counters n_;
};

// Attaches `device` to `ctx`. Throws std::invalid_argument (no sealer, ctx already
// attached) or std::runtime_error (OpenSSL refused a setting).
std::unique_ptr<Attachment> attach(SSL_CTX* ctx, Device& device, AttachOptions options);

// The session-id context attach() sets for a service name (32 bytes).
std::array<uint8_t, 32> session_id_context(const std::string& service);

// Counters as one line: "stores=3 hits=2 ... rejected{auth_failed=1}".
std::string to_string(const AttachCounters& c);

}  // namespace sessnic

template <>
struct fmt::formatter<sessnic::AttachCounters> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const sessnic::AttachCounters& c, FormatContext& ctx) const {
    const std::string s = sessnic::to_string(c);
    return fmt::formatter<std::string_view>::format(std::string_view(s), ctx);
  }
};
