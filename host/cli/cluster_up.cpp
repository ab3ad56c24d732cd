// `sessnic cluster up CONFIG`: runs a whole cluster in the foreground - every
// sessnic-server of the config, then sessnic-dispatch - as supervised child processes.
//   - a child that dies is restarted with exponential backoff; the others keep running;
//   - SIGHUP re-reads CONFIG: added servers start, removed ones stop, changed ones are
//     restarted one at a time, and the dispatcher gets SIGHUP (it reloads routes and
//     servers itself) - or, when its sockets, card or the cluster key changed, a new
//     dispatcher takes over while the old one drains;
//   - SIGTERM / SIGINT: the dispatcher drains (SIGKILL only after its drain_timeout_ms plus
//     a margin), then the servers stop.
// A missing cluster key is generated; a missing certificate only when the config says
// throwaway_cert = true (a self-signed one, for trying things out).
#include <CLI/CLI.hpp>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <thread>

#include "backoff.hpp"
#include "child_process.hpp"
#include "cluster_config.hpp"
#include "sessnic/key_file.hpp"
#include "sessnic/logging.hpp"
#include "sessnic/process_start.hpp"
#include "subcommand.hpp"
#include "supervisor.hpp"
#include "throwaway_cert.hpp"

namespace sessnic::cli {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

// After SIGTERM a child gets this long beyond its own drain before SIGKILL.
constexpr milliseconds kStopMargin = 3000ms;
// A server has no drain setting: this long after SIGTERM, then SIGKILL.
constexpr milliseconds kServerStopGrace = 5000ms;
// A rolling restart waits this long for a replaced server to serve before the next one.
constexpr milliseconds kRollingStepTimeout = 15000ms;
constexpr milliseconds kStartTimeout = 10000ms;
const std::string kDispatcher = "dispatcher";

struct UpOptions {
  std::string config, policy, log_level;
  bool no_share = false;
  BackoffPolicy backoff;
};

void ensure_material(const config::ClusterConfig& cfg) {
  std::error_code ec;
  if (!fs::exists(cfg.key_file, ec)) {
    fs::create_directories(cfg.key_file.parent_path(), ec);
    generate_key_file(cfg.key_file, 1);
    spdlog::info("generated cluster key {} (mode 0600)", cfg.key_file.string());
  }
  if (cfg.tls.throwaway_cert && (!fs::exists(cfg.tls.cert, ec) || !fs::exists(cfg.tls.key, ec))) {
    std::vector<std::string> names;
    for (auto& r : cfg.routes)
      if (!r.sni.empty()) names.push_back(r.sni);
    names.push_back("localhost");
    write_throwaway_cert(cfg.tls.cert, cfg.tls.key, names);
    spdlog::warn("generated a THROWAWAY self-signed certificate {} (throwaway_cert = true; for trying things out only)",
                 cfg.tls.cert.string());
  }
}

std::string server_child(const std::string& name) { return "server " + name; }

// Every card's backplane address: each node's peer list is built from it.
std::vector<std::pair<int, std::string>> backplane_peers(const config::ClusterConfig& c) {
  std::vector<std::pair<int, std::string>> v{{c.dispatcher.card, c.dispatcher.backplane ? c.dispatcher.backplane->str() : ""}};
  for (auto& s : c.servers) v.emplace_back(s.card, s.backplane ? s.backplane->str() : "");
  return v;
}

// When the files read at start were last written (certificate, private key, cluster key -
// in this order): a renewed certificate or a rotated cluster key under the same name
// restarts the servers on SIGHUP (and the dispatcher, for the cluster key).
std::vector<fs::file_time_type> material_stamp(const config::ClusterConfig& c) {
  std::vector<fs::file_time_type> v;
  for (auto& f : {c.tls.cert, c.tls.key, c.key_file}) {
    std::error_code ec;
    v.push_back(fs::last_write_time(f, ec));
  }
  return v;
}

// A running server must restart when anything it read at start changed: its own section,
// the TLS material and session settings, the cluster key, the backplane mode or peers.
bool server_changed(const config::ClusterConfig& a, const config::ClusterConfig& b, const std::string& name) {
  const auto* sa = a.find_server(name);
  const auto* sb = b.find_server(name);
  return !(*sa == *sb) || !(a.tls == b.tls) || a.key_file != b.key_file || !(a.backplane == b.backplane) ||
         backplane_peers(a) != backplane_peers(b);
}

// What a running dispatcher cannot take over by reloading: its sockets and its card.
bool dispatcher_needs_restart(const config::DispatcherConfig& a, const config::DispatcherConfig& b) {
  return !(a.listen == b.listen) || !(a.metrics == b.metrics) || a.card != b.card || a.backplane != b.backplane;
}

class Cluster {
 public:
  Cluster(UpOptions opt, config::ClusterConfig cfg)
      : opt_(std::move(opt)),
        cfg_(std::move(cfg)),
        server_exe_(find_program("sessnic-server")),
        dispatch_exe_(find_program("sessnic-dispatch")),
        sup_(opt_.backoff),
        stamp_(material_stamp(cfg_)) {}

  int run() {
    const SignalSet sigs{SIGINT, SIGTERM, SIGHUP, SIGCHLD};

    // Servers first (the dispatcher health-checks them), each serving before the next.
    for (auto& s : cfg_.servers)
      if (!start_and_wait(server_spec(s))) return stop_everything(1);
    if (!start_and_wait(dispatcher_spec())) return stop_everything(1);
    spdlog::info("up - {} servers behind https://{} (metrics http://{}/metrics). Ctrl-C stops all; SIGHUP reloads {}",
                 cfg_.servers.size(), cfg_.dispatcher.listen.str(), cfg_.dispatcher.metrics.str(), opt_.config);

    for (;;) {
      auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(sup_.next_wakeup() - Clock::now());
      if (rolling_now_ || !rolling_.empty()) wait = std::min<std::chrono::nanoseconds>(wait, 50ms);
      wait = std::max<std::chrono::nanoseconds>(wait, 1ms);
      const int sig = sigs.wait_for(wait);
      sup_.reap();
      if (sig == SIGINT || sig == SIGTERM) {
        spdlog::info("{}: draining - dispatcher first (up to {} ms + {} ms), then the servers", sig == SIGINT ? "SIGINT" : "SIGTERM",
                     cfg_.dispatcher.drain_timeout.count(), kStopMargin.count());
        return stop_everything(0);
      }
      if (sig == SIGHUP) reload();
      sup_.tick();
      roll();
    }
  }

 private:
  ChildSpec server_spec(const config::ServerConfig& s) const {
    return {server_child(s.name), {server_exe_.string(), "--config", opt_.config, "--name", s.name}, s.listen, kServerStopGrace};
  }

  ChildSpec dispatcher_spec() const {
    std::vector<std::string> argv{dispatch_exe_.string(), "--config", opt_.config};
    if (opt_.no_share) argv.push_back("--no-share");
    if (!opt_.policy.empty()) {
      argv.push_back("--policy");
      argv.push_back(opt_.policy);
    }
    return {kDispatcher, argv, cfg_.dispatcher.listen, cfg_.dispatcher.drain_timeout + kStopMargin};
  }

  // At start a child that does not come up is a configuration problem: stop, do not loop.
  bool start_and_wait(ChildSpec spec) {
    auto name = spec.name;
    auto where = spec.ready_on ? spec.ready_on->str() : std::string("?");
    sup_.start(std::move(spec));
    const auto deadline = Clock::now() + kStartTimeout;
    while (Clock::now() < deadline) {
      sup_.reap();
      if (sup_.pid(name) <= 0) {
        spdlog::error("{} did not start (see its messages above); stopping everything", name);
        return false;
      }
      sup_.tick();
      if (sup_.ready(name)) return true;
      std::this_thread::sleep_for(20ms);
    }
    spdlog::error("{} is not serving on {} after {} ms; stopping everything", name, where, kStartTimeout.count());
    return false;
  }

  int stop_everything(int rc) {
    std::vector<std::string> servers = retired_;
    for (auto& s : cfg_.servers)
      if (std::find(servers.begin(), servers.end(), server_child(s.name)) == servers.end())
        servers.push_back(server_child(s.name));
    sup_.stop_in_stages({sup_.names_starting_with(kDispatcher), servers});
    spdlog::info("stopped");
    return rc;
  }

  void reload() {
    spdlog::info("SIGHUP: reloading {}", opt_.config);
    config::ClusterConfig next;
    try {
      next = config::load_cluster_config(opt_.config);
      ensure_material(next);
    } catch (const std::exception& e) {
      spdlog::error("reload failed, still running the previous config: {}", e.what());
      return;
    }
    auto prev = std::move(cfg_);
    cfg_ = std::move(next);
    auto stamp = material_stamp(cfg_);
    const bool material_rewritten = stamp != stamp_;
    const bool cluster_key_changed = stamp[2] != stamp_[2] || prev.key_file != cfg_.key_file;  // backplane frame keys
    stamp_ = std::move(stamp);
    if (material_rewritten) spdlog::info("reload: certificate, private key or cluster key file rewritten");
    // Added servers start now, so the dispatcher finds them when it reloads.
    for (auto& s : cfg_.servers)
      if (!prev.find_server(s.name)) {
        spdlog::info("reload: server {} added", s.name);
        rolling_.erase(std::remove_if(rolling_.begin(), rolling_.end(), [&](auto& n) { return n == s.name; }), rolling_.end());
        if (sup_.has(server_child(s.name))) sup_.replace(server_spec(s));  // still stopping from an earlier removal
        else sup_.start(server_spec(s));
      }
    for (auto& s : cfg_.servers)
      if (prev.find_server(s.name) && (material_rewritten || server_changed(prev, cfg_, s.name))) {
        spdlog::info("reload: server {} changed; rolling restart", s.name);
        if (std::find(rolling_.begin(), rolling_.end(), s.name) == rolling_.end()) rolling_.push_back(s.name);
      }
    if (cluster_key_changed || dispatcher_needs_restart(prev.dispatcher, cfg_.dispatcher)) {
      spdlog::info("reload: the cluster key or the dispatcher's listen, metrics, card or backplane changed; a new "
                   "dispatcher takes over while the old one drains");
      sup_.takeover(dispatcher_spec());
    } else {
      spdlog::info("reload: SIGHUP to the dispatcher (routes and servers)");
      sup_.signal(kDispatcher, SIGHUP);
    }
    for (auto& s : prev.servers)
      if (!cfg_.find_server(s.name)) {
        spdlog::info("reload: server {} removed", s.name);
        rolling_.erase(std::remove_if(rolling_.begin(), rolling_.end(), [&](auto& n) { return n == s.name; }), rolling_.end());
        sup_.stop(server_child(s.name));
        retired_.push_back(server_child(s.name));
      }
  }

  // One changed server at a time: the next restarts when the previous one serves again
  // (or after kRollingStepTimeout, so one broken server does not hold up the others).
  void roll() {
    if (rolling_now_) {
      const bool done = sup_.ready(server_child(*rolling_now_)) || !cfg_.find_server(*rolling_now_);
      if (!done && Clock::now() < step_deadline_) return;
      if (!done) spdlog::warn("reload: server {} is not serving yet; going on with the next", *rolling_now_);
      rolling_now_.reset();
    }
    if (rolling_.empty()) return;
    auto name = rolling_.front();
    rolling_.pop_front();
    if (const auto* s = cfg_.find_server(name)) {
      sup_.replace(server_spec(*s));
      rolling_now_ = name;
      step_deadline_ = Clock::now() + kRollingStepTimeout;
    }
  }

  UpOptions opt_;
  config::ClusterConfig cfg_;
  fs::path server_exe_, dispatch_exe_;
  Supervisor sup_;
  std::deque<std::string> rolling_;             // changed servers waiting for their restart
  std::optional<std::string> rolling_now_;      // the one restarting now
  Clock::time_point step_deadline_{};
  std::vector<std::string> retired_;            // removed servers (may still be stopping)
  std::vector<fs::file_time_type> stamp_;       // material_stamp() of the running servers' files
};

int cluster_up(const UpOptions& opt) {
  if (!start_process("sessnic-cluster", opt.log_level)) return 2;
  config::ClusterConfig cfg;
  try {
    cfg = config::load_cluster_config(opt.config);
  } catch (const config::ConfigError& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  ensure_material(cfg);
  return Cluster(opt, std::move(cfg)).run();
}

}  // namespace

Subcommand register_cluster(CLI::App& root) {
  auto* cluster = root.add_subcommand("cluster", "run a whole cluster (dispatcher + servers)");
  cluster->require_subcommand(1);
  auto* up = cluster->add_subcommand(
      "up", "start every process of CONFIG in the foreground and keep them running; SIGHUP reloads, Ctrl-C drains and stops all");
  auto opt = std::make_shared<UpOptions>();
  up->add_option("config", opt->config, "cluster config (TOML), e.g. examples/travel.toml")->required();
  up->add_flag("--no-share", opt->no_share, "dispatcher does not transfer sessions (baseline)");
  up->add_option("--policy", opt->policy, "content (default) or affinity")->check(CLI::IsMember({"content", "affinity"}));
  up->add_option("--log-level", opt->log_level, std::string("log level: ") + logging::kLevels + " (default: $SESSNIC_LOG_LEVEL or info)");
  auto* initial = up->add_option("--restart-delay-ms", "first restart delay of a crashed child (doubles per crash)")
                      ->default_val(opt->backoff.initial.count())
                      ->check(CLI::Range(1, 600000));
  auto* cap = up->add_option("--restart-delay-max-ms", "cap of the restart delay (a crash loop retries at this pace)")
                  ->default_val(opt->backoff.cap.count())
                  ->check(CLI::Range(1, 3600000));
  return {cluster, [opt, up, initial, cap] {
            if (!up->parsed()) return 1;
            opt->backoff.initial = milliseconds(initial->as<int64_t>());
            opt->backoff.cap = std::max(opt->backoff.initial, milliseconds(cap->as<int64_t>()));
            return cluster_up(*opt);
          }};
}

}  // namespace sessnic::cli
