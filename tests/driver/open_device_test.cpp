// open_device(): the switch over device kinds (target sessnic_devices, which links in
// every device kind this build has).
#include <gtest/gtest.h>

#include "sessnic/open_device.hpp"

namespace sessnic {
namespace {

TEST(OpenDevice, UnknownKindIsAClearError) {
  DeviceConfig cfg;
  cfg.kind = "warp-drive";
  try {
    (void)open_device(cfg);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("warp-drive"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("model"), std::string::npos);
  }
}

TEST(OpenDevice, ModelIsAlwaysThere) {
  DeviceConfig cfg;
  cfg.geometry = TableGeometry::tiny;
  cfg.card_id = 5;
  auto dev = open_device(cfg);
  EXPECT_EQ(dev->kind(), "model");
  EXPECT_EQ(dev->card_id(), 5);
}

}  // namespace
}  // namespace sessnic
