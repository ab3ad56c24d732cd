// Buffered DRBG output. RAND_bytes costs ~1.4 us per call in OpenSSL 3.0 whatever the
// length (most of it fixed overhead), while nonces and session ids need only a few
// bytes each: one 1.5 KB refill serves ~100 of them. The bytes are the DRBG's own
// output, handed out once each and wiped from the buffer as they go.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>

namespace sessnic {

class RandomPool {
 public:
  // Fills `out` (at most kBufferBytes) with fresh random bytes. False if the DRBG failed.
  bool fill(std::span<uint8_t> out);

  static constexpr std::size_t kBufferBytes = 1536;

 private:
  std::mutex mu_;
  std::array<uint8_t, kBufferBytes> buf_{};
  std::size_t used_ = kBufferBytes;
};

}  // namespace sessnic
