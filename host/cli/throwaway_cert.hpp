// A throwaway self-signed certificate for trying a cluster out on loopback (demo, tests).
// Never for production: the private key is generated here and nobody vouches for it.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace sessnic::cli {

// Writes cert (0644) and key (0600) PEM files: RSA-2048, valid 30 days, CN = first name,
// subjectAltName = every name (DNS) plus IP 127.0.0.1. Throws std::runtime_error.
void write_throwaway_cert(const std::filesystem::path& cert, const std::filesystem::path& key,
                          const std::vector<std::string>& dns_names);

}  // namespace sessnic::cli
