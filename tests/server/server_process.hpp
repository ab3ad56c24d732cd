// A real sessnic-server process for the tests and the bench: its own temp dir (key file,
// the test identity as certificate, content, config with one [[server]] on a free
// loopback port, no backplane), stdout/stderr to a log file, SIGTERM by PID on
// destruction (SIGKILL after 3 s) and if the parent dies.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "tls_test_support.hpp"

namespace sessnic::servertest {

struct ServerProcessOptions {
  std::string server_fields;  // extra TOML lines for the [[server]] table
  std::string tls_table;      // a [tls] table, if any
  unsigned threads = 2;        // 0: left out of the config (the server's default)
};

class ServerProcess {
 public:
  explicit ServerProcess(const ServerProcessOptions& opt = {});  // throws when it does not come up in 15 s
  ~ServerProcess();  // stop() if still running
  // SIGTERM, then waits up to `grace`: the exit status, or -1 when it had to be SIGKILLed.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  uint16_t port() const { return port_; }
  uint16_t metrics_port() const { return metrics_port_; }
  pid_t pid() const { return pid_; }
  std::string log() const;
  std::string metrics() const;  // GET /metrics body ("" when unreachable)
  // One sample's value from /metrics (e.g. "sessnic_server_connections_open"), -1 if absent.
  double metric(const std::string& sample) const;

 private:
  testtls::TempDir dir_;
  uint16_t port_ = 0, metrics_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace sessnic::servertest
