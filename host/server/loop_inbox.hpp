// Work handed to an event loop from a thread outside it (a pull's completion on the
// backplane pump), woken by an eventfd the loop waits on.
//
// Why not asio::post: asio's scheduler interrupts the reactor (its epoll_wait) while it
// still holds the scheduler mutex (wake_one_thread_and_unlock). The io thread wakes,
// blocks on that mutex in scheduler::run, and the posting thread runs again only to
// release it: two context switches on the client's path per resumed handshake. Here the
// queue's own lock is dropped before the eventfd write, and the io thread wakes in the
// reactor without the scheduler mutex taken by anyone else.
#pragma once

#include <asio.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace sessnic::server {

class LoopInbox {
 public:
  // Starts waiting at once; `io` must outlive the inbox.
  explicit LoopInbox(asio::io_context& io);
  ~LoopInbox();
  LoopInbox(const LoopInbox&) = delete;
  LoopInbox& operator=(const LoopInbox&) = delete;

  // Any thread. `fn` runs once on a thread running the loop, in post order; a function
  // still queued when the inbox goes (the loop stopped) is destroyed without running.
  void post(std::function<void()> fn);

 private:
  void arm();
  void drain();

  asio::posix::stream_descriptor fd_;
  std::mutex mu_;
  std::vector<std::function<void()>> queue_;  // guarded by mu_
  bool signalled_ = false;  // the eventfd was written since the loop last drained; mu_
  std::vector<std::function<void()>> running_;  // the loop's batch (one drain at a time)
  std::array<uint64_t, 2> counter_{};          // the eventfd's value, read and dropped
};

}  // namespace sessnic::server
