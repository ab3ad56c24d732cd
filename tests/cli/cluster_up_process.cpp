#include "cluster_up_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "sessnic/key_file.hpp"
#include "loopback.hpp"
#include "tls_test_support.hpp"

namespace sessnic::cli::testing {

using namespace std::chrono_literals;

Layout pick_layout() {
  std::vector<int> held;  // every probe socket stays bound until all ports are chosen
  auto pick = [&held](int type) {
    int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    auto a = sessnic::testing::loopback_address(0);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    held.push_back(fd);
    return ntohs(a.sin_port);
  };
  Layout l;
  l.listen = pick(SOCK_STREAM);
  l.metrics = pick(SOCK_STREAM);
  l.backplane = pick(SOCK_DGRAM);
  for (const char* name : {"flights", "cars", "hotels"}) l.servers[name] = {pick(SOCK_STREAM), pick(SOCK_DGRAM)};
  for (int fd : held) ::close(fd);
  return l;
}

ClusterDir::ClusterDir(Layout layout) : layout_(std::move(layout)) {
  char tmpl[] = "/tmp/sessnic-cli-test-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  auto pem = testtls::write_pem_files(dir_);
  cert_ = pem.cert;
  key_ = pem.key;
  generate_key_file(dir_ / "cluster.key", 1);
}

ClusterDir::~ClusterDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void ClusterDir::write_raw_config(const std::string& text) const {
  auto tmp = dir_ / "cluster.toml.new";
  std::ofstream(tmp) << text;
  std::filesystem::rename(tmp, config());  // an operator's editor replaces the file whole
}

void ClusterDir::write_config(const ConfigOptions& opt) const {
  std::string t = fmt::format(R"([cluster]
key_file = "cluster.key"
cert = "{}"
key = "{}"
session_context = "cli-test"
[backplane]
mode = "transfer"
[dispatcher]
listen = "127.0.0.1:{}"
metrics = "127.0.0.1:{}"
card = 0
backplane = "127.0.0.1:{}"
health_interval_ms = 200
{}
)",
                              cert_.string(), key_.string(), layout_.listen, opt.metrics ? opt.metrics : layout_.metrics,
                              layout_.backplane, opt.dispatcher_extra);
  int card = 0;
  for (auto& name : opt.servers) {
    auto& p = layout_.servers.at(name);
    card = name == "flights" ? 1 : name == "cars" ? 2 : 3;
    auto extra = opt.server_extra.count(name) ? opt.server_extra.at(name) : std::string();
    t += fmt::format("[[server]]\nname = \"{}\"\ncard = {}\nlisten = \"127.0.0.1:{}\"\nbackplane = \"127.0.0.1:{}\"\n"
                     "content = \"{}/examples/travel/{}\"\n{}\n",
                     name, card, p.tcp, p.udp, SESSNIC_SOURCE_DIR, name, extra);
  }
  std::string all;
  for (auto& name : opt.servers) {
    t += fmt::format("[[route]]\nsni = \"{}.travel.test\"\nservers = [\"{}\"]\n", name, name);
    all += (all.empty() ? "\"" : ", \"") + name + "\"";
  }
  t += fmt::format("[[route]]\nsni = \"www.travel.test\"\ndefault = true\nservers = [{}]\n", all);
  write_raw_config(t);
}

ClusterUp::ClusterUp(const ClusterDir& dir, std::vector<std::string> extra_args) : log_(dir.dir() / "cluster-up.log") {
  std::vector<std::string> args{SESSNIC_CLI_EXE, "cluster", "up", dir.config().string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the test process
    if (::getppid() != parent) ::_exit(127);
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
}

ClusterUp::~ClusterUp() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!wait_exit(20s)) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::optional<int> ClusterUp::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

std::string ClusterUp::log() const {
  std::ifstream in(log_);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

size_t ClusterUp::count(const std::string& needle) const {
  auto text = log();
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + needle.size())) ++n;
  return n;
}

bool ClusterUp::wait_log(const std::string& needle, std::chrono::milliseconds timeout, size_t n) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (count(needle) < n) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

pid_t ClusterUp::child_pid(const std::string& child, size_t nth) const {
  std::istringstream in(log());
  const std::string needle = " " + child + ": started (pid ";
  size_t seen = 0;
  for (std::string line; std::getline(in, line);) {
    auto p = line.find(needle);
    if (p != std::string::npos && ++seen == nth) return static_cast<pid_t>(std::stol(line.substr(p + needle.size())));
  }
  return -1;
}

CommandResult run_shell(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool port_accepts(uint16_t port) { return sessnic::testing::port_accepts(port); }

bool alive(pid_t pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  auto p = text.rfind(')');
  return p != std::string::npos && p + 2 < text.size() && text[p + 2] != 'Z';
}

TlsConnection::TlsConnection(uint16_t port, const std::string& sni) {
  fd_ = sessnic::testing::tcp_connect(port, 5s);  // every read and write is bounded
  if (fd_ < 0) return;
  ctx_.reset(SSL_CTX_new(TLS_client_method()));
  ssl_.reset(SSL_new(ctx_.get()));
  SSL_set_tlsext_host_name(ssl_.get(), sni.c_str());
  SSL_set_fd(ssl_.get(), fd_);
  ok_ = SSL_connect(ssl_.get()) == 1;
}

TlsConnection::~TlsConnection() {
  ssl_.reset();
  if (fd_ >= 0) ::close(fd_);
}

std::string TlsConnection::get(const std::string& path) {
  if (!ok_) return {};
  auto req = fmt::format("GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
  if (SSL_write(ssl_.get(), req.data(), static_cast<int>(req.size())) <= 0) return {};
  std::string out;
  char buf[4096];
  int n;
  while ((n = SSL_read(ssl_.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

std::string https_get(uint16_t port, const std::string& sni, const std::string& path) {
  TlsConnection c(port, sni);
  return c.get(path);
}

bool served_by(uint16_t port, const std::string& sni, const std::string& server, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto r = https_get(port, sni, "/book.json");
    if (r.rfind("HTTP/1.1 200", 0) == 0 && r.find("X-Sessnic-Server: " + server + "\r\n") != std::string::npos) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
}

}  // namespace sessnic::cli::testing
