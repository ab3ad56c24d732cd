// Minimal OpenSSL server-side session cache on a sessnic Device, for the cross-process
// test: new sessions are sealed (AES-256-GCM, cluster key) and PUT; lookups GET and
// unseal. (The product's full integration is sessnic::attach; this keeps the backplane
// tests independent of it.)
#pragma once
#include <openssl/ssl.h>

#include "sessnic/device.hpp"
#include "sessnic/seal.hpp"

namespace sessnic::backplane::test {

struct SessionStore {
  Device* device;
  const Sealer* sealer;
  uint8_t ctx_id;
};

// Installs new/get callbacks (TLS 1.2 session ids; tickets off). `store` must outlive ctx.
void install_session_store(SSL_CTX* ctx, SessionStore* store);

}  // namespace sessnic::backplane::test
