// Shared TLS helpers for tests and benches (target `sessnic_test_tls`).
//
//   auto server = make_server_ctx(TLS1_3_VERSION);
//   auto client = make_client_ctx(TLS1_3_VERSION);
//   auto first  = handshake(client.get(), server.get());            // full
//   auto second = handshake(client.get(), server.get(), first.client_session.get());
//   EXPECT_TRUE(second.reused_client && second.reused_server);
//
// Everything is real OpenSSL: a self-signed RSA-2048 certificate (made once per
// process), real handshakes over an in-memory BIO pair.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "sessnic/ossl_ptr.hpp"

namespace sessnic::testtls {

// The process-wide test identity: RSA-2048 key, self-signed cert (CN=sessnic-test,
// SAN DNS:localhost, IP:127.0.0.1). Created on first use, thread-safe.
struct Identity {
  X509* cert;
  EVP_PKEY* key;
};
const Identity& identity();

// Server SSL_CTX: the test identity, protocol versions TLS 1.2..max_version.
// With require_client_cert the server asks for and verifies a client certificate
// (signed by / equal to the test identity).
SslCtxPtr make_server_ctx(int max_version, bool require_client_cert = false);
// Client SSL_CTX: verifies the server against the test identity, TLS 1.2..max_version;
// with_client_cert presents the test identity as client certificate.
SslCtxPtr make_client_ctx(int max_version, bool with_client_cert = false);

struct HandshakeResult {
  bool ok = false;
  bool reused_client = false;  // SSL_session_reused on the client
  bool reused_server = false;  // SSL_session_reused on the server
  int version = 0;             // SSL_version, e.g. TLS1_3_VERSION
  SslSessionPtr client_session;  // resumable session for the next handshake (owned)
  std::string error;             // why, when !ok
  uint64_t server_cpu_ns = 0;    // thread CPU time spent inside the server's SSL calls
  unsigned server_calls = 0;     // how many server SSL calls that time covers
};

// One full in-memory handshake between a new client SSL (from client_ctx, offering
// `resume` if given) and a new server SSL (from server_ctx). Both sides then exchange
// close_notify, so the server keeps the session as a cleanly closed one. For TLS 1.3 the
// client reads the server's NewSessionTicket before client_session is taken.
HandshakeResult handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx, SSL_SESSION* resume = nullptr);

// Writes cert.pem and key.pem (mode 0600) of the test identity into `dir` (created if
// needed) for tests that launch real servers and clients.
struct PemFiles {
  std::filesystem::path cert;
  std::filesystem::path key;
};
PemFiles write_pem_files(const std::filesystem::path& dir);

// A fresh private temp directory (mkdtemp under $TMPDIR or /tmp), removed by ~TempDir.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// OpenSSL's error queue as text (and cleared): for failure messages.
std::string drain_openssl_errors();

}  // namespace sessnic::testtls
