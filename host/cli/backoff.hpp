// Restart delays for a crashing child: exponential from `initial`, capped at `cap`, back
// to `initial` once the child has stayed up for `stable` - so one crash restarts quickly
// and a crash loop costs at most one start per `cap`.
#pragma once
#include <algorithm>
#include <chrono>

namespace sessnic::cli {

struct BackoffPolicy {
  std::chrono::milliseconds initial{250};
  std::chrono::milliseconds cap{10000};
  std::chrono::milliseconds stable{30000};
};

class Backoff {
 public:
  explicit Backoff(BackoffPolicy p = {}) : p_(p), next_(p.initial) {}

  // The delay before the restart that follows an exit after `uptime`.
  std::chrono::milliseconds after_exit(std::chrono::milliseconds uptime) {
    if (uptime >= p_.stable) {
      next_ = p_.initial;
      streak_ = 0;
    }
    ++streak_;
    last_ = std::min(next_, p_.cap);
    next_ = std::min(next_ * 2, p_.cap);
    return last_;
  }
  bool at_cap() const { return last_ >= p_.cap; }  // the last delay was the cap: a crash loop
  unsigned streak() const { return streak_; }  // exits in a row without a stable run

 private:
  BackoffPolicy p_;
  std::chrono::milliseconds next_, last_{0};
  unsigned streak_ = 0;
};

}  // namespace sessnic::cli
