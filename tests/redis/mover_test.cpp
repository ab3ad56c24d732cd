// The dispatcher's Redis mover in-process, with a real redis-server and a real backplane
// node (UDP on loopback, model card) as the target server: a session that only Redis has
// - its owner card is not even running (the servers' TCP ports are never opened here) - lands on the target card, which is what the
// Redis path alone can do; without it in Redis the mover falls back to the owner card.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <ctime>
#include <future>

#include "make_mover.hpp"
#include "redis_processes.hpp"
#include "sessnic/attach.hpp"
#include "sessnic/key_file.hpp"
#include "sessnic/redis/store.hpp"
#include "transfer_cluster.hpp"

namespace sessnic::redis {
namespace {

using namespace std::chrono_literals;

TEST(RedisMover, MovesASessionOnlyRedisHasIntoTheTargetCard) {
  testing::TempDirectory dir;
  testing::RedisProcess redis(dir.path() / "redis", 0);
  const auto cfg = testing::two_server_transfer_cluster(
      dir.path(), fmt::format("[redis]\naddresses = [\"{}\"]\n", redis.address().str()));

  // cars' card on the backplane; flights (card 1, the owner by the id's first byte) is down.
  auto cars = testing::open_server_card(cfg, 2);

  auto mover = dispatch::make_mover(cfg, 1000ms);
  ASSERT_TRUE(mover);

  const uint8_t ctx = session_id_context(testing::kTransferClusterContext)[0];
  std::array<uint8_t, 32> id{};
  id[0] = 1;
  id[5] = 0x77;
  const SessionKey key = SessionKey::make(id, ctx);
  RedisOptions o;
  o.addresses = {redis.address()};
  RedisStore store(o);
  Sealer sealer(load_key_file(cfg.key_file));
  const uint32_t expiry = static_cast<uint32_t>(std::time(nullptr)) + 120;
  Record rec;
  rec.version = 0x500'01;
  rec.expiry = expiry;
  rec.blob = sealer.seal(std::vector<uint8_t>(120, 0x30), {key.bytes(), ctx}, expiry);
  ASSERT_EQ(store.put(key, rec), StoreStatus::ok);

  auto move = [&](const SessionKey& k) {
    std::promise<dispatch::MoveResult> p;
    mover->move(k.bytes(), 1, 2, 500ms, [&p](dispatch::MoveResult r) { p.set_value(r); });
    auto f = p.get_future();
    EXPECT_EQ(f.wait_for(3s), std::future_status::ready);
    return f.get();
  };
  EXPECT_EQ(move(key), dispatch::MoveResult::moved);
  auto got = cars->device().get(key);
  EXPECT_EQ(got.status, wire::Status::OK);
  EXPECT_EQ(got.version, rec.version);
  EXPECT_EQ(got.blob, rec.blob);

  // Not in Redis: the owner card (down here) is asked instead, which cannot answer.
  id[5] = 0x78;
  EXPECT_NE(move(SessionKey::make(id, ctx)), dispatch::MoveResult::moved);
  mover->release();
  cars.reset();
}

}  // namespace
}  // namespace sessnic::redis
