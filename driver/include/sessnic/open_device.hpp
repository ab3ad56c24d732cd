// Opening a device by name: the seam where device kinds plug in.
//
// open_device() (target `sessnic_devices`, driver/core/open_device.cpp) is one switch
// on DeviceConfig::kind. A new kind is one factory function declared below, defined in
// its own target (sessnic_verilator_device, sessnic_xrt_device) and one line in that
// switch; driver/core/CMakeLists.txt links the target in when it exists.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sessnic/device.hpp"

namespace sessnic {

// Table geometry of an in-process (model) table. Behaviour is identical; only the
// capacity differs.
enum class TableGeometry {
  full,   // ModelTable: 2^18 sets x 4 ways = 1,048,576 sessions (~300 MB virtual, touched lazily)
  small,  // 2^10 sets x 4 ways = 4096 sessions: tests
  tiny,   // 2^2 sets x 2 ways = 8 sessions: eviction tests
};

struct DeviceConfig {
  std::string kind = "model";  // "model"; "verilator" and "xrt" when their targets are built
  uint8_t card_id = 0;
  TableGeometry geometry = TableGeometry::full;
  // Card clock in Unix seconds. Empty = the wall clock. The device sends SET_TIME before
  // a batch whenever this value changed, so the table's expiry follows it.
  std::function<uint32_t()> clock;
  // Idle cycles of the background expiry sweep run after each batch (one set each).
  unsigned sweep_steps_per_batch = 4;
  // Model device: map the whole table's pages at open (madvise MADV_POPULATE_WRITE)
  // instead of on first use, so no PUT pays a page fault. Off by default: a fresh
  // process then costs only what it touches. Best effort on kernels without it.
  bool prefault = false;
  // `xrt` device (driver/xrt, docs/alveo.md): the xclbin to load and the card's XRT
  // device index (as `xbutil examine` lists them).
  std::string xclbin;
  unsigned device_index = 0;
};

// Throws std::invalid_argument for an unknown kind (the message lists the known ones)
// and std::runtime_error when the device cannot be opened.
std::unique_ptr<Device> open_device(const DeviceConfig& config);

// Factories, one per kind. Each is defined in the target that implements the kind.
std::unique_ptr<Device> make_model_device(const DeviceConfig& config);     // sessnic_driver
std::unique_ptr<Device> make_verilator_device(const DeviceConfig& config);  // sessnic_verilator_device
std::unique_ptr<Device> make_xrt_device(const DeviceConfig& config);        // sessnic_xrt_device

// The wall clock as the card clock wants it: Unix seconds.
uint32_t wall_clock_seconds();

}  // namespace sessnic
