// `sessnic cluster up` and `sessnic stats` as a user runs them: the CLI starts the
// servers and the dispatcher from one config, serves real clients, reports metrics, and
// Ctrl-C (SIGINT) stops every process it started.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "local_cluster.hpp"
#include "travel_scenario.hpp"

namespace sessnic::dispatch {
namespace {
using namespace std::chrono_literals;

TEST(DispatchClusterUp, StartsServesReportsAndStopsEverything) {
  testing::LocalClusterOptions opt;
  opt.via_cluster_up = true;
  testing::LocalCluster c(opt);
  ASSERT_GT(c.cluster_up_pid, 0);

  auto run = run_travel("127.0.0.1", c.port_on, default_travel_steps(), 3, TLS1_3_VERSION);
  EXPECT_EQ(run.failures(), 0u) << c.logs();
  EXPECT_EQ(run.resumption_rate(), 1.0) << c.logs();

  auto stats = testing::run_command(fmt::format("{} stats --endpoint 127.0.0.1:{} 2>&1", SESSNIC_CLI_EXE, c.metrics_on));
  EXPECT_NE(stats.find("moved=6"), std::string::npos) << stats;
  EXPECT_NE(stats.find("routed"), std::string::npos) << stats;
  auto raw = testing::run_command(fmt::format("{} stats --raw --endpoint 127.0.0.1:{}", SESSNIC_CLI_EXE, c.metrics_on));
  EXPECT_NE(raw.find("# TYPE sessnic_dispatch_transfers_total counter"), std::string::npos);
  auto bad = testing::run_command(fmt::format("{} stats --endpoint 127.0.0.1:1 2>&1; echo rc=$?", SESSNIC_CLI_EXE));
  EXPECT_NE(bad.find("no metrics endpoint"), std::string::npos) << bad;
  EXPECT_NE(bad.find("rc=1"), std::string::npos) << bad;

  // Ctrl-C: the CLI stops the dispatcher and every server, then exits 0.
  ASSERT_EQ(::kill(c.cluster_up_pid, SIGINT), 0);
  int status = -1;
  auto deadline = std::chrono::steady_clock::now() + 8s;
  while (::waitpid(c.cluster_up_pid, &status, WNOHANG) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(WIFEXITED(status)) << c.logs();
  EXPECT_EQ(WEXITSTATUS(status), 0) << c.logs();
  EXPECT_FALSE(testing::port_accepts(c.port_on));
  for (auto p : c.server_ports) EXPECT_FALSE(testing::port_accepts(p)) << p;
}

TEST(DispatchClusterUp, BadConfigIsReportedWithFileAndLine) {
  auto out = testing::run_command(fmt::format(
      "d=$(mktemp -d) && printf '[cluster]\\nkey_file = \"k\"\\ncert = \"c\"\\nkey = \"k\"\\n[[server]]\\nname = \"a\"\\n' > $d/c.toml"
      " && {} cluster up $d/c.toml 2>&1; echo rc=$?; rm -rf $d",
      SESSNIC_CLI_EXE));
  EXPECT_NE(out.find("c.toml:5: server[0].card: missing required field"), std::string::npos) << out;
  EXPECT_NE(out.find("rc=1"), std::string::npos) << out;
}

}  // namespace
}  // namespace sessnic::dispatch
