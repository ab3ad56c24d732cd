// A real TLS client for the travel scenario, the bench and the end-to-end tests: one
// HTTPS GET over a fresh TCP connection, offering a saved session, timing the connect +
// handshake. Blocking OpenSSL; the client verifies nothing (throwaway demo certificates).
#pragma once
#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "sessnic/ossl_ptr.hpp"

namespace sessnic::dispatch {

struct FetchResult {
  bool ok = false;
  std::string error;
  bool resumed = false;         // SSL_session_reused on the client
  std::string server;           // X-Sessnic-Server of the response
  std::string server_handshake; // X-Sessnic-Handshake: what the server saw (full/resumed)
  std::string tls_version;
  double handshake_us = 0;      // TCP connect + TLS handshake, wall clock
  int status = 0;
  SslSessionPtr session;        // the session to offer next time
};

class TlsClient {
 public:
  // max_version: TLS1_2_VERSION or TLS1_3_VERSION.
  explicit TlsClient(int max_version);
  // GET https://sni/path via host:port, offering `resume` (may be null).
  FetchResult fetch(const std::string& host, uint16_t port, const std::string& sni, const std::string& path,
                    SSL_SESSION* resume, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

 private:
  SslCtxPtr ctx_;
};

}  // namespace sessnic::dispatch
