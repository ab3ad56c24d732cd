#include "sessnic/shm/descriptor.hpp"

#include <algorithm>

namespace sessnic::shm {
namespace {

uint8_t byte_at(const uint64_t* words, std::size_t i) { return static_cast<uint8_t>(words[i / 8] >> (8 * (i % 8))); }

void put_bytes(uint64_t* words, std::span<const uint8_t> bytes) {
  for (std::size_t i = 0; i < bytes.size(); ++i) words[i / 8] |= static_cast<uint64_t>(bytes[i]) << (8 * (i % 8));
}

bool needs_key(wire::Opcode op) {
  switch (op) {
    case wire::Opcode::PUT:
    case wire::Opcode::GET:
    case wire::Opcode::TAKE:
    case wire::Opcode::DEL:
    case wire::Opcode::EXPORT:
    case wire::Opcode::TRANSFER: return true;
    default: return false;
  }
}

unsigned field(const Beat& b, wire::Field f) { return static_cast<unsigned>(wire::get_field(b.data, f)); }

}  // namespace

const char* to_string(DescriptorError e) {
  switch (e) {
    case DescriptorError::none: return "none";
    case DescriptorError::opcode: return "unknown opcode";
    case DescriptorError::key_len: return "bad key length";
    case DescriptorError::blob_len: return "blob longer than a slot";
    case DescriptorError::truncated: return "message runs past cmd_tail";
    case DescriptorError::privileged: return "opcode reserved to the card service";
  }
  return "?";
}

uint32_t message_slots(const Beat& header) { return 1 + beats_for(field(header, wire::header::blob_len)); }

DescriptorError check_command(const Beat& header, uint32_t available) {
  if (message_slots(header) > available) return DescriptorError::truncated;
  const unsigned op = field(header, wire::header::op);
  if (!wire::is_valid_opcode(op)) return DescriptorError::opcode;
  const auto opcode = static_cast<wire::Opcode>(op);
  // The service owns the card's clock, contents and backplane: one worker must not
  // move the clock or wipe the table under every other process on the host.
  if (opcode == wire::Opcode::SET_TIME || opcode == wire::Opcode::FLUSH || opcode == wire::Opcode::TRANSFER)
    return DescriptorError::privileged;
  const unsigned key_len = field(header, wire::header::key_len);
  if (key_len > wire::KEY_MAX_BYTES || (key_len == 0 && needs_key(opcode))) return DescriptorError::key_len;
  if (field(header, wire::header::blob_len) > wire::SLOT_BYTES) return DescriptorError::blob_len;
  return DescriptorError::none;
}

Command decode_command(const Beat& h, std::span<const Beat> blob_beats) {
  Command c;
  c.op = static_cast<wire::Opcode>(field(h, wire::header::op));
  c.tag = static_cast<uint32_t>(wire::get_field(h.data, wire::header::tag));
  c.key.len = static_cast<uint8_t>(std::min<unsigned>(field(h, wire::header::key_len), wire::KEY_MAX_BYTES));
  c.key.ctx = static_cast<uint8_t>(field(h, wire::header::ctx));
  for (unsigned i = 0; i < c.key.len; ++i) c.key.id[i] = byte_at(&h.data[wire::header::key.lsb / 64], i);
  c.version = wire::get_field(h.data, wire::header::version);
  c.expiry = static_cast<uint32_t>(wire::get_field(h.data, wire::header::expiry));
  c.flags = static_cast<uint8_t>(field(h, wire::header::flags));
  c.aux = wire::get_field(h.data, wire::header::aux);
  const std::size_t len = field(h, wire::header::blob_len);
  c.blob.resize(len);
  for (std::size_t i = 0; i < len; ++i) c.blob[i] = byte_at(blob_beats[i / wire::BEAT_BYTES].data, i % wire::BEAT_BYTES);
  return c;
}

Response refused(const Beat& h) {
  Response r;
  r.status = wire::Status::BAD_CMD;
  r.op = static_cast<wire::Opcode>(field(h, wire::header::op));
  r.tag = static_cast<uint32_t>(wire::get_field(h.data, wire::header::tag));
  r.key.len = static_cast<uint8_t>(std::min<unsigned>(field(h, wire::header::key_len), wire::KEY_MAX_BYTES));
  r.key.ctx = static_cast<uint8_t>(field(h, wire::header::ctx));
  for (unsigned i = 0; i < r.key.len; ++i) r.key.id[i] = byte_at(&h.data[wire::header::key.lsb / 64], i);
  return r;
}

void encode_response(const Response& r, std::vector<Beat>& out) {
  const bool fits = r.blob.size() <= wire::SLOT_BYTES;
  Beat h;
  clear_beat(h);
  wire::set_field(h.data, wire::header::op, static_cast<uint64_t>(r.op));
  wire::set_field(h.data, wire::header::status,
                  static_cast<uint64_t>(fits ? r.status : wire::Status::FAILED));
  wire::set_field(h.data, wire::header::key_len, r.key.len);
  wire::set_field(h.data, wire::header::flags, r.flags);
  wire::set_field(h.data, wire::header::tag, r.tag);
  put_bytes(&h.data[wire::header::key.lsb / 64], std::span<const uint8_t>(r.key.id.data(), r.key.len));
  wire::set_field(h.data, wire::header::version, r.version);
  wire::set_field(h.data, wire::header::expiry, r.expiry);
  wire::set_field(h.data, wire::header::ctx, r.key.ctx);
  const std::size_t len = fits ? r.blob.size() : 0;
  wire::set_field(h.data, wire::header::blob_len, len);
  wire::set_field(h.data, wire::header::aux, r.card);
  const unsigned n = beats_for(static_cast<unsigned>(len));
  h.last = n == 0;
  out.push_back(h);
  for (unsigned i = 0; i < n; ++i) {
    Beat b;
    clear_beat(b);
    const std::size_t lo = std::size_t{i} * wire::BEAT_BYTES;
    put_bytes(b.data, std::span<const uint8_t>(r.blob.data() + lo, std::min<std::size_t>(wire::BEAT_BYTES, len - lo)));
    b.last = i + 1 == n;
    out.push_back(b);
  }
}

}  // namespace sessnic::shm
