#include "transfer_cluster.hpp"

#include <sys/socket.h>

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "loopback.hpp"
#include "sessnic/key_file.hpp"
#include "sessnic/open_device.hpp"

namespace sessnic::testing {

config::ClusterConfig two_server_transfer_cluster(const std::filesystem::path& dir, std::string_view extra_toml) {
  generate_key_file(dir / "cluster.key", 1);
  const uint16_t dispatcher = free_loopback_port(SOCK_DGRAM), flights = free_loopback_port(SOCK_DGRAM),
                 cars = free_loopback_port(SOCK_DGRAM);
  const std::string text = fmt::format(R"([cluster]
key_file = "cluster.key"
cert = "c.pem"
key = "k.pem"
session_context = "{}"
[backplane]
mode = "transfer"
[dispatcher]
card = 0
backplane = "127.0.0.1:{}"
[[server]]
name = "flights"
card = 1
listen = "127.0.0.1:19001"
backplane = "127.0.0.1:{}"
content = "f"
[[server]]
name = "cars"
card = 2
listen = "127.0.0.1:19002"
backplane = "127.0.0.1:{}"
content = "c"
[[route]]
default = true
servers = ["flights", "cars"]
{})",
                                       kTransferClusterContext, dispatcher, flights, cars, extra_toml);
  return config::parse_cluster_config(text, dir / "cluster.toml");
}

std::unique_ptr<config::ClusterCard> open_server_card(const config::ClusterConfig& cfg, uint8_t card) {
  const auto server = std::ranges::find(cfg.servers, card, &config::ServerConfig::card);
  if (server == cfg.servers.end()) throw std::invalid_argument(fmt::format("no [[server]] with card {}", card));
  DeviceConfig dc;
  dc.card_id = card;
  dc.geometry = TableGeometry::small;
  return std::make_unique<config::ClusterCard>(cfg, *server, load_key_file(cfg.key_file), open_device(dc));
}

}  // namespace sessnic::testing
