// Malformed commands: each gets BAD_CMD or TOO_LARGE with its tag, its payload is
// drained (the harness checks that no beat is left behind), the next command works,
// and the table's contents are exactly what they were.
#include <gtest/gtest.h>

#include "session_table.hpp"
#include "table_harness.hpp"
#include "table_test_util.hpp"

namespace sessnic::table_test {
namespace {

using Table = SessionTable<5, 4>;
using wire::Opcode;
using wire::Status;

class TableBadInput : public ::testing::Test {
 protected:
  TableBadInput() : t(1) {}
  void SetUp() override {
    t.set_time(100);
    for (uint8_t i = 0; i < 12; ++i) {
      ids.push_back(pattern(1 + i * 2, i));
      ASSERT_EQ(t.put(ids.back(), pattern(16 + i * 20, i), 1000).st(), Status::OK);
    }
    before = t.stats();
  }

  // Every stored entry still answers with its blob; counters other than the error
  // counters (and lookups made here) are unchanged.
  void expect_table_intact() {
    auto now = t.stats();
    for (unsigned i = 0; i < wire::STATS_COUNT; ++i) {
      if (i != wire::STATS_BAD_CMD && i != wire::STATS_TOO_LARGE) {
        EXPECT_EQ(now[i], before[i]) << wire::stats_name(i);
      }
    }
    for (uint8_t i = 0; i < ids.size(); ++i) {
      const TableResponse r = t.lookup(Opcode::EXPORT, ids[i]);
      EXPECT_EQ(r.st(), Status::OK) << int{i};
      EXPECT_EQ(r.blob, pattern(16 + i * 20, i)) << int{i};
    }
  }

  void expect_rejected(const TableCommand& c, Status want) {
    const TableResponse r = t.run(c);
    EXPECT_EQ(r.st(), want) << describe(c);
    EXPECT_EQ(r.tag, c.tag) << describe(c);
    EXPECT_EQ(r.version, 0u);
    EXPECT_TRUE(r.blob.empty());
    EXPECT_EQ(t.run(make_cmd(Opcode::NOP, c.tag + 1)).st(), Status::OK) << "next command after " << describe(c);
  }

  KernelHarness<Table> t;
  std::vector<Bytes> ids;
  std::vector<uint64_t> before;
};

TEST_F(TableBadInput, UnknownOpcodesAreBadCmd) {
  uint32_t tag = 1000;
  for (unsigned op : {10u, 12u, 42u, 0x80u, 0xffu}) {  // 10 = PULL: a card opcode, never the table's
    TableCommand c = keyed(Opcode::GET, ids[0], 0, tag += 2);
    c.op = op;
    expect_rejected(c, Status::BAD_CMD);
  }
  EXPECT_EQ(t.stats()[wire::STATS_BAD_CMD], 5u);
  expect_table_intact();
}

TEST_F(TableBadInput, KeyLengthZeroOrOver32IsBadCmdForKeyedCommands) {
  uint32_t tag = 2000;
  for (Opcode op : {Opcode::PUT, Opcode::GET, Opcode::TAKE, Opcode::DEL, Opcode::EXPORT}) {
    for (unsigned len : {0u, 33u, 64u, 255u}) {
      TableCommand c = keyed(op, ids[3], 0, tag += 2);
      c.key_len = len;
      if (op == Opcode::PUT) {
        c.blob = pattern(10, 1);
        c.expiry = 1000;
      }
      expect_rejected(c, Status::BAD_CMD);
    }
  }
  EXPECT_EQ(t.stats()[wire::STATS_BAD_CMD], 20u);
  expect_table_intact();
}

TEST_F(TableBadInput, BlobOverSlotIsTooLargeAndNothingIsStored) {
  const Bytes id = pattern(20, 0x77);
  for (size_t len : {257, 320, 1000, 65535}) {
    TableCommand c = keyed(Opcode::PUT, id, 0, static_cast<uint32_t>(len));
    c.blob = pattern(len, 5);
    c.expiry = 1000;
    expect_rejected(c, Status::TOO_LARGE);
    EXPECT_EQ(t.get(id).st(), Status::MISS);
  }
  // Even over an existing entry: the stored one stays as it was.
  TableCommand c = keyed(Opcode::PUT, ids[5], 0, 9);
  c.blob = pattern(300, 5);
  c.expiry = 1000;
  expect_rejected(c, Status::TOO_LARGE);
  before[wire::STATS_GETS] += 4;
  before[wire::STATS_MISSES] += 4;
  expect_table_intact();
  EXPECT_EQ(t.stats()[wire::STATS_TOO_LARGE], 5u);
}

TEST_F(TableBadInput, BlobOnANonPutCommandIsBadCmd) {
  uint32_t tag = 3000;
  for (Opcode op : {Opcode::NOP, Opcode::GET, Opcode::TAKE, Opcode::DEL, Opcode::EXPORT, Opcode::SET_TIME,
                    Opcode::STATS, Opcode::FLUSH}) {
    TableCommand c = keyed(op, ids[1], 0, tag += 2);
    c.blob = pattern(70, 1);
    expect_rejected(c, Status::BAD_CMD);
  }
  expect_table_intact();
  EXPECT_EQ(t.table().now(), 100u) << "SET_TIME with a payload did not run";
}

TEST_F(TableBadInput, PutWithoutBlobIsBadCmd) {
  TableCommand c = keyed(Opcode::PUT, pattern(5, 1), 0, 4);
  c.expiry = 1000;
  expect_rejected(c, Status::BAD_CMD);
  expect_table_intact();
}

TEST_F(TableBadInput, TruncatedPayloadIsBadCmd) {
  // TLAST on an earlier beat than blob_len announces, including on the header itself.
  for (int missing : {1, 2, 4}) {
    TableCommand c = keyed(Opcode::PUT, ids[2], 0, 40 + missing);
    c.blob = pattern(250, 9);  // 4 beats
    c.expiry = 1000;
    c.extra_beats = -missing;
    expect_rejected(c, Status::BAD_CMD);
  }
  TableCommand big = keyed(Opcode::PUT, pattern(9, 9), 0, 50);
  big.blob = pattern(256, 9);
  big.blob_len_field = 300;  // would be TOO_LARGE, but the framing is checked first
  big.expiry = 1000;
  expect_rejected(big, Status::BAD_CMD);
  expect_table_intact();
}

TEST_F(TableBadInput, ExtraBeatsAreBadCmd) {
  uint32_t tag = 60;
  for (int extra : {1, 3, 10}) {
    TableCommand c = keyed(Opcode::PUT, ids[4], 0, tag += 2);
    c.blob = pattern(64, 1);
    c.expiry = 1000;
    c.extra_beats = extra;
    expect_rejected(c, Status::BAD_CMD);
    TableCommand g = keyed(Opcode::GET, ids[4], 0, tag += 2);
    g.extra_beats = extra;  // header-only command followed by junk beats
    expect_rejected(g, Status::BAD_CMD);
  }
  TableCommand tooBig = keyed(Opcode::PUT, ids[4], 0, 99);
  tooBig.blob = pattern(300, 1);
  tooBig.expiry = 1000;
  tooBig.extra_beats = 1;
  expect_rejected(tooBig, Status::BAD_CMD);
  expect_table_intact();
}

TEST_F(TableBadInput, BlobLenDecidesLengthWithinTheSentBeats) {
  // 100 bytes sent in 2 beats, header says 70: the entry holds exactly 70 bytes and the
  // 30 bytes past blob_len are not kept (not even as padding in the slot).
  TableCommand c = keyed(Opcode::PUT, pattern(7, 7), 0, 1);
  c.blob = pattern(100, 3);
  c.blob_len_field = 70;
  c.expiry = 1000;
  ASSERT_EQ(t.run(c).st(), Status::OK);
  const TableResponse g = t.get(pattern(7, 7));
  ASSERT_EQ(g.st(), Status::OK);
  EXPECT_EQ(g.blob, Bytes(c.blob.begin(), c.blob.begin() + 70));
}

TEST_F(TableBadInput, NonKeyedCommandsIgnoreKeyLength) {
  TableCommand c = make_cmd(Opcode::NOP, 5);
  c.key_len = 200;
  EXPECT_EQ(t.run(c).st(), Status::OK);
  TableCommand s = make_cmd(Opcode::SET_TIME, 6);
  s.key_len = 0;
  s.aux = 150;
  EXPECT_EQ(t.run(s).st(), Status::OK);
  EXPECT_EQ(t.table().now(), 150u);
}

TEST_F(TableBadInput, ABarrageOfMalformedCommandsLeavesTheTableIntact) {
  uint32_t tag = 1;
  for (int round = 0; round < 50; ++round) {
    for (const Bytes& id : ids) {
      TableCommand c = keyed(static_cast<Opcode>(round % 9), id, 0, tag++);
      c.expiry = 2000;
      switch (round % 5) {
        case 0: c.op = 10 + round; break;
        case 1: c.op = static_cast<unsigned>(Opcode::GET); c.key_len = 33 + round; break;
        case 2: c.blob = pattern(64 + round, 1); c.extra_beats = -1; break;
        case 3: c.blob = pattern(10, 1); c.extra_beats = 2; break;
        case 4: c.op = static_cast<unsigned>(Opcode::PUT); c.blob = pattern(257 + round, 1); break;
      }
      const TableResponse r = t.run(c);
      EXPECT_TRUE(r.st() == Status::BAD_CMD || r.st() == Status::TOO_LARGE) << describe(c);
      EXPECT_EQ(r.tag, c.tag);
    }
  }
  expect_table_intact();
}

}  // namespace
}  // namespace sessnic::table_test
