// Session ids for the backplane benches: 32 pseudo-random bytes (splitmix64), like a
// server-generated id; `stream` keeps different key sets of one run apart.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include "sessnic/device.hpp"

namespace sessnic::bench {

inline SessionKey bench_key(uint64_t n, uint64_t stream) {
  std::array<uint8_t, 32> id{};
  uint64_t x = n * 4 + stream;
  for (unsigned w = 0; w < 4; ++w) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    std::memcpy(id.data() + 8 * w, &z, 8);
  }
  return SessionKey::make(id, 1);
}

}  // namespace sessnic::bench
