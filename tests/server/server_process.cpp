#include "server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "https_test_client.hpp"
#include "sessnic/key_file.hpp"

namespace sessnic::servertest {
namespace {

using namespace std::chrono_literals;

}  // namespace

ServerProcess::ServerProcess(const ServerProcessOptions& opt) {
  auto pem = testtls::write_pem_files(dir_.path());
  generate_key_file(dir_.path() / "cluster.key", 1);
  std::filesystem::create_directories(dir_.path() / "content");
  std::ofstream(dir_.path() / "content" / "index.html") << "<h1>sessnic</h1>\n";
  port_ = sessnic::testing::free_loopback_port(SOCK_STREAM);
  metrics_port_ = sessnic::testing::free_loopback_port(SOCK_STREAM);
  std::string toml = fmt::format(R"([cluster]
key_file = "cluster.key"
cert = "{}"
key = "{}"
session_context = "server-process"
{}
[[server]]
name = "solo"
card = 1
listen = "127.0.0.1:{}"
metrics = "127.0.0.1:{}"
content = "content"
{}
{}
[[route]]
default = true
servers = ["solo"]
)",
                                 pem.cert.string(), pem.key.string(), opt.tls_table, port_, metrics_port_,
                                 opt.threads == 0 ? std::string() : fmt::format("threads = {}", opt.threads),
                                 opt.server_fields);
  auto config = dir_.path() / "cluster.toml";
  std::ofstream(config) << toml;
  auto log_path = dir_.path() / "server.log";

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::string exe = SESSNIC_SERVER_EXE, cfg = config.string();
    std::vector<char*> argv{exe.data(), const_cast<char*>("--config"), cfg.data(), const_cast<char*>("--name"),
                            const_cast<char*>("solo"), nullptr};
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("sessnic-server exited at start:\n" + log());
    }
    if (int fd = tcp_connect(metrics_port_, 200ms); fd >= 0) {
      ::close(fd);
      if (int fd2 = tcp_connect(port_, 200ms); fd2 >= 0) {
        ::close(fd2);
        return;
      }
    }
    std::this_thread::sleep_for(20ms);
  }
  throw std::runtime_error("sessnic-server did not come up in 15 s:\n" + log());
}

ServerProcess::~ServerProcess() { stop(); }

int ServerProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  int status = 0, result = -1;
  for (;;) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      result = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  pid_ = -1;
  return result;
}

std::string ServerProcess::log() const {
  std::ifstream f(dir_.path() / "server.log");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string ServerProcess::metrics() const { return sessnic::testing::http_get_body(metrics_port_, "/metrics"); }

double ServerProcess::metric(const std::string& sample) const {
  std::istringstream in(metrics());
  std::string line;
  while (std::getline(in, line))
    if (line.size() > sample.size() && line.compare(0, sample.size(), sample) == 0 && line[sample.size()] == ' ')
      return std::stod(line.substr(sample.size() + 1));
  return -1;
}

}  // namespace sessnic::servertest
