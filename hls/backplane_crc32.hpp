// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) over whole 64-bit words, as the
// backplane frame check (spec/wire.toml, `frame.crc`). Slicing-by-8: one table lookup
// per byte of a word, all eight in parallel, so a 512-bit beat is 8 steps in C++ and
// one cycle of eight ROM lookups per word in hardware.
#pragma once
#include <stdint.h>

namespace sessnic {

struct Crc32Tables {
  uint32_t t[8][256];
};

constexpr Crc32Tables make_crc32_tables() {
  Crc32Tables c{};
  for (unsigned i = 0; i < 256; ++i) {
    uint32_t v = i;
    for (unsigned b = 0; b < 8; ++b) v = (v & 1) ? (v >> 1) ^ 0xEDB88320u : v >> 1;
    c.t[0][i] = v;
  }
  for (unsigned k = 1; k < 8; ++k)
    for (unsigned i = 0; i < 256; ++i) c.t[k][i] = (c.t[k - 1][i] >> 8) ^ c.t[0][c.t[k - 1][i] & 0xff];
  return c;
}

// A template so the constant has one definition across translation units in C++14.
template <int N = 0>
struct Crc32Rom {
  static constexpr Crc32Tables tab = make_crc32_tables();
};
template <int N>
constexpr Crc32Tables Crc32Rom<N>::tab;

// Running state: start with crc32_init(), feed words (little-endian bytes), finish with
// crc32_final().
inline uint32_t crc32_init() { return 0xFFFFFFFFu; }
inline uint32_t crc32_final(uint32_t c) { return c ^ 0xFFFFFFFFu; }

inline uint32_t crc32_word(uint32_t crc, uint64_t w) {
  const Crc32Tables& r = Crc32Rom<>::tab;
  const uint32_t lo = static_cast<uint32_t>(w) ^ crc;
  const uint32_t hi = static_cast<uint32_t>(w >> 32);
  return r.t[7][lo & 0xff] ^ r.t[6][(lo >> 8) & 0xff] ^ r.t[5][(lo >> 16) & 0xff] ^ r.t[4][lo >> 24] ^
         r.t[3][hi & 0xff] ^ r.t[2][(hi >> 8) & 0xff] ^ r.t[1][(hi >> 16) & 0xff] ^ r.t[0][hi >> 24];
}

}  // namespace sessnic
