// make_xrt_device(): the `xrt` kind of open_device() — the one ring driver on an XrtBus.
#include "sessnic/open_device.hpp"
#include "sessnic/ring/ring_device.hpp"
#include "sessnic/xrt/xrt_bus.hpp"

namespace sessnic {

std::unique_ptr<Device> make_xrt_device(const DeviceConfig& config) {
  xrt_card::XrtOptions o;
  o.xclbin = config.xclbin;
  o.device_index = config.device_index;
  return std::make_unique<ring::RingDevice>("xrt", std::make_unique<xrt_card::XrtBus>(o), config,
                                            ring::RingConfig{o.layout});
}

}  // namespace sessnic
