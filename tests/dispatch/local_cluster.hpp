// A real sessnic cluster on loopback for end-to-end tests and the bench: three
// sessnic-server processes (flights, cars, hotels; model cards on the UDP backplane, PROXY
// v2 on) and two sessnic-dispatch processes over the same servers - one sharing sessions,
// one with --no-share - so a baseline and the real thing can be compared side by side.
// Ports are picked free (all distinct; a start that loses a port race to another process
// is torn down and retried); key, certificate and config live in a private temp dir.
// Every process gets SIGTERM if the test process dies, so nothing outlives a crash.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sessnic::dispatch::testing {

struct LocalClusterOptions {
  std::string mode = "transfer";
  bool proxy_protocol = true;
  // Servers take the dispatcher's pull hint (`session_pull = true`) instead of a transfer.
  bool session_pull = false;
  // ... and the dispatcher moves the session toward them at the hello (`early_move`).
  bool early_move = false;
  std::string policy = "content";
  // Start servers + the sharing dispatcher with `sessnic cluster up` (as a user would)
  // instead of one by one.
  bool via_cluster_up = false;
  // TOML appended to the generated config (e.g. a [redis] table).
  std::string extra_config;
  // More command-line arguments for the no-share dispatcher (e.g. "--warm-connections", "0").
  std::vector<std::string> off_args;
  // Give every server a metrics endpoint (`metrics`, in server_metrics_ports).
  bool server_metrics = false;
  // The servers' `pull_spin_us` (with session_pull); unset: the default.
  std::optional<int> pull_spin_us;
  // Each server's I/O threads (`threads`).
  int server_threads = 4;
};

class LocalCluster {
 public:
  explicit LocalCluster(LocalClusterOptions opt = {});
  ~LocalCluster();  // SIGTERM to every process, SIGKILL after 3 s; removes the temp dir
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  uint16_t port_on = 0, port_off = 0;        // dispatchers (sharing on / off)
  uint16_t metrics_on = 0, metrics_off = 0;  // their metrics endpoints
  std::vector<uint16_t> server_ports;        // flights, cars, hotels (direct, PROXY v2 required)
  std::vector<uint16_t> server_metrics_ports;  // theirs, when LocalClusterOptions::server_metrics
  std::filesystem::path dir, config;

  pid_t cluster_up_pid = -1;                 // when via_cluster_up
  pid_t dispatch_on_pid = -1;                // the sharing dispatcher (unless via_cluster_up)

  // Starts one more sessnic-dispatch on the cluster config (e.g. a successor while the
  // first one drains); stopped with the rest. Its output goes to `log` in dir.
  pid_t spawn_dispatcher(const std::string& log);
  // Waits up to `timeout` for one of this cluster's processes to exit; reaps it (it is
  // never signalled again) and returns true if it did.
  bool wait_exit(pid_t pid, std::chrono::milliseconds timeout);

  std::string metrics(bool sharing_on) const;  // GET /metrics
  std::string server_metrics(size_t server) const;  // GET /metrics of server_ports[server]
  std::string logs() const;                    // every process's output, for failure messages

 private:
  void start(const LocalClusterOptions& opt, const std::filesystem::path& cert, const std::filesystem::path& key);
  void stop_all();
  pid_t spawn(const std::vector<std::string>& args, const std::string& log);
  std::vector<pid_t> pids_;
};

bool port_accepts(uint16_t port);
uint16_t free_tcp_port();
uint16_t free_udp_port();
// Runs a shell command, returns its stdout (stderr merged when merge_stderr).
std::string run_command(const std::string& cmd);

}  // namespace sessnic::dispatch::testing
