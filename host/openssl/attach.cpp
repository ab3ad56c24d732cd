// OpenSSL session callbacks backed by a sessnic Device (behaviour in sessnic/attach.hpp).
#include "sessnic/attach.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "local_session_cache.hpp"
#include "sessnic/log_limiter.hpp"
#include "sessnic/open_device.hpp"
#include "sessnic/session_identity.hpp"

namespace sessnic {
namespace {

// The SSL_CTX ex_data slot holding the Attachment*. Obtained once per process; the
// index itself never changes afterwards.
int ex_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

uint32_t clamp_u32(long long v) {
  if (v < 0) return 0;
  if (v > static_cast<long long>(std::numeric_limits<uint32_t>::max())) return std::numeric_limits<uint32_t>::max();
  return static_cast<uint32_t>(v);
}

// Absolute expiry of a session from its own start time and timeout.
uint32_t session_expiry(const SSL_SESSION* s) {
  return clamp_u32(static_cast<long long>(SSL_SESSION_get_time(s)) + SSL_SESSION_get_timeout(s));
}

RejectReason reason_of(UnsealError e) {
  switch (e) {
    case UnsealError::truncated: return RejectReason::truncated;
    case UnsealError::bad_format: return RejectReason::bad_format;
    case UnsealError::unknown_key: return RejectReason::unknown_key;
    case UnsealError::expired: return RejectReason::expired;
    default: return RejectReason::auth_failed;
  }
}

void bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

// The callbacks OpenSSL calls; a friend so they reach the Attachment's internals.
// Each entry point runs its body through guarded(): no exception may unwind through
// OpenSSL's C frames (it would skip OpenSSL's own clean-up, with locks held).
struct AttachCallbacks {
  static Attachment* from(const SSL* ssl) {
    return static_cast<Attachment*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index()));
  }

  template <typename R, typename Body>
  static R guarded(Attachment* a, const char* callback, R failure, Body&& body) noexcept {
    try {
      return body();
    } catch (const std::exception& e) {
      failed(a, callback, e.what());
    } catch (...) {
      failed(a, callback, "unknown exception");
    }
    return failure;
  }

  static void failed(Attachment* a, const char* callback, const char* what) noexcept {
    bump(a->n_.callback_errors);
    try {
      if (const auto held = a->error_log_->admit())
        spdlog::error("sessnic attach: {} callback failed: {} (OpenSSL got the callback's failure value; {} more since "
                      "the last report)",
                      callback, what, *held);
    } catch (...) {  // logging itself failed (out of memory): the counter still has it
    }
  }

  static uint32_t now(const Attachment& a) { return a.clock_ ? a.clock_() : wall_clock_seconds(); }

  // 32-byte ids: the owner hint (sessnic/session_identity.hpp), then random bytes.
  // 0 = failure: OpenSSL then fails the handshake (no id, no session).
  static int generate_id(SSL* ssl, unsigned char* id, unsigned int* id_len) {
    Attachment* a = from(ssl);
    if (a == nullptr || *id_len < 2) return 0;
    return guarded(a, "generate_session_id", 0, [&] {
      *id_len = std::min<unsigned int>(*id_len, wire::KEY_MAX_BYTES);
      identity::set_owner_hint(std::span<uint8_t>(id, *id_len), a->device_.card_id());
      watch_for_early_store(ssl);
      return a->random_.fill(std::span<uint8_t>(id + 1, *id_len - 1)) ? 1 : 0;
    });
  }

  // Always 0: OpenSSL keeps its reference (anything we keep took its own).
  static int new_session(SSL* ssl, SSL_SESSION* sess) {
    Attachment* a = from(ssl);
    if (a == nullptr) return 0;
    if (SSL_SESSION_get_ex_data(sess, stored_index()) != nullptr) return 0;  // stored early (info())
    return guarded(a, "new_session", 0, [&] {
      store(a, sess);
      return 0;
    });
  }

  // The SSL_SESSION ex_data slot that marks a session object already stored by info().
  static int stored_index() {
    static const int index = SSL_SESSION_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
  }

  // TLS 1.2 full handshake, server side: OpenSSL flushes the final flight (CCS, Finished)
  // and only then calls the new-session callback, so the client can be done - and
  // reconnect elsewhere - before the session is in the card. The ACCEPT_LOOP callback
  // after the ChangeCipherSpec was written comes before the Finished is even built
  // (OpenSSL buffers the flight until after the Finished): the session is complete here
  // (master secret, cipher, peer chain), so it is stored now, synchronously, and marked
  // so the new-session callback does not store it again.
  static void info(const SSL* ssl, int where, int ret) {
    Attachment* a = from(ssl);
    if (a == nullptr) return;
    if (a->previous_info_cb_ != nullptr) a->previous_info_cb_(ssl, where, ret);
    if (at_server_ccs(ssl, where)) store_early(a, ssl);
  }

  // info() for an SSL_CTX without an earlier info callback to chain (the usual case),
  // set on the connection (not the SSL_CTX) only when it makes a new session id, i.e.
  // a full handshake (watch_for_early_store): OpenSSL calls the info callback on every
  // state change, some 20 times per handshake, and a resumed handshake - which never
  // stores early - then makes none of those calls (each was a cold call into this
  // binary and back into libssl for the state). It looks at the state first and finds
  // its attachment (an ex_data lookup) only for the one call that stores.
  static void info_store_only(const SSL* ssl, int where, int /*ret*/) {
    if (!at_server_ccs(ssl, where)) return;
    if (Attachment* a = from(ssl)) store_early(a, ssl);
  }

  // A TLS 1.2 full handshake is making its session (generate_id): the connection gets
  // info_store_only for the rest of it, unless another info callback is in place (the
  // application's on the connection or on the SSL_CTX, set after attach(): OpenSSL
  // calls only the connection's, so ours must not hide it; the session is then stored
  // by the new-session callback, as before). With an application callback chained at
  // attach() the SSL_CTX carries info() and nothing is set here.
  static void watch_for_early_store(SSL* ssl) {
    if (SSL_version(ssl) >= TLS1_3_VERSION || SSL_get_info_callback(ssl) != nullptr ||
        SSL_CTX_get_info_callback(SSL_get_SSL_CTX(ssl)) != nullptr)
      return;
    SSL_set_info_callback(ssl, &info_store_only);
  }

  static bool at_server_ccs(const SSL* ssl, int where) {
    return (where & SSL_CB_ACCEPT_LOOP) != 0 && SSL_get_state(ssl) == TLS_ST_SW_CHANGE;
  }

  static void store_early(Attachment* a, const SSL* ssl) {
    if (SSL_version(ssl) >= TLS1_3_VERSION || SSL_session_reused(ssl)) return;
    SSL_SESSION* sess = SSL_get_session(ssl);
    if (sess == nullptr || SSL_SESSION_get_ex_data(sess, stored_index()) != nullptr) return;
    // OpenSSL's own rule (ssl_update_cache): no context and a verified client is not cached.
    unsigned int ctx_len = 0;
    (void)SSL_SESSION_get0_id_context(sess, &ctx_len);
    if (ctx_len == 0 && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0) return;
    // One store attempt per session, as before: a failed one is counted, not repeated.
    if (SSL_SESSION_set_ex_data(sess, stored_index(), a) != 1) return;  // new_session stores it then
    guarded(a, "new_session", 0, [&] {
      store(a, sess);
      return 0;
    });
  }

  // True when the session is in the device (or, too large for it, in the local store).
  static bool store(Attachment* a, SSL_SESSION* sess) {
    unsigned int id_len = 0;
    const unsigned char* id = SSL_SESSION_get_id(sess, &id_len);
    if (id_len == 0 || id_len > wire::KEY_MAX_BYTES) {
      bump(a->n_.store_failed);
      return false;
    }
    const std::span<const uint8_t> sid(id, id_len);
    const uint32_t expiry = session_expiry(sess);

    // The DER is written straight into the sealed blob's buffer and encrypted there: one
    // allocation, and the master secret is never in a buffer of its own.
    const int der_len = i2d_SSL_SESSION(sess, nullptr);
    if (der_len <= 0) {
      bump(a->n_.store_failed);
      return false;
    }
    std::vector<uint8_t> sealed = Sealer::blob_for(static_cast<size_t>(der_len));
    unsigned char* p = Sealer::plain_of(sealed).data();
    if (i2d_SSL_SESSION(sess, &p) != der_len) {
      OPENSSL_cleanse(sealed.data(), sealed.size());
      bump(a->n_.store_failed);
      return false;
    }
    if (!a->sealer_.seal_in_place(sealed, {sid, a->ctx_id_}, expiry)) {
      bump(a->n_.store_failed);
      return false;
    }
    // TLS 1.3 tickets are single use everywhere: the flag travels with the entry, so a
    // transferred copy is consumed by its first GET on any card.
    const bool tls13 = SSL_SESSION_get_protocol_version(sess) == TLS1_3_VERSION;
    const uint8_t flags = tls13 ? static_cast<uint8_t>(wire::Flags::SINGLE_USE) : 0;
    const Response r = a->device_.put(SessionKey::make(sid, a->ctx_id_), std::move(sealed), expiry, flags);
    if (r.ok()) {
      bump(a->n_.stores);
      a->decoded_->insert(sid, sess, expiry, r.version);
      return true;
    }
    if (r.status == wire::Status::TOO_LARGE) {
      a->local_->insert(sid, sess, expiry);
      bump(a->n_.too_large);
      return true;
    }
    bump(a->n_.store_failed);
    return false;
  }

  // nullptr = not found: OpenSSL does a full handshake.
  static SSL_SESSION* get_session(SSL* ssl, const unsigned char* id, int id_len, int* copy) {
    *copy = 0;  // every session returned carries a reference that OpenSSL now owns
    Attachment* a = from(ssl);
    if (a == nullptr || id_len <= 0 || id_len > static_cast<int>(wire::KEY_MAX_BYTES)) return nullptr;
    return guarded(a, "get_session", static_cast<SSL_SESSION*>(nullptr),
                   [&] { return lookup(a, ssl, std::span<const uint8_t>(id, static_cast<size_t>(id_len))); });
  }

  static SSL_SESSION* lookup(Attachment* a, SSL* ssl, std::span<const uint8_t> sid) {
    const bool single_use = SSL_version(ssl) == TLS1_3_VERSION;
    const uint32_t t = now(*a);

    if (SslSessionPtr local = a->local_->find(sid, t, single_use)) {
      bump(a->n_.local_hits);
      return local.release();
    }
    const SessionKey key = SessionKey::make(sid, a->ctx_id_);
    const Response r = single_use ? a->device_.take(key) : a->device_.get(key);
    switch (r.status) {
      case wire::Status::OK:
        break;
      case wire::Status::MISS:
        bump(a->n_.misses);
        return nullptr;
      case wire::Status::EXPIRED:
        bump(a->n_.expired);
        return nullptr;
      default:
        bump(a->n_.device_errors);
        return nullptr;
    }
    if (SslSessionPtr known = a->decoded_->find(sid, t, single_use, r.version)) {
      bump(a->n_.hits);
      bump(a->n_.decoded_reuse);
      return known.release();
    }
    Unsealed u = a->sealer_.unseal(r.blob, {sid, a->ctx_id_}, t);
    if (!u.ok()) {
      bump(a->n_.rejected[static_cast<size_t>(reason_of(u.error))]);
      return nullptr;
    }
    const unsigned char* p = u.plain.data();
    SslSessionPtr sess(d2i_SSL_SESSION(nullptr, &p, static_cast<long>(u.plain.size())));
    const bool whole = p == u.plain.data() + u.plain.size();
    OPENSSL_cleanse(u.plain.data(), u.plain.size());
    unsigned int got_len = 0;
    const unsigned char* got = sess ? SSL_SESSION_get_id(sess.get(), &got_len) : nullptr;
    if (!sess || !whole || got_len != sid.size() || !std::equal(sid.begin(), sid.end(), got)) {
      bump(a->n_.rejected[static_cast<size_t>(RejectReason::undecodable)]);
      return nullptr;
    }
    bump(a->n_.hits);
    if (!single_use) a->decoded_->insert(sid, sess.get(), u.expiry, r.version);
    return sess.release();
  }

  // OpenSSL drops a session: SSL_CTX_remove_session, and also its "bad session" path
  // when one connection fails (fatal alert, EOF without close_notify, a connection freed
  // without shutdown, a handshake that failed before any session was stored). The two
  // look the same here, and one failed connection must not cost the client its session
  // on every server; so the cluster entry stays (docs/openssl.md, "Removal policy").
  // OpenSSL has marked `sess` not resumable: the decoded copy may be that very object,
  // so it goes (the device entry is decoded afresh next time). A session kept only in
  // the too-large store is replaced by a fresh decoded copy for the same reason.
  static void remove_session(SSL_CTX* ctx, SSL_SESSION* sess) {
    auto* a = static_cast<Attachment*>(SSL_CTX_get_ex_data(ctx, ex_index()));
    if (a == nullptr) return;
    guarded(a, "remove_session", 0, [&] {
      bump(a->n_.remove_callbacks);
      unsigned int id_len = 0;
      const unsigned char* id = SSL_SESSION_get_id(sess, &id_len);
      if (id_len == 0 || id_len > wire::KEY_MAX_BYTES) return 0;
      const std::span<const uint8_t> sid(id, id_len);
      a->decoded_->erase(sid);
      a->local_->refresh(sid, sess);
      return 0;
    });
  }
};

Response Attachment::remove(const SSL_SESSION* session) {
  unsigned int id_len = 0;
  const unsigned char* id = SSL_SESSION_get_id(session, &id_len);
  return remove(std::span<const uint8_t>(id, id_len), session_expiry(session));
}

Response Attachment::remove(std::span<const uint8_t> session_id, uint32_t expiry) {
  const SessionKey key = SessionKey::make(session_id, ctx_id_);  // throws for a bad length
  local_->erase(session_id);
  decoded_->erase(session_id);
  Response r = device_.del(key, expiry);
  if (r.status == wire::Status::OK || r.status == wire::Status::MISS) bump(n_.removes);
  return r;
}

std::array<uint8_t, 32> session_id_context(const std::string& service) {
  const std::string input = "sessnic sid_ctx v1\n" + service;
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  if (EVP_Digest(input.data(), input.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 || len != out.size())
    throw std::runtime_error("SHA-256 failed");
  return out;
}

Attachment::Attachment(SSL_CTX* ctx, Device& device, AttachOptions options)
    : device_(device), sealer_(*options.sealer), clock_(std::move(options.clock)) {
  sid_ctx_ = session_id_context(options.service);
  ctx_id_ = options.ctx_id.value_or(identity::table_ctx(sid_ctx_));
  local_ = std::make_unique<LocalSessionCache>(options.local_cache_capacity);
  decoded_ = std::make_unique<LocalSessionCache>(options.decoded_cache_capacity);
  error_log_ = std::make_unique<LogLimiter>();
  SSL_CTX_up_ref(ctx);
  ctx_.reset(ctx);
}

Attachment::~Attachment() {
  SSL_CTX* ctx = ctx_.get();
  SSL_CTX_sess_set_new_cb(ctx, nullptr);
  SSL_CTX_sess_set_get_cb(ctx, nullptr);
  SSL_CTX_sess_set_remove_cb(ctx, nullptr);
  SSL_CTX_set_generate_session_id(ctx, nullptr);
  SSL_CTX_set_info_callback(ctx, previous_info_cb_);
  SSL_CTX_set_session_cache_mode(ctx, previous_cache_mode_);
  SSL_CTX_set_ex_data(ctx, ex_index(), nullptr);
}

std::unique_ptr<Attachment> attach(SSL_CTX* ctx, Device& device, AttachOptions options) {
  if (ctx == nullptr) throw std::invalid_argument("sessnic::attach: SSL_CTX is null");
  if (options.sealer == nullptr) throw std::invalid_argument("sessnic::attach: AttachOptions::sealer is required");
  if (SSL_CTX_get_ex_data(ctx, ex_index()) != nullptr)
    throw std::invalid_argument("sessnic::attach: this SSL_CTX is already attached");
  std::unique_ptr<Attachment> a(new Attachment(ctx, device, std::move(options)));
  a->previous_cache_mode_ = SSL_CTX_get_session_cache_mode(ctx);
  a->previous_info_cb_ = SSL_CTX_get_info_callback(ctx);

  if (SSL_CTX_set_session_id_context(ctx, a->sid_ctx_.data(), static_cast<unsigned int>(a->sid_ctx_.size())) != 1 ||
      SSL_CTX_set_num_tickets(ctx, 1) != 1 || SSL_CTX_set_ex_data(ctx, ex_index(), a.get()) != 1)
    throw std::runtime_error("sessnic::attach: OpenSSL refused the session settings");
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_set_generate_session_id(ctx, &AttachCallbacks::generate_id);
  SSL_CTX_sess_set_new_cb(ctx, &AttachCallbacks::new_session);
  SSL_CTX_sess_set_get_cb(ctx, &AttachCallbacks::get_session);
  SSL_CTX_sess_set_remove_cb(ctx, &AttachCallbacks::remove_session);
  // Without an application callback to chain, the early-store callback goes on each
  // full handshake's connection instead (AttachCallbacks::watch_for_early_store).
  if (a->previous_info_cb_ != nullptr) SSL_CTX_set_info_callback(ctx, &AttachCallbacks::info);
  return a;
}

AttachCounters Attachment::counters() const {
  AttachCounters c;
  c.stores = n_.stores.load(std::memory_order_relaxed);
  c.store_failed = n_.store_failed.load(std::memory_order_relaxed);
  c.too_large = n_.too_large.load(std::memory_order_relaxed);
  c.hits = n_.hits.load(std::memory_order_relaxed);
  c.decoded_reuse = n_.decoded_reuse.load(std::memory_order_relaxed);
  c.local_hits = n_.local_hits.load(std::memory_order_relaxed);
  c.misses = n_.misses.load(std::memory_order_relaxed);
  c.expired = n_.expired.load(std::memory_order_relaxed);
  c.device_errors = n_.device_errors.load(std::memory_order_relaxed);
  c.removes = n_.removes.load(std::memory_order_relaxed);
  c.remove_callbacks = n_.remove_callbacks.load(std::memory_order_relaxed);
  c.callback_errors = n_.callback_errors.load(std::memory_order_relaxed);
  for (size_t i = 0; i < c.rejected.size(); ++i) c.rejected[i] = n_.rejected[i].load(std::memory_order_relaxed);
  return c;
}

uint64_t AttachCounters::rejected_total() const {
  uint64_t t = 0;
  for (auto v : rejected) t += v;
  return t;
}

const char* to_string(RejectReason r) {
  switch (r) {
    case RejectReason::truncated: return "truncated";
    case RejectReason::bad_format: return "bad_format";
    case RejectReason::unknown_key: return "unknown_key";
    case RejectReason::auth_failed: return "auth_failed";
    case RejectReason::expired: return "expired";
    case RejectReason::undecodable: return "undecodable";
    case RejectReason::count: break;
  }
  return "?";
}

std::string to_string(const AttachCounters& c) {
  std::string s = fmt::format(
      "stores={} store_failed={} too_large={} hits={} decoded_reuse={} local_hits={} misses={} expired={} device_errors={} removes={} "
      "remove_callbacks={} callback_errors={} rejected={}",
      c.stores, c.store_failed, c.too_large, c.hits, c.decoded_reuse, c.local_hits, c.misses, c.expired, c.device_errors, c.removes,
      c.remove_callbacks, c.callback_errors, c.rejected_total());
  std::string by;
  for (size_t i = 0; i < c.rejected.size(); ++i) {
    if (c.rejected[i] == 0) continue;
    by += fmt::format("{}{}={}", by.empty() ? "" : " ", to_string(static_cast<RejectReason>(i)), c.rejected[i]);
  }
  if (!by.empty()) s += "{" + by + "}";
  return s;
}

}  // namespace sessnic
