// The server's TLS side, built from the config's [cluster] cert/key and [tls] table: one
// SSL_CTX for the default certificate and one per [[tls.certificate]], all with the same
// protocol versions, cipher lists, groups and options, and every one attached to the card
// with the same service name - hence the same session-id context - so a session resumes
// whichever certificate the first handshake used. The ClientHello's SNI picks the SSL_CTX
// (exact name first, then "*.suffix" for exactly one more label, else the default).
//
// Options set on every SSL_CTX, and why:
//  * SSL_OP_IGNORE_UNEXPECTED_EOF (as nginx): a client that closes without close_notify is
//    a normal end of connection, not a fatal error that drops its session.
//  * SSL_MODE_RELEASE_BUFFERS: an idle keep-alive connection holds no record buffers.
//  * ALPN: http/1.1 only.
#pragma once
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster_config.hpp"
#include "sessnic/attach.hpp"
#include "sessnic/device.hpp"
#include "sessnic/ossl_ptr.hpp"
#include "sessnic/seal.hpp"

namespace sessnic::server {

class TlsContexts {
 public:
  // Throws std::runtime_error naming the file (and config line) that OpenSSL refused.
  TlsContexts(const config::TlsConfig& tls, Device& device, const Sealer& sealer);
  ~TlsContexts();  // detaches from the card before the SSL_CTXs go
  TlsContexts(const TlsContexts&) = delete;
  TlsContexts& operator=(const TlsContexts&) = delete;

  // New connections start on this one; the SNI callback may switch them.
  SSL_CTX* default_ctx() const { return contexts_.front().ctx.get(); }
  // The SSL_CTX a ClientHello naming `host` gets (exposed for tests).
  SSL_CTX* select(std::string_view host) const;
  // Summed over every attachment.
  AttachCounters attach_counters() const;
  uint8_t ctx_id() const { return contexts_.front().attachment->ctx_id(); }  // the same on every SSL_CTX

 private:
  struct Context {
    SslCtxPtr ctx;
    std::unique_ptr<Attachment> attachment;
  };
  SslCtxPtr make_ctx(const config::TlsConfig& tls, const std::filesystem::path& cert, const std::filesystem::path& key,
                     const std::string& where) const;
  static int on_servername(SSL* ssl, int* alert, void* arg);

  std::vector<Context> contexts_;                     // [0]: the default certificate
  std::vector<std::pair<std::string, SSL_CTX*>> by_name_;  // lower-case SNI name or "*.suffix"
};

}  // namespace sessnic::server
