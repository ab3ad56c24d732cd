#include "sessnic/backplane/udp_transport.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace sessnic::backplane {
namespace {

// One recvmmsg slot: `cap` bytes at `buf`, the sender's address into `name`.
void receive_slot(mmsghdr& m, iovec& iov, sockaddr_in& name, uint8_t* buf, std::size_t cap) {
  iov = {buf, cap};
  m = {};
  m.msg_hdr.msg_name = &name;
  m.msg_hdr.msg_namelen = sizeof name;
  m.msg_hdr.msg_iov = &iov;
  m.msg_hdr.msg_iovlen = 1;
}

std::string errno_text() { return std::strerror(errno); }

// A route (Datagram::route) is an IPv4 address and port packed with a marker bit, so 0
// never is one.
constexpr uint64_t kRouteBit = 1ull << 48;
uint64_t route_of(const sockaddr_in& a) {
  return kRouteBit | static_cast<uint64_t>(ntohl(a.sin_addr.s_addr)) << 16 | ntohs(a.sin_port);
}
sockaddr_in addr_of_route(uint64_t route) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(static_cast<uint32_t>(route >> 16));
  a.sin_port = htons(static_cast<uint16_t>(route));
  return a;
}
}  // namespace

sockaddr_in make_ipv4(const std::string& host, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1)
    throw std::invalid_argument("backplane: '" + host + "' is not a numeric IPv4 address");
  return a;
}

UdpTransport::UdpTransport(const NodeConfig& cfg) : mtu_(cfg.mtu) {
  const sockaddr_in bind_addr = make_ipv4(cfg.bind_host, cfg.bind_port);
  for (const PeerAddress& p : cfg.peers) {
    if (p.card == cfg.card_id) throw std::invalid_argument("backplane: peer list contains this node's own card id");
    if (p.card == static_cast<uint8_t>(wire::BpConst::BROADCAST))
      throw std::invalid_argument("backplane: card id 255 is the broadcast address");
    peers_[p.card] = make_ipv4(p.host, p.port);
  }
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("backplane: socket: " + errno_text());
  const int buf = 4 << 20;  // bursts of replication must not overflow the socket
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&bind_addr), sizeof bind_addr) != 0) {
    const std::string why = errno_text();
    ::close(fd_);
    throw std::runtime_error("backplane: bind " + cfg.bind_host + ":" + std::to_string(cfg.bind_port) + ": " + why);
  }
  sockaddr_in got{};
  socklen_t len = sizeof got;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&got), &len);
  port_ = ntohs(got.sin_port);
  const int one = 1;
  gro_ = ::setsockopt(fd_, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
  // The arrival stamp splits a hop into "in the kernel" and "waiting for the pump"
  // (NodeStats::socket_wait): the one measurement that needs no clock shared with the sender.
  stamps_ = ::setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) == 0;
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    ::close(fd_);
    throw std::runtime_error("backplane: eventfd: " + errno_text());
  }
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd_ < 0) {
    const std::string why = errno_text();
    ::close(fd_);
    ::close(wake_fd_);
    throw std::runtime_error("backplane: timerfd: " + why);
  }
  if (cfg.direct_answers) {
    // Same address, any free port: a peer routes answers here only from an address it
    // already knows as this node's (reply_route).
    sockaddr_in daddr = bind_addr;
    daddr.sin_port = 0;
    direct_fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    direct_ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = direct_fd_;
    sockaddr_in dgot{};
    socklen_t dlen = sizeof dgot;
    if (direct_fd_ < 0 || direct_ep_ < 0 ||
        ::bind(direct_fd_, reinterpret_cast<const sockaddr*>(&daddr), sizeof daddr) != 0 ||
        ::getsockname(direct_fd_, reinterpret_cast<sockaddr*>(&dgot), &dlen) != 0 ||
        ::epoll_ctl(direct_ep_, EPOLL_CTL_ADD, direct_fd_, &ev) != 0) {
      const std::string why = errno_text();
      for (int f : {fd_, wake_fd_, timer_fd_, direct_fd_, direct_ep_})
        if (f >= 0) ::close(f);
      throw std::runtime_error("backplane: direct port on " + cfg.bind_host + ": " + why);
    }
    direct_port_ = ntohs(dgot.sin_port);
  }
}

UdpTransport::~UdpTransport() {
  ::close(fd_);
  ::close(wake_fd_);
  ::close(timer_fd_);
  if (direct_fd_ >= 0) ::close(direct_fd_);
  if (direct_ep_ >= 0) ::close(direct_ep_);
}

void UdpTransport::set_peer(const PeerAddress& peer) {
  const sockaddr_in a = make_ipv4(peer.host, peer.port);
  std::lock_guard lock(peers_mu_);
  peers_[peer.card] = a;
}

// Sending: runs of datagrams to the same peer with the same size (the last may be
// shorter) go out as one UDP GSO send (UDP_SEGMENT): still one frame per datagram on the
// wire, but one trip through the socket layer per run. Without kernel support (EINVAL/
// EIO/ENOPROTOOPT) the transport falls back to one sendmmsg entry per datagram.
void UdpTransport::send(std::span<const Datagram> batch) {
  struct Run {
    sockaddr_in to;  // a copy: set_peer may change the map once the lock is released
    uint8_t card;
    uint64_t route;
    int fd;
    std::size_t first_iov;
    std::size_t count;
    std::size_t seg;
    std::size_t bytes;
    bool closed;  // a shorter last segment ends a GSO run
  };
  std::vector<Run> runs;
  std::vector<iovec> iovs;
  runs.reserve(batch.size());
  iovs.reserve(batch.size() + peers_.size());
  const bool gso = gso_ok_.load(std::memory_order_relaxed);
  auto add = [&](uint8_t card, const sockaddr_in& to, const Datagram& d) {
    const std::vector<uint8_t>& bytes = d.bytes;
    const int fd = d.direct && direct_fd_ >= 0 ? direct_fd_ : fd_;
    Run* r = runs.empty() ? nullptr : &runs.back();
    const bool joins = gso && r && r->card == card && r->route == d.route && r->fd == fd && !r->closed &&
                       r->count < kGsoMaxSegments && bytes.size() <= r->seg && r->bytes + bytes.size() <= kGsoMaxBytes;
    iovs.push_back({const_cast<uint8_t*>(bytes.data()), bytes.size()});
    if (joins) {
      ++r->count;
      r->bytes += bytes.size();
      r->closed = bytes.size() < r->seg;
    } else {
      runs.push_back(Run{to, card, d.route, fd, iovs.size() - 1, 1, bytes.size(), bytes.size(), false});
    }
  };
  {
    std::lock_guard lock(peers_mu_);
    for (const Datagram& d : batch) {
      if (d.bytes.size() > mtu_ || d.bytes.empty()) {
        send_errors_.fetch_add(1, std::memory_order_relaxed);  // never happens: frames are bounded by the slot
        continue;
      }
      if (d.dst == static_cast<uint8_t>(wire::BpConst::BROADCAST)) {
        for (const auto& [card, addr] : peers_) add(card, addr, d);
      } else if (d.route != 0) {
        add(d.dst, addr_of_route(d.route), d);
      } else if (auto it = peers_.find(d.dst); it != peers_.end()) {
        add(d.dst, it->second, d);
      }
    }
  }
  constexpr std::size_t kCmsg = CMSG_SPACE(sizeof(uint16_t));
  std::vector<mmsghdr> msgs(runs.size());
  std::vector<std::array<char, kCmsg>> cmsgs(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    msghdr& h = msgs[i].msg_hdr;
    h = {};
    h.msg_name = &runs[i].to;
    h.msg_namelen = sizeof(sockaddr_in);
    h.msg_iov = &iovs[runs[i].first_iov];
    h.msg_iovlen = runs[i].count;
    if (runs[i].count > 1) {
      h.msg_control = cmsgs[i].data();
      h.msg_controllen = kCmsg;
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const uint16_t seg = static_cast<uint16_t>(runs[i].seg);
      std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
    }
  }
  std::size_t done = 0;
  while (done < msgs.size()) {
    // One sendmmsg per stretch of runs leaving from the same socket, in order.
    std::size_t same = 1;
    while (done + same < msgs.size() && same < 1024 && runs[done + same].fd == runs[done].fd) ++same;
    const unsigned n = static_cast<unsigned>(same);
    const int r = ::sendmmsg(runs[done].fd, msgs.data() + done, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (gso && (errno == EINVAL || errno == EIO || errno == ENOPROTOOPT)) {
        gso_ok_.store(false, std::memory_order_relaxed);  // no GSO here: resend one by one
        send(batch);  // duplicates of what already left are harmless (receiver dedups)
        return;
      }
      // EAGAIN (socket buffer full) or an ICMP error from a dead peer: the frames are
      // lost like any other; the kernel's retransmission covers them.
      for (std::size_t i = done; i < msgs.size(); ++i) send_errors_.fetch_add(runs[i].count, std::memory_order_relaxed);
      return;
    }
    done += static_cast<std::size_t>(r);
  }
}

// Receiving: with UDP_GRO a run sent by GSO arrives as one buffer plus its segment size
// and is split back into datagrams here.
void UdpTransport::receive(std::vector<std::vector<uint8_t>>& out, std::size_t max, std::chrono::microseconds timeout) {
  from_.clear();
  const std::size_t base = out.size();
  receive_main(out, max, timeout);
  // receive_main recorded a source for each datagram it appended; the direct port's
  // datagrams (only while it is watched: poll_once saw it readable) follow.
  from_.resize(out.size() - base);
  if (direct_ready_ && out.size() < max) {
    direct_ready_ = false;
    read_direct(out, max, &from_);
  }
}

void UdpTransport::receive_main(std::vector<std::vector<uint8_t>>& out, std::size_t max,
                                std::chrono::microseconds timeout) {
  constexpr std::size_t kMsgs = 32;
  const std::size_t cap = gro_ ? kGsoMaxBytes + 1024 : mtu_ + 1;  // +1: an oversized datagram shows as such
  constexpr std::size_t kCmsg = CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(timespec));
  static thread_local std::vector<uint8_t> bufs;
  bufs.resize(kMsgs * cap);
  bool waited = false;
  // The socket was empty at the last look (the pump's busy round just before asked with no
  // timeout): go straight to ppoll, which returns at once for anything that came since
  // (level-triggered). One recvmmsg less per sleep.
  bool look = !(timeout.count() > 0 && drained_);
  while (out.size() < max) {
    if (!look) {
      look = true;
      poll_once(timeout);
      waited = true;
      continue;
    }
    mmsghdr msgs[kMsgs];
    iovec iov[kMsgs];
    sockaddr_in names[kMsgs];
    std::array<char, kCmsg> ctl[kMsgs];
    const std::size_t want = std::min(kMsgs, max - out.size());
    for (std::size_t i = 0; i < want; ++i) {
      receive_slot(msgs[i], iov[i], names[i], bufs.data() + i * cap, cap);
      msgs[i].msg_hdr.msg_control = ctl[i].data();
      msgs[i].msg_hdr.msg_controllen = kCmsg;
    }
    const int r = ::recvmmsg(fd_, msgs, static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
    if (r > 0) {
      timespec now{};
      if (stamps_) ::clock_gettime(CLOCK_REALTIME, &now);
      for (int i = 0; i < r; ++i) {
        const uint8_t* p = bufs.data() + static_cast<std::size_t>(i) * cap;
        const std::size_t len = msgs[i].msg_len;
        std::size_t seg = 0;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
          if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
            int v = 0;
            std::memcpy(&v, CMSG_DATA(c), sizeof v);
            if (v > 0) seg = static_cast<std::size_t>(v);
          } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            timespec at{};
            std::memcpy(&at, CMSG_DATA(c), sizeof at);
            const double us = static_cast<double>(now.tv_sec - at.tv_sec) * 1e6 +
                              static_cast<double>(now.tv_nsec - at.tv_nsec) / 1e3;
            std::lock_guard lock(wait_mu_);
            socket_wait_.add_us(us);
          }
        }
        if (seg == 0 || seg >= len) {
          out.emplace_back(p, p + len);
          from_.push_back(names[i]);
        } else {
          for (std::size_t off = 0; off < len; off += seg) {
            out.emplace_back(p + off, p + std::min(len, off + seg));
            from_.push_back(names[i]);
          }
        }
      }
      drained_ = static_cast<std::size_t>(r) < want;
      if (drained_) return;
      continue;
    }
    drained_ = r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED) return;
    if (!out.empty() || waited || timeout.count() <= 0) return;
    poll_once(timeout);
    waited = true;
  }
  drained_ = false;  // stopped at `max`: more may be queued
}

// Sleeps until a datagram, a wake() or the wake_at() timer, at most `timeout`. The direct
// port counts only while watched (its epoll set is readable then).
void UdpTransport::poll_once(std::chrono::microseconds timeout) {
  pollfd fds[4] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}, {timer_fd_, POLLIN, 0}, {direct_ep_, POLLIN, 0}};
  const timespec ts{static_cast<time_t>(timeout.count() / 1000000), static_cast<long>(timeout.count() % 1000000) * 1000};
  ::ppoll(fds, direct_ep_ >= 0 ? 4 : 3, &ts, nullptr);
  for (int i : {1, 2})
    if (fds[i].revents & POLLIN) {
      uint64_t v;
      [[maybe_unused]] ssize_t ignored = ::read(fds[i].fd, &v, sizeof v);
    }
  if (direct_ep_ >= 0 && (fds[3].revents & POLLIN)) direct_ready_ = true;
}

void UdpTransport::watch_direct(bool on) {
  if (direct_ep_ < 0) return;
  epoll_event ev{};
  ev.events = on ? static_cast<uint32_t>(EPOLLIN) : 0u;
  ev.data.fd = direct_fd_;
  (void)::epoll_ctl(direct_ep_, EPOLL_CTL_MOD, direct_fd_, &ev);
}

void UdpTransport::receive_direct(std::vector<std::vector<uint8_t>>& out, std::size_t max) {
  read_direct(out, out.size() + max, nullptr);
}

// Only frames a thread waits for come here (PULL_RESPs, one datagram each): no GRO, no
// stamps. Reads until the socket is empty or `out` holds `max` datagrams.
void UdpTransport::read_direct(std::vector<std::vector<uint8_t>>& out, std::size_t max, std::vector<sockaddr_in>* from) {
  if (direct_fd_ < 0) return;
  constexpr std::size_t kMsgs = 8;
  const std::size_t cap = mtu_ + 1;  // +1: an oversized datagram shows as such
  static thread_local std::vector<uint8_t> bufs;
  bufs.resize(kMsgs * cap);
  while (out.size() < max) {
    mmsghdr msgs[kMsgs];
    iovec iov[kMsgs];
    sockaddr_in names[kMsgs];
    const std::size_t want = std::min(kMsgs, max - out.size());
    for (std::size_t i = 0; i < want; ++i) receive_slot(msgs[i], iov[i], names[i], bufs.data() + i * cap, cap);
    const int r = ::recvmmsg(direct_fd_, msgs, static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
    if (r <= 0) return;  // EAGAIN: empty
    for (int i = 0; i < r; ++i) {
      const uint8_t* p = bufs.data() + static_cast<std::size_t>(i) * cap;
      out.emplace_back(p, p + msgs[i].msg_len);
      if (from) from->push_back(names[i]);
    }
    if (static_cast<std::size_t>(r) < want) return;
  }
}

// Only another port of the sender's own configured address: an authenticated PULL cannot
// turn this node into a reflector towards a third host.
uint64_t UdpTransport::reply_route(std::size_t index, uint8_t src) const {
  if (index >= from_.size()) return 0;
  const sockaddr_in& f = from_[index];
  std::lock_guard lock(peers_mu_);
  const auto it = peers_.find(src);
  if (it == peers_.end() || f.sin_family != AF_INET || f.sin_addr.s_addr != it->second.sin_addr.s_addr ||
      f.sin_port == it->second.sin_port)
    return 0;
  return route_of(f);
}

LatencyHistogram UdpTransport::socket_wait() const {
  std::lock_guard lock(wait_mu_);
  return socket_wait_;
}

// The timer is absolute on CLOCK_MONOTONIC, the clock of host_time_us() (steady_clock).
void UdpTransport::wake_at(uint64_t host_us) {
  std::lock_guard lock(timer_mu_);
  if (timer_at_ != 0 && timer_at_ <= host_us) return;  // an earlier wake-up is armed already
  itimerspec t{};
  t.it_value.tv_sec = static_cast<time_t>(host_us / 1000000);
  t.it_value.tv_nsec = static_cast<long>(host_us % 1000000) * 1000;
  if (t.it_value.tv_sec == 0 && t.it_value.tv_nsec == 0) t.it_value.tv_nsec = 1;  // zero would disarm
  if (::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &t, nullptr) != 0) return wake();  // never: wake now
  timer_at_ = host_us;
}

void UdpTransport::forget_wake_at() {
  std::lock_guard lock(timer_mu_);
  if (timer_at_ == 0) return;  // the usual case: no syscall
  const itimerspec off{};
  (void)::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &off, nullptr);
  uint64_t v;
  [[maybe_unused]] ssize_t ignored = ::read(timer_fd_, &v, sizeof v);  // one that fired meanwhile
  timer_at_ = 0;
}

void UdpTransport::wake() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
}

}  // namespace sessnic::backplane
