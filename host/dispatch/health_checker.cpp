#include "health_checker.hpp"

#include <spdlog/spdlog.h>

namespace sessnic::dispatch {

void set_health(Backend& b, bool up, const char* how) {
  if (b.healthy.exchange(up) != up) {
    if (up) spdlog::info("server {} ({}) is up ({})", b.name, b.addr.str(), how);
    else spdlog::warn("server {} ({}) is down ({} failed)", b.name, b.addr.str(), how);
  }
}

HealthChecker::HealthChecker(asio::any_io_executor ex, std::chrono::milliseconds interval,
                             std::chrono::milliseconds timeout, CurrentRouter router)
    : ex_(std::move(ex)), interval_(interval), timeout_(timeout), router_(std::move(router)), timer_(ex_) {}

void HealthChecker::start() {
  stopped_ = false;
  round();
}

void HealthChecker::stop() {
  stopped_ = true;
  timer_.cancel();
}

void HealthChecker::round() {
  if (stopped_) return;
  auto router = router_();
  for (auto& backend : router->backends()) {
    struct Probe {
      explicit Probe(const asio::any_io_executor& ex) : sock(ex), timer(ex) {}
      asio::ip::tcp::socket sock;
      asio::steady_timer timer;
      bool done = false;
    };
    auto p = std::make_shared<Probe>(ex_);
    auto finish = [p, backend](bool up) {
      if (p->done) return;
      p->done = true;
      std::error_code ignored;
      p->timer.cancel();
      p->sock.close(ignored);
      set_health(*backend, up, "probe");
    };
    p->timer.expires_after(timeout_);
    p->timer.async_wait([finish](std::error_code ec) {
      if (!ec) finish(false);
    });
    p->sock.async_connect(backend->endpoint, [finish](std::error_code ec) { finish(!ec); });
  }
  timer_.expires_after(interval_);
  timer_.async_wait([this](std::error_code ec) {
    if (!ec) round();
  });
}

}  // namespace sessnic::dispatch
