// The dispatcher's SessionMover when Redis is the central repository ([redis] in the
// cluster config): the transfer with Redis as the owner. Knowing the session id from the
// ClientHello, a worker GETs the sealed entry from Redis into the dispatcher's own table
// (its backplane node's card) and TRANSFERs it to the chosen server's card over the
// backplane, while the dispatcher connects to the server; the hello is forwarded when the
// session landed or the transfer deadline passed (as for the backplane mover).
// A session Redis does not have (not written through yet) or a Redis that does not answer
// falls back to the backplane transfer from the card that made it.
// TLS 1.3 tickets are only read here (GET); the server TAKEs them (docs/scaling.md).
#pragma once
#include <chrono>
#include <memory>

#include "cluster_config.hpp"
#include "session_mover.hpp"

namespace sessnic::dispatch {
// Needs cfg.redis and cfg.dispatcher.backplane. Throws (redis unreachable with
// on_unreachable = fail, bad password file, backplane bind failure).
std::shared_ptr<SessionMover> make_redis_mover(const config::ClusterConfig& cfg, std::chrono::milliseconds peer_wait);
}  // namespace sessnic::dispatch
