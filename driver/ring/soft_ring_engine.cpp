// The card side of the rings in software; the rules are those of spec/wire.toml [ring].
#include "sessnic/ring/soft_ring_engine.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

#include "beat.hpp"
#include "sessnic/codec.hpp"
#include "sessnic/ring/ring_regs.hpp"

namespace sessnic::ring {
namespace {

bool keyed(unsigned op) {
  using wire::Opcode;
  return op == unsigned(Opcode::PUT) || op == unsigned(Opcode::GET) || op == unsigned(Opcode::TAKE) ||
         op == unsigned(Opcode::DEL) || op == unsigned(Opcode::EXPORT) || op == unsigned(Opcode::TRANSFER);
}

uint8_t byte_at(const uint64_t* words, std::size_t i) { return static_cast<uint8_t>(words[i / 8] >> (8 * (i % 8))); }

// Header + blob beats (already validated) -> the command they describe.
Command parse_command(const Beat* beats) {
  const uint64_t* h = beats[0].data;
  Command c;
  c.op = static_cast<wire::Opcode>(wire::get_field(h, wire::header::op));
  c.tag = static_cast<uint32_t>(wire::get_field(h, wire::header::tag));
  c.key.len = static_cast<uint8_t>(wire::get_field(h, wire::header::key_len));
  c.key.ctx = static_cast<uint8_t>(wire::get_field(h, wire::header::ctx));
  for (unsigned i = 0; i < c.key.len; ++i) c.key.id[i] = byte_at(&h[wire::header::key.lsb / 64], i);
  c.version = wire::get_field(h, wire::header::version);
  c.expiry = static_cast<uint32_t>(wire::get_field(h, wire::header::expiry));
  c.flags = static_cast<uint8_t>(wire::get_field(h, wire::header::flags));
  c.aux = wire::get_field(h, wire::header::aux);
  c.blob.resize(wire::get_field(h, wire::header::blob_len));
  for (std::size_t i = 0; i < c.blob.size(); ++i) c.blob[i] = byte_at(beats[1 + i / 64].data, i % 64);
  return c;
}

// A response as stream beats: the command encoder lays out every field a response has;
// status and the answering card go in on top.
void encode_response(const Response& r, std::vector<Beat>& out) {
  Command c;
  c.op = r.op;
  c.tag = r.tag;
  c.key = r.key;
  c.version = r.version;
  c.expiry = r.expiry;
  c.flags = r.flags;
  c.aux = r.card;
  c.blob = r.blob;
  const std::size_t first = out.size();
  codec::encode(c, out);
  wire::set_field(out[first].data, wire::header::status, static_cast<uint64_t>(r.status));
}

}  // namespace

SoftRingEngine::SoftRingEngine(Device& table, uint32_t build_id) : table_(table) {
  regs_[reg::kBuildId / 4] = build_id;
  regs_[reg::kCard / 4] = table.card_id();
  regs_[reg::kCmdRingSizeLog2 / 4] = kMinLog2;
  regs_[reg::kRspRingSizeLog2 / 4] = kMinLog2;
}

void SoftRingEngine::fail(uint8_t code) { error_ = code; }

void SoftRingEngine::write_reg(uint32_t offset, uint32_t value) {
  if (offset % 4 != 0 || offset / 4 >= regs_.size()) return;  // AXI-Lite: unmapped writes are dropped
  switch (offset) {
    case reg::kId:
    case reg::kVersion:
    case reg::kStatus:
    case reg::kRingStatus:
    case reg::kCmdHead:
    case reg::kRspTail:
    case reg::kBuildId:
      return;  // read-only
    case reg::kRingCtrl:
      regs_[offset / 4] = value & ~reg::kRingCtrlReset;  // singlepulse
      if (value & reg::kRingCtrlReset) reset_pending_ = true;
      return;
    case reg::kCmdDoorbell: {
      regs_[offset / 4] = value;
      const uint32_t size = 1u << reg(reg::kCmdRingSizeLog2);
      // Coalesced: any tail from the current one up to head + size is accepted.
      if (value - cmd_head_ > size || value - cmd_head_ < cmd_tail_ - cmd_head_)
        fail(static_cast<uint8_t>(wire::RingError::BAD_DOORBELL));
      else
        cmd_tail_ = value;
      return;
    }
    case reg::kRspDoorbell:
      regs_[offset / 4] = value;
      if (value - rsp_head_ > rsp_tail_ - rsp_head_)
        fail(static_cast<uint8_t>(wire::RingError::BAD_DOORBELL));
      else
        rsp_head_ = value;
      return;
    default:
      regs_[offset / 4] = value;
  }
}

uint32_t SoftRingEngine::read_reg(uint32_t offset) const {
  if (offset % 4 != 0 || offset / 4 >= regs_.size()) return 0;
  switch (offset) {
    case reg::kId:
      return reg::kIdMagic;
    case reg::kVersion:
      return (SESSNIC_REGS__VERSION__MAJOR_reset << SESSNIC_REGS__VERSION__MAJOR_bp) | SESSNIC_REGS__VERSION__MINOR_reset;
    case reg::kRingStatus:
      return error_ | ((cmd_head_ == cmd_tail_ && !reset_pending_) ? reg::kRingStatusIdle : 0u);
    case reg::kCmdHead:
      return cmd_head_;
    case reg::kRspTail:
      return rsp_tail_;
    default:
      return reg(offset);
  }
}

SoftRingEngine::Region SoftRingEngine::region(RingMemory& mem, uint32_t lo_reg, std::size_t bytes) {
  const uint64_t base = (uint64_t{reg(lo_reg + 4)} << 32) | reg(lo_reg);
  const uint64_t off = base - mem.device_address();
  const bool ok = base >= mem.device_address() && off <= mem.size() && bytes <= mem.size() - off;
  return {static_cast<std::size_t>(off), ok};
}

void SoftRingEngine::write_status(RingMemory& mem, std::size_t status_off) {
  uint64_t w[wire::BEAT_WORDS] = {};
  wire::set_field(w, wire::ring_status::cmd_head, cmd_head_);
  wire::set_field(w, wire::ring_status::rsp_tail, rsp_tail_);
  wire::set_field(w, wire::ring_status::error, error_);
  wire::set_field(w, wire::ring_status::bad_descs, bad_descs_);
  wire::set_field(w, wire::ring_status::resets, resets_);
  std::memcpy(mem.data() + status_off, w, sizeof w);
  mem.sync_to_device(status_off, sizeof w);
}

bool SoftRingEngine::step(RingMemory& mem, unsigned max_messages) {
  const unsigned cmd_log2 = reg(reg::kCmdRingSizeLog2), rsp_log2 = reg(reg::kRspRingSizeLog2);
  const bool sizes_ok = cmd_log2 >= kMinLog2 && cmd_log2 <= kMaxLog2 && rsp_log2 >= kMinLog2 && rsp_log2 <= kMaxLog2;
  const uint32_t cmd_slots = sizes_ok ? 1u << cmd_log2 : 0, rsp_slots = sizes_ok ? 1u << rsp_log2 : 0;
  const Region cmd = region(mem, reg::kCmdRingBaseLo, std::size_t{cmd_slots} * kSlotBytes);
  const Region rsp = region(mem, reg::kRspRingBaseLo, std::size_t{rsp_slots} * kSlotBytes);
  const Region status = region(mem, reg::kStatusBaseLo, kStatusBytes);

  if (reset_pending_) {
    reset_pending_ = false;
    stopped_ = false;
    cmd_head_ = cmd_tail_ = rsp_head_ = rsp_tail_ = 0;
    error_ = bad_descs_ = 0;
    ++resets_;
    if (status.ok) write_status(mem, status.offset);
    return true;
  }
  if (!(reg(reg::kRingCtrl) & reg::kRingCtrlEnable) || stopped_ || cmd_head_ == cmd_tail_) return false;
  if (!sizes_ok || !cmd.ok || !rsp.ok || !status.ok) {
    fail(static_cast<uint8_t>(wire::RingError::AXI_ERROR));
    stopped_ = true;
    return true;
  }

  auto slot = [&](const Region& r, uint32_t slots, uint32_t index) {
    return mem.data() + r.offset + std::size_t{index & (slots - 1)} * kSlotBytes;
  };
  // Messages taken this step, in ring order: the valid ones run as one batch; a bad one
  // gets its BAD_CMD answer in its place.
  struct Taken {
    bool bad;
    Beat header;
  };
  std::vector<Taken> taken;
  std::vector<Command> batch;
  std::vector<Beat> beats;
  const unsigned room = (rsp_slots - (rsp_tail_ - rsp_head_)) / kMsgMaxSlots;
  while (cmd_head_ != cmd_tail_ && taken.size() < std::min(max_messages, room)) {
    Beat h{};
    mem.sync_from_device(slot(cmd, cmd_slots, cmd_head_) - mem.data(), kSlotBytes);
    std::memcpy(h.data, slot(cmd, cmd_slots, cmd_head_), kSlotBytes);
    const unsigned op = static_cast<unsigned>(wire::get_field(h.data, wire::header::op));
    const unsigned key_len = static_cast<unsigned>(wire::get_field(h.data, wire::header::key_len));
    const unsigned blob_len = static_cast<unsigned>(wire::get_field(h.data, wire::header::blob_len));
    const uint32_t k = 1 + beats_for(blob_len);
    uint8_t code = 0;
    uint32_t skip = k;
    if (blob_len > wire::SLOT_BYTES) {
      code = static_cast<uint8_t>(wire::RingError::BAD_BLOB_LEN);
      skip = cmd_tail_ - cmd_head_;  // the length is unusable: nothing after it can be framed
    } else if (k > cmd_tail_ - cmd_head_) {
      code = static_cast<uint8_t>(wire::RingError::PAST_TAIL);
      skip = cmd_tail_ - cmd_head_;
    } else if (!wire::is_valid_opcode(op)) {
      code = static_cast<uint8_t>(wire::RingError::BAD_OPCODE);
    } else if (key_len > wire::KEY_MAX_BYTES || (key_len == 0 && keyed(op))) {
      code = static_cast<uint8_t>(wire::RingError::BAD_KEY_LEN);
    }
    if (code != 0) {
      fail(code);
      ++bad_descs_;
      taken.push_back({true, h});
    } else {
      beats.assign(k, Beat{});
      for (uint32_t i = 0; i < k; ++i) {
        mem.sync_from_device(slot(cmd, cmd_slots, cmd_head_ + i) - mem.data(), kSlotBytes);
        std::memcpy(beats[i].data, slot(cmd, cmd_slots, cmd_head_ + i), kSlotBytes);
      }
      batch.push_back(parse_command(beats.data()));
      taken.push_back({false, h});
    }
    cmd_head_ += skip;
  }
  if (taken.empty()) return false;  // response ring full: wait for the host to free slots

  std::vector<Response> answers;
  table_.execute(batch, answers);
  std::size_t next = 0;
  std::vector<Beat> out;
  for (const Taken& t : taken) {
    if (t.bad) {
      // The header echoed (tag included) with status BAD_CMD and nothing after it.
      Beat b = t.header;
      wire::set_field(b.data, wire::header::status, static_cast<uint64_t>(wire::Status::BAD_CMD));
      wire::set_field(b.data, wire::header::blob_len, 0);
      wire::set_field(b.data, wire::header::aux, reg(reg::kCard) & 0xFF);
      out.push_back(b);
    } else {
      encode_response(answers[next++], out);
    }
  }
  for (const Beat& b : out) {
    uint8_t* p = slot(rsp, rsp_slots, rsp_tail_);
    std::memcpy(p, b.data, kSlotBytes);
    mem.sync_to_device(p - mem.data(), kSlotBytes);
    ++rsp_tail_;
  }
  // The status block last: every response slot it covers is already in memory.
  write_status(mem, status.offset);
  return true;
}

void HostRingMemory::Free::operator()(uint8_t* p) const { std::free(p); }

HostRingMemory::HostRingMemory(std::size_t bytes) : size_(RingLayout::align_up(bytes)) {
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(kAlign, size_));
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, size_);
  mem_.reset(p);
}

void SoftRingBus::wait(Clock::time_point deadline) {
  (void)deadline;  // one step is short; the driver re-checks its deadline after it
  if (!engine_.step(mem_)) std::this_thread::yield();
}

}  // namespace sessnic::ring
