// The `verilator` device against the `model` device through the public Device API:
// the same batches of commands (opened by name, as servers do) must give the same
// responses, field by field, including the sweep between batches.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <random>
#include <vector>

#include "sessnic/open_device.hpp"

namespace sessnic {
namespace {

void expect_same(const Response& m, const Response& v, size_t i) {
  EXPECT_EQ(m.status, v.status) << "#" << i;
  EXPECT_EQ(m.op, v.op) << "#" << i;
  EXPECT_EQ(m.tag, v.tag) << "#" << i;
  EXPECT_EQ(m.key, v.key) << "#" << i;
  EXPECT_EQ(m.version, v.version) << "#" << i;
  EXPECT_EQ(m.expiry, v.expiry) << "#" << i;
  EXPECT_EQ(m.flags, v.flags) << "#" << i;
  EXPECT_EQ(m.card, v.card) << "#" << i;
  EXPECT_EQ(m.blob, v.blob) << "#" << i;
}

void run_against_model(TableGeometry geometry, uint64_t seed, unsigned batches) {
  std::atomic<uint32_t> now{1000};
  DeviceConfig cfg;
  cfg.card_id = 4;
  cfg.geometry = geometry;
  cfg.clock = [&now] { return now.load(); };
  cfg.sweep_steps_per_batch = 3;
  cfg.kind = "model";
  auto model = open_device(cfg);
  cfg.kind = "verilator";
  auto rtl = open_device(cfg);
  ASSERT_EQ(rtl->kind(), "verilator");
  ASSERT_EQ(rtl->card_id(), 4);

  std::printf("seed %llu, %u batches\n", static_cast<unsigned long long>(seed), batches);
  std::mt19937_64 rng(seed);
  std::vector<SessionKey> keys;
  for (int i = 0; i < 24; ++i) {
    std::vector<uint8_t> id(1 + rng() % 32);
    for (auto& b : id) b = static_cast<uint8_t>(rng());
    keys.push_back(SessionKey::make(id, static_cast<uint8_t>(rng() % 2)));
  }
  size_t n = 0;
  for (unsigned b = 0; b < batches; ++b) {
    if (rng() % 3 == 0) now += static_cast<uint32_t>(rng() % 8);
    std::vector<Command> cmds(1 + rng() % 12);
    for (Command& c : cmds) {
      const wire::Opcode ops[] = {wire::Opcode::PUT, wire::Opcode::PUT, wire::Opcode::GET, wire::Opcode::GET,
                                  wire::Opcode::TAKE, wire::Opcode::DEL, wire::Opcode::EXPORT, wire::Opcode::STATS};
      c.op = ops[rng() % 8];
      c.tag = static_cast<uint32_t>(rng());
      c.key = keys[rng() % keys.size()];
      c.expiry = now + static_cast<uint32_t>(rng() % 30);
      c.flags = rng() % 5 == 0 ? static_cast<uint8_t>(wire::Flags::SINGLE_USE) : 0;
      if (c.op == wire::Opcode::PUT) c.blob.resize(rng() % 9 == 0 ? 300 : 1 + rng() % 256);
      for (auto& x : c.blob) x = static_cast<uint8_t>(rng());
    }
    std::vector<Response> want, got;
    model->execute(cmds, want);
    rtl->execute(cmds, got);
    ASSERT_EQ(want.size(), got.size());
    for (size_t i = 0; i < want.size(); ++i, ++n) expect_same(want[i], got[i], n);
    if (::testing::Test::HasFailure()) return;
  }
  const TableStats sm = model->stats(), sv = rtl->stats();
  std::printf("  %zu responses matched; hits %llu, evictions %llu, swept %llu\n", n,
              static_cast<unsigned long long>(sv[wire::STATS_HITS]),
              static_cast<unsigned long long>(sv[wire::STATS_EVICTIONS]),
              static_cast<unsigned long long>(sv[wire::STATS_SWEPT]));
  EXPECT_EQ(sm.counter, sv.counter);
  EXPECT_GT(sm[wire::STATS_HITS], 10u);
  EXPECT_GT(sm[wire::STATS_EVICTIONS] + sm[wire::STATS_SWEPT], 0u);
  // This device is the table alone: TRANSFER is a card opcode, and the table answers it
  // BAD_CMD (docs/card.md).
  EXPECT_EQ(rtl->transfer(keys[0], 2, 255, std::chrono::microseconds(1000)).status, wire::Status::BAD_CMD);
}

TEST(RtlVerilatorDevice, TinyTableMatchesTheModelDevice) { run_against_model(TableGeometry::tiny, 31, 400); }
TEST(RtlVerilatorDevice, CardGeometryStoresServesAndExpires) {
  // `full` on the verilator device is the card's 4096 x 4 table (not the model's).
  std::atomic<uint32_t> now{50};
  DeviceConfig cfg;
  cfg.kind = "verilator";
  cfg.card_id = 2;
  cfg.clock = [&now] { return now.load(); };
  auto rtl = open_device(cfg);
  const std::vector<uint8_t> id(32, 0xab), blob(200, 0x11);
  const SessionKey key = SessionKey::make(id, 0);
  EXPECT_EQ(rtl->put(key, blob, 100).status, wire::Status::OK);
  const Response r = rtl->get(key);
  EXPECT_EQ(r.status, wire::Status::OK);
  EXPECT_EQ(r.blob, blob);
  now = 100;
  EXPECT_EQ(rtl->get(key).status, wire::Status::EXPIRED);
}

}  // namespace
}  // namespace sessnic
