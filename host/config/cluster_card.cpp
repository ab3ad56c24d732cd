#include "cluster_card.hpp"

#include <fmt/format.h>

#include "backplane_nodes.hpp"
#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/prometheus.hpp"
#include "sessnic/backplane/udp_transport.hpp"

namespace sessnic::config {

ClusterCard::ClusterCard(const ClusterConfig& cfg, const ServerConfig& self, const Keyring& keys,
                         std::unique_ptr<Device> device)
    : device_(std::move(device)) {
  if (!self.backplane) {
    description_ = fmt::format("{} card {} (no backplane)", device_->kind(), self.card);
    return;
  }
  auto nc = node_config(cfg, self.card, keys);
  node_ = std::make_unique<backplane::BackplaneNode>(nc, *device_, std::make_unique<backplane::UdpTransport>(nc));
  node_->start();
  description_ = fmt::format("{} card {}, backplane {} on udp {}", device_->kind(), self.card, backplane::to_string(nc.mode),
                             self.backplane->str());
}

ClusterCard::~ClusterCard() {
  if (node_) node_->stop();
}

Device& ClusterCard::device() { return *device_; }

std::string ClusterCard::metrics_text() const { return node_ ? backplane::prometheus_text(node_->stats()) : std::string(); }

}  // namespace sessnic::config
