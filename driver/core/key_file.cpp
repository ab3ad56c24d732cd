// Cluster key file: loading with permission checks, and creation (format in
// sessnic/key_file.hpp).
#include "sessnic/key_file.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "sessnic/unique_fd.hpp"

namespace sessnic {
namespace {

constexpr size_t kMaxFileBytes = 64 * 1024;
constexpr const char* kMagic = "sessnic-key";
constexpr const char* kVersion = "v1";

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& why) {
  throw KeyFileError(fmt::format("cluster key file {}: {}", path.string(), why));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

ClusterKey parse_line(const std::filesystem::path& path, const std::string& line, unsigned lineno) {
  std::istringstream in(line);
  std::string magic, version, id_text, hex, extra;
  in >> magic >> version >> id_text >> hex;
  if (magic != kMagic || version != kVersion || hex.empty() || (in >> extra))
    fail(path, fmt::format("line {}: expected 'sessnic-key v1 <key_id> <64 hex digits>'", lineno));
  uint32_t id = 0;
  const auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || end != id_text.data() + id_text.size())
    fail(path, fmt::format("line {}: key id '{}' is not a number in 0..4294967295", lineno, id_text));
  if (hex.size() != 64) fail(path, fmt::format("line {}: key must be 64 hex digits, got {}", lineno, hex.size()));
  ClusterKey key;
  key.id = id;
  for (size_t i = 0; i < 32; ++i) {
    const int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) fail(path, fmt::format("line {}: key has a non-hex character", lineno));
    key.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  OPENSSL_cleanse(hex.data(), hex.size());
  return key;
}

}  // namespace

std::string format_key_line(const ClusterKey& key) {
  std::string line = fmt::format("{} {} {} ", kMagic, kVersion, key.id);
  for (uint8_t b : key.bytes) line += fmt::format("{:02x}", b);
  return line;
}

Keyring load_key_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) fail(path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail(path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  if ((st.st_mode & 077) != 0)
    fail(path, fmt::format("mode {:04o} gives access to group or others; run: chmod 600 {}", st.st_mode & 07777,
                           path.string()));
  if (static_cast<size_t>(st.st_size) > kMaxFileBytes) fail(path, "larger than 64 KiB");

  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(path, n < 0 ? std::strerror(errno) : "file shrank while reading");
    got += static_cast<size_t>(n);
  }

  std::vector<ClusterKey> keys;
  std::istringstream in(text);
  OPENSSL_cleanse(text.data(), text.size());
  std::string line;
  unsigned lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    keys.push_back(parse_line(path, line, lineno));
    OPENSSL_cleanse(line.data(), line.size());
  }
  if (keys.empty()) fail(path, "holds no key");
  ClusterKey current = keys.front();
  keys.erase(keys.begin());
  try {
    return Keyring(std::move(current), std::move(keys));
  } catch (const std::invalid_argument& e) {
    fail(path, e.what());
  }
}

void generate_key_file(const std::filesystem::path& path, uint32_t key_id, const Keyring* previous) {
  ClusterKey key;
  key.id = key_id;
  if (RAND_bytes(key.bytes.data(), static_cast<int>(key.bytes.size())) != 1) fail(path, "RAND_bytes failed");
  std::string text = "# sessnic cluster key: first line current, further lines previous keys\n";
  text += format_key_line(key) + "\n";
  if (previous != nullptr) {
    for (const ClusterKey& k : previous->keys()) {
      if (k.id == key_id) fail(path, fmt::format("key id {} is already in the previous key file", key_id));
      text += format_key_line(k) + "\n";
    }
  }

  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) {
    const int err = errno;
    OPENSSL_cleanse(text.data(), text.size());
    fail(path, err == EEXIST ? std::string("already exists; refusing to overwrite a key") : std::strerror(err));
  }
  size_t put = 0;
  bool ok = ::fchmod(fd.get(), 0600) == 0;  // umask can only narrow it; be explicit anyway
  while (ok && put < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + put, text.size() - put);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) put += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd.get()) == 0;
  const int err = errno;
  OPENSSL_cleanse(text.data(), text.size());
  if (!ok) {
    ::unlink(path.c_str());
    fail(path, std::string("write failed: ") + std::strerror(err));
  }
}

}  // namespace sessnic
