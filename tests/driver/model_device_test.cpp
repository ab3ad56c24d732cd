// The model device: the HLS kernel in-process behind the Device API.
#include <gtest/gtest.h>

#include <atomic>

#include "sessnic/codec.hpp"
#include "sessnic/open_device.hpp"

namespace sessnic {
namespace {

struct Clock {
  std::shared_ptr<std::atomic<uint32_t>> now = std::make_shared<std::atomic<uint32_t>>(1'000'000);
  std::function<uint32_t()> fn() const {
    return [n = now] { return n->load(); };
  }
};

std::unique_ptr<Device> small_device(uint8_t card, const Clock& clock, TableGeometry g = TableGeometry::small) {
  DeviceConfig cfg;
  cfg.card_id = card;
  cfg.geometry = g;
  cfg.clock = clock.fn();
  return make_model_device(cfg);
}

SessionKey key_n(unsigned n, uint8_t ctx = 1) {
  // Random-looking ids, like the server-generated ones the table is built for.
  std::array<uint8_t, 32> id{};
  uint64_t x = n * 0x9E3779B97F4A7C15ull + 1;
  for (unsigned i = 0; i < 32; ++i) {
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    id[i] = static_cast<uint8_t>(x >> 24);
  }
  return SessionKey::make(id, ctx);
}

std::vector<uint8_t> blob(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed ^ (i * 13));
  return v;
}

TEST(ModelDevice, PutGetRoundTrip) {
  Clock clock;
  auto dev = small_device(7, clock);
  EXPECT_EQ(dev->kind(), "model");
  EXPECT_EQ(dev->card_id(), 7);
  const auto k = key_n(1);
  const auto b = blob(200, 3);
  const Response p = dev->put(k, b, *clock.now + 100);
  ASSERT_EQ(p.status, wire::Status::OK);
  EXPECT_EQ(p.version & 0xff, 7u);  // version = lamport << 8 | card
  const Response g = dev->get(k);
  ASSERT_EQ(g.status, wire::Status::OK);
  EXPECT_EQ(g.blob, b);
  EXPECT_EQ(g.key, k);
  EXPECT_EQ(g.expiry, *clock.now + 100);
  EXPECT_EQ(g.version, p.version);
  EXPECT_EQ(g.card, 7);
  // Same id in another ctx is another key.
  EXPECT_EQ(dev->get(key_n(1, 2)).status, wire::Status::MISS);
}

TEST(ModelDevice, TakeConsumesAndLeavesTombstone) {
  Clock clock;
  auto dev = small_device(1, clock);
  const auto k = key_n(2);
  ASSERT_TRUE(dev->put(k, blob(10, 1), *clock.now + 50).ok());
  EXPECT_EQ(dev->take(k).status, wire::Status::OK);
  EXPECT_EQ(dev->take(k).status, wire::Status::MISS);
  EXPECT_EQ(dev->get(k).status, wire::Status::MISS);
  EXPECT_EQ(dev->stats()[wire::STATS_TOMBSTONES], 1u);
}

TEST(ModelDevice, SingleUseEntryIsConsumedByGet) {
  Clock clock;
  auto dev = small_device(1, clock);
  const auto k = key_n(3);
  ASSERT_TRUE(dev->put(k, blob(10, 1), *clock.now + 50, static_cast<uint8_t>(wire::Flags::SINGLE_USE)).ok());
  EXPECT_EQ(dev->get(k).status, wire::Status::OK);
  EXPECT_EQ(dev->get(k).status, wire::Status::MISS);
}

TEST(ModelDevice, ClockDrivesExpiry) {
  Clock clock;
  auto dev = small_device(1, clock);
  const auto k = key_n(4);
  ASSERT_TRUE(dev->put(k, blob(10, 1), *clock.now + 10).ok());
  *clock.now += 9;
  EXPECT_EQ(dev->get(k).status, wire::Status::OK);
  *clock.now += 1;
  EXPECT_EQ(dev->get(k).status, wire::Status::EXPIRED);
  EXPECT_EQ(dev->stats()[wire::STATS_NOW], *clock.now);
  // A PUT that is already expired is refused.
  EXPECT_EQ(dev->put(k, blob(10, 1), *clock.now).status, wire::Status::EXPIRED);
}

TEST(ModelDevice, IdleSweepFreesExpiredEntries) {
  Clock clock;
  auto dev = small_device(1, clock, TableGeometry::tiny);  // 4 sets: a few batches sweep all
  for (unsigned i = 0; i < 4; ++i) (void)dev->put(key_n(100 + i), blob(8, 1), *clock.now + 5);
  const uint64_t live = dev->stats()[wire::STATS_LIVE];
  EXPECT_GT(live, 0u);
  *clock.now += 6;
  for (int i = 0; i < 3; ++i) (void)dev->stats();
  const TableStats s = dev->stats();
  EXPECT_EQ(s[wire::STATS_LIVE], 0u);
  EXPECT_EQ(s[wire::STATS_SWEPT], live);
}

TEST(ModelDevice, ExportThenVersionedPutCopiesToAnotherCard) {
  // What the backplane's transfer does: EXPORT on the owner, PUT with its version on
  // the destination.
  Clock clock;
  auto d = small_device(1, clock);
  auto e = small_device(2, clock);
  const auto k = key_n(5);
  ASSERT_TRUE(d->put(k, blob(150, 9), *clock.now + 60).ok());
  const Response x = d->export_entry(k);
  ASSERT_EQ(x.status, wire::Status::OK);
  const Response p = e->put(k, x.blob, x.expiry, x.flags, x.version);
  ASSERT_EQ(p.status, wire::Status::OK);
  EXPECT_EQ(p.version, x.version);
  EXPECT_EQ(d->get(k).status, wire::Status::OK);  // EXPORT never consumes
  const Response g = e->get(k);
  ASSERT_EQ(g.status, wire::Status::OK);
  EXPECT_EQ(g.blob, x.blob);
  EXPECT_EQ(g.version, x.version);
  EXPECT_EQ(g.expiry, x.expiry);
  // Redelivery is a no-op; an older version is STALE.
  EXPECT_EQ(e->put(k, x.blob, x.expiry, x.flags, x.version).status, wire::Status::OK);
  const uint64_t older = x.version - (1u << wire::CARD_BITS);
  EXPECT_EQ(e->put(k, x.blob, x.expiry, x.flags, older).status, wire::Status::STALE);
}

TEST(ModelDevice, TooLargeAndMalformedAreStatuses) {
  Clock clock;
  auto dev = small_device(1, clock);
  EXPECT_EQ(dev->put(key_n(6), blob(257, 1), *clock.now + 10).status, wire::Status::TOO_LARGE);
  EXPECT_EQ(dev->put(key_n(6), blob(70000, 1), *clock.now + 10).status, wire::Status::TOO_LARGE);
  EXPECT_EQ(dev->get(key_n(6)).status, wire::Status::MISS);
  Command bad;
  bad.op = wire::Opcode::GET;  // no key
  std::vector<Response> out;
  dev->execute(std::span<const Command>(&bad, 1), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, wire::Status::BAD_CMD);
  Command junk;
  junk.op = static_cast<wire::Opcode>(0x77);
  junk.key = key_n(7);
  out.clear();
  dev->execute(std::span<const Command>(&junk, 1), out);
  EXPECT_EQ(out.at(0).status, wire::Status::BAD_CMD);
  const TableStats s = dev->stats();
  EXPECT_EQ(s[wire::STATS_TOO_LARGE], 1u);  // the 70000-byte blob never reached the card
  EXPECT_EQ(s[wire::STATS_BAD_CMD], 2u);
}

TEST(ModelDevice, BatchAnswersInOrderWithTags) {
  Clock clock;
  auto dev = small_device(3, clock);
  std::vector<Command> cmds;
  for (unsigned i = 0; i < 20; ++i) {
    Command c;
    c.op = i < 10 ? wire::Opcode::PUT : wire::Opcode::GET;
    c.tag = 1000 + i;
    c.key = key_n(i % 10);
    c.expiry = *clock.now + 30;
    if (i < 10) c.blob = blob(i * 20 + 1, static_cast<uint8_t>(i));
    cmds.push_back(std::move(c));
  }
  std::vector<Response> out;
  dev->execute(cmds, out);
  ASSERT_EQ(out.size(), cmds.size());
  for (unsigned i = 0; i < 20; ++i) {
    EXPECT_EQ(out[i].tag, 1000 + i);
    EXPECT_TRUE(out[i].ok()) << i;
    if (i >= 10) {
      EXPECT_EQ(out[i].blob, cmds[i - 10].blob);
    }
  }
}

TEST(ModelDevice, DelAndFlush) {
  Clock clock;
  auto dev = small_device(1, clock);
  ASSERT_TRUE(dev->put(key_n(8), blob(5, 1), *clock.now + 30).ok());
  ASSERT_TRUE(dev->put(key_n(9), blob(5, 1), *clock.now + 30).ok());
  EXPECT_EQ(dev->del(key_n(8)).status, wire::Status::OK);
  EXPECT_EQ(dev->get(key_n(8)).status, wire::Status::MISS);
  EXPECT_EQ(dev->flush().status, wire::Status::OK);
  EXPECT_EQ(dev->get(key_n(9)).status, wire::Status::MISS);
}

TEST(ModelDevice, TransferWithoutBackplaneFails) {
  Clock clock;
  auto dev = small_device(1, clock);
  // Even a session that is here cannot move: card 2 is no member (no backplane registers).
  ASSERT_TRUE(dev->put(key_n(1), blob(40, 1), *clock.now + 100).ok());
  const Response r = dev->transfer(key_n(1), 2, static_cast<uint8_t>(wire::BpConst::BROADCAST),
                                   std::chrono::microseconds(100));
  EXPECT_EQ(r.status, wire::Status::FAILED);
  EXPECT_EQ(r.op, wire::Opcode::TRANSFER);
}

TEST(ModelDevice, EvictsEarliestExpiryWhenFull) {
  Clock clock;
  auto dev = small_device(1, clock, TableGeometry::tiny);  // 4 sets x 2 ways
  unsigned evicted = 0;
  for (unsigned i = 0; i < 64; ++i)
    if (dev->put(key_n(200 + i), blob(8, 1), *clock.now + 100 + i).status == wire::Status::EVICTED) ++evicted;
  EXPECT_GT(evicted, 0u);
  EXPECT_EQ(dev->stats()[wire::STATS_LIVE], 8u);
  EXPECT_EQ(dev->get(key_n(263)).status, wire::Status::OK);  // the latest survives
}

TEST(ModelDevice, FullGeometryOpensLazily) {
  DeviceConfig cfg;  // ModelTable, wall clock
  cfg.card_id = 9;
  auto dev = make_model_device(cfg);
  const auto k = key_n(10);
  ASSERT_TRUE(dev->put(k, blob(256, 1), wall_clock_seconds() + 60).ok());
  EXPECT_EQ(dev->get(k).blob, blob(256, 1));
  EXPECT_NEAR(static_cast<double>(dev->stats()[wire::STATS_NOW]), wall_clock_seconds(), 2.0);
}

}  // namespace
}  // namespace sessnic
