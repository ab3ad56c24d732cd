// `sessnic cluster up CONFIG`: runs a whole cluster in the foreground - every
// sessnic-server of the config, then sessnic-dispatch - as child processes; Ctrl-C (or
// SIGTERM) stops them all, and if one of them dies the others are stopped too. Missing
// cluster key and certificate are generated (a throwaway self-signed certificate).
#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "cluster_config.hpp"
#include "sessnic/key_file.hpp"
#include "subcommand.hpp"
#include "throwaway_cert.hpp"

extern char** environ;

namespace sessnic::cli {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Child {
  std::string name;
  pid_t pid = -1;
};

// sessnic-dispatch / sessnic-server live next to `sessnic` when installed, and in
// sibling folders of the build tree; $SESSNIC_BIN_DIR and $PATH are tried too.
fs::path find_program(const std::string& name) {
  std::vector<fs::path> dirs;
  if (const char* d = std::getenv("SESSNIC_BIN_DIR")) dirs.emplace_back(d);
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec).parent_path();
  if (!ec) {
    dirs.push_back(self);
    dirs.push_back(self / ".." / "dispatch");
    dirs.push_back(self / ".." / "server");
    dirs.push_back(self / ".." / "host" / "dispatch");
    dirs.push_back(self / ".." / "host" / "server");
  }
  if (const char* p = std::getenv("PATH")) {
    std::string path = p;
    for (size_t start = 0, end; start <= path.size(); start = end + 1) {
      end = path.find(':', start);
      if (end == std::string::npos) end = path.size();
      if (end > start) dirs.emplace_back(path.substr(start, end - start));
    }
  }
  for (auto& d : dirs) {
    auto f = d / name;
    if (::access(f.c_str(), X_OK) == 0) return f.lexically_normal();
  }
  throw std::runtime_error(fmt::format("cannot find the {} program (build it, or set SESSNIC_BIN_DIR)", name));
}

pid_t spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);  // the parent blocks signals for sigwait; children must not
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error(fmt::format("cannot start {}: {}", args[0], std::strerror(rc)));
  return pid;
}

bool accepts(const config::Endpoint& e) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(e.port);
  ::inet_pton(AF_INET, e.host.c_str(), &a.sin_addr);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

bool exited(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

void stop_all(std::vector<Child>& children) {
  // Dispatcher first (it drains), then the servers.
  for (auto it = children.rbegin(); it != children.rend(); ++it)
    if (it->pid > 0) ::kill(it->pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  for (auto& c : children) {
    while (c.pid > 0) {
      int status = 0;
      pid_t r = ::waitpid(c.pid, &status, WNOHANG);
      if (r == c.pid || r < 0) {
        c.pid = -1;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(c.pid, SIGKILL);
        ::waitpid(c.pid, &status, 0);
        c.pid = -1;
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
  }
}

void ensure_material(const config::ClusterConfig& cfg) {
  std::error_code ec;
  if (!fs::exists(cfg.key_file, ec)) {
    fs::create_directories(cfg.key_file.parent_path(), ec);
    generate_key_file(cfg.key_file, 1);
    fmt::print("cluster: generated cluster key {} (mode 0600)\n", cfg.key_file.string());
  }
  if (!fs::exists(cfg.tls.cert, ec) || !fs::exists(cfg.tls.key, ec)) {
    std::vector<std::string> names;
    for (auto& r : cfg.routes)
      if (!r.sni.empty()) names.push_back(r.sni);
    names.push_back("localhost");
    write_throwaway_cert(cfg.tls.cert, cfg.tls.key, names);
    fmt::print("cluster: generated a THROWAWAY self-signed certificate {} (for trying things out only)\n",
               cfg.tls.cert.string());
  }
}

int cluster_up(const std::string& config_path, bool no_share, const std::string& policy) {
  auto cfg = config::load_cluster_config(config_path);
  ensure_material(cfg);
  auto server_exe = find_program("sessnic-server");
  auto dispatch_exe = find_program("sessnic-dispatch");

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  std::vector<Child> children;
  auto fail = [&children](const std::string& why) {
    fmt::print(stderr, "cluster: {}; stopping everything\n", why);
    stop_all(children);
    return 1;
  };
  auto wait_ready = [&children](const Child& c, const config::Endpoint& ep) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (exited(c.pid)) return false;
      if (accepts(ep)) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  };

  for (auto& s : cfg.servers) {
    children.push_back({s.name, spawn({server_exe.string(), "--config", config_path, "--name", s.name})});
    if (!wait_ready(children.back(), s.listen)) {
      children.back().pid = exited(children.back().pid) ? -1 : children.back().pid;
      return fail(fmt::format("server {} did not come up on {}", s.name, s.listen.str()));
    }
  }
  std::vector<std::string> dargs{dispatch_exe.string(), "--config", config_path};
  if (no_share) dargs.push_back("--no-share");
  if (!policy.empty()) {
    dargs.push_back("--policy");
    dargs.push_back(policy);
  }
  children.push_back({"dispatcher", spawn(dargs)});
  if (!wait_ready(children.back(), cfg.dispatcher.listen)) return fail("the dispatcher did not come up");

  fmt::print("cluster: up - {} servers behind https://{} (metrics http://{}/metrics). Ctrl-C stops all.\n",
             cfg.servers.size(), cfg.dispatcher.listen.str(), cfg.dispatcher.metrics.str());
  std::fflush(stdout);

  for (;;) {
    int sig = 0;
    sigwait(&sigs, &sig);
    if (sig == SIGCHLD) {
      for (auto& c : children) {
        int status = 0;
        if (c.pid > 0 && ::waitpid(c.pid, &status, WNOHANG) == c.pid) {
          c.pid = -1;
          return fail(fmt::format("{} exited ({})", c.name,
                                  WIFEXITED(status) ? fmt::format("status {}", WEXITSTATUS(status))
                                                    : fmt::format("signal {}", WTERMSIG(status))));
        }
      }
      continue;
    }
    fmt::print("cluster: stopping\n");
    std::fflush(stdout);
    stop_all(children);
    fmt::print("cluster: stopped\n");
    return 0;
  }
}

}  // namespace

Subcommand register_cluster(CLI::App& root) {
  auto* cluster = root.add_subcommand("cluster", "run a whole cluster (dispatcher + servers)");
  cluster->require_subcommand(1);
  auto* up = cluster->add_subcommand("up", "start every process of CONFIG in the foreground; Ctrl-C stops all");
  struct Args {
    std::string config, policy;
    bool no_share = false;
  };
  auto args = std::make_shared<Args>();
  up->add_option("config", args->config, "cluster config (TOML), e.g. examples/travel.toml")->required();
  up->add_flag("--no-share", args->no_share, "dispatcher does not transfer sessions (baseline)");
  up->add_option("--policy", args->policy, "content (default) or affinity")->check(CLI::IsMember({"content", "affinity"}));
  return {cluster, [args, up] {
            if (!up->parsed()) return 1;
            return cluster_up(args->config, args->no_share, args->policy);
          }};
}

}  // namespace sessnic::cli
