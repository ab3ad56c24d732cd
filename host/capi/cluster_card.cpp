#include "cluster_card.hpp"

#include <fmt/format.h>

#include "backplane_nodes.hpp"
#include "sessnic/backplane/clustered_device.hpp"
#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sessnic/open_device.hpp"

namespace sessnic::capi {

struct ClusterCard::Parts {
  std::unique_ptr<Device> device;
  std::unique_ptr<backplane::BackplaneNode> node;
  std::unique_ptr<backplane::ClusteredDevice> clustered;  // replicates per mode; hub pulls on miss
};

ClusterCard::ClusterCard(const config::ClusterConfig& cfg, const config::ServerConfig& self, const Keyring& keys)
    : parts_(std::make_unique<Parts>()) {
  DeviceConfig dc;
  dc.card_id = self.card;
  parts_->device = make_model_device(dc);
  if (!self.backplane) {
    description_ = fmt::format("model card {} (no backplane)", self.card);
    return;
  }
  auto nc = config::node_config(cfg, self.card, keys);
  parts_->node = std::make_unique<backplane::BackplaneNode>(nc, parts_->device.get(),
                                                            std::make_unique<backplane::UdpTransport>(nc));
  parts_->node->start();
  parts_->clustered = std::make_unique<backplane::ClusteredDevice>(*parts_->device, *parts_->node);
  description_ = fmt::format("model card {}, backplane {} on udp {}", self.card, backplane::to_string(nc.mode),
                             self.backplane->str());
}

ClusterCard::~ClusterCard() {
  if (parts_->node) parts_->node->stop();
}

Device& ClusterCard::device() {
  return parts_->clustered ? static_cast<Device&>(*parts_->clustered) : *parts_->device;
}

}  // namespace sessnic::capi
