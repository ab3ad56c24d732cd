// Asynchronous completions of a device: the sessions waited for (Device::await_session)
// and the answers of asynchronous commands (Device::execute_async) ready to be delivered.
//
// The device files completions under its own lock (add_waiter / waiting / complete /
// expire / post); run() delivers them with no lock held, on the thread that calls it
// (the backplane pump for the model device, or a thread reading its own answer; one at a
// time). A SessionWait cancels through a weak
// reference, so it may outlive the device.
//
// Lock order: the device's lock, then this queue's; callbacks run with neither held.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "sessnic/device.hpp"

namespace sessnic {

class CompletionQueue {
 public:
  // A waiter not yet answered: its id and key (for the device's look-up).
  struct Waiting {
    uint64_t id;
    SessionKey key;
  };

  // Registers a wait for `key` until host time `give_up_us`; its id (never 0), or 0 once closed.
  uint64_t add_waiter(const SessionKey& key, uint64_t give_up_us, Completion done);
  // Lock-free reads: a device asks on every command.
  bool has_waiters() const { return waiter_count_.load(std::memory_order_acquire) != 0; }
  // The waiters not yet answered, for the device to look their keys up (appended to `out`).
  void waiting(std::vector<Waiting>& out) const;
  // Answers waiter `id` with `r` (no-op when it was cancelled or answered already).
  void complete(uint64_t id, Response r);
  // Answers every waiter whose deadline is <= now_us with FAILED.
  void expire(uint64_t now_us);
  // Earliest waiter deadline (host us), if any.
  std::optional<uint64_t> earliest_deadline() const;

  // Queues `done(r)` for delivery (an asynchronous command's answer; not cancellable).
  void post(Completion done, Response r);
  bool has_ready() const { return ready_count_.load(std::memory_order_acquire) != 0; }
  // Delivers every queued completion, one at a time, with no lock held; returns how many.
  std::size_t run();
  // The device goes away: every waiter is answered FAILED, later add_waiter() calls are
  // refused, and everything queued is delivered on this thread.
  void close();

  // True: the waiter will never be answered. False: it was answered (its callback has
  // returned, unless cancel() is called from inside that callback).
  bool cancel(uint64_t id);

 private:
  struct Waiter {
    uint64_t id;
    SessionKey key;
    uint64_t give_up_us;
    Completion done;
  };
  struct Ready {
    uint64_t id;  // 0: not cancellable
    Completion done;
    Response r;
  };
  void answer_locked(std::size_t index, Response r);
  void counts_changed();  // caller holds mu_

  std::mutex run_mu_;  // held by run(): one runner at a time
  mutable std::mutex mu_;
  std::condition_variable ran_;  // running_id_ changed
  std::vector<Waiter> waiters_;  // few at once (handshakes waiting): a vector scan beats a map
  std::deque<Ready> ready_;
  uint64_t next_id_ = 0;
  uint64_t running_id_ = 0;  // the waiter whose callback runs now
  std::thread::id runner_;
  bool closed_ = false;
  std::atomic<std::size_t> waiter_count_{0}, ready_count_{0};  // sizes of waiters_ / ready_
};

}  // namespace sessnic
