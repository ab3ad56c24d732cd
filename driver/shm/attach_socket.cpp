#include "sessnic/shm/attach_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace sessnic::shm {
namespace {

sockaddr_un address(const std::filesystem::path& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  const std::string s = path.string();
  if (s.empty() || s.size() >= sizeof a.sun_path)
    throw std::runtime_error("card service socket path '" + s + "' is empty or longer than " +
                             std::to_string(sizeof a.sun_path - 1) + " bytes");
  std::memcpy(a.sun_path, s.c_str(), s.size() + 1);
  return a;
}

std::string err(const std::filesystem::path& p, const std::string& what) {
  return "card service socket " + p.string() + ": " + what;
}

// The socket's directory: created 0700; an existing one must be ours and closed to others.
void check_directory(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error(err(dir, std::string("mkdir: ") + std::strerror(errno)));
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) throw std::runtime_error(err(dir, std::string("stat: ") + std::strerror(errno)));
  if (!S_ISDIR(st.st_mode)) throw std::runtime_error(err(dir, "not a directory"));
  if (st.st_uid != ::geteuid())
    throw std::runtime_error(err(dir, "directory owned by uid " + std::to_string(st.st_uid) + ", not by this user"));
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    throw std::runtime_error(err(dir, std::string("directory mode ") + mode +
                                          " gives access to group or others; run: chmod 700 " + dir.string()));
  }
}

}  // namespace

UniqueFd listen_unix(const std::filesystem::path& path) {
  const auto a = address(path);
  check_directory(path.has_parent_path() ? path.parent_path() : std::filesystem::path("."));
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw std::runtime_error(err(path, "exists and is not a socket"));
    UniqueFd probe(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0)
      throw std::runtime_error(err(path, "another card service is running on it"));
    ::unlink(path.c_str());  // left by a service that died
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) throw std::runtime_error(err(path, std::string("socket: ") + std::strerror(errno)));
  // Created 0600 from the start (no window in which others could connect).
  const mode_t old = ::umask(077);
  const int rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a);
  const int bind_errno = errno;
  ::umask(old);
  if (rc != 0) throw std::runtime_error(err(path, std::string("bind: ") + std::strerror(bind_errno)));
  if (::chmod(path.c_str(), 0600) != 0 || ::listen(fd.get(), 64) != 0)
    throw std::runtime_error(err(path, std::string("listen: ") + std::strerror(errno)));
  return fd;
}

UniqueFd connect_unix(const std::filesystem::path& path) {
  const auto a = address(path);
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) throw std::runtime_error(err(path, std::string("socket: ") + std::strerror(errno)));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0)
    throw std::runtime_error(err(path, std::string("connect: ") + std::strerror(errno)));
  return fd;
}

long peer_uid(int fd) {
  ucred c{};
  socklen_t len = sizeof c;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len) != 0) return -1;
  return static_cast<long>(c.uid);
}

bool send_message(int fd, const void* msg, std::size_t len, const int* fds, int nfds) {
  iovec iov{const_cast<void*>(msg), len};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(3 * sizeof(int))] = {};
  if (nfds > 0) {
    if (nfds > 3) return false;
    m.msg_control = control;
    m.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
  }
  ssize_t n;
  do n = ::sendmsg(fd, &m, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(len);
}

int recv_message(int fd, void* msg, std::size_t len, UniqueFd* fds, int max_fds, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int r;
  do r = ::poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  if (r <= 0) return -1;
  iovec iov{msg, len};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(8 * sizeof(int))] = {};
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(fd, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  int got = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const int count = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int i = 0; i < count; ++i) {
      int f;
      std::memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
      if (got < max_fds)
        fds[got++].reset(f);
      else
        ::close(f);
    }
  }
  if (n != static_cast<ssize_t>(len) || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) return -1;
  return got;
}

}  // namespace sessnic::shm
