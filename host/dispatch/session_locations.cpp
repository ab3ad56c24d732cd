#include "session_mover.hpp"

namespace sessnic::dispatch {

std::optional<uint8_t> SessionLocations::find(std::span<const uint8_t> id) {
  if (size_.load(std::memory_order_acquire) == 0) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = map_.find(view(id));
  if (it == map_.end()) return std::nullopt;
  order_.splice(order_.begin(), order_, it->second.age);
  return it->second.last;
}

bool SessionLocations::holds(std::span<const uint8_t> id, uint8_t card) {
  if (size_.load(std::memory_order_acquire) == 0) return false;
  std::lock_guard lock(mu_);
  auto it = map_.find(view(id));
  return it != map_.end() && it->second.moved_to.test(card);
}

void SessionLocations::set(std::span<const uint8_t> id, uint8_t card) {
  std::lock_guard lock(mu_);
  auto it = map_.find(view(id));
  if (it != map_.end()) {
    it->second.last = card;
    it->second.moved_to.set(card);
    order_.splice(order_.begin(), order_, it->second.age);
    return;
  }
  Key k(view(id));
  order_.push_front(k);
  Entry e{card, {}, order_.begin()};
  e.moved_to.set(card);
  map_.emplace(std::move(k), e);
  if (map_.size() > capacity_) {
    map_.erase(order_.back());
    order_.pop_back();
  }
  size_.store(map_.size(), std::memory_order_release);
}

}  // namespace sessnic::dispatch
