#include "sessnic/completion_queue.hpp"

#include <algorithm>

#include "sessnic/codec.hpp"

namespace sessnic {
namespace {
Response failed_for(const SessionKey& key) {
  Response r;
  r.status = wire::Status::FAILED;
  r.op = wire::Opcode::EXPORT;
  r.key = key;
  return r;
}
}  // namespace

uint64_t CompletionQueue::add_waiter(const SessionKey& key, uint64_t give_up_us, Completion done) {
  std::lock_guard lock(mu_);
  if (closed_) return 0;
  const uint64_t id = ++next_id_;
  waiters_.push_back(Waiter{id, key, give_up_us, std::move(done)});
  counts_changed();
  return id;
}

void CompletionQueue::counts_changed() {
  waiter_count_.store(waiters_.size(), std::memory_order_release);
  ready_count_.store(ready_.size(), std::memory_order_release);
}

void CompletionQueue::waiting(std::vector<Waiting>& out) const {
  std::lock_guard lock(mu_);
  for (const Waiter& w : waiters_) out.push_back(Waiting{w.id, w.key});
}

// Caller holds mu_. Swap-and-pop: waiter order does not matter.
void CompletionQueue::answer_locked(std::size_t index, Response r) {
  Waiter& w = waiters_[index];
  ready_.push_back(Ready{w.id, std::move(w.done), std::move(r)});
  if (index + 1 != waiters_.size()) waiters_[index] = std::move(waiters_.back());
  waiters_.pop_back();
  counts_changed();
}

void CompletionQueue::complete(uint64_t id, Response r) {
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < waiters_.size(); ++i)
    if (waiters_[i].id == id) return answer_locked(i, std::move(r));
}

void CompletionQueue::expire(uint64_t now_us) {
  if (!has_waiters()) return;
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < waiters_.size();) {
    if (waiters_[i].give_up_us <= now_us) answer_locked(i, failed_for(waiters_[i].key));
    else ++i;
  }
}

std::optional<uint64_t> CompletionQueue::earliest_deadline() const {
  if (!has_waiters()) return std::nullopt;
  std::lock_guard lock(mu_);
  std::optional<uint64_t> d;
  for (const Waiter& w : waiters_) d = std::min(d.value_or(w.give_up_us), w.give_up_us);
  return d;
}

void CompletionQueue::post(Completion done, Response r) {
  std::lock_guard lock(mu_);
  ready_.push_back(Ready{0, std::move(done), std::move(r)});
  counts_changed();
}


std::size_t CompletionQueue::run() {
  if (!has_ready()) return 0;
  // One runner at a time (the pump, or a thread taking its own answer off the backplane:
  // BackplanePorts::on_direct): cancel() relies on a single running_id_.
  std::lock_guard one_runner(run_mu_);
  std::unique_lock lock(mu_);
  std::size_t n = 0;
  while (!ready_.empty()) {
    Ready r = std::move(ready_.front());
    ready_.pop_front();
    counts_changed();
    running_id_ = r.id;
    runner_ = std::this_thread::get_id();
    lock.unlock();
    r.done(std::move(r.r));
    r.done = nullptr;  // whatever the callback captured goes before a canceller is told it finished
    lock.lock();
    running_id_ = 0;
    runner_ = {};
    ran_.notify_all();
    ++n;
  }
  return n;
}

void CompletionQueue::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    while (!waiters_.empty()) answer_locked(waiters_.size() - 1, failed_for(waiters_.back().key));
  }
  run();
}

bool CompletionQueue::cancel(uint64_t id) {
  std::unique_lock lock(mu_);
  for (std::size_t i = 0; i < waiters_.size(); ++i) {
    if (waiters_[i].id != id) continue;
    Completion dropped = std::move(waiters_[i].done);
    if (i + 1 != waiters_.size()) waiters_[i] = std::move(waiters_.back());
    waiters_.pop_back();
    counts_changed();
    lock.unlock();  // the callback's captures are destroyed without the lock
    return true;
  }
  for (auto it = ready_.begin(); it != ready_.end(); ++it) {
    if (it->id != id) continue;
    Completion dropped = std::move(it->done);
    ready_.erase(it);
    counts_changed();
    lock.unlock();
    return true;
  }
  // Running now on another thread: return once it has finished, so the caller may free
  // what the callback uses.
  if (running_id_ == id && runner_ != std::this_thread::get_id()) ran_.wait(lock, [&] { return running_id_ != id; });
  return false;
}

}  // namespace sessnic
