// Backplane node settings derived from the cluster config: the same peer list and key for
// the dispatcher and every server, so the processes of one cluster always agree.
#pragma once
#include <cstdint>

#include "cluster_config.hpp"
#include "sessnic/backplane/config.hpp"
#include "sessnic/seal.hpp"

namespace sessnic::config {

// The card that holds the central repository in hub mode.
uint8_t hub_card(const ClusterConfig& cfg);

// NodeConfig for card `card` (the dispatcher's or a server's), bound to `bind`, with every
// other node that has a backplane address as a peer. Throws ConfigError when `card`
// has no backplane address.
backplane::NodeConfig node_config(const ClusterConfig& cfg, uint8_t card, const Keyring& keys);

}  // namespace sessnic::config
