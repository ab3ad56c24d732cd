// The cluster config's [redis] table: what it accepts, what it refuses (file:line: field),
// and the mapping onto RedisOptions (the password file is read there, 0600 enforced).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "cluster_config.hpp"
#include "redis_options.hpp"
#include "redis_processes.hpp"

namespace sessnic::config {
namespace {

const std::string kBase = R"([cluster]
key_file = "k.key"
cert = "c.pem"
key = "k.pem"
[[server]]
name = "flights"
card = 1
listen = "127.0.0.1:9001"
content = "f"
[[route]]
default = true
servers = ["flights"]
)";

std::string error_of(const std::string& text) {
  try {
    parse_cluster_config(text, "dir/cluster.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(RedisConfig, ParsesEveryFieldAndResolvesPaths) {
  auto c = parse_cluster_config(kBase + R"([redis]
addresses = ["127.0.0.1:7000", "localhost:7001"]
cluster = true
user = "sessnic"
password_file = "redis.pass"
tls = true
tls_ca = "ca.pem"
tls_server_name = "redis.internal"
connect_timeout_ms = 300
io_timeout_ms = 50
on_unreachable = "degraded"
prefix = "travel:"
threads = 3
)",
                                "dir/cluster.toml");
  ASSERT_TRUE(c.redis);
  EXPECT_EQ(c.redis->addresses.size(), 2u);
  EXPECT_EQ(c.redis->addresses[1].host, "127.0.0.1");
  EXPECT_TRUE(c.redis->cluster);
  EXPECT_EQ(c.redis->password_file, std::filesystem::path("dir/redis.pass"));
  EXPECT_EQ(c.redis->tls_ca, std::filesystem::path("dir/ca.pem"));
  EXPECT_EQ(c.redis->io_timeout.count(), 50);
  EXPECT_EQ(c.redis->on_unreachable, "degraded");
  EXPECT_FALSE(parse_cluster_config(kBase, "dir/cluster.toml").redis);
}

TEST(RedisConfig, RefusesWhatCannotWorkNamingTheLineAndField) {
  EXPECT_NE(error_of(kBase + "[redis]\n").find("cluster.toml:13: redis.addresses"), std::string::npos)
      << error_of(kBase + "[redis]\n");
  EXPECT_NE(error_of(kBase + "[redis]\naddresses = [\"redis.internal:6379\"]\n").find("redis.addresses[0]"),
            std::string::npos);
  EXPECT_NE(error_of(kBase + "[redis]\naddresses = [\"127.0.0.1:1\"]\non_unreachable = \"ignore\"\n")
                .find("redis.on_unreachable: must be fail or degraded"),
            std::string::npos);
  EXPECT_NE(error_of(kBase + "[redis]\naddresses = [\"127.0.0.1:1\"]\ntls = true\n").find("redis.tls_ca"),
            std::string::npos);
  EXPECT_NE(error_of(kBase + "[redis]\naddresses = [\"127.0.0.1:1\"]\nuser = \"u\"\n").find("redis.user"),
            std::string::npos);
  EXPECT_NE(error_of(kBase + "[redis]\naddresses = [\"127.0.0.1:1\"]\nbogus = 1\n").find("redis.bogus: unknown field"),
            std::string::npos);
  EXPECT_NE(error_of(kBase + "[backplane]\nmode = \"hub\"\n[redis]\naddresses = [\"127.0.0.1:1\"]\n").find("not hub"),
            std::string::npos);
}

TEST(RedisConfig, OptionsReadThePasswordFileOnlyWhenOthersCannot) {
  sessnic::testing::TempDirectory dir;
  const auto pw = dir.path() / "redis.pass";
  std::ofstream(pw) << "secret\n";
  RedisConfig rc;
  rc.addresses = {{"127.0.0.1", 7000}};
  rc.password_file = pw;
  ::chmod(pw.c_str(), 0640);
  EXPECT_THROW(redis::redis_options(rc), std::runtime_error);
  ::chmod(pw.c_str(), 0600);
  auto o = redis::redis_options(rc);
  EXPECT_EQ(o.password, "secret");
  EXPECT_EQ(o.addresses.front().port, 7000);
}

}  // namespace
}  // namespace sessnic::config
