// The backplane over UDP: one frame per datagram to a static peer list, batched with
// sendmmsg/recvmmsg and, where the kernel has them, UDP GSO/GRO (a run of same-size
// datagrams to one peer passes the socket layer once); woken through an eventfd. IPv4,
// numeric addresses.
#pragma once
#include <netinet/in.h>

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sessnic/backplane/config.hpp"
#include "sessnic/backplane/transport.hpp"

namespace sessnic::backplane {

class UdpTransport final : public Transport {
 public:
  // Binds cfg.bind_host:cfg.bind_port. Throws std::runtime_error (with the address and
  // errno text) if the socket cannot be created or bound, std::invalid_argument for a
  // malformed address or a peer entry with this node's own card id.
  explicit UdpTransport(const NodeConfig& cfg);
  ~UdpTransport() override;
  UdpTransport(const UdpTransport&) = delete;
  UdpTransport& operator=(const UdpTransport&) = delete;

  uint16_t local_port() const { return port_; }
  // Points card's entry at a new address (a peer that moved or got its port late).
  void set_peer(const PeerAddress& peer);

  void send(std::span<const Datagram> batch) override;
  void receive(std::vector<std::vector<uint8_t>>& out, std::size_t max, std::chrono::microseconds timeout) override;
  void wake() override;
  void wake_at(uint64_t host_us) override;
  void forget_wake_at() override;
  uint64_t send_errors() const override { return send_errors_.load(std::memory_order_relaxed); }
  LatencyHistogram socket_wait() const override;
  bool has_direct() const override { return direct_fd_ >= 0; }
  void watch_direct(bool on) override;
  void receive_direct(std::vector<std::vector<uint8_t>>& out, std::size_t max) override;
  uint64_t reply_route(std::size_t index, uint8_t src) const override;
  uint16_t direct_port() const { return direct_port_; }  // 0: none (cfg.direct_answers off)

 private:
  void poll_once(std::chrono::microseconds timeout);
  void receive_main(std::vector<std::vector<uint8_t>>& out, std::size_t max, std::chrono::microseconds timeout);
  // Non-blocking read of the direct port until `out` holds `max`; `from`: record the
  // sources (the pump's read).
  void read_direct(std::vector<std::vector<uint8_t>>& out, std::size_t max, std::vector<sockaddr_in>* from);

  int fd_ = -1;
  int wake_fd_ = -1;
  int timer_fd_ = -1;  // wake_at(): a CLOCK_MONOTONIC timerfd in receive()'s poll set
  std::mutex timer_mu_;
  uint64_t timer_at_ = 0;  // armed for this host time (0: disarmed); guarded by timer_mu_
  uint16_t port_ = 0;
  mutable std::mutex peers_mu_;  // set_peer may run beside the node thread
  std::map<uint8_t, sockaddr_in> peers_;
  std::size_t mtu_;
  bool gro_ = false;                  // UDP_GRO enabled on the socket
  std::atomic<bool> gso_ok_{true};    // cleared if the kernel refuses UDP_SEGMENT
  std::atomic<uint64_t> send_errors_{0};
  bool stamps_ = false;  // SO_TIMESTAMPNS: the kernel stamps each datagram on arrival
  bool drained_ = false;  // receive()'s last recvmmsg left the socket empty (one receiving thread)
  // The direct port (NodeConfig::direct_answers) and an epoll set holding only it: the
  // pump's ppoll watches the epoll fd, so another thread turns the watch off and on
  // (epoll_ctl) without waking the pump unless a datagram is waiting.
  int direct_fd_ = -1;
  int direct_ep_ = -1;
  uint16_t direct_port_ = 0;
  bool direct_ready_ = false;  // the last ppoll saw the direct port readable (pump thread)
  std::vector<sockaddr_in> from_;  // source of each datagram of the last receive() (pump thread)
  mutable std::mutex wait_mu_;
  LatencyHistogram socket_wait_;  // guarded by wait_mu_
  static constexpr std::size_t kGsoMaxSegments = 64;
  static constexpr std::size_t kGsoMaxBytes = 60000;  // below the 64 KiB IP datagram limit
};

// Parses "a.b.c.d" + port; throws std::invalid_argument.
sockaddr_in make_ipv4(const std::string& host, uint16_t port);

}  // namespace sessnic::backplane
