// One 512-bit stream beat with its TLAST: the unit of every command, response and
// backplane frame stream (layouts in spec/wire.toml). On the card the top-level
// wrappers map it onto AXI4-Stream tdata/tlast.
#pragma once
#include <stdint.h>

#include "wire/sessnic_wire.hpp"

namespace sessnic {

struct Beat {
  uint64_t data[wire::BEAT_WORDS];
  bool last;
};

inline void clear_beat(Beat& b) {
  for (unsigned i = 0; i < wire::BEAT_WORDS; ++i) b.data[i] = 0;
  b.last = false;
}

// Number of payload beats that carry `len` bytes.
inline unsigned beats_for(unsigned len) { return (len + wire::BEAT_BYTES - 1) / wire::BEAT_BYTES; }

}  // namespace sessnic
