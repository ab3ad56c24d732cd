// The smallest cluster the dispatcher's session movers act on, in one process: a
// dispatcher (card 0) and two servers, flights (card 1) and cars (card 2), backplane in
// `transfer` mode, every backplane address a free UDP port on 127.0.0.1 (the servers' TCP
// listen ports are named but never opened). A server's card is opened as sessnic-server
// opens it (config::ClusterCard: a model card joined to the backplane over UDP), so a
// test starts only the cards it wants up. Target sessnic_test_transfer_cluster.
//
//   testtls::TempDir dir;
//   const auto cfg = testing::two_server_transfer_cluster(dir.path());
//   auto cars = testing::open_server_card(cfg, 2);   // flights stays down
//   auto mover = dispatch::make_mover(cfg, 1000ms);
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include "cluster_card.hpp"
#include "cluster_config.hpp"

namespace sessnic::testing {

// The cluster's [cluster] session_context (tests derive their session keys' context from it).
inline constexpr char kTransferClusterContext[] = "mover-test";

// Writes a fresh key file `dir`/cluster.key and returns the parsed config (as if read from
// `dir`/cluster.toml); `extra_toml` is appended to the file, e.g. a [redis] table.
config::ClusterConfig two_server_transfer_cluster(const std::filesystem::path& dir, std::string_view extra_toml = {});

// The card of the [[server]] with card id `card` (a model card of the small geometry),
// its backplane node started; the node stops when the card is destroyed.
std::unique_ptr<config::ClusterCard> open_server_card(const config::ClusterConfig& cfg, uint8_t card);

}  // namespace sessnic::testing
