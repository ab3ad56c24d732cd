#include "sessnic/redis/options.hpp"

#include <sys/stat.h>

#include <charconv>
#include <fstream>
#include <stdexcept>

namespace sessnic::redis {

std::string load_password_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error("redis password file " + path.string() + ": cannot stat");
  if ((st.st_mode & 077) != 0)
    throw std::runtime_error("redis password file " + path.string() +
                             " may be read by group or others; chmod 600 it");
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) throw std::runtime_error("redis password file " + path.string() + ": cannot read");
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.empty()) throw std::runtime_error("redis password file " + path.string() + ": empty");
  return line;
}

std::optional<RedisAddress> parse_address(const std::string& s) {
  RedisAddress a;
  std::string port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return std::nullopt;
    a.host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0) return std::nullopt;
    a.host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (a.host.find(':') != std::string::npos) return std::nullopt;
  }
  if (a.host == "localhost") a.host = "127.0.0.1";
  unsigned v = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535) return std::nullopt;
  a.port = static_cast<uint16_t>(v);
  return a;
}

}  // namespace sessnic::redis
