// What sessnic-server serves: the files of one content directory, GET and HEAD only.
// A target that tries to leave the directory ("..", also percent-encoded) is refused with
// 400 before the file system is touched; a symlink leading outside is a 404.
// A file is opened relative to the directory with openat2(RESOLVE_BENEATH): one system call
// that the kernel refuses when resolution would leave the directory, instead of resolving
// every path component with readlink (five calls for /index.html two levels deep). Only a
// refused resolution (an absolute symlink, which may still land inside) takes the slow
// path: the canonical path, checked to be inside.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace sessnic::server {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string allow;  // for 405
};

std::string_view reason_phrase(int status);

class StaticSite {
 public:
  // Throws std::runtime_error when `root` is not a directory.
  StaticSite(const std::filesystem::path& root, std::string server_name);
  ~StaticSite();
  StaticSite(const StaticSite&) = delete;
  StaticSite& operator=(const StaticSite&) = delete;
  HttpResponse respond(std::string_view method, std::string_view target) const;
  const std::string& server_name() const { return name_; }

 private:
  HttpResponse not_found() const;
  // The slow path for what RESOLVE_BENEATH refused: -1 when it leads outside.
  int open_canonical(const std::string& rel) const;

  std::filesystem::path root_;
  int root_fd_ = -1;  // O_PATH handle of root_, for openat2
  std::string name_;
};

// The path of a request target (origin-form or absolute-form), percent-decoded; nullopt
// when it is malformed, contains NUL or a ".." segment. Exposed for tests.
std::optional<std::string> decoded_request_path(std::string_view target);

}  // namespace sessnic::server
