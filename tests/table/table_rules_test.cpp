// The table's rules (hls/session_table.hpp header comment): expiry boundary, eviction
// order, tombstones and versions, same-set back-to-back commands, the idle sweep.
#include <gtest/gtest.h>

#include "session_table.hpp"
#include "table_harness.hpp"
#include "table_test_util.hpp"

namespace sessnic::table_test {
namespace {

constexpr uint8_t kCard = 2;
constexpr uint64_t version(uint64_t lamport, uint64_t card) { return (lamport << wire::CARD_BITS) | card; }

// 4 sets x 4 ways: small enough to fill one set by hand.
using Small = SessionTable<2, 4>;

class TableRules : public ::testing::Test {
 protected:
  TableRules() : t(kCard), ids(ids_in_set<Small>(1, 8)) { t.set_time(100); }
  KernelHarness<Small> t;
  std::vector<Bytes> ids;  // all in set 1
};

// ---- expiry -------------------------------------------------------------------------

TEST_F(TableRules, EntryIsLiveWhileNowIsBeforeExpiry) {
  ASSERT_EQ(t.put(ids[0], pattern(10, 1), 200).st(), wire::Status::OK);
  t.set_time(199);
  EXPECT_EQ(t.get(ids[0]).st(), wire::Status::OK);
  t.set_time(200);
  EXPECT_EQ(t.get(ids[0]).st(), wire::Status::EXPIRED);
  EXPECT_EQ(t.get(ids[0]).st(), wire::Status::MISS) << "EXPIRED frees the way";
  EXPECT_EQ(t.stats()[wire::STATS_LIVE], 0u);
}

TEST_F(TableRules, TakeAndExportAlsoSeeExpiry) {
  t.put(ids[0], pattern(10, 1), 200);
  t.put(ids[1], pattern(10, 1), 200);
  t.set_time(200);
  EXPECT_EQ(t.lookup(wire::Opcode::TAKE, ids[0]).st(), wire::Status::EXPIRED);
  EXPECT_EQ(t.lookup(wire::Opcode::EXPORT, ids[1]).st(), wire::Status::EXPIRED);
}

TEST_F(TableRules, PutWithExpiryNotAfterNowIsRejected) {
  EXPECT_EQ(t.put(ids[0], pattern(10, 1), 100).st(), wire::Status::EXPIRED);
  EXPECT_EQ(t.put(ids[0], pattern(10, 1), 50).st(), wire::Status::EXPIRED);
  EXPECT_EQ(t.get(ids[0]).st(), wire::Status::MISS);
  EXPECT_EQ(t.stats()[wire::STATS_PUTS], 0u);
  EXPECT_EQ(t.put(ids[0], pattern(10, 1), 101).st(), wire::Status::OK);
}

TEST_F(TableRules, ClockMayGoBackwards) {
  t.put(ids[0], pattern(10, 1), 200);
  t.set_time(300);
  t.set_time(150);  // nothing was freed in between: the entry is live again
  EXPECT_EQ(t.get(ids[0]).st(), wire::Status::OK);
}

// ---- eviction -----------------------------------------------------------------------

TEST_F(TableRules, FullSetEvictsEarliestExpiryLowestWayOnTies) {
  const uint32_t exp[4] = {150, 140, 160, 140};  // ways 1 and 3 tie
  for (int i = 0; i < 4; ++i) ASSERT_EQ(t.put(ids[i], pattern(10, i), exp[i]).st(), wire::Status::OK);
  const TableResponse e = t.put(ids[4], pattern(10, 4), 500);
  EXPECT_EQ(e.st(), wire::Status::EVICTED);
  EXPECT_EQ(t.get(ids[1]).st(), wire::Status::MISS) << "way 1 (expiry 140, lower way) evicted";
  EXPECT_EQ(t.get(ids[3]).st(), wire::Status::OK);
  EXPECT_EQ(t.put(ids[5], pattern(10, 5), 500).st(), wire::Status::EVICTED);
  EXPECT_EQ(t.get(ids[3]).st(), wire::Status::MISS) << "then way 3 (expiry 140)";
  EXPECT_EQ(t.put(ids[6], pattern(10, 6), 500).st(), wire::Status::EVICTED);
  EXPECT_EQ(t.get(ids[0]).st(), wire::Status::MISS) << "then expiry 150";
  for (int i : {2, 4, 5, 6}) EXPECT_EQ(t.get(ids[i]).st(), wire::Status::OK) << i;
  EXPECT_EQ(t.stats()[wire::STATS_EVICTIONS], 3u);
}

TEST_F(TableRules, ExpiredWayIsTakenBeforeAnyLiveOne) {
  const uint32_t exp[4] = {300, 120, 110, 400};
  for (int i = 0; i < 4; ++i) ASSERT_EQ(t.put(ids[i], pattern(10, i), exp[i]).st(), wire::Status::OK);
  t.set_time(130);  // ways 1 and 2 expired; way 2 has the earlier expiry
  EXPECT_EQ(t.put(ids[4], pattern(10, 4), 200).st(), wire::Status::OK) << "an expired way is not an eviction";
  EXPECT_EQ(t.get(ids[1]).st(), wire::Status::MISS) << "lowest expired way replaced";
  EXPECT_EQ(t.get(ids[2]).st(), wire::Status::EXPIRED) << "the other expired way still held";
  for (int i : {0, 3, 4}) EXPECT_EQ(t.get(ids[i]).st(), wire::Status::OK) << i;
  EXPECT_EQ(t.stats()[wire::STATS_EVICTIONS], 0u);
}

TEST_F(TableRules, FreeWayIsTakenBeforeAnExpiredOne) {
  for (int i = 0; i < 3; ++i) t.put(ids[i], pattern(10, i), 110);
  t.set_time(120);
  EXPECT_EQ(t.put(ids[3], pattern(10, 3), 200).st(), wire::Status::OK);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(t.get(ids[i]).st(), wire::Status::EXPIRED) << i;
}

TEST_F(TableRules, OtherSetsAreUntouchedByEviction) {
  const auto other = ids_in_set<Small>(2, 4);
  for (const Bytes& id : other) t.put(id, pattern(10, 9), 105);
  for (int i = 0; i < 6; ++i) t.put(ids[i], pattern(10, i), 500);
  for (const Bytes& id : other) EXPECT_EQ(t.get(id).st(), wire::Status::OK);
}

TEST_F(TableRules, DisplacingATombstoneIsNotAnEviction) {
  for (int i = 0; i < 4; ++i) t.put(ids[i], pattern(10, i), 300 + i);
  t.del(ids[0]);  // tombstone until 300: the earliest expiry in the set
  EXPECT_EQ(t.put(ids[4], pattern(10, 4), 500).st(), wire::Status::OK) << "EVICTED is only for live entries";
  const auto s = t.stats();
  EXPECT_EQ(s[wire::STATS_EVICTIONS], 0u);
  EXPECT_EQ(s[wire::STATS_TOMBSTONES], 0u);
  EXPECT_EQ(s[wire::STATS_LIVE], 4u);
  for (int i : {1, 2, 3, 4}) EXPECT_EQ(t.get(ids[i]).st(), wire::Status::OK) << i;
}

TEST_F(TableRules, TombstonesRankByExpiryLikeLiveEntries) {
  for (int i = 0; i < 4; ++i) t.put(ids[i], pattern(10, i), 300 + i);
  t.del(ids[1]);  // tombstone until 301; the live entry in way 0 expires first
  EXPECT_EQ(t.put(ids[4], pattern(10, 4), 500).st(), wire::Status::EVICTED);
  EXPECT_EQ(t.get(ids[0]).st(), wire::Status::MISS);
  EXPECT_EQ(t.put(ids[5], pattern(10, 5), 500).st(), wire::Status::OK) << "then the tombstone";
  EXPECT_EQ(t.stats()[wire::STATS_TOMBSTONES], 0u);
  for (int i : {2, 3, 4, 5}) EXPECT_EQ(t.get(ids[i]).st(), wire::Status::OK) << i;
}

TEST_F(TableRules, TombstoneNeverEvictsALiveEntry) {
  for (int i = 0; i < 4; ++i) t.put(ids[i], pattern(10, i), 300);
  EXPECT_EQ(t.del(ids[5], 400).st(), wire::Status::MISS);
  auto s = t.stats();
  EXPECT_EQ(s[wire::STATS_TOMBSTONES], 0u) << "no room: the tombstone is dropped";
  EXPECT_EQ(s[wire::STATS_LIVE], 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(t.get(ids[i]).st(), wire::Status::OK);
}

TEST_F(TableRules, TombstoneOfUnknownKeyReplacesOlderTombstoneFirst) {
  for (int i = 0; i < 4; ++i) t.put(ids[i], pattern(10, i), 300);
  t.del(ids[3], 350);  // tombstone until 350
  t.del(ids[1], 320);  // tombstone until 320 (earlier)
  const TableResponse d = t.del(ids[6], 400);  // unknown key: may only displace a tombstone
  EXPECT_EQ(d.st(), wire::Status::MISS);
  EXPECT_EQ(d.flags, static_cast<unsigned>(wire::Flags::TOMBSTONE));
  EXPECT_EQ(d.expiry, 400u);
  // ids[1]'s tombstone (until 320) is gone, so its old version may come back...
  EXPECT_EQ(t.put(ids[1], pattern(10, 1), 500, 0, version(1, 9)).st(), wire::Status::EVICTED);
  // ...while ids[3]'s (until 350) still blocks an old replica.
  EXPECT_EQ(t.put(ids[3], pattern(10, 3), 500, 0, version(1, 9)).st(), wire::Status::STALE);
}

// ---- tombstones and versions --------------------------------------------------------

TEST_F(TableRules, LateOlderReplicaCannotResurrectDeletedSession) {
  const uint64_t v1 = version(10, 5);
  ASSERT_EQ(t.put(ids[0], pattern(40, 1), 300, 0, v1).st(), wire::Status::OK);
  const TableResponse d = t.del(ids[0]);
  ASSERT_EQ(d.st(), wire::Status::OK);
  EXPECT_EQ(d.version, version(11, kCard)) << "local delete is newer than the remote write";
  const TableResponse late = t.put(ids[0], pattern(40, 1), 300, 0, v1);
  EXPECT_EQ(late.st(), wire::Status::STALE);
  EXPECT_EQ(late.version, d.version) << "STALE reports the stored (tombstone) metadata";
  EXPECT_EQ(late.flags, static_cast<unsigned>(wire::Flags::TOMBSTONE));
  EXPECT_EQ(t.get(ids[0]).st(), wire::Status::MISS);
  // A genuinely newer write may re-create the session.
  EXPECT_EQ(t.put(ids[0], pattern(40, 2), 300, 0, version(20, 5)).st(), wire::Status::OK);
  EXPECT_EQ(t.get(ids[0]).blob, pattern(40, 2));
}

TEST_F(TableRules, RemoteDeleteOfUnknownKeyBlocksOlderPut) {
  EXPECT_EQ(t.del(ids[0], 300, version(50, 4)).st(), wire::Status::MISS);
  EXPECT_EQ(t.stats()[wire::STATS_TOMBSTONES], 1u);
  EXPECT_EQ(t.put(ids[0], pattern(10, 1), 300, 0, version(49, 4)).st(), wire::Status::STALE);
  EXPECT_EQ(t.get(ids[0]).st(), wire::Status::MISS);
  EXPECT_EQ(t.put(ids[0], pattern(10, 1), 300).st(), wire::Status::OK) << "local writes are newer than any seen";
}

TEST_F(TableRules, DeleteWithoutFutureExpiryLeavesNoTombstone) {
  EXPECT_EQ(t.del(ids[0], 100, version(50, 4)).st(), wire::Status::MISS);
  EXPECT_EQ(t.stats()[wire::STATS_TOMBSTONES], 0u);
}

TEST_F(TableRules, TombstoneKeepsTheLaterOfBothExpiries) {
  t.put(ids[0], pattern(10, 1), 300);
  EXPECT_EQ(t.del(ids[0], 250).expiry, 300u);
  t.put(ids[1], pattern(10, 1), 300);
  EXPECT_EQ(t.del(ids[1], 900).expiry, 900u);
}

TEST_F(TableRules, DuplicatePutWithSameVersionChangesNothing) {
  const uint64_t v = version(7, 1);
  ASSERT_EQ(t.put(ids[0], pattern(40, 1), 300, 0, v).st(), wire::Status::OK);
  const TableResponse dup = t.put(ids[0], pattern(40, 9), 900, 0, v);
  EXPECT_EQ(dup.st(), wire::Status::OK);
  EXPECT_EQ(dup.expiry, 300u) << "reports the stored entry";
  const TableResponse g = t.get(ids[0]);
  EXPECT_EQ(g.blob, pattern(40, 1));
  EXPECT_EQ(g.expiry, 300u);
  const auto s = t.stats();
  EXPECT_EQ(s[wire::STATS_PUTS], 1u);
  EXPECT_EQ(s[wire::STATS_STALE], 0u);
}

TEST_F(TableRules, OlderPutOnLiveEntryIsStale) {
  ASSERT_EQ(t.put(ids[0], pattern(40, 1), 300, 0, version(7, 1)).st(), wire::Status::OK);
  const TableResponse r = t.put(ids[0], pattern(40, 2), 300, 0, version(6, 9));
  EXPECT_EQ(r.st(), wire::Status::STALE);
  EXPECT_EQ(r.version, version(7, 1));
  EXPECT_EQ(t.get(ids[0]).blob, pattern(40, 1));
  EXPECT_EQ(t.put(ids[0], pattern(40, 3), 300, 0, version(7, 2)).st(), wire::Status::OK) << "card id breaks ties";
  EXPECT_EQ(t.get(ids[0]).blob, pattern(40, 3));
}

TEST_F(TableRules, DeleteVersionsAreCheckedToo) {
  ASSERT_EQ(t.put(ids[0], pattern(10, 1), 300, 0, version(7, 1)).st(), wire::Status::OK);
  EXPECT_EQ(t.del(ids[0], 0, version(6, 1)).st(), wire::Status::STALE);
  EXPECT_EQ(t.del(ids[0], 0, version(7, 1)).st(), wire::Status::STALE) << "same version as a live entry";
  EXPECT_EQ(t.get(ids[0]).st(), wire::Status::OK);
  EXPECT_EQ(t.del(ids[0], 0, version(8, 1)).st(), wire::Status::OK);
  EXPECT_EQ(t.del(ids[0], 0, version(8, 1)).st(), wire::Status::MISS) << "duplicate delete";
  EXPECT_EQ(t.stats()[wire::STATS_STALE], 2u);
}

TEST_F(TableRules, RemoteVersionsAdvanceTheLamportClock) {
  t.put(ids[0], pattern(10, 1), 300, 0, version(100, 9));
  EXPECT_EQ(t.stats()[wire::STATS_LAMPORT], 100u);
  EXPECT_EQ(t.put(ids[1], pattern(10, 1), 300).version, version(101, kCard));
  t.put(ids[2], pattern(10, 1), 300, 0, version(40, 9));  // older remote: clock stays
  EXPECT_EQ(t.put(ids[3], pattern(10, 1), 300).version, version(102, kCard));
  t.del(ids[4], 300, version(500, 3));  // remote delete of an unknown key advances it too
  EXPECT_EQ(t.del(ids[3]).version, version(501, kCard));
}

TEST_F(TableRules, TakeLeavesATombstoneAgainstLateReplicas) {
  const uint64_t v = version(30, 4);
  t.put(ids[0], pattern(10, 1), 300, 0, v, static_cast<unsigned>(wire::Flags::SINGLE_USE));
  ASSERT_EQ(t.lookup(wire::Opcode::TAKE, ids[0]).st(), wire::Status::OK);
  EXPECT_EQ(t.put(ids[0], pattern(10, 1), 300, 0, v).st(), wire::Status::STALE);
  EXPECT_EQ(t.lookup(wire::Opcode::TAKE, ids[0]).st(), wire::Status::MISS) << "single use across replicas";
}

TEST_F(TableRules, SingleUseGetLeavesATombstone) {
  const uint64_t v = version(30, 4);
  t.put(ids[0], pattern(10, 1), 300, 0, v, static_cast<unsigned>(wire::Flags::SINGLE_USE));
  ASSERT_EQ(t.get(ids[0]).st(), wire::Status::OK);
  EXPECT_EQ(t.put(ids[0], pattern(10, 1), 300, 0, v).st(), wire::Status::STALE);
  EXPECT_EQ(t.get(ids[0]).st(), wire::Status::MISS);
}

TEST_F(TableRules, ExpiredEntryProtectsNothing) {
  t.put(ids[0], pattern(10, 1), 200, 0, version(90, 1));
  t.del(ids[1], 200, version(90, 1));
  t.set_time(200);
  EXPECT_EQ(t.put(ids[0], pattern(10, 2), 300, 0, version(5, 1)).st(), wire::Status::OK);
  EXPECT_EQ(t.put(ids[1], pattern(10, 2), 300, 0, version(5, 1)).st(), wire::Status::OK);
}

// ---- same-set back-to-back ----------------------------------------------------------

TEST_F(TableRules, BackToBackSameSetCommandsSeeEachOthersWrites) {
  // All commands are queued before the kernel runs, as a pipelined host would send them.
  std::vector<TableCommand> cmds;
  auto add = [&](TableCommand c) { c.tag = static_cast<uint32_t>(cmds.size()); cmds.push_back(c); };
  auto put = [&](const Bytes& id, uint8_t seed) {
    TableCommand c = keyed(wire::Opcode::PUT, id);
    c.blob = pattern(100, seed);
    c.expiry = 300;
    return c;
  };
  add(put(ids[0], 1));
  add(keyed(wire::Opcode::GET, ids[0]));
  add(put(ids[0], 2));
  add(keyed(wire::Opcode::GET, ids[0]));
  add(keyed(wire::Opcode::TAKE, ids[0]));
  add(keyed(wire::Opcode::GET, ids[0]));
  add(put(ids[1], 3));
  add(keyed(wire::Opcode::DEL, ids[1]));
  add(keyed(wire::Opcode::EXPORT, ids[1]));
  for (int i = 2; i < 7; ++i) add(put(ids[i], static_cast<uint8_t>(i)));  // fills and evicts
  add(keyed(wire::Opcode::GET, ids[6]));

  hls::stream<Beat> cmd, rsp;
  auto table = std::make_unique<Small>(kCard);
  TableCommand now = make_cmd(wire::Opcode::SET_TIME);
  now.aux = 100;
  for (const Beat& b : encode(now)) cmd.write(b);
  for (const auto& c : cmds)
    for (const Beat& b : encode(c)) cmd.write(b);
  unsigned steps = 0;
  while (table->step(cmd, rsp)) ++steps;
  ASSERT_EQ(steps, cmds.size() + 1);

  std::vector<TableResponse> out;
  std::vector<Beat> beats;
  while (!rsp.empty()) {
    beats.push_back(rsp.read());
    if (beats.back().last) {
      DecodeResult d = decode(beats);
      ASSERT_TRUE(d.rsp) << d.error;
      out.push_back(*d.rsp);
      beats.clear();
    }
  }
  ASSERT_EQ(out.size(), cmds.size() + 1);
  out.erase(out.begin());
  using S = wire::Status;
  // Everything expires at 300, so the lowest way is the victim: tag 11 displaces the
  // tombstone in way 0 (no eviction), tags 12 and 13 then evict whatever is in way 0.
  const S want[] = {S::OK, S::OK, S::OK, S::OK, S::OK, S::MISS, S::OK, S::OK, S::MISS,
                    S::OK, S::OK, S::OK, S::EVICTED, S::EVICTED, S::OK};
  ASSERT_EQ(std::size(want), out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].tag, i);
    EXPECT_EQ(out[i].st(), want[i]) << i << " " << describe(out[i]);
  }
  EXPECT_EQ(out[1].blob, pattern(100, 1));
  EXPECT_EQ(out[3].blob, pattern(100, 2)) << "GET right after PUT sees the new blob";
  EXPECT_EQ(out[4].blob, pattern(100, 2));
  EXPECT_EQ(out[14].blob, pattern(100, 6));
}

// ---- idle sweep ---------------------------------------------------------------------

TEST_F(TableRules, IdleSweepFreesExpiredWaysAndCountsThem) {
  unsigned n = 0;
  for (unsigned set = 0; set < Small::kSets; ++set)
    for (const Bytes& id : ids_in_set<Small>(set, 2)) {
      t.put(id, pattern(10, 1), set % 2 ? 150 : 400);  // odd sets expire at 150
      n += set % 2;
    }
  const Bytes doomed = ids_in_set<Small>(0, 3)[2];
  t.put(doomed, pattern(10, 1), 400);
  t.del(doomed, 120);  // tombstone until 400: not swept
  for (unsigned i = 0; i < Small::kSets; ++i) t.sweep_step();
  EXPECT_EQ(t.stats()[wire::STATS_SWEPT], 0u) << "nothing expired yet";

  t.set_time(150);
  for (unsigned i = 0; i < Small::kSets; ++i) t.sweep_step();
  auto s = t.stats();
  EXPECT_EQ(s[wire::STATS_SWEPT], n);
  EXPECT_EQ(s[wire::STATS_LIVE], 2u * Small::kSets - n);
  EXPECT_EQ(s[wire::STATS_TOMBSTONES], 1u);
  EXPECT_EQ(s[wire::STATS_EXPIRED], 0u) << "swept entries are not lookups";

  t.set_time(400);
  t.sweep_step();  // one set per call: set 0 only
  s = t.stats();
  EXPECT_EQ(s[wire::STATS_SWEPT], n + 3) << "set 0: two entries and the tombstone";
  for (unsigned i = 1; i < Small::kSets; ++i) t.sweep_step();
  s = t.stats();
  EXPECT_EQ(s[wire::STATS_LIVE], 0u);
  EXPECT_EQ(s[wire::STATS_TOMBSTONES], 0u);
  EXPECT_EQ(s[wire::STATS_SWEPT], 2u * Small::kSets + 1);
}

}  // namespace
}  // namespace sessnic::table_test
