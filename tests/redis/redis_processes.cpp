#include "redis_processes.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>

#include <fstream>
#include <stdexcept>
#include <thread>

#include "loopback.hpp"
#include "sessnic/redis/connection.hpp"

extern char** environ;

namespace sessnic::testing {
namespace {

using Clock = std::chrono::steady_clock;

pid_t spawn(const std::vector<std::string>& argv, int out_fd) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (out_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
  }
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
  return pid;
}

// Waits for pid up to `timeout`; true when it has exited (status in *status).
bool wait_exit(pid_t pid, std::chrono::milliseconds timeout, int* status) {
  const auto end = Clock::now() + timeout;
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      if (status) *status = st;
      return true;
    }
    if (r < 0) return true;
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool can_bind(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a = loopback_address(port);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A cluster node also listens on port + 10000 (the cluster bus): both must be free.
uint16_t free_cluster_port() {
  for (int i = 0; i < 200; ++i) {
    uint16_t p = static_cast<uint16_t>(20000 + (static_cast<unsigned>(::getpid()) * 7919u + static_cast<unsigned>(i) * 104729u +
                                                static_cast<unsigned>(Clock::now().time_since_epoch().count())) % 20000u);
    if (can_bind(p) && can_bind(static_cast<uint16_t>(p + 10000))) return p;
  }
  throw std::runtime_error("no free port pair for a cluster node");
}

bool answers_ping(uint16_t port) {
  try {
    redis::RedisOptions o;
    o.connect_timeout = std::chrono::milliseconds(200);
    o.io_timeout = std::chrono::milliseconds(500);
    redis::Connection c({"127.0.0.1", port}, o);
    auto r = c.run(redis::RespCommand{"PING"});
    // A server with requirepass answers NOAUTH: it is up all the same.
    return r.type == redis::Reply::Type::status || r.is_error();
  } catch (const redis::Unreachable&) {
    return false;
  }
}

}  // namespace

RedisProcess::RedisProcess(std::filesystem::path dir, uint16_t port, std::string extra_conf)
    : dir_(std::move(dir)), port_(port ? port : free_loopback_port(SOCK_STREAM)) {
  std::filesystem::create_directories(dir_);
  std::ofstream conf(dir_ / "redis.conf");
  conf << "bind 127.0.0.1\nport " << port_ << "\ndir " << dir_.string() << "\npidfile " << (dir_ / "redis.pid").string()
       << "\nlogfile " << (dir_ / "redis.log").string() << "\ndaemonize no\nsave \"\"\nappendonly no\nprotected-mode yes\n"
       << extra_conf << "\n";
  conf.close();
  start();
}

RedisProcess::~RedisProcess() { stop(); }

void RedisProcess::start() {
  if (pid_ > 0) return;
  pid_ = spawn({"redis-server", (dir_ / "redis.conf").string()}, -1);
  const auto end = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < end) {
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("redis-server exited at start; see " + (dir_ / "redis.log").string());
    }
    if (answers_ping(port_)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill();
  throw std::runtime_error("redis-server did not answer on port " + std::to_string(port_));
}

void RedisProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!wait_exit(pid_, std::chrono::seconds(3), nullptr)) {
    ::kill(pid_, SIGKILL);
    wait_exit(pid_, std::chrono::seconds(3), nullptr);
  }
  pid_ = -1;
}

void RedisProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_exit(pid_, std::chrono::seconds(3), nullptr);
  pid_ = -1;
}

RedisClusterProcesses::RedisClusterProcesses(const std::filesystem::path& dir, size_t masters, std::string extra_conf) {
  for (size_t i = 0; i < masters; ++i)
    nodes_.push_back(std::make_unique<RedisProcess>(
        dir / ("node" + std::to_string(i)), free_cluster_port(),
        "cluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout 2000\n"
        "cluster-require-full-coverage no\n" + extra_conf));
  std::vector<std::string> argv{"redis-cli", "--cluster", "create"};
  for (auto& n : nodes_) argv.push_back(n->address().str());
  argv.insert(argv.end(), {"--cluster-replicas", "0", "--cluster-yes"});
  auto r = run_program(argv, std::chrono::seconds(20));
  if (r.status != 0) throw std::runtime_error("redis-cli --cluster create failed: " + r.out);
  if (!wait_ok()) throw std::runtime_error("the Redis cluster did not reach cluster_state:ok");
}

std::vector<redis::RedisAddress> RedisClusterProcesses::addresses() const {
  std::vector<redis::RedisAddress> a;
  for (auto& n : nodes_) a.push_back(n->address());
  return a;
}

bool RedisClusterProcesses::wait_ok(std::chrono::milliseconds wait) {
  const auto end = Clock::now() + wait;
  while (Clock::now() < end) {
    bool all = true;
    for (auto& n : nodes_) {
      if (!n->running()) continue;
      try {
        redis::RedisOptions o;
        redis::Connection c(n->address(), o);
        auto r = c.run(redis::RespCommand{"CLUSTER", "INFO"});
        if (r.str.find("cluster_state:ok") == std::string::npos) all = false;
      } catch (const redis::Unreachable&) {
        all = false;
      }
    }
    if (all) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

ProgramResult run_program(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  char path[] = "/tmp/sessnic-redis-outXXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ProgramResult res;
  pid_t pid = spawn(argv, fd);
  int st = 0;
  if (!wait_exit(pid, timeout, &st)) {
    ::kill(pid, SIGKILL);
    wait_exit(pid, std::chrono::seconds(3), &st);
    res.status = -1;
  } else {
    res.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  ::close(fd);
  std::ifstream in(path);
  res.out.assign(std::istreambuf_iterator<char>(in), {});
  ::unlink(path);
  return res;
}

TempDirectory::TempDirectory() {
  char tmpl[] = "/tmp/sessnic-redis-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  p_ = tmpl;
}

TempDirectory::~TempDirectory() {
  std::error_code ec;
  std::filesystem::remove_all(p_, ec);
}

}  // namespace sessnic::testing
