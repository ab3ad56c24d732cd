// The Vitis kernel's network side (rtl/kernel/sess_eth_tx.sv, sess_eth_rx.sv): two
// Verilated kernels wired by their Ethernet-framed backplane ports move a session with a
// TRANSFER issued through the host ring; the RX drop FIFO counts every frame it does not
// pass on (not ours, malformed, no room) and never back-pressures the MAC.
#include <gtest/gtest.h>

#include <cstring>

#include "ring_test_host.hpp"
#include "verilated_kernel_bus.hpp"

namespace sessnic::rtlsim {
namespace {

namespace kr = kernel_reg;
constexpr uint32_t kControl = 0x0C;  // spec/regs.rdl control: [8] bp_enable, [10:9] bp_mode
constexpr uint32_t kPeers = 0x18;
constexpr uint8_t kPrefix[5] = {0x02, 0x53, 0x45, 0x53, 0x53};  // the default MAC prefix

uint8_t byte_of(const NetBeat& b, unsigned i) { return static_cast<uint8_t>(b.data[i / 8] >> (8 * (i % 8))); }
void set_byte(NetBeat& b, unsigned i, uint8_t v) {
  b.data[i / 8] &= ~(uint64_t{0xff} << (8 * (i % 8)));
  b.data[i / 8] |= uint64_t{v} << (8 * (i % 8));
}

// An Ethernet prefix beat as sess_eth_tx builds it, then `payload_beats` beats.
NetFrame eth_frame(const uint8_t dst[6], uint16_t ethertype, unsigned payload_beats) {
  NetFrame f(1 + payload_beats);
  for (unsigned i = 0; i < 6; ++i) set_byte(f[0], i, dst[i]);
  for (unsigned i = 0; i < 5; ++i) set_byte(f[0], 6 + i, kPrefix[i]);
  set_byte(f[0], 11, 7);
  set_byte(f[0], 12, static_cast<uint8_t>(ethertype >> 8));
  set_byte(f[0], 13, static_cast<uint8_t>(ethertype));
  set_byte(f[0], 14, 1);
  for (unsigned i = 1; i <= payload_beats; ++i) f[i].data[0] = 0x1234 + i;
  f.back().last = true;
  return f;
}

void setup_card(VerilatedKernelBus& k, uint8_t card, uint32_t members) {
  k.write32(kr::CARD, card);
  k.write32(kPeers, members);
  k.write32(kControl, 0x100u | (1u << 9));  // backplane on, transfer mode
}

// Steps both kernels, carrying every frame each sends to the other's RX port; returns
// the frames seen on the wire.
std::vector<NetFrame> run_pair(VerilatedKernelBus& a, VerilatedKernelBus& b, uint64_t cycles) {
  std::vector<NetFrame> wire;
  for (uint64_t i = 0; i < cycles; i += 16) {
    a.step(16);
    b.step(16);
    for (auto& f : a.take_net_tx()) {
      b.net_rx(f);
      wire.push_back(f);
    }
    for (auto& f : b.take_net_tx()) {
      a.net_rx(f);
      wire.push_back(f);
    }
  }
  return wire;
}

TEST(KernelNet, TwoKernelsTransferASessionOverEthernetFraming) {
  VerilatedKernelBus a, b;
  setup_card(a, 1, 0b110);
  setup_card(b, 2, 0b110);
  RingTestHost ha(a), hb(b);
  ha.init(6, 6);
  hb.init(6, 6);
  // HELLOs make each card learn the other's epoch.
  auto wire = run_pair(a, b, 60000);
  ASSERT_FALSE(wire.empty()) << "no HELLO on the wire";
  for (const NetFrame& f : wire) {
    ASSERT_GE(f.size(), 2u);
    EXPECT_EQ(byte_of(f[0], 12), 0x88);  // EtherType 0x88B5
    EXPECT_EQ(byte_of(f[0], 13), 0xB5);
    EXPECT_EQ(byte_of(f[0], 14), 1);  // encapsulation version
    for (unsigned i = 0; i < 5; ++i) EXPECT_EQ(byte_of(f[0], 6 + i), kPrefix[i]);  // src MAC prefix
    for (const NetBeat& nb : f) EXPECT_EQ(nb.keep, ~0ull);
    // The src MAC's last byte is the backplane frame's src card.
    EXPECT_EQ(byte_of(f[0], 11), byte_of(f[1], 2));
  }

  const std::vector<uint8_t> blob(180, 0x5a);
  ASSERT_TRUE(ha.post(ring_put(1, 0x33, blob)));
  TableCommand xfer = ring_get(2, 0x33);
  xfer.op = static_cast<uint8_t>(wire::Opcode::TRANSFER);
  xfer.aux = 2 | (uint64_t{static_cast<uint8_t>(wire::BpConst::BROADCAST)} << 8);  // sync_cmd: dest card 2, owner = this card
  ASSERT_TRUE(ha.post(xfer));
  ha.doorbell();
  std::vector<RingResponse> got;
  for (int i = 0; i < 200 && got.size() < 2; ++i) {
    run_pair(a, b, 256);
    for (auto& r : ha.poll()) got.push_back(std::move(r));
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].status(), static_cast<uint8_t>(wire::Status::OK));
  EXPECT_EQ(got[1].tag(), 2u);
  EXPECT_EQ(got[1].status(), static_cast<uint8_t>(wire::Status::OK)) << "TRANSFER not acknowledged";

  ASSERT_TRUE(hb.post(ring_get(3, 0x33)));
  hb.doorbell();
  got.clear();
  for (int i = 0; i < 100 && got.empty(); ++i) {
    run_pair(a, b, 64);
    for (auto& r : hb.poll()) got.push_back(std::move(r));
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status(), static_cast<uint8_t>(wire::Status::OK));
  EXPECT_EQ(got[0].blob(), blob);
  EXPECT_GT(a.read32(kr::NET_TX_FRAMES), 0u);
  EXPECT_EQ(b.read32(kr::NET_RX_FRAMES), a.read32(kr::NET_TX_FRAMES));
  EXPECT_EQ(b.read32(kr::NET_RX_DROP_BAD) + b.read32(kr::NET_RX_DROP_FULL), 0u);
}

// A ring reset while the card holds a TRANSFER waiting for a peer that went silent: the
// engine waits for the card's (late, FAILED) answer and drops it, so it never lands in
// the re-initialised ring, where the next command is answered normally.
TEST(KernelNet, RingResetWaitsForTheAnswersTheCardOwes) {
  VerilatedKernelBus a, b;
  setup_card(a, 1, 0b110);
  setup_card(b, 2, 0b110);
  RingTestHost ha(a);
  ha.init(6, 6);
  run_pair(a, b, 60000);  // epochs learnt
  ASSERT_TRUE(ha.post(ring_put(1, 0x44, std::vector<uint8_t>(64, 1))));
  TableCommand xfer = ring_get(2, 0x44);
  xfer.op = static_cast<uint8_t>(wire::Opcode::TRANSFER);
  xfer.aux = 2 | (uint64_t{static_cast<uint8_t>(wire::BpConst::BROADCAST)} << 8);
  ASSERT_TRUE(ha.post(xfer));
  ha.doorbell();
  a.step(300);  // b hears nothing from now on: the TRANSFER is retransmitted, then fails
  ASSERT_EQ(ha.poll().size(), 1u);  // the PUT's answer; the TRANSFER's is owed
  a.write32(kr::RING_CTRL, kr::CTRL_RESET);
  a.step(200);
  EXPECT_TRUE(a.read32(kr::RING_STATUS) & kr::STATUS_RESETTING) << "the reset did not wait for the card";
  int waited = 0;
  while (!(a.read32(kr::RING_STATUS) & kr::STATUS_IDLE) && waited++ < 2000) a.step(256);
  ASSERT_LT(waited, 2000);
  EXPECT_GT(a.read32(0x70), 0u);  // bp_transfers_failed: the card did answer, late
  ha.init(6, 6);
  ASSERT_TRUE(ha.post(ring_get(3, 0x44)));
  ha.doorbell();
  a.step(3000);
  auto got = ha.poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].tag(), 3u);
  EXPECT_EQ(got[0].status(), static_cast<uint8_t>(wire::Status::OK));  // the entry stayed on card 1
  EXPECT_EQ(ha.status().resets, 1u);
}

TEST(KernelNet, RxDropFifoCountsEveryFrameItDrops) {
  VerilatedKernelBus k;
  const uint8_t mine[6] = {0x02, 0x53, 0x45, 0x53, 0x53, 0x04};
  const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const uint8_t other[6] = {0x02, 0x99, 0x45, 0x53, 0x53, 0x04};
  k.net_rx(eth_frame(mine, 0x0800, 2));   // IPv4: not ours
  k.net_rx(eth_frame(other, 0x88B5, 2));  // another cluster's prefix
  NetFrame bad_keep = eth_frame(mine, 0x88B5, 2);
  bad_keep[2].keep = 0xffff;  // a frame that is not whole beats
  k.net_rx(bad_keep);
  NetFrame too_long = eth_frame(bcast, 0x88B5, 7);  // longer than any backplane frame
  k.net_rx(too_long);
  NetFrame no_payload = eth_frame(mine, 0x88B5, 0);
  no_payload[0].last = true;
  k.net_rx(no_payload);
  k.step(200);
  EXPECT_EQ(k.read32(kr::NET_RX_DROP_BAD), 5u);
  EXPECT_EQ(k.read32(kr::NET_RX_FRAMES), 0u);

  // Back-to-back short frames: the card's frame checks take longer per frame than the
  // link delivers them, so the FIFO fills; every frame is either passed on or counted.
  const unsigned n = 300;
  for (unsigned i = 0; i < n; ++i) k.net_rx(eth_frame(i % 2 ? mine : bcast, 0x88B5, 1));
  k.step(3000);
  const uint32_t passed = k.read32(kr::NET_RX_FRAMES), full = k.read32(kr::NET_RX_DROP_FULL);
  EXPECT_EQ(passed + full, n);
  EXPECT_GT(full, 0u) << "the flood never filled the drop FIFO";
  EXPECT_GT(passed, 0u);
  EXPECT_EQ(k.read32(0x40), passed);  // the card's bp_rx_frames saw exactly those
  EXPECT_EQ(k.read32(kr::NET_RX_DROP_BAD), 5u);
}

}  // namespace
}  // namespace sessnic::rtlsim
