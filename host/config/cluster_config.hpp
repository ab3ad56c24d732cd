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

// A pulling server's default pull_spin_us (docs/server.md, "Pull on miss").
inline constexpr int64_t kDefaultPullSpinUs = 200;

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A numeric address: an IPv4 literal or an IPv6 literal (without brackets; `str()` adds
// them). `localhost` in a config is resolved to 127.0.0.1 when parsed, so every process
// (dispatcher, server, backplane) sees the same numeric address.
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  bool ipv6() const { return host.find(':') != std::string::npos; }
  bool wildcard() const { return host == "0.0.0.0" || host == "::"; }
  std::string str() const { return (ipv6() ? "[" + host + "]" : host) + ":" + std::to_string(port); }
  bool operator==(const Endpoint&) const = default;
};

struct ServerConfig {
  std::string name;
  uint8_t card = 0;
  Endpoint listen;
  std::optional<Endpoint> backplane;  // UDP address of this server's backplane node
  std::filesystem::path content;      // directory served
  bool proxy_protocol = false;        // dispatcher prepends PROXY v2; server requires it
  // sessnic-server only: the dispatcher forwards a hello at once with a pull hint (PROXY v2
  // TLV) instead of moving the session first; the server pulls it from the owner card.
  bool session_pull = false;
  // session_pull: how long the ClientHello callback may wait on its io thread for the
  // pull's answer when no other connection of its loop is busy (0: pause at once).
  // Parsed default: kDefaultPullSpinUs with session_pull, else 0.
  std::chrono::microseconds pull_spin{0};
  unsigned threads = 1;  // sessnic-server: one event loop run by one thread (docs/server.md)
  // sessnic-server: false = the threads share one event loop (any thread runs any
  // connection's next step); true = one event loop and one SO_REUSEPORT listener per
  // thread (`io_loops = "per_thread"`, docs/server.md "How it serves").
  bool per_thread_loops = false;
  // sessnic-server's own limits (docs/server.md). Absent metrics (or port 0): no endpoint.
  std::optional<Endpoint> metrics;
  std::chrono::milliseconds handshake_timeout{10000};  // accept -> handshake done (PROXY header included)
  std::chrono::milliseconds request_timeout{10000};    // first byte of a request -> its whole header block
  std::chrono::milliseconds idle_timeout{60000};       // keep-alive: no byte between requests
  std::chrono::milliseconds send_timeout{10000};       // a response write that makes no progress
  size_t max_connections = 8192;                       // over it, new connections are closed at once
  size_t max_header_bytes = 16384;                     // request line + headers; over it: 431
  // The server's card (docs/alveo.md): a device kind of open_device() ("model", "verilator",
  // "xrt"); for "xrt" the xclbin to load and the card's XRT device index.
  std::string device = "model";
  std::filesystem::path xclbin;
  unsigned device_index = 0;
  // The Unix socket of this server's per-host card service (`sessnic-card`). When set,
  // libsessnic reaches the card through the service's shared-memory rings instead of
  // opening the card in the process (docs/integrate.md).
  std::optional<std::filesystem::path> card_service;
  bool operator==(const ServerConfig&) const = default;  // `cluster up` restarts a server whose section changed
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
  // session_pull servers: how long a server's handshake may wait for its pull (the hint's
  // budget). Waiting holds no thread; giving up costs a full handshake.
  std::chrono::microseconds pull_deadline{20000};
  // session_pull servers: true = the dispatcher fires the move toward the server's card at
  // the hello; false = it fires none and the server pulls on the hint (docs/dispatcher.md).
  bool early_move = false;
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
  size_t warm_connections = 2;              // spare connections kept open to each server (0 = off)
};

// A certificate served to clients whose SNI matches one of `names` ([[tls.certificate]]).
struct SniCertificate {
  std::vector<std::string> names;  // exact host names or "*.suffix", lower case
  std::filesystem::path cert;
  std::filesystem::path key;
  size_t line = 0;
  bool operator==(const SniCertificate&) const = default;
};

struct TlsConfig {
  std::filesystem::path cert;
  std::filesystem::path key;
  // [cluster] throwaway_cert = true: `sessnic cluster up` may generate a self-signed cert
  // and key when they are missing (trying things out). Otherwise a missing file is an error.
  bool throwaway_cert = false;
  uint32_t session_timeout_s = 300;
  std::string session_context = "sessnic";  // identical on every server (OpenSSL sid_ctx)
  // [tls]: protocol settings of every server (docs/server.md).
  std::string min_version = "1.2", max_version = "1.3";
  std::string ciphers;       // TLS 1.2 cipher list, OpenSSL syntax; empty = OpenSSL's default
  std::string ciphersuites;  // TLS 1.3 ciphersuites, colon list; empty = OpenSSL's default
  std::string groups;        // key-exchange groups, colon list; empty = OpenSSL's default
  std::vector<SniCertificate> certificates;  // [[tls.certificate]]: chosen by SNI, else cert/key above
  bool operator==(const TlsConfig&) const = default;
};

struct BackplaneConfig {
  std::string mode = "transfer";  // replicate | transfer | hub
  std::optional<uint8_t> hub_card;  // mode hub: the central repository (default: the dispatcher's card)
  bool operator==(const BackplaneConfig&) const = default;
};

// [redis]: a Redis server or Redis Cluster as the cluster's central session repository
// (docs/scaling.md). Servers write their new sessions through to it and fetch misses from
// it; the dispatcher fetches a resuming session into the chosen server's card.
struct RedisConfig {
  std::vector<Endpoint> addresses;       // one server, or seeds of a Redis Cluster
  bool cluster = false;
  std::string user;                      // ACL user (empty: AUTH with the password alone)
  std::filesystem::path password_file;   // empty: no AUTH; must not be readable by others
  bool tls = false;
  std::filesystem::path tls_ca, tls_cert, tls_key;
  std::string tls_server_name;
  std::chrono::milliseconds connect_timeout{200};
  std::chrono::milliseconds io_timeout{100};
  std::string on_unreachable = "fail";   // at start: "fail" (exit with the reason) or "degraded"
  std::string prefix = "sessnic:";
  unsigned threads = 2;
  bool operator==(const RedisConfig&) const = default;
};

struct ClusterConfig {
  std::filesystem::path source;  // the file this came from
  std::filesystem::path key_file;
  TlsConfig tls;
  BackplaneConfig backplane;
  DispatcherConfig dispatcher;
  std::vector<ServerConfig> servers;
  std::vector<RouteConfig> routes;
  std::optional<RedisConfig> redis;  // [redis]: Redis is the central repository

  const ServerConfig* find_server(std::string_view name) const;
};

// Parses and validates; relative paths are resolved against the file's directory.
// Throws ConfigError with "file:line: field: message". Besides each field's own rules it
// checks what the processes would otherwise only find out at run time: TCP and UDP ports
// used twice, card ids (255 is the backplane broadcast), the hub card, duplicate routes,
// and that the certificate and private key exist (unless cluster.throwaway_cert) with a
// private key others cannot read.
ClusterConfig load_cluster_config(const std::filesystem::path& file);
// Same, from text (tests), without the certificate/key file checks; `name` stands in for
// the file name in messages and anchors relative paths.
ClusterConfig parse_cluster_config(std::string_view text, const std::filesystem::path& name);

// "a.b.c.d:port", "[ipv6]:port" or "localhost:port" (-> 127.0.0.1) with a numeric port
// 0..65535 (0: any free port, for listeners in tests); nullopt when malformed. Host names
// are not resolved: no sessnic process resolves names, so one would only fail later.
std::optional<Endpoint> parse_endpoint(std::string_view s);

}  // namespace sessnic::config
