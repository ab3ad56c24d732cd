// The cluster config: the shipped example loads, and every kind of mistake names the
// file, the line and the field.
#include <gtest/gtest.h>

#include "cluster_config.hpp"

namespace sessnic::config {
namespace {

const std::string kGood = R"([cluster]
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
[[server]]
name = "cars"
card = 2
listen = "127.0.0.1:9002"
content = "c"
[[route]]
sni = "www.x.test"
servers = ["flights", "cars"]
)";

std::string error_of(const std::string& text) {
  try {
    parse_cluster_config(text, "dir/cluster.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  return s.replace(p, from.size(), to);
}

TEST(DispatchConfig, ExampleTravelConfigLoads) {
  auto c = load_cluster_config(SESSNIC_SOURCE_DIR "/examples/travel.toml");
  ASSERT_EQ(c.servers.size(), 3u);
  EXPECT_EQ(c.dispatcher.listen.str(), "127.0.0.1:8443");
  EXPECT_EQ(c.dispatcher.metrics.host, "127.0.0.1");  // control endpoints on loopback
  EXPECT_TRUE(c.dispatcher.sharing);
  EXPECT_EQ(c.backplane.mode, "transfer");
  bool load_balanced = false;
  for (auto& r : c.routes) load_balanced |= r.servers.size() >= 2;
  EXPECT_TRUE(load_balanced);
  EXPECT_TRUE(c.servers[0].content.is_absolute() || c.servers[0].content.string().find("examples/travel/flights") != std::string::npos);
}

TEST(DispatchConfig, RelativePathsFollowTheFile) {
  auto c = parse_cluster_config(kGood, "/etc/sessnic/cluster.toml");
  EXPECT_EQ(c.key_file, "/etc/sessnic/k.key");
  EXPECT_EQ(c.servers[1].content, "/etc/sessnic/c");
  EXPECT_EQ(c.servers[1].card, 2);
}

TEST(DispatchConfig, ErrorsNameFileLineAndField) {
  EXPECT_EQ(error_of(replace(kGood, "card = 2", "card = 1")), "dir/cluster.toml:14: server[1].card: card 1 is already used");
  EXPECT_EQ(error_of(replace(kGood, "card = 2", "card = 300")), "dir/cluster.toml:14: server[1].card: must be in 1..255");
  EXPECT_EQ(error_of(replace(kGood, "listen = \"127.0.0.1:9002\"", "listen = \"nowhere\"")),
            "dir/cluster.toml:15: server[1].listen: 'nowhere' is not host:port");
  EXPECT_EQ(error_of(replace(kGood, "\"cars\"]", "\"trains\"]")),
            "dir/cluster.toml:19: route[0].servers: no server named 'trains'");
  EXPECT_EQ(error_of(replace(kGood, "content = \"c\"", "contents = \"c\"")),
            "dir/cluster.toml:16: server[1].contents: unknown field");
  EXPECT_EQ(error_of(replace(kGood, "card = 2", "card = \"two\"")),
            "dir/cluster.toml:14: server[1].card: wrong type (expected an integer)");
  EXPECT_NE(error_of(replace(kGood, "name = \"cars\"\n", "")).find("server[1].name: missing required field"),
            std::string::npos);
  EXPECT_NE(error_of(replace(kGood, "[dispatcher]", "[dispatcher]\npolicy = \"sticky\"")).find("dispatcher.policy: must be"),
            std::string::npos);
  EXPECT_NE(error_of("[cluster\n").find("dir/cluster.toml:1:"), std::string::npos);  // TOML syntax error
  EXPECT_NE(error_of(replace(kGood, "listen = \"127.0.0.1:9001\"", "listen = \"127.0.0.1:0\"")).find("fixed port"),
            std::string::npos);
}

TEST(DispatchConfig, MissingFileIsAClearError) {
  EXPECT_THROW(load_cluster_config("/nonexistent/cluster.toml"), ConfigError);
}

TEST(DispatchConfig, Endpoints) {
  EXPECT_EQ(parse_endpoint("127.0.0.1:8443")->port, 8443);
  EXPECT_FALSE(parse_endpoint("127.0.0.1"));
  EXPECT_FALSE(parse_endpoint(":80"));
  EXPECT_FALSE(parse_endpoint("h:65536"));
  EXPECT_FALSE(parse_endpoint("h:80x"));
}

}  // namespace
}  // namespace sessnic::config
