#include "static_site.hpp"

#include <fmt/format.h>
#include <http_parser.h>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "sessnic/unique_fd.hpp"

namespace sessnic::server {
namespace {

std::string_view content_type(const std::filesystem::path& p) {
  auto ext = p.extension().string();
  if (ext == ".html" || ext == ".htm") return "text/html; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".css") return "text/css";
  if (ext == ".js") return "text/javascript";
  if (ext == ".png") return "image/png";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// glibc has no wrapper for openat2 before 2.39.
int open_beneath(int dir, const char* rel) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = ::syscall(SYS_openat2, dir, rel, &how, sizeof how);
    if (fd >= 0 || errno != EINTR) return static_cast<int>(fd);
  }
}

HttpResponse plain(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::optional<std::string> decoded_request_path(std::string_view target) {
  http_parser_url u;
  http_parser_url_init(&u);
  if (target.empty() || http_parser_parse_url(target.data(), target.size(), 0, &u) != 0) return std::nullopt;
  if (!(u.field_set & (1 << UF_PATH))) {  // "http://host" means "/"; "*" and the like name no file
    if (u.field_set & (1 << UF_HOST)) return std::string("/");
    return std::nullopt;
  }
  std::string_view raw = target.substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
  if (raw.empty() || raw.front() != '/') return std::nullopt;
  std::string path;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      if (i + 2 >= raw.size()) return std::nullopt;
      int hi = hex(raw[i + 1]), lo = hex(raw[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return std::nullopt;
    path += c;
  }
  // Refuse any ".." segment (after decoding, so "%2e%2e" is caught too).
  for (size_t start = 0; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (std::string_view(path).substr(start, end - start) == "..") return std::nullopt;
    start = end + 1;
  }
  return path;
}

StaticSite::StaticSite(const std::filesystem::path& root, std::string server_name) : name_(std::move(server_name)) {
  std::error_code ec;
  root_ = std::filesystem::canonical(root, ec);
  if (ec || !std::filesystem::is_directory(root_))
    throw std::runtime_error(fmt::format("content directory '{}' does not exist", root.string()));
  root_fd_ = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd_ < 0)
    throw std::runtime_error(fmt::format("content directory '{}': {}", root.string(), std::strerror(errno)));
}

StaticSite::~StaticSite() { ::close(root_fd_); }

HttpResponse StaticSite::not_found() const { return plain(404, fmt::format("not found on {}\n", name_)); }

int StaticSite::open_canonical(const std::string& rel) const {
  std::error_code ec;
  auto file = std::filesystem::weakly_canonical(root_ / rel, ec);
  auto inside = file.lexically_relative(root_);
  // The canonical path (symlinks resolved) must still be inside the content directory.
  if (ec || inside.empty() || inside.native().starts_with("..")) return -1;
  return ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
}

HttpResponse StaticSite::respond(std::string_view method, std::string_view target) const {
  if (method != "GET" && method != "HEAD") {
    auto r = plain(405, "method not allowed\n");
    r.allow = "GET, HEAD";
    return r;
  }
  auto path = decoded_request_path(target);
  if (!path) return plain(400, "bad request\n");
  if (path->ends_with("/")) *path += "index.html";
  const std::string rel = path->substr(1);
  int fd = open_beneath(root_fd_, rel.c_str());
  if (fd < 0 && errno == EXDEV) fd = open_canonical(rel);  // resolution left the directory: check where to
  UniqueFd file(fd);
  struct stat st{};
  if (file.get() < 0 || ::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode)) return not_found();
  HttpResponse r;
  r.body.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < r.body.size()) {
    ssize_t n = ::pread(file.get(), r.body.data() + got, r.body.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return plain(500, "cannot read the file\n");
    if (n == 0) break;  // the file shrank since fstat: what is there now is the file
    got += static_cast<size_t>(n);
  }
  r.body.resize(got);
  r.content_type = content_type(std::filesystem::path(rel));
  return r;
}

}  // namespace sessnic::server
