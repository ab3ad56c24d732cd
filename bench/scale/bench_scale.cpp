// bench_scale: what an idle backplane mesh costs. For n = 3, 10, 20, 50: n sessnic-server
// processes on loopback (one I/O thread each, model cards, every one a backplane member
// in replicate mode - the mode whose mesh is complete), left idle until every node has
// heard every other, then the CPU time of all of them (utime + stime from /proc/<pid>/stat)
// over a measured window, as percent of one core:
//
//   scale_idle_cpu_pct_<n>   (goal: <= 5 for 20 servers)
//
// Writes $SESSNIC_BENCH_PARTS/scale.json when that variable is set.
#include <fmt/format.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "loopback.hpp"
#include "sessnic/key_file.hpp"
#include "tls_test_support.hpp"

using namespace std::chrono_literals;

namespace {

// utime + stime of a process, in clock ticks; -1 when it is gone.
long long cpu_ticks(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string s;
  if (!std::getline(in, s)) return -1;
  auto close = s.rfind(')');  // the command name may contain spaces
  std::istringstream rest(s.substr(close + 2));
  std::string f;
  long long utime = 0, stime = 0;
  for (int field = 3; rest >> f; ++field) {
    if (field == 14) utime = std::stoll(f);
    if (field == 15) {
      stime = std::stoll(f);
      break;
    }
  }
  return utime + stime;
}

pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    FILE* f = std::fopen(log.c_str(), "w");
    if (f) {
      ::dup2(fileno(f), 1);
      ::dup2(fileno(f), 2);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

void stop(const std::vector<pid_t>& pids) {
  for (pid_t p : pids) ::kill(p, SIGTERM);
  const auto end = std::chrono::steady_clock::now() + 5s;
  for (pid_t p : pids) {
    int st = 0;
    while (::waitpid(p, &st, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > end) {
        ::kill(p, SIGKILL);
        ::waitpid(p, &st, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
  }
}

// Idle CPU of n servers in percent of one core, or a negative number when they did not start.
double idle_cpu_pct(const std::filesystem::path& dir, size_t n, std::chrono::seconds window) {
  std::vector<uint16_t> tcp, udp;
  for (size_t i = 0; i < n; ++i) {
    tcp.push_back(sessnic::testing::free_loopback_port(SOCK_STREAM));
    udp.push_back(sessnic::testing::free_loopback_port(SOCK_DGRAM));
  }
  std::string toml = fmt::format(
      "[cluster]\nkey_file = \"cluster.key\"\ncert = \"cert.pem\"\nkey = \"key.pem\"\n[backplane]\nmode = \"replicate\"\n");
  for (size_t i = 0; i < n; ++i)
    toml += fmt::format(
        "[[server]]\nname = \"s{}\"\ncard = {}\nlisten = \"127.0.0.1:{}\"\nbackplane = \"127.0.0.1:{}\"\n"
        "content = \"{}/examples/travel/flights\"\nthreads = 1\n",
        i, i + 1, tcp[i], udp[i], SESSNIC_SOURCE_DIR);
  toml += "[[route]]\ndefault = true\nservers = [\"s0\"]\n";
  const auto config = dir / fmt::format("scale{}.toml", n);
  std::ofstream(config) << toml;
  std::vector<pid_t> pids;
  for (size_t i = 0; i < n; ++i)
    pids.push_back(spawn({SESSNIC_SERVER_EXE, "--config", config.string(), "--name", fmt::format("s{}", i), "--log-level", "warn"},
                         (dir / fmt::format("s{}-{}.log", n, i)).string()));
  bool up = false;
  for (auto end = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < end && !up;) {
    up = true;
    for (uint16_t p : tcp) up = up && sessnic::testing::port_accepts(p);
    if (!up) std::this_thread::sleep_for(50ms);
  }
  if (!up) {
    stop(pids);
    return -1;
  }
  std::this_thread::sleep_for(3s);  // every node hears every other; start-up work is over
  std::vector<long long> before;
  for (pid_t p : pids) before.push_back(cpu_ticks(p));
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(window);
  long long ticks = 0;
  for (size_t i = 0; i < pids.size(); ++i) {
    long long now = cpu_ticks(pids[i]);
    if (now < 0 || before[i] < 0) {
      stop(pids);
      return -1;
    }
    ticks += now - before[i];
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop(pids);
  return 100.0 * (static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK))) / secs;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes{3, 10, 20, 50};
  if (argc > 1) {
    sizes.clear();
    for (int i = 1; i < argc; ++i) sizes.push_back(static_cast<size_t>(std::atoi(argv[i])));
  }
  char tmpl[] = "/tmp/sessnic-scale-XXXXXX";
  if (!::mkdtemp(tmpl)) return 1;
  const std::filesystem::path dir = tmpl;
  sessnic::testtls::write_pem_files(dir);
  sessnic::generate_key_file(dir / "cluster.key", 1);
  std::string json;
  for (size_t n : sizes) {
    const double pct = idle_cpu_pct(dir, n, 5s);
    fmt::print("scale_idle_cpu_pct_{} {:.2f}\n", n, pct);
    json += fmt::format("{}\"scale_idle_cpu_pct_{}\": {:.3f}", json.empty() ? "" : ", ", n, pct);
  }
  if (const char* parts = std::getenv("SESSNIC_BENCH_PARTS")) std::ofstream(std::string(parts) + "/scale.json") << "{" << json << "}\n";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
