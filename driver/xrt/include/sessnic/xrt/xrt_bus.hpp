// The `xrt` device's RingBus: an Alveo card through the XRT native API. The kernel's
// AXI4-Lite registers through xrt::ip (user-managed control), the rings and status block
// in one xrt::bo in the memory bank the kernel's m_axi port is linked to (host memory
// when the link config maps it to HOST[0]), synced by DMA.
//
// Opening checks, in order, and fails with a message that says which one failed: an
// xclbin path was given and the file exists and is an xclbin; it holds the sessnic
// kernel; XRT is usable (XILINX_XRT) and the card at `device_index` exists; the xclbin
// loads onto it. The register identity (ID, BUILD_ID) is RingDriver's check.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "sessnic/ring/ring_bus.hpp"
#include "sessnic/ring/ring_layout.hpp"

namespace sessnic::xrt_card {

inline constexpr const char* kKernelName = "sessnic_kernel";  // scripts/vitis/kernel.xml

struct XrtOptions {
  std::string xclbin;         // path to the .xclbin built by `make xclbin`
  unsigned device_index = 0;  // XRT device index
  std::string kernel = kKernelName;
  ring::RingLayout layout;    // sizes the ring buffer
};

class XrtBus final : public ring::RingBus {
 public:
  // Throws std::runtime_error (std::invalid_argument for a missing path) with a
  // message naming the failed step.
  explicit XrtBus(const XrtOptions& options);
  ~XrtBus() override;

  void write_reg(uint32_t offset, uint32_t value) override;
  uint32_t read_reg(uint32_t offset) override;
  ring::RingMemory& memory() override;
  // A card runs by itself: sleep a little (XRT has no cheaper wait for a polled ring).
  void wait(ring::Clock::time_point deadline) override;

  // What was opened, for `sessnic card info`.
  const std::string& description() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sessnic::xrt_card
