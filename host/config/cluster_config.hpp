// The one TOML file that describes a whole sessnic cluster: the dispatcher, every server
// (its card, listener, content), the routes, the backplane and the TLS material.
// `sessnic cluster up`, `sessnic-dispatch` and `sessnic-server` all read the same file.
// Errors name the file, the line and the field ("travel.toml:12: server[1].card: ...").
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sessnic::config {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string str() const { return host + ":" + std::to_string(port); }
};

struct ServerConfig {
  std::string name;
  uint8_t card = 0;
  Endpoint listen;
  std::optional<Endpoint> backplane;  // UDP address of this server's backplane node
  std::filesystem::path content;      // directory served
  bool proxy_protocol = false;        // dispatcher prepends PROXY v2; server requires it
  unsigned threads = 4;
};

struct RouteConfig {
  std::string sni;   // exact host name, "*.suffix" wildcard, or empty
  std::string alpn;  // protocol id, or empty
  bool is_default = false;
  std::vector<std::string> servers;  // the group, by server name
  size_t line = 0;
};

enum class Policy { content, affinity };

struct DispatcherConfig {
  Endpoint listen{"127.0.0.1", 8443};
  Endpoint metrics{"127.0.0.1", 9443};
  uint8_t card = 0;
  std::optional<Endpoint> backplane;
  Policy policy = Policy::content;
  bool sharing = true;
  std::chrono::microseconds transfer_deadline{2000};
  std::chrono::milliseconds hello_timeout{5000};
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds health_interval{1000};
  std::chrono::milliseconds drain_timeout{10000};
  size_t max_connections = 4096;
  size_t max_hello_bytes = 32 * 1024;
  unsigned io_threads = 1;
  size_t max_connections_per_source = 256;  // open connections per client address
  size_t max_transfers_in_flight = 256;     // more: forwarded at once, counted `overload`
};

struct TlsConfig {
  std::filesystem::path cert;
  std::filesystem::path key;
  uint32_t session_timeout_s = 300;
  std::string session_context = "sessnic";  // identical on every server (OpenSSL sid_ctx)
  std::string min_version = "1.2", max_version = "1.3";  // [tls] min_version / max_version
};

struct BackplaneConfig {
  std::string mode = "transfer";  // replicate | transfer | hub
  std::optional<uint8_t> hub_card;  // mode hub: the central repository (default: the dispatcher's card)
};

struct ClusterConfig {
  std::filesystem::path source;  // the file this came from
  std::filesystem::path key_file;
  TlsConfig tls;
  BackplaneConfig backplane;
  DispatcherConfig dispatcher;
  std::vector<ServerConfig> servers;
  std::vector<RouteConfig> routes;

  const ServerConfig* find_server(std::string_view name) const;
};

// Parses and validates; relative paths are resolved against the file's directory.
// Throws ConfigError with "file:line: field: message".
ClusterConfig load_cluster_config(const std::filesystem::path& file);
// Same, from text (tests); `name` stands in for the file name in messages.
ClusterConfig parse_cluster_config(std::string_view text, const std::filesystem::path& name);

// "host:port" with a numeric port 0..65535 (0: any free port, for listeners in tests);
// nullopt when malformed.
std::optional<Endpoint> parse_endpoint(std::string_view s);

}  // namespace sessnic::config
