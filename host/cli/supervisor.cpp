#include "supervisor.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "child_process.hpp"
#include "sessnic/logging.hpp"

namespace sessnic::cli {
namespace {
using namespace std::chrono_literals;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

constexpr auto kProbeEvery = 50ms;
constexpr int kProbeTimeoutMs = 100;

bool accepts(const config::Endpoint& e) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (e.ipv6()) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(e.port);
    if (::inet_pton(AF_INET6, e.host.c_str(), &a->sin6_addr) != 1) return false;
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(e.port);
    if (::inet_pton(AF_INET, e.host.c_str(), &a->sin_addr) != 1) return false;
    len = sizeof *a;
  }
  // Non-blocking with a short bound: a wedged child whose accept backlog is full must not
  // stall the supervisor (a blocking connect would wait for SYN retransmits).
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  if (!ok && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t el = sizeof err;
    ok = ::poll(&p, 1, kProbeTimeoutMs) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0;
  }
  ::close(fd);
  return ok;
}

milliseconds ms_since(Clock::time_point t) { return duration_cast<milliseconds>(Clock::now() - t); }

}  // namespace

Supervisor::~Supervisor() {
  for (auto& [name, c] : children_)
    if (c.pid > 0) {
      ::kill(c.pid, SIGKILL);
      ::waitpid(c.pid, nullptr, 0);
    }
}

void Supervisor::launch(Child& c) {
  c.restart_at.reset();
  c.ready = false;
  c.stopping = false;
  c.pid = start_child(c.spec.argv);
  c.started = Clock::now();
  spdlog::info("{}: started (pid {})", c.spec.name, c.pid);
}

void Supervisor::start(ChildSpec spec) {
  auto name = spec.name;
  auto [it, fresh] = children_.try_emplace(name, Child{std::move(spec), -1, {}, false, false, {}, {}, {}, Backoff(policy_)});
  if (!fresh) throw std::logic_error("supervisor: " + name + " already exists");
  launch(it->second);
}

void Supervisor::stop(const std::string& name) {
  auto it = children_.find(name);
  if (it == children_.end()) return;
  Child& c = it->second;
  c.replacement.reset();
  if (c.pid <= 0) {  // waiting for a restart: just forget it
    children_.erase(it);
    return;
  }
  if (c.stopping) return;
  c.stopping = true;
  c.kill_at = Clock::now() + c.spec.stop_grace;
  ::kill(c.pid, SIGTERM);
  spdlog::info("{}: stopping (SIGTERM to pid {}; SIGKILL in {} ms)", name, c.pid, c.spec.stop_grace.count());
}

void Supervisor::replace(ChildSpec spec) {
  auto it = children_.find(spec.name);
  if (it == children_.end()) return start(std::move(spec));
  Child& c = it->second;
  if (c.pid <= 0) {  // not running (restart pending): start the new one right away
    c.spec = std::move(spec);
    launch(c);
    return;
  }
  auto name = spec.name;
  stop(name);
  children_.at(name).replacement = std::move(spec);
}

void Supervisor::takeover(ChildSpec spec) {
  auto it = children_.find(spec.name);
  if (it == children_.end() || it->second.pid <= 0) return replace(std::move(spec));
  Child old = std::move(it->second);
  children_.erase(it);
  old.replacement.reset();
  const auto old_name = fmt::format("{} (old pid {})", old.spec.name, old.pid);
  old.spec.name = old_name;
  children_.emplace(old_name, std::move(old));
  stop(old_name);
  start(std::move(spec));
}

std::vector<std::string> Supervisor::names_starting_with(const std::string& prefix) const {
  std::vector<std::string> v;
  for (auto& [name, c] : children_)
    if (name.rfind(prefix, 0) == 0) v.push_back(name);
  return v;
}

void Supervisor::signal(const std::string& name, int sig) {
  auto it = children_.find(name);
  if (it != children_.end() && it->second.pid > 0) ::kill(it->second.pid, sig);
}

bool Supervisor::ready(const std::string& name) const {
  auto it = children_.find(name);
  return it != children_.end() && it->second.pid > 0 && it->second.ready && !it->second.stopping;
}

pid_t Supervisor::pid(const std::string& name) const {
  auto it = children_.find(name);
  return it == children_.end() ? -1 : it->second.pid;
}

Supervisor::Child* Supervisor::by_pid(pid_t pid) {
  for (auto& [name, c] : children_)
    if (c.pid == pid) return &c;
  return nullptr;
}

void Supervisor::exited(Child& c, int status) {
  const auto uptime = ms_since(c.started);
  const std::string name = c.spec.name;
  c.pid = -1;
  c.ready = false;
  if (c.stopping) {
    spdlog::info("{}: {} after SIGTERM", name, describe_exit(status));
    if (c.replacement) {
      c.spec = std::move(*c.replacement);
      c.replacement.reset();
      launch(c);
    } else {
      children_.erase(name);
    }
    return;
  }
  const auto delay = c.backoff.after_exit(uptime);
  c.restart_at = Clock::now() + delay;
  if (c.backoff.at_cap())
    spdlog::error("{}: {} after {} ms up - it keeps crashing ({} exits in a row); restarting every {} ms until it stays up",
                  name, describe_exit(status), uptime.count(), c.backoff.streak(), delay.count());
  else
    spdlog::warn("{}: {} after {} ms up; restarting in {} ms (exit {} in a row)", name, describe_exit(status),
                 uptime.count(), delay.count(), c.backoff.streak());
}

void Supervisor::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    if (Child* c = by_pid(pid)) exited(*c, status);
  }
}

void Supervisor::tick() {
  const auto now = Clock::now();
  for (auto& [name, c] : children_) {
    if (c.pid <= 0 && c.restart_at && *c.restart_at <= now) {
      try {
        launch(c);
      } catch (const std::exception& e) {
        spdlog::error("{}: {}", name, e.what());
        c.restart_at = now + c.backoff.after_exit(0ms);
      }
    } else if (c.pid > 0 && c.stopping && c.kill_at <= now) {
      spdlog::error("{}: still running {} ms after SIGTERM; SIGKILL", name, c.spec.stop_grace.count());
      ::kill(c.pid, SIGKILL);
      c.kill_at = now + 1h;  // reaped on its SIGCHLD
    } else if (c.pid > 0 && !c.ready && !c.stopping && c.spec.ready_on && accepts(*c.spec.ready_on)) {
      c.ready = true;
      spdlog::info("{}: serving on {} ({} ms after start)", name, c.spec.ready_on->str(), ms_since(c.started).count());
    }
  }
}

Clock::time_point Supervisor::next_wakeup() const {
  auto next = Clock::now() + 1s;
  for (auto& [name, c] : children_) {
    if (c.pid <= 0 && c.restart_at) next = std::min(next, *c.restart_at);
    if (c.pid > 0 && c.stopping) next = std::min(next, c.kill_at);
    if (c.pid > 0 && !c.ready && !c.stopping && c.spec.ready_on) next = std::min(next, Clock::now() + kProbeEvery);
  }
  return next;
}

void Supervisor::stop_in_stages(const std::vector<std::vector<std::string>>& stages) {
  for (auto& stage : stages) {
    struct Stopping {
      std::string name;
      pid_t pid;
      Clock::time_point kill_at;
      bool done = false;
    };
    std::vector<Stopping> wait;
    for (auto& name : stage) {
      auto it = children_.find(name);
      if (it == children_.end()) continue;
      if (it->second.pid <= 0) {
        children_.erase(it);
        continue;
      }
      stop(name);
      wait.push_back({name, it->second.pid, Clock::now() + it->second.spec.stop_grace});
    }
    for (size_t left = wait.size(); left > 0;) {
      for (auto& w : wait) {
        if (w.done) continue;
        int status = 0;
        pid_t r = ::waitpid(w.pid, &status, WNOHANG);
        if (r == 0 && Clock::now() >= w.kill_at) {
          spdlog::error("{}: still running {} ms after SIGTERM; SIGKILL", w.name,
                        children_.at(w.name).spec.stop_grace.count());
          ::kill(w.pid, SIGKILL);
          r = ::waitpid(w.pid, &status, 0);
        }
        if (r == 0) continue;
        if (r == w.pid) spdlog::info("{}: {}", w.name, describe_exit(status));
        children_.erase(w.name);
        w.done = true;
        --left;
      }
      if (left > 0) std::this_thread::sleep_for(20ms);
    }
  }
}

}  // namespace sessnic::cli
