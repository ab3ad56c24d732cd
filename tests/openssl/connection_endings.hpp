// In-memory TLS connections that end the way real clients end them, for the removal
// policy tests: a handshake over a BIO pair, then a clean close, a client that closes
// its side without close_notify (before or after one request), a server that drops the
// connection, or a handshake that fails (no shared cipher).
#pragma once
#include <openssl/ssl.h>

#include <string>

#include "sessnic/ossl_ptr.hpp"

namespace sessnic::test {

enum class Ending {
  clean,                      // close_notify both ways (what tls_test_support does)
  client_eof,                 // handshake done, client closes TCP without close_notify
  client_eof_after_request,   // one request + response, then the same
  server_abort,               // the server frees the connection without close_notify
};
const char* to_string(Ending e);

struct Connection {
  bool handshake_ok = false;
  bool reused_server = false;
  bool server_saw_error = false;  // the server's last read failed (not a clean close)
  SslSessionPtr client_session;   // what the client would offer next time
  std::string error;
};

// A connection from client_ctx to server_ctx (offering `resume` if given) ended `how`.
Connection connect_and_end(SSL_CTX* client_ctx, SSL_CTX* server_ctx, Ending how, SSL_SESSION* resume = nullptr);

// A handshake that fails on the server: the client offers only a cipher (TLS 1.2) or
// suite (TLS 1.3) the server does not enable. Returns true when it failed as intended.
bool failed_handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx, int version);

}  // namespace sessnic::test
