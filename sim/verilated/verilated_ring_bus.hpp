// The one ring driver's bus (driver/ring, sessnic::ring::RingBus) on the Verilated Vitis
// kernel: registers over its s_axi_control, ring memory = the host-memory model its
// m_axi reaches (coherent: the syncs do nothing), and wait() clocks the kernel. So the
// driver code that runs on a card (driver/xrt) runs cycle-accurately against the RTL.
#pragma once
#include <stdint.h>

#include <memory>
#include <stdexcept>

#include "sessnic/ring/ring_bus.hpp"
#include "verilated_kernel_bus.hpp"

namespace sessnic::rtlsim {

class VerilatedRingBus final : public ring::RingBus {
 public:
  // `cycles_per_wait`: kernel cycles clocked per wait() call (the driver re-checks its
  // deadlines after each).
  explicit VerilatedRingBus(std::unique_ptr<VerilatedKernelBus> kernel, unsigned cycles_per_wait = 64)
      : kernel_(std::move(kernel)), mem_(*kernel_), cycles_(cycles_per_wait) {
    if (!kernel_) throw std::invalid_argument("VerilatedRingBus: no kernel");
  }

  void write_reg(uint32_t offset, uint32_t value) override { kernel_->write32(offset, value); }
  uint32_t read_reg(uint32_t offset) override { return kernel_->read32(offset); }
  ring::RingMemory& memory() override { return mem_; }
  void wait(ring::Clock::time_point deadline) override {
    (void)deadline;  // a few cycles are far shorter than any deadline of the driver
    kernel_->step(cycles_);
  }
  VerilatedKernelBus& kernel() { return *kernel_; }

 private:
  class Memory final : public ring::RingMemory {
   public:
    explicit Memory(VerilatedKernelBus& k) : k_(k) {}
    uint8_t* data() override { return k_.memory().data(); }
    std::size_t size() const override { return k_.memory().size(); }
    uint64_t device_address() const override { return k_.memory_base(); }
    void sync_to_device(std::size_t, std::size_t) override {}
    void sync_from_device(std::size_t, std::size_t) override {}

   private:
    VerilatedKernelBus& k_;
  };

  std::unique_ptr<VerilatedKernelBus> kernel_;
  Memory mem_;
  unsigned cycles_;
};

}  // namespace sessnic::rtlsim
