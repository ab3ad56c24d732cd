// Rate limit for log lines about events that can come in floods (a peer with the wrong
// cluster key sends a frame every few milliseconds; a failing device fails every
// handshake): the first event is logged at once, then at most one line per interval,
// each saying how many were held back. The events themselves are always counted by the
// caller; this only keeps the log readable.
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace sessnic {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogLimiter(Clock::duration interval = std::chrono::seconds(10)) : interval_(interval) {}

  // nullopt: stay quiet. Otherwise log now; the value is how many events were held
  // back since the previous line.
  std::optional<uint64_t> admit(Clock::time_point now = Clock::now()) {
    std::lock_guard lock(mu_);
    if (logged_once_ && now < next_) {
      ++held_;
      return std::nullopt;
    }
    logged_once_ = true;
    next_ = now + interval_;
    const uint64_t held = held_;
    held_ = 0;
    return held;
  }

 private:
  Clock::duration interval_;
  std::mutex mu_;
  bool logged_once_ = false;
  Clock::time_point next_{};
  uint64_t held_ = 0;
};

}  // namespace sessnic
