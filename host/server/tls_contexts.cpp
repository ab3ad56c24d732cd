#include "tls_contexts.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <stdexcept>

#include "tls_syntax.hpp"

namespace sessnic::server {
namespace {

std::string openssl_error() {
  std::string s;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!s.empty()) s += "; ";
    s += buf;
  }
  return s.empty() ? "unknown OpenSSL error" : s;
}

int alpn_select(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void*) {
  static const unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* sel = nullptr;
  if (SSL_select_next_proto(&sel, outlen, http11, sizeof http11, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;  // only http/1.1 here; a client offering just h2 gets no ALPN
}

void warn_if_world_readable(const std::filesystem::path& key) {
  struct stat st{};
  if (::stat(key.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
    spdlog::warn("private key {} is readable by every user of this machine (chmod 600 it)", key.string());
}

}  // namespace

SslCtxPtr TlsContexts::make_ctx(const config::TlsConfig& tls, const std::filesystem::path& cert,
                                const std::filesystem::path& key, const std::string& where) const {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) throw std::runtime_error("SSL_CTX_new: " + openssl_error());
  auto refuse = [&](std::string what) { throw std::runtime_error(fmt::format("{}: {}: {}", where, what, openssl_error())); };
  auto min = config::tls_protocol_version(tls.min_version), max = config::tls_protocol_version(tls.max_version);
  if (!min || !max) throw std::runtime_error(fmt::format("tls: bad min/max version '{}'/'{}'", tls.min_version, tls.max_version));
  if (SSL_CTX_set_min_proto_version(ctx.get(), *min) != 1 || SSL_CTX_set_max_proto_version(ctx.get(), *max) != 1)
    refuse("protocol versions");
  if (!tls.ciphers.empty() && SSL_CTX_set_cipher_list(ctx.get(), tls.ciphers.c_str()) != 1) refuse("tls.ciphers");
  if (!tls.ciphersuites.empty() && SSL_CTX_set_ciphersuites(ctx.get(), tls.ciphersuites.c_str()) != 1)
    refuse("tls.ciphersuites");
  if (!tls.groups.empty() && SSL_CTX_set1_groups_list(ctx.get(), tls.groups.c_str()) != 1) refuse("tls.groups");
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1)
    refuse(fmt::format("certificate '{}'", cert.string()));
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1)
    refuse(fmt::format("private key '{}'", key.string()));
  warn_if_world_readable(key);
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read what the socket has, not a record header and then its body: half the read calls
  // (the connection waits on the socket only when OpenSSL's buffer has no whole record).
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  SSL_CTX_set_timeout(ctx.get(), static_cast<long>(tls.session_timeout_s));
  SSL_CTX_set_alpn_select_cb(ctx.get(), alpn_select, nullptr);
  SSL_CTX_set_tlsext_servername_callback(ctx.get(), on_servername);
  SSL_CTX_set_tlsext_servername_arg(ctx.get(), const_cast<TlsContexts*>(this));
  return ctx;
}

TlsContexts::TlsContexts(const config::TlsConfig& tls, Device& device, const Sealer& sealer) {
  AttachOptions ao;
  ao.sealer = &sealer;
  ao.service = tls.session_context;
  auto add = [&](SslCtxPtr ctx) {
    Context c;
    c.attachment = attach(ctx.get(), device, ao);
    c.ctx = std::move(ctx);
    contexts_.push_back(std::move(c));
    return contexts_.back().ctx.get();
  };
  add(make_ctx(tls, tls.cert, tls.key, "cluster.cert/key"));
  for (size_t i = 0; i < tls.certificates.size(); ++i) {
    const auto& sc = tls.certificates[i];
    SSL_CTX* ctx = add(make_ctx(tls, sc.cert, sc.key, fmt::format("tls.certificate[{}] (line {})", i, sc.line)));
    for (const auto& n : sc.names) by_name_.emplace_back(n, ctx);
  }
}

TlsContexts::~TlsContexts() {
  for (auto& c : contexts_) c.attachment.reset();
}

SSL_CTX* TlsContexts::select(std::string_view host) const {
  std::string name(host);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (!name.empty() && name.back() == '.') name.pop_back();
  for (const auto& [n, ctx] : by_name_)
    if (n == name) return ctx;
  // "*.example.com" covers "a.example.com", not "example.com" nor "a.b.example.com".
  if (auto dot = name.find('.'); dot != std::string::npos && dot > 0) {
    std::string wildcard(1, '*');
    wildcard.append(name, dot, std::string::npos);
    for (const auto& [n, ctx] : by_name_)
      if (n == wildcard) return ctx;
  }
  return default_ctx();
}

int TlsContexts::on_servername(SSL* ssl, int*, void* arg) {
  const auto* self = static_cast<const TlsContexts*>(arg);
  const char* host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!host) return SSL_TLSEXT_ERR_NOACK;
  SSL_CTX* ctx = self->select(host);
  // Same session-id context on every SSL_CTX, so OpenSSL carries it over to the new one.
  if (ctx != SSL_get_SSL_CTX(ssl) && !SSL_set_SSL_CTX(ssl, ctx)) return SSL_TLSEXT_ERR_ALERT_FATAL;
  return SSL_TLSEXT_ERR_OK;
}

AttachCounters TlsContexts::attach_counters() const {
  AttachCounters sum;
  for (const auto& c : contexts_) {
    auto a = c.attachment->counters();
    sum.stores += a.stores;
    sum.store_failed += a.store_failed;
    sum.too_large += a.too_large;
    sum.hits += a.hits;
    sum.decoded_reuse += a.decoded_reuse;
    sum.local_hits += a.local_hits;
    sum.misses += a.misses;
    sum.expired += a.expired;
    sum.device_errors += a.device_errors;
    sum.removes += a.removes;
    for (size_t i = 0; i < sum.rejected.size(); ++i) sum.rejected[i] += a.rejected[i];
  }
  return sum;
}

}  // namespace sessnic::server
