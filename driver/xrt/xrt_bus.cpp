// XRT native API behind the RingBus interface. XRT reports errors as exceptions with
// terse texts; each step below adds what it was trying to do and what to check.
#include "sessnic/xrt/xrt_bus.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <thread>

#include <experimental/xrt_ip.h>
#include <experimental/xrt_xclbin.h>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>

#include <fmt/format.h>

namespace sessnic::xrt_card {
namespace {

// One xrt::bo as ring memory.
class BoMemory final : public ring::RingMemory {
 public:
  BoMemory(xrt::bo bo, std::size_t size) : bo_(std::move(bo)), ptr_(bo_.map<uint8_t*>()), size_(size) {}
  uint8_t* data() override { return ptr_; }
  std::size_t size() const override { return size_; }
  uint64_t device_address() const override { return bo_.address(); }
  void sync_to_device(std::size_t offset, std::size_t len) override { bo_.sync(XCL_BO_SYNC_BO_TO_DEVICE, len, offset); }
  void sync_from_device(std::size_t offset, std::size_t len) override {
    bo_.sync(XCL_BO_SYNC_BO_FROM_DEVICE, len, offset);
  }

 private:
  xrt::bo bo_;
  uint8_t* ptr_;
  std::size_t size_;
};

// The xclbin IP that is our kernel: "sessnic_kernel" or "sessnic_kernel:<cu name>".
bool is_kernel(const std::string& ip_name, const std::string& kernel) {
  return ip_name == kernel || ip_name.rfind(kernel + ":", 0) == 0;
}

}  // namespace

struct XrtBus::Impl {
  xrt::device device;
  xrt::uuid uuid;
  xrt::ip ip;
  std::unique_ptr<BoMemory> memory;
  std::string description;
};

XrtBus::XrtBus(const XrtOptions& o) : impl_(std::make_unique<Impl>()) {
  if (o.xclbin.empty())
    throw std::invalid_argument("the xrt device needs an xclbin: give its path (--xclbin, or xclbin = \"...\" in the "
                                "cluster config); `make xclbin` builds one (docs/alveo.md)");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(o.xclbin, ec))
    throw std::runtime_error(fmt::format("xclbin '{}' not found", o.xclbin));
  {
    std::ifstream f(o.xclbin, std::ios::binary);
    char magic[8] = {};
    f.read(magic, sizeof magic);
    if (std::string(magic, 7) != "xclbin2")
      throw std::runtime_error(fmt::format("'{}' is not an xclbin (no xclbin2 header)", o.xclbin));
  }
  xrt::xclbin xclbin;
  try {
    xclbin = xrt::xclbin(o.xclbin);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("'{}' is not a readable xclbin: {}", o.xclbin, e.what()));
  }
  std::string names;
  std::optional<xrt::xclbin::ip> kernel_ip;
  for (const auto& ip : xclbin.get_ips()) {
    names += (names.empty() ? "" : ", ") + ip.get_name();
    if (!kernel_ip && is_kernel(ip.get_name(), o.kernel)) kernel_ip = ip;
  }
  if (!kernel_ip)
    throw std::runtime_error(fmt::format("wrong xclbin: '{}' has no '{}' kernel (it has: {})", o.xclbin, o.kernel,
                                         names.empty() ? "no kernels" : names));
  if (std::getenv("XILINX_XRT") == nullptr)
    throw std::runtime_error(
        "XRT is not set up: XILINX_XRT is unset (source /opt/xilinx/xrt/setup.sh; with Debian's libxrt, point it at a "
        "directory whose lib/ holds libxrt_core.so.2, see docs/alveo.md)");
  try {
    impl_->device = xrt::device(o.device_index);
  } catch (const std::exception& e) {
    throw std::runtime_error(
        fmt::format("no Alveo card at XRT device index {} ({}); `xbutil examine` lists the cards", o.device_index, e.what()));
  }
  try {
    impl_->uuid = impl_->device.load_xclbin(xclbin);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("cannot load '{}' onto device {} (platform '{}'): {}", o.xclbin,
                                         o.device_index, xclbin.get_xsa_name(), e.what()));
  }
  try {
    impl_->ip = xrt::ip(impl_->device, impl_->uuid, o.kernel);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("cannot open kernel '{}' (another process may hold it): {}", o.kernel, e.what()));
  }
  // The bank the kernel's m_axi port is linked to (link config `sp`); bank 0 when the
  // xclbin does not say. HOST banks need a host-only buffer.
  int bank = 0;
  bool host = false;
  bool linked = false;
  for (const auto& arg : kernel_ip->get_args())
    for (const auto& mem : arg.get_mems())
      if (!linked && mem.get_used()) {
        bank = mem.get_index();
        host = mem.get_tag().rfind("HOST", 0) == 0;
        linked = true;
      }
  const std::size_t bytes = ring::RingLayout::align_up(o.layout.bytes());
  try {
    xrt::bo bo(impl_->device, bytes, host ? xrt::bo::flags::host_only : xrt::bo::flags::normal,
               static_cast<xrt::memory_group>(bank));
    impl_->memory = std::make_unique<BoMemory>(std::move(bo), bytes);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("cannot allocate the {}-byte ring buffer in bank {}: {}", bytes, bank, e.what()));
  }
  impl_->description = fmt::format("xrt device {} ({}), xclbin {} [{}], kernel {}, ring buffer {} bytes in {} bank {}",
                                   o.device_index, xclbin.get_xsa_name(), o.xclbin, impl_->uuid.to_string(), o.kernel,
                                   bytes, host ? "host" : "card", bank);
}

XrtBus::~XrtBus() = default;

void XrtBus::write_reg(uint32_t offset, uint32_t value) {
  try {
    impl_->ip.write_register(offset, value);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("cannot write the kernel's register 0x{:x}: {}", offset, e.what()));
  }
}

uint32_t XrtBus::read_reg(uint32_t offset) {
  try {
    return impl_->ip.read_register(offset);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("cannot read the kernel's register 0x{:x}: {}", offset, e.what()));
  }
}

ring::RingMemory& XrtBus::memory() { return *impl_->memory; }

void XrtBus::wait(ring::Clock::time_point deadline) {
  const auto step = std::chrono::microseconds(20);
  std::this_thread::sleep_until(std::min(deadline, ring::Clock::now() + step));
}

const std::string& XrtBus::description() const { return impl_->description; }

}  // namespace sessnic::xrt_card
