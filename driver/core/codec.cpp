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

namespace {

// The framing rule: one beat into `s`; true when a whole response is ready in s.cur. A
// response whose framing contradicts its header (TLAST early or late) or whose status is
// unknown is poisoned. Local, so it inlines into read_response's loop (the model device
// reads every answer there) as well as into push().
[[gnu::always_inline]] inline bool assemble(ResponseAssembler::State& s, const Beat& beat) {
  if (s.ready) {  // caller skipped take(): start over rather than mix two responses
    s.ready = false;
    s.in_progress = false;
  }
  if (!s.in_progress) {
    unsigned blob_len = 0;
    bool valid = false;
    s.cur = parse_header(beat, blob_len, valid);
    s.corrupt = !valid;
    s.want_beats = beats_for(blob_len);
    s.got_beats = 0;
    s.cur.blob.assign(blob_len, 0);
    if (s.want_beats == 0 || beat.last) {
      if (s.want_beats != 0 || !beat.last) s.corrupt = true;  // TLAST disagrees with blob_len
      if (s.corrupt) poison(s.cur);
      s.ready = true;
      return true;
    }
    s.in_progress = true;
    return false;
  }
  copy_blob_beat(beat, s.got_beats, s.cur.blob);
  ++s.got_beats;
  const bool should_end = s.got_beats == s.want_beats;
  if (beat.last || should_end) {
    if (beat.last != should_end) s.corrupt = true;
    if (s.corrupt) poison(s.cur);
    s.in_progress = false;
    s.ready = true;
    // A late TLAST means more beats of this response follow; the next push() would
    // misread them as a header. They are consumed as a poisoned response instead.
    return true;
  }
  return false;
}

}  // namespace

bool ResponseAssembler::push(const Beat& beat) { return assemble(s_, beat); }

Response ResponseAssembler::take() {
  s_.ready = false;
  return std::move(s_.cur);
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

// The model device reads every answer here, by the same framing rule as the rings'
// ResponseAssembler: a fresh FAILED response when the stream runs dry, and the stream
// left at the next TLAST when a response ends before its TLAST (poisoned).
Response read_response(hls::stream<Beat>& in) {
  ResponseAssembler::State s;
  while (!in.empty()) {
    const Beat b = in.read();
    if (!assemble(s, b)) continue;
    bool last = b.last;
    while (!last && !in.empty()) last = in.read().last;
    return std::move(s.cur);
  }
  Response dry;
  poison(dry);
  return dry;
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
