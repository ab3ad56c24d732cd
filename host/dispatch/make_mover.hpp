// Builds the SessionMover the dispatcher uses for this cluster: a backplane node with
// the dispatcher's card id when the config gives the dispatcher a backplane address,
// otherwise none (transfers then count as failed and servers do full handshakes).
#pragma once
#include <memory>

#include "cluster_config.hpp"
#include "session_mover.hpp"

namespace sessnic::dispatch {
std::shared_ptr<SessionMover> make_mover(const config::ClusterConfig& cfg);
}
