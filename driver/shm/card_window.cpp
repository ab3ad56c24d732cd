#include "sessnic/shm/card_window.hpp"

namespace sessnic::shm {

// The other side is another process on the same memory: release before the status block
// or doorbell that publishes what was written, acquire before reading what it covers.
void WindowRingMemory::sync_to_device(std::size_t, std::size_t) { std::atomic_thread_fence(std::memory_order_release); }
void WindowRingMemory::sync_from_device(std::size_t, std::size_t) { std::atomic_thread_fence(std::memory_order_acquire); }

}  // namespace sessnic::shm
