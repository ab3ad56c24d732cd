// Many idle keep-alive HTTPS connections to one server, for the idle-connections test and
// bench_server: each connects, resumes one TLS 1.2 session (cheap: no public-key work, so
// ten thousand take seconds, not minutes), does one GET and then stays open, quiet.
// fd_budget(): how many the open-file limits allow this process and the server.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "https_test_client.hpp"

namespace sessnic::servertest {

// Raises this process's soft RLIMIT_NOFILE to its hard limit; returns how many client
// connections fit under it, keeping `spare` descriptors free.
size_t fd_budget(size_t spare = 512);

class IdleConnections {
 public:
  // Opens `count` connections; stops at the first failure (error() says why).
  IdleConnections(uint16_t port, size_t count);
  size_t size() const { return conns_.size(); }
  const std::string& error() const { return error_; }
  // A request on every `stride`-th connection: how many answered 200.
  size_t probe(size_t stride);

 private:
  SslCtxPtr ctx_;
  std::vector<std::unique_ptr<HttpsClient>> conns_;
  std::string error_;
};

}  // namespace sessnic::servertest
