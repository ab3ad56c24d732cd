// Active health checks: every interval a TCP connect to each server of the current
// routes (bounded by the connect timeout). A server that refuses is skipped by the router
// until it accepts again. Real connections report too (passive checks, set_health).
// Every change of verdict is logged once.
#pragma once
#include <asio.hpp>

#include <chrono>
#include <functional>
#include <memory>

#include "router.hpp"

namespace sessnic::dispatch {

// Records a verdict for `b`; logs it when it changes. `how`: "probe", "connect", ...
void set_health(Backend& b, bool up, const char* how);

class HealthChecker {
 public:
  using CurrentRouter = std::function<std::shared_ptr<Router>()>;
  HealthChecker(asio::any_io_executor ex, std::chrono::milliseconds interval, std::chrono::milliseconds timeout,
                CurrentRouter router);

  void start();  // first round now, then every interval
  void stop();   // no more rounds; probes in flight finish by their timeout

 private:
  void round();
  asio::any_io_executor ex_;
  std::chrono::milliseconds interval_, timeout_;
  CurrentRouter router_;
  asio::steady_timer timer_;
  bool stopped_ = false;
};

}  // namespace sessnic::dispatch
