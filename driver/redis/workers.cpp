#include "sessnic/redis/workers.hpp"

#include <spdlog/spdlog.h>

namespace sessnic::redis {

Workers::Workers(unsigned threads, size_t max_pending) : max_pending_(max_pending == 0 ? 1 : max_pending) {
  for (unsigned i = 0; i < (threads == 0 ? 1 : threads); ++i) threads_.emplace_back([this] { loop(); });
}

Workers::~Workers() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

bool Workers::submit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || q_.size() >= max_pending_) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    q_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

size_t Workers::pending() const {
  std::lock_guard lock(mu_);
  return q_.size();
}

void Workers::loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !q_.empty(); });
      if (q_.empty()) return;  // stopping and drained
      job = std::move(q_.front());
      q_.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("redis worker: job failed: {}", e.what());
    } catch (...) {
      spdlog::error("redis worker: job failed");
    }
  }
}

}  // namespace sessnic::redis
