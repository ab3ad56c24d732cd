// Builds the SessionMover the dispatcher uses for this cluster: a backplane node with
// the dispatcher's card id when the config gives the dispatcher a backplane address,
// otherwise none (transfers then count as failed and servers do full handshakes).
#pragma once
#include <chrono>
#include <memory>

#include "cluster_config.hpp"
#include "session_mover.hpp"

namespace sessnic::dispatch {
// Waits up to `peer_wait` for the servers' nodes to answer (not fatal if they do not).
std::shared_ptr<SessionMover> make_mover(const config::ClusterConfig& cfg,
                                         std::chrono::milliseconds peer_wait = std::chrono::milliseconds(2000));
}
