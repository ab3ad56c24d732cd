// A server's card joined to its cluster: the device the caller opened (model, verilator,
// ...) plus, when the config gives the server a backplane address, the backplane pump
// that carries the card's frames over UDP (the card itself replicates, transfers, pulls
// and catches up). sessnic-server and libsessnic both open their card through this one
// class, so the two never drift apart.
#pragma once
#include <memory>
#include <string>

#include "cluster_config.hpp"
#include "sessnic/device.hpp"
#include "sessnic/seal.hpp"

namespace sessnic::backplane {
class BackplaneNode;
}  // namespace sessnic::backplane

namespace sessnic::config {

class ClusterCard {
 public:
  // Throws ConfigError, or std::runtime_error when the backplane port cannot be bound.
  ClusterCard(const ClusterConfig& cfg, const ServerConfig& self, const Keyring& keys, std::unique_ptr<Device> device);
  ~ClusterCard();  // stops the node before the device goes
  ClusterCard(const ClusterCard&) = delete;
  ClusterCard& operator=(const ClusterCard&) = delete;

  Device& device();                                     // what attach() uses
  const backplane::BackplaneNode* node() const { return node_.get(); }  // null without a backplane
  const std::string& description() const { return description_; }
  std::string metrics_text() const;  // the node's Prometheus counters; empty without a backplane

 private:
  std::unique_ptr<Device> device_;
  std::unique_ptr<backplane::BackplaneNode> node_;
  std::string description_;
};

}  // namespace sessnic::config
