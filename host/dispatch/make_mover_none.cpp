// Used when the backplane library is not part of the build.
#include "make_mover.hpp"

namespace sessnic::dispatch {
std::shared_ptr<SessionMover> make_mover(const config::ClusterConfig&) { return nullptr; }
}  // namespace sessnic::dispatch
