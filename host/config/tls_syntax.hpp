// What the [tls] settings may say, checked with the OpenSSL the servers run, so a typo in a
// cipher list is a config error at load time (with file:line) and not a server that fails
// to start - or worse, silently offers OpenSSL's defaults.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace sessnic::config {

// "1.2" -> TLS1_2_VERSION, "1.3" -> TLS1_3_VERSION; nullopt for anything else (older
// versions are refused: OpenSSL 3's default security level disables them anyway).
std::optional<int> tls_protocol_version(std::string_view name);

// Each returns an empty string when OpenSSL accepts the list, else why not.
std::string check_tls12_cipher_list(const std::string& list);
std::string check_tls13_ciphersuites(const std::string& list);
std::string check_groups_list(const std::string& list);

}  // namespace sessnic::config
