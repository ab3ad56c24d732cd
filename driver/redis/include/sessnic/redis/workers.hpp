// A few threads that run Redis operations off the handshake path, from a bounded queue:
// a job that does not fit is refused at once (the caller counts it and goes on without
// Redis), so a slow or dead Redis never holds a TLS handshake or grows memory.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sessnic::redis {

class Workers {
 public:
  Workers(unsigned threads, size_t max_pending);
  ~Workers();  // runs what is queued, then joins
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  // False when the queue is full or the pool is stopping (the job is dropped, counted).
  bool submit(std::function<void()> job);
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  size_t pending() const;

 private:
  void loop();
  size_t max_pending_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> q_;
  bool stopping_ = false;
  std::atomic<uint64_t> refused_{0};
  std::vector<std::thread> threads_;
};

}  // namespace sessnic::redis
