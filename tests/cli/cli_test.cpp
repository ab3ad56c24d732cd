// The `sessnic` command line: --version, mistakes named in the error, and `cluster up`
// refusing a config whose certificate is missing instead of inventing one.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "cluster_up_process.hpp"
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
