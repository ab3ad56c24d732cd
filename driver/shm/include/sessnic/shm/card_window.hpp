// One client's shared-memory window on the card service:
//
//   offset 0     doorbell page (4 KiB): CMD_DOORBELL and RSP_DOORBELL as the client last
//                wrote them (the hot-path registers; the eventfd says "look again")
//   offset 4096  ring memory as driver/ring lays it out (RingLayout: command ring,
//                response ring, status block), at card address 0
//
// Every other register (bases, sizes, RING_CTRL, ID, BUILD_ID, RING_STATUS, ...) is a
// request/answer on the attach socket: rare, and ordered before later doorbells.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "sessnic/ring/ring_bus.hpp"
#include "sessnic/ring/ring_layout.hpp"

namespace sessnic::shm {

inline constexpr std::size_t kDoorbellPage = 4096;
inline constexpr std::size_t kCmdDoorbellWord = 0;
inline constexpr std::size_t kRspDoorbellWord = 4;

inline std::size_t window_bytes(const ring::RingLayout& l) { return kDoorbellPage + l.bytes(); }

inline std::atomic_ref<uint32_t> doorbell_word(void* window, std::size_t offset) {
  return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(static_cast<char*>(window) + offset));
}

// The ring part of a window as the card reaches it: coherent shared memory, card address
// 0 in both processes (each maps the memfd at its own address). The syncs are the
// fences that order slot contents against the status block and the doorbells.
class WindowRingMemory final : public ring::RingMemory {
 public:
  WindowRingMemory(void* window, const ring::RingLayout& layout)
      : data_(static_cast<uint8_t*>(window) + kDoorbellPage), size_(layout.bytes()) {}
  uint8_t* data() override { return data_; }
  std::size_t size() const override { return size_; }
  uint64_t device_address() const override { return 0; }
  void sync_to_device(std::size_t, std::size_t) override;
  void sync_from_device(std::size_t, std::size_t) override;

 private:
  uint8_t* data_;
  std::size_t size_;
};

// A register access on the attach socket (client -> service), and its answer.
struct RegRequest {
  uint32_t op = 0;  // kRegWrite / kRegRead
  uint32_t offset = 0;
  uint32_t value = 0;
  uint32_t reserved = 0;
};
struct RegAnswer {
  uint32_t value = 0;
  uint32_t ok = 0;
};
inline constexpr uint32_t kRegWrite = 1;
inline constexpr uint32_t kRegRead = 2;

}  // namespace sessnic::shm
