// The ring engine of the Verilated Vitis kernel (rtl/host_if/, rtl/kernel/) against a
// C++ host-memory model with random AXI ready/valid delays (VerilatedKernelBus), fed by
// a minimal in-test producer (RingTestHost): round trip, ring wrap, full rings,
// coalesced doorbells, bad descriptors and doorbells, bus errors, the interrupt, and a
// reset of the card mid-run. The ring driver's own tests are in tests/alveo/.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>

#include <cstddef>

#include "ring_test_host.hpp"
#include "sessnic/sessnic_regs.h"
#include "verilated_kernel_bus.hpp"

namespace sessnic::rtlsim {
namespace {

namespace kr = kernel_reg;
// The kernel answers the ring registers itself (rtl/kernel/sess_kernel_regs.sv): at the
// offsets of the one register map.
static_assert(kr::CARD == offsetof(sessnic_regs_t, card));
static_assert(kr::CARD_STATUS == offsetof(sessnic_regs_t, status));
static_assert(kr::RING_CTRL == offsetof(sessnic_regs_t, ring_ctrl));
static_assert(kr::RING_STATUS == offsetof(sessnic_regs_t, ring_status));
static_assert(kr::CMD_RING_BASE_LO == offsetof(sessnic_regs_t, cmd_ring_base_lo));
static_assert(kr::CMD_RING_BASE_HI == offsetof(sessnic_regs_t, cmd_ring_base_hi));
static_assert(kr::CMD_RING_SIZE_LOG2 == offsetof(sessnic_regs_t, cmd_ring_size_log2));
static_assert(kr::RSP_RING_BASE_LO == offsetof(sessnic_regs_t, rsp_ring_base_lo));
static_assert(kr::RSP_RING_BASE_HI == offsetof(sessnic_regs_t, rsp_ring_base_hi));
static_assert(kr::RSP_RING_SIZE_LOG2 == offsetof(sessnic_regs_t, rsp_ring_size_log2));
static_assert(kr::STATUS_BASE_LO == offsetof(sessnic_regs_t, status_base_lo));
static_assert(kr::STATUS_BASE_HI == offsetof(sessnic_regs_t, status_base_hi));
static_assert(kr::CMD_DOORBELL == offsetof(sessnic_regs_t, cmd_doorbell));
static_assert(kr::RSP_DOORBELL == offsetof(sessnic_regs_t, rsp_doorbell));
static_assert(kr::CMD_HEAD == offsetof(sessnic_regs_t, cmd_head));
static_assert(kr::RSP_TAIL == offsetof(sessnic_regs_t, rsp_tail));
static_assert(kr::BUILD_ID == offsetof(sessnic_regs_t, build_id));
static_assert(kr::CTRL_ENABLE == SESSNIC_REGS__RING_CTRL__ENABLE_bm);
static_assert(kr::CTRL_IRQ_ENABLE == SESSNIC_REGS__RING_CTRL__IRQ_ENABLE_bm);
static_assert(kr::CTRL_RESET == SESSNIC_REGS__RING_CTRL__RESET_bm);
static_assert(kr::STATUS_IDLE == SESSNIC_REGS__RING_STATUS__IDLE_bm);
static_assert(kr::ERR_AXI_ERROR == static_cast<uint32_t>(wire::RingError::AXI_ERROR));
static_assert(kr::ERR_BAD_DOORBELL == static_cast<uint32_t>(wire::RingError::BAD_DOORBELL));
static_assert(kr::ERR_PAST_TAIL == static_cast<uint32_t>(wire::RingError::PAST_TAIL));
static_assert(kr::ERR_BAD_BLOB_LEN == static_cast<uint32_t>(wire::RingError::BAD_BLOB_LEN));
static_assert(kr::ERR_BAD_KEY_LEN == static_cast<uint32_t>(wire::RingError::BAD_KEY_LEN));
static_assert(kr::ERR_BAD_OPCODE == static_cast<uint32_t>(wire::RingError::BAD_OPCODE));
constexpr uint8_t kOk = static_cast<uint8_t>(wire::Status::OK);
constexpr uint8_t kMiss = static_cast<uint8_t>(wire::Status::MISS);
constexpr uint8_t kBadCmd = static_cast<uint8_t>(wire::Status::BAD_CMD);
constexpr uint8_t kPut = static_cast<uint8_t>(wire::Opcode::PUT);
constexpr uint8_t kGet = static_cast<uint8_t>(wire::Opcode::GET);

std::vector<uint8_t> blob_of(size_t n, uint8_t seed) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed * 31 + i * 7 + 1);
  return b;
}

std::map<uint32_t, RingResponse> by_tag(std::vector<RingResponse> v) {
  std::map<uint32_t, RingResponse> m;
  for (auto& r : v) {
    const uint32_t tag = r.tag();
    EXPECT_TRUE(m.emplace(tag, std::move(r)).second) << "tag " << tag << " answered twice";
  }
  return m;
}

TEST(RingEngine, IdentifiesItselfAndIsIdleAfterReset) {
  VerilatedKernelBus bus;
  EXPECT_EQ(bus.read32(0x00), 0x53455353u);  // the card's id register, through the control split
  EXPECT_EQ(bus.read32(kr::BUILD_ID) >> 16, static_cast<uint32_t>(wire::Ring::CONTRACT));
  const uint32_t st = bus.read32(kr::RING_STATUS);
  EXPECT_TRUE(st & kr::STATUS_IDLE);
  EXPECT_EQ(st & 0xff, kr::ERR_NONE);
  bus.write32(kr::CMD_RING_BASE_HI, 0x12345678);
  EXPECT_EQ(bus.read32(kr::CMD_RING_BASE_HI), 0x12345678u);
  bus.write32(kr::CARD, 7);  // card id, in the card's block
  EXPECT_EQ(bus.read32(kr::CARD), 7u);
}

TEST(RingEngine, PutThenGetHitRoundTrip) {
  VerilatedKernelBus bus;
  RingTestHost host(bus);
  host.init(6, 6);
  const auto blob = blob_of(200, 3);
  ASSERT_TRUE(host.post(ring_put(1, 0x40, blob)));
  ASSERT_TRUE(host.post(ring_get(2, 0x40)));
  host.doorbell();
  auto rs = by_tag(host.collect(2, 20000));
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs.at(1).op(), kPut);
  EXPECT_EQ(rs.at(1).status(), kOk);
  EXPECT_EQ(rs.at(2).op(), kGet);
  EXPECT_EQ(rs.at(2).status(), kOk);
  EXPECT_EQ(rs.at(2).blob(), blob);
  bus.step(200);
  const StatusBlock s = host.status();
  EXPECT_EQ(s.cmd_head, host.tail());  // 5 + 1 slots consumed
  EXPECT_EQ(s.cmd_head, 6u);
  EXPECT_EQ(s.rsp_tail, 1u + 5u);  // PUT answer (1 beat) + GET hit (header + 4 blob beats)
  EXPECT_EQ(s.error, 0u);
  EXPECT_EQ(bus.read32(kr::CMD_HEAD), 6u);
  EXPECT_TRUE(bus.read32(kr::RING_STATUS) & kr::STATUS_IDLE);
}

// 16-slot rings: 5-slot messages straddle the end of the ring on most passes, and the
// free-running indices go round many times.
TEST(RingEngine, RingWrapKeepsEveryMessageWhole) {
  VerilatedKernelBus bus;
  RingTestHost host(bus);
  host.init(4, 4);
  std::map<uint32_t, std::vector<uint8_t>> stored;
  std::map<uint32_t, RingResponse> got;
  uint32_t tag = 1;
  for (int round = 0; round < 30; ++round) {
    const uint8_t key = static_cast<uint8_t>(round % 8 * 16);
    const auto blob = blob_of(64 + (round * 37) % 193, static_cast<uint8_t>(round));
    while (!host.post(ring_put(tag, key, blob))) {
      bus.step(16);
      for (auto& r : host.poll()) got.emplace(r.tag(), std::move(r));
    }
    ++tag;
    host.doorbell();
    while (!host.post(ring_get(tag, key))) {
      bus.step(16);
      for (auto& r : host.poll()) got.emplace(r.tag(), std::move(r));
    }
    stored[tag] = blob;
    ++tag;
    host.doorbell();
  }
  for (auto& r : host.collect(tag - 1 - got.size(), 200000)) got.emplace(r.tag(), std::move(r));
  ASSERT_EQ(got.size(), tag - 1);
  for (const auto& [t, blob] : stored) {
    EXPECT_EQ(got.at(t).status(), kOk) << "GET " << t;
    EXPECT_EQ(got.at(t).blob(), blob) << "GET " << t;
  }
  EXPECT_GT(host.tail(), 8 * 16u);  // the command ring went round at least 8 times
  EXPECT_EQ(host.status().error, 0u);
}

// The command ring filled to the last slot (tail - head == size), and a response ring
// the host does not drain: the engine stops at a full response ring, overwrites nothing,
// and goes on when the host frees slots.
TEST(RingEngine, FullRingsStallWithoutLoss) {
  VerilatedKernelBus bus;
  RingTestHost host(bus);
  host.init(4, 4);
  // Store 3 entries, then 16 one-slot GET hits of 2-slot answers (header + one blob beat).
  for (uint32_t i = 0; i < 3; ++i) ASSERT_TRUE(host.post(ring_put(100 + i, static_cast<uint8_t>(i * 16), blob_of(40, 1))));
  host.doorbell();
  ASSERT_EQ(host.collect(3, 20000).size(), 3u);
  bus.step(100);
  for (uint32_t i = 0; i < 16; ++i) ASSERT_TRUE(host.post(ring_get(i, static_cast<uint8_t>(i % 3 * 16))));
  EXPECT_FALSE(host.post(ring_get(99, 0)));  // the ring is full
  EXPECT_EQ(host.tail() - host.status().cmd_head, 16u);
  host.doorbell();
  bus.step(3000);
  // 8 answers of 2 slots fill the 16-slot response ring; nothing more may be written.
  const uint32_t head0 = host.rsp_head();
  auto first = host.poll(false);
  EXPECT_EQ(first.size(), 8u);
  EXPECT_EQ(host.status().rsp_tail - head0, 16u);
  EXPECT_EQ(bus.read32(kr::RSP_TAIL) - head0, 16u);
  bus.step(2000);
  EXPECT_EQ(host.status().rsp_tail - head0, 16u) << "the engine wrote into unfreed response slots";
  host.free_to(host.pending_head());
  auto rest = host.collect(8, 20000);
  EXPECT_EQ(rest.size(), 8u);
  for (auto& r : rest) first.push_back(std::move(r));
  auto rs = by_tag(std::move(first));
  ASSERT_EQ(rs.size(), 16u);
  for (uint32_t i = 0; i < 16; ++i) {
    EXPECT_EQ(rs.at(i).status(), kOk);
    EXPECT_EQ(rs.at(i).blob(), blob_of(40, 1));
  }
  EXPECT_EQ(host.status().error, 0u);
}

// One doorbell covers every slot up to it; repeating it changes nothing; a doorbell per
// message and one per batch give the same answers.
TEST(RingEngine, CoalescedDoorbellsCoverEverySlot) {
  VerilatedKernelBus bus;
  RingTestHost host(bus);
  host.init(6, 6);
  for (uint32_t i = 0; i < 10; ++i) ASSERT_TRUE(host.post(ring_put(i, static_cast<uint8_t>(i * 8), blob_of(1 + i * 20, 2))));
  bus.step(500);
  EXPECT_EQ(host.status().cmd_head, 0u);  // nothing rung, nothing fetched
  host.doorbell();
  host.doorbell();  // the same index again: no effect
  auto rs = by_tag(host.collect(10, 50000));
  ASSERT_EQ(rs.size(), 10u);
  for (uint32_t i = 0; i < 10; ++i) EXPECT_EQ(rs.at(i).status(), kOk);
  for (uint32_t i = 0; i < 10; ++i) {
    ASSERT_TRUE(host.post(ring_get(100 + i, static_cast<uint8_t>(i * 8))));
    host.doorbell();
  }
  rs = by_tag(host.collect(10, 50000));
  ASSERT_EQ(rs.size(), 10u);
  for (uint32_t i = 0; i < 10; ++i) EXPECT_EQ(rs.at(100 + i).blob(), blob_of(1 + i * 20, 2));
  EXPECT_EQ(bus.read32(kr::RING_STATUS) & 0xff, kr::ERR_NONE);
}

// Every kind of bad descriptor is answered BAD_CMD with its tag and the card id, its
// ring_error code recorded, and skipped: by its length when that is usable, else to
// cmd_tail. Good commands around it are answered normally.
TEST(RingEngine, BadDescriptorsAnswerBadCmdAndNeverHang) {
  VerilatedKernelBus bus;
  RingTestHost host(bus);
  bus.write32(kr::CARD, 9);
  host.init(6, 6);
  ASSERT_TRUE(host.post(ring_put(1, 0x10, blob_of(64, 4))));
  TableCommand bad_op = ring_get(2, 0x10);
  bad_op.op = 0x7f;
  ASSERT_TRUE(host.post(bad_op));
  TableCommand no_key = ring_get(3, 0x10);
  no_key.key_len = 0;
  ASSERT_TRUE(host.post(no_key));
  TableCommand long_key = ring_put(4, 0x10, blob_of(100, 1));  // skipped by its 3 slots
  long_key.key_len = 40;
  ASSERT_TRUE(host.post(long_key));
  TableCommand stats;  // key_len 0 is fine on an unkeyed op
  stats.op = static_cast<uint8_t>(wire::Opcode::STATS);
  stats.tag = 5;
  ASSERT_TRUE(host.post(stats));
  ASSERT_TRUE(host.post(ring_get(6, 0x10)));
  host.doorbell();
  auto rs = by_tag(host.collect(6, 50000));
  ASSERT_EQ(rs.size(), 6u);
  EXPECT_EQ(rs.at(1).status(), kOk);
  for (uint32_t t : {2u, 3u, 4u}) {
    EXPECT_EQ(rs.at(t).status(), kBadCmd) << "tag " << t;
    EXPECT_EQ(rs.at(t).blob_len(), 0u) << "tag " << t;
    EXPECT_EQ(wire::get_field(rs.at(t).beats[0].data, wire::header::aux), 9u) << "tag " << t;
  }
  EXPECT_EQ(rs.at(2).op(), 0x7f);  // the header is echoed
  EXPECT_EQ(rs.at(5).status(), kOk);
  EXPECT_EQ(rs.at(6).status(), kOk);
  EXPECT_EQ(rs.at(6).blob(), blob_of(64, 4));
  bus.step(200);
  uint32_t st = bus.read32(kr::RING_STATUS);
  EXPECT_EQ(st & 0xff, kr::ERR_BAD_KEY_LEN);  // the most recent
  EXPECT_FALSE(st & kr::STATUS_FAULT);
  EXPECT_TRUE(st & kr::STATUS_IDLE);
  EXPECT_EQ(host.status().error, kr::ERR_BAD_KEY_LEN);
  EXPECT_EQ(host.status().bad_descs, 3u);
  EXPECT_EQ(host.status().cmd_head, host.tail());

  // blob_len > SLOT_BYTES: the length is unusable, so the GET rung with it is dropped too.
  ASSERT_TRUE(host.post(ring_put(7, 0x20, blob_of(320, 5))));  // 1 + 5 slots
  ASSERT_TRUE(host.post(ring_get(8, 0x10)));
  host.doorbell();
  rs = by_tag(host.collect(1, 20000));
  bus.step(500);
  for (auto& r : host.poll()) rs.emplace(r.tag(), std::move(r));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs.at(7).status(), kBadCmd);
  EXPECT_EQ(host.status().error, kr::ERR_BAD_BLOB_LEN);
  EXPECT_EQ(host.status().cmd_head, host.tail());

  // A message running past cmd_tail: a PUT header announcing 4 blob beats with only 2
  // slots rung. Answered BAD_CMD, skipped to cmd_tail; the next message is fine.
  auto partial = encode(ring_put(9, 0x30, blob_of(256, 6)));
  partial.resize(3);
  ASSERT_TRUE(host.post(partial));
  host.doorbell();
  rs = by_tag(host.collect(1, 20000));
  ASSERT_EQ(rs.count(9), 1u);
  EXPECT_EQ(rs.at(9).status(), kBadCmd);
  EXPECT_EQ(host.status().error, kr::ERR_PAST_TAIL);
  ASSERT_TRUE(host.post(ring_get(10, 0x10)));
  host.doorbell();
  rs = by_tag(host.collect(1, 20000));
  ASSERT_EQ(rs.count(10), 1u);
  EXPECT_EQ(rs.at(10).status(), kOk);
  EXPECT_EQ(host.status().cmd_head, host.tail());
  EXPECT_EQ(host.status().bad_descs, 5u);
}

// Doorbells out of range are ignored and reported; the ring keeps working.
TEST(RingEngine, DoorbellsOutOfRangeAreIgnoredAndReported) {
  VerilatedKernelBus bus;
  RingTestHost host(bus);
  host.init(4, 4);
  host.doorbell(17);  // beyond head + 16
  bus.step(300);
  EXPECT_EQ(bus.read32(kr::CMD_DOORBELL), 0u);
  EXPECT_EQ(bus.read32(kr::RING_STATUS) & 0xff, kr::ERR_BAD_DOORBELL);
  EXPECT_EQ(host.status().error, kr::ERR_BAD_DOORBELL);
  EXPECT_EQ(host.status().cmd_head, 0u);
  ASSERT_TRUE(host.post(ring_get(1, 0)));
  ASSERT_TRUE(host.post(ring_get(2, 0)));
  host.doorbell();
  ASSERT_EQ(host.collect(2, 20000).size(), 2u);
  host.doorbell(1);  // behind the tail
  bus.write32(kr::RSP_DOORBELL, 5);  // beyond rsp_tail (2)
  bus.step(100);
  EXPECT_EQ(bus.read32(kr::CMD_DOORBELL), 2u);
  EXPECT_EQ(bus.read32(kr::RSP_DOORBELL), 2u);
  EXPECT_EQ(bus.read32(kr::RING_STATUS) & 0xff, kr::ERR_BAD_DOORBELL);
  ASSERT_TRUE(host.post(ring_get(3, 0)));
  host.doorbell();
  auto rs = host.collect(1, 20000);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status(), kMiss);
}

// RING_STATUS.idle is a register (rtl/host_if/sess_ring_engine.sv: the combinational
// flag crossed three modules); a host write must still show in the very next read, or a
// driver that rings the doorbell and then waits for idle returns before its commands ran.
TEST(RingEngine, IdleReadRightAfterADoorbellOrResetSeesTheWrite) {
  VerilatedKernelBus bus;
  RingTestHost host(bus);
  host.init(4, 4);
  bus.step(50);
  ASSERT_TRUE(bus.read32(kr::RING_STATUS) & kr::STATUS_IDLE);
  ASSERT_TRUE(host.post(ring_get(1, 0)));
  host.doorbell();
  EXPECT_FALSE(bus.read32(kr::RING_STATUS) & kr::STATUS_IDLE) << "idle read right after CMD_DOORBELL";
  ASSERT_EQ(host.collect(1, 20000).size(), 1u);
  for (int i = 0; i < 100 && !(bus.read32(kr::RING_STATUS) & kr::STATUS_IDLE); ++i) bus.step(10);
  ASSERT_TRUE(bus.read32(kr::RING_STATUS) & kr::STATUS_IDLE);
  bus.write32(kr::RING_CTRL, kr::CTRL_ENABLE | kr::CTRL_RESET);
  EXPECT_FALSE(bus.read32(kr::RING_STATUS) & kr::STATUS_IDLE) << "idle read right after RING_CTRL.reset";
  for (int i = 0; i < 100 && !(bus.read32(kr::RING_STATUS) & kr::STATUS_IDLE); ++i) bus.step(10);
  EXPECT_TRUE(bus.read32(kr::RING_STATUS) & kr::STATUS_IDLE);
  EXPECT_EQ(host.status().resets, 1u);
}

// A ring in memory the bus refuses: the engine stops with a fault and the error code,
// does not hang the bus, and a ring reset brings it back.
TEST(RingEngine, BusErrorFaultsTheEngineUntilReset) {
  VerilatedKernelBus bus;
  RingTestHost host(bus);
  bus.fail_range(bus.memory_base() + RingTestHost::kCmdOff, bus.memory_base() + RingTestHost::kCmdOff + 0x1000);
  host.init(4, 4);
  ASSERT_TRUE(host.post(ring_get(1, 0)));
  host.doorbell();
  bus.step(500);
  uint32_t st = bus.read32(kr::RING_STATUS);
  EXPECT_EQ(st & 0xff, kr::ERR_AXI_ERROR);
  EXPECT_TRUE(st & kr::STATUS_FAULT);
  EXPECT_EQ(host.status().error, kr::ERR_AXI_ERROR);
  bus.write32(kr::RING_CTRL, kr::CTRL_RESET);
  for (int i = 0; i < 100 && !(bus.read32(kr::RING_STATUS) & kr::STATUS_IDLE); ++i) bus.step(10);
  st = bus.read32(kr::RING_STATUS);
  EXPECT_TRUE(st & kr::STATUS_IDLE);
  EXPECT_EQ(st & 0xff, kr::ERR_NONE);
  EXPECT_FALSE(st & kr::STATUS_FAULT);
  EXPECT_EQ(host.status().resets, 1u);  // acknowledged in the status block, ring disabled
}

TEST(RingEngine, InterruptOnCompletionAndCoalescing) {
  VerilatedKernelBus bus;
  RingTestHost host(bus);
  host.init(6, 6, kr::CTRL_IRQ_ENABLE | (4u << 8));
  EXPECT_FALSE(bus.interrupt());
  ASSERT_TRUE(host.post(ring_get(1, 0)));
  host.doorbell();
  // A quiet ring interrupts after its last answer even below the coalescing count.
  ASSERT_TRUE(bus.wait_irq(20000));
  EXPECT_TRUE(bus.read32(kr::RING_STATUS) & kr::STATUS_IRQ);
  EXPECT_EQ(host.poll().size(), 1u);  // frees the slots: RSP_DOORBELL clears the interrupt
  EXPECT_FALSE(bus.interrupt());
  EXPECT_FALSE(bus.read32(kr::RING_STATUS) & kr::STATUS_IRQ);
  EXPECT_FALSE(bus.wait_irq(2000));  // nothing new, no interrupt
  // With the interrupt disabled nothing is raised.
  bus.write32(kr::RING_CTRL, kr::CTRL_ENABLE);
  ASSERT_TRUE(host.post(ring_get(2, 0)));
  host.doorbell();
  EXPECT_EQ(host.collect(1, 20000).size(), 1u);
  EXPECT_FALSE(bus.interrupt());
}

// RING_CTRL.reset while commands are in flight: the engine finishes its AXI bursts and
// the command half-way into the card, drops the answers of what the card holds, and
// acknowledges in the status block (resets = 1, indices 0) while disabled. The card's
// table and registers stay; no answer from before the reset reaches the new ring.
TEST(RingEngine, RingResetMidRunRecovers) {
  VerilatedKernelBus bus;
  RingTestHost host(bus);
  bus.write32(kr::CARD, 3);
  host.init(6, 4);
  for (uint32_t i = 0; i < 12; ++i) ASSERT_TRUE(host.post(ring_put(i, static_cast<uint8_t>(i * 4), blob_of(250, 7))));
  host.doorbell();
  bus.step(40);  // mid-run: some fetched, some answered, none freed
  EXPECT_NE(host.status().cmd_head, host.tail());
  std::memset(bus.memory().data() + RingTestHost::kStatusOff, 0, 64);
  bus.write32(kr::RING_CTRL, kr::CTRL_RESET);
  int waited = 0;
  while (!(bus.read32(kr::RING_STATUS) & kr::STATUS_IDLE) && waited++ < 200) bus.step(16);
  ASSERT_LT(waited, 200) << "the engine never came back from its reset";
  EXPECT_EQ(bus.read32(kr::CMD_HEAD), 0u);
  EXPECT_EQ(bus.read32(kr::CMD_DOORBELL), 0u);
  EXPECT_EQ(bus.read32(kr::RSP_TAIL), 0u);
  const StatusBlock ack = host.status();
  EXPECT_EQ(ack.resets, 1u);
  EXPECT_EQ(ack.cmd_head, 0u);
  EXPECT_EQ(ack.rsp_tail, 0u);
  EXPECT_EQ(bus.read32(kr::CARD), 3u);  // the card was not reset
  host.init(6, 4);
  for (uint32_t i = 0; i < 12; ++i) ASSERT_TRUE(host.post(ring_get(100 + i, static_cast<uint8_t>(i * 4))));
  host.doorbell();
  auto got = host.collect(12, 50000);
  bus.step(2000);
  for (auto& r : host.poll()) got.push_back(std::move(r));
  auto rs = by_tag(std::move(got));
  ASSERT_EQ(rs.size(), 12u) << "an answer from before the reset reached the new ring";
  unsigned hits = 0;
  for (uint32_t i = 0; i < 12; ++i) {
    const RingResponse& r = rs.at(100 + i);
    if (r.status() == kOk) {
      EXPECT_EQ(r.blob(), blob_of(250, 7));
      ++hits;
    } else {
      EXPECT_EQ(r.status(), kMiss);  // its PUT was dropped by the reset
    }
  }
  EXPECT_GT(hits, 0u);   // what the card had done before the reset is still there
  EXPECT_LT(hits, 12u);  // and the reset did come mid-run
  EXPECT_EQ(host.status().error, 0u);
  EXPECT_EQ(host.status().resets, 1u);
}

}  // namespace
}  // namespace sessnic::rtlsim
