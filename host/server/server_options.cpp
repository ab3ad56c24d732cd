#include "server_options.hpp"

namespace sessnic::server {

ServerOptions server_options(const config::ClusterConfig& cfg, const config::ServerConfig& self) {
  ServerOptions o;
  o.name = self.name;
  o.host = self.listen.host;
  o.port = self.listen.port;
  o.content = self.content;
  o.tls = cfg.tls;
  o.proxy_protocol = self.proxy_protocol;
  o.session_pull = self.session_pull;
  o.pull_spin = self.pull_spin;
  o.threads = self.threads;
  o.per_thread_loops = self.per_thread_loops;
  o.handshake_timeout = self.handshake_timeout;
  o.request_timeout = self.request_timeout;
  o.idle_timeout = self.idle_timeout;
  o.send_timeout = self.send_timeout;
  o.max_connections = self.max_connections;
  o.max_header_bytes = self.max_header_bytes;
  o.metrics = self.metrics;
  return o;
}

}  // namespace sessnic::server
