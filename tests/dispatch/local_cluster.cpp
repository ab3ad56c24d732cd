#include "local_cluster.hpp"

#include "loopback.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "sessnic/key_file.hpp"
#include "tls_test_support.hpp"

namespace sessnic::dispatch::testing {
namespace {
using namespace std::chrono_literals;

}  // namespace

uint16_t free_tcp_port() { return sessnic::testing::free_loopback_port(SOCK_STREAM); }
bool port_accepts(uint16_t port) { return sessnic::testing::port_accepts(port); }
uint16_t free_udp_port() { return sessnic::testing::free_loopback_port(SOCK_DGRAM); }

std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

pid_t LocalCluster::spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  auto log_path = (dir / log).string();
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    // Child: die with the test process (crash, timeout kill), log to a file.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pids_.push_back(pid);
  return pid;
}

LocalCluster::LocalCluster(LocalClusterOptions opt) {
  char tmpl[] = "/tmp/sessnic-dispatch-test-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir = tmpl;
  auto pem = testtls::write_pem_files(dir);
  generate_key_file(dir / "cluster.key", 1);
  for (int attempt = 1;; ++attempt) {
    try {
      start(opt, pem.cert, pem.key);
      return;
    } catch (const std::exception&) {
      stop_all();
      if (attempt == 3) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
        throw;
      }
    }
  }
}

void LocalCluster::start(const LocalClusterOptions& opt, const std::filesystem::path& cert_path,
                         const std::filesystem::path& key_path) {
  server_ports.clear();
  cluster_up_pid = -1;
  // All ports at once, each probe socket held open until every port is chosen, so no
  // two roles get the same port.
  std::vector<int> held;
  auto pick = [&held](int type) {
    int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    held.push_back(fd);
    return ntohs(a.sin_port);
  };
  port_on = pick(SOCK_STREAM);
  port_off = pick(SOCK_STREAM);
  metrics_on = pick(SOCK_STREAM);
  metrics_off = pick(SOCK_STREAM);
  std::vector<std::string> names{"flights", "cars", "hotels"};
  std::vector<uint16_t> udp;
  for (size_t i = 0; i <= names.size(); ++i) udp.push_back(pick(SOCK_DGRAM));
  for (size_t i = 0; i < names.size(); ++i) server_ports.push_back(pick(SOCK_STREAM));
  if (opt.server_metrics)
    for (size_t i = 0; i < names.size(); ++i) server_metrics_ports.push_back(pick(SOCK_STREAM));
  for (int fd : held) ::close(fd);

  std::string toml = fmt::format(R"([cluster]
key_file = "cluster.key"
cert = "{}"
key = "{}"
session_context = "travel-test"
[backplane]
mode = "{}"
[dispatcher]
listen = "127.0.0.1:{}"
metrics = "127.0.0.1:{}"
card = 0
backplane = "127.0.0.1:{}"
policy = "{}"
transfer_deadline_us = 20000
pull_deadline_us = 50000
early_move = {}
health_interval_ms = 500
)",
                                 cert_path.string(), key_path.string(), opt.mode, port_on, metrics_on, udp[0], opt.policy,
                                 opt.early_move ? "true" : "false");
  for (size_t i = 0; i < names.size(); ++i) {
    toml += fmt::format(R"([[server]]
name = "{}"
card = {}
listen = "127.0.0.1:{}"
backplane = "127.0.0.1:{}"
content = "{}/examples/travel/{}"
proxy_protocol = {}
session_pull = {}
threads = {}
)",
                        names[i], i + 1, server_ports[i], udp[i + 1], SESSNIC_SOURCE_DIR, names[i],
                        opt.proxy_protocol ? "true" : "false", opt.session_pull ? "true" : "false",
                        opt.server_threads);
    if (opt.server_metrics) toml += fmt::format("metrics = \"127.0.0.1:{}\"\n", server_metrics_ports[i]);
    if (opt.pull_spin_us) toml += fmt::format("pull_spin_us = {}\n", *opt.pull_spin_us);
  }
  for (auto& n : names) toml += fmt::format("[[route]]\nsni = \"{}.travel.test\"\nservers = [\"{}\"]\n", n, n);
  toml += "[[route]]\nsni = \"www.travel.test\"\ndefault = true\nservers = [\"flights\", \"cars\", \"hotels\"]\n";
  toml += opt.extra_config;
  config = dir / "cluster.toml";
  std::ofstream(config) << toml;

  if (!opt.via_cluster_up)
    for (size_t i = 0; i < names.size(); ++i)
      spawn({SESSNIC_SERVER_EXE, "--config", config.string(), "--name", names[i]}, names[i] + ".log");
  auto deadline = std::chrono::steady_clock::now() + 15s;
  auto wait_for = [&](const std::vector<uint16_t>& ports) {
    for (uint16_t p : ports) {
      while (!port_accepts(p)) {
        for (auto it = pids_.begin(); it != pids_.end(); ++it) {
          int status = 0;
          if (::waitpid(*it, &status, WNOHANG) == *it) {  // e.g. lost a port race: bind failed
            pids_.erase(it);  // reaped: never signal that pid again
            throw std::runtime_error(fmt::format("a cluster process exited early:\n{}", logs()));
          }
        }
        if (std::chrono::steady_clock::now() > deadline)
          throw std::runtime_error(fmt::format("cluster did not come up (port {}):\n{}", p, logs()));
        std::this_thread::sleep_for(20ms);
      }
    }
  };
  if (opt.via_cluster_up) {
    cluster_up_pid = spawn({SESSNIC_CLI_EXE, "cluster", "up", config.string()}, "cluster-up.log");
    wait_for(server_ports);
  } else {
    wait_for(server_ports);  // servers first, as `sessnic cluster up` does
    wait_for(server_metrics_ports);
    dispatch_on_pid = spawn({SESSNIC_DISPATCH_EXE, "--config", config.string()}, "dispatch-on.log");
  }
  std::vector<std::string> off{SESSNIC_DISPATCH_EXE, "--config",  config.string(),
                               "--no-share",         "--listen",  fmt::format("127.0.0.1:{}", port_off),
                               "--metrics",          fmt::format("127.0.0.1:{}", metrics_off)};
  off.insert(off.end(), opt.off_args.begin(), opt.off_args.end());
  spawn(off, "dispatch-off.log");
  wait_for({port_on, port_off, metrics_on, metrics_off});
}

pid_t LocalCluster::spawn_dispatcher(const std::string& log) {
  return spawn({SESSNIC_DISPATCH_EXE, "--config", config.string()}, log);
}

bool LocalCluster::wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      std::erase(pids_, pid);
      return true;
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

LocalCluster::~LocalCluster() {
  stop_all();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

void LocalCluster::stop_all() {
  for (pid_t p : pids_) ::kill(p, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + 3s;
  for (pid_t p : pids_) {
    int status = 0;
    while (::waitpid(p, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(p, SIGKILL);
        ::waitpid(p, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
  }
  pids_.clear();
}

std::string LocalCluster::server_metrics(size_t server) const {
  return sessnic::testing::http_get_response(server_metrics_ports.at(server), "/metrics");
}

std::string LocalCluster::metrics(bool sharing_on) const { return sessnic::testing::http_get_response(sharing_on ? metrics_on : metrics_off, "/metrics"); }

std::string LocalCluster::logs() const {
  std::string all;
  for (auto& f : {"flights.log", "cars.log", "hotels.log", "dispatch-on.log", "dispatch-off.log", "cluster-up.log",
                 "dispatch-next.log"}) {
    std::ifstream in(dir / f);
    all += fmt::format("--- {}\n{}", f, std::string(std::istreambuf_iterator<char>(in), {}));
  }
  return all;
}

}  // namespace sessnic::dispatch::testing
