// Content-based server selection: the route map (SNI / ALPN -> server group) decides
// *where the content lives*; least-connections decides *which* server of the group.
// Session location never decides (that is what the transfer is for), except under the
// explicit `affinity` policy, the prior-art baseline that pins a client to a server.
//
// A Router is one version of the routes and the server list. A reload (SIGHUP) builds a
// new one from the new config and swaps it in; servers that keep their name keep their
// live state (open connections, health, counters), so least-connections stays right and
// connections routed by the old version finish against the same Backend object.
#pragma once
#include <asio/ip/tcp.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "client_hello.hpp"
#include "cluster_config.hpp"

namespace sessnic::dispatch {

// One server as the dispatcher sees it: where it is, and its live state.
struct Backend {
  std::string name;
  uint8_t card = 0;
  config::Endpoint addr;
  asio::ip::tcp::endpoint endpoint;
  bool proxy_protocol = false;
  bool session_pull = false;  // takes a pull hint instead of a transfer (docs/dispatcher.md step 5)
  std::atomic<size_t> active{0};      // connections routed here and still open
  std::atomic<bool> healthy{true};    // optimistic until the first health check says otherwise
  std::atomic<uint64_t> routed{0};    // connections routed here, ever
};

// Throws std::system_error for a host that is not a numeric IP ("localhost" = 127.0.0.1).
asio::ip::tcp::endpoint resolve_endpoint(const config::Endpoint& e);

class Router {
 public:
  // `previous`: the version this one replaces; servers with the same name, card and
  // address keep their Backend (state). Throws std::system_error for a bad address.
  explicit Router(const config::ClusterConfig& cfg, const Router* previous = nullptr);

  const std::vector<std::shared_ptr<Backend>>& backends() const { return backends_; }

  // Picks a backend for this hello; null when no route matches. Healthy servers are
  // preferred; when the whole group is down it still picks one (the connect decides).
  // `client` is the affinity key (client address), used only by Policy::affinity.
  std::shared_ptr<Backend> choose(const ClientHello& hello, const std::string& client);
  std::shared_ptr<Backend> by_card(uint8_t card) const;

  // Per-server lines of the Prometheus text (routed_total, server_up, connections).
  std::string render_metrics() const;

 private:
  struct Group {
    std::vector<size_t> members;
    // Rotating tie-break so equal loads alternate; atomic, so the event loops choose
    // without a lock (two choosing at once may both see the same loads: a tie at worst).
    std::unique_ptr<std::atomic<size_t>> next = std::make_unique<std::atomic<size_t>>(0);
  };
  Group* match(const ClientHello& hello);

  std::vector<std::shared_ptr<Backend>> backends_;
  config::Policy policy_;
  std::vector<std::pair<std::string, size_t>> sni_exact_, sni_wildcard_, alpn_;  // -> group index
  std::optional<size_t> default_group_;

  std::mutex mu_;  // guards sticky_ (policy = affinity only; the event loops share the router)
  std::vector<Group> groups_;
  std::unordered_map<std::string, size_t> sticky_;  // affinity policy only
};

}  // namespace sessnic::dispatch
