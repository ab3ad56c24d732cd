// The card libsessnic opens for a server: the model device with the server's card id,
// joined to the cluster's UDP backplane when the config gives the server a backplane
// address (the same arrangement as sessnic-server's card). Only the model device kind:
// the Verilated kinds are not linked into the shared library.
#pragma once
#include <memory>
#include <string>

#include "cluster_config.hpp"
#include "sessnic/device.hpp"
#include "sessnic/seal.hpp"

namespace sessnic::capi {

class ClusterCard {
 public:
  // Throws on any failure (ConfigError, std::runtime_error when the UDP port is taken).
  ClusterCard(const config::ClusterConfig& cfg, const config::ServerConfig& self, const Keyring& keys);
  ~ClusterCard();
  ClusterCard(const ClusterCard&) = delete;
  ClusterCard& operator=(const ClusterCard&) = delete;

  Device& device();
  const std::string& description() const { return description_; }

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
  std::string description_;
};

}  // namespace sessnic::capi
