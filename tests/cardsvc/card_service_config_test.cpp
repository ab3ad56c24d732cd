// The [[server]] card_service field: where libsessnic and sessnic-card find the socket.
#include <gtest/gtest.h>

#include "cluster_config.hpp"

namespace sessnic::config {
namespace {

std::string cluster(const std::string& server_extra) {
  return R"(
[cluster]
key_file = "cluster.key"
cert = "cert.pem"
key = "key.pem"
[dispatcher]
listen = "127.0.0.1:8443"
metrics = "127.0.0.1:9443"
[[server]]
name = "a"
card = 1
listen = "127.0.0.1:8444"
content = "www"
)" + server_extra + R"(
[[server]]
name = "b"
card = 2
listen = "127.0.0.1:8445"
content = "www"
[[route]]
default = true
servers = ["a", "b"]
)";
}

TEST(CardServiceConfig, SocketPathIsResolvedAgainstTheConfigAndOptional) {
  const auto c = parse_cluster_config(cluster("card_service = \"run/card.sock\"\n"), "/etc/sessnic/cluster.toml");
  ASSERT_TRUE(c.find_server("a")->card_service.has_value());
  EXPECT_EQ(*c.find_server("a")->card_service, "/etc/sessnic/run/card.sock");
  EXPECT_FALSE(c.find_server("b")->card_service.has_value());
  const auto abs = parse_cluster_config(cluster("card_service = \"/run/sessnic/card.sock\"\n"), "/etc/x.toml");
  EXPECT_EQ(*abs.find_server("a")->card_service, "/run/sessnic/card.sock");
}

TEST(CardServiceConfig, EmptyOrNonStringIsAnErrorNamingTheField) {
  for (const char* bad : {"card_service = \"\"\n", "card_service = 3\n"}) {
    try {
      parse_cluster_config(cluster(bad), "c.toml");
      FAIL() << bad;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("server[0].card_service"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace sessnic::config
