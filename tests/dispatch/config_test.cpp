// The cluster config: the shipped example loads, and every kind of mistake names the
// file, the line and the field.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

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
  EXPECT_TRUE(c.tls.throwaway_cert);  // the demo asks for a generated certificate explicitly
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
  EXPECT_EQ(error_of(replace(kGood, "card = 2", "card = 300")),
            "dir/cluster.toml:14: server[1].card: must be in 1..254 (255 is the backplane broadcast address)");
  EXPECT_EQ(error_of(replace(kGood, "listen = \"127.0.0.1:9002\"", "listen = \"nowhere\"")),
            "dir/cluster.toml:15: server[1].listen: 'nowhere' is not host:port (host: an IPv4 address, [IPv6 address] "
            "or localhost)");
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

// early_move: off unless asked (the servers that pull take the session themselves).
TEST(DispatchConfig, EarlyMoveIsABooleanOffByDefault) {
  EXPECT_FALSE(parse_cluster_config(kGood, "c.toml").dispatcher.early_move);
  EXPECT_TRUE(parse_cluster_config(replace(kGood, "[dispatcher]\n", "[dispatcher]\nearly_move = true\n"), "c.toml")
                  .dispatcher.early_move);
  EXPECT_EQ(error_of(replace(kGood, "[dispatcher]\n", "[dispatcher]\nearly_move = \"yes\"\n")),
            "dir/cluster.toml:6: dispatcher.early_move: wrong type (expected true/false)");
}

// io_threads: one event loop by default; each one more is a loop with its own listener.
TEST(DispatchConfig, IoThreadsIsOneByDefaultAndBounded) {
  EXPECT_EQ(parse_cluster_config(kGood, "c.toml").dispatcher.io_threads, 1u);
  EXPECT_EQ(parse_cluster_config(replace(kGood, "[dispatcher]\n", "[dispatcher]\nio_threads = 2\n"), "c.toml")
                .dispatcher.io_threads,
            2u);
  EXPECT_EQ(error_of(replace(kGood, "[dispatcher]\n", "[dispatcher]\nio_threads = 0\n")),
            "dir/cluster.toml:6: dispatcher.io_threads: must be in 1..64");
  EXPECT_EQ(error_of(replace(kGood, "[dispatcher]\n", "[dispatcher]\nio_threads = 65\n")),
            "dir/cluster.toml:6: dispatcher.io_threads: must be in 1..64");
}

// A server pulls on its own by default (no early move), so its single pull gets the whole
// budget: 20 ms unless set.
TEST(DispatchConfig, PullDeadlineDefaultsTo20ms) {
  EXPECT_EQ(parse_cluster_config(kGood, "c.toml").dispatcher.pull_deadline.count(), 20000);
  EXPECT_EQ(parse_cluster_config(replace(kGood, "[dispatcher]\n", "[dispatcher]\npull_deadline_us = 5000\n"), "c.toml")
                .dispatcher.pull_deadline.count(),
            5000);
}

// kGood with a backplane address on the dispatcher (line 7) and on both servers (lines 13, 19).
std::string with_backplane() {
  auto s = replace(kGood, "listen = \"127.0.0.1:8443\"\n", "listen = \"127.0.0.1:8443\"\nbackplane = \"127.0.0.1:7000\"\n");
  s = replace(s, "content = \"f\"", "content = \"f\"\nbackplane = \"127.0.0.1:7001\"");
  return replace(s, "content = \"c\"", "content = \"c\"\nbackplane = \"127.0.0.1:7002\"");
}

TEST(DispatchConfig, DuplicateTcpPortBetweenServers) {
  EXPECT_EQ(error_of(replace(kGood, "127.0.0.1:9002", "127.0.0.1:9001")),
            "dir/cluster.toml:15: server[1].listen: TCP port 9001 is already used by server[0].listen (line 10)");
}

TEST(DispatchConfig, ServerMetricsOnAnotherServersPort) {
  EXPECT_EQ(error_of(replace(kGood, "content = \"c\"", "content = \"c\"\nmetrics = \"127.0.0.1:9001\"")),
            "dir/cluster.toml:17: server[1].metrics: TCP port 9001 is already used by server[0].listen (line 10)");
}

TEST(DispatchConfig, ServerOnTheDispatchersPort) {
  EXPECT_EQ(error_of(replace(kGood, "127.0.0.1:9001", "127.0.0.1:8443")),
            "dir/cluster.toml:10: server[0].listen: TCP port 8443 is already used by dispatcher.listen (line 6)");
  // The dispatcher's default metrics port (9443) counts even when the file does not name it.
  EXPECT_EQ(error_of(replace(kGood, "127.0.0.1:9001", "127.0.0.1:9443")),
            "dir/cluster.toml:10: server[0].listen: TCP port 9443 is already used by dispatcher.metrics (default)");
}

TEST(DispatchConfig, MetricsOnTheListenAddress) {
  EXPECT_EQ(error_of(replace(kGood, "[dispatcher]\n", "[dispatcher]\nmetrics = \"127.0.0.1:8443\"\n")),
            "dir/cluster.toml:6: dispatcher.metrics: must differ from dispatcher.listen (127.0.0.1:8443)");
}

TEST(DispatchConfig, WildcardAddressCollidesWithEveryHost) {
  EXPECT_EQ(error_of(replace(kGood, "127.0.0.1:9002", "0.0.0.0:9001")),
            "dir/cluster.toml:15: server[1].listen: TCP port 9001 is already used by server[0].listen (line 10)");
  // Distinct loopback addresses on one port, and TCP and UDP on one port, do not collide.
  EXPECT_EQ(error_of(replace(kGood, "127.0.0.1:9002", "127.0.0.2:9001")), "no error");
  EXPECT_EQ(error_of(replace(with_backplane(), "127.0.0.1:7001", "127.0.0.1:9001")), "no error");
}

TEST(DispatchConfig, DuplicateUdpBackplanePort) {
  EXPECT_EQ(error_of(with_backplane()), "no error");
  EXPECT_EQ(error_of(replace(with_backplane(), "127.0.0.1:7002", "127.0.0.1:7000")),
            "dir/cluster.toml:19: server[1].backplane: UDP port 7000 is already used by dispatcher.backplane (line 7)");
}

TEST(DispatchConfig, BackplanePortZero) {
  EXPECT_EQ(error_of(replace(with_backplane(), "127.0.0.1:7001", "127.0.0.1:0")),
            "dir/cluster.toml:13: server[0].backplane: a backplane node needs a fixed UDP port (its peers send to it), not 0");
}

TEST(DispatchConfig, BackplaneIsIpv4Only) {
  EXPECT_EQ(error_of(replace(with_backplane(), "127.0.0.1:7000", "[::1]:7000")),
            "dir/cluster.toml:7: dispatcher.backplane: the UDP backplane is IPv4 only");
}

TEST(DispatchConfig, CardIdsTheEngineCannotAddress) {
  EXPECT_EQ(error_of(replace(kGood, "card = 2", "card = 255")),
            "dir/cluster.toml:14: server[1].card: must be in 1..254 (255 is the backplane broadcast address)");
  EXPECT_EQ(error_of(replace(kGood, "[dispatcher]\n", "[dispatcher]\ncard = 255\n")),
            "dir/cluster.toml:6: dispatcher.card: must be in 0..254");
  EXPECT_EQ(error_of(replace(kGood, "card = 2", "card = 254")), "no error");
}

TEST(DispatchConfig, HubCardMustBeACardOfTheCluster) {
  EXPECT_EQ(error_of(replace(with_backplane(), "[dispatcher]", "[backplane]\nmode = \"hub\"\nhub_card = 7\n[dispatcher]")),
            "dir/cluster.toml:7: backplane.hub_card: hub card 7 is neither the dispatcher's card nor a server's");
  EXPECT_EQ(error_of(replace(with_backplane(), "[dispatcher]", "[backplane]\nmode = \"hub\"\nhub_card = 2\n[dispatcher]")),
            "no error");
  // The hub (default: the dispatcher's card 0) has no backplane address while the servers do.
  auto no_dispatcher_bp = replace(with_backplane(), "backplane = \"127.0.0.1:7000\"\n", "");
  EXPECT_EQ(error_of(replace(no_dispatcher_bp, "[dispatcher]", "[backplane]\nmode = \"hub\"\n[dispatcher]")),
            "dir/cluster.toml:6: backplane.mode: hub card 0 has no backplane address, so no card can reach the hub");
}

TEST(DispatchConfig, DuplicateSniRoute) {
  auto s = kGood + "[[route]]\nsni = \"WWW.x.test\"\nservers = [\"cars\"]\n";
  EXPECT_EQ(error_of(s), "dir/cluster.toml:21: route[1].sni: 'www.x.test' is already routed by route[0] (line 17)");
}

TEST(DispatchConfig, DuplicateAlpnRouteAndSecondDefault) {
  auto alpn = kGood + "[[route]]\nalpn = \"h2\"\nservers = [\"cars\"]\n[[route]]\nalpn = \"h2\"\nservers = [\"flights\"]\n";
  EXPECT_EQ(error_of(alpn), "dir/cluster.toml:24: route[2].alpn: 'h2' is already routed by route[1] (line 20)");
  auto defaults = kGood + "[[route]]\ndefault = true\nservers = [\"cars\"]\n[[route]]\ndefault = true\nservers = [\"flights\"]\n";
  EXPECT_EQ(error_of(defaults), "dir/cluster.toml:24: route[2].default: route[1] (line 20) is already the default");
}

TEST(DispatchConfig, ServerListedTwiceInARoute) {
  EXPECT_EQ(error_of(replace(kGood, "[\"flights\", \"cars\"]", "[\"flights\", \"cars\", \"flights\"]")),
            "dir/cluster.toml:19: route[0].servers: 'flights' is listed twice");
}

TEST(DispatchConfig, DuplicateServerName) {
  EXPECT_EQ(error_of(replace(kGood, "name = \"cars\"", "name = \"flights\"")),
            "dir/cluster.toml:13: server[1].name: duplicate server name 'flights'");
}

TEST(DispatchConfig, RouteNamingAnUnknownServer) {
  EXPECT_EQ(error_of(replace(kGood, "[\"flights\", \"cars\"]", "[\"flights\", \"planes\"]")),
            "dir/cluster.toml:19: route[0].servers: no server named 'planes'");
}

TEST(DispatchConfig, LocalhostIsResolvedToLoopbackEverywhere) {
  auto c = parse_cluster_config(replace(kGood, "127.0.0.1:9001", "localhost:9001"), "x.toml");
  EXPECT_EQ(c.servers[0].listen.host, "127.0.0.1");
  EXPECT_EQ(c.servers[0].listen.str(), "127.0.0.1:9001");
  // ... so it is the same address as 127.0.0.1 for the port check.
  EXPECT_EQ(error_of(replace(replace(kGood, "127.0.0.1:9001", "LOCALHOST:9001"), "127.0.0.1:9002", "127.0.0.1:9001")),
            "dir/cluster.toml:15: server[1].listen: TCP port 9001 is already used by server[0].listen (line 10)");
  // Other names are refused at load: no sessnic process resolves names.
  EXPECT_EQ(error_of(replace(kGood, "127.0.0.1:9001", "example.com:9001")),
            "dir/cluster.toml:10: server[0].listen: 'example.com:9001' is not host:port (host: an IPv4 address, "
            "[IPv6 address] or localhost)");
}

TEST(DispatchConfig, Ipv6InBrackets) {
  auto c = parse_cluster_config(replace(replace(kGood, "127.0.0.1:9001", "[::1]:9001"), "127.0.0.1:8443", "[::]:8443"), "x.toml");
  EXPECT_EQ(c.servers[0].listen.host, "::1");
  EXPECT_EQ(c.servers[0].listen.str(), "[::1]:9001");
  EXPECT_EQ(c.dispatcher.listen.str(), "[::]:8443");
  EXPECT_NE(error_of(replace(kGood, "127.0.0.1:9001", "::1:9001")).find("dir/cluster.toml:10: server[0].listen: '::1:9001' is not host:port"),
            std::string::npos);  // ambiguous without brackets
  EXPECT_NE(error_of(replace(kGood, "127.0.0.1:9001", "[::1]9001")).find("server[0].listen: '[::1]9001' is not"), std::string::npos);
  // [::] is the wildcard: it collides with 127.0.0.1 on the same port.
  EXPECT_EQ(error_of(replace(kGood, "127.0.0.1:9002", "[::]:9001")),
            "dir/cluster.toml:15: server[1].listen: TCP port 9001 is already used by server[0].listen (line 10)");
}

// A real file next to real (or missing) certificate files: load_cluster_config checks them.
class DispatchConfigFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sessnic-config-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text, mode_t mode) {
    std::ofstream(dir_ / name) << text;
    ::chmod((dir_ / name).c_str(), mode);
  }
  std::string load_error(const std::string& toml) {
    write("cluster.toml", toml, 0644);
    try {
      load_cluster_config(dir_ / "cluster.toml");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  }
  std::filesystem::path dir_;
};

TEST_F(DispatchConfigFiles, MissingCertificateIsAnErrorUnlessThrowawayIsAsked) {
  auto err = load_error(kGood);
  EXPECT_NE(err.find((dir_ / "cluster.toml").string() + ":3: cluster.cert: cannot read '" + (dir_ / "c.pem").string() +
                     "' (No such file or directory)"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("throwaway_cert = true"), std::string::npos) << err;
  write("c.pem", "x", 0644);
  err = load_error(kGood);
  EXPECT_NE(err.find(":4: cluster.key: cannot read '" + (dir_ / "k.pem").string()), std::string::npos) << err;
  // Asked for explicitly: missing files are fine (`sessnic cluster up` generates them).
  std::filesystem::remove(dir_ / "c.pem");
  EXPECT_EQ(load_error(replace(kGood, "key = \"k.pem\"\n", "key = \"k.pem\"\nthrowaway_cert = true\n")), "no error");
}

TEST_F(DispatchConfigFiles, PrivateKeyReadableByOthersIsAnError) {
  write("c.pem", "x", 0644);
  write("k.pem", "x", 0644);
  auto err = load_error(kGood);
  EXPECT_NE(err.find(":4: cluster.key: private key '" + (dir_ / "k.pem").string() + "' has mode 0644: others can read it"),
            std::string::npos)
      << err;
  ::chmod((dir_ / "k.pem").c_str(), 0600);
  EXPECT_EQ(load_error(kGood), "no error");
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
  EXPECT_FALSE(parse_endpoint("127.0.0.1:"));
  EXPECT_FALSE(parse_endpoint("[::1]:"));
  EXPECT_FALSE(parse_endpoint("[::1:80"));
  EXPECT_FALSE(parse_endpoint("[127.0.0.1]:80"));
  EXPECT_EQ(parse_endpoint("[::1]:80")->str(), "[::1]:80");
  EXPECT_EQ(parse_endpoint("localhost:80")->str(), "127.0.0.1:80");
}

}  // namespace
}  // namespace sessnic::config

namespace sessnic::config {
namespace {

TEST(DispatchConfig, SessionPullNeedsProxyProtocol) {
  const std::string pull = replace(kGood, "content = \"f\"\n", "content = \"f\"\nsession_pull = true\n");
  EXPECT_NE(error_of(pull).find("cluster.toml:12: server[0].session_pull: needs proxy_protocol = true"), std::string::npos)
      << error_of(pull);
  auto c = parse_cluster_config(replace(pull, "session_pull = true\n", "proxy_protocol = true\nsession_pull = true\n"),
                                "dir/cluster.toml");
  EXPECT_TRUE(c.servers[0].session_pull);
  EXPECT_FALSE(c.servers[1].session_pull);  // off unless asked: other servers (nginx) ignore the hint
}

// How long a pull may hold the io thread (docs/server.md, pull_spin_us): 200 µs where the
// server pulls unless set (0 turns it off), at most 1 ms, and only where the server pulls.
TEST(DispatchConfig, PullSpinIsBoundedAndOnlyForPullingServers) {
  const std::string pull = replace(kGood, "content = \"f\"\n", "content = \"f\"\nproxy_protocol = true\nsession_pull = true\n");
  auto c = parse_cluster_config(pull, "dir/cluster.toml");
  EXPECT_EQ(c.servers[0].pull_spin, std::chrono::microseconds(kDefaultPullSpinUs));
  EXPECT_EQ(c.servers[1].pull_spin, std::chrono::microseconds(0)) << "a server that does not pull never waits";
  c = parse_cluster_config(replace(pull, "session_pull = true\n", "session_pull = true\npull_spin_us = 0\n"),
                           "dir/cluster.toml");
  EXPECT_EQ(c.servers[0].pull_spin, std::chrono::microseconds(0));
  c = parse_cluster_config(replace(pull, "session_pull = true\n", "session_pull = true\npull_spin_us = 200\n"),
                           "dir/cluster.toml");
  EXPECT_EQ(c.servers[0].pull_spin, std::chrono::microseconds(200));
  c = parse_cluster_config(replace(pull, "session_pull = true\n", "session_pull = true\npull_spin_us = 1000\n"),
                           "dir/cluster.toml");
  EXPECT_EQ(c.servers[0].pull_spin, std::chrono::microseconds(1000));
  for (const char* bad : {"1001", "-1"}) {
    const auto text = replace(pull, "session_pull = true\n", std::string("session_pull = true\npull_spin_us = ") + bad + "\n");
    EXPECT_NE(error_of(text).find("server[0].pull_spin_us: must be in 0..1000"), std::string::npos) << error_of(text);
  }
  const auto wrong_type = replace(pull, "session_pull = true\n", "session_pull = true\npull_spin_us = \"fast\"\n");
  EXPECT_NE(error_of(wrong_type).find("server[0].pull_spin_us"), std::string::npos) << error_of(wrong_type);
  const auto no_pull = replace(kGood, "content = \"f\"\n", "content = \"f\"\npull_spin_us = 100\n");
  EXPECT_NE(error_of(no_pull).find("server[0].pull_spin_us: only with session_pull = true"), std::string::npos)
      << error_of(no_pull);
}

}  // namespace
}  // namespace sessnic::config
