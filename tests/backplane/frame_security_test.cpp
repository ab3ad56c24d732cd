// Hostile input on the backplane: forged, replayed, truncated, oversized and
// unknown-version frames are dropped and counted; the table is never touched.
#include <gtest/gtest.h>

#include <cstring>
#include <mutex>

#include "sessnic/backplane/frame_auth.hpp"
#include "sim_cluster.hpp"

namespace sessnic::backplane::test {
namespace {

using namespace std::chrono_literals;

class backplane_security : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster = std::make_unique<SimCluster>(std::vector<uint8_t>{1, 2}, Mode::replicate, SimLinkOptions{});
    cluster->net().set_tap([this](uint8_t src, const Datagram& d) {
      std::lock_guard lock(mu);
      if (src == 1 && d.dst == 2) captured.push_back(d.bytes);
    });
    ASSERT_TRUE(cluster->wait_connected());
  }

  // The first captured card1->card2 datagram of frame type `t`.
  std::vector<uint8_t> captured_frame(wire::FrameType t) {
    std::lock_guard lock(mu);
    for (const auto& d : captured) {
      Beat h;
      std::memcpy(h.data, d.data(), 64);
      if (wire::get_field(h.data, wire::frame::ftype) == static_cast<unsigned>(t)) return d;
    }
    return {};
  }

  uint64_t table_puts(uint8_t card) { return (*cluster)[card].dev->stats()[wire::STATS_PUTS]; }

  std::unique_ptr<SimCluster> cluster;
  std::mutex mu;
  std::vector<std::vector<uint8_t>> captured;
  std::mt19937_64 rng{17};
};

TEST_F(backplane_security, ForgedTruncatedOversizedAndUnknownVersionAreDroppedAndCounted) {
  SimCluster& c = *cluster;
  const SessionKey k = random_key(rng);
  ASSERT_TRUE(c[1].dev->put(k, random_blob(rng, 150), future_expiry()).ok());
  ASSERT_TRUE(eventually([&] { return c[2].dev->export_entry(k).status == wire::Status::OK; }, 5s));
  const std::vector<uint8_t> update = captured_frame(wire::FrameType::UPDATE);
  ASSERT_FALSE(update.empty());
  const uint64_t puts_before = table_puts(2);
  const NodeStats before = c[2].node->stats();

  // 1. Forged: one payload bit flipped (the blob), and a frame MACed with another key.
  auto flipped = update;
  flipped[100] ^= 0x01;
  c.net().inject(2, flipped);
  std::array<uint8_t, 32> wrong = test_cluster_key();
  wrong[0] ^= 0xff;
  FrameAuth attacker(wrong);
  std::vector<Beat> beats;
  FrameAuth right(test_cluster_key());
  ASSERT_EQ(right.decode(update, 1472, beats), DecodeError::none);
  std::vector<uint8_t> forged;
  attacker.encode(beats, forged);
  c.net().inject(2, forged);
  // 2. Truncated: header only, and cut inside the payload.
  c.net().inject(2, std::vector<uint8_t>(update.begin(), update.begin() + 40));
  c.net().inject(2, std::vector<uint8_t>(update.begin(), update.end() - 30));
  // 3. Oversized (beyond the MTU).
  c.net().inject(2, std::vector<uint8_t>(2000, 0x55));
  // 4. Authentic (right key) but an unknown frame format version, new session inside.
  auto v2 = beats;
  wire::set_field(v2[0].data, wire::frame::fver, 2);
  for (unsigned w = 1; w < 5; ++w) v2[1].data[w] ^= 0x1111;  // another key, so it would be a new entry
  std::vector<uint8_t> v2_bytes;
  right.encode(v2, v2_bytes);
  c.net().inject(2, v2_bytes);
  // 5. Authentic, right version, wrong CRC (a buggy or hostile card).
  auto badcrc = beats;
  wire::set_field(badcrc[0].data, wire::frame::crc, wire::get_field(badcrc[0].data, wire::frame::crc) ^ 1);
  std::vector<uint8_t> badcrc_bytes;
  right.encode(badcrc, badcrc_bytes);
  c.net().inject(2, badcrc_bytes);

  ASSERT_TRUE(eventually(
      [&] {
        const NodeStats s = c[2].node->stats();
        return s.rx_bad_mac >= before.rx_bad_mac + 3 && s.rx_truncated >= before.rx_truncated + 1 &&
               s.rx_too_long >= before.rx_too_long + 1 &&
               s[wire::BP_STATS_RX_BAD_VERSION] >= before[wire::BP_STATS_RX_BAD_VERSION] + 1 &&
               s[wire::BP_STATS_RX_BAD_CRC] >= before[wire::BP_STATS_RX_BAD_CRC] + 1;
      },
      3s));
  const NodeStats s = c[2].node->stats();
  EXPECT_EQ(s.rx_bad_mac - before.rx_bad_mac, 3u) << "flipped bit, wrong key, cut payload (tag no longer matches)";
  EXPECT_EQ(s.rx_truncated - before.rx_truncated, 1u);
  EXPECT_EQ(s.rx_too_long - before.rx_too_long, 1u);
  EXPECT_EQ(table_puts(2), puts_before) << "table untouched";
}

TEST_F(backplane_security, ReplayedFramesAreDroppedAndCannotResurrect) {
  SimCluster& c = *cluster;
  const SessionKey k = random_key(rng);
  ASSERT_TRUE(c[1].dev->put(k, random_blob(rng, 150), future_expiry()).ok());
  ASSERT_TRUE(eventually([&] { return c[2].dev->export_entry(k).status == wire::Status::OK; }, 5s));
  const std::vector<uint8_t> update = captured_frame(wire::FrameType::UPDATE);
  ASSERT_FALSE(update.empty());
  ASSERT_EQ(c[1].dev->del(k, future_expiry()).status, wire::Status::OK);
  ASSERT_TRUE(eventually([&] { return c[2].dev->export_entry(k).status == wire::Status::MISS; }, 5s));

  const uint64_t puts_before = table_puts(2);
  const uint64_t dup_before = c[2].node->stats()[wire::BP_STATS_RX_DUP];
  for (int i = 0; i < 5; ++i) c.net().inject(2, update);
  ASSERT_TRUE(eventually([&] { return c[2].node->stats()[wire::BP_STATS_RX_DUP] >= dup_before + 5; }, 3s));
  EXPECT_EQ(table_puts(2), puts_before) << "a replay is not applied";
  EXPECT_EQ(c[2].dev->export_entry(k).status, wire::Status::MISS) << "the deleted session stays deleted";

  // After card 1 restarts (new epoch), frames of its old life are stale.
  cluster->restart(1);
  ASSERT_TRUE(c.wait_connected());
  ASSERT_TRUE(eventually([&] { return c[2].node->stats()[wire::BP_STATS_PEER_JOINS] >= 2; }, 3s));
  const uint64_t stale_before = c[2].node->stats()[wire::BP_STATS_RX_STALE_EPOCH];
  c.net().inject(2, update);
  ASSERT_TRUE(
      eventually([&] { return c[2].node->stats()[wire::BP_STATS_RX_STALE_EPOCH] >= stale_before + 1; }, 3s));
  EXPECT_EQ(table_puts(2), puts_before);
  EXPECT_EQ(c[2].dev->export_entry(k).status, wire::Status::MISS);
}

TEST(backplane_frame_auth, RoundTripAndEveryByteIsCovered) {
  FrameAuth a(test_cluster_key());
  std::vector<Beat> f(3);
  for (auto& b : f) clear_beat(b);
  wire::set_field(f[0].data, wire::frame::payload_len, 64 + 50);
  for (unsigned w = 0; w < 8; ++w) f[1].data[w] = 0x0102030405060708ull * (w + 1);
  f[2].data[0] = 0xdeadbeef;
  f[2].data[6] = 0;  // padding beyond payload_len stays zero
  std::vector<uint8_t> bytes;
  a.encode(f, bytes);
  EXPECT_EQ(bytes.size(), 64u + 114u + FrameAuth::kTagBytes) << "padding is not sent";
  std::vector<Beat> back;
  ASSERT_EQ(a.decode(bytes, 1472, back), DecodeError::none);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[1].data[3], f[1].data[3]);
  EXPECT_EQ(back[2].data[0], 0xdeadbeefu);
  EXPECT_TRUE(back[2].last);
  for (std::size_t i = 0; i < bytes.size(); i += 7) {
    auto bad = bytes;
    bad[i] ^= 0x80;
    std::vector<Beat> out;
    EXPECT_NE(a.decode(bad, 1472, out), DecodeError::none) << "byte " << i;
    EXPECT_TRUE(out.empty());
  }
}

}  // namespace
}  // namespace sessnic::backplane::test
