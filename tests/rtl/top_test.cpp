// sessnic_top through its real ports: AXI4-Lite register reads/writes (the PeakRDL
// block from spec/regs.rdl, addresses from the generated C header), table commands on
// the AXI4-Stream ports, and the backplane RX port draining frames while the backplane
// engine is disabled (the engine itself: backplane_test.cpp).
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "Vsessnic_top_s6w4.h"
#include "axil_driver.hpp"
#include "backplane_crc32.hpp"
#include "sessnic/sessnic_regs.h"
#include "table_command.hpp"
#include "verilated.h"

namespace sessnic {
namespace {

class Top {
 public:
  Top() : ctx_(std::make_unique<VerilatedContext>()), top_(std::make_unique<Vsessnic_top_s6w4>(ctx_.get())) {
    top_->rst = 1;
    for (int i = 0; i < 3; ++i) tick();
    top_->rst = 0;
    for (int i = 0; i < 200; ++i) tick();  // the table clears its 64 sets
  }
  ~Top() { top_->final(); }

  void tick() {
    top_->clk = 0;
    top_->eval();
    top_->clk = 1;
    top_->eval();
  }

  // AXI4-Lite through the shared driver (axil_driver.hpp); a transaction that never
  // completes throws, which fails the test.
  uint32_t read(uint32_t addr) {
    const rtlsim::AxilReadResult r = rtlsim::axil_read(*top_, addr);
    EXPECT_EQ(r.resp, 0u);
    return r.data;
  }

  void write(uint32_t addr, uint32_t data) { rtlsim::axil_write(*top_, addr, data); }

  // Sends one command and returns its response beats.
  std::vector<Beat> command(const rtlsim::TableCommand& c) {
    const auto beats = rtlsim::encode(c);
    size_t sent = 0;
    std::vector<Beat> rsp;
    top_->m_rsp_tready = 1;
    for (int i = 0; i < 1000; ++i) {
      top_->clk = 0;
      top_->s_cmd_tvalid = sent < beats.size();
      if (sent < beats.size()) {
        for (unsigned w = 0; w < 8; ++w) {
          top_->s_cmd_tdata[2 * w] = static_cast<uint32_t>(beats[sent].data[w]);
          top_->s_cmd_tdata[2 * w + 1] = static_cast<uint32_t>(beats[sent].data[w] >> 32);
        }
        top_->s_cmd_tlast = beats[sent].last;
      }
      top_->eval();
      const bool took = top_->s_cmd_tvalid && top_->s_cmd_tready;
      if (top_->m_rsp_tvalid) {
        Beat b;
        for (unsigned w = 0; w < 8; ++w)
          b.data[w] = top_->m_rsp_tdata[2 * w] | (static_cast<uint64_t>(top_->m_rsp_tdata[2 * w + 1]) << 32);
        b.last = top_->m_rsp_tlast;
        rsp.push_back(b);
      }
      top_->clk = 1;
      top_->eval();
      if (took) ++sent;
      if (!rsp.empty() && rsp.back().last) break;
    }
    top_->s_cmd_tvalid = 0;
    return rsp;
  }

  Vsessnic_top_s6w4& io() { return *top_; }

 private:
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vsessnic_top_s6w4> top_;
};

uint64_t stat(Top& t, uint32_t lo_addr) {
  return t.read(lo_addr) | (static_cast<uint64_t>(t.read(lo_addr + 4)) << 32);
}

TEST(RtlTop, RegistersIdentifyTheCardAndControlTheTable) {
  Top t;
  EXPECT_EQ(t.read(0x00), static_cast<uint32_t>(SESSNIC_REGS__ID__MAGIC_reset));
  EXPECT_EQ(t.read(0x04) >> SESSNIC_REGS__VERSION__MAJOR_bp, static_cast<uint32_t>(SESSNIC_REGS__VERSION__MAJOR_reset));
  const uint32_t status = t.read(0x10);
  EXPECT_EQ((status & SESSNIC_REGS__STATUS__SETS_LOG2_bm) >> SESSNIC_REGS__STATUS__SETS_LOG2_bp, 6u);
  EXPECT_EQ((status & SESSNIC_REGS__STATUS__WAYS_bm) >> SESSNIC_REGS__STATUS__WAYS_bp, 4u);
  EXPECT_EQ(status & SESSNIC_REGS__STATUS__FLUSHING_bm, 0u);

  t.write(0x08, 9);  // card id
  EXPECT_EQ(t.read(0x08), 9u);

  rtlsim::TableCommand st;
  st.op = static_cast<uint8_t>(wire::Opcode::SET_TIME);
  st.aux = 500;
  ASSERT_EQ(t.command(st).size(), 1u);
  rtlsim::TableCommand put;
  put.op = static_cast<uint8_t>(wire::Opcode::PUT);
  put.key_len = 8;
  put.key[0] = 0x42;
  put.expiry = 900;
  put.payload.assign(100, 0x5a);
  put.blob_len = 100;
  const auto r = t.command(put);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(wire::get_field(r[0].data, wire::header::status), 0u);
  EXPECT_EQ(wire::get_field(r[0].data, wire::header::aux), 9u) << "the table answers with the card id register";
  EXPECT_EQ(wire::get_field(r[0].data, wire::header::version), (1u << 8) | 9u);

  EXPECT_EQ(t.read(0x14), 500u) << "now register follows SET_TIME";
  EXPECT_EQ(stat(t, 0x110), 0u) << "counters read 0 before the first snapshot";
  t.write(0x0C, SESSNIC_REGS__CONTROL__SWEEP_ENABLE_bm | SESSNIC_REGS__CONTROL__SNAPSHOT_bm);
  EXPECT_EQ(stat(t, 0x100), 1u);  // live
  EXPECT_EQ(stat(t, 0x110), 1u);  // puts
  EXPECT_EQ(stat(t, 0x168), 1u);  // lamport
  EXPECT_EQ(stat(t, 0x170), 500u);  // now
  EXPECT_EQ(stat(t, 0x178), 9u);    // card
}

// One backplane frame: a header beat (+ payload beats), sealed with the frame CRC.
std::vector<Beat> bp_frame(unsigned type, unsigned src, unsigned dst, unsigned payload_beats) {
  std::vector<Beat> f(1 + payload_beats);
  for (Beat& b : f) clear_beat(b);
  wire::set_field(f[0].data, wire::frame::fver, static_cast<unsigned>(wire::BpConst::FRAME_VERSION));
  wire::set_field(f[0].data, wire::frame::ftype, type);
  wire::set_field(f[0].data, wire::frame::src, src);
  wire::set_field(f[0].data, wire::frame::dst, dst);
  wire::set_field(f[0].data, wire::frame::epoch, 1);
  wire::set_field(f[0].data, wire::frame::payload_len, 64 * payload_beats);
  for (unsigned b = 1; b <= payload_beats; ++b) f[b].data[b % 8] = 0x1234567890abcdefull * b;
  uint32_t c = crc32_init();
  for (const Beat& b : f)
    for (unsigned w = 0; w < 8; ++w) c = crc32_word(c, b.data[w]);
  wire::set_field(f[0].data, wire::frame::crc, crc32_final(c));
  f.back().last = true;
  return f;
}

TEST(RtlTop, BackplaneRxChecksAndCountsFrames) {
  Top t;
  t.write(0x08, 3);            // this card is 3
  t.write(0x18, 0b10110);      // members: cards 1, 2, 4
  auto& io = t.io();
  io.m_bp_tx_tready = 1;
  const unsigned hello = static_cast<unsigned>(wire::FrameType::HELLO);
  std::vector<std::vector<Beat>> frames = {
      bp_frame(hello, 1, 3, 0),                                                   // passes
      bp_frame(static_cast<unsigned>(wire::FrameType::UPDATE), 4, 3, 2),          // passes
      bp_frame(hello, 5, 3, 0),                                                   // not a member
      bp_frame(hello, 2, 255, 0),                                                 // broadcast HELLO: passes
  };
  auto bad_crc = bp_frame(hello, 1, 3, 1);
  bad_crc[1].data[0] ^= 1;
  frames.push_back(bad_crc);
  auto bad_version = bp_frame(hello, 1, 3, 0);
  wire::set_field(bad_version[0].data, wire::frame::fver, 9);
  frames.push_back(bad_version);
  auto bad_len = bp_frame(hello, 1, 3, 1);
  bad_len.pop_back();
  bad_len.back().last = true;
  frames.push_back(bad_len);
  for (const auto& f : frames) {
    for (const Beat& b : f) {
      for (unsigned w = 0; w < 8; ++w) {
        io.s_bp_rx_tdata[2 * w] = static_cast<uint32_t>(b.data[w]);
        io.s_bp_rx_tdata[2 * w + 1] = static_cast<uint32_t>(b.data[w] >> 32);
      }
      io.s_bp_rx_tlast = b.last;
      io.s_bp_rx_tvalid = 1;
      for (int guard = 0; guard < 100; ++guard) {  // hold until accepted
        io.clk = 0;
        io.eval();
        const bool took = io.s_bp_rx_tready;
        io.clk = 1;
        io.eval();
        if (took) break;
      }
    }
  }
  io.s_bp_rx_tvalid = 0;
  for (int i = 0; i < 20; ++i) t.tick();
  EXPECT_EQ(t.read(0x40), 7u);  // frames
  EXPECT_EQ(t.read(0x44), 1u);  // bad version
  EXPECT_EQ(t.read(0x48), 1u);  // bad length
  EXPECT_EQ(t.read(0x4C), 1u);  // bad crc
  EXPECT_EQ(t.read(0x50), 1u);  // not mine
  EXPECT_EQ(t.read(0x54), 3u);  // passed; control.bp_enable is 0, so bp_sync drains them
  EXPECT_EQ(io.m_bp_tx_tvalid, 0u) << "a disabled backplane engine never sends";
}

// With the backplane engine disabled (control.bp_enable = 0, its reset value) a host
// TRANSFER or PULL is answered FAILED at once; it used to be left unaccepted, which held
// the card's whole command stream (a table GET behind it never answered).
TEST(RtlTop, TransferAndPullWhileTheBackplaneIsDisabledAnswerFailed) {
  Top t;
  t.write(0x08, 3);        // this card is 3
  t.write(0x18, 0b10110);  // members: cards 1, 2, 4; bp_enable stays 0
  t.io().m_bp_tx_tready = 1;
  for (const wire::Opcode op : {wire::Opcode::TRANSFER, wire::Opcode::PULL}) {
    rtlsim::TableCommand c;
    c.op = static_cast<uint8_t>(op);
    c.key_len = 8;
    c.key[0] = 0x77;
    c.tag = 0x1234;
    c.expiry = 1000000;
    // sync_cmd.dest = card 2, sync_cmd.owner = card 1 (a relayed TRANSFER; the PULL's owner)
    c.aux = 2 | (uint64_t{1} << 8);
    const auto r = t.command(c);
    ASSERT_EQ(r.size(), 1u) << wire::to_string(op) << ": no answer while the engine is disabled";
    EXPECT_EQ(wire::get_field(r[0].data, wire::header::status), static_cast<unsigned>(wire::Status::FAILED))
        << wire::to_string(op);
    EXPECT_EQ(wire::get_field(r[0].data, wire::header::tag), 0x1234u);
  }
  rtlsim::TableCommand g;
  g.op = static_cast<uint8_t>(wire::Opcode::GET);
  g.key_len = 8;
  g.key[0] = 0x77;
  const auto r = t.command(g);
  ASSERT_EQ(r.size(), 1u) << "the table still answers after them";
  EXPECT_EQ(wire::get_field(r[0].data, wire::header::status), static_cast<unsigned>(wire::Status::MISS));
}

}  // namespace
}  // namespace sessnic
