// The `sessnic` command line: --version, mistakes named in the error, and `cluster up`
// refusing a config whose certificate is missing instead of inventing one.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>
#include <utility>

#include "cluster_up_process.hpp"
#include "sessnic/logging.hpp"
#include "sessnic/version.hpp"

namespace sessnic::cli::testing {
namespace {

TEST(Cli, VersionPrintsTheProjectVersion) {
  auto r = run_shell(fmt::format("{} --version", SESSNIC_CLI_EXE));
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, fmt::format("sessnic {}\n", sessnic::kVersion));
}

TEST(Cli, UnknownSubcommandIsNamedWithTheList) {
  auto r = run_shell(fmt::format("{} frobnicate", SESSNIC_CLI_EXE));
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("sessnic: unknown subcommand 'frobnicate' (subcommands: keygen, cluster, stats, card;"), std::string::npos)
      << r.out;
  auto nested = run_shell(fmt::format("{} cluster frobnicate x.toml", SESSNIC_CLI_EXE));
  EXPECT_NE(nested.rc, 0);
  EXPECT_NE(nested.out.find("sessnic cluster: unknown subcommand 'frobnicate' (subcommands: up;"), std::string::npos)
      << nested.out;
}

// One start-up for every program (sessnic/process_start.hpp): an unknown log level, from
// --log-level or $SESSNIC_LOG_LEVEL, is a usage error (status 2) named by the program,
// before it reads its config or opens anything.
TEST(Cli, EveryProgramRefusesAnUnknownLogLevelTheSameWay) {
  const std::pair<const char*, std::string> programs[] = {
      {"sessnic-server", fmt::format("{} --config /nonexistent.toml --name a", SESSNIC_SERVER_EXE)},
      {"sessnic-card", fmt::format("{} --config /nonexistent.toml --server a", SESSNIC_CARD_EXE)},
      {"sessnic-dispatch", fmt::format("{} --config /nonexistent.toml", SESSNIC_DISPATCH_EXE)},
      {"sessnic-cluster", fmt::format("{} cluster up /nonexistent.toml", SESSNIC_CLI_EXE)},
  };
  for (const auto& [name, command] : programs) {
    for (const std::string& how : {command + " --log-level bogus", "SESSNIC_LOG_LEVEL=bogus " + command}) {
      auto r = run_shell(how);
      EXPECT_EQ(r.rc, 2) << how << "\n" << r.out;
      EXPECT_EQ(r.out, fmt::format("{}: unknown log level 'bogus' (use {})\n", name, sessnic::logging::kLevels)) << how;
    }
  }
}

TEST(Cli, ClusterUpRefusesAMissingCertificate) {
  ClusterDir dir(pick_layout());
  dir.write_config({});
  auto text = run_shell(fmt::format("cat {}", dir.config().string())).out;
  auto at = text.find("cert = \"");
  ASSERT_NE(at, std::string::npos);
  const auto typo = (dir.dir() / "cert.pme").string();
  text.replace(at, text.find('\n', at) - at, fmt::format("cert = \"{}\"", typo));
  dir.write_raw_config(text);
  auto r = run_shell(fmt::format("{} cluster up {}", SESSNIC_CLI_EXE, dir.config().string()));
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find(fmt::format("{}:3: cluster.cert: cannot read '{}'", dir.config().string(), typo)), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("THROWAWAY"), std::string::npos) << r.out;
  EXPECT_FALSE(port_accepts(dir.layout().listen));
}

}  // namespace
}  // namespace sessnic::cli::testing
