#include "backplane_nodes.hpp"

#include <fmt/format.h>

namespace sessnic::config {

uint8_t hub_card(const ClusterConfig& cfg) { return cfg.backplane.hub_card.value_or(cfg.dispatcher.card); }

backplane::NodeConfig node_config(const ClusterConfig& cfg, uint8_t card, const Keyring& keys) {
  struct Node {
    uint8_t card;
    std::optional<Endpoint> addr;
  };
  std::vector<Node> nodes{{cfg.dispatcher.card, cfg.dispatcher.backplane}};
  for (auto& s : cfg.servers) nodes.push_back({s.card, s.backplane});

  backplane::NodeConfig n;
  n.card_id = card;
  n.mode = backplane::parse_mode(cfg.backplane.mode);
  n.hub_card = hub_card(cfg);
  n.cluster_key = keys.current().bytes;
  bool found = false;
  for (auto& node : nodes) {
    if (!node.addr) continue;
    if (node.card == card) {
      n.bind_host = node.addr->host;
      n.bind_port = node.addr->port;
      found = true;
    } else {
      n.peers.push_back({node.card, node.addr->host, node.addr->port});
    }
  }
  if (!found) throw ConfigError(fmt::format("{}: card {} has no backplane address", cfg.source.string(), card));
  return n;
}

}  // namespace sessnic::config
