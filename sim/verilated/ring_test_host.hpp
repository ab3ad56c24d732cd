// A minimal host-side producer/consumer of the command and response rings (the host
// rings contract, docs/alveo-rtl.md) over VerilatedKernelBus, for the RTL tests and the
// ring bench. It is deliberately NOT the product ring driver (driver/ring/): it writes
// slots and doorbells directly so the tests can also write what a correct driver never
// would (bad descriptors, doorbells out of range, partial messages).
#pragma once
#include <stdint.h>

#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <vector>

#include "beat.hpp"
#include "table_command.hpp"
#include "verilated_kernel_bus.hpp"
#include "wire/sessnic_wire.hpp"

namespace sessnic::rtlsim {

struct RingResponse {
  std::vector<Beat> beats;
  uint8_t op() const { return static_cast<uint8_t>(wire::get_field(beats[0].data, wire::header::op)); }
  uint8_t status() const { return static_cast<uint8_t>(wire::get_field(beats[0].data, wire::header::status)); }
  uint32_t tag() const { return static_cast<uint32_t>(wire::get_field(beats[0].data, wire::header::tag)); }
  uint16_t blob_len() const { return static_cast<uint16_t>(wire::get_field(beats[0].data, wire::header::blob_len)); }
  std::vector<uint8_t> blob() const {
    std::vector<uint8_t> out(blob_len());
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<uint8_t>(beats[1 + i / 64].data[(i % 64) / 8] >> (8 * (i % 8)));
    return out;
  }
};

// The ring_status beat (spec/wire.toml).
struct StatusBlock {
  uint32_t cmd_head, rsp_tail, error, bad_descs, resets;
};

class RingTestHost {
 public:
  static constexpr uint64_t kCmdOff = 0x00000, kRspOff = 0x40000, kStatusOff = 0x80000;

  explicit RingTestHost(VerilatedKernelBus& bus) : bus_(bus) {}

  // Rings of 2^cmd_log2 / 2^rsp_log2 slots; enables the engine.
  void init(unsigned cmd_log2, unsigned rsp_log2, uint32_t ctrl_extra = 0) {
    cmd_log2_ = cmd_log2;
    rsp_log2_ = rsp_log2;
    tail_ = rsp_head_ = 0;
    std::memset(bus_.memory().data() + kStatusOff, 0, 64);
    const uint64_t b = bus_.memory_base();
    bus_.write32(kernel_reg::CMD_RING_BASE_LO, static_cast<uint32_t>(b + kCmdOff));
    bus_.write32(kernel_reg::CMD_RING_BASE_HI, static_cast<uint32_t>((b + kCmdOff) >> 32));
    bus_.write32(kernel_reg::CMD_RING_SIZE_LOG2, cmd_log2);
    bus_.write32(kernel_reg::RSP_RING_BASE_LO, static_cast<uint32_t>(b + kRspOff));
    bus_.write32(kernel_reg::RSP_RING_BASE_HI, static_cast<uint32_t>((b + kRspOff) >> 32));
    bus_.write32(kernel_reg::RSP_RING_SIZE_LOG2, rsp_log2);
    bus_.write32(kernel_reg::STATUS_BASE_LO, static_cast<uint32_t>(b + kStatusOff));
    bus_.write32(kernel_reg::STATUS_BASE_HI, static_cast<uint32_t>((b + kStatusOff) >> 32));
    bus_.write32(kernel_reg::RING_CTRL, kernel_reg::CTRL_ENABLE | ctrl_extra);
  }

  uint32_t cmd_size() const { return 1u << cmd_log2_; }
  uint32_t tail() const { return tail_; }
  uint32_t rsp_head() const { return rsp_head_; }

  StatusBlock status() const {
    StatusBlock s;
    const uint8_t* p = bus_.memory().data() + kStatusOff;
    std::memcpy(&s.cmd_head, p, 4);
    std::memcpy(&s.rsp_tail, p + 4, 4);
    s.error = p[8];
    std::memcpy(&s.bad_descs, p + 12, 4);
    std::memcpy(&s.resets, p + 16, 4);
    return s;
  }

  // Writes the beats at the tail (no doorbell). False if they do not fit before cmd_head
  // as last published in the status block.
  bool post(const std::vector<Beat>& beats) {
    if (tail_ - status().cmd_head + beats.size() > cmd_size()) return false;
    for (const Beat& b : beats) write_slot(tail_++, b);
    return true;
  }
  bool post(const TableCommand& c) { return post(encode(c)); }
  void write_slot(uint32_t index, const Beat& b) {
    std::memcpy(bus_.memory().data() + kCmdOff + uint64_t{index & (cmd_size() - 1)} * 64, b.data, 64);
  }
  void doorbell() { bus_.write32(kernel_reg::CMD_DOORBELL, tail_); }
  void doorbell(uint32_t value) { bus_.write32(kernel_reg::CMD_DOORBELL, value); }
  void set_tail(uint32_t t) { tail_ = t; }

  // Collects every response published in the status block, frees the slots
  // (RSP_DOORBELL) unless hold is set.
  std::vector<RingResponse> poll(bool free_slots = true) {
    std::vector<RingResponse> out;
    const uint32_t t = status().rsp_tail;
    const uint32_t rsize = 1u << rsp_log2_;
    if (t - rsp_head_ > rsize) throw std::runtime_error("status block: rsp_tail beyond the ring");
    uint32_t h = rsp_head_;
    while (h != t) {
      RingResponse r;
      r.beats.push_back(read_rsp(h++));
      const unsigned n = beats_for(r.blob_len());
      for (unsigned i = 0; i < n; ++i) {
        if (h == t) throw std::runtime_error("status block: a response runs past rsp_tail");
        r.beats.push_back(read_rsp(h++));
      }
      out.push_back(std::move(r));
    }
    if (free_slots && h != rsp_head_) {
      rsp_head_ = h;
      bus_.write32(kernel_reg::RSP_DOORBELL, rsp_head_);
    } else {
      pending_head_ = h;
    }
    return out;
  }
  void free_to(uint32_t h) {
    rsp_head_ = h;
    bus_.write32(kernel_reg::RSP_DOORBELL, h);
  }
  uint32_t pending_head() const { return pending_head_; }

  // Steps and polls until `count` responses arrived or max_cycles passed.
  std::vector<RingResponse> collect(size_t count, uint64_t max_cycles) {
    std::vector<RingResponse> out;
    const uint64_t end = bus_.cycle() + max_cycles;
    while (out.size() < count && bus_.cycle() < end) {
      bus_.step(32);
      for (auto& r : poll()) out.push_back(std::move(r));
    }
    return out;
  }

 private:
  Beat read_rsp(uint32_t index) const {
    Beat b;
    std::memcpy(b.data, bus_.memory().data() + kRspOff + uint64_t{index & ((1u << rsp_log2_) - 1)} * 64, 64);
    b.last = false;
    return b;
  }

  VerilatedKernelBus& bus_;
  unsigned cmd_log2_ = 4, rsp_log2_ = 4;
  uint32_t tail_ = 0, rsp_head_ = 0, pending_head_ = 0;
};

// Commands used by the tests and the bench.
inline TableCommand ring_put(uint32_t tag, uint8_t key_byte, const std::vector<uint8_t>& blob, uint32_t expiry = 1000) {
  TableCommand c;
  c.op = static_cast<uint8_t>(wire::Opcode::PUT);
  c.key_len = 16;
  // Key bytes spread by a small LCG so keys land in different sets of the table.
  uint32_t x = 0x9e3779b9u ^ (key_byte * 0x85ebca6bu);
  for (int i = 0; i < 16; ++i) {
    x = x * 1664525u + 1013904223u;
    c.key[i] = static_cast<uint8_t>(x >> 24);
  }
  c.tag = tag;
  c.expiry = expiry;
  c.blob_len = static_cast<uint16_t>(blob.size());
  c.payload = blob;
  return c;
}
inline TableCommand ring_get(uint32_t tag, uint8_t key_byte) {
  TableCommand c = ring_put(tag, key_byte, {});
  c.op = static_cast<uint8_t>(wire::Opcode::GET);
  c.expiry = 0;
  return c;
}

}  // namespace sessnic::rtlsim
