// hls::stream for plain g++ builds. Under Vitis HLS (synthesis or C-simulation) the
// vendor's <hls_stream.h> is used instead; this shim exists only so the kernels compile
// and run as ordinary C++ (unit tests, the in-process model device) on machines
// without Vitis. It is a growable single-threaded FIFO, like Vitis's C-sim stream.
#pragma once

#if __has_include(<hls_stream.h>) && !defined(SESSNIC_FORCE_SHIM)
#include <hls_stream.h>
#else
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <utility>

namespace hls {

template <typename T>
class stream {
 public:
  stream() : buf_(new T[16]), cap_(16) {}
  explicit stream(const char* /*name*/) : stream() {}
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  bool empty() const { return head_ == tail_; }
  bool full() const { return false; }
  std::size_t size() const { return tail_ - head_; }

  // The model device runs these for every beat of every command: the rare paths (grow,
  // the empty-read abort) are out of line so the common one stays a few instructions.
  void write(const T& v) {
    if (tail_ - head_ == cap_) [[unlikely]]
      grow();
    buf_[tail_++ & (cap_ - 1)] = v;
  }
  T read() {
    if (empty()) [[unlikely]]
      read_empty();
    T v = buf_[head_++ & (cap_ - 1)];
    // Emptied: start again at the front, so a stream that carries one command at a time
    // keeps reusing the same few cache lines instead of cycling through its whole buffer.
    if (head_ == tail_) head_ = tail_ = 0;
    return v;
  }
  void read(T& v) { v = read(); }
  bool read_nb(T& v) {
    if (empty()) return false;
    v = read();
    return true;
  }
  bool write_nb(const T& v) {
    write(v);
    return true;
  }
  void operator<<(const T& v) { write(v); }
  void operator>>(T& v) { v = read(); }

 private:
  // Vitis C-sim warns and returns garbage; reading an empty stream is always a kernel
  // bug, so stop loudly instead.
  [[gnu::cold, gnu::noinline]] static void read_empty() {
    std::fputs("hls::stream: read from empty stream\n", stderr);
    std::abort();
  }
  [[gnu::cold, gnu::noinline]] void grow() {
    std::unique_ptr<T[]> bigger(new T[cap_ * 2]);
    for (std::size_t i = head_; i != tail_; ++i) bigger[i - head_] = buf_[i & (cap_ - 1)];
    tail_ -= head_;
    head_ = 0;
    cap_ *= 2;
    buf_ = std::move(bigger);
  }
  std::unique_ptr<T[]> buf_;
  std::size_t cap_;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
};

}  // namespace hls
#endif
