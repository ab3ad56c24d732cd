// The card rules (docs/card.md) on three model cards - the HLS card top in-process -
// joined by the simulated link with loss, duplication, reordering and corruption. The
// host only pumps frames: every behaviour here is the card's.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "sim_cluster.hpp"

namespace sessnic::backplane::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
constexpr auto kSingleUse = static_cast<uint8_t>(wire::Flags::SINGLE_USE);

// Rule 4 in replicate mode: a TLS 1.3 ticket taken on one card is a MISS on every card.
TEST(card_rules, UsedTicketIsMissOnEveryCardInReplicateMode) {
  const std::vector<uint8_t> cards{1, 2, 3};
  SimCluster c(cards, Mode::replicate, lossy_link(3));
  ASSERT_TRUE(c.wait_connected());
  std::mt19937_64 rng(3);
  std::vector<SessionKey> keys;
  ASSERT_NO_FATAL_FAILURE(put_random(c, {1}, rng, 20, 120, keys, kSingleUse));
  ASSERT_TRUE(eventually([&] { return holds_all(c, 2, keys) && holds_all(c, 3, keys); }, 10s))
      << "replicated to both peers";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const uint8_t user = 1 + static_cast<uint8_t>(i % 3);
    const Response r = c[user].dev->take(keys[i]);
    ASSERT_EQ(r.status, wire::Status::OK) << i;
    EXPECT_NE(r.aux, 0u) << "the tombstone's version";
  }
  EXPECT_TRUE(eventually(
      [&] {
        for (const auto& k : keys)
          for (uint8_t card : cards)
            if (c[card].dev->export_entry(k).status != wire::Status::MISS) return false;
        return true;
      },
      10s))
      << "the DELETE with the tombstone version reached every card";
  for (const auto& k : keys)
    for (uint8_t card : cards) EXPECT_EQ(c[card].dev->take(k).status, wire::Status::MISS);
}

// TRANSFER: local (owner = this card) and relayed (owner = another card) are one
// command; PULL copies an entry from a named card into this one.
TEST(card_rules, TransferLocalAndRelayedAndPullOnALossyLink) {
  SimCluster c({1, 2, 3}, Mode::transfer, lossy_link(5));
  ASSERT_TRUE(c.wait_connected());
  std::mt19937_64 rng(5);
  for (int i = 0; i < 20; ++i) {
    const SessionKey k = random_key(rng);
    ASSERT_TRUE(c[1].dev->put(k, random_blob(rng, 150), future_expiry()).ok());
    const Response local = c[1].dev->transfer(k, 2, kSelf, 500ms);
    ASSERT_EQ(local.status, wire::Status::OK) << i;
    EXPECT_EQ(local.op, wire::Opcode::TRANSFER);
    EXPECT_EQ(local.card, 2u) << "response.card = dest";
    EXPECT_EQ(c[2].dev->export_entry(k).version, c[1].dev->export_entry(k).version);
    // Card 3 asks card 2 to move it to card 1... after card 1 lost it.
    ASSERT_EQ(c[1].dev->del(k, future_expiry()).status, wire::Status::OK);
    const SessionKey k2 = random_key(rng);
    ASSERT_TRUE(c[2].dev->put(k2, random_blob(rng, 90), future_expiry()).ok());
    ASSERT_EQ(c[3].dev->transfer(k2, /*dest=*/1, /*owner=*/2, 500ms).status, wire::Status::OK) << i;
    EXPECT_TRUE(holds(c, 1, k2));
    EXPECT_FALSE(holds(c, 3, k2)) << "relayed: the requester only asked";
    // PULL: card 3 copies k2 from card 2; the hub-less pull never consumes.
    const Response p = c[3].dev->pull(k2, 2, 500ms);
    ASSERT_EQ(p.status, wire::Status::OK) << i;
    EXPECT_EQ(p.op, wire::Opcode::PULL);
    EXPECT_EQ(c[3].dev->export_entry(k2).version, c[2].dev->export_entry(k2).version);
    EXPECT_TRUE(holds(c, 2, k2));
  }
  EXPECT_EQ(c[3].dev->pull(random_key(rng), 2, 500ms).status, wire::Status::MISS);
  EXPECT_EQ(c[3].dev->pull(random_key(rng), 77, 500ms).status, wire::Status::FAILED) << "77 is no member";
  EXPECT_EQ(c[3].dev->transfer(random_key(rng), 1, 2, 500ms).status, wire::Status::MISS);
}

// Rule 5 in transfer mode: a PULL of a SINGLE_USE entry (a TLS 1.3 ticket) moves it. The
// owner tombstones its copy as it answers, the puller's copy names the puller as writer,
// so the puller's TAKE (rule 4) sends no DELETE to the owner - no DELETE frame at all -
// and the ticket is still a MISS everywhere once taken. A TLS 1.2 session is copied.
TEST(card_rules, PullMovesATicketInTransferModeSoItsTakeSendsNoDelete) {
  SimCluster c({1, 2, 3}, Mode::transfer, lossy_link(21));
  ASSERT_TRUE(c.wait_connected());
  std::mt19937_64 rng(21);
  std::vector<SessionKey> tickets, sessions;
  ASSERT_NO_FATAL_FAILURE(put_random(c, {1}, rng, 20, 120, tickets, kSingleUse));
  ASSERT_NO_FATAL_FAILURE(put_random(c, {1}, rng, 10, 120, sessions));
  auto deletes = [&](uint8_t card) {
    const auto s = c[card].node->stats();
    return s.tx_frames_by_type[static_cast<std::size_t>(wire::FrameType::DELETE)] +
           s.rx_frames_by_type[static_cast<std::size_t>(wire::FrameType::DELETE)];
  };
  for (std::size_t i = 0; i < tickets.size(); ++i) {
    const SessionKey& k = tickets[i];
    const uint64_t written = c[1].dev->export_entry(k).version;
    const Response p = c[2].dev->pull(k, 1, 500ms);
    ASSERT_EQ(p.status, wire::Status::OK) << i;
    EXPECT_EQ(p.version & 0xff, 2u) << i << ": the moved copy is the puller's";
    EXPECT_GT(p.version, written) << i;
    EXPECT_FALSE(holds(c, 1, k)) << i << ": the owner tombstoned it as it answered";
    EXPECT_EQ(c[3].dev->pull(k, 1, 500ms).status, wire::Status::MISS) << i << ": nothing left to pull";
    const Response t = c[2].dev->take(k);
    ASSERT_EQ(t.status, wire::Status::OK) << i;
    EXPECT_EQ(c[2].dev->take(k).status, wire::Status::MISS) << i;
    EXPECT_EQ(c[1].dev->take(k).status, wire::Status::MISS) << i;
  }
  for (uint8_t card : {1, 2, 3}) EXPECT_EQ(deletes(card), 0u) << "card " << int(card);
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    const SessionKey& k = sessions[i];
    const Response p = c[2].dev->pull(k, 1, 500ms);
    ASSERT_EQ(p.status, wire::Status::OK) << i;
    EXPECT_EQ(p.version, c[1].dev->export_entry(k).version) << i << ": a copy, the owner keeps it";
    EXPECT_EQ(c[2].dev->get(k).status, wire::Status::OK) << i;
    EXPECT_TRUE(holds(c, 1, k)) << i;
  }
}

// The card answers FAILED at the command's deadline (not after its retransmission
// give-up, seconds later), and commands behind a waiting TRANSFER are not held up.
TEST(card_rules, DeadlineIsTheCardsAndLaterCommandsOvertake) {
  SimCluster c({1, 2, 3}, Mode::transfer, SimLinkOptions{});
  ASSERT_TRUE(c.wait_connected());
  std::mt19937_64 rng(9);
  const SessionKey k = random_key(rng), other = random_key(rng);
  ASSERT_TRUE(c[1].dev->put(k, random_blob(rng, 100), future_expiry()).ok());
  ASSERT_TRUE(c[1].dev->put(other, random_blob(rng, 100), future_expiry()).ok());
  c.net().set_partitioned(2, true);  // up as far as card 1 knows, but nothing arrives
  std::atomic<bool> done{false};
  Response slow;
  Clock::duration took{};
  std::thread t([&] {
    const auto t0 = Clock::now();
    slow = c[1].dev->transfer(k, 2, kSelf, 150ms);
    took = Clock::now() - t0;
    done = true;
  });
  std::this_thread::sleep_for(20ms);
  int overtook = 0;
  for (int i = 0; i < 20 && !done; ++i) {
    EXPECT_EQ(c[1].dev->get(other).status, wire::Status::OK);
    overtook += done ? 0 : 1;
  }
  t.join();
  EXPECT_GT(overtook, 0) << "GETs answered while the TRANSFER waited";
  EXPECT_EQ(slow.status, wire::Status::FAILED);
  EXPECT_GE(took, 140ms);
  EXPECT_LT(took, 1500ms) << "the card's deadline, not the give-up after max_retries";
  c.net().set_partitioned(2, false);
}

// Rule 3 with TAKE on a lossy link, and rule 4's DELETE to the writer in hub mode: the
// ticket written on card 1, pulled and taken on card 2, is gone on the hub and on card 1.
TEST(card_rules, HubPullOnTakeMissAndTheWriterForgetsTheTicket) {
  SimCluster c({0, 1, 2}, Mode::hub, lossy_link(13), {}, /*hub=*/0);
  ASSERT_TRUE(c.wait_connected());
  std::mt19937_64 rng(13);
  std::vector<SessionKey> keys;
  ASSERT_NO_FATAL_FAILURE(put_random(c, {1}, rng, 15, 80, keys, kSingleUse));
  ASSERT_TRUE(eventually([&] { return holds_all(c, 0, keys); }, 10s));
  int taken = 0;
  for (const auto& k : keys) {
    EXPECT_FALSE(holds(c, 2, k)) << "hub mode replicates to the hub only";
    const Response r = c[2].dev->take(k);  // miss here -> PULL from the hub -> TAKE again
    if (r.status == wire::Status::OK) ++taken;
  }
  EXPECT_GE(taken, 13) << "a pull is bounded (20 ms here); under 10% loss one may time out";
  EXPECT_TRUE(eventually(
      [&] {
        int gone = 0;
        for (const auto& k : keys) gone += !holds(c, 0, k) && !holds(c, 1, k) ? 1 : 0;
        return gone >= taken;
      },
      10s))
      << "tombstoned at the hub and at the writer (card 1)";
}

// Rule 6: a restarted card (new epoch, empty table) is caught up by a SCAN walk of its
// peers' tables - entries and tombstones - with no key index on the host; nothing that
// was acknowledged before the restart is lost.
TEST(card_rules, CatchUpWalkRefillsARestartedCard) {
  const std::vector<uint8_t> cards{1, 2, 3};
  SimCluster c(cards, Mode::replicate, lossy_link(17));
  ASSERT_TRUE(c.wait_connected());
  std::mt19937_64 rng(17);
  std::vector<SessionKey> keys;
  ASSERT_NO_FATAL_FAILURE(put_random(c, {1, 2}, rng, 120, 100, keys));
  // On the card that wrote each (the other may not have its replica yet).
  for (int i = 0; i < 10; ++i) ASSERT_EQ(c[1 + i % 2].dev->del(keys[i], future_expiry()).status, wire::Status::OK);
  for (int i = 10; i < 20; ++i) ASSERT_EQ(c[1 + i % 2].dev->take(keys[i]).status, wire::Status::OK);
  const std::span<const SessionKey> kept = std::span(keys).subspan(20);
  ASSERT_TRUE(eventually([&] { return holds_all(c, 3, kept); }, 15s));
  const uint64_t walks_before = c[1].node->stats()[wire::BP_STATS_CATCHUP_WALKS];
  c.net().set_partitioned(3, true);
  c.restart(3);
  ASSERT_EQ(c[3].dev->stats()[wire::STATS_LIVE], 0u) << "restarted empty";
  c.net().set_partitioned(3, false);
  ASSERT_TRUE(eventually([&] { return holds_all(c, 3, kept); }, 20s)) << "every acknowledged entry is back";
  // Tombstones came too: the deleted and the taken keys are MISS, and held as tombstones
  // so a late replica of the old entry cannot bring them back.
  EXPECT_TRUE(eventually([&] { return c[3].dev->stats()[wire::STATS_TOMBSTONES] >= 20; }, 10s));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(c[3].dev->export_entry(keys[i]).status, wire::Status::MISS);
  // Card 2's walk alone may have refilled card 3 before card 1 saw card 3's new epoch (a
  // HELLO on the lossy link): card 1's own walk comes, but not necessarily before that.
  EXPECT_TRUE(eventually([&] { return c[1].node->stats()[wire::BP_STATS_CATCHUP_WALKS] > walks_before; }, 5s))
      << "card 1 walks for the restarted card too";
  EXPECT_GT(c[1].node->stats().catchup_pushed + c[2].node->stats().catchup_pushed, 0u);
}

}  // namespace
}  // namespace sessnic::backplane::test
