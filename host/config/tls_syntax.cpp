#include "tls_syntax.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>

namespace sessnic::config {
namespace {

struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};

// Applies `set` to a scratch SSL_CTX; OpenSSL's own reason when it refuses.
template <class Set>
std::string try_on_scratch_ctx(Set set) {
  std::unique_ptr<SSL_CTX, CtxFree> ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return "OpenSSL could not create an SSL_CTX to check it";
  ERR_clear_error();
  if (set(ctx.get()) == 1) return {};
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (!e) return "OpenSSL refused it";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return std::string("OpenSSL refused it (") + buf + ")";
}

}  // namespace

std::optional<int> tls_protocol_version(std::string_view name) {
  if (name == "1.2") return TLS1_2_VERSION;
  if (name == "1.3") return TLS1_3_VERSION;
  return std::nullopt;
}

std::string check_tls12_cipher_list(const std::string& list) {
  return try_on_scratch_ctx([&](SSL_CTX* c) { return SSL_CTX_set_cipher_list(c, list.c_str()); });
}

std::string check_tls13_ciphersuites(const std::string& list) {
  return try_on_scratch_ctx([&](SSL_CTX* c) { return SSL_CTX_set_ciphersuites(c, list.c_str()); });
}

std::string check_groups_list(const std::string& list) {
  return try_on_scratch_ctx([&](SSL_CTX* c) { return static_cast<int>(SSL_CTX_set1_groups_list(c, list.c_str())); });
}

}  // namespace sessnic::config
