// Many threads on one model device: every answer belongs to its own command.
#include <gtest/gtest.h>

#include <thread>

#include "sessnic/open_device.hpp"

namespace sessnic {
namespace {

TEST(ModelDeviceThreads, ConcurrentPutGetTakeStayConsistent) {
  DeviceConfig cfg;
  // Full geometry: with a small table, tombstones and other threads' entries would share
  // sets and a PUT could legitimately evict another thread's live entry.
  cfg.geometry = TableGeometry::full;
  cfg.card_id = 4;
  auto dev = make_model_device(cfg);
  constexpr unsigned kThreads = 4, kPerThread = 300;
  std::vector<std::thread> threads;
  std::atomic<unsigned> failures{0};
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (unsigned i = 0; i < kPerThread; ++i) {
        std::array<uint8_t, 32> id{};
        id[0] = static_cast<uint8_t>(t);
        id[1] = static_cast<uint8_t>(i);
        id[2] = static_cast<uint8_t>(i >> 8);
        id[3] = static_cast<uint8_t>(i * 37);
        const auto key = SessionKey::make(id, 1);
        std::vector<uint8_t> blob(64 + i % 100, static_cast<uint8_t>(t * 31 + i));
        const uint32_t expiry = wall_clock_seconds() + 600;
        if (!dev->put(key, blob, expiry).ok()) ++failures;
        const Response g = dev->get(key);
        if (g.status != wire::Status::OK || g.blob != blob || !(g.key == key)) ++failures;
        if (dev->take(key).status != wire::Status::OK) ++failures;
        if (dev->get(key).status != wire::Status::MISS) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0u);
  const TableStats s = dev->stats();
  EXPECT_EQ(s[wire::STATS_PUTS], kThreads * kPerThread);
  EXPECT_EQ(s[wire::STATS_HITS], 2u * kThreads * kPerThread);
  EXPECT_EQ(s[wire::STATS_LIVE], 0u);
}

}  // namespace
}  // namespace sessnic
