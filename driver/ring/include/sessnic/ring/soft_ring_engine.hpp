// The card side of the ring contract (spec/wire.toml [ring], spec/regs.rdl ring
// registers) in software, in front of any Device: it consumes the command ring up to
// the doorbell, runs the commands on the table, writes the response ring and the status
// block, and answers bad descriptors BAD_CMD exactly as the RTL ring engine must. It is
// the card of the ring driver's in-process tests and the engine a software card service
// runs over shared memory. Single-threaded: whoever owns it calls step().
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "sessnic/device.hpp"
#include "sessnic/ring/ring_bus.hpp"
#include "sessnic/ring/ring_layout.hpp"

namespace sessnic::ring {

inline constexpr uint32_t kSoftBuildId = static_cast<uint32_t>(wire::Ring::CONTRACT) << 16;

class SoftRingEngine {
 public:
  // build_id: the BUILD_ID register (default: this ring contract, build 0).
  explicit SoftRingEngine(Device& table, uint32_t build_id = kSoftBuildId);

  // AXI4-Lite side. Writes take effect at once except a ring reset, which step() does
  // (like hardware, a few cycles later).
  void write_reg(uint32_t offset, uint32_t value);
  uint32_t read_reg(uint32_t offset) const;

  // Runs a pending reset, or up to `max_messages` commands between cmd_head and the
  // doorbell (fewer when the response ring is short of room). Returns whether anything
  // changed. Base registers are translated into `mem` via mem.device_address(); a ring
  // outside `mem` stops the engine with error AXI_ERROR.
  bool step(RingMemory& mem, unsigned max_messages = 64);

  uint32_t cmd_head() const { return cmd_head_; }
  uint32_t resets() const { return resets_; }

 private:
  struct Region {
    std::size_t offset;
    bool ok;
  };
  Region region(RingMemory& mem, uint32_t lo_reg, std::size_t bytes);
  void fail(uint8_t code);
  void write_status(RingMemory& mem, std::size_t status_off);
  uint32_t reg(uint32_t offset) const { return regs_[offset / 4]; }

  Device& table_;
  std::array<uint32_t, 0x200 / 4> regs_{};
  bool reset_pending_ = false;
  bool stopped_ = false;  // AXI error: stays off until the next ring reset
  uint32_t cmd_head_ = 0, cmd_tail_ = 0, rsp_head_ = 0, rsp_tail_ = 0;
  uint32_t error_ = 0, bad_descs_ = 0, resets_ = 0;
};

// Plain host memory as ring memory: coherent (syncs do nothing), 4 KiB aligned, and its
// device address is its host address (a card that shares the host's address space).
class HostRingMemory final : public RingMemory {
 public:
  explicit HostRingMemory(std::size_t bytes);
  uint8_t* data() override { return mem_.get(); }
  std::size_t size() const override { return size_; }
  uint64_t device_address() const override { return reinterpret_cast<uintptr_t>(mem_.get()); }
  void sync_to_device(std::size_t, std::size_t) override {}
  void sync_from_device(std::size_t, std::size_t) override {}

 private:
  struct Free {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t, Free> mem_;
  std::size_t size_;
};

// A card in this process: a SoftRingEngine in front of `table`, stepped by wait().
class SoftRingBus final : public RingBus {
 public:
  SoftRingBus(Device& table, const RingLayout& layout, uint32_t build_id = kSoftBuildId)
      : engine_(table, build_id), mem_(layout.bytes()) {}
  void write_reg(uint32_t offset, uint32_t value) override { engine_.write_reg(offset, value); }
  uint32_t read_reg(uint32_t offset) override { return engine_.read_reg(offset); }
  RingMemory& memory() override { return mem_; }
  void wait(Clock::time_point deadline) override;
  SoftRingEngine& engine() { return engine_; }

 private:
  SoftRingEngine engine_;
  HostRingMemory mem_;
};

}  // namespace sessnic::ring
