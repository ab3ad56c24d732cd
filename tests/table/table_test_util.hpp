// Helpers shared by the table unit tests: ids that land in a chosen set, blob patterns.
#pragma once
#include <cstdint>
#include <vector>

#include "table_codec.hpp"

namespace sessnic::table_test {

// A recognisable blob: byte i = seed + 7*i.
inline Bytes pattern(size_t len, uint8_t seed) {
  Bytes b(len);
  for (size_t i = 0; i < len; ++i) b[i] = static_cast<uint8_t>(seed + 7 * i);
  return b;
}

// `count` distinct ids of `len` bytes that all map to `set` of Table (with `ctx`).
template <class Table>
std::vector<Bytes> ids_in_set(unsigned set, size_t count, unsigned len = 16, unsigned ctx = 0) {
  std::vector<Bytes> out;
  for (uint32_t n = 1; out.size() < count; ++n) {
    Bytes id(len, 0x5a);
    for (unsigned i = 0; i < 4 && i < len; ++i) id[i] = static_cast<uint8_t>(n >> (8 * i));
    uint64_t words[4] = {};
    for (unsigned i = 0; i < len; ++i) words[i / 8] |= static_cast<uint64_t>(id[i]) << (8 * (i % 8));
    if (Table::set_index(words, len, ctx) == set) out.push_back(id);
  }
  return out;
}

}  // namespace sessnic::table_test
