// The cluster config's per-server card: device = "model" | "verilator" | "xrt", and for
// xrt the xclbin (relative to the config file) and the XRT device index.
#include <gtest/gtest.h>

#include <string>

#include "cluster_config.hpp"

namespace sessnic::config {
namespace {

std::string config(const std::string& server_extra) {
  return R"([cluster]
key_file = "k.key"
cert = "c.pem"
key = "k.pem"
[dispatcher]
listen = "127.0.0.1:8443"
[[server]]
name = "flights"
card = 1
listen = "127.0.0.1:9001"
content = "f"
)" + server_extra + R"(
[[route]]
sni = "www.x.test"
servers = ["flights"]
)";
}

std::string error_of(const std::string& text) {
  try {
    parse_cluster_config(text, "/etc/sessnic/cluster.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ClusterDeviceConfig, DefaultIsTheModel) {
  const auto c = parse_cluster_config(config(""), "/etc/sessnic/cluster.toml");
  EXPECT_EQ(c.servers[0].device, "model");
  EXPECT_TRUE(c.servers[0].xclbin.empty());
}

TEST(ClusterDeviceConfig, XrtTakesAnXclbinRelativeToTheConfigAndAnIndex) {
  const auto c = parse_cluster_config(config("device = \"xrt\"\nxclbin = \"cards/sessnic_u250.xclbin\"\ndevice_index = 2\n"),
                                      "/etc/sessnic/cluster.toml");
  EXPECT_EQ(c.servers[0].device, "xrt");
  EXPECT_EQ(c.servers[0].xclbin, "/etc/sessnic/cards/sessnic_u250.xclbin");
  EXPECT_EQ(c.servers[0].device_index, 2u);
  EXPECT_EQ(parse_cluster_config(config("device = \"verilator\"\n"), "/x/c.toml").servers[0].device, "verilator");
}

TEST(ClusterDeviceConfig, MistakesNameTheField) {
  std::string e = error_of(config("device = \"fpga\"\n"));
  EXPECT_NE(e.find("server[0].device"), std::string::npos) << e;
  EXPECT_NE(e.find("must be model, verilator or xrt"), std::string::npos) << e;
  e = error_of(config("device = \"xrt\"\n"));
  EXPECT_NE(e.find("server[0].xclbin"), std::string::npos) << e;
  e = error_of(config("device = \"xrt\"\nxclbin = \"a.xclbin\"\ndevice_index = 999\n"));
  EXPECT_NE(e.find("server[0].device_index"), std::string::npos) << e;
  e = error_of(config("xclbin = \"a.xclbin\"\n"));
  EXPECT_NE(e.find("only for device = \"xrt\""), std::string::npos) << e;
}

}  // namespace
}  // namespace sessnic::config
