// The one ring driver against the soft ring engine (the card side of the ring contract
// in software, in front of the model table): formatting with wrap, full ring, coalesced
// doorbells, bad descriptors, timeouts and card resets. The same driver runs against
// the RTL ring engine in ring_rtl_test.cpp (the commands and the disturbed bus are
// shared: ring_test_support.hpp).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "ring_test_support.hpp"
#include "sessnic/open_device.hpp"
#include "sessnic/ring/ring_device.hpp"
#include "sessnic/ring/soft_ring_engine.hpp"

namespace sessnic::ring::test {
namespace {

std::unique_ptr<Device> table() {
  DeviceConfig cfg;
  cfg.geometry = TableGeometry::small;
  cfg.card_id = 3;
  cfg.clock = [] { return kNow; };
  cfg.sweep_steps_per_batch = 0;
  return make_model_device(cfg);
}

using SoftBus = DisturbedBus<SoftRingBus>;

// A slow soft card: `n` messages per wait(), so the ring fills up, or a batch stays in
// flight across many waits.
std::function<void(SoftRingBus&, Clock::time_point)> messages_per_wait(unsigned n) {
  return [n](SoftRingBus& b, Clock::time_point) { b.engine().step(b.memory(), n); };
}

struct Fixture {
  explicit Fixture(RingLayout l = {}, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000))
      : dev(table()), bus(*dev, l), drv(bus, ring_config(l, timeout)) {}
  std::vector<Response> run(const std::vector<Command>& cmds) { return test::run(drv, cmds); }
  std::unique_ptr<Device> dev;
  SoftBus bus;
  RingDriver drv;
};

TEST(RingDriver, RoundTripsEveryOpAndKeepsCallerTags) {
  Fixture f;
  std::vector<Command> cmds;
  const std::size_t lens[] = {1, 63, 64, 65, 200, 256};
  for (unsigned i = 0; i < 6; ++i) cmds.push_back(put(i, blob(i, lens[i])));
  for (unsigned i = 0; i < 6; ++i) cmds.push_back(get(i));
  Command take = get(2);
  take.op = wire::Opcode::TAKE;
  Command del = get(3);
  del.op = wire::Opcode::DEL;
  cmds.push_back(take);
  cmds.push_back(del);
  cmds.push_back(get(2));
  cmds.push_back(get(3));
  cmds.push_back(get(77));
  const auto out = f.run(cmds);
  ASSERT_EQ(out.size(), cmds.size());
  for (std::size_t i = 0; i < cmds.size(); ++i) EXPECT_EQ(out[i].tag, cmds[i].tag) << i;
  for (unsigned i = 0; i < 6; ++i) {
    EXPECT_EQ(out[i].status, wire::Status::OK) << i;
    ASSERT_EQ(out[6 + i].status, wire::Status::OK) << i;
    EXPECT_EQ(out[6 + i].blob, blob(i, lens[i])) << i;
    EXPECT_EQ(out[6 + i].key, key(i));
    EXPECT_EQ(out[6 + i].card, 3);
  }
  EXPECT_EQ(out[12].status, wire::Status::OK);  // TAKE
  EXPECT_EQ(out[12].blob, blob(2, lens[2]));
  EXPECT_EQ(out[13].status, wire::Status::OK);  // DEL
  EXPECT_EQ(out[14].status, wire::Status::MISS);
  EXPECT_EQ(out[15].status, wire::Status::MISS);
  EXPECT_EQ(out[16].status, wire::Status::MISS);
  EXPECT_EQ(f.drv.counters().responses, cmds.size());
}

TEST(RingDriver, WrapsTheSmallestRingsManyTimes) {
  Fixture f(RingLayout{4, 4});  // 16 slots each; a 256-byte PUT/GET is 5 slots
  for (unsigned round = 0; round < 20; ++round) {
    std::vector<Command> cmds;
    for (unsigned i = 0; i < 7; ++i) cmds.push_back(put(round * 7 + i, blob(round * 7 + i, 256 - i)));
    for (unsigned i = 0; i < 7; ++i) cmds.push_back(get(round * 7 + i));
    const auto out = f.run(cmds);
    ASSERT_EQ(out.size(), cmds.size());
    for (unsigned i = 0; i < 7; ++i) {
      ASSERT_EQ(out[i].status, wire::Status::OK) << round << " " << i;
      ASSERT_EQ(out[7 + i].status, wire::Status::OK) << round << " " << i;
      ASSERT_EQ(out[7 + i].blob, blob(round * 7 + i, 256 - i)) << round << " " << i;
    }
  }
  const RingState s = f.drv.state();
  EXPECT_GT(s.cmd_head, 16u * 20);  // free-running indices went round the ring many times
  EXPECT_EQ(s.cmd_head, s.cmd_tail);
  EXPECT_EQ(s.rsp_head, s.rsp_tail);
  EXPECT_EQ(s.status_error, 0u);
}

TEST(RingDriver, FullCommandRingWaitsForTheCardInsteadOfOverwriting) {
  Fixture f(RingLayout{4, 6});
  f.bus.advance = messages_per_wait(1);  // a slow card: one command per wait
  std::vector<Command> cmds;
  for (unsigned i = 0; i < 40; ++i) cmds.push_back(put(i, blob(i, 256)));
  for (unsigned i = 0; i < 40; ++i) cmds.push_back(get(i));
  const auto out = f.run(cmds);
  for (unsigned i = 0; i < 40; ++i) {
    ASSERT_EQ(out[i].status, wire::Status::OK) << i;
    ASSERT_EQ(out[40 + i].blob, blob(i, 256)) << i;
  }
  EXPECT_GT(f.drv.counters().ring_full_waits, 0u);
  EXPECT_GT(f.drv.counters().cmd_doorbells, 1u);
}

TEST(RingDriver, OneDoorbellCoversAWholeBatch) {
  Fixture f;
  std::vector<Command> cmds;
  for (unsigned i = 0; i < 50; ++i) cmds.push_back(put(i, blob(i, 100)));
  const unsigned before = f.bus.cmd_doorbell_writes;
  const auto out = f.run(cmds);
  for (const Response& r : out) ASSERT_EQ(r.status, wire::Status::OK);
  EXPECT_EQ(f.bus.cmd_doorbell_writes - before, 1u);
  EXPECT_EQ(f.drv.counters().cmd_doorbells, 1u);
  EXPECT_EQ(f.bus.read_reg(reg::kCmdDoorbell), 50u * 3);  // 50 messages of 1 + 2 slots
}

TEST(RingDriver, BadDescriptorsAreAnsweredBadCmdAndTheRestRuns) {
  Fixture f;
  Command no_key = get(1);
  no_key.key.len = 0;
  Command long_key = get(2);
  long_key.key.len = 40;  // more than KEY_MAX_BYTES: the codec sends it as given
  Command bad_op = get(3);
  bad_op.op = static_cast<wire::Opcode>(0x7F);
  Command too_large = put(4, blob(4, wire::SLOT_BYTES + 1));
  const std::vector<Command> cmds = {put(1, blob(1, 10)), no_key, long_key, bad_op, too_large, get(1)};
  const auto out = f.run(cmds);
  ASSERT_EQ(out.size(), cmds.size());
  EXPECT_EQ(out[0].status, wire::Status::OK);
  EXPECT_EQ(out[1].status, wire::Status::BAD_CMD);
  EXPECT_EQ(out[1].tag, no_key.tag);
  EXPECT_EQ(out[2].status, wire::Status::BAD_CMD);
  EXPECT_EQ(out[3].status, wire::Status::BAD_CMD);
  EXPECT_EQ(out[4].status, wire::Status::TOO_LARGE);  // never sent: the ring cannot carry it
  EXPECT_EQ(out[5].status, wire::Status::OK);
  EXPECT_EQ(out[5].blob, blob(1, 10));
  const RingState s = f.drv.state();
  EXPECT_EQ(s.status_bad_descs, 3u);
  EXPECT_EQ(s.status_error, static_cast<uint32_t>(wire::RingError::BAD_OPCODE));
  EXPECT_EQ(s.ring_status & reg::kRingStatusErrorMask, static_cast<uint32_t>(wire::RingError::BAD_OPCODE));
}

TEST(RingDriver, StuckCardTimesOutWithFailedAndRecovers) {
  Fixture f(RingLayout{}, std::chrono::milliseconds(50));
  f.run({put(1, blob(1, 10))});
  f.bus.frozen = true;
  const auto t0 = Clock::now();
  const auto out = f.run({get(1), get(2)});
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].status, wire::Status::FAILED);
  EXPECT_EQ(out[1].status, wire::Status::FAILED);
  EXPECT_EQ(out[0].tag, get(1).tag);
  EXPECT_EQ(f.drv.counters().timeouts, 1u);
  f.bus.frozen = false;
  const auto again = f.run({get(1)});
  ASSERT_EQ(again[0].status, wire::Status::OK);  // the table kept its entry; the ring is new
  EXPECT_EQ(again[0].blob, blob(1, 10));
}

TEST(RingDriver, CardResetMidBatchFailsOnlyWhatWasInFlight) {
  Fixture f(RingLayout{6, 6});
  f.bus.advance = messages_per_wait(2);
  f.bus.reset_after_waits = 5;
  std::vector<Command> cmds;
  for (unsigned i = 0; i < 60; ++i) cmds.push_back(put(i, blob(i, 64)));
  const auto out = f.run(cmds);
  ASSERT_EQ(out.size(), cmds.size());
  unsigned ok = 0, failed = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].tag, cmds[i].tag);
    if (out[i].status == wire::Status::OK) ++ok;
    else if (out[i].status == wire::Status::FAILED) ++failed;
    else ADD_FAILURE() << "unexpected status " << wire::to_string(out[i].status);
  }
  EXPECT_GT(ok, 0u);
  EXPECT_GT(failed, 0u);
  EXPECT_EQ(f.drv.counters().card_resets, 1u);
  EXPECT_EQ(f.drv.counters().failed_in_flight, failed);
  // Every OK answer is true: the entry is there with its blob.
  std::vector<Command> gets;
  for (unsigned i = 0; i < 60; ++i) gets.push_back(get(i));
  const auto got = f.run(gets);
  for (unsigned i = 0; i < 60; ++i) {
    if (out[i].status == wire::Status::OK) {
      EXPECT_EQ(got[i].blob, blob(i, 64)) << i;
    }
  }
  EXPECT_EQ(f.drv.counters().card_resets, 1u);
}

TEST(RingDriver, OpenFailsClearlyOnANonSessnicCardOrADeadEngine) {
  auto dev = table();
  SoftBus bus(*dev, RingLayout{});
  bus.frozen = true;
  try {
    RingDriver drv(bus, RingConfig{RingLayout{}, std::chrono::milliseconds(20), std::chrono::milliseconds(20)});
    FAIL() << "opened a ring whose engine never answers";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("did not acknowledge"), std::string::npos) << e.what();
  }
  EXPECT_THROW(RingDriver(bus, RingConfig{RingLayout{3, 10}}), std::invalid_argument);
}

TEST(RingDriver, OpenRefusesAKernelOfAnotherRingContractOrAnUnpinnedBuild) {
  auto dev = table();
  SoftBus other(*dev, RingLayout{}, 0x0002'0007);
  try {
    RingDriver drv(other, RingConfig{});
    FAIL() << "opened a kernel of ring contract 2";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("wrong xclbin: the kernel's BUILD_ID 0x00020007 implements ring contract 2"),
              std::string::npos)
        << e.what();
  }
  SoftBus build7(*dev, RingLayout{}, 0x0001'0007);
  RingConfig pinned;
  pinned.expected_build_id = 0x0001'0008;
  EXPECT_THROW(RingDriver(build7, pinned), std::runtime_error);
  pinned.expected_build_id = 0x0001'0007;
  RingDriver ok(build7, pinned);
  EXPECT_EQ(ok.state().build_id, 0x0001'0007u);
}

// The soft engine alone, fed raw slots: the descriptors no driver writes.
TEST(SoftRingEngine, UnusableLengthSkipsToTailAndBadDoorbellIsIgnored) {
  auto dev = table();
  RingLayout l{4, 4};
  HostRingMemory mem(l.bytes());
  SoftRingEngine eng(*dev);
  const uint64_t base = mem.device_address();
  eng.write_reg(reg::kCmdRingBaseLo, static_cast<uint32_t>(base + l.cmd_offset()));
  eng.write_reg(reg::kCmdRingBaseLo + 4, static_cast<uint32_t>((base + l.cmd_offset()) >> 32));
  eng.write_reg(reg::kCmdRingSizeLog2, 4);
  eng.write_reg(reg::kRspRingBaseLo, static_cast<uint32_t>(base + l.rsp_offset()));
  eng.write_reg(reg::kRspRingBaseLo + 4, static_cast<uint32_t>((base + l.rsp_offset()) >> 32));
  eng.write_reg(reg::kRspRingSizeLog2, 4);
  eng.write_reg(reg::kStatusBaseLo, static_cast<uint32_t>(base + l.status_offset()));
  eng.write_reg(reg::kStatusBaseLo + 4, static_cast<uint32_t>((base + l.status_offset()) >> 32));
  eng.write_reg(reg::kRingCtrl, reg::kRingCtrlReset);
  ASSERT_TRUE(eng.step(mem));
  eng.write_reg(reg::kRingCtrl, reg::kRingCtrlEnable);

  // Slot 0: a GET header claiming 1000 blob bytes; slots 1, 2: two good NOPs.
  std::vector<Beat> beats;
  Command g = get(1);
  g.tag = 77;
  codec::encode(g, beats);
  wire::set_field(beats[0].data, wire::header::blob_len, 1000);
  Command nop;
  nop.tag = 78;
  codec::encode(nop, beats);
  codec::encode(nop, beats);
  for (std::size_t i = 0; i < beats.size(); ++i) std::memcpy(mem.data() + l.cmd_offset() + i * 64, beats[i].data, 64);

  eng.write_reg(reg::kCmdDoorbell, 17);  // more than a ring ahead of head 0: ignored
  EXPECT_EQ(eng.read_reg(reg::kRingStatus) & reg::kRingStatusErrorMask, static_cast<uint32_t>(wire::RingError::BAD_DOORBELL));
  EXPECT_FALSE(eng.step(mem));
  eng.write_reg(reg::kCmdDoorbell, 3);
  ASSERT_TRUE(eng.step(mem));
  EXPECT_EQ(eng.cmd_head(), 3u);  // skipped to the doorbell: the NOPs after it are lost
  EXPECT_EQ(eng.read_reg(reg::kRspTail), 1u);
  Beat r;
  std::memcpy(r.data, mem.data() + l.rsp_offset(), 64);
  EXPECT_EQ(wire::get_field(r.data, wire::header::status), static_cast<uint64_t>(wire::Status::BAD_CMD));
  EXPECT_EQ(wire::get_field(r.data, wire::header::tag), 77u);
  EXPECT_EQ(wire::get_field(r.data, wire::header::blob_len), 0u);
  EXPECT_EQ(eng.read_reg(reg::kRingStatus),
            static_cast<uint32_t>(wire::RingError::BAD_BLOB_LEN) | reg::kRingStatusIdle);
  uint64_t st[8];
  std::memcpy(st, mem.data() + l.status_offset(), 64);
  EXPECT_EQ(wire::get_field(st, wire::ring_status::cmd_head), 3u);
  EXPECT_EQ(wire::get_field(st, wire::ring_status::rsp_tail), 1u);
  EXPECT_EQ(wire::get_field(st, wire::ring_status::bad_descs), 1u);
}

TEST(RingDevice, IsADeviceWithCardIdAndClock) {
  auto t = table();
  DeviceConfig cfg;
  cfg.card_id = 9;
  cfg.clock = [] { return kNow + 10; };
  RingDevice dev("soft", std::make_unique<SoftRingBus>(*t, RingLayout{}), cfg);
  EXPECT_EQ(dev.kind(), "soft");
  EXPECT_EQ(dev.card_id(), 9);
  const uint8_t id[] = {1, 2, 3};
  const SessionKey k = SessionKey::make(id, 0);
  const std::vector<uint8_t> b = {4, 5, 6};
  // The ring device set the card clock to kNow + 10 (the table's own clock says kNow):
  // an entry expiring at kNow + 5 is refused as already expired.
  EXPECT_EQ(dev.put(k, b, kNow + 5).status, wire::Status::EXPIRED);
  EXPECT_EQ(dev.put(k, b, kNow + 100).status, wire::Status::OK);
  EXPECT_EQ(dev.get(k).blob, b);
  const TableStats s = dev.stats();
  EXPECT_EQ(s[wire::STATS_PUTS], 1u);
  EXPECT_EQ(s[wire::STATS_NOW], kNow + 10);
  EXPECT_EQ(dev.state().card, 9u);
}

}  // namespace
}  // namespace sessnic::ring::test
