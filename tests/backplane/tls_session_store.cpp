#include "tls_session_store.hpp"

#include <ctime>
#include <vector>

namespace sessnic::backplane::test {
namespace {

int store_index() {
  static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

SessionStore* store_of(SSL* ssl) {
  return static_cast<SessionStore*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), store_index()));
}

int on_new(SSL* ssl, SSL_SESSION* sess) {
  SessionStore* s = store_of(ssl);
  unsigned id_len = 0;
  const unsigned char* id = SSL_SESSION_get_id(sess, &id_len);
  if (!s || id_len == 0) return 0;
  const int n = i2d_SSL_SESSION(sess, nullptr);
  if (n <= 0) return 0;
  std::vector<uint8_t> der(static_cast<std::size_t>(n));
  unsigned char* p = der.data();
  i2d_SSL_SESSION(sess, &p);
  const uint32_t expiry = static_cast<uint32_t>(SSL_SESSION_get_time(sess) + SSL_SESSION_get_timeout(sess));
  const SessionKey key = SessionKey::make({id, id_len}, s->ctx_id);
  const std::vector<uint8_t> sealed = s->sealer->seal(der, SealBinding{key.bytes(), key.ctx}, expiry);
  if (!sealed.empty()) s->device->put(key, sealed, expiry);
  return 0;  // we did not keep a reference
}

SSL_SESSION* on_get(SSL* ssl, const unsigned char* id, int id_len, int* copy) {
  *copy = 0;
  SessionStore* s = store_of(ssl);
  if (!s || id_len <= 0 || id_len > 32) return nullptr;
  const SessionKey key = SessionKey::make({id, static_cast<std::size_t>(id_len)}, s->ctx_id);
  const Response r = s->device->get(key);
  if (r.status != wire::Status::OK) return nullptr;
  const Unsealed u = s->sealer->unseal(r.blob, SealBinding{key.bytes(), key.ctx}, static_cast<uint32_t>(time(nullptr)));
  if (!u.ok()) return nullptr;
  const unsigned char* p = u.plain.data();
  return d2i_SSL_SESSION(nullptr, &p, static_cast<long>(u.plain.size()));
}

}  // namespace

void install_session_store(SSL_CTX* ctx, SessionStore* store) {
  SSL_CTX_set_ex_data(ctx, store_index(), store);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_sess_set_new_cb(ctx, on_new);
  SSL_CTX_sess_set_get_cb(ctx, on_get);
}

}  // namespace sessnic::backplane::test
