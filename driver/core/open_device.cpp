// The one place that maps a device kind to its implementation. Adding a kind: declare
// its factory in sessnic/open_device.hpp, add one line below, name its target as
// driver/core/CMakeLists.txt expects.
#include "sessnic/open_device.hpp"

#include <stdexcept>

namespace sessnic {

std::unique_ptr<Device> open_device(const DeviceConfig& config) {
  if (config.kind == "model") return make_model_device(config);
#ifdef SESSNIC_HAVE_VERILATOR_DEVICE
  if (config.kind == "verilator") return make_verilator_device(config);
#endif
#ifdef SESSNIC_HAVE_XRT_DEVICE
  if (config.kind == "xrt") return make_xrt_device(config);
#endif
  std::string known = "model";
#ifdef SESSNIC_HAVE_VERILATOR_DEVICE
  known += ", verilator";
#endif
#ifdef SESSNIC_HAVE_XRT_DEVICE
  known += ", xrt";
#endif
  throw std::invalid_argument("unknown device kind '" + config.kind + "' (this build has: " + known + ")");
}

}  // namespace sessnic
