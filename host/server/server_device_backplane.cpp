// A server's card joined to the cluster: the model device (the HLS kernels in-process)
// plus its backplane node on UDP, combined as a ClusteredDevice. The node answers the dispatcher's transfer requests
// from this table and stores sessions moved here.
#include <fmt/format.h>

#include "backplane_nodes.hpp"
#include "server_device.hpp"
#include "sessnic/backplane/clustered_device.hpp"
#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sessnic/open_device.hpp"

namespace sessnic::server {
namespace {

class ClusterCard : public ServerCard {
 public:
  ClusterCard(const config::ClusterConfig& cfg, const config::ServerConfig& self, const Keyring& keys) {
    DeviceConfig dc;
    dc.card_id = self.card;
    device_ = open_device(dc);
    if (self.backplane) {
      auto nc = config::node_config(cfg, self.card, keys);
      mode_ = backplane::to_string(nc.mode);
      node_ = std::make_unique<backplane::BackplaneNode>(nc, device_.get(), std::make_unique<backplane::UdpTransport>(nc));
      node_->start();
      clustered_ = std::make_unique<backplane::ClusteredDevice>(*device_, *node_);
      where_ = self.backplane->str();
    }
  }
  ~ClusterCard() override {
    if (node_) node_->stop();
  }
  Device& device() override { return clustered_ ? static_cast<Device&>(*clustered_) : *device_; }
  std::string describe() const override {
    if (!node_) return fmt::format("model card {} (no backplane)", device_->card_id());
    return fmt::format("model card {}, backplane {} on udp {}", device_->card_id(), mode_, where_);
  }

 private:
  std::unique_ptr<Device> device_;
  std::unique_ptr<backplane::BackplaneNode> node_;
  std::unique_ptr<backplane::ClusteredDevice> clustered_;  // replicates per mode; hub pulls on miss
  std::string mode_, where_;
};

}  // namespace

std::unique_ptr<ServerCard> open_server_card(const config::ClusterConfig& cfg, const config::ServerConfig& self,
                                             const Keyring& keys) {
  return std::make_unique<ClusterCard>(cfg, self, keys);
}

}  // namespace sessnic::server
