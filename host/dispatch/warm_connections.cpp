#include "warm_connections.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace sessnic::dispatch {
using asio::ip::tcp;

WarmConnections::WarmConnections(asio::io_context& io, size_t per_server, std::chrono::milliseconds max_age)
    : io_(io), per_server_(per_server), max_age_(max_age), ex_(io.get_executor()), timer_(ex_) {}

// Open, with nothing to read: the server has neither closed it nor refused it nor sent
// anything. A connect still on its way passes too (the first write waits for it).
bool WarmConnections::alive(tcp::socket& s) {
  char c;
  const ssize_t n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

std::optional<tcp::socket> WarmConnections::take(const std::shared_ptr<Backend>& b) {
  if (per_server_ == 0) return std::nullopt;
  std::optional<tcp::socket> got;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return std::nullopt;
    Pool& p = pools_[b];
    const auto now = Clock::now();
    while (!p.ready.empty() && !got) {
      Spare s = std::move(p.ready.front());
      p.ready.pop_front();
      if (now - s.opened > max_age_ || !alive(s.sock)) {
        ++discarded_;
        continue;  // closes with `s`
      }
      ++used_;
      got.emplace(std::move(s.sock));
    }
  }
  return got;
}

void WarmConnections::replace(const std::shared_ptr<Backend>& b) {
  if (per_server_ == 0) return;
  asio::post(ex_, [self = shared_from_this(), b] { self->fill(b); });
}

// Spares are opened by asio on the io_context (so a connection on the same executor can
// take the socket as it is) and connect without anybody waiting for the answer: the
// syscalls are those of a client's connect, made before the client comes.
void WarmConnections::fill(const std::shared_ptr<Backend>& b) {
  size_t want = 0;
  {
    std::lock_guard lock(mu_);
    if (stopped_ || !b->healthy) return;
    const size_t have = pools_[b].ready.size();
    want = have < per_server_ ? per_server_ - have : 0;
  }
  // The syscalls outside the lock: an io thread taking a spare meanwhile does not wait.
  std::vector<Spare> made;
  for (size_t i = 0; i < want; ++i) {
    tcp::socket sock(io_);
    std::error_code ec;
    sock.open(b->endpoint.protocol(), ec);
    if (!ec) sock.set_option(tcp::no_delay(true), ec);
    if (!ec) sock.non_blocking(true, ec);
    if (ec) break;  // out of descriptors: the next refresh tries again
    const auto& ep = b->endpoint;
    if (::connect(sock.native_handle(), ep.data(), static_cast<socklen_t>(ep.size())) != 0 && errno != EINPROGRESS)
      break;  // a server that is down: the next refresh tries again
    made.push_back(Spare{std::move(sock), Clock::now()});
  }
  std::lock_guard lock(mu_);
  if (stopped_) return;  // closes with `made`
  auto it = pools_.find(b);
  if (it == pools_.end()) return;  // the server went away (reload) meanwhile
  for (Spare& s : made)
    if (it->second.ready.size() < per_server_) it->second.ready.push_back(std::move(s));
}

void WarmConnections::start(std::function<std::shared_ptr<Router>()> router) {
  if (per_server_ == 0) return;
  router_ = std::move(router);
  asio::post(ex_, [self = shared_from_this()] { self->refresh(); });
}

void WarmConnections::refresh() {
  const auto r = router_();
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    const auto now = Clock::now();
    for (auto it = pools_.begin(); it != pools_.end();) {
      const auto& servers = r->backends();
      if (std::find(servers.begin(), servers.end(), it->first) == servers.end()) {
        discarded_ += it->second.ready.size();
        it = pools_.erase(it);  // a server the reload removed
        continue;
      }
      auto& ready = it->second.ready;
      while (!ready.empty() && now - ready.front().opened > max_age_) {
        ready.pop_front();
        ++discarded_;
      }
      ++it;
    }
  }
  for (const auto& b : r->backends()) fill(b);
  timer_.expires_after(max_age_ / 2);
  timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec) self->refresh();
  });
}

void WarmConnections::stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  for (auto& [b, p] : pools_) {
    discarded_ += p.ready.size();
    p.ready.clear();
  }
  asio::post(ex_, [self = shared_from_this()] { self->timer_.cancel(); });
}

size_t WarmConnections::spares() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [b, p] : pools_) n += p.ready.size();
  return n;
}

uint64_t WarmConnections::used() const {
  std::lock_guard lock(mu_);
  return used_;
}

uint64_t WarmConnections::discarded() const {
  std::lock_guard lock(mu_);
  return discarded_;
}

}  // namespace sessnic::dispatch
