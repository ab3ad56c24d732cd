// One real TLS client connection over TCP on loopback, ended the way real clients end
// them - for the cluster tests and bench_cluster:
//
//   auto client = testtls::make_client_ctx(TLS1_3_VERSION);
//   Visit first = visit(client.get(), port, "flights.travel.test", {.request = false, .close_notify = false});
//   Visit again = visit(client.get(), port, "cars.travel.test", {.session = first.session.get()});
//   again.reused  // the client resumed (SSL_session_reused)
#pragma once
#include <openssl/ssl.h>

#include <cstdint>
#include <string>

#include "sessnic/ossl_ptr.hpp"

namespace sessnic::cluster_test {

struct VisitOptions {
  SSL_SESSION* session = nullptr;  // offered for resumption
  bool request = true;             // one keep-alive GET / and its response
  bool close_notify = true;        // false: close TCP without close_notify (the client
                                   // keeps its session, as browsers and scanners do)
  int timeout_ms = 5000;           // per connection, every step included
};

struct Visit {
  bool ok = false;
  bool reused = false;      // the client saw a resumed handshake
  std::string server;       // X-Sessnic-Server of the response (with a request)
  std::string handshake;    // X-Sessnic-Handshake: the server's view ("full"/"resumed")
  SslSessionPtr session;    // the session to offer next time (a TLS 1.3 ticket included)
  std::string error;
};

Visit visit(SSL_CTX* client, uint16_t port, const std::string& sni, const VisitOptions& options);

}  // namespace sessnic::cluster_test
