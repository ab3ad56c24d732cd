// The `sessnic keygen` command, run as a real process.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>

#include "sessnic/key_file.hpp"
#include "tls_test_support.hpp"

namespace sessnic {
namespace {

int run(const std::string& args) {
  const std::string cmd = std::string(SESSNIC_CLI_PATH) + " " + args + " >/dev/null 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CliKeygen, WritesA0600KeyFileAndRefusesToOverwrite) {
  testtls::TempDir dir;
  const auto path = dir.path() / "cluster.key";
  ASSERT_EQ(run("keygen " + path.string()), 0);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto first = load_key_file(path).current();
  EXPECT_EQ(first.id, 1u);
  EXPECT_NE(run("keygen " + path.string()), 0);
  EXPECT_EQ(load_key_file(path).current().bytes, first.bytes);
}

TEST(CliKeygen, RotationKeepsThePreviousKey) {
  testtls::TempDir dir;
  const auto old_path = dir.path() / "old.key";
  const auto new_path = dir.path() / "new.key";
  ASSERT_EQ(run("keygen --key-id 7 " + old_path.string()), 0);
  ASSERT_EQ(run("keygen --previous " + old_path.string() + " " + new_path.string()), 0);
  const Keyring ring = load_key_file(new_path);
  EXPECT_EQ(ring.current().id, 8u);
  ASSERT_NE(ring.find(7), nullptr);
  EXPECT_EQ(ring.find(7)->bytes, load_key_file(old_path).current().bytes);
}

TEST(CliKeygen, BadArgumentsFail) {
  EXPECT_NE(run(""), 0);
  EXPECT_NE(run("keygen"), 0);
  EXPECT_NE(run("keygen --key-id notanumber /tmp/x"), 0);
  EXPECT_NE(run("keygen --previous /nonexistent/file /tmp/sessnic-never-written"), 0);
}

}  // namespace
}  // namespace sessnic
