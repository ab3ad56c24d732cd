// A shared-memory window: a memfd (no name in any file system, mode 0600) mapped
// read/write. The card service creates one per client and hands the fd over the attach
// socket (SCM_RIGHTS); the client maps the same fd.
#pragma once
#include <cstddef>
#include <string>

#include "sessnic/unique_fd.hpp"

namespace sessnic::shm {

// The project's fd owner, under the name this library always used.
using sessnic::UniqueFd;

class SharedRegion {
 public:
  // A new zero-filled region of `bytes` (memfd, mode 0600). Throws std::system_error.
  static SharedRegion create(std::size_t bytes, const std::string& name);
  // Maps a region received from the card service. Throws std::runtime_error when the fd
  // is not a region of exactly `bytes` bytes.
  static SharedRegion map(UniqueFd fd, std::size_t bytes);

  SharedRegion() = default;
  ~SharedRegion();
  SharedRegion(SharedRegion&& o) noexcept;
  SharedRegion& operator=(SharedRegion&& o) noexcept;

  void* data() const { return data_; }
  std::size_t size() const { return size_; }
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

// An eventfd (non-blocking, close-on-exec): the doorbell / completion signal.
UniqueFd make_eventfd();
// Adds 1 to an eventfd (a doorbell ring). Never blocks.
void signal_eventfd(int fd);
// Resets an eventfd's count (after a wake-up).
void drain_eventfd(int fd);

}  // namespace sessnic::shm
