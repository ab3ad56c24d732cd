// RedisStore against a real 3-master Redis Cluster made with `redis-cli --cluster create`:
// keys spread over every master, single-use takes, MOVED and ASK during a real slot
// migration, and a master killed mid-run (its keys fail fast, the others keep working,
// everything recovers when it is back).
#include <gtest/gtest.h>

#include <ctime>
#include <map>
#include <set>
#include <thread>

#include "redis_processes.hpp"
#include "sessnic/redis/store.hpp"
#include "sessnic/seal.hpp"

namespace sessnic::redis {
namespace {

using namespace std::chrono_literals;
using testing::RedisClusterProcesses;
using testing::TempDirectory;

uint32_t now_s() { return static_cast<uint32_t>(std::time(nullptr)); }

SessionKey key_of(uint32_t n) {
  std::array<uint8_t, 32> id{};
  id[0] = 2;
  id[1] = static_cast<uint8_t>(n);
  id[2] = static_cast<uint8_t>(n >> 8);
  id[3] = static_cast<uint8_t>(n >> 16);
  return SessionKey::make(id, 0x11);
}

Record sealed_record(const SessionKey& key, uint64_t version, uint8_t flags = 0) {
  static Sealer sealer(Keyring(ClusterKey(9, std::array<uint8_t, 32>{4, 5, 6})));
  const uint32_t expiry = now_s() + 120;
  Record r;
  r.version = version;
  r.flags = flags;
  r.expiry = expiry;
  r.blob = sealer.seal(std::vector<uint8_t>(150, 0x30), {key.bytes(), key.ctx}, expiry);
  return r;
}

std::string node_id(const RedisAddress& a) {
  Connection c(a, RedisOptions{});
  return c.run(RespCommand{"CLUSTER", "MYID"}).str;
}

// Which configured master serves `key` right now (asked of the cluster, not the store).
size_t owner_index(RedisClusterProcesses& rc, const RedisStore& store, const SessionKey& key) {
  const auto slot = key_slot(store.key_name(key));
  Connection c(rc.node(0).address(), RedisOptions{});
  auto slots = c.run(RespCommand{"CLUSTER", "SLOTS"});
  SlotMap m;
  EXPECT_TRUE(m.load(slots));
  auto owner = m.owner(slot);
  for (size_t i = 0; i < rc.size(); ++i)
    if (owner && rc.node(i).address() == *owner) return i;
  ADD_FAILURE() << "no owner for slot " << slot;
  return 0;
}

class RedisStoreCluster : public ::testing::Test {
 protected:
  TempDirectory dir;
  RedisClusterProcesses rc{dir.path(), 3};
  RedisOptions options() {
    RedisOptions o;
    o.addresses = {rc.node(0).address()};  // one seed is enough: the rest comes from CLUSTER SLOTS
    o.cluster = true;
    o.backoff_max = 300ms;
    return o;
  }
};

TEST_F(RedisStoreCluster, KeysSpreadOverEveryMasterAndEachTicketIsTakenOnce) {
  RedisStore store(options());
  store.check_reachable();
  std::set<size_t> owners;
  for (uint32_t i = 0; i < 60; ++i) {
    const auto k = key_of(i);
    ASSERT_EQ(store.put(k, sealed_record(k, 0x100'01, 1)), StoreStatus::ok) << i;
    owners.insert(owner_index(rc, store, k));
  }
  EXPECT_EQ(owners.size(), 3u);
  // Two stores (two servers) race to take every ticket: each is taken exactly once.
  RedisStore other(options());
  std::atomic<int> a{0}, b{0};
  std::thread t1([&] {
    for (uint32_t i = 0; i < 60; ++i) a += store.take(key_of(i)).status == StoreStatus::ok;
  });
  std::thread t2([&] {
    for (uint32_t i = 0; i < 60; ++i) b += other.take(key_of(i)).status == StoreStatus::ok;
  });
  t1.join();
  t2.join();
  EXPECT_EQ(a + b, 60);
  EXPECT_EQ(store.counters().moved + other.counters().moved, 0u);  // the slot map was right
}

TEST_F(RedisStoreCluster, FollowsAskDuringASlotMigrationAndMovedAfterIt) {
  RedisStore store(options());
  store.check_reachable();
  const auto k = key_of(1000);
  ASSERT_EQ(store.put(k, sealed_record(k, 0x100'01)), StoreStatus::ok);
  const std::string name = store.key_name(k);
  const uint16_t slot = key_slot(name);
  const size_t from = owner_index(rc, store, k);
  const size_t to = (from + 1) % 3;
  const auto src = rc.node(from).address(), dst = rc.node(to).address();
  const std::string src_id = node_id(src), dst_id = node_id(dst);
  Connection s(src, RedisOptions{}), d(dst, RedisOptions{});
  ASSERT_EQ(d.run(RespCommand{"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", src_id}).str, "OK");
  ASSERT_EQ(s.run(RespCommand{"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", dst_id}).str, "OK");
  ASSERT_EQ(s.run(RespCommand{"MIGRATE", dst.host, std::to_string(dst.port), "", "0", "5000", "KEYS", name}).str, "OK");

  // Mid-migration: the source no longer has the key and answers ASK.
  auto got = store.get(k);
  EXPECT_EQ(got.status, StoreStatus::ok);
  EXPECT_GE(store.counters().ask, 1u);
  EXPECT_EQ(store.counters().moved, 0u);

  for (size_t i = 0; i < rc.size(); ++i) {
    Connection c(rc.node(i).address(), RedisOptions{});
    ASSERT_EQ(c.run(RespCommand{"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", dst_id}).str, "OK");
  }
  // Migration done: the store's map still says `from`, which answers MOVED.
  EXPECT_EQ(store.get(k).status, StoreStatus::ok);
  EXPECT_GE(store.counters().moved, 1u);
  // A single-use take follows the redirection too, and only once.
  EXPECT_EQ(store.take(k).status, StoreStatus::ok);
  EXPECT_EQ(store.take(k).status, StoreStatus::deleted);
}

TEST_F(RedisStoreCluster, AMasterKilledMidRunFailsOnlyItsKeysFastAndRecovers) {
  RedisStore store(options());
  store.check_reachable();
  std::map<size_t, std::vector<SessionKey>> by_owner;
  for (uint32_t i = 0; i < 60; ++i) {
    const auto k = key_of(5000 + i);
    ASSERT_EQ(store.put(k, sealed_record(k, 0x100'01)), StoreStatus::ok);
    by_owner[owner_index(rc, store, k)].push_back(k);
  }
  ASSERT_EQ(by_owner.size(), 3u);
  rc.node(2).kill();
  const auto t0 = std::chrono::steady_clock::now();
  int dead = 0, alive = 0;
  for (int round = 0; round < 5; ++round)
    for (auto& [owner, keys] : by_owner)
      for (const auto& k : keys) {
        auto r = store.get(k);
        if (owner == 2) dead += r.status == StoreStatus::unavailable;
        else alive += r.status == StoreStatus::ok;
      }
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(dead, static_cast<int>(5 * by_owner[2].size()));
  EXPECT_EQ(alive, static_cast<int>(5 * (by_owner[0].size() + by_owner[1].size())));
  EXPECT_LT(took, 3s) << "a dead master must cost a fast failure, not a timeout per lookup";

  rc.node(2).start();  // same nodes.conf: it rejoins with its slots (empty: no persistence)
  ASSERT_TRUE(rc.wait_ok(15s));
  bool back = false;
  const auto k = by_owner[2].front();
  for (int i = 0; i < 200 && !back; ++i) {
    back = store.put(k, sealed_record(k, 0x200'01)) == StoreStatus::ok;
    if (!back) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(back);
  EXPECT_EQ(store.get(k).status, StoreStatus::ok);
}

}  // namespace
}  // namespace sessnic::redis
