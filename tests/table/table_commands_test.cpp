// Every table command through the kernel's streams: what each answers, with which
// metadata, and what it leaves behind.
#include <gtest/gtest.h>

#include "session_table.hpp"
#include "table_harness.hpp"
#include "table_test_util.hpp"

namespace sessnic::table_test {
namespace {

using Table = SessionTable<4, 4>;
constexpr uint8_t kCard = 7;
constexpr uint64_t local_version(uint64_t lamport) { return (lamport << wire::CARD_BITS) | kCard; }

class TableCommands : public ::testing::Test {
 protected:
  TableCommands() : t(kCard) { t.set_time(1000); }
  KernelHarness<Table> t;
  const Bytes a = pattern(32, 0x10);
  const Bytes b = pattern(8, 0x20);
};

TEST_F(TableCommands, NopAnswersOkWithTagAndCard) {
  const TableResponse r = t.run(make_cmd(wire::Opcode::NOP, 0xdeadbeef));
  EXPECT_EQ(r.st(), wire::Status::OK);
  EXPECT_EQ(r.op, static_cast<unsigned>(wire::Opcode::NOP));
  EXPECT_EQ(r.tag, 0xdeadbeefu);
  EXPECT_EQ(r.aux, kCard);
  EXPECT_TRUE(r.blob.empty());
}

TEST_F(TableCommands, PutThenGetReturnsBlobAndMetadata) {
  const Bytes blob = pattern(200, 3);
  const TableResponse p = t.put(a, blob, 2000, /*ctx=*/5, 0, 0, /*tag=*/11);
  EXPECT_EQ(p.st(), wire::Status::OK);
  EXPECT_EQ(p.tag, 11u);
  EXPECT_EQ(p.version, local_version(1));
  EXPECT_EQ(p.expiry, 2000u);
  EXPECT_EQ(p.flags, 0u);
  EXPECT_TRUE(p.blob.empty());

  const TableResponse g = t.lookup(wire::Opcode::GET, a, 5, 12);
  EXPECT_EQ(g.st(), wire::Status::OK);
  EXPECT_EQ(g.tag, 12u);
  EXPECT_EQ(g.blob, blob);
  EXPECT_EQ(g.version, local_version(1));
  EXPECT_EQ(g.expiry, 2000u);
  EXPECT_EQ(g.ctx, 5u);
  EXPECT_EQ(g.key_len, 32u);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), g.key.begin()));
}

TEST_F(TableCommands, PutStoresEveryBlobLengthExactly) {
  for (size_t len : {1, 2, 63, 64, 65, 127, 128, 129, 255, 256}) {
    const Bytes id = pattern(16, static_cast<uint8_t>(len));
    const Bytes blob = pattern(len, static_cast<uint8_t>(len * 3));
    const wire::Status st = t.put(id, blob, 5000).st();
    ASSERT_TRUE(st == wire::Status::OK || st == wire::Status::EVICTED) << len;
    EXPECT_EQ(t.get(id).blob, blob) << len;
  }
}

TEST_F(TableCommands, GetMissOnUnknownKey) {
  const TableResponse r = t.get(a);
  EXPECT_EQ(r.st(), wire::Status::MISS);
  EXPECT_EQ(r.version, 0u);
  EXPECT_TRUE(r.blob.empty());
}

TEST_F(TableCommands, ContextAndLengthArePartOfTheKey) {
  const Bytes ab = {0xab, 0xcd};
  const Bytes ab0 = {0xab, 0xcd, 0x00};  // same zero-padded bytes, different length
  ASSERT_EQ(t.put(ab, pattern(10, 1), 5000, 1).st(), wire::Status::OK);
  EXPECT_EQ(t.get(ab, 1).st(), wire::Status::OK);
  EXPECT_EQ(t.get(ab, 2).st(), wire::Status::MISS);
  EXPECT_EQ(t.get(ab0, 1).st(), wire::Status::MISS);
}

TEST_F(TableCommands, BytesPastKeyLenAreIgnored) {
  ASSERT_EQ(t.put(b, pattern(10, 1), 5000).st(), wire::Status::OK);
  TableCommand g = keyed(wire::Opcode::GET, b);
  for (unsigned i = 8; i < 32; ++i) g.key[i] = 0xee;  // junk in the padding
  const TableResponse r = t.run(g);
  EXPECT_EQ(r.st(), wire::Status::OK);
  for (unsigned i = 8; i < 32; ++i) EXPECT_EQ(r.key[i], 0) << "echoed key is masked";
}

TEST_F(TableCommands, NewerLocalPutReplacesEntry) {
  ASSERT_EQ(t.put(a, pattern(100, 1), 3000).st(), wire::Status::OK);
  const TableResponse p = t.put(a, pattern(50, 2), 4000);
  EXPECT_EQ(p.st(), wire::Status::OK);
  EXPECT_EQ(p.version, local_version(2));
  const TableResponse g = t.get(a);
  EXPECT_EQ(g.blob, pattern(50, 2));
  EXPECT_EQ(g.expiry, 4000u);
  EXPECT_EQ(t.stats()[wire::STATS_LIVE], 1u);
}

TEST_F(TableCommands, TakeReturnsEntryOnceThenMisses) {
  ASSERT_EQ(t.put(a, pattern(80, 9), 3000).st(), wire::Status::OK);
  const TableResponse r = t.lookup(wire::Opcode::TAKE, a, 0, 99);
  EXPECT_EQ(r.st(), wire::Status::OK);
  EXPECT_EQ(r.tag, 99u);
  EXPECT_EQ(r.blob, pattern(80, 9));
  EXPECT_EQ(r.version, local_version(1));
  EXPECT_EQ(t.lookup(wire::Opcode::TAKE, a).st(), wire::Status::MISS);
  EXPECT_EQ(t.get(a).st(), wire::Status::MISS);
  const auto s = t.stats();
  EXPECT_EQ(s[wire::STATS_LIVE], 0u);
  EXPECT_EQ(s[wire::STATS_TOMBSTONES], 1u);
  EXPECT_EQ(s[wire::STATS_DELETES], 1u);
}

TEST_F(TableCommands, DelLiveEntryThenMiss) {
  ASSERT_EQ(t.put(a, pattern(80, 9), 3000).st(), wire::Status::OK);
  const TableResponse d = t.del(a);
  EXPECT_EQ(d.st(), wire::Status::OK);
  EXPECT_EQ(d.flags, static_cast<unsigned>(wire::Flags::TOMBSTONE));
  EXPECT_EQ(d.version, local_version(2));
  EXPECT_EQ(d.expiry, 3000u) << "tombstone lives as long as the entry would have";
  EXPECT_EQ(t.get(a).st(), wire::Status::MISS);
  EXPECT_EQ(t.del(a).st(), wire::Status::MISS) << "deleting a tombstone";
  EXPECT_EQ(t.del(b).st(), wire::Status::MISS) << "deleting an unknown key";
}

TEST_F(TableCommands, ExportNeverConsumesEvenSingleUse) {
  ASSERT_EQ(t.put(a, pattern(30, 4), 3000, 0, 0, static_cast<unsigned>(wire::Flags::SINGLE_USE)).st(), wire::Status::OK);
  for (int i = 0; i < 3; ++i) {
    const TableResponse e = t.lookup(wire::Opcode::EXPORT, a);
    EXPECT_EQ(e.st(), wire::Status::OK);
    EXPECT_EQ(e.blob, pattern(30, 4));
    EXPECT_EQ(e.flags, static_cast<unsigned>(wire::Flags::SINGLE_USE));
  }
  EXPECT_EQ(t.stats()[wire::STATS_LIVE], 1u);
}

TEST_F(TableCommands, SingleUseEntryIsConsumedByFirstGet) {
  ASSERT_EQ(t.put(a, pattern(30, 4), 3000, 0, 0, static_cast<unsigned>(wire::Flags::SINGLE_USE)).st(), wire::Status::OK);
  const TableResponse g = t.get(a);
  EXPECT_EQ(g.st(), wire::Status::OK);
  EXPECT_EQ(g.blob, pattern(30, 4));
  EXPECT_EQ(g.flags, static_cast<unsigned>(wire::Flags::SINGLE_USE));
  EXPECT_EQ(t.get(a).st(), wire::Status::MISS);
  EXPECT_EQ(t.stats()[wire::STATS_TOMBSTONES], 1u);
}

TEST_F(TableCommands, PutIgnoresTombstoneFlagFromCaller) {
  ASSERT_EQ(t.put(a, pattern(30, 4), 3000, 0, 0, 0xff).flags, static_cast<unsigned>(wire::Flags::SINGLE_USE));
  EXPECT_EQ(t.get(a).st(), wire::Status::OK);
}

TEST_F(TableCommands, SetTimeSetsTheClockFromAux) {
  EXPECT_EQ(t.set_time(123456).st(), wire::Status::OK);
  EXPECT_EQ(t.stats()[wire::STATS_NOW], 123456u);
  TableCommand c = make_cmd(wire::Opcode::SET_TIME);
  c.aux = 0x1'0000'0005ull;  // the clock is 32 bits
  EXPECT_EQ(t.run(c).st(), wire::Status::OK);
  EXPECT_EQ(t.stats()[wire::STATS_NOW], 5u);
  EXPECT_EQ(t.table().now(), 5u);
}

TEST_F(TableCommands, StatsCountsEveryOutcome) {
  t.put(a, pattern(10, 1), 2000);                      // puts 1, live 1
  t.get(a);                                            // gets 1, hits 1
  t.get(b);                                            // gets 2, misses 1
  t.put(b, pattern(300, 1), 2000);                     // too_large 1
  t.run(make_cmd(wire::Opcode::TRANSFER));             // bad_cmd 1
  t.put(a, pattern(10, 1), 2000, 0, local_version(0)); // stale 1 (older than lamport 1)
  t.del(a);                                            // deletes 1, tombstone 1
  t.put(b, pattern(10, 1), 1500);                      // puts 2, live 1
  t.set_time(1500);
  t.get(b);                                            // gets 3, expired 1
  const auto s = t.stats();
  EXPECT_EQ(s[wire::STATS_LIVE], 0u);
  EXPECT_EQ(s[wire::STATS_TOMBSTONES], 1u);
  EXPECT_EQ(s[wire::STATS_PUTS], 2u);
  EXPECT_EQ(s[wire::STATS_GETS], 3u);
  EXPECT_EQ(s[wire::STATS_HITS], 1u);
  EXPECT_EQ(s[wire::STATS_MISSES], 1u);
  EXPECT_EQ(s[wire::STATS_EXPIRED], 1u);
  EXPECT_EQ(s[wire::STATS_EVICTIONS], 0u);
  EXPECT_EQ(s[wire::STATS_TOO_LARGE], 1u);
  EXPECT_EQ(s[wire::STATS_BAD_CMD], 1u);
  EXPECT_EQ(s[wire::STATS_STALE], 1u);
  EXPECT_EQ(s[wire::STATS_SWEPT], 0u);
  EXPECT_EQ(s[wire::STATS_DELETES], 1u);
  EXPECT_EQ(s[wire::STATS_LAMPORT], 3u);  // two local PUTs and one DEL; the stale PUT carried lamport 0
  EXPECT_EQ(s[wire::STATS_NOW], 1500u);
  EXPECT_EQ(s[wire::STATS_CARD], kCard);
}

TEST_F(TableCommands, StatsResponseIsSixteenWords) {
  const TableResponse r = t.run(make_cmd(wire::Opcode::STATS, 5));
  EXPECT_EQ(r.st(), wire::Status::OK);
  EXPECT_EQ(r.tag, 5u);
  EXPECT_EQ(r.blob.size(), wire::STATS_WORDS * 8u);
}

TEST_F(TableCommands, FlushDropsEntriesAndTombstonesButKeepsClocks) {
  t.put(a, pattern(10, 1), 2000);
  t.put(b, pattern(10, 1), 2000);
  t.del(b);
  EXPECT_EQ(t.run(make_cmd(wire::Opcode::FLUSH, 3)).st(), wire::Status::OK);
  EXPECT_EQ(t.get(a).st(), wire::Status::MISS);
  const auto s = t.stats();
  EXPECT_EQ(s[wire::STATS_LIVE], 0u);
  EXPECT_EQ(s[wire::STATS_TOMBSTONES], 0u);
  EXPECT_EQ(s[wire::STATS_LAMPORT], 3u);
  EXPECT_EQ(s[wire::STATS_NOW], 1000u);
  EXPECT_EQ(t.put(a, pattern(10, 1), 2000).version, local_version(4));
}

TEST_F(TableCommands, TransferIsBadCmdAtTheTable) {
  t.put(a, pattern(10, 1), 2000);
  TableCommand c = keyed(wire::Opcode::TRANSFER, a, 0, 77);
  c.aux = 3;
  const TableResponse r = t.run(c);
  EXPECT_EQ(r.st(), wire::Status::BAD_CMD);
  EXPECT_EQ(r.tag, 77u);
  EXPECT_EQ(t.get(a).st(), wire::Status::OK) << "entry untouched";
}

TEST_F(TableCommands, RemoteVersionIsStoredVerbatim) {
  const uint64_t remote = (0x500ull << wire::CARD_BITS) | 3;
  const TableResponse p = t.put(a, pattern(10, 1), 2000, 0, remote);
  EXPECT_EQ(p.st(), wire::Status::OK);
  EXPECT_EQ(p.version, remote);
  EXPECT_EQ(t.get(a).version, remote);
}

}  // namespace
}  // namespace sessnic::table_test
