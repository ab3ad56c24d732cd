#include "sessnic/shm/shared_region.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace sessnic::shm {

SharedRegion SharedRegion::create(std::size_t bytes, const std::string& name) {
  UniqueFd fd(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) throw std::system_error(errno, std::generic_category(), "memfd_create");
  // A memfd has no path, but /proc/<pid>/fd/ reaches it: keep it the owner's only.
  if (::fchmod(fd.get(), 0600) != 0) throw std::system_error(errno, std::generic_category(), "fchmod memfd");
  if (::ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0)
    throw std::system_error(errno, std::generic_category(), "ftruncate memfd");
  // The size is fixed from here on: a client cannot shrink it under the service (SIGBUS).
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    throw std::system_error(errno, std::generic_category(), "seal memfd");
  return map(std::move(fd), bytes);
}

SharedRegion SharedRegion::map(UniqueFd fd, std::size_t bytes) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw std::system_error(errno, std::generic_category(), "fstat shared region");
  if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != bytes)
    throw std::runtime_error("shared region: expected " + std::to_string(bytes) + " bytes, got " +
                             std::to_string(st.st_size));
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap shared region");
  SharedRegion r;
  r.fd_ = std::move(fd);
  r.data_ = p;
  r.size_ = bytes;
  return r;
}

SharedRegion::~SharedRegion() {
  if (data_) ::munmap(data_, size_);
}

SharedRegion::SharedRegion(SharedRegion&& o) noexcept
    : fd_(std::move(o.fd_)), data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

SharedRegion& SharedRegion::operator=(SharedRegion&& o) noexcept {
  if (this != &o) {
    if (data_) ::munmap(data_, size_);
    fd_ = std::move(o.fd_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

UniqueFd make_eventfd() {
  UniqueFd fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!fd) throw std::system_error(errno, std::generic_category(), "eventfd");
  return fd;
}

void signal_eventfd(int fd) {
  const uint64_t one = 1;
  // EAGAIN only when the counter is at its maximum: a wake-up is pending anyway.
  [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
}

void drain_eventfd(int fd) {
  uint64_t v = 0;
  [[maybe_unused]] auto n = ::read(fd, &v, sizeof v);
}

}  // namespace sessnic::shm
