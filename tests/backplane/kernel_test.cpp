// The backplane_sync kernel as HLS C-simulation: card-geometry kernels wired directly to
// session-table kernels by streams, no driver, no threads, a simulated clock. These are
// the transactions the RTL is checked against.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>
#include <vector>

#include "backplane_sync.hpp"
#include "session_table.hpp"

namespace sessnic {
namespace {

using Bp = BackplaneSync<16, 64>;
using Table = SessionTable<6, 4>;
constexpr unsigned kBcast = 255;

struct KCard {
  Table table;
  Bp bp;
  hls::stream<Beat> cmd_in, rsp_out, tbl_cmd, tbl_rsp, fin, fout;
  Bp::Io io{cmd_in, rsp_out, tbl_cmd, tbl_rsp, fin, fout};
  std::vector<Beat> results;  // rsp_out results of TRANSFER/GET (single beats)
  unsigned joins = 0;         // rsp_out "peer joined" notices
};

Beat entry_beat(wire::Opcode op, uint8_t key_byte, uint64_t version, uint32_t expiry, unsigned blob_len) {
  Beat h;
  clear_beat(h);
  wire::set_field(h.data, wire::header::op, static_cast<unsigned>(op));
  wire::set_field(h.data, wire::header::key_len, 16);
  h.data[1] = 0x1111111111111100ull | key_byte;
  h.data[2] = 0x2222222222222222ull;
  wire::set_field(h.data, wire::header::ctx, 3);
  wire::set_field(h.data, wire::header::version, version);
  wire::set_field(h.data, wire::header::expiry, expiry);
  wire::set_field(h.data, wire::header::blob_len, blob_len);
  return h;
}

void write_cmd(hls::stream<Beat>& s, Beat h, unsigned blob_len, uint8_t fill, uint64_t aux = 0) {
  wire::set_field(h.data, wire::header::aux, aux);
  const unsigned nb = beats_for(blob_len);
  h.last = nb == 0;
  s.write(h);
  for (unsigned b = 0; b < nb; ++b) {
    Beat d;
    clear_beat(d);
    for (unsigned i = 0; i < 64 && b * 64 + i < blob_len; ++i)
      d.data[i / 8] |= static_cast<uint64_t>(fill + b * 64 + i) << (8 * (i % 8));
    d.last = b + 1 == nb;
    s.write(d);
  }
}

// One whole response from a table stream.
std::vector<Beat> read_msg(hls::stream<Beat>& s) {
  std::vector<Beat> m;
  Beat b = s.read();
  m.push_back(b);
  while (!b.last) {
    b = s.read();
    m.push_back(b);
  }
  return m;
}

struct Net {
  std::map<unsigned, KCard*> cards;
  uint64_t now = 1000;
  // Fault hook: return how many copies of frame #n (0 = drop) to deliver.
  std::function<int(uint64_t n, const std::vector<Beat>&)> copies = [](uint64_t, const std::vector<Beat>&) { return 1; };
  uint64_t frames = 0;
  bool reverse = false;  // deliver each round's frames in reverse order

  void configure(unsigned card, uint32_t epoch, wire::BpMode mode = wire::BpMode::REPLICATE) {
    BackplaneConfig c;
    c.card = static_cast<uint8_t>(card);
    c.epoch = epoch;
    c.mode = mode;
    c.rto = 50;
    c.max_retries = 8;
    c.hello_interval = 400;
    for (auto& [id, k] : cards)
      if (id != card) c.peers[id / 64] |= 1ull << (id % 64);
    cards[card]->bp.configure(c);
    cards[card]->table.reset(static_cast<uint8_t>(card));
    Beat t = entry_beat(wire::Opcode::SET_TIME, 0, 0, 0, 0);
    write_cmd(cards[card]->tbl_cmd, t, 0, 0, 100);
    cards[card]->table.step(cards[card]->tbl_cmd, cards[card]->tbl_rsp);
    read_msg(cards[card]->tbl_rsp);
  }

  // One round: every kernel runs until idle, tables answer, frames cross the link.
  void round() {
    std::vector<std::pair<unsigned, std::vector<Beat>>> wire_frames;
    for (auto& [id, k] : cards) {
      for (int guard = 0; guard < 10000; ++guard) {
        const bool did = k->bp.step(now, k->io);
        bool tbl = false;
        while (k->table.step(k->tbl_cmd, k->tbl_rsp)) tbl = true;
        if (!did && !tbl) break;
      }
      k->bp.service_timers(now, k->io);
      while (!k->rsp_out.empty()) {
        const Beat r = k->rsp_out.read();
        if (wire::get_field(r.data, wire::header::op) == static_cast<unsigned>(wire::Opcode::NOP)) ++k->joins;
        else k->results.push_back(r);
      }
      while (!k->fout.empty()) wire_frames.emplace_back(id, read_msg(k->fout));
    }
    if (reverse) std::reverse(wire_frames.begin(), wire_frames.end());
    for (auto& [src, f] : wire_frames) {
      const unsigned dst = static_cast<unsigned>(wire::get_field(f[0].data, wire::frame::dst));
      const int n = copies(frames++, f);
      for (auto& [id, k] : cards) {
        if (id == src || (dst != kBcast && dst != id)) continue;
        for (int c = 0; c < n; ++c)
          for (const Beat& b : f) k->fin.write(b);
      }
    }
    now += 10;
  }
  void run(int rounds) {
    for (int i = 0; i < rounds; ++i) round();
  }
};

std::vector<Beat> table_op(KCard& k, Beat h, unsigned blob_len = 0, uint8_t fill = 0) {
  write_cmd(k.tbl_cmd, h, blob_len, fill);
  k.table.step(k.tbl_cmd, k.tbl_rsp);
  return read_msg(k.tbl_rsp);
}

unsigned status_of(const std::vector<Beat>& m) {
  return static_cast<unsigned>(wire::get_field(m[0].data, wire::header::status));
}

// A local write on card k, then the replicate event to its backplane kernel.
uint64_t local_put(KCard& k, uint8_t key, unsigned blob_len, uint8_t fill) {
  auto r = table_op(k, entry_beat(wire::Opcode::PUT, key, 0, 5000, blob_len), blob_len, fill);
  EXPECT_EQ(status_of(r), 0u);
  const uint64_t v = wire::get_field(r[0].data, wire::header::version);
  write_cmd(k.cmd_in, entry_beat(wire::Opcode::PUT, key, v, 5000, blob_len), blob_len, fill, kBcast);
  return v;
}

// Bit-at-a-time CRC-32 (IEEE, reflected): the definition the slicing tables must match.
uint32_t crc32_reference(const std::vector<Beat>& f) {
  uint32_t c = 0xFFFFFFFFu;
  for (std::size_t b = 0; b < f.size(); ++b)
    for (unsigned i = 0; i < 64; ++i) {
      uint8_t byte = static_cast<uint8_t>(f[b].data[i / 8] >> (8 * (i % 8)));
      if (b == 0 && i >= 28 && i < 32) byte = 0;  // the crc field itself (bits 224..255)
      c ^= byte;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
  return c ^ 0xFFFFFFFFu;
}

class backplane_kernel : public ::testing::Test {
 protected:
  void make(std::initializer_list<unsigned> ids) {
    for (unsigned id : ids) store[id] = std::make_unique<KCard>();
    for (auto& [id, k] : store) net.cards[id] = k.get();
    for (auto& [id, k] : store) net.configure(id, 7);
    net.run(10);  // HELLOs: everybody up
  }
  std::map<unsigned, std::unique_ptr<KCard>> store;
  Net net;
};

TEST_F(backplane_kernel, UpdateIsAppliedAsAVersionedPutOnEveryPeer) {
  make({1, 2, 3});
  for (unsigned p : {2u, 3u}) EXPECT_TRUE(store[1]->bp.peer_up(p));
  const uint64_t v = local_put(*store[1], 9, 150, 0x40);
  net.run(5);
  const auto ref = table_op(*store[1], entry_beat(wire::Opcode::EXPORT, 9, 0, 0, 0));
  for (unsigned p : {2u, 3u}) {
    const auto got = table_op(*store[p], entry_beat(wire::Opcode::EXPORT, 9, 0, 0, 0));
    ASSERT_EQ(status_of(got), 0u) << "card " << p;
    EXPECT_EQ(wire::get_field(got[0].data, wire::header::version), v);
    ASSERT_EQ(got.size(), ref.size());
    for (std::size_t b = 1; b < got.size(); ++b)
      for (unsigned w = 0; w < 8; ++w) EXPECT_EQ(got[b].data[w], ref[b].data[w]);
  }
  EXPECT_EQ(store[1]->bp.slots_in_use(), 0u) << "both copies acknowledged";
}

TEST_F(backplane_kernel, FrameCrcMatchesTheBitwiseDefinition) {
  make({1, 2});
  std::vector<std::vector<Beat>> seen;
  net.copies = [&](uint64_t, const std::vector<Beat>& f) {
    seen.push_back(f);
    return 1;
  };
  local_put(*store[1], 4, 200, 7);
  net.run(3);
  ASSERT_FALSE(seen.empty());
  bool saw_update = false;
  for (const auto& f : seen) {
    EXPECT_EQ(wire::get_field(f[0].data, wire::frame::crc), crc32_reference(f));
    EXPECT_EQ(wire::get_field(f[0].data, wire::frame::fver), 1u);
    if (wire::get_field(f[0].data, wire::frame::ftype) == static_cast<unsigned>(wire::FrameType::UPDATE)) {
      saw_update = true;
      EXPECT_EQ(wire::get_field(f[0].data, wire::frame::payload_len), 64u + 200u);
      EXPECT_EQ(f.size(), 2u + 4u);
      EXPECT_EQ(wire::get_field(f[0].data, wire::frame::seq), 1u);
    }
  }
  EXPECT_TRUE(saw_update);
}

TEST_F(backplane_kernel, LossDuplicationAndReorderStillConverge) {
  make({1, 2, 3});
  net.copies = [](uint64_t n, const std::vector<Beat>&) { return n % 4 == 1 ? 0 : (n % 5 == 0 ? 2 : 1); };
  net.reverse = true;
  std::vector<uint64_t> versions;
  for (uint8_t key = 0; key < 40; ++key) {
    versions.push_back(local_put(*store[1 + key % 3], key, 64 + key, key));
    net.round();
  }
  net.run(400);
  for (uint8_t key = 0; key < 40; ++key)
    for (unsigned c : {1u, 2u, 3u}) {
      const auto got = table_op(*store[c], entry_beat(wire::Opcode::EXPORT, key, 0, 0, 0));
      ASSERT_EQ(status_of(got), 0u) << "key " << int(key) << " card " << c;
      EXPECT_EQ(wire::get_field(got[0].data, wire::header::version), versions[key]);
    }
  uint64_t rtx = 0, dup = 0;
  for (auto& [id, k] : store) {
    rtx += k->bp.counter(wire::BP_STATS_RETRANSMITS);
    dup += k->bp.counter(wire::BP_STATS_RX_DUP);
    EXPECT_EQ(k->bp.slots_in_use(), 0u);
  }
  EXPECT_GT(rtx, 0u);
  EXPECT_GT(dup, 0u);
}

// Once every reliable frame is acknowledged, no retransmit deadline is left: the software
// pump sleeps until the next HELLO instead of waking at the acked frame's old deadline to
// scan every slot for nothing. A frame that is lost is still resent at its deadline.
TEST_F(backplane_kernel, AnAcknowledgedFrameLeavesNoRetransmitDeadline) {
  make({1, 2, 3});
  const uint64_t idle = store[1]->bp.next_deadline();
  EXPECT_GT(idle, net.now + 50) << "only the HELLO timer (rto is 50)";
  local_put(*store[1], 9, 150, 0x40);
  net.round();  // sent: its retransmit deadline is the earliest
  EXPECT_EQ(store[1]->bp.slots_in_use(), 2u);
  EXPECT_LE(store[1]->bp.next_deadline(), net.now + 50);
  net.run(3);  // both copies acked well before that deadline
  ASSERT_EQ(store[1]->bp.slots_in_use(), 0u);
  EXPECT_EQ(store[1]->bp.next_deadline(), idle);

  // Card 3 drops the next one once: resent at its deadline, then acked.
  int dropped = 0;
  net.copies = [&](uint64_t, const std::vector<Beat>& f) {
    const bool to3 = wire::get_field(f[0].data, wire::frame::dst) == 3u;
    return to3 && dropped++ == 0 ? 0 : 1;
  };
  local_put(*store[1], 10, 40, 0x10);
  net.run(30);
  EXPECT_EQ(store[1]->bp.counter(wire::BP_STATS_RETRANSMITS), 1u);
  EXPECT_EQ(store[1]->bp.slots_in_use(), 0u);
  EXPECT_GT(store[1]->bp.next_deadline(), net.now + 50) << "only the HELLO timer again";
  EXPECT_EQ(status_of(table_op(*store[3], entry_beat(wire::Opcode::EXPORT, 10, 0, 0, 0))), 0u);
}

TEST_F(backplane_kernel, TransferReportsOkMissAndFailed) {
  make({1, 2});
  net.configure(1, 8, wire::BpMode::TRANSFER);
  net.configure(2, 8, wire::BpMode::TRANSFER);
  net.run(10);
  table_op(*store[1], entry_beat(wire::Opcode::PUT, 5, 0, 5000, 90), 90, 1);
  Beat t = entry_beat(wire::Opcode::TRANSFER, 5, 0, 0, 0);
  wire::set_field(t.data, wire::header::tag, 77);
  write_cmd(store[1]->cmd_in, t, 0, 0, 2 | (kBcast << 8));
  Beat miss = entry_beat(wire::Opcode::TRANSFER, 6, 0, 0, 0);
  wire::set_field(miss.data, wire::header::tag, 78);
  write_cmd(store[1]->cmd_in, miss, 0, 0, 2 | (kBcast << 8));
  net.run(5);
  // Results come back by tag (the MISS is immediate, the OK after the round trip).
  ASSERT_EQ(store[1]->results.size(), 2u);
  std::map<uint64_t, uint64_t> status_by_tag;
  for (const Beat& r : store[1]->results)
    status_by_tag[wire::get_field(r.data, wire::header::tag)] = wire::get_field(r.data, wire::header::status);
  EXPECT_EQ(status_by_tag.at(77), 0u);
  EXPECT_EQ(status_by_tag.at(78), static_cast<unsigned>(wire::Status::MISS));
  EXPECT_EQ(status_of(table_op(*store[2], entry_beat(wire::Opcode::EXPORT, 5, 0, 0, 0))), 0u);

  // Card 2 goes silent: the transfer is retried, then FAILED and the peer marked down.
  store[1]->results.clear();
  net.copies = [](uint64_t, const std::vector<Beat>&) { return 0; };
  table_op(*store[1], entry_beat(wire::Opcode::PUT, 8, 0, 5000, 30), 30, 2);
  wire::set_field(t.data, wire::header::tag, 79);
  t.data[1] = (t.data[1] & ~0xffull) | 8;
  write_cmd(store[1]->cmd_in, t, 0, 0, 2 | (kBcast << 8));
  net.run(2000);
  ASSERT_EQ(store[1]->results.size(), 1u);
  EXPECT_EQ(wire::get_field(store[1]->results[0].data, wire::header::status),
            static_cast<unsigned>(wire::Status::FAILED));
  EXPECT_FALSE(store[1]->bp.peer_up(2));
  EXPECT_EQ(store[1]->bp.counter(wire::BP_STATS_RTX_GIVEUP), 1u);
}

// A PULL of a SINGLE_USE entry moves it in transfer mode: the owner's table GET consumes
// it as it answers, and the PULL_RESP's entry names the puller as writer, one lamport
// tick past the owner's tombstone (the puller's TAKE owes the owner no DELETE). Every
// frame is delivered twice, so each PULL and PULL_RESP also arrives as a duplicate: the
// duplicate PULL is only acked (no second answer, nothing resurrected). Entries that are
// not single use (TLS 1.2) are copied, and replicate mode copies single-use ones too.
TEST_F(backplane_kernel, PullMovesASingleUseEntryInTransferModeAndCopiesTheRest) {
  make({1, 2});
  for (unsigned c : {1u, 2u}) net.configure(c, 8, wire::BpMode::TRANSFER);
  net.run(10);
  net.copies = [](uint64_t, const std::vector<Beat>&) { return 2; };
  auto put = [&](unsigned card, uint8_t key, bool single_use) {
    Beat h = entry_beat(wire::Opcode::PUT, key, 0, 5000, 80);
    if (single_use) wire::set_field(h.data, wire::header::flags, static_cast<unsigned>(wire::Flags::SINGLE_USE));
    const auto r = table_op(*store[card], h, 80, key);
    EXPECT_EQ(status_of(r), 0u);
    return wire::get_field(r[0].data, wire::header::version);
  };
  auto pull = [&](uint8_t key, uint32_t tag) {
    Beat g = entry_beat(wire::Opcode::GET, key, 0, 0, 0);
    wire::set_field(g.data, wire::header::tag, tag);
    write_cmd(store[2]->cmd_in, g, 0, 0, kBcast | (1u << 8));  // sync_cmd owner = card 1
    net.run(6);
    for (const Beat& r : store[2]->results)
      if (wire::get_field(r.data, wire::header::tag) == tag) return r;
    ADD_FAILURE() << "no result for tag " << tag;
    return Beat{};
  };
  auto export_of = [&](unsigned card, uint8_t key) {
    return table_op(*store[card], entry_beat(wire::Opcode::EXPORT, key, 0, 0, 0));
  };
  const uint64_t v_ticket = put(1, 5, true);
  const uint64_t v_session = put(1, 6, false);
  const uint64_t served0 = store[1]->bp.counter(wire::BP_STATS_PULLS_SERVED);

  const Beat moved = pull(5, 11);
  ASSERT_EQ(wire::get_field(moved.data, wire::header::status), 0u);
  const uint64_t vm = wire::get_field(moved.data, wire::header::version);
  EXPECT_EQ(vm & 0xff, 2u) << "the moved copy is the puller's";
  EXPECT_GT(vm >> 8, v_ticket >> 8) << "newer than the entry it replaces";
  EXPECT_NE(wire::get_field(moved.data, wire::header::flags) & static_cast<unsigned>(wire::Flags::SINGLE_USE), 0u);
  EXPECT_EQ(status_of(export_of(1, 5)), static_cast<unsigned>(wire::Status::MISS)) << "the owner's copy is a tombstone";
  const auto at2 = export_of(2, 5);
  ASSERT_EQ(status_of(at2), 0u);
  EXPECT_EQ(wire::get_field(at2[0].data, wire::header::version), vm);
  EXPECT_EQ(at2.size(), 1u + beats_for(80)) << "with its blob";
  EXPECT_EQ(store[1]->bp.counter(wire::BP_STATS_PULLS_SERVED) - served0, 1u) << "the duplicate PULL is not served again";
  EXPECT_GT(store[1]->bp.counter(wire::BP_STATS_RX_DUP), 0u);

  // Pulled again (a new PULL, not a duplicate): the owner's tombstone answers MISS and
  // the puller's live copy stays as it is.
  EXPECT_EQ(wire::get_field(pull(5, 12).data, wire::header::status), static_cast<unsigned>(wire::Status::MISS));
  EXPECT_EQ(wire::get_field(export_of(2, 5)[0].data, wire::header::version), vm);
  // The puller's TAKE: its tombstone is newer still, and the entry's writer is this card.
  const auto took = table_op(*store[2], entry_beat(wire::Opcode::TAKE, 5, 0, 0, 0));
  ASSERT_EQ(status_of(took), 0u);
  EXPECT_EQ(wire::get_field(took[0].data, wire::header::version) & 0xff, 2u);
  EXPECT_GT(wire::get_field(took[0].data, wire::header::aux), vm);

  // Not single use (a TLS 1.2 session): copied, the owner keeps it, the version unchanged.
  const Beat copied = pull(6, 13);
  ASSERT_EQ(wire::get_field(copied.data, wire::header::status), 0u);
  EXPECT_EQ(wire::get_field(copied.data, wire::header::version), v_session);
  EXPECT_EQ(status_of(export_of(1, 6)), 0u);

  // Replicate mode: a pull of a single-use entry copies (the consumer's DELETE goes to
  // every peer anyway).
  for (unsigned c : {1u, 2u}) net.configure(c, 9, wire::BpMode::REPLICATE);
  net.run(10);
  const uint64_t v_rep = put(1, 7, true);
  const Beat rep = pull(7, 14);
  ASSERT_EQ(wire::get_field(rep.data, wire::header::status), 0u);
  EXPECT_EQ(wire::get_field(rep.data, wire::header::version), v_rep);
  EXPECT_EQ(status_of(export_of(1, 7)), 0u);
}

TEST_F(backplane_kernel, MalformedFramesAreCountedAndNeverTouchTheTable) {
  make({1, 2});
  std::vector<Beat> good;
  net.copies = [&](uint64_t, const std::vector<Beat>& f) {
    if (wire::get_field(f[0].data, wire::frame::ftype) == static_cast<unsigned>(wire::FrameType::UPDATE)) good = f;
    return 0;  // capture, do not deliver
  };
  local_put(*store[1], 1, 100, 3);
  net.run(1);
  ASSERT_FALSE(good.empty());
  // Card 1's own retransmissions stay off the link: only what the test injects arrives.
  net.copies = [](uint64_t, const std::vector<Beat>& f) {
    return wire::get_field(f[0].data, wire::frame::src) == 1 ? 0 : 1;
  };
  KCard& k2 = *store[2];
  auto inject = [&](std::vector<Beat> f) {
    for (const Beat& b : f) k2.fin.write(b);
    net.run(1);
  };
  auto recrc = [](std::vector<Beat>& f) {
    wire::set_field(f[0].data, wire::frame::crc, crc32_reference(f));
  };
  uint64_t st[wire::STATS_WORDS];
  k2.table.stats(st);
  const uint64_t puts = st[wire::STATS_PUTS];

  auto v = good;
  wire::set_field(v[0].data, wire::frame::fver, 9);
  recrc(v);
  inject(v);
  auto c = good;
  c[2].data[0] ^= 1;  // blob bit flipped, crc not fixed
  inject(c);
  auto t = good;
  t.pop_back();  // a beat short of payload_len
  t.back().last = true;
  inject(t);
  auto w = good;
  wire::set_field(w[0].data, wire::frame::dst, 5);  // not for card 2
  recrc(w);
  inject(w);
  auto big = good;
  wire::set_field(big[1].data, wire::header::key_len, 40);  // key longer than 32
  recrc(big);
  inject(big);

  EXPECT_EQ(k2.bp.counter(wire::BP_STATS_RX_BAD_VERSION), 1u);
  EXPECT_EQ(k2.bp.counter(wire::BP_STATS_RX_BAD_CRC), 1u);
  EXPECT_EQ(k2.bp.counter(wire::BP_STATS_RX_BAD_LEN), 2u);
  EXPECT_EQ(k2.bp.counter(wire::BP_STATS_RX_NOT_MINE), 1u);
  k2.table.stats(st);
  EXPECT_EQ(st[wire::STATS_PUTS], puts);
  // The genuine frame still goes through, once.
  inject(good);
  inject(good);
  k2.table.stats(st);
  EXPECT_EQ(st[wire::STATS_PUTS], puts + 1);
  EXPECT_EQ(k2.bp.counter(wire::BP_STATS_RX_DUP), 1u);
}

TEST_F(backplane_kernel, RestartWithNewEpochResetsSequencesAndAnnouncesTheJoin) {
  make({1, 2});
  local_put(*store[1], 1, 64, 1);
  net.run(5);
  const unsigned joins_before = store[1]->joins;
  net.configure(2, 9);  // card 2 restarts: empty table, epoch 9
  net.run(60);
  EXPECT_EQ(store[1]->joins, joins_before + 1) << "host told: catch card 2 up";
  EXPECT_EQ(store[1]->bp.peer_epoch(2), 9u);
  // New traffic flows with fresh sequence numbers.
  local_put(*store[1], 2, 64, 2);
  net.run(5);
  EXPECT_EQ(status_of(table_op(*store[2], entry_beat(wire::Opcode::EXPORT, 2, 0, 0, 0))), 0u);
  EXPECT_EQ(store[1]->bp.slots_in_use(), 0u);
}

TEST_F(backplane_kernel, RandomFramesWithValidCrcNeitherCrashNorWedgeTheKernel) {
  make({1, 2});
  std::mt19937_64 rng(2024);
  KCard& k2 = *store[2];
  for (int i = 0; i < 3000; ++i) {
    std::vector<Beat> f(1 + rng() % 7);
    for (Beat& b : f) {
      for (auto& w : b.data) w = rng();
      b.last = false;
    }
    f.back().last = true;
    wire::set_field(f[0].data, wire::frame::fver, 1);
    wire::set_field(f[0].data, wire::frame::src, 1 + rng() % 2);
    wire::set_field(f[0].data, wire::frame::dst, rng() % 2 ? 2 : 255);
    wire::set_field(f[0].data, wire::frame::ftype, rng() % 12);
    wire::set_field(f[0].data, wire::frame::payload_len, rng() % 2 ? (f.size() - 1) * 64 : rng() % 400);
    wire::set_field(f[0].data, wire::frame::crc, crc32_reference(f));
    for (const Beat& b : f) k2.fin.write(b);
    if (i % 100 == 0) net.round();
  }
  net.run(200);
  EXPECT_GT(k2.bp.counter(wire::BP_STATS_RX_FRAMES), 3000u) << "every frame consumed: no wedge";
  // CRC is no authentication (the MAC is, on UDP; a card link is trusted): random
  // frames may have poisoned card 2's view of card 1's epoch. After card 2 restarts,
  // the pair works again.
  net.configure(2, 100);
  net.run(60);
  const uint64_t v = local_put(*store[1], 42, 100, 9);
  net.run(200);
  const auto got = table_op(k2, entry_beat(wire::Opcode::EXPORT, 42, 0, 0, 0));
  ASSERT_EQ(status_of(got), 0u);
  EXPECT_EQ(wire::get_field(got[0].data, wire::header::version), v);
}

}  // namespace
}  // namespace sessnic
