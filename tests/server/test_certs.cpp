#include "test_certs.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include "sessnic/ossl_ptr.hpp"

namespace sessnic::servertest {

CertFiles write_self_signed(const std::filesystem::path& dir, const std::string& dns_name) {
  std::unique_ptr<EVP_PKEY, OsslDeleter<EVP_PKEY_free>> key(EVP_EC_gen("P-256"));
  std::unique_ptr<X509, OsslDeleter<X509_free>> x(X509_new());
  if (!key || !x) throw std::runtime_error("EVP_EC_gen/X509_new failed");
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(dns_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x.get(), x.get(), nullptr, nullptr, 0);
  std::string san = "DNS:" + dns_name;
  if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str())) {
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (!X509_sign(x.get(), key.get(), EVP_sha256())) throw std::runtime_error("X509_sign failed");

  std::string file = dns_name;
  for (auto& c : file)
    if (c == '*') c = '_';
  CertFiles out{dir / (file + ".crt"), dir / (file + ".key")};
  FILE* f = std::fopen(out.cert.c_str(), "w");
  if (!f) throw std::runtime_error("cannot write " + out.cert.string());
  PEM_write_X509(f, x.get());
  std::fclose(f);
  int fd = ::open(out.key.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  f = fd >= 0 ? ::fdopen(fd, "w") : nullptr;
  if (!f) throw std::runtime_error("cannot write " + out.key.string());
  PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  return out;
}

std::string peer_common_name(const SSL* ssl) {
  std::unique_ptr<X509, OsslDeleter<X509_free>> peer(SSL_get1_peer_certificate(ssl));
  if (!peer) return {};
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(peer.get()), NID_commonName, cn, sizeof cn);
  return cn;
}

}  // namespace sessnic::servertest
