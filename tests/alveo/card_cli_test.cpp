// `sessnic card info|selftest`, run as the user runs it.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

struct CliRun {
  int code;
  std::string out;  // stdout and stderr
};

CliRun run(const std::string& args) {
  const std::string cmd = std::string(SESSNIC_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  std::string out;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

#define EXPECT_HAS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

TEST(CardCli, InfoOnTheModelPrintsKindCardAndCounters) {
  const CliRun r = run("card info --device model --card-id 7");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_HAS(r.out, "device:       model");
  EXPECT_HAS(r.out, "card id:      7");
  EXPECT_HAS(r.out, " puts=0 ");
  EXPECT_HAS(r.out, " card=7");
}

TEST(CardCli, SelftestPassesOnTheModelAndTheRtl) {
  for (const char* dev : {"model", "verilator"}) {
    const CliRun r = run(std::string("card selftest --rounds 1 --device ") + dev);
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_HAS(r.out, "selftest passed: ");
    EXPECT_EQ(r.out.find("FAIL"), std::string::npos) << r.out;
  }
}

TEST(CardCli, InfoOnTheVerilatedKernelShowsIdentityAndRings) {
  const CliRun r = run("card info --device verilator --card-id 5");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_HAS(r.out, "device:       verilator");
  EXPECT_HAS(r.out, "ID 0x53455353 (sessnic)");
  EXPECT_HAS(r.out, "(ring contract 1, build ");
  EXPECT_HAS(r.out, "table:        2^6 sets x 4 ways");
  EXPECT_HAS(r.out, "rings:        engine enabled, idle, error 0 (NONE), bad descriptors 0, ring resets 1");
  EXPECT_HAS(r.out, " card=5");
  EXPECT_HAS(r.out, "cmd ring:     head 2 tail 2");  // SET_TIME + STATS, one slot each, one doorbell
  EXPECT_HAS(r.out, "driver:       2 commands, 2 responses, 1 command doorbells");
}

TEST(CardCli, DeviceThatCannotBeOpenedExitsThreeWithTheReason) {
  CliRun r = run("card info --device xrt");
  EXPECT_EQ(r.code, 3);
  EXPECT_HAS(r.out, "cannot open the xrt device: the xrt device needs an xclbin");
  r = run("card selftest --device xrt --xclbin /nonexistent/sessnic.xclbin");
  EXPECT_EQ(r.code, 3);
  EXPECT_HAS(r.out, "xclbin '/nonexistent/sessnic.xclbin' not found");
  r = run("card info --device abacus");
  EXPECT_EQ(r.code, 3);
  EXPECT_HAS(r.out, "unknown device kind 'abacus'");
}

TEST(CardCli, UsageErrorsAreRefusedBeforeOpeningAnything) {
  for (const char* args : {"card", "card info --card-id 300 --device model", "card selftest --rounds 0 --device model"}) {
    const CliRun r = run(args);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_NE(r.code, 3) << args;
    EXPECT_EQ(r.out.find("selftest on"), std::string::npos) << r.out;  // nothing ran
  }
}

}  // namespace
