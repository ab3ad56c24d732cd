// Content-based server selection: the route map (SNI / ALPN -> server group) decides
// *where the content lives*; least-connections decides *which* server of the group.
// Session location never decides (that is what the transfer is for), except under the
// explicit `affinity` policy, the prior-art baseline that pins a client to a server.
#pragma once
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "client_hello.hpp"
#include "cluster_config.hpp"

namespace sessnic::dispatch {

struct Backend {
  std::string name;
  uint8_t card = 0;
  config::Endpoint addr;
  bool proxy_protocol = false;
};

class Router {
 public:
  explicit Router(const config::ClusterConfig& cfg);

  const std::vector<Backend>& backends() const { return backends_; }

  // Picks a backend for this hello; nullopt when no route matches. Healthy servers are
  // preferred; when the whole group is down it still picks one (the connect decides). `client` is the affinity key (client address) used only by Policy::affinity.
  std::optional<size_t> choose(const ClientHello& hello, const std::string& client);

  void connection_opened(size_t backend);
  void connection_closed(size_t backend);
  void set_healthy(size_t backend, bool healthy);
  bool healthy(size_t backend) const;
  size_t active(size_t backend) const;
  std::optional<size_t> by_card(uint8_t card) const;

 private:
  struct Group {
    std::vector<size_t> members;
    size_t next = 0;  // rotating tie-break so equal loads alternate
  };
  Group* match(const ClientHello& hello);

  std::vector<Backend> backends_;
  config::Policy policy_;
  std::vector<std::pair<std::string, size_t>> sni_exact_, sni_wildcard_, alpn_;  // -> group index
  std::optional<size_t> default_group_;
  std::vector<Group> groups_;

  mutable std::mutex mu_;  // guards everything below (io threads share the router)
  std::vector<size_t> active_;
  std::vector<bool> healthy_;
  std::unordered_map<std::string, size_t> sticky_;  // affinity policy only
};

}  // namespace sessnic::dispatch
