// The one ring driver (driver/ring) against the RTL: the Verilated Vitis kernel (ring
// engine + card) with its m_axi on the C++ host-memory model (sim/verilated/
// verilated_ring_bus.hpp), cycle-accurate. The same code the `xrt` device runs on a card:
// ring wrap, full ring, coalesced doorbells, bad descriptors, a stuck card and a card
// reset mid-run (the commands and the disturbed bus are ring_driver_test.cpp's too:
// ring_test_support.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ring_test_support.hpp"
#include "verilated_ring_bus.hpp"

namespace sessnic::ring::test {
namespace {

// The Verilated kernel's bus; `cycles_per_wait` kernel cycles are clocked per wait().
class RtlBus final : public DisturbedBus<rtlsim::VerilatedRingBus> {
 public:
  explicit RtlBus(unsigned cycles_per_wait = 64)
      : DisturbedBus(std::make_unique<rtlsim::VerilatedKernelBus>(), cycles_per_wait) {}
  rtlsim::VerilatedKernelBus& kernel() { return inner().kernel(); }
};

// Card registers (spec/regs.rdl) at their offsets in the kernel's s_axi_control.
constexpr uint32_t kRegControl = 0x0C, kRegEpoch = 0x1C, kControlBpEnable = 0x100;

RingConfig config(unsigned cmd_log2, unsigned rsp_log2) { return ring_config(RingLayout{cmd_log2, rsp_log2}); }

TEST(RingRtl, WrapsTheSmallestRingsManyTimes) {
  RtlBus bus;
  RingDriver drv(bus, config(4, 4));  // 16 slots; a 256-byte message is 5
  for (unsigned round = 0; round < 12; ++round) {
    // The same 6 keys every round with new blobs: the 256-entry test table never fills.
    std::vector<Command> cmds;
    for (unsigned k = 0; k < 6; ++k) cmds.push_back(put(k, blob(round * 6 + k, 256 - 13 * k)));
    for (unsigned k = 0; k < 6; ++k) cmds.push_back(get(k));
    const auto out = run(drv, cmds);
    ASSERT_EQ(out.size(), cmds.size());
    for (unsigned k = 0; k < 6; ++k) {
      ASSERT_TRUE(out[k].ok()) << round << "/" << k << " " << wire::to_string(out[k].status);
      ASSERT_EQ(out[6 + k].status, wire::Status::OK) << round << "/" << k;
      ASSERT_EQ(out[6 + k].blob, blob(round * 6 + k, 256 - 13 * k)) << round << "/" << k;
      ASSERT_EQ(out[6 + k].tag, get(k).tag);
      ASSERT_EQ(out[6 + k].key, key(k));
    }
  }
  const RingState s = drv.state();
  EXPECT_GT(s.cmd_head, 16u * 12);  // the free-running indices went round many times
  EXPECT_EQ(s.cmd_head, s.cmd_tail);
  EXPECT_EQ(s.status_error, 0u);
  EXPECT_EQ(s.status_bad_descs, 0u);
  EXPECT_EQ(drv.counters().timeouts + drv.counters().stray_responses + drv.counters().failed_in_flight, 0u);
}

TEST(RingRtl, FullCommandRingWaitsForTheCard) {
  RtlBus bus(8);  // a few cycles per wait: the driver sees the ring fill up
  RingDriver drv(bus, config(4, 8));
  std::vector<Command> cmds;
  for (unsigned k = 0; k < 12; ++k) cmds.push_back(put(k, blob(k, 256)));
  for (unsigned k = 0; k < 12; ++k) cmds.push_back(get(k));
  const auto out = run(drv, cmds);
  for (unsigned k = 0; k < 12; ++k) {
    ASSERT_TRUE(out[k].ok()) << k;
    ASSERT_EQ(out[12 + k].blob, blob(k, 256)) << k;
  }
  EXPECT_GT(drv.counters().ring_full_waits, 0u);
  EXPECT_GT(drv.counters().cmd_doorbells, 1u);  // 120 slots through a 16-slot ring
}

TEST(RingRtl, OneDoorbellCoversAWholeBatch) {
  RtlBus bus;
  RingDriver drv(bus, config(10, 10));
  std::vector<Command> cmds;
  for (unsigned k = 0; k < 40; ++k) cmds.push_back(put(k, blob(k, 100)));
  const auto out = run(drv, cmds);
  for (const Response& r : out) ASSERT_TRUE(r.ok()) << wire::to_string(r.status);
  EXPECT_EQ(bus.cmd_doorbell_writes, 1u);
  EXPECT_EQ(drv.state().cmd_head, 40u * 3);  // the card consumed every slot behind that one doorbell
  // The response side is coalesced too: fewer RSP_DOORBELL writes than responses.
  EXPECT_LT(drv.counters().rsp_doorbells, 40u);
}

TEST(RingRtl, BadDescriptorsAreAnsweredBadCmdAndTheEngineGoesOn) {
  RtlBus bus;
  RingDriver drv(bus, config(6, 6));
  Command no_key = get(1);
  no_key.key.len = 0;
  Command long_key = get(2);
  long_key.key.len = 40;
  Command bad_op = get(3);
  bad_op.op = static_cast<wire::Opcode>(0x7F);
  const auto out = run(drv, {put(1, blob(1, 30)), no_key, long_key, bad_op, get(1)});
  ASSERT_EQ(out.size(), 5u);
  EXPECT_TRUE(out[0].ok());
  for (unsigned i = 1; i <= 3; ++i) EXPECT_EQ(out[i].status, wire::Status::BAD_CMD) << i;
  EXPECT_EQ(out[1].tag, no_key.tag);
  EXPECT_EQ(out[3].tag, bad_op.tag);
  EXPECT_EQ(out[4].status, wire::Status::OK);
  EXPECT_EQ(out[4].blob, blob(1, 30));
  const RingState s = drv.state();
  EXPECT_EQ(s.status_bad_descs, 3u);
  EXPECT_EQ(s.status_error, static_cast<uint32_t>(wire::RingError::BAD_OPCODE));
}

// PULL (10) and SCAN (11) are card opcodes: the ring engine hands them to the card, which
// answers them itself (an engine that stopped at TRANSFER answered both BAD_CMD).
TEST(RingRtl, PullAndScanReachTheCard) {
  RtlBus bus;
  RingDriver drv(bus, config(10, 10));
  // The backplane engine on (epoch, then control.bp_enable; no members): it takes the
  // card's PULLs. Disabled, it takes no host command at all.
  bus.write_reg(kRegEpoch, 1);
  bus.write_reg(kRegControl, bus.read_reg(kRegControl) | kControlBpEnable);
  const std::vector<unsigned> keys = {3, 17, 40};
  std::vector<Command> cmds;
  for (unsigned k : keys) cmds.push_back(put(k, blob(k, 90)));
  // PULL from card 5, which is no member of this card's backplane: the card answers FAILED.
  Command pull = get(3);
  pull.op = wire::Opcode::PULL;
  pull.tag = 30'000;
  pull.expiry = 1;
  pull.aux = wire::set_subfield(
      wire::set_subfield(0, wire::header::aux, wire::sync_cmd::dest, static_cast<uint8_t>(wire::BpConst::BROADCAST)),
      wire::header::aux, wire::sync_cmd::owner, 5);
  cmds.push_back(pull);
  // SCAN every slot of the 64 x 4 test table, and one past its end.
  constexpr unsigned kSlots = 64 * 4;
  for (unsigned s = 0; s <= kSlots; ++s) {
    Command scan;
    scan.op = wire::Opcode::SCAN;
    scan.tag = 40'000 + s;
    scan.aux = s;
    cmds.push_back(scan);
  }
  const auto out = run(drv, cmds);
  ASSERT_EQ(out.size(), cmds.size());
  for (std::size_t i = 0; i < keys.size(); ++i) ASSERT_TRUE(out[i].ok()) << i;
  const Response& pulled = out[keys.size()];
  EXPECT_EQ(pulled.tag, pull.tag);
  EXPECT_EQ(pulled.op, wire::Opcode::PULL);
  EXPECT_EQ(pulled.status, wire::Status::FAILED) << wire::to_string(pulled.status);
  std::vector<unsigned> found;
  for (unsigned s = 0; s < kSlots; ++s) {
    const Response& r = out[keys.size() + 1 + s];
    ASSERT_EQ(r.tag, 40'000 + s);
    ASSERT_EQ(r.op, wire::Opcode::SCAN) << s;
    if (r.status == wire::Status::MISS) continue;
    ASSERT_EQ(r.status, wire::Status::OK) << s << " " << wire::to_string(r.status);
    for (unsigned k : keys)
      if (r.key == key(k)) {
        found.push_back(k);
        EXPECT_EQ(r.blob, blob(k, 90)) << k;
      }
  }
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, keys);  // every stored entry, once
  EXPECT_EQ(out.back().status, wire::Status::BAD_CMD);  // past the table: the card's answer
  const RingState st = drv.state();
  EXPECT_EQ(st.status_bad_descs, 0u);  // none of them was refused by the ring engine
  EXPECT_EQ(st.status_error, 0u);
}

// What no driver writes: a header whose blob_len no slot can hold. The engine answers it
// BAD_CMD, skips to the doorbell (the NOP behind it is lost), and the ring keeps working.
TEST(RingRtl, UnusableLengthSkipsToTheDoorbell) {
  RtlBus bus;
  const RingConfig cfg = config(4, 4);
  RingDriver drv(bus, cfg);
  RingMemory& mem = bus.memory();
  std::vector<Beat> beats;
  Command g = get(9);
  g.tag = 4242;
  codec::encode(g, beats);
  wire::set_field(beats[0].data, wire::header::blob_len, 1000);
  codec::encode(Command{}, beats);  // a NOP
  for (std::size_t i = 0; i < beats.size(); ++i)
    std::memcpy(mem.data() + cfg.layout.cmd_offset() + i * kSlotBytes, beats[i].data, kSlotBytes);
  bus.write_reg(reg::kCmdDoorbell, 2);
  for (int i = 0; i < 200 && bus.read_reg(reg::kCmdHead) != 2; ++i) bus.wait(Clock::now());
  bus.kernel().step(500);
  EXPECT_EQ(bus.read_reg(reg::kCmdHead), 2u);
  EXPECT_EQ(bus.read_reg(reg::kRspTail), 1u);  // one answer: for the bad header only
  uint64_t rsp[8];
  std::memcpy(rsp, mem.data() + cfg.layout.rsp_offset(), sizeof rsp);
  EXPECT_EQ(wire::get_field(rsp, wire::header::status), static_cast<uint64_t>(wire::Status::BAD_CMD));
  EXPECT_EQ(wire::get_field(rsp, wire::header::tag), 4242u);
  EXPECT_EQ(wire::get_field(rsp, wire::header::blob_len), 0u);
  EXPECT_EQ(bus.read_reg(reg::kRingStatus) & reg::kRingStatusErrorMask,
            static_cast<uint32_t>(wire::RingError::BAD_BLOB_LEN));
  // The driver's view is now behind the card's: recover() re-syncs both, and the
  // engine serves again.
  ASSERT_TRUE(drv.recover());
  const auto out = run(drv, {put(9, blob(9, 64)), get(9)});
  EXPECT_TRUE(out[0].ok());
  EXPECT_EQ(out[1].blob, blob(9, 64));
}

TEST(RingRtl, StuckCardTimesOutWithFailedAndRecovers) {
  RtlBus bus;
  RingConfig cfg = config(6, 6);
  cfg.timeout = std::chrono::milliseconds(100);
  cfg.reset_timeout = std::chrono::milliseconds(100);
  RingDriver drv(bus, cfg);
  ASSERT_TRUE(run(drv, {put(1, blob(1, 10))})[0].ok());
  bus.frozen = true;
  const auto out = run(drv, {get(1), get(2)});
  EXPECT_EQ(out[0].status, wire::Status::FAILED);
  EXPECT_EQ(out[1].status, wire::Status::FAILED);
  EXPECT_EQ(drv.counters().timeouts, 1u);
  bus.frozen = false;
  const auto again = run(drv, {get(1)});
  ASSERT_EQ(again[0].status, wire::Status::OK);
  EXPECT_EQ(again[0].blob, blob(1, 10));
}

TEST(RingRtl, CardResetMidRunFailsOnlyWhatWasInFlight) {
  RtlBus bus(4);
  RingDriver drv(bus, config(6, 6));
  bus.reset_after_waits = 20;  // after the first answers, before the last (4 cycles per wait; 17..30 work)
  std::vector<Command> cmds;
  for (unsigned k = 0; k < 24; ++k) cmds.push_back(put(k, blob(k, 64)));
  const auto out = run(drv, cmds);
  ASSERT_EQ(out.size(), cmds.size());
  unsigned ok = 0, failed = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].tag, cmds[i].tag);
    if (out[i].ok()) ++ok;
    else if (out[i].status == wire::Status::FAILED) ++failed;
    else ADD_FAILURE() << i << ": " << wire::to_string(out[i].status);
  }
  EXPECT_GT(ok, 0u);
  EXPECT_GT(failed, 0u);
  EXPECT_EQ(drv.counters().card_resets, 1u);
  EXPECT_EQ(drv.counters().failed_in_flight, failed);
  // Every OK was true: the entry is there with its blob. The ring works after the reset.
  std::vector<Command> gets;
  for (unsigned k = 0; k < 24; ++k) gets.push_back(get(k));
  const auto got = run(drv, gets);
  for (unsigned k = 0; k < 24; ++k) {
    if (out[k].ok()) {
      EXPECT_EQ(got[k].status, wire::Status::OK) << k;
      EXPECT_EQ(got[k].blob, blob(k, 64)) << k;
    }
  }
  EXPECT_EQ(drv.counters().card_resets, 1u);
  EXPECT_EQ(drv.counters().timeouts, 0u);
}

}  // namespace
}  // namespace sessnic::ring::test
