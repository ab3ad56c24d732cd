// Encodes one table command as stream beats (header layout from spec/wire.toml, via the
// generated wire header), including deliberately malformed ones for the RTL tests.
#pragma once
#include <stdint.h>

#include <array>
#include <cstring>
#include <vector>

#include "beat.hpp"
#include "wire/sessnic_wire.hpp"

namespace sessnic::rtlsim {

struct TableCommand {
  uint8_t op = 0;
  uint8_t status = 0;  // commands carry 0; tests put junk here, the response overwrites it
  uint8_t key_len = 0;
  uint8_t flags = 0;
  uint32_t tag = 0;
  std::array<uint8_t, 32> key{};  // bytes past key_len may be junk: the table ignores them
  uint64_t version = 0;
  uint32_t expiry = 0;
  uint8_t ctx = 0;
  uint8_t rsvd = 0;  // header byte 53 (reserved): echoed untouched
  uint16_t blob_len = 0;
  uint64_t aux = 0;
  std::vector<uint8_t> payload;  // sent as ceil(size/64) beats (+ extra_beats)
  int extra_beats = 0;           // framing errors: <0 drops beats, >0 adds junk beats
};

inline std::vector<Beat> encode(const TableCommand& c) {
  Beat h;
  clear_beat(h);
  wire::set_field(h.data, wire::header::op, c.op);
  wire::set_field(h.data, wire::header::status, c.status);
  wire::set_field(h.data, wire::header::key_len, c.key_len);
  wire::set_field(h.data, wire::header::flags, c.flags);
  wire::set_field(h.data, wire::header::tag, c.tag);
  std::memcpy(&h.data[wire::header::key.lsb / 64], c.key.data(), 32);  // little-endian host
  wire::set_field(h.data, wire::header::version, c.version);
  wire::set_field(h.data, wire::header::expiry, c.expiry);
  wire::set_field(h.data, wire::header::ctx, c.ctx);
  wire::set_field(h.data, wire::Field{424, 8}, c.rsvd);
  wire::set_field(h.data, wire::header::blob_len, c.blob_len);
  wire::set_field(h.data, wire::header::aux, c.aux);

  std::vector<Beat> beats{h};
  int n = static_cast<int>(beats_for(static_cast<unsigned>(c.payload.size()))) + c.extra_beats;
  for (int i = 0; i < n; ++i) {
    Beat b;
    clear_beat(b);
    for (unsigned j = 0; j < wire::BEAT_BYTES; ++j) {
      const size_t at = static_cast<size_t>(i) * wire::BEAT_BYTES + j;
      const uint8_t byte = at < c.payload.size() ? c.payload[at] : static_cast<uint8_t>(0xa5 ^ j ^ i);
      b.data[j / 8] |= static_cast<uint64_t>(byte) << (8 * (j % 8));
    }
    beats.push_back(b);
  }
  for (Beat& b : beats) b.last = false;
  beats.back().last = true;
  return beats;
}

}  // namespace sessnic::rtlsim
