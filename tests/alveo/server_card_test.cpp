// The start-up sessnic-server and sessnic-card share (host/config/server_card.hpp): the
// [[server]] section is found by name, and the card opened is the one the section names
// (device kind, card id, xclbin, device index), not a default.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "server_card.hpp"
#include "sessnic/key_file.hpp"
#include "tls_test_support.hpp"

namespace sessnic::config {
namespace {

// A cluster config file with one server, "flights" (card 4, no backplane), whose card is
// `device_lines`; with the certificate, key and key file it names.
class ServerCardFiles : public ::testing::Test {
 protected:
  std::filesystem::path write_config(const std::string& device_lines) {
    const auto pem = testtls::write_pem_files(dir_.path());
    if (!std::filesystem::exists(dir_.path() / "cluster.key")) generate_key_file(dir_.path() / "cluster.key", 1);
    const auto path = dir_.path() / "cluster.toml";
    std::ofstream(path) << "[cluster]\nkey_file = \"cluster.key\"\ncert = \"" << pem.cert.string() << "\"\nkey = \""
                        << pem.key.string() << R"("
[dispatcher]
listen = "127.0.0.1:8443"
[[server]]
name = "flights"
card = 4
listen = "127.0.0.1:9001"
content = "f"
)" << device_lines << R"(
[[route]]
sni = "www.x.test"
servers = ["flights"]
)";
    return path;
  }
  testtls::TempDir dir_;
};

TEST_F(ServerCardFiles, FindsTheServerByNameOrSaysWhichIsMissing) {
  const auto path = write_config("");
  const ServerSection s = load_server_section(path, "flights");
  EXPECT_EQ(s.server.name, "flights");
  EXPECT_EQ(s.server.card, 4);
  ASSERT_EQ(s.cluster.servers.size(), 1u);
  try {
    load_server_section(path, "trains");
    FAIL() << "found a server the config does not have";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), path.string() + ": no [[server]] named 'trains'");
  }
}

TEST_F(ServerCardFiles, DeviceConfigIsTheSections) {
  const auto s = load_server_section(write_config("device = \"xrt\"\nxclbin = \"cards/u250.xclbin\"\ndevice_index = 2\n"),
                                     "flights");
  const DeviceConfig dc = device_config(s.server);
  EXPECT_EQ(dc.kind, "xrt");
  EXPECT_EQ(dc.card_id, 4);
  EXPECT_EQ(std::filesystem::path(dc.xclbin), dir_.path() / "cards/u250.xclbin");
  EXPECT_EQ(dc.device_index, 2u);
}

TEST_F(ServerCardFiles, OpensTheDeviceTheSectionNames) {
  auto s = load_server_section(write_config(""), "flights");
  const Keyring keys = load_key_file(s.cluster.key_file);
  {
    auto card = open_cluster_card(s.cluster, s.server, keys);
    EXPECT_EQ(card.device().kind(), "model");
    EXPECT_EQ(card.device().card_id(), 4);
    EXPECT_EQ(card.node(), nullptr) << "no backplane address, no node";
    EXPECT_EQ(card.description(), "model card 4 (no backplane)");
  }
  s.server.device = "verilator";
  {
    auto card = open_cluster_card(s.cluster, s.server, keys);
    EXPECT_EQ(card.device().kind(), "verilator");
    EXPECT_EQ(card.device().card_id(), 4);
  }
  // An xrt card whose xclbin is not there: xrt's own error, so the xrt device was asked.
  s.server.device = "xrt";
  s.server.xclbin = dir_.path() / "missing.xclbin";
  try {
    open_cluster_card(s.cluster, s.server, keys);
    FAIL() << "opened an xrt card without its xclbin";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("xclbin '" + s.server.xclbin.string() + "' not found"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace sessnic::config
