#include "throwaway_cert.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

#include "sessnic/ossl_ptr.hpp"

namespace sessnic::cli {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

FilePtr create(const std::filesystem::path& p, mode_t mode) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot create " + p.string());
  ::fchmod(fd, mode);  // O_CREAT's mode does not apply to an existing file
  FilePtr f(::fdopen(fd, "w"));
  if (!f) {
    ::close(fd);
    throw std::runtime_error("cannot open " + p.string());
  }
  return f;
}

void add_ext(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, decltype(&X509_EXTENSION_free)> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()), X509_EXTENSION_free);
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) throw std::runtime_error("X509 extension " + value);
}

}  // namespace

void write_throwaway_cert(const std::filesystem::path& cert_path, const std::filesystem::path& key_path,
                          const std::vector<std::string>& dns_names) {
  if (dns_names.empty()) throw std::runtime_error("throwaway cert needs at least one name");
  EvpPkeyPtr key(EVP_RSA_gen(2048));
  X509Ptr cert(X509_new());
  if (!key || !cert) throw std::runtime_error("key generation failed");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(dns_names[0].c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);
  std::string san;
  for (auto& n : dns_names) san += "DNS:" + n + ",";
  san += "IP:127.0.0.1";
  add_ext(cert.get(), NID_subject_alt_name, san);
  add_ext(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) throw std::runtime_error("certificate signing failed");

  std::filesystem::create_directories(cert_path.parent_path().empty() ? "." : cert_path.parent_path());
  std::filesystem::create_directories(key_path.parent_path().empty() ? "." : key_path.parent_path());
  auto kf = create(key_path, 0600);
  if (PEM_write_PrivateKey(kf.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    throw std::runtime_error("cannot write " + key_path.string());
  auto cf = create(cert_path, 0644);
  if (PEM_write_X509(cf.get(), cert.get()) != 1) throw std::runtime_error("cannot write " + cert_path.string());
}

}  // namespace sessnic::cli
