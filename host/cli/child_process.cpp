#include "child_process.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace sessnic::cli {
namespace fs = std::filesystem;

pid_t start_child(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(fmt::format("cannot start {}: fork: {}", args[0], std::strerror(errno)));
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(126);  // the supervisor died before prctl
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the supervisor blocks signals for sigtimedwait
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {} ({})", WTERMSIG(status), ::strsignal(WTERMSIG(status)));
  return fmt::format("ended (wait status {:#x})", status);
}

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

}  // namespace sessnic::cli
