// How to reach the Redis deployment that holds the cluster's sessions (docs/scaling.md,
// "Redis as the central repository"). A plain struct: the cluster config's [redis] table
// maps onto it (host/redis), tests fill it in directly.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sessnic::redis {

struct RedisAddress {
  std::string host;  // numeric IPv4/IPv6 address (no name resolution, like every sessnic process)
  uint16_t port = 6379;
  std::string str() const { return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port); }
  bool operator==(const RedisAddress&) const = default;
};

struct RedisTls {
  std::filesystem::path ca;           // verify the server against this CA file (required)
  std::filesystem::path cert, key;    // client certificate, when the server wants one
  std::string server_name;            // checked against the certificate; empty: not checked by name
};

enum class OnUnreachable { fail, degraded };

struct RedisOptions {
  // Single server: one address. Cluster: any masters/replicas as seeds; the slot map comes
  // from CLUSTER SLOTS on the first that answers.
  std::vector<RedisAddress> addresses;
  bool cluster = false;
  std::string user;      // ACL user; empty with a password: AUTH <password> (requirepass)
  std::string password;  // read from a file that others cannot read (load_password_file)
  std::optional<RedisTls> tls;
  std::chrono::milliseconds connect_timeout{200};
  std::chrono::milliseconds io_timeout{100};  // one command's round trip, redirections each count
  // A node that failed is not tried again before this, doubling up to backoff_max.
  std::chrono::milliseconds backoff_min{50}, backoff_max{2000};
  OnUnreachable on_unreachable = OnUnreachable::fail;
  std::string prefix = "sessnic:";  // every key starts with it (several clusters, one Redis)
  unsigned threads = 2;             // asynchronous lookups and write-through
  size_t max_pending = 4096;        // queued asynchronous operations; more are refused and counted
  size_t max_idle_connections = 8;  // per node
};

// The password file's first line. Throws std::runtime_error when the file cannot be read
// or group/others may read it (like the cluster key file: mode 0600 or 0400).
std::string load_password_file(const std::filesystem::path& path);

// "host:port" / "[v6]:port"; nullopt when malformed.
std::optional<RedisAddress> parse_address(const std::string& s);

}  // namespace sessnic::redis
