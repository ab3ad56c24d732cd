// What the one ring driver needs from a card: its registers, the memory holding the
// rings, and a way to let the card run. Implemented by the `xrt` device (xrt::ip +
// xrt::bo), the Verilator binding (the Verilated kernel + its m_axi host-memory model)
// and the soft ring engine (an in-process card, soft_ring_engine.hpp).
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace sessnic::ring {

using Clock = std::chrono::steady_clock;

// The memory the card reaches over AXI: command ring, response ring and status block
// (RingLayout says where each one is). The host writes through data() and then calls
// sync_to_device(); it calls sync_from_device() before reading what the card wrote.
// On coherent memory both syncs are no-ops; on a card (xrt::bo) they are DMAs.
class RingMemory {
 public:
  virtual ~RingMemory() = default;
  virtual uint8_t* data() = 0;
  virtual std::size_t size() const = 0;
  // Address of data()[0] as the card's m_axi master sees it (what the base registers hold).
  virtual uint64_t device_address() const = 0;
  virtual void sync_to_device(std::size_t offset, std::size_t len) = 0;
  virtual void sync_from_device(std::size_t offset, std::size_t len) = 0;
};

class RingBus {
 public:
  virtual ~RingBus() = default;
  // AXI4-Lite registers of spec/regs.rdl, byte offsets (sessnic_regs.h).
  virtual void write_reg(uint32_t offset, uint32_t value) = 0;
  virtual uint32_t read_reg(uint32_t offset) = 0;
  virtual RingMemory& memory() = 0;
  // Lets the card make progress for a while, returning early at `deadline`: a real card
  // runs by itself (sleep/yield), a simulated one is clocked here. The driver calls it
  // whenever it has nothing to do but wait, and judges its timeouts by Clock::now().
  virtual void wait(Clock::time_point deadline) = 0;
};

}  // namespace sessnic::ring
