// Layout of one client's shared-memory card window: the soft card's "registers", its
// status block and the two host rings of the ring contract (issue 12):
//
//   offset 0        register page (4 KiB): identity, ring geometry, CMD_DOORBELL,
//                   RSP_DOORBELL (written by the client), and at kStatusBlock the 64-byte
//                   status block (written by the card: cmd_head, rsp_tail, error)
//   offset 4096     command ring:  2^cmd_log2 slots of 64 bytes (one stream beat each)
//   after it        response ring: 2^rsp_log2 slots of 64 bytes
//
// Slots hold the beats of the card's command/response streams unchanged (a header beat,
// then ceil(blob_len/64) blob beats; TLAST implied by blob_len); a k-beat message uses k
// consecutive slots, wrapping. Indices are free-running u32 slot counters. Full when
// tail - head == size.
//
// The same numbers the hardware ring engine uses; they live here until spec/wire.toml
// has the [ring] section (then this header takes them from the generated one).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "wire/sessnic_wire.hpp"

namespace sessnic::shm {

inline constexpr uint32_t kMagic = 0x53524e47;  // "GNRS": a sessnic ring window
inline constexpr uint32_t kLayoutVersion = 1;
inline constexpr std::size_t kSlotBytes = wire::BEAT_BYTES;
inline constexpr unsigned kMinRingLog2 = 4;
inline constexpr unsigned kMaxRingLog2 = 16;
inline constexpr std::size_t kRegisterPage = 4096;  // rings are 4 KiB aligned

// Register page offsets (bytes). Each is one u32.
inline constexpr std::size_t kRegMagic = 0;
inline constexpr std::size_t kRegLayoutVersion = 4;
inline constexpr std::size_t kRegCmdRingLog2 = 8;   // CMD_RING_SIZE_LOG2
inline constexpr std::size_t kRegRspRingLog2 = 12;  // RSP_RING_SIZE_LOG2
inline constexpr std::size_t kRegCardId = 16;
inline constexpr std::size_t kRegCmdDoorbell = 64;  // CMD_DOORBELL: host's cmd_tail
inline constexpr std::size_t kRegRspDoorbell = 68;  // RSP_DOORBELL: host's rsp_head
// Status block (64 bytes), written by the card after the response slots it covers.
inline constexpr std::size_t kStatusBlock = 128;
inline constexpr std::size_t kStatusCmdHead = kStatusBlock + 0;
inline constexpr std::size_t kStatusRspTail = kStatusBlock + 4;
inline constexpr std::size_t kStatusError = kStatusBlock + 8;  // RING_STATUS.error: last error code, sticky

// RING_STATUS error codes (the card keeps serving; the code says what it dropped).
enum class RingError : uint32_t {
  none = 0,
  bad_descriptor = 1,      // a message was answered BAD_CMD
  cmd_doorbell_range = 2,  // CMD_DOORBELL beyond head + size: ignored
  rsp_doorbell_range = 3,  // RSP_DOORBELL beyond rsp_tail or behind it by more than size: ignored
};

struct RingGeometry {
  unsigned cmd_log2 = 8;
  unsigned rsp_log2 = 8;
  uint32_t cmd_slots() const { return 1u << cmd_log2; }
  uint32_t rsp_slots() const { return 1u << rsp_log2; }
  std::size_t cmd_offset() const { return kRegisterPage; }
  std::size_t rsp_offset() const { return kRegisterPage + std::size_t{cmd_slots()} * kSlotBytes; }
  std::size_t bytes() const { return rsp_offset() + std::size_t{rsp_slots()} * kSlotBytes; }
  bool valid() const {
    return cmd_log2 >= kMinRingLog2 && cmd_log2 <= kMaxRingLog2 && rsp_log2 >= kMinRingLog2 && rsp_log2 <= kMaxRingLog2;
  }
};

// The longest response the card sends: a header and a SLOT_BYTES blob. The card only
// starts a command when this many response slots are free, so a response always fits.
inline constexpr uint32_t kMaxResponseSlots = 1 + (wire::SLOT_BYTES + kSlotBytes - 1) / kSlotBytes;

// A u32 register or status word in the shared window. Both sides are separate
// processes: every access is an atomic with acquire/release ordering, the equivalent
// of the hardware's ordered MMIO writes and its status write after the data.
inline std::atomic_ref<uint32_t> word(void* base, std::size_t offset) {
  return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(static_cast<char*>(base) + offset));
}

}  // namespace sessnic::shm
