// SCAN (catch-up walks the table with it) and the tombstone version a TAKE answers in
// aux (the card replicates a consumed entry's delete without a second command).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "session_table.hpp"
#include "table_harness.hpp"
#include "table_test_util.hpp"

namespace sessnic::table_test {
namespace {

using Table = SessionTable<3, 2>;  // 8 sets x 2 ways = 16 slots
using wire::Opcode;
using wire::Status;
constexpr unsigned kSlots = 16;

TableCommand scan(uint64_t idx) {
  TableCommand c = make_cmd(Opcode::SCAN, 77);
  c.aux = idx;
  return c;
}

TEST(TableScan, WalkFindsEveryEntryAndTombstoneAndChangesNothing) {
  KernelHarness<Table> t(3);
  t.set_time(100);
  std::vector<Bytes> ids;
  for (uint8_t i = 0; i < 6; ++i) {
    ids.push_back(ids_in_set<Table>(i, 1).front());  // one per set: no eviction
    ASSERT_EQ(t.put(ids.back(), pattern(40 + i * 30, i), 1000 + i).st(), Status::OK);
  }
  ASSERT_EQ(t.del(ids[2], 900).st(), Status::OK);  // a tombstone
  const auto before = t.stats();

  std::set<std::string> live, tombs;
  for (uint64_t i = 0; i < kSlots; ++i) {
    const TableResponse r = t.run(scan(i));
    ASSERT_TRUE(r.st() == Status::OK || r.st() == Status::MISS) << i;
    EXPECT_EQ(r.tag, 77u);
    if (r.st() != Status::OK) continue;
    ASSERT_LE(r.key_len, wire::KEY_MAX_BYTES);
    const Bytes id(r.key.begin(), r.key.begin() + r.key_len);
    const std::string name(id.begin(), id.end());
    if (r.flags & static_cast<unsigned>(wire::Flags::TOMBSTONE)) {
      EXPECT_TRUE(r.blob.empty()) << "a tombstone has no blob";
      tombs.insert(name);
      continue;
    }
    live.insert(name);
    const TableResponse e = t.lookup(Opcode::EXPORT, id);  // SCAN answers what EXPORT answers
    EXPECT_EQ(r.blob, e.blob);
    EXPECT_EQ(r.version, e.version);
    EXPECT_EQ(r.expiry, e.expiry);
  }
  auto str = [](const Bytes& b) { return std::string(b.begin(), b.end()); };
  EXPECT_EQ(live, (std::set<std::string>{str(ids[0]), str(ids[1]), str(ids[3]), str(ids[4]), str(ids[5])}));
  EXPECT_EQ(tombs, (std::set<std::string>{str(ids[2])}));
  auto after = t.stats();
  after[wire::STATS_GETS] -= 5;  // the EXPORTs above
  after[wire::STATS_HITS] -= 5;
  EXPECT_EQ(after, before) << "SCAN counts nothing and changes nothing";
}

TEST(TableScan, ExpiredSlotsAreMissAndStayUntilTheSweepOrALookup) {
  KernelHarness<Table> t(3);
  t.set_time(100);
  ASSERT_EQ(t.put(pattern(8, 1), pattern(20, 1), 150).st(), Status::OK);
  t.set_time(200);  // expired
  for (uint64_t i = 0; i < kSlots; ++i) EXPECT_EQ(t.run(scan(i)).st(), Status::MISS) << i;
  EXPECT_EQ(t.stats()[wire::STATS_LIVE], 1u) << "SCAN never frees a way";
}

TEST(TableScan, IndexPastTheEndIsBadCmd) {
  KernelHarness<Table> t(3);
  EXPECT_EQ(t.run(scan(kSlots - 1)).st(), Status::MISS);
  EXPECT_EQ(t.run(scan(kSlots)).st(), Status::BAD_CMD);
  EXPECT_EQ(t.run(scan(~0ull)).st(), Status::BAD_CMD);
}

TEST(TableTakeAux, TakeAnswersTheTombstoneVersionInAux) {
  KernelHarness<Table> t(3);
  t.set_time(100);
  const Bytes id = pattern(16, 4);
  const TableResponse p = t.put(id, pattern(50, 4), 1000, 0, /*version=*/(uint64_t{40} << wire::CARD_BITS) | 9);
  ASSERT_EQ(p.st(), Status::OK);
  const TableResponse k = t.lookup(Opcode::TAKE, id);
  ASSERT_EQ(k.st(), Status::OK);
  EXPECT_EQ(k.version, (uint64_t{40} << wire::CARD_BITS) | 9) << "version: the taken entry's (writer card 9)";
  EXPECT_EQ(k.aux, (uint64_t{41} << wire::CARD_BITS) | 3) << "aux: the tombstone this card wrote";
  // The tombstone is what a DEL with that version would find: a duplicate, not newer.
  EXPECT_EQ(t.del(id, 1000, k.aux).st(), Status::MISS);
  EXPECT_EQ(t.stats()[wire::STATS_STALE], 0u);
  // A lookup that consumes nothing answers the card id in aux, as before.
  EXPECT_EQ(t.get(id).aux, 3u);
}

TEST(TableTakeAux, ConsumingGetOfASingleUseEntryAnswersItToo) {
  KernelHarness<Table> t(5);
  t.set_time(100);
  const Bytes id = pattern(16, 6);
  ASSERT_EQ(t.put(id, pattern(50, 6), 1000, 0, 0, static_cast<unsigned>(wire::Flags::SINGLE_USE)).st(), Status::OK);
  const TableResponse g = t.get(id);
  ASSERT_EQ(g.st(), Status::OK);
  EXPECT_GT(g.aux, g.version);
  EXPECT_EQ(g.aux & 0xFF, 5u);
}

}  // namespace
}  // namespace sessnic::table_test
