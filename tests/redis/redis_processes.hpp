// Real redis-server processes for tests and benches: each with its own directory, config
// file, pid file and loopback port, stopped by PID (never by name).
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "sessnic/redis/options.hpp"

namespace sessnic::testing {

class RedisProcess {
 public:
  // Writes <dir>/redis.conf (bind 127.0.0.1, no persistence, `extra_conf` appended) and
  // starts redis-server on it; waits (<= 5 s) until the port answers. Throws on failure.
  // `port` 0 picks a free one.
  RedisProcess(std::filesystem::path dir, uint16_t port, std::string extra_conf = {});
  ~RedisProcess();  // stop()
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  void start();              // again, same config (after kill()/stop())
  void stop();               // SIGTERM, then SIGKILL after 3 s; waits for it
  void kill();               // SIGKILL at once (a crashed master)
  bool running() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  redis::RedisAddress address() const { return {"127.0.0.1", port_}; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  uint16_t port_;
  pid_t pid_ = -1;
};

// N cluster-enabled masters joined with `redis-cli --cluster create` (no replicas).
class RedisClusterProcesses {
 public:
  RedisClusterProcesses(const std::filesystem::path& dir, size_t masters = 3, std::string extra_conf = {});
  std::vector<redis::RedisAddress> addresses() const;
  RedisProcess& node(size_t i) { return *nodes_.at(i); }
  size_t size() const { return nodes_.size(); }
  // Waits (<= `wait`) until every running node reports cluster_state:ok.
  bool wait_ok(std::chrono::milliseconds wait = std::chrono::milliseconds(10000));

 private:
  std::vector<std::unique_ptr<RedisProcess>> nodes_;
};

// Runs a program with arguments, waits (bounded) and returns its exit status and stdout.
struct ProgramResult {
  int status = -1;
  std::string out;
};
ProgramResult run_program(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// A temporary directory removed with everything in it.
class TempDirectory {
 public:
  TempDirectory();
  ~TempDirectory();
  const std::filesystem::path& path() const { return p_; }

 private:
  std::filesystem::path p_;
};

}  // namespace sessnic::testing
