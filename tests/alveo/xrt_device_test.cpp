// The `xrt` device on XRT itself. Under XCL_EMULATION_MODE=noop (suite XrtNoop) XRT
// opens a device, loads an xclbin, opens the kernel IP and allocates and syncs buffers
// without a card; register access is what noop cannot do. Without emulation (suite
// XrtNoCard) this machine has no card. Both check the errors a user sees.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "sessnic/open_device.hpp"
#include "sessnic/xrt/xrt_bus.hpp"
#include "tiny_xclbin.hpp"

namespace sessnic::xrt_card {
namespace {

namespace fs = std::filesystem;

class XrtFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sessnic_xrt_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    good_ = (dir_ / "sessnic.xclbin").string();
    test::write_tiny_xclbin(good_, "sessnic_kernel:sessnic_kernel_1");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `fn` and returns the exception text (empty if nothing was thrown).
  template <typename Fn>
  static std::string error_of(Fn&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      return e.what();
    }
    return {};
  }
  static std::string open_error(const std::string& xclbin, unsigned index = 0) {
    return error_of([&] {
      DeviceConfig c;
      c.kind = "xrt";
      c.xclbin = xclbin;
      c.device_index = index;
      (void)open_device(c);
    });
  }

  fs::path dir_;
  std::string good_;
};

#define EXPECT_HAS(text, part) EXPECT_NE((text).find(part), std::string::npos) << "message: " << (text)

using XrtNoop = XrtFiles;

TEST_F(XrtNoop, OpensTheDeviceLoadsTheXclbinAndAllocatesAndSyncsTheRingBuffer) {
  XrtOptions o;
  o.xclbin = good_;
  o.layout = ring::RingLayout{10, 10};
  XrtBus bus(o);
  ring::RingMemory& m = bus.memory();
  ASSERT_GE(m.size(), o.layout.bytes());
  EXPECT_EQ(m.size() % 4096, 0u);
  for (std::size_t i = 0; i < m.size(); ++i) m.data()[i] = static_cast<uint8_t>(i * 7);
  m.sync_to_device(0, m.size());
  m.sync_to_device(o.layout.rsp_offset() + 64, 128);  // a sub-range, as the driver does
  m.sync_from_device(o.layout.status_offset(), 64);
  EXPECT_EQ(m.data()[12345], static_cast<uint8_t>(12345 * 7));
  EXPECT_HAS(bus.description(), "kernel sessnic_kernel");
  EXPECT_HAS(bus.description(), "card bank 0");
  // What noop cannot do: the kernel's registers. The error names the register.
  EXPECT_HAS(error_of([&] { (void)bus.read_reg(0); }), "cannot read the kernel's register 0x0");
}

TEST_F(XrtNoop, OpenDeviceFailsAtTheRegistersWithoutACard) {
  EXPECT_HAS(open_error(good_), "cannot write the kernel's register 0x8");
}

TEST_F(XrtNoop, NoXclbinIsAClearError) {
  EXPECT_HAS(open_error(""), "the xrt device needs an xclbin");
  EXPECT_HAS(open_error((dir_ / "missing.xclbin").string()), "not found");
}

TEST_F(XrtNoop, NotAnXclbinIsAClearError) {
  const std::string junk = (dir_ / "junk.xclbin").string();
  std::ofstream(junk) << "this is a bitstream, honest";
  EXPECT_HAS(open_error(junk), "is not an xclbin");
}

TEST_F(XrtNoop, WrongKernelIsAClearError) {
  const std::string other = (dir_ / "other.xclbin").string();
  test::write_tiny_xclbin(other, "vadd:vadd_1", 42);
  const std::string e = open_error(other);
  EXPECT_HAS(e, "wrong xclbin");
  EXPECT_HAS(e, "has no 'sessnic_kernel' kernel (it has: vadd:vadd_1)");
}

using XrtNoCard = XrtFiles;

TEST_F(XrtNoCard, NoCardIsAClearError) {
  ASSERT_EQ(std::getenv("XCL_EMULATION_MODE"), nullptr);
  EXPECT_HAS(open_error(good_, 3), "no Alveo card at XRT device index 3");
}

TEST_F(XrtNoCard, UnsetXrtIsAClearError) {
  const std::string saved = std::getenv("XILINX_XRT") ? std::getenv("XILINX_XRT") : "";
  ::unsetenv("XILINX_XRT");
  const std::string e = open_error(good_);
  if (!saved.empty()) ::setenv("XILINX_XRT", saved.c_str(), 1);
  EXPECT_HAS(e, "XILINX_XRT is unset");
}

}  // namespace
}  // namespace sessnic::xrt_card
