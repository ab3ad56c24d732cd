// A real TCP echo server on 127.0.0.1 for the proxy tests: counts connections and echoes
// every byte back, so a client sees exactly what the dispatcher forwarded (PROXY v2
// header + ClientHello + whatever followed).
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace sessnic::dispatch::testing {

// A listening TCP socket on 127.0.0.1, on a port the kernel picks (stored in `port`).
inline int listen_on_loopback(uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(fd, 64);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

class EchoBackend {
 public:
  EchoBackend() {
    fd_ = listen_on_loopback(port_);
    thread_ = std::thread([this] { run(); });
  }
  ~EchoBackend() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
    std::lock_guard lock(mu_);
    for (auto& t : conns_) t.join();
  }
  uint16_t port() const { return port_; }
  // Stops listening: new connections are refused (a dead server, for health checks).
  void stop_listening() { ::shutdown(fd_, SHUT_RDWR); }
  int connections() const { return connections_; }

 private:
  void run() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      connections_++;
      std::lock_guard lock(mu_);
      conns_.emplace_back([c] {
        char buf[4096];
        ssize_t n;
        while ((n = ::recv(c, buf, sizeof buf, 0)) > 0)
          if (::send(c, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
        ::close(c);
      });
    }
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
};

}  // namespace sessnic::dispatch::testing
