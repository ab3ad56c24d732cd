#include "redis_options.hpp"

namespace sessnic::redis {

RedisOptions redis_options(const config::RedisConfig& c) {
  RedisOptions o;
  for (const auto& a : c.addresses) o.addresses.push_back({a.host, a.port});
  o.cluster = c.cluster;
  o.user = c.user;
  if (!c.password_file.empty()) o.password = load_password_file(c.password_file);
  if (c.tls) o.tls = RedisTls{c.tls_ca, c.tls_cert, c.tls_key, c.tls_server_name};
  o.connect_timeout = c.connect_timeout;
  o.io_timeout = c.io_timeout;
  o.on_unreachable = c.on_unreachable == "degraded" ? OnUnreachable::degraded : OnUnreachable::fail;
  o.prefix = c.prefix;
  o.threads = c.threads;
  return o;
}

}  // namespace sessnic::redis
