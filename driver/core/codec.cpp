// Command <-> beat translation. Byte order on the wire is little-endian: byte i of a
// beat is bits 8i+7:8i, i.e. byte (i % 8) of 64-bit word (i / 8). The code packs byte
// by byte so it does not depend on the host's endianness, except where a little-endian
// host's memory layout is exactly that order: there whole runs of bytes are one memcpy
// (a blob beat, the key), the bulk of a look-up's codec work.
#include "sessnic/codec.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace sessnic::codec {
namespace {

constexpr bool kLittle = std::endian::native == std::endian::little;

// ORs bytes into zeroed words (byte i -> bits 8(i%8) of word i/8).
void put_bytes(uint64_t* words, std::span<const uint8_t> bytes) {
  if constexpr (kLittle) {
    std::memcpy(words, bytes.data(), bytes.size());  // the words are zero: OR = copy
  } else {
    for (std::size_t i = 0; i < bytes.size(); ++i) words[i / 8] |= static_cast<uint64_t>(bytes[i]) << (8 * (i % 8));
  }
}

void get_bytes(const uint64_t* words, uint8_t* out, std::size_t n) {
  if constexpr (kLittle) {
    std::memcpy(out, words, n);
  } else {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(words[i / 8] >> (8 * (i % 8)));
  }
}

static_assert(wire::header::key.lsb % 64 == 0, "the key field starts on a word: byte copies below rely on it");


Beat header_beat(const Command& c) {
  Beat b;
  clear_beat(b);
  const unsigned key_len = std::min<unsigned>(c.key.len, wire::KEY_MAX_BYTES);
  wire::set_field(b.data, wire::header::op, static_cast<uint64_t>(c.op));
  wire::set_field(b.data, wire::header::key_len, c.key.len);  // as given: the card judges it
  wire::set_field(b.data, wire::header::flags, c.flags);
  wire::set_field(b.data, wire::header::tag, c.tag);
  put_bytes(b.data + wire::header::key.lsb / 64, std::span<const uint8_t>(c.key.id.data(), key_len));
  wire::set_field(b.data, wire::header::version, c.version);
  wire::set_field(b.data, wire::header::expiry, c.expiry);
  wire::set_field(b.data, wire::header::ctx, c.key.ctx);
  wire::set_field(b.data, wire::header::blob_len, c.blob.size());
  wire::set_field(b.data, wire::header::aux, c.aux);
  b.last = c.blob.empty();
  return b;
}

template <typename Sink>
void emit(const Command& c, Sink&& sink) {
  sink(header_beat(c));
  const unsigned n = beats_for(static_cast<unsigned>(c.blob.size()));
  for (unsigned i = 0; i < n; ++i) {
    Beat b;
    clear_beat(b);
    const std::size_t lo = static_cast<std::size_t>(i) * wire::BEAT_BYTES;
    const std::size_t len = std::min<std::size_t>(wire::BEAT_BYTES, c.blob.size() - lo);
    put_bytes(b.data, std::span<const uint8_t>(c.blob.data() + lo, len));
    b.last = i + 1 == n;
    sink(b);
  }
}

// Fills everything but the blob from a response header beat.
Response parse_header(const Beat& h, unsigned& blob_len, bool& valid) {
  Response r;
  const auto st = static_cast<unsigned>(wire::get_field(h.data, wire::header::status));
  valid = wire::is_valid_status(st);
  r.status = valid ? static_cast<wire::Status>(st) : wire::Status::FAILED;
  r.op = static_cast<wire::Opcode>(wire::get_field(h.data, wire::header::op));
  r.tag = static_cast<uint32_t>(wire::get_field(h.data, wire::header::tag));
  const auto key_len = static_cast<unsigned>(wire::get_field(h.data, wire::header::key_len));
  r.key.len = static_cast<uint8_t>(std::min<unsigned>(key_len, wire::KEY_MAX_BYTES));
  r.key.ctx = static_cast<uint8_t>(wire::get_field(h.data, wire::header::ctx));
  get_bytes(h.data + wire::header::key.lsb / 64, r.key.id.data(), r.key.len);
  r.version = wire::get_field(h.data, wire::header::version);
  r.expiry = static_cast<uint32_t>(wire::get_field(h.data, wire::header::expiry));
  r.flags = static_cast<uint8_t>(wire::get_field(h.data, wire::header::flags));
  r.aux = wire::get_field(h.data, wire::header::aux);
  r.card = static_cast<uint8_t>(wire::get_subfield(r.aux, wire::header::aux, wire::sync_cmd::dest));
  blob_len = static_cast<unsigned>(wire::get_field(h.data, wire::header::blob_len));
  return r;
}

void poison(Response& r) {
  r.status = wire::Status::FAILED;
  r.blob.clear();
}

// Blob beat number `index` into its place in `blob` (the last beat may be partly padding).
void copy_blob_beat(const Beat& beat, unsigned index, std::vector<uint8_t>& blob) {
  const std::size_t lo = static_cast<std::size_t>(index) * wire::BEAT_BYTES;
  if (lo < blob.size()) get_bytes(beat.data, blob.data() + lo, std::min<std::size_t>(wire::BEAT_BYTES, blob.size() - lo));
}

}  // namespace

bool encodable(const Command& cmd) { return cmd.blob.size() <= kMaxWireBlob; }

void encode(const Command& cmd, std::vector<Beat>& out) {
  emit(cmd, [&](const Beat& b) { out.push_back(b); });
}

void encode(const Command& cmd, hls::stream<Beat>& out) {
  emit(cmd, [&](const Beat& b) { out.write(b); });
}

bool ResponseAssembler::push(const Beat& beat) {
  if (ready_) {  // caller skipped take(): start over rather than mix two responses
    ready_ = false;
    in_progress_ = false;
  }
  if (!in_progress_) {
    unsigned blob_len = 0;
    bool valid = false;
    cur_ = parse_header(beat, blob_len, valid);
    corrupt_ = !valid;
    want_beats_ = beats_for(blob_len);
    got_beats_ = 0;
    cur_.blob.assign(blob_len, 0);
    if (want_beats_ == 0 || beat.last) {
      if (want_beats_ != 0 || !beat.last) corrupt_ = true;  // TLAST disagrees with blob_len
      if (corrupt_) poison(cur_);
      ready_ = true;
      return true;
    }
    in_progress_ = true;
    return false;
  }
  copy_blob_beat(beat, got_beats_, cur_.blob);
  ++got_beats_;
  const bool should_end = got_beats_ == want_beats_;
  if (beat.last || should_end) {
    if (beat.last != should_end) corrupt_ = true;
    if (corrupt_) poison(cur_);
    in_progress_ = false;
    ready_ = true;
    // A late TLAST means more beats of this response follow; the next push() would
    // misread them as a header. They are consumed as a poisoned response instead.
    return true;
  }
  return false;
}

Response ResponseAssembler::take() {
  ready_ = false;
  return std::move(cur_);
}

Response decode(std::span<const Beat> beats) {
  ResponseAssembler a;
  for (std::size_t i = 0; i < beats.size(); ++i) {
    if (a.push(beats[i])) {
      Response r = a.take();
      if (i + 1 != beats.size()) poison(r);  // trailing beats: not exactly one response
      return r;
    }
  }
  Response r;  // ran out of beats mid-response
  poison(r);
  return r;
}

// The model device reads every answer here: straight-line, not beat by beat through a
// ResponseAssembler (its state machine was a fifth of the model's code per command),
// with the assembler's outcomes: FAILED with an empty blob when the framing contradicts
// the header or the status is unknown, a fresh FAILED response when the stream runs dry
// mid-response, and the stream left at the next TLAST either way.
Response read_response(hls::stream<Beat>& in) {
  if (in.empty()) {
    Response r;
    poison(r);
    return r;
  }
  Beat b = in.read();
  unsigned blob_len = 0;
  bool valid = false;
  Response r = parse_header(b, blob_len, valid);
  bool corrupt = !valid;
  const unsigned want = beats_for(blob_len);
  bool last = b.last;
  if (want != 0 && !last) {
    r.blob.assign(blob_len, 0);
    unsigned got = 0;
    for (;;) {
      if (in.empty()) {
        Response dry;
        poison(dry);
        return dry;
      }
      b = in.read();
      copy_blob_beat(b, got, r.blob);
      ++got;
      const bool should_end = got == want;
      if (b.last || should_end) {
        if (b.last != should_end) corrupt = true;
        last = b.last;
        break;
      }
    }
  } else if (want != 0 || !last) {
    corrupt = true;  // TLAST disagrees with blob_len
  }
  if (corrupt) poison(r);
  // Drain to TLAST so the next response starts on a header beat.
  while (!last && !in.empty()) last = in.read().last;
  return r;
}

Response local_response(const Command& cmd, wire::Status status) {
  Response r;
  r.status = status;
  r.op = cmd.op;
  r.tag = cmd.tag;
  r.key = cmd.key;
  return r;
}

TableStats decode_stats(const Response& r) {
  TableStats s;
  if (r.status != wire::Status::OK || r.op != wire::Opcode::STATS || r.blob.size() != wire::STATS_WORDS * 8) return s;
  for (unsigned i = 0; i < wire::STATS_COUNT; ++i) {
    uint64_t v = 0;
    for (unsigned b = 0; b < 8; ++b) v |= static_cast<uint64_t>(r.blob[i * 8 + b]) << (8 * b);
    s.counter[i] = v;
  }
  return s;
}

}  // namespace sessnic::codec
