// The dispatcher as an operator runs it, as real processes on loopback: SIGHUP reloads
// the routes from the config file without dropping an open connection; a successor
// started while the old dispatcher drains takes over at once (the old one gave up its
// listener, metrics and backplane ports at drain start); `sessnic stats` shows the
// transfer latency percentiles; `--version`.
#include <algorithm>
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "local_cluster.hpp"
#include "tls_client.hpp"
#include "travel_scenario.hpp"

namespace sessnic::dispatch {
namespace {
using namespace std::chrono_literals;
using testing::LocalCluster;

template <class F>
bool eventually(F f, std::chrono::milliseconds t) {
  auto deadline = std::chrono::steady_clock::now() + t;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return f();
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(DispatchOperations, SighupReloadsRoutesWithoutDroppingConnections) {
  LocalCluster cluster;
  TlsClient client(TLS1_3_VERSION);
  auto first = client.fetch("127.0.0.1", cluster.port_on, "flights.travel.test", "/", nullptr);
  ASSERT_TRUE(first.ok) << first.error << cluster.logs();
  EXPECT_EQ(first.server, "flights");

  // An open connection (hello not sent yet) that must survive the reload.
  int held = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(cluster.port_on);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(held, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);

  // The operator sends flights.travel.test to the cars server and reloads.
  std::string cfg = read_file(cluster.config);
  const std::string from = "sni = \"flights.travel.test\"\nservers = [\"flights\"]";
  auto at = cfg.find(from);
  ASSERT_NE(at, std::string::npos) << cfg;
  cfg.replace(at, from.size(), "sni = \"flights.travel.test\"\nservers = [\"cars\"]");
  std::ofstream(cluster.config) << cfg;
  ASSERT_EQ(::kill(cluster.dispatch_on_pid, SIGHUP), 0);
  EXPECT_TRUE(eventually([&] {
    return cluster.metrics(true).find("sessnic_dispatch_config_reloads_total{result=\"ok\"} 1") != std::string::npos;
  }, 3000ms)) << cluster.logs();
  auto moved = client.fetch("127.0.0.1", cluster.port_on, "flights.travel.test", "/", nullptr);
  ASSERT_TRUE(moved.ok) << moved.error;
  EXPECT_EQ(moved.server, "cars");

  // The connection opened before the reload still works: a whole TLS exchange over it.
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, held);
  SSL_set_tlsext_host_name(ssl, "hotels.travel.test");
  EXPECT_EQ(SSL_connect(ssl), 1);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(held);

  // A broken file is refused, logged and counted; the running routes stay.
  std::ofstream(cluster.config) << "[cluster\n";
  ASSERT_EQ(::kill(cluster.dispatch_on_pid, SIGHUP), 0);
  EXPECT_TRUE(eventually([&] {
    return cluster.metrics(true).find("sessnic_dispatch_config_reloads_total{result=\"failed\"} 1") != std::string::npos;
  }, 3000ms));
  auto still = client.fetch("127.0.0.1", cluster.port_on, "flights.travel.test", "/", nullptr);
  EXPECT_TRUE(still.ok);
  EXPECT_EQ(still.server, "cars");
  EXPECT_NE(cluster.logs().find("reload failed, keeping the running config"), std::string::npos);
}

TEST(DispatchOperations, SuccessorTakesOverWhileTheOldOneDrains) {
  LocalCluster cluster;
  // A client connection keeps the old dispatcher draining (up to its drain timeout).
  int held = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(cluster.port_on);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(held, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::this_thread::sleep_for(100ms);
  const pid_t old = cluster.dispatch_on_pid;
  ASSERT_EQ(::kill(old, SIGTERM), 0);
  std::this_thread::sleep_for(200ms);
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t next = cluster.spawn_dispatcher("dispatch-next.log");
  // The successor binds the listener, the metrics port and the backplane port at once.
  ASSERT_TRUE(eventually([&] { return testing::port_accepts(cluster.port_on) && testing::port_accepts(cluster.metrics_on); },
                         3000ms))
      << cluster.logs();
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 3s);
  EXPECT_FALSE(cluster.wait_exit(next, 0ms)) << cluster.logs();  // it did not fail to start
  EXPECT_FALSE(cluster.wait_exit(old, 0ms));                     // and the old one still drains
  // Sessions move through the successor's backplane node.
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto run = run_travel("127.0.0.1", cluster.port_on, default_travel_steps(), 3, version);
    EXPECT_EQ(run.failures(), 0u) << cluster.logs();
    EXPECT_EQ(run.resumption_rate(), 1.0) << cluster.metrics(true);
  }
  ::close(held);  // the old one's last connection: it exits
  EXPECT_TRUE(cluster.wait_exit(old, 5000ms)) << cluster.logs();
}

TEST(DispatchOperations, StatsShowsTransferLatencyPercentiles) {
  LocalCluster cluster;
  auto run = run_travel("127.0.0.1", cluster.port_on, default_travel_steps(), 5, TLS1_2_VERSION);
  ASSERT_EQ(run.resumption_rate(), 1.0) << cluster.logs();
  auto out = testing::run_command(fmt::format("{} stats --endpoint 127.0.0.1:{} 2>&1", SESSNIC_CLI_EXE, cluster.metrics_on));
  auto at = out.find("transfer latency p50 ");
  ASSERT_NE(at, std::string::npos) << out;
  unsigned p50 = 0, p99 = 0;
  ASSERT_EQ(std::sscanf(out.c_str() + at, "transfer latency p50 %u us, p99 %u us", &p50, &p99), 2) << out;
  EXPECT_GT(p50, 0u);
  EXPECT_GE(p99, p50);
  EXPECT_LE(p99, 50000u);
}

// One access line per connection, with what the server decided (read from its ServerHello).
TEST(DispatchOperations, AccessLogSaysHowTheServerHandshook) {
  LocalCluster cluster;
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto run = run_travel("127.0.0.1", cluster.port_on, default_travel_steps(), 1, version);
    ASSERT_EQ(run.resumption_rate(), 1.0) << cluster.logs();
  }
  // A line is written when the dispatcher has closed both sides, a moment after the client is done.
  std::string log;
  std::vector<std::string> lines;
  eventually([&] {
    log = read_file(cluster.dir / "dispatch-on.log");
    lines.clear();
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);)
      if (line.find(" access client=127.0.0.1:") != std::string::npos) lines.push_back(line);
    return lines.size() >= 6;
  }, 3000ms);
  ASSERT_EQ(lines.size(), 6u) << log;
  const char* expect[6][4] = {{"server=flights", "tls=1.2", "handshake=full", "resumption=none"},
                              {"server=cars", "tls=1.2", "handshake=resumed", "transfer=moved"},
                              {"server=hotels", "tls=1.2", "handshake=resumed", "transfer=moved"},
                              {"server=flights", "tls=1.3", "handshake=full", "resumption=none"},
                              {"server=cars", "tls=1.3", "handshake=resumed", "transfer=moved"},
                              {"server=hotels", "tls=1.3", "handshake=resumed", "transfer=moved"}};
  // A connection's line is written when it closes, so two connections can log out of order:
  // each expected row is found by its server and TLS version, then checked.
  for (const auto& row : expect) {
    auto it = std::find_if(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.find(std::string(row[0]) + " ") != std::string::npos && l.find(row[1]) != std::string::npos;
    });
    ASSERT_NE(it, lines.end()) << row[0] << " " << row[1] << " not logged:\n" << log;
    for (const char* field : row) EXPECT_NE(it->find(field), std::string::npos) << field << " in " << *it;
    EXPECT_NE(it->find(" info  sessnic-dispatch: access"), std::string::npos) << *it;  // levelled, named
    EXPECT_EQ(it->find("bytes_out=0 "), std::string::npos) << *it;
  }
}

TEST(DispatchOperations, VersionFlag) {
  for (const char* exe : {SESSNIC_DISPATCH_EXE, SESSNIC_TRAVEL_EXE}) {
    auto out = testing::run_command(fmt::format("{} --version 2>&1", exe));
    EXPECT_NE(out.find("sessnic-"), std::string::npos) << out;
    EXPECT_NE(out.find('.'), std::string::npos) << out;  // a version number
  }
}

}  // namespace
}  // namespace sessnic::dispatch
