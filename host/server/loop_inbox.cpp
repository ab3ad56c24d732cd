#include "loop_inbox.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace sessnic::server {
namespace {

int make_eventfd() {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "eventfd for an event loop's inbox");
  return fd;
}

}  // namespace

LoopInbox::LoopInbox(asio::io_context& io) : fd_(io, make_eventfd()) { arm(); }

LoopInbox::~LoopInbox() {
  std::error_code ignored;
  fd_.close(ignored);  // the pending wait is cancelled; its handler never runs (io stopped)
}

void LoopInbox::post(std::function<void()> fn) {
  bool wake;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(fn));
    wake = !signalled_;
    signalled_ = true;
  }
  // Outside the lock: the loop thread this wakes finds nothing held.
  if (wake) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(fd_.native_handle(), &one, sizeof one);  // cannot fill: drained first
  }
}

// A read, not async_wait: the reactor registers the descriptor edge-triggered and
// reads speculatively when an edge came while no operation waited, so no post is lost.
// 16 bytes: the eventfd gives 8, which tells asio the descriptor is drained (no extra
// speculative read before the next wait).
void LoopInbox::arm() {
  fd_.async_read_some(asio::buffer(counter_), [this](std::error_code ec, std::size_t) {
    if (ec) return;  // operation_aborted: the inbox is going (an eventfd read fails no other way)
    drain();
    arm();
  });
}

void LoopInbox::drain() {
  {
    std::lock_guard lock(mu_);
    running_.swap(queue_);
    signalled_ = false;  // a post from now on writes again
  }
  for (auto& fn : running_) fn();
  running_.clear();
}

}  // namespace sessnic::server
