// `sessnic cluster up` as an operator runs it, for the CLI tests: a config on free loopback
// ports (dispatcher + up to three servers: flights, cars, hotels), the real process with
// its log in a private temp dir, and what an operator watches - the log, the child pids
// it names, the ports. Every process it starts is stopped by pid (SIGTERM, then SIGKILL);
// the children of `cluster up` die with it (PDEATHSIG).
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sessnic/ossl_ptr.hpp"

namespace sessnic::cli::testing {

struct ServerPorts {
  uint16_t tcp = 0, udp = 0;
};

// Free ports for every role, chosen together so no two are equal.
struct Layout {
  uint16_t listen = 0, metrics = 0, backplane = 0;
  std::map<std::string, ServerPorts> servers;  // flights, cars, hotels
};
Layout pick_layout();

struct ConfigOptions {
  std::vector<std::string> servers{"flights", "cars"};  // which servers, in this order
  std::string dispatcher_extra;                          // more [dispatcher] lines
  uint16_t metrics = 0;                                  // dispatcher metrics port (0: the layout's)
  std::map<std::string, std::string> server_extra;       // more lines for one [[server]]
};

// A private temp dir with a cluster key, a certificate and key, and `cluster.toml`.
class ClusterDir {
 public:
  explicit ClusterDir(Layout layout);
  ~ClusterDir();
  ClusterDir(const ClusterDir&) = delete;
  ClusterDir& operator=(const ClusterDir&) = delete;
  void write_config(const ConfigOptions& opt) const;  // (re)writes cluster.toml
  void write_raw_config(const std::string& text) const;
  std::filesystem::path config() const { return dir_ / "cluster.toml"; }
  const std::filesystem::path& cert() const { return cert_; }
  const std::filesystem::path& dir() const { return dir_; }
  const Layout& layout() const { return layout_; }

 private:
  std::filesystem::path dir_, cert_, key_;
  Layout layout_;
};

class ClusterUp {
 public:
  ClusterUp(const ClusterDir& dir, std::vector<std::string> extra_args = {});
  ~ClusterUp();  // SIGTERM, SIGKILL after 20 s
  ClusterUp(const ClusterUp&) = delete;
  ClusterUp& operator=(const ClusterUp&) = delete;

  pid_t pid() const { return pid_; }
  std::string log() const;
  size_t count(const std::string& needle) const;  // occurrences in the log
  // Waits until the log holds `needle` at least `n` times.
  bool wait_log(const std::string& needle, std::chrono::milliseconds timeout, size_t n = 1) const;
  // The pid of the n-th (1-based) start of a child ("server cars", "dispatcher"), from
  // its "started (pid N)" line; -1 if there is none.
  pid_t child_pid(const std::string& child, size_t nth = 1) const;
  // The wait status once `cluster up` has exited, nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::filesystem::path log_;
};

// Runs a shell command line; its exit code and stdout + stderr.
struct CommandResult {
  int rc = -1;
  std::string out;
};
CommandResult run_shell(const std::string& command);

bool port_accepts(uint16_t port);
bool alive(pid_t pid);  // running (not a zombie)

// One TLS connection to 127.0.0.1:port with SNI, certificate not verified (test cert).
class TlsConnection {
 public:
  TlsConnection(uint16_t port, const std::string& sni);  // connects and handshakes; ok() tells
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;
  bool ok() const { return ok_; }
  // Sends a GET with Connection: close and returns everything read until the close
  // ("" on failure).
  std::string get(const std::string& path);

 private:
  int fd_ = -1;
  SslCtxPtr ctx_;
  SslPtr ssl_;
  bool ok_ = false;
};

// GET https://sni/path through 127.0.0.1:port; the response, or "" on failure.
std::string https_get(uint16_t port, const std::string& sni, const std::string& path);
// Retries https_get until the response names `server` (X-Sessnic-Server) or the timeout.
bool served_by(uint16_t port, const std::string& sni, const std::string& server, std::chrono::milliseconds timeout);

}  // namespace sessnic::cli::testing
