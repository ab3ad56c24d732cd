// One connection to one Redis node: TCP, optionally TLS (OpenSSL), RESP via hiredis's
// formatter and reader. Every wait is bounded: connect by connect_timeout, each call of
// run() by io_timeout. Any I/O failure or timeout leaves the connection broken (the
// caller drops it); a Redis error reply is a value, not a failure.
#pragma once
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sessnic/redis/options.hpp"
#include "sessnic/redis/reply.hpp"

namespace sessnic::redis {

// I/O-level failure (refused, reset, timeout, TLS, AUTH refused). The node is unreachable.
class Unreachable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using RespCommand = std::vector<std::string>;

class Connection {
 public:
  // Connects, TLS-handshakes and authenticates (AUTH when options.password is set).
  // Throws Unreachable.
  Connection(const RedisAddress& addr, const RedisOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends the commands at once (a pipeline: e.g. ASKING + the command) and reads one
  // reply each, within one io_timeout. Throws Unreachable (the connection is then broken).
  std::vector<Reply> run(std::span<const RespCommand> commands);
  Reply run(const RespCommand& command);

  const RedisAddress& address() const { return addr_; }
  bool broken() const { return broken_; }

 private:
  struct Impl;
  RedisAddress addr_;
  std::chrono::milliseconds io_timeout_;
  bool broken_ = false;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sessnic::redis
