// A shared-memory window: a memfd (no name in any file system, mode 0600) mapped
// read/write. The card service creates one per client and hands the fd over the attach
// socket (SCM_RIGHTS); the client maps the same fd. Also the RAII owner of plain fds.
#pragma once
#include <cstddef>
#include <string>

namespace sessnic::shm {

// An owned file descriptor (closed on destruction).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

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
