// The start-up every process that holds a [[server]]'s card shares (sessnic-server, and
// sessnic-card for a host whose server processes attach to it): read the server's
// section, open the device it names and join it to the cluster's backplane. One place,
// so the two programs open the same card from the same config.
#pragma once
#include <filesystem>
#include <memory>
#include <string_view>

#include "cluster_card.hpp"
#include "cluster_config.hpp"
#include "sessnic/open_device.hpp"
#include "sessnic/seal.hpp"

namespace sessnic::config {

struct ServerSection {
  ClusterConfig cluster;
  ServerConfig server;  // a copy: the caller may override what its command line overrides
};

// The cluster config at `path` and its [[server]] named `name`. Throws ConfigError, or
// std::invalid_argument when the config has no such server.
ServerSection load_server_section(const std::filesystem::path& path, std::string_view name);

// The device a [[server]] section names: kind ("model", "verilator", "xrt"), card id,
// and for "xrt" the xclbin and the card's device index.
DeviceConfig device_config(const ServerConfig& server);

// Opens the server's device (open_device(device_config(server))) and joins it to the
// cluster's backplane when the section has a backplane address. Throws what open_device
// and ClusterCard throw.
ClusterCard open_cluster_card(const ClusterConfig& cluster, const ServerConfig& server, const Keyring& keys);

}  // namespace sessnic::config
