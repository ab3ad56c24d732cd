// Test-only codec for the session table's command/response streams.
//
// Deliberately independent of the production codec in driver/: the tests must be able
// to notice when that one (or the kernel) gets the wire layout wrong. Fields are kept
// as raw integers so tests can build malformed commands (bad opcode, bad key length,
// blob_len that disagrees with the payload, TLAST early or late).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "beat.hpp"
#include "wire/sessnic_wire.hpp"

namespace sessnic::table_test {

using Bytes = std::vector<uint8_t>;

struct TableCommand {
  unsigned op = 0;  // raw opcode byte, so invalid ones can be sent
  uint32_t tag = 0;
  unsigned key_len = 0;  // raw key_len byte (0 and > 32 are malformed for keyed ops)
  std::array<uint8_t, wire::KEY_MAX_BYTES> key{};  // bytes past key_len may hold junk
  unsigned flags = 0;
  unsigned ctx = 0;
  uint64_t version = 0;
  uint32_t expiry = 0;
  uint64_t aux = 0;
  Bytes blob;
  // Malformed framing: blob_len in the header (default blob.size()) and the number of
  // payload beats actually sent relative to ceil(blob.size()/64) (<0: TLAST early).
  std::optional<unsigned> blob_len_field;
  int extra_beats = 0;

  unsigned blob_len() const { return blob_len_field ? *blob_len_field : static_cast<unsigned>(blob.size()); }
  int beats_sent() const { return static_cast<int>(beats_for(static_cast<unsigned>(blob.size()))) + extra_beats; }
};

struct TableResponse {
  unsigned op = 0, status = 0, key_len = 0, flags = 0, ctx = 0;
  uint32_t tag = 0;
  std::array<uint8_t, wire::KEY_MAX_BYTES> key{};
  uint64_t version = 0;
  uint32_t expiry = 0;
  uint64_t aux = 0;  // card id that answered
  Bytes blob;

  wire::Status st() const { return static_cast<wire::Status>(status); }
  friend bool operator==(const TableResponse&, const TableResponse&) = default;
};

inline uint8_t byte_of(const uint64_t* words, unsigned i) { return static_cast<uint8_t>(words[i / 8] >> (8 * (i % 8))); }
inline void put_byte(uint64_t* words, unsigned i, uint8_t v) {
  words[i / 8] &= ~(0xffull << (8 * (i % 8)));
  words[i / 8] |= static_cast<uint64_t>(v) << (8 * (i % 8));
}

// Command -> beats, exactly as a host would put them on the AXI stream.
inline std::vector<Beat> encode(const TableCommand& c) {
  std::vector<Beat> beats(1 + static_cast<size_t>(c.beats_sent() < 0 ? 0 : c.beats_sent()));
  for (Beat& b : beats) clear_beat(b);
  uint64_t* h = beats[0].data;
  wire::set_field(h, wire::header::op, c.op);
  wire::set_field(h, wire::header::key_len, c.key_len);
  wire::set_field(h, wire::header::flags, c.flags);
  wire::set_field(h, wire::header::tag, c.tag);
  for (unsigned i = 0; i < wire::KEY_MAX_BYTES; ++i) put_byte(h, wire::header::key.lsb / 8 + i, c.key[i]);
  wire::set_field(h, wire::header::version, c.version);
  wire::set_field(h, wire::header::expiry, c.expiry);
  wire::set_field(h, wire::header::ctx, c.ctx);
  wire::set_field(h, wire::header::blob_len, c.blob_len());
  wire::set_field(h, wire::header::aux, c.aux);
  for (size_t i = 0; i < c.blob.size(); ++i) {
    const size_t beat = 1 + i / wire::BEAT_BYTES;
    if (beat < beats.size()) put_byte(beats[beat].data, static_cast<unsigned>(i % wire::BEAT_BYTES), c.blob[i]);
  }
  for (size_t b = 1; b < beats.size(); ++b)  // extra beats carry junk, not zeros
    if (b > static_cast<size_t>(beats_for(static_cast<unsigned>(c.blob.size()))))
      for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) beats[b].data[w] = 0xa5a5a5a5a5a5a5a5ull * (b + w);
  beats.back().last = true;
  return beats;
}

// Beats -> response. Returns an error text instead when the framing is wrong: missing
// beats, TLAST in the wrong place, or non-zero bytes past blob_len in the last beat.
struct DecodeResult {
  std::optional<TableResponse> rsp;
  std::string error;
};

inline DecodeResult decode(const std::vector<Beat>& beats) {
  if (beats.empty()) return {std::nullopt, "no response beats"};
  const uint64_t* h = beats[0].data;
  TableResponse r;
  r.op = static_cast<unsigned>(wire::get_field(h, wire::header::op));
  r.status = static_cast<unsigned>(wire::get_field(h, wire::header::status));
  r.key_len = static_cast<unsigned>(wire::get_field(h, wire::header::key_len));
  r.flags = static_cast<unsigned>(wire::get_field(h, wire::header::flags));
  r.tag = static_cast<uint32_t>(wire::get_field(h, wire::header::tag));
  for (unsigned i = 0; i < wire::KEY_MAX_BYTES; ++i) r.key[i] = byte_of(h, wire::header::key.lsb / 8 + i);
  r.version = wire::get_field(h, wire::header::version);
  r.expiry = static_cast<uint32_t>(wire::get_field(h, wire::header::expiry));
  r.ctx = static_cast<unsigned>(wire::get_field(h, wire::header::ctx));
  r.aux = wire::get_field(h, wire::header::aux);
  const unsigned len = static_cast<unsigned>(wire::get_field(h, wire::header::blob_len));
  const unsigned n = beats_for(len);
  if (beats.size() != 1 + n) return {std::nullopt, fmt::format("blob_len {} needs {} beats, got {}", len, n, beats.size() - 1)};
  for (size_t i = 0; i < beats.size(); ++i)
    if (beats[i].last != (i + 1 == beats.size())) return {std::nullopt, fmt::format("TLAST wrong on beat {}", i)};
  for (unsigned i = 0; i < n * wire::BEAT_BYTES; ++i) {
    const uint8_t v = byte_of(beats[1 + i / wire::BEAT_BYTES].data, i % wire::BEAT_BYTES);
    if (i < len) r.blob.push_back(v);
    else if (v != 0) return {std::nullopt, fmt::format("non-zero padding byte {} past blob_len {}", i, len)};
  }
  return {r, ""};
}

// Readable one-line form for failure messages.
inline std::string describe(const TableResponse& r) {
  std::string key;
  for (unsigned i = 0; i < r.key_len && i < wire::KEY_MAX_BYTES; ++i) key += fmt::format("{:02x}", r.key[i]);
  const char* st = wire::is_valid_status(r.status) ? wire::to_string(r.st()) : "?";
  return fmt::format("{{op {} st {} tag {} key_len {} key {} ctx {} ver {:#x} exp {} flags {} card {} blob {}B}}", r.op, st,
                     r.tag, r.key_len, key, r.ctx, r.version, r.expiry, r.flags, r.aux, r.blob.size());
}

inline std::string describe(const TableCommand& c) {
  const char* op = wire::is_valid_opcode(c.op) ? wire::to_string(static_cast<wire::Opcode>(c.op)) : "?";
  std::string key;
  for (unsigned i = 0; i < c.key_len && i < wire::KEY_MAX_BYTES; ++i) key += fmt::format("{:02x}", c.key[i]);
  return fmt::format("{{{}({}) tag {} key_len {} key {} ctx {} ver {:#x} exp {} flags {} aux {} blob {}B len_field {} extra {}}}",
                     op, c.op, c.tag, c.key_len, key, c.ctx, c.version, c.expiry, c.flags, c.aux, c.blob.size(),
                     c.blob_len(), c.extra_beats);
}

// Convenience builders for well-formed commands.
inline TableCommand make_cmd(wire::Opcode op, uint32_t tag = 0) {
  TableCommand c;
  c.op = static_cast<unsigned>(op);
  c.tag = tag;
  return c;
}

inline TableCommand keyed(wire::Opcode op, const Bytes& id, unsigned ctx = 0, uint32_t tag = 0) {
  TableCommand c = make_cmd(op, tag);
  c.key_len = static_cast<unsigned>(id.size());
  for (size_t i = 0; i < id.size() && i < c.key.size(); ++i) c.key[i] = id[i];
  c.ctx = ctx;
  return c;
}

}  // namespace sessnic::table_test
