// The server's settings in the cluster config: [tls] (versions, cipher lists, groups,
// certificates by SNI) and the per-server limits, timeouts and metrics endpoint. Every bad
// value is a ConfigError naming file:line and the field.
#include <gtest/gtest.h>

#include <string>

#include "cluster_config.hpp"
#include "server_options.hpp"

namespace sessnic::config {
namespace {

const std::string kHead = R"([cluster]
key_file = "k"
cert = "c.pem"
key = "k.pem"
)";
const std::string kTail = R"(
[[server]]
name = "s"
card = 1
listen = "127.0.0.1:9001"
content = "www"

[[route]]
default = true
servers = ["s"]
)";

ClusterConfig parse(const std::string& tls, const std::string& server_extra = "") {
  std::string tail = kTail;
  tail.insert(tail.find("content = \"www\"\n") + 16, server_extra);
  return parse_cluster_config(kHead + tls + tail, "/etc/sessnic/c.toml");
}

std::string error_of(const std::string& tls, const std::string& server_extra = "") {
  try {
    parse(tls, server_extra);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ServerConfig, DefaultsWithoutATlsTable) {
  auto c = parse("");
  EXPECT_EQ(c.tls.min_version, "1.2");
  EXPECT_EQ(c.tls.max_version, "1.3");
  EXPECT_TRUE(c.tls.ciphers.empty());
  EXPECT_TRUE(c.tls.certificates.empty());
  const auto& s = c.servers.at(0);
  EXPECT_FALSE(s.metrics);
  EXPECT_EQ(s.handshake_timeout.count(), 10000);
  EXPECT_EQ(s.request_timeout.count(), 10000);
  EXPECT_EQ(s.idle_timeout.count(), 60000);
  EXPECT_EQ(s.max_connections, 8192u);
}

TEST(ServerConfig, TlsTableAndServerFieldsAreRead) {
  auto c = parse(R"(
[tls]
min_version = "1.3"
max_version = "1.3"
ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
ciphersuites = "TLS_AES_128_GCM_SHA256"
groups = "X25519:P-256"
[[tls.certificate]]
sni = ["Flights.Example", "*.cars.example"]
cert = "pki/flights.pem"
key = "pki/flights.key"
)",
                 "metrics = \"127.0.0.1:9101\"\nhandshake_timeout_ms = 500\nrequest_timeout_ms = 600\n"
                 "idle_timeout_ms = 700\nsend_timeout_ms = 800\nmax_connections = 20000\nmax_header_bytes = 8192\n");
  EXPECT_EQ(c.tls.min_version, "1.3");
  EXPECT_EQ(c.tls.ciphersuites, "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(c.tls.groups, "X25519:P-256");
  ASSERT_EQ(c.tls.certificates.size(), 1u);
  EXPECT_EQ(c.tls.certificates[0].names, (std::vector<std::string>{"flights.example", "*.cars.example"}));
  EXPECT_EQ(c.tls.certificates[0].cert, "/etc/sessnic/pki/flights.pem");
  EXPECT_EQ(c.tls.certificates[0].line, 12u);
  const auto& s = c.servers.at(0);
  ASSERT_TRUE(s.metrics);
  EXPECT_EQ(s.metrics->str(), "127.0.0.1:9101");
  EXPECT_EQ(s.handshake_timeout.count(), 500);
  EXPECT_EQ(s.send_timeout.count(), 800);
  EXPECT_EQ(s.max_connections, 20000u);
  auto o = server::server_options(c, s);
  EXPECT_EQ(o.request_timeout.count(), 600);
  EXPECT_EQ(o.idle_timeout.count(), 700);
  EXPECT_EQ(o.max_header_bytes, 8192u);
  EXPECT_EQ(o.tls.min_version, "1.3");
}

TEST(ServerConfig, MetricsPortZeroMeansNoEndpoint) {
  EXPECT_FALSE(parse("", "metrics = \"127.0.0.1:0\"\n").servers.at(0).metrics);
}

TEST(ServerConfig, BadTlsValuesNameFileLineAndField) {
  struct Case {
    std::string tls, where, what;
  };
  const std::vector<Case> cases = {
      {"[tls]\nmin_version = \"1.1\"\n", "c.toml:6: tls.min_version", "must be \"1.2\" or \"1.3\""},
      {"[tls]\nmax_version = \"tls1.3\"\n", "c.toml:6: tls.max_version", "must be"},
      {"[tls]\nmin_version = \"1.3\"\nmax_version = \"1.2\"\n", "c.toml:6: tls.min_version", "above max_version"},
      {"[tls]\nciphers = \"NOT-A-CIPHER\"\n", "c.toml:6: tls.ciphers", "OpenSSL refused it"},
      {"[tls]\nciphersuites = \"TLS_NOPE\"\n", "c.toml:6: tls.ciphersuites", "OpenSSL refused it"},
      {"[tls]\ngroups = \"P-999\"\n", "c.toml:6: tls.groups", "OpenSSL refused it"},
      {"[tls]\nciphers = \"\"\n", "c.toml:6: tls.ciphers", "must not be empty"},
      {"[tls]\nsomething = 1\n", "c.toml:6: tls.something", "unknown field"},
      {"[[tls.certificate]]\ncert = \"a\"\nkey = \"b\"\n", "c.toml:5: tls.certificate[0].sni", "non-empty list"},
      {"[[tls.certificate]]\nsni = [\"a.b\"]\nkey = \"b\"\n", "tls.certificate[0].cert", "missing required field"},
      {"[[tls.certificate]]\nsni = [\"x.*.b\"]\ncert = \"a\"\nkey = \"b\"\n", "c.toml:6: tls.certificate[0].sni",
       "wildcard"},
      {"[[tls.certificate]]\nsni = [\"a.b\"]\ncert = \"a\"\nkey = \"b\"\n[[tls.certificate]]\nsni = [\"A.B\"]\ncert = \"c\"\n"
       "key = \"d\"\n",
       "c.toml:10: tls.certificate[1].sni", "already has a certificate"},
  };
  for (const auto& c : cases) {
    auto e = error_of(c.tls);
    EXPECT_NE(e.find(c.where), std::string::npos) << c.tls << " -> " << e;
    EXPECT_NE(e.find(c.what), std::string::npos) << c.tls << " -> " << e;
  }
}

TEST(ServerConfig, BadServerLimitsNameTheField) {
  EXPECT_NE(error_of("", "handshake_timeout_ms = 0\n").find("server[0].handshake_timeout_ms: must be in"),
            std::string::npos);
  EXPECT_NE(error_of("", "max_header_bytes = 10\n").find("server[0].max_header_bytes: must be in"), std::string::npos);
  EXPECT_NE(error_of("", "metrics = \"nope\"\n").find("server[0].metrics: 'nope' is not host:port"), std::string::npos);
}

TEST(ServerConfig, IoLoopsIsSharedOrPerThread) {
  EXPECT_EQ(parse("", "").servers.at(0).threads, 1u);  // one loop, one thread: no hand-offs between threads
  EXPECT_EQ(parse("", "threads = 2\n").servers.at(0).threads, 2u);
  EXPECT_FALSE(parse("", "").servers.at(0).per_thread_loops);
  EXPECT_TRUE(parse("", "io_loops = \"per_thread\"\n").servers.at(0).per_thread_loops);
  EXPECT_FALSE(parse("", "io_loops = \"shared\"\n").servers.at(0).per_thread_loops);
  EXPECT_NE(error_of("", "io_loops = \"many\"\n").find("server[0].io_loops: 'many': want"), std::string::npos);
}

}  // namespace
}  // namespace sessnic::config
