// Cluster key files: generation, permission checks, parsing, rotation.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <fstream>

#include "sessnic/key_file.hpp"
#include "tls_test_support.hpp"

namespace sessnic {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& p, const std::string& text, mode_t mode) {
  std::ofstream(p) << text;
  ASSERT_EQ(::chmod(p.c_str(), mode), 0);
}

std::string error_of(const fs::path& p) {
  try {
    (void)load_key_file(p);
  } catch (const KeyFileError& e) {
    return e.what();
  }
  return "";
}

const std::string kHex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

TEST(KeyFile, GenerateThenLoad) {
  testtls::TempDir dir;
  const fs::path p = dir.path() / "cluster.key";
  generate_key_file(p, 42);
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const Keyring ring = load_key_file(p);
  EXPECT_EQ(ring.current().id, 42u);
  EXPECT_EQ(ring.keys().size(), 1u);
  // Two generated keys differ.
  generate_key_file(dir.path() / "other.key", 42);
  EXPECT_NE(load_key_file(dir.path() / "other.key").current().bytes, ring.current().bytes);
}

TEST(KeyFile, RefusesToOverwrite) {
  testtls::TempDir dir;
  const fs::path p = dir.path() / "cluster.key";
  generate_key_file(p, 1);
  const auto before = load_key_file(p).current().bytes;
  try {
    generate_key_file(p, 2);
    FAIL() << "overwrote";
  } catch (const KeyFileError& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
  }
  EXPECT_EQ(load_key_file(p).current().bytes, before);
}

TEST(KeyFile, RefusesGroupOrWorldAccess) {
  testtls::TempDir dir;
  const fs::path p = dir.path() / "cluster.key";
  write_file(p, "sessnic-key v1 7 " + kHex + "\n", 0600);
  EXPECT_EQ(load_key_file(p).current().id, 7u);
  for (mode_t m : {0640, 0604, 0644, 0660, 0620}) {
    ASSERT_EQ(::chmod(p.c_str(), m), 0);
    const std::string err = error_of(p);
    EXPECT_NE(err.find(p.string()), std::string::npos) << err;
    EXPECT_NE(err.find(fmt::format("{:04o}", m)), std::string::npos) << err;
    EXPECT_NE(err.find("chmod 600"), std::string::npos) << err;
  }
  ASSERT_EQ(::chmod(p.c_str(), 0400), 0);
  EXPECT_EQ(load_key_file(p).current().id, 7u);
}

TEST(KeyFile, MissingFileNamesIt) {
  testtls::TempDir dir;
  const std::string err = error_of(dir.path() / "nope.key");
  EXPECT_NE(err.find("nope.key"), std::string::npos) << err;
  EXPECT_NE(err.find("No such file"), std::string::npos) << err;
}

TEST(KeyFile, MalformedFilesAreRefused) {
  testtls::TempDir dir;
  const fs::path p = dir.path() / "k";
  const std::vector<std::string> bad = {
      "",                                              // no key
      "# only a comment\n",                            // no key
      "sessnic-key v2 1 " + kHex + "\n",               // version
      "other-key v1 1 " + kHex + "\n",                 // magic
      "sessnic-key v1 1 " + kHex.substr(2) + "\n",     // short key
      "sessnic-key v1 1 " + kHex + "00\n",             // long key
      "sessnic-key v1 1 " + kHex.substr(1) + "g\n",    // non-hex
      "sessnic-key v1 -1 " + kHex + "\n",              // negative id
      "sessnic-key v1 4294967296 " + kHex + "\n",      // id too large
      "sessnic-key v1 1x " + kHex + "\n",              // id junk
      "sessnic-key v1 1 " + kHex + " extra\n",         // trailing field
      "sessnic-key v1 1 " + kHex + "\nsessnic-key v1 1 " + kHex + "\n",  // duplicate id
  };
  for (const auto& text : bad) {
    fs::remove(p);
    write_file(p, text, 0600);
    const std::string err = error_of(p);
    EXPECT_FALSE(err.empty()) << "accepted: " << text;
    EXPECT_NE(err.find(p.string()), std::string::npos) << err;
  }
}

TEST(KeyFile, ParsesCommentsAndPreviousKeys) {
  testtls::TempDir dir;
  const fs::path p = dir.path() / "k";
  write_file(p, "# rotated\n\nsessnic-key v1 2 " + kHex + "\n  # old one\nsessnic-key v1 1 " + std::string(64, 'f') + "\n",
             0600);
  const Keyring ring = load_key_file(p);
  EXPECT_EQ(ring.current().id, 2u);
  EXPECT_EQ(ring.current().bytes[0], 0x00);
  EXPECT_EQ(ring.current().bytes[31], 0xFF);
  ASSERT_NE(ring.find(1), nullptr);
  EXPECT_EQ(ring.find(1)->bytes[0], 0xFF);
}

TEST(KeyFile, RotationKeepsPreviousKeys) {
  testtls::TempDir dir;
  generate_key_file(dir.path() / "old", 1);
  const Keyring old_ring = load_key_file(dir.path() / "old");
  generate_key_file(dir.path() / "new", 2, &old_ring);
  const Keyring ring = load_key_file(dir.path() / "new");
  EXPECT_EQ(ring.current().id, 2u);
  ASSERT_NE(ring.find(1), nullptr);
  EXPECT_EQ(ring.find(1)->bytes, old_ring.current().bytes);
  EXPECT_THROW(generate_key_file(dir.path() / "again", 1, &old_ring), KeyFileError);
  EXPECT_FALSE(fs::exists(dir.path() / "again"));
}

TEST(KeyFile, SymlinkAndDirectoryAreRefused) {
  testtls::TempDir dir;
  generate_key_file(dir.path() / "real", 1);
  fs::create_symlink(dir.path() / "real", dir.path() / "link");
  EXPECT_FALSE(error_of(dir.path() / "link").empty());
  EXPECT_FALSE(error_of(dir.path()).empty());
}

}  // namespace
}  // namespace sessnic
