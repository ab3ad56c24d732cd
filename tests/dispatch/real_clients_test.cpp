// End to end with real clients on loopback: `openssl s_client -sess_out/-sess_in` and
// `curl` through sessnic-dispatch to real sessnic-server processes, sharing on vs off.
// The baseline (--no-share dispatcher over the same servers) must show full handshakes,
// so these tests can fail both ways.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <fmt/format.h>

#include <memory>

#include "local_cluster.hpp"
#include "travel_scenario.hpp"

namespace sessnic::dispatch {
namespace {
using testing::LocalCluster;
using testing::run_command;

class DispatchRealClients : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = std::make_unique<LocalCluster>(); }
  static void TearDownTestSuite() { cluster_.reset(); }
  static std::unique_ptr<LocalCluster> cluster_;

  // s_client to `sni` through `port`; returns its output ("New, ..." / "Reused, ...").
  static std::string s_client(uint16_t port, const std::string& sni, const std::string& version, const std::string& sess) {
    return run_command(fmt::format(
        "printf 'GET /book.json HTTP/1.0\\r\\n\\r\\n' | timeout 10 openssl s_client -connect 127.0.0.1:{} -servername {} "
        "-{} {} -ign_eof 2>&1",
        port, sni, version, sess));
  }
  static void sess_out_then_in(uint16_t port, const std::string& version, bool expect_reused) {
    auto file = (cluster_->dir / fmt::format("sess-{}-{}.pem", port, version)).string();
    auto first = s_client(port, "flights.travel.test", version, "-sess_out " + file);
    ASSERT_NE(first.find("X-Sessnic-Server: flights"), std::string::npos) << first << cluster_->logs();
    ASSERT_NE(first.find("\nNew, "), std::string::npos) << first;
    auto second = s_client(port, "cars.travel.test", version, "-sess_in " + file);
    ASSERT_NE(second.find("X-Sessnic-Server: cars"), std::string::npos) << second;
    if (expect_reused) {
      EXPECT_NE(second.find("\nReused, "), std::string::npos) << second << cluster_->metrics(true);
      EXPECT_NE(second.find("X-Sessnic-Handshake: resumed"), std::string::npos) << second;
    } else {
      EXPECT_NE(second.find("\nNew, "), std::string::npos) << second;
      EXPECT_NE(second.find("X-Sessnic-Handshake: full"), std::string::npos) << second;
    }
  }
  // One curl invocation, three URLs of the load-balanced name, a new connection each.
  static std::string curl_three(uint16_t port) {
    return run_command(fmt::format(
        "curl -sk --max-time 10 --resolve www.travel.test:{0}:127.0.0.1 -H 'Connection: close' -D - -o /dev/null "
        "-o /dev/null -o /dev/null https://www.travel.test:{0}/ https://www.travel.test:{0}/ https://www.travel.test:{0}/",
        port));
  }
  static std::vector<std::string> all(const std::string& text, const std::string& header) {
    // every "<header>: value" line, in order (std::regex trips g++ 12 warnings under ASan)
    std::vector<std::string> v;
    const std::string key = header + ": ";
    for (size_t p = text.find(key); p != std::string::npos; p = text.find(key, p + 1)) {
      size_t b = p + key.size(), e = b;
      while (e < text.size() && text[e] >= 'a' && text[e] <= 'z') ++e;
      v.push_back(text.substr(b, e - b));
    }
    return v;
  }
};
std::unique_ptr<LocalCluster> DispatchRealClients::cluster_;

TEST_F(DispatchRealClients, OpensslTls12ResumesOnAnotherServer) { sess_out_then_in(cluster_->port_on, "tls1_2", true); }
TEST_F(DispatchRealClients, OpensslTls13ResumesOnAnotherServer) { sess_out_then_in(cluster_->port_on, "tls1_3", true); }
TEST_F(DispatchRealClients, OpensslTls12BaselineIsFull) { sess_out_then_in(cluster_->port_off, "tls1_2", false); }
TEST_F(DispatchRealClients, OpensslTls13BaselineIsFull) { sess_out_then_in(cluster_->port_off, "tls1_3", false); }

TEST_F(DispatchRealClients, CurlReusesTheSessionAcrossServers) {
  auto out = curl_three(cluster_->port_on);
  auto servers = all(out, "X-Sessnic-Server");
  auto kinds = all(out, "X-Sessnic-Handshake");
  ASSERT_EQ(servers.size(), 3u) << out << cluster_->logs();
  // least connections + rotation: three consecutive connections, three servers
  EXPECT_NE(servers[0], servers[1]);
  EXPECT_NE(servers[1], servers[2]);
  EXPECT_NE(servers[0], servers[2]);
  EXPECT_EQ(kinds, (std::vector<std::string>{"full", "resumed", "resumed"})) << out;
}

TEST_F(DispatchRealClients, CurlBaselineDoesFullHandshakes) {
  auto out = curl_three(cluster_->port_off);
  auto kinds = all(out, "X-Sessnic-Handshake");
  EXPECT_EQ(kinds, (std::vector<std::string>{"full", "full", "full"})) << out;
}

TEST_F(DispatchRealClients, TravelScenarioSideBySide) {
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto on = run_travel("127.0.0.1", cluster_->port_on, default_travel_steps(), 10, version);
    auto off = run_travel("127.0.0.1", cluster_->port_off, default_travel_steps(), 10, version);
    EXPECT_EQ(on.failures(), 0u);
    EXPECT_EQ(off.failures(), 0u);
    EXPECT_EQ(on.resumption_rate(), 1.0) << "TLS " << version;
    EXPECT_EQ(off.resumption_rate(), 0.0);
    EXPECT_EQ(on.load().size(), 3u);  // flights, cars, hotels each served their step
  }
  auto m = cluster_->metrics(true);
  EXPECT_NE(m.find("sessnic_dispatch_transfers_total{outcome=\"moved\"}"), std::string::npos) << m;
  EXPECT_EQ(m.find("sessnic_dispatch_transfers_total{outcome=\"moved\"} 0\n"), std::string::npos) << m;
}

}  // namespace
}  // namespace sessnic::dispatch

namespace sessnic::dispatch {
namespace {

// The dispatcher's transfer works in every backplane mode (docs/backplane.md); in hub
// mode the dispatcher's own card is the central repository.
class DispatchBackplaneModes : public ::testing::TestWithParam<std::string> {};

TEST_P(DispatchBackplaneModes, TravelScenarioResumesOnEveryServerChange) {
  testing::LocalClusterOptions opt;
  opt.mode = GetParam();
  testing::LocalCluster cluster(opt);
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto on = run_travel("127.0.0.1", cluster.port_on, default_travel_steps(), 5, version);
    EXPECT_EQ(on.failures(), 0u) << cluster.logs();
    EXPECT_EQ(on.resumption_rate(), 1.0) << GetParam() << " TLS " << version << "\n" << cluster.metrics(true);
  }
}
INSTANTIATE_TEST_SUITE_P(Modes, DispatchBackplaneModes, ::testing::Values("transfer", "replicate", "hub"));

}  // namespace
}  // namespace sessnic::dispatch
