// Extra certificates for the SNI tests: a fresh EC P-256 key and a self-signed
// certificate whose CN and SAN are `dns_name`, written as PEM (key mode 0600).
#pragma once
#include <filesystem>
#include <openssl/ssl.h>

#include <string>

namespace sessnic::servertest {

struct CertFiles {
  std::filesystem::path cert, key;
};
CertFiles write_self_signed(const std::filesystem::path& dir, const std::string& dns_name);

// The subject CN of the certificate the server presented on `ssl`.
std::string peer_common_name(const SSL* ssl);

}  // namespace sessnic::servertest
