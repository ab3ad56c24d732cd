// A child process with a pipe on its stdin and stdout: started with fork/exec, told to
// finish by closing its stdin, killed if it does not exit in time. Bounded everywhere.
#pragma once
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace sessnic::backplane::test {

class ChildProcess {
 public:
  ChildProcess(const std::string& path, const std::vector<std::string>& args) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(path.c_str()));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(path.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  ~ChildProcess() { finish(std::chrono::seconds(3)); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // One line of the child's stdout, or "" after `timeout`.
  std::string read_line(std::chrono::milliseconds timeout) {
    std::string line;
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char c;
      if (::read(stdout_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line += c;
    }
    return "";
  }

  // Writes `line` and a newline to the child's stdin; false if the child is gone.
  bool write_line(const std::string& line) {
    const std::string l = line + "\n";
    return stdin_ >= 0 && ::write(stdin_, l.data(), l.size()) == static_cast<ssize_t>(l.size());
  }

  // Closes stdin (the child's signal to exit) without waiting: its last words can still be read.
  void finish_input() {
    if (stdin_ >= 0) ::close(stdin_), stdin_ = -1;
  }

  // Closes stdin (the child's signal to exit) and reaps it; SIGKILL after `grace`.
  // Returns the exit status, or -1 if it had to be killed.
  int finish(std::chrono::milliseconds grace) {
    if (pid_ <= 0) return status_;
    if (stdin_ >= 0) ::close(stdin_), stdin_ = -1;
    const auto until = std::chrono::steady_clock::now() + grace;
    int st = 0;
    while (::waitpid(pid_, &st, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &st, 0);
        st = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (stdout_ >= 0) ::close(stdout_), stdout_ = -1;
    pid_ = 0;
    status_ = st == -1 ? -1 : (WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return status_;
  }

 private:
  pid_t pid_ = 0;
  int stdin_ = -1;
  int stdout_ = -1;
  int status_ = -1;
};

}  // namespace sessnic::backplane::test
