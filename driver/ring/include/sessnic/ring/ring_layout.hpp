// Where the command ring, the response ring and the status block sit in RingMemory
// (spec/wire.toml [ring]): each starts on a 4 KiB boundary, in that order.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "wire/sessnic_wire.hpp"

namespace sessnic::ring {

inline constexpr unsigned kSlotBytes = 1u << static_cast<unsigned>(wire::Ring::SLOT_BYTES_LOG2);
inline constexpr unsigned kMinLog2 = static_cast<unsigned>(wire::Ring::SIZE_LOG2_MIN);
inline constexpr unsigned kMaxLog2 = static_cast<unsigned>(wire::Ring::SIZE_LOG2_MAX);
inline constexpr std::size_t kAlign = std::size_t{1} << static_cast<unsigned>(wire::Ring::ALIGN_LOG2);
inline constexpr unsigned kStatusBytes = static_cast<unsigned>(wire::Ring::STATUS_BYTES);
inline constexpr unsigned kMsgMaxSlots = static_cast<unsigned>(wire::Ring::MSG_MAX_SLOTS);
static_assert(kSlotBytes == wire::BEAT_BYTES, "a ring slot is one stream beat");
static_assert(kMsgMaxSlots == 1 + wire::SLOT_BYTES / wire::BEAT_BYTES, "longest message = header + blob beats");

struct RingLayout {
  unsigned cmd_log2 = 10;
  unsigned rsp_log2 = 10;

  // Throws std::invalid_argument unless both sizes are within SIZE_LOG2_MIN..MAX.
  void validate() const {
    for (unsigned l : {cmd_log2, rsp_log2})
      if (l < kMinLog2 || l > kMaxLog2)
        throw std::invalid_argument("ring size log2 " + std::to_string(l) + " outside " + std::to_string(kMinLog2) +
                                    ".." + std::to_string(kMaxLog2));
  }
  uint32_t cmd_slots() const { return 1u << cmd_log2; }
  uint32_t rsp_slots() const { return 1u << rsp_log2; }
  static std::size_t align_up(std::size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }
  std::size_t cmd_offset() const { return 0; }
  std::size_t rsp_offset() const { return align_up(std::size_t{cmd_slots()} * kSlotBytes); }
  std::size_t status_offset() const { return rsp_offset() + align_up(std::size_t{rsp_slots()} * kSlotBytes); }
  std::size_t bytes() const { return status_offset() + kAlign; }
};

}  // namespace sessnic::ring
