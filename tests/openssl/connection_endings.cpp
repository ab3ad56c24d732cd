#include "connection_endings.hpp"

#include <openssl/err.h>

#include <cstring>

#include "tls_test_support.hpp"

namespace sessnic::test {
namespace {

bool pending(SSL* ssl, int rc) {
  const int e = SSL_get_error(ssl, rc);
  return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

struct Pair {
  SslPtr client, server;
  BIO* client_bio = nullptr;  // owned by `client`
};

Pair make_pair(SSL_CTX* client_ctx, SSL_CTX* server_ctx) {
  Pair p;
  p.client.reset(SSL_new(client_ctx));
  p.server.reset(SSL_new(server_ctx));
  BIO* sbio = nullptr;
  if (!p.client || !p.server || BIO_new_bio_pair(&p.client_bio, 0, &sbio, 0) != 1) return {};
  SSL_set_bio(p.client.get(), p.client_bio, p.client_bio);
  SSL_set_bio(p.server.get(), sbio, sbio);
  SSL_set_connect_state(p.client.get());
  SSL_set_accept_state(p.server.get());
  SSL_set_tlsext_host_name(p.client.get(), "localhost");
  return p;
}

// Drives both sides until both finished or one failed. False on failure.
bool drive(Pair& p, std::string& error) {
  bool c_done = false, s_done = false;
  for (int round = 0; round < 32 && !(c_done && s_done); ++round) {
    if (!c_done) {
      const int rc = SSL_do_handshake(p.client.get());
      if (rc == 1) c_done = true;
      else if (!pending(p.client.get(), rc)) {
        error = "client: " + testtls::drain_openssl_errors();
        return false;
      }
    }
    if (!s_done) {
      const int rc = SSL_do_handshake(p.server.get());
      if (rc == 1) s_done = true;
      else if (!pending(p.server.get(), rc)) {
        error = "server: " + testtls::drain_openssl_errors();
        return false;
      }
    }
  }
  return c_done && s_done;
}

// The client reads whatever the server sent (TLS 1.3 tickets, a response); true when
// it got `expect` bytes of application data (0: only needs no error).
bool client_reads(SSL* client, std::size_t expect) {
  std::string got;
  char buf[256];
  for (int i = 0; i < 8; ++i) {
    const int rc = SSL_read(client, buf, sizeof buf);
    if (rc > 0) {
      got.append(buf, static_cast<std::size_t>(rc));
      if (got.size() >= expect && expect > 0) return true;
      continue;
    }
    return pending(client, rc) && got.size() >= expect;
  }
  return false;
}

}  // namespace

const char* to_string(Ending e) {
  switch (e) {
    case Ending::clean: return "clean";
    case Ending::client_eof: return "client_eof";
    case Ending::client_eof_after_request: return "client_eof_after_request";
    case Ending::server_abort: return "server_abort";
  }
  return "?";
}

Connection connect_and_end(SSL_CTX* client_ctx, SSL_CTX* server_ctx, Ending how, SSL_SESSION* resume) {
  Connection c;
  Pair p = make_pair(client_ctx, server_ctx);
  if (!p.client) {
    c.error = "setup: " + testtls::drain_openssl_errors();
    return c;
  }
  if (resume != nullptr) SSL_set_session(p.client.get(), resume);
  if (!drive(p, c.error)) return c;
  c.handshake_ok = true;
  c.reused_server = SSL_session_reused(p.server.get()) == 1;
  if (!client_reads(p.client.get(), 0)) {  // TLS 1.3: the ticket
    c.error = "client read: " + testtls::drain_openssl_errors();
    return c;
  }
  if (how == Ending::client_eof_after_request) {
    static const char kRequest[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    static const char kResponse[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    char buf[256];
    if (SSL_write(p.client.get(), kRequest, sizeof kRequest - 1) <= 0 ||
        SSL_read(p.server.get(), buf, sizeof buf) != static_cast<int>(sizeof kRequest - 1) ||
        SSL_write(p.server.get(), kResponse, sizeof kResponse - 1) <= 0 ||
        !client_reads(p.client.get(), sizeof kResponse - 1)) {
      c.error = "request: " + testtls::drain_openssl_errors();
      return c;
    }
  }
  c.client_session.reset(SSL_get1_session(p.client.get()));
  char byte;
  switch (how) {
    case Ending::clean:
      SSL_shutdown(p.client.get());
      SSL_shutdown(p.server.get());
      break;
    case Ending::client_eof:
    case Ending::client_eof_after_request: {
      // The client's TCP FIN without close_notify: the server's next read sees EOF,
      // which OpenSSL reports as a fatal error (unless SSL_OP_IGNORE_UNEXPECTED_EOF).
      BIO_shutdown_wr(p.client_bio);
      const int rc = SSL_read(p.server.get(), &byte, 1);
      c.server_saw_error = rc <= 0 && SSL_get_error(p.server.get(), rc) != SSL_ERROR_ZERO_RETURN;
      break;
    }
    case Ending::server_abort:
      break;  // freed below without SSL_shutdown
  }
  // The client keeps its session, as a browser or `s_client -sess_out` does: without
  // this, freeing the client SSL without a shutdown marks the client's own copy not
  // resumable and it would never be offered again.
  if (how != Ending::clean) SSL_set_shutdown(p.client.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  p.client.reset();
  p.server.reset();
  ERR_clear_error();
  return c;
}

bool failed_handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx, int version) {
  Pair p = make_pair(client_ctx, server_ctx);
  if (!p.client) return false;
  SSL_set_min_proto_version(p.client.get(), version);
  SSL_set_max_proto_version(p.client.get(), version);
  if (version == TLS1_3_VERSION) {
    SSL_set_ciphersuites(p.client.get(), "TLS_AES_128_GCM_SHA256");
    SSL_set_ciphersuites(p.server.get(), "TLS_AES_256_GCM_SHA384");
  } else {
    SSL_set_cipher_list(p.client.get(), "ECDHE-RSA-AES128-GCM-SHA256");
    SSL_set_cipher_list(p.server.get(), "ECDHE-RSA-AES256-GCM-SHA384");
  }
  std::string error;
  const bool ok = drive(p, error);
  p.client.reset();
  p.server.reset();
  ERR_clear_error();
  return !ok && error.find("no shared cipher") != std::string::npos;
}

}  // namespace sessnic::test
