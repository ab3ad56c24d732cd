// The card a sessnic-server attaches to: a model device with the server's card id, joined
// to the cluster over the UDP backplane when the config gives the server a backplane
// address and the backplane library is part of the build.
#pragma once
#include <memory>

#include "cluster_config.hpp"
#include "sessnic/device.hpp"
#include "sessnic/seal.hpp"

namespace sessnic::server {

class ServerCard {
 public:
  virtual ~ServerCard() = default;
  virtual Device& device() = 0;
  virtual std::string describe() const = 0;
};

std::unique_ptr<ServerCard> open_server_card(const config::ClusterConfig& cfg, const config::ServerConfig& self,
                                             const Keyring& keys);

}  // namespace sessnic::server
