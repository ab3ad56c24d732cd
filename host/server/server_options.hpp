// Everything one sessnic-server process needs to know, usually taken from the cluster
// config (server_options()), settable field by field in tests.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "cluster_config.hpp"

namespace sessnic::server {

struct ServerOptions {
  std::string name;  // shown in the X-Sessnic-Server header
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (tests)
  std::filesystem::path content;
  config::TlsConfig tls;        // certificates, versions, ciphers, session context and lifetime
  bool proxy_protocol = false;  // require a PROXY v2 header before TLS
  bool session_pull = false;    // act on the dispatcher's pull hint (session_pull.hpp)
  // session_pull: how long the ClientHello callback may wait for a pull on its io thread
  // when no other connection of its loop is busy (0: never; it pauses the handshake).
  std::chrono::microseconds pull_spin{0};
  unsigned threads = 1;         // I/O threads
  // false: the threads share one event loop (a connection's steps run on any of them);
  // true: one loop and one SO_REUSEPORT listener per thread (a connection stays on one).
  bool per_thread_loops = false;
  std::chrono::milliseconds handshake_timeout{10000}, request_timeout{10000}, idle_timeout{60000},
      send_timeout{10000};
  std::chrono::milliseconds linger_timeout{2000};  // after "Connection: close": read and discard, then close
  size_t max_connections = 8192;
  size_t max_header_bytes = 16384;
  std::optional<config::Endpoint> metrics;  // /metrics + /healthz; nullopt: none
  // More Prometheus text appended to /metrics (e.g. the backplane node's counters).
  std::function<std::string()> extra_metrics;
};

ServerOptions server_options(const config::ClusterConfig& cfg, const config::ServerConfig& self);

}  // namespace sessnic::server
