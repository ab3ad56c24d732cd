#include "server_card.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace sessnic::config {

ServerSection load_server_section(const std::filesystem::path& path, std::string_view name) {
  ServerSection s{load_cluster_config(path), {}};
  const ServerConfig* server = s.cluster.find_server(name);
  if (!server) throw std::invalid_argument(fmt::format("{}: no [[server]] named '{}'", path.string(), name));
  s.server = *server;
  return s;
}

DeviceConfig device_config(const ServerConfig& server) {
  DeviceConfig dc;
  dc.kind = server.device;
  dc.card_id = server.card;
  dc.xclbin = server.xclbin.string();
  dc.device_index = server.device_index;
  return dc;
}

ClusterCard open_cluster_card(const ClusterConfig& cluster, const ServerConfig& server, const Keyring& keys) {
  return ClusterCard(cluster, server, keys, open_device(device_config(server)));  // no copy: C++17 elision
}

}  // namespace sessnic::config
