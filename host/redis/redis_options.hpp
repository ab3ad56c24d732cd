// The cluster config's [redis] table as the store's options (reads the password file).
#pragma once
#include "cluster_config.hpp"
#include "sessnic/redis/options.hpp"

namespace sessnic::redis {
// Throws std::runtime_error when the password file cannot be read or others can read it.
RedisOptions redis_options(const config::RedisConfig& cfg);
}  // namespace sessnic::redis
