// The process table of `sessnic cluster up`: named children that are restarted with
// backoff when they die, stopped with SIGTERM then SIGKILL after a grace period, replaced
// (stop, then start the new command line once the old one has exited), and probed until
// they accept on their TCP port. Single-threaded: the caller reaps and ticks it from its
// signal loop (SIGCHLD, timers).
#pragma once
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backoff.hpp"
#include "cluster_config.hpp"

namespace sessnic::cli {

using Clock = std::chrono::steady_clock;

struct ChildSpec {
  std::string name;                    // "server flights", "dispatcher"
  std::vector<std::string> argv;
  std::optional<config::Endpoint> ready_on;  // serving once this TCP address accepts
  std::chrono::milliseconds stop_grace{5000};  // SIGTERM -> SIGKILL
};

class Supervisor {
 public:
  explicit Supervisor(BackoffPolicy policy) : policy_(policy) {}
  ~Supervisor();  // SIGKILLs whatever is still running (normal paths stop first)
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  void start(ChildSpec spec);                  // runs it now (throws if it cannot)
  void stop(const std::string& name);          // SIGTERM; SIGKILL after stop_grace; forgotten on exit
  void replace(ChildSpec spec);                // stop the running one; start `spec` once it has exited
  // Start `spec` now while the running one (renamed "NAME (old pid N)") is stopped: for a
  // process that drains and whose successor can bind next to it (SO_REUSEPORT). A successor
  // that cannot bind yet exits and is restarted with backoff.
  void takeover(ChildSpec spec);
  std::vector<std::string> names_starting_with(const std::string& prefix) const;
  void signal(const std::string& name, int sig);
  bool ready(const std::string& name) const;   // running, accepting on ready_on, not being stopped
  bool has(const std::string& name) const { return children_.count(name) != 0; }
  pid_t pid(const std::string& name) const;

  void reap();         // collects exits (call on SIGCHLD); schedules restarts
  void tick();         // due restarts, due SIGKILLs, readiness probes
  Clock::time_point next_wakeup() const;

  // Stops the children stage by stage: each stage's children together, all of them gone
  // (exit, or SIGKILL after their grace) before the next stage; blocks. Used for shutdown:
  // the dispatcher drains before the servers go.
  void stop_in_stages(const std::vector<std::vector<std::string>>& stages);

 private:
  struct Child {
    ChildSpec spec;
    pid_t pid = -1;                           // -1: not running
    Clock::time_point started{};
    bool ready = false;
    bool stopping = false;                    // SIGTERM sent by us: an exit is expected
    Clock::time_point kill_at{};
    std::optional<Clock::time_point> restart_at;
    std::optional<ChildSpec> replacement;     // start this after the exit (replace)
    Backoff backoff;
  };
  void launch(Child& c);
  void exited(Child& c, int status);
  Child* by_pid(pid_t pid);

  BackoffPolicy policy_;
  std::map<std::string, Child> children_;
};

}  // namespace sessnic::cli
