// In-process clusters of model cards on a deliberately bad link: replication converges,
// transfers land or say they failed, a restarted card catches up, the hub serves misses.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "sim_cluster.hpp"

namespace sessnic::backplane::test {
namespace {

using namespace std::chrono_literals;

// Every card holds the same thing for `key`: same status, version, expiry, flags, blob.
bool identical_everywhere(SimCluster& c, const std::vector<uint8_t>& cards, const SessionKey& key,
                          std::string* why = nullptr) {
  const Response ref = c[cards.front()].dev->export_entry(key);
  for (uint8_t card : cards) {
    const Response r = c[card].dev->export_entry(key);
    if (r.status != ref.status || r.version != ref.version || r.blob != ref.blob || r.expiry != ref.expiry) {
      if (why)
        *why = "card " + std::to_string(card) + " status " + wire::to_string(r.status) + " v" +
               std::to_string(r.version) + " vs card " + std::to_string(cards.front()) + " " +
               wire::to_string(ref.status) + " v" + std::to_string(ref.version);
      return false;
    }
  }
  return true;
}

TEST(backplane_sim, ReplicateConvergesUnderLossReorderDuplicationCorruption) {
  const std::vector<uint8_t> cards{1, 2, 3, 4, 5};
  SimCluster c(cards, Mode::replicate, lossy_link(42));
  ASSERT_TRUE(c.wait_connected());

  // Each card's writer: its own sessions, some deleted again, plus sessions every
  // writer overwrites concurrently (last writer by version must win everywhere).
  std::mt19937_64 seed_rng(7);
  std::vector<SessionKey> shared;
  for (int i = 0; i < 20; ++i) shared.push_back(random_key(seed_rng));
  std::vector<std::vector<SessionKey>> own(cards.size()), deleted(cards.size());
  std::vector<std::vector<std::vector<uint8_t>>> own_blob(cards.size());
  std::vector<std::thread> writers;
  for (std::size_t w = 0; w < cards.size(); ++w) {
    writers.emplace_back([&, w] {
      std::mt19937_64 rng(100 + w);
      Device& d = *c[cards[w]].dev;
      for (int i = 0; i < 60; ++i) {
        SessionKey k = random_key(rng);
        auto blob = random_blob(rng, 100 + rng() % 150);
        ASSERT_TRUE(d.put(k, blob, future_expiry()).ok());
        own[w].push_back(k);
        own_blob[w].push_back(blob);
        for (const SessionKey& s : shared)
          if (rng() % 4 == 0) d.put(s, random_blob(rng, 64), future_expiry());
      }
      for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(d.del(own[w][i], future_expiry()).status, wire::Status::OK);
        deleted[w].push_back(own[w][i]);
      }
    });
  }
  for (auto& t : writers) t.join();

  std::string why;
  const bool converged = eventually(
      [&] {
        for (std::size_t w = 0; w < cards.size(); ++w)
          for (const SessionKey& k : own[w])
            if (!identical_everywhere(c, cards, k, &why)) return false;
        for (const SessionKey& k : shared)
          if (!identical_everywhere(c, cards, k, &why)) return false;
        return true;
      },
      20s);
  ASSERT_TRUE(converged) << why;
  // And it is the right thing: live sessions carry the writer's blob, deleted ones are gone.
  for (std::size_t w = 0; w < cards.size(); ++w) {
    for (std::size_t i = 0; i < own[w].size(); ++i) {
      const Response r = c[cards[(w + 1) % cards.size()]].dev->export_entry(own[w][i]);
      if (i < 10) {
        EXPECT_EQ(r.status, wire::Status::MISS);
      } else {
        ASSERT_EQ(r.status, wire::Status::OK);
        EXPECT_EQ(r.blob, own_blob[w][i]);
        EXPECT_EQ(r.version & 0xff, cards[w]) << "version names its writer";
      }
    }
  }
  const SimLinkCounters lc = c.net().counters();
  EXPECT_GT(lc.lost, 0u);
  EXPECT_GT(lc.corrupted, 0u);
  EXPECT_GT(lc.duplicated, 0u);
  uint64_t bad_mac = 0, dup = 0;
  for (uint8_t card : cards) {
    bad_mac += c[card].node->stats().rx_bad_mac;
    dup += c[card].node->stats()[wire::BP_STATS_RX_DUP];
  }
  EXPECT_GT(bad_mac, 0u) << "corrupted datagrams are caught by the MAC";
  EXPECT_GT(dup, 0u);
}

TEST(backplane_sim, TransferLandsOrReportsFailure) {
  const std::vector<uint8_t> cards{1, 2, 3, 4};
  SimCluster c(cards, Mode::transfer, lossy_link(9));
  ASSERT_TRUE(c.wait_connected());
  std::mt19937_64 rng(3);
  int ok = 0;
  for (int i = 0; i < 40; ++i) {
    const SessionKey k = random_key(rng);
    const auto blob = random_blob(rng, 180);
    ASSERT_TRUE(c[1].dev->put(k, blob, future_expiry()).ok());
    const uint8_t dest = static_cast<uint8_t>(2 + i % 3);
    EXPECT_EQ(c[dest].dev->export_entry(k).status, wire::Status::MISS) << "transfer mode replicates nothing";
    const Response r = c[1].dev->transfer(k, dest, kSelf, 500ms);
    if (r.status == wire::Status::OK) {
      ++ok;
      const Response there = c[dest].dev->export_entry(k);
      ASSERT_EQ(there.status, wire::Status::OK) << "OK means it landed";
      EXPECT_EQ(there.blob, blob);
      EXPECT_EQ(there.version, c[1].dev->export_entry(k).version);
    } else {
      EXPECT_EQ(r.status, wire::Status::FAILED);
    }
  }
  EXPECT_GE(ok, 38) << "10% loss is absorbed by retransmission";

  // Nothing to move: MISS, not OK and not a hang.
  EXPECT_EQ(c[1].dev->transfer(random_key(rng), 2, kSelf, 500ms).status, wire::Status::MISS);

  // Destination cut off: FAILED within a bounded time.
  const SessionKey k = random_key(rng);
  ASSERT_TRUE(c[1].dev->put(k, random_blob(rng, 100), future_expiry()).ok());
  c.net().set_partitioned(4, true);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(c[1].dev->transfer(k, 4, kSelf, 50ms).status, wire::Status::FAILED);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  // Not a member at all: FAILED at once.
  EXPECT_EQ(c[1].dev->transfer(k, 77, kSelf, 500ms).status, wire::Status::FAILED);
}

TEST(backplane_sim, RelayedTransferThroughTheOwner) {
  // Card 9 is the dispatcher: a backplane node without a table.
  SimCluster c({1, 2, 3}, Mode::transfer, lossy_link(11), {9});
  ASSERT_TRUE(c.wait_connected());
  std::mt19937_64 rng(5);
  for (int i = 0; i < 20; ++i) {
    const SessionKey k = random_key(rng);
    const auto blob = random_blob(rng, 120);
    ASSERT_TRUE(c[1].dev->put(k, blob, future_expiry()).ok());
    const Response r = c[9].dev->transfer(k, /*dest=*/3, /*owner=*/1, 500ms);
    ASSERT_EQ(r.status, wire::Status::OK) << "i=" << i;
    EXPECT_EQ(r.card, 3);
    const Response there = c[3].dev->export_entry(k);
    ASSERT_EQ(there.status, wire::Status::OK);
    EXPECT_EQ(there.blob, blob);
  }
  // The owner does not have it: the owner says MISS, relayed back.
  EXPECT_EQ(c[9].dev->transfer(random_key(rng), 3, 1, 500ms).status, wire::Status::MISS);
  // A server asking another owner works the same way (request_transfer on a card).
  const SessionKey k = random_key(rng);
  ASSERT_TRUE(c[2].dev->put(k, random_blob(rng, 60), future_expiry()).ok());
  EXPECT_EQ(c[1].dev->transfer(k, 1, 2, 500ms).status, wire::Status::OK);
  EXPECT_EQ(c[1].dev->export_entry(k).status, wire::Status::OK);
}

TEST(backplane_sim, ConsumedSingleUseEntryIsTombstonedWhereItWasTransferredFrom) {
  // A TLS 1.3 ticket (SINGLE_USE) issued on card 1, moved to card 3 by the dispatcher
  // (card 9), consumed on 3: card 1 must no longer hand it out (no replay there).
  SimCluster c({1, 2, 3}, Mode::transfer, lossy_link(21), {9});
  ASSERT_TRUE(c.wait_connected());
  std::mt19937_64 rng(8);
  const uint8_t single_use = static_cast<uint8_t>(wire::Flags::SINGLE_USE);
  for (int i = 0; i < 10; ++i) {
    const SessionKey k = random_key(rng);
    ASSERT_TRUE(c[1].dev->put(k, random_blob(rng, 150), future_expiry(), single_use).ok());
    ASSERT_EQ(c[9].dev->transfer(k, /*dest=*/3, /*owner=*/1, 500ms).status, wire::Status::OK) << "i=" << i;
    ASSERT_EQ(c[1].dev->export_entry(k).status, wire::Status::OK) << "transfer copies";
    ASSERT_EQ(c[3].dev->take(k).status, wire::Status::OK);
    bool gone = false;
    for (int t = 0; t < 200 && !gone; ++t) {
      gone = c[1].dev->export_entry(k).status == wire::Status::MISS;
      if (!gone) std::this_thread::sleep_for(5ms);
    }
    EXPECT_TRUE(gone) << "i=" << i << ": the issuing card still holds a consumed single-use entry";
    EXPECT_EQ(c[1].dev->take(k).status, wire::Status::MISS);
  }
  // An ordinary (TLS 1.2) session stays where it was: only single-use entries are chased.
  const SessionKey k = random_key(rng);
  ASSERT_TRUE(c[1].dev->put(k, random_blob(rng, 90), future_expiry()).ok());
  ASSERT_EQ(c[9].dev->transfer(k, 3, 1, 500ms).status, wire::Status::OK);
  ASSERT_EQ(c[3].dev->get(k).status, wire::Status::OK);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(c[1].dev->export_entry(k).status, wire::Status::OK);
}

TEST(backplane_sim, TablelessDispatcherGetsNoReplicasButRelaysTransfers) {
  SimCluster c({1, 2}, Mode::replicate, SimLinkOptions{}, {9});
  ASSERT_TRUE(c.wait_connected());
  std::mt19937_64 rng(77);
  std::vector<SessionKey> keys;
  ASSERT_NO_FATAL_FAILURE(put_random(c, {1}, rng, 20, 80, keys));
  ASSERT_TRUE(eventually([&] { return holds_all(c, 2, keys); }, 5s));
  const NodeStats d = c[9].node->stats();
  EXPECT_EQ(d[wire::BP_STATS_APPLIED] + d[wire::BP_STATS_APPLY_FAILED], 0u) << "HELLO said: no table here";
  EXPECT_EQ(c[9].dev->transfer(keys[3], 2, 1, 500ms).status, wire::Status::OK);
}

TEST(backplane_sim, RestartedCardCatchesUpWithoutLosingAckedSessions) {
  const std::vector<uint8_t> cards{1, 2, 3};
  SimCluster c(cards, Mode::replicate, lossy_link(21));
  ASSERT_TRUE(c.wait_connected());
  std::mt19937_64 rng(8);
  std::vector<SessionKey> keys;
  ASSERT_NO_FATAL_FAILURE(put_random(c, {1, 2}, rng, 150, 140, keys));
  ASSERT_EQ(c[1].dev->del(keys[0], future_expiry()).status, wire::Status::OK);
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& k : keys)
          if (!identical_everywhere(c, cards, k)) return false;
        return true;
      },
      20s));
  // Card 3 acknowledged all of them. Now it restarts with an empty table (cut off
  // until we have looked at it, so the catch-up cannot start early).
  c.net().set_partitioned(3, true);
  c.restart(3);
  EXPECT_EQ(c[3].dev->export_entry(keys[5]).status, wire::Status::MISS);
  c.net().set_partitioned(3, false);
  std::string why;
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& k : keys)
          if (!identical_everywhere(c, cards, k, &why)) return false;
        return true;
      },
      20s))
      << why;
  EXPECT_EQ(c[3].dev->export_entry(keys[0]).status, wire::Status::MISS) << "deleted stays deleted";
  EXPECT_GT(c[1].node->stats().catchup_pushed + c[2].node->stats().catchup_pushed, 0u);
  EXPECT_TRUE(eventually([&] { return c[1].node->stats()[wire::BP_STATS_PEER_JOINS] >= 3; }, 5s))
      << "2 at start + the restart";

  // Writes after the restart flow normally again.
  const SessionKey k = random_key(rng);
  ASSERT_TRUE(c[3].dev->put(k, random_blob(rng, 50), future_expiry()).ok());
  EXPECT_TRUE(eventually([&] { return c[1].dev->export_entry(k).status == wire::Status::OK; }, 5s));
}

TEST(backplane_sim, HubHoldsEverythingAndMissesPullFromIt) {
  SimCluster c({0, 1, 2}, Mode::hub, lossy_link(31), {}, /*hub=*/0);
  ASSERT_TRUE(c.wait_connected());
  std::mt19937_64 rng(12);
  std::vector<SessionKey> keys;
  ASSERT_NO_FATAL_FAILURE(put_random(c, {1}, rng, 30, 90, keys));
  ASSERT_TRUE(eventually([&] { return holds_all(c, 0, keys); }, 10s)) << "every write reaches the hub";
  EXPECT_EQ(c[2].dev->export_entry(keys[0]).status, wire::Status::MISS) << "hub mode does not broadcast";
  int pulled = 0;
  for (const auto& k : keys) {
    const Response r = c[2].dev->get(k);  // local miss -> pull from the hub
    if (r.status == wire::Status::OK) {
      ++pulled;
      EXPECT_EQ(r.blob, c[1].dev->export_entry(k).blob);
    }
  }
  EXPECT_GE(pulled, 28) << "a pull is bounded (20 ms here); under 10% loss one may time out";
  EXPECT_EQ(c[2].dev->get(random_key(rng)).status, wire::Status::MISS);
  // Deletes reach the hub too.
  ASSERT_EQ(c[1].dev->del(keys[1], future_expiry()).status, wire::Status::OK);
  EXPECT_TRUE(eventually([&] { return c[0].dev->export_entry(keys[1]).status == wire::Status::MISS; }, 5s));
}

TEST(backplane_sim, HubTakeMissPullsFromTheHubAndConsumesEverywhere) {
  // TLS 1.3 tickets are looked up with TAKE: a card that does not hold one (restarted,
  // or never had it) pulls it from the hub like a GET miss, and consumes it cluster-wide.
  SimCluster c({0, 1, 2}, Mode::hub, SimLinkOptions{}, {}, /*hub=*/0);
  ASSERT_TRUE(c.wait_connected());
  std::mt19937_64 rng(77);
  std::vector<SessionKey> keys;
  std::vector<std::vector<uint8_t>> blobs;
  for (int i = 0; i < 10; ++i) {
    keys.push_back(random_key(rng));
    blobs.push_back(random_blob(rng, 90));
    ASSERT_TRUE(c[1].dev->put(keys.back(), blobs.back(), future_expiry(), static_cast<uint8_t>(wire::Flags::SINGLE_USE))
                    .ok());
  }
  ASSERT_TRUE(eventually([&] { return holds_all(c, 0, keys); }, 5s));
  c.restart(2);  // an empty table, as after a crash
  ASSERT_TRUE(c.wait_connected());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const Response r = c[2].dev->take(keys[i]);
    ASSERT_EQ(r.status, wire::Status::OK) << "a TAKE miss pulls from the hub";
    EXPECT_EQ(r.blob, blobs[i]);
    EXPECT_EQ(c[2].dev->take(keys[i]).status, wire::Status::MISS) << "single use";
  }
  // Consumed at the hub and at the card that issued it, so no second use anywhere.
  EXPECT_TRUE(eventually(
      [&] {
        for (const auto& k : keys)
          if (c[0].dev->export_entry(k).status != wire::Status::MISS ||
              c[1].dev->export_entry(k).status != wire::Status::MISS)
            return false;
        return true;
      },
      5s));
  for (const auto& k : keys) EXPECT_EQ(c[1].dev->take(k).status, wire::Status::MISS);
}

TEST(backplane_sim, RestartedHubIsRefilledByTheCards) {
  SimCluster c({0, 1, 2}, Mode::hub, lossy_link(41), {}, /*hub=*/0);
  ASSERT_TRUE(c.wait_connected());
  std::mt19937_64 rng(4);
  std::vector<SessionKey> keys;
  ASSERT_NO_FATAL_FAILURE(put_random(c, {1, 2}, rng, 40, 100, keys));
  auto hub_has_all = [&] { return holds_all(c, 0, keys); };
  ASSERT_TRUE(eventually(hub_has_all, 10s));
  c.net().set_partitioned(0, true);
  c.restart(0);  // the central repository loses everything
  EXPECT_EQ(c[0].dev->export_entry(keys[0]).status, wire::Status::MISS);
  c.net().set_partitioned(0, false);
  EXPECT_TRUE(eventually(hub_has_all, 15s)) << "cards push what they hold when the hub rejoins";
}

TEST(backplane_sim, EightCardsWithTakeReplicatesTheConsumption) {
  std::vector<uint8_t> cards{1, 2, 3, 4, 5, 6, 7, 8};
  SimLinkOptions link;
  link.loss = 0.05;
  link.reorder = 0.05;
  SimCluster c(cards, Mode::replicate, link);
  ASSERT_TRUE(c.wait_connected());
  std::mt19937_64 rng(99);
  std::vector<SessionKey> keys;
  ASSERT_NO_FATAL_FAILURE(put_random(c, cards, rng, 40, 70, keys));
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& k : keys)
          if (!identical_everywhere(c, cards, k)) return false;
        return true;
      },
      20s));
  // A single-use ticket consumed on one card is consumed everywhere.
  ASSERT_EQ(c[3].dev->take(keys[7]).status, wire::Status::OK);
  EXPECT_TRUE(eventually(
      [&] {
        for (uint8_t card : cards)
          if (c[card].dev->export_entry(keys[7]).status != wire::Status::MISS) return false;
        return true;
      },
      10s));
}

}  // namespace
}  // namespace sessnic::backplane::test
