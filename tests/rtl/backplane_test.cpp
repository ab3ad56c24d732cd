// The hardware transfer path: Verilated sessnic_top cards wired back to back through
// their backplane ports (sim/verilated/top_cluster_sim.hpp), with seeded loss and delay
// on the links, and an RTL card talking to the HLS backplane kernel + table kernel
// (the "one source of truth" check on the wire format and protocol subset).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "Vsessnic_top_s6w4.h"
#include "backplane_sync.hpp"
#include "session_table.hpp"
#include "table_command.hpp"
#include "top_card_ports.hpp"
#include "top_cluster_sim.hpp"

namespace sessnic {
namespace {

using rtlsim::CardConfig;
using rtlsim::Cluster;
using rtlsim::TableCommand;
using Card = rtlsim::TopCard<Vsessnic_top_s6w4>;

constexpr unsigned kRto = 2000;        // sessnic_top BP_RTO_CYCLES default
constexpr unsigned kMaxRetries = 6;    // BP_MAX_RETRIES default
constexpr unsigned kBcast = 255;
enum Counter : unsigned { TX, RTX, GIVEUP, APPLIED, APPLY_FAILED, XFER_OK, XFER_FAILED, DUP, WINDOW, STALE, NOT_SENT, UNHANDLED };

unsigned u(wire::Opcode o) { return static_cast<unsigned>(o); }
unsigned u(wire::Status s) { return static_cast<unsigned>(s); }

// Random-looking ids, as servers generate them (the table indexes sets by the id's bits).
std::array<uint8_t, 32> key_of(unsigned k) {
  std::array<uint8_t, 32> key{};
  std::mt19937_64 g(0x5e55 + k);
  for (auto& b : key) b = static_cast<uint8_t>(g());
  return key;
}

// n key numbers from `first` on, at most `per_set` in any set of the 64-set test table
// (SessionTable's set index, the RTL's too): streams of them never evict, at the writer
// or at a receiver, whatever order the entries arrive in.
std::vector<unsigned> spread_keys(unsigned first, unsigned n, unsigned per_set) {
  std::vector<unsigned> keys;
  std::map<unsigned, unsigned> used;
  for (unsigned k = first; keys.size() < n; ++k) {
    const auto b = key_of(k);
    uint64_t w[4] = {};
    for (unsigned i = 0; i < 32; ++i) w[i / 8] |= uint64_t{b[i]} << (8 * (i % 8));
    unsigned& c = used[SessionTable<6, 4>::set_index(w, 32, 3)];
    if (c < per_set) {
      ++c;
      keys.push_back(k);
    }
  }
  return keys;
}

TableCommand cmd(wire::Opcode op, unsigned k, uint32_t tag) {
  TableCommand c;
  c.op = static_cast<uint8_t>(op);
  c.key_len = 32;
  c.key = key_of(k);
  c.ctx = 3;
  c.tag = tag;
  return c;
}

std::vector<uint8_t> blob_of(unsigned k, unsigned len, unsigned salt = 0) {
  std::vector<uint8_t> b(len);
  for (unsigned i = 0; i < len; ++i) b[i] = static_cast<uint8_t>(k * 31 + i * 7 + salt * 101);
  return b;
}

std::vector<uint8_t> blob_bytes(const std::vector<Beat>& r) {
  const unsigned len = static_cast<unsigned>(wire::get_field(r[0].data, wire::header::blob_len));
  std::vector<uint8_t> out;
  for (unsigned i = 0; i < len; ++i) out.push_back(static_cast<uint8_t>(r[1 + i / 64].data[(i % 64) / 8] >> (8 * (i % 8))));
  return out;
}

uint64_t field(const std::vector<Beat>& r, wire::Field f) { return wire::get_field(r[0].data, f); }

// Runs the cluster until card c answers the command with `tag`; nullopt after max_cycles.
std::optional<std::vector<Beat>> await(Cluster& net, Card& c, uint32_t tag, uint64_t max_cycles) {
  std::optional<std::vector<Beat>> got;
  net.run_until(
      [&] {
        auto& q = c.responses();
        for (auto it = q.begin(); it != q.end(); ++it)
          if (field(*it, wire::header::tag) == tag) {
            got = *it;
            q.erase(it);
            return true;
          }
        return false;
      },
      max_cycles);
  return got;
}

std::vector<Beat> exec(Cluster& net, Card& c, const TableCommand& tc) {
  c.send(rtlsim::encode(tc));
  auto r = await(net, c, tc.tag, 600000);  // > a transfer's worst case (7 RTOs with backoff)
  if (!r) ADD_FAILURE() << "card " << unsigned(c.card()) << " never answered tag " << tc.tag;
  return r ? *r : std::vector<Beat>{Beat{}};
}

uint32_t g_tag = 1;

void set_time(Cluster& net, Card& c, uint32_t now) {
  TableCommand t;
  t.op = static_cast<uint8_t>(wire::Opcode::SET_TIME);
  t.aux = now;
  t.tag = g_tag++;
  exec(net, c, t);
}

std::vector<Beat> put(Cluster& net, Card& c, unsigned k, unsigned len, unsigned salt = 0) {
  TableCommand p = cmd(wire::Opcode::PUT, k, g_tag++);
  p.expiry = 5000;
  p.flags = 0;
  p.payload = blob_of(k, len, salt);
  p.blob_len = static_cast<uint16_t>(len);
  return exec(net, c, p);
}

std::vector<Beat> get(Cluster& net, Card& c, unsigned k) { return exec(net, c, cmd(wire::Opcode::GET, k, g_tag++)); }

TableCommand transfer_cmd(unsigned k, unsigned dest) {
  TableCommand t = cmd(wire::Opcode::TRANSFER, k, g_tag++);
  t.aux = dest | (uint64_t{kBcast} << 8);  // sync_cmd.dest, sync_cmd.owner = this card
  return t;
}

std::vector<Beat> put_flags(Cluster& net, Card& c, unsigned k, unsigned len, uint8_t flags) {
  TableCommand p = cmd(wire::Opcode::PUT, k, g_tag++);
  p.expiry = 5000;
  p.flags = flags;
  p.payload = blob_of(k, len);
  p.blob_len = static_cast<uint16_t>(len);
  return exec(net, c, p);
}

std::vector<Beat> take(Cluster& net, Card& c, unsigned k) { return exec(net, c, cmd(wire::Opcode::TAKE, k, g_tag++)); }

std::vector<Beat> del(Cluster& net, Card& c, unsigned k) {
  TableCommand d = cmd(wire::Opcode::DEL, k, g_tag++);
  d.expiry = 5000;
  return exec(net, c, d);
}

constexpr uint8_t kSingleUse = static_cast<uint8_t>(wire::Flags::SINGLE_USE);

struct Rig {
  explicit Rig(std::vector<uint8_t> ids, wire::BpMode mode, uint64_t seed, uint8_t hub = 0) : net(seed) {
    uint32_t members = 0;
    for (uint8_t id : ids) members |= 1u << id;
    for (uint8_t id : ids) {
      cards[id] = std::make_unique<Card>(CardConfig{.card = id, .members = members, .mode = mode, .hub = hub});
      net.add(cards[id].get());
    }
    for (auto& [id, c] : cards) set_time(net, *c, 100);
    net.run(400);  // HELLOs: every card learns every epoch
  }
  Card& operator[](uint8_t id) { return *cards.at(id); }
  // Runs until no card retransmits or applies anything for 3 RTOs.
  void settle(uint64_t max_cycles) {
    uint64_t sig = ~0ull;
    for (uint64_t spent = 0; spent < max_cycles; spent += 3 * kRto) {
      uint64_t s = 0;
      for (auto& [id, c] : cards) s = s * 1000003 + c->bp_counter(RTX) * 7 + c->bp_counter(APPLIED) * 13 + c->bp_counter(DUP);
      if (s == sig) return;
      sig = s;
      net.run(3 * kRto);
    }
  }
  std::map<uint8_t, std::unique_ptr<Card>> cards;
  Cluster net;
};

TEST(RtlBackplane, TransferMovesTheIdenticalEntry) {
  Rig r({1, 2}, wire::BpMode::TRANSFER, 1);
  const auto p = put(r.net, r[1], 5, 256);
  ASSERT_EQ(field(p, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(field(get(r.net, r[2], 5), wire::header::status), u(wire::Status::MISS)) << "transfer mode: no replication";

  const auto t = exec(r.net, r[1], transfer_cmd(5, 2));
  EXPECT_EQ(field(t, wire::header::op), u(wire::Opcode::TRANSFER));
  EXPECT_EQ(field(t, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(field(t, wire::sync_cmd::dest), 2u);
  EXPECT_EQ(field(t, wire::sync_cmd::owner), 1u);
  EXPECT_EQ(field(t, wire::header::version), field(p, wire::header::version));

  const auto g = get(r.net, r[2], 5);
  ASSERT_EQ(field(g, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(blob_bytes(g), blob_of(5, 256));
  EXPECT_EQ(field(g, wire::header::version), field(p, wire::header::version)) << "moved with its version";
  EXPECT_EQ(field(g, wire::header::expiry), 5000u);
  EXPECT_EQ(field(g, wire::header::ctx), 3u);
  EXPECT_EQ(field(get(r.net, r[1], 5), wire::header::status), u(wire::Status::OK)) << "TRANSFER copies";

  // Nothing to move: MISS; to itself: OK; to a card outside the cluster: FAILED.
  EXPECT_EQ(field(exec(r.net, r[1], transfer_cmd(99, 2)), wire::header::status), u(wire::Status::MISS));
  EXPECT_EQ(field(exec(r.net, r[1], transfer_cmd(5, 1)), wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(field(exec(r.net, r[1], transfer_cmd(5, 7)), wire::header::status), u(wire::Status::FAILED));
  // Malformed: key length 0.
  TableCommand bad = transfer_cmd(5, 2);
  bad.key_len = 0;
  EXPECT_EQ(field(exec(r.net, r[1], bad), wire::header::status), u(wire::Status::BAD_CMD));
  EXPECT_EQ(r[1].bp_counter(XFER_OK), 2u);
  EXPECT_EQ(r[2].bp_counter(APPLIED), 1u);
}

TEST(RtlBackplane, TransfersSurviveLossAndDelay) {
  for (uint64_t seed : {11u, 12u, 13u}) {
    std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
    Rig r({1, 2}, wire::BpMode::TRANSFER, seed);
    // 30% loss each way fails half the attempts: 12 retries (the kernel's default) make a
    // give-up (peer down) improbable; 6 (the synthesis default) happen to give up once.
    for (uint8_t c : {1, 2}) r[c].write(0x28, 12);  // bp_max_retries
    r.net.set_all_links({.drop = 0.3, .delay = 20, .jitter = 30});
    std::mt19937 rng(static_cast<unsigned>(seed));
    for (unsigned k = 0; k < 8; ++k) {
      const unsigned len = 1 + rng() % 256;
      const uint8_t from = (k % 2) ? 1 : 2, to = (k % 2) ? 2 : 1;
      ASSERT_EQ(field(put(r.net, r[from], k, len), wire::header::status), u(wire::Status::OK));
      const auto t = exec(r.net, r[from], transfer_cmd(k, to));
      ASSERT_EQ(field(t, wire::header::status), u(wire::Status::OK))
          << "key " << k << " seed " << seed << " giveups " << r[from].bp_counter(GIVEUP) << " rtx " << r[from].bp_counter(RTX);
      const auto g = get(r.net, r[to], k);
      ASSERT_EQ(field(g, wire::header::status), u(wire::Status::OK));
      EXPECT_EQ(blob_bytes(g), blob_of(k, len));
    }
    EXPECT_GT(r.net.frames_dropped(), 0u);
    EXPECT_GT(r[1].bp_counter(RTX) + r[2].bp_counter(RTX), 0u) << "losses were recovered by retransmission";
  }
}

TEST(RtlBackplane, TransferOverADeadLinkAnswersFailed) {
  Rig r({1, 2}, wire::BpMode::TRANSFER, 3);
  ASSERT_EQ(field(put(r.net, r[1], 4, 200), wire::header::status), u(wire::Status::OK));
  r.net.set_link(1, 2, {.drop = 1.0});
  TableCommand t = transfer_cmd(4, 2);
  r[1].send(rtlsim::encode(t));
  // Each timeout doubles the rto (backoff, capped at 64x): 1 + 2 + ... + 64 RTOs.
  const uint64_t bound = 128 * uint64_t{kRto} + 2000;
  const auto res = await(r.net, r[1], t.tag, bound);
  ASSERT_TRUE(res.has_value()) << "no answer within " << bound << " cycles";
  EXPECT_EQ(field(*res, wire::header::status), u(wire::Status::FAILED));
  EXPECT_EQ(r[1].bp_counter(GIVEUP), 1u);
  EXPECT_EQ(r[1].bp_counter(RTX), kMaxRetries);
  // The same counters through the register map (spec/regs.rdl).
  EXPECT_EQ(r[1].read(0x5C), kMaxRetries);  // bp_retransmits
  EXPECT_EQ(r[1].read(0x60), 1u);           // bp_giveups
  EXPECT_EQ(r[1].read(0x70), 1u);           // bp_transfers_failed
  EXPECT_EQ(field(get(r.net, r[2], 4), wire::header::status), u(wire::Status::MISS));
  // Card 2 is down for card 1 now: a transfer fails at once, without a frame.
  const uint32_t tx_before = r[1].bp_counter(TX);
  EXPECT_EQ(field(exec(r.net, r[1], transfer_cmd(4, 2)), wire::header::status), u(wire::Status::FAILED));
  EXPECT_EQ(r[1].bp_counter(TX), tx_before);
  const uint32_t joins = r[1].read(0x88);  // bp_peer_joins
  // The link comes back: card 2's next HELLO brings it up, the next transfer works (the
  // receiver skips the abandoned seq).
  r.net.set_link(1, 2, {});
  r.net.run(2 * 16384 + 1000);
  EXPECT_EQ(r[1].read(0x88), joins + 1) << "card 2 came up again";
  EXPECT_EQ(field(exec(r.net, r[1], transfer_cmd(4, 2)), wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(blob_bytes(get(r.net, r[2], 4)), blob_of(4, 200));
}

TableCommand relayed_cmd(unsigned k, unsigned dest, unsigned owner) {
  TableCommand t = cmd(wire::Opcode::TRANSFER, k, g_tag++);
  t.aux = dest | (uint64_t{owner} << 8);  // sync_cmd.dest, sync_cmd.owner = the card holding it
  return t;
}

TEST(RtlBackplane, RelayedTransferMovesTheEntryBetweenTwoOtherCards) {
  Rig r({1, 2, 3}, wire::BpMode::TRANSFER, 7);
  r.net.set_all_links({.drop = 0.15, .delay = 10, .jitter = 20});
  for (uint8_t c : {1, 2, 3}) r[c].write(0x28, 12);  // bp_max_retries
  const auto p = put(r.net, r[1], 50, 200);
  ASSERT_EQ(field(p, wire::header::status), u(wire::Status::OK));
  // card 3 asks owner 1 to move key 50 to card 2
  const auto t = exec(r.net, r[3], relayed_cmd(50, 2, 1));
  EXPECT_EQ(field(t, wire::header::op), u(wire::Opcode::TRANSFER));
  ASSERT_EQ(field(t, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(field(t, wire::sync_cmd::dest), 2u);
  const auto g = get(r.net, r[2], 50);
  ASSERT_EQ(field(g, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(field(g, wire::header::version), field(p, wire::header::version));
  EXPECT_EQ(blob_bytes(g), blob_of(50, 200));
  EXPECT_EQ(field(get(r.net, r[3], 50), wire::header::status), u(wire::Status::MISS)) << "the requester only asked";
  // to the requester itself; a key the owner does not hold is a MISS
  EXPECT_EQ(field(exec(r.net, r[3], relayed_cmd(50, 3, 1)), wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(field(get(r.net, r[3], 50), wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(field(exec(r.net, r[3], relayed_cmd(51, 2, 1)), wire::header::status), u(wire::Status::MISS));
  // several in a row, with table commands in between that answer first
  for (unsigned k = 60; k < 64; ++k) ASSERT_EQ(field(put(r.net, r[2], k, 64), wire::header::status), u(wire::Status::OK));
  for (unsigned k = 60; k < 64; ++k) {
    TableCommand rc = relayed_cmd(k, 1, 2);
    r[3].send(rtlsim::encode(rc));
    const auto m = get(r.net, r[3], 99);
    EXPECT_EQ(field(m, wire::header::status), u(wire::Status::MISS));
    const auto res = await(r.net, r[3], rc.tag, 600000);
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(field(*res, wire::header::status), u(wire::Status::OK)) << k;
    EXPECT_EQ(field(get(r.net, r[1], k), wire::header::status), u(wire::Status::OK)) << k;
  }
}

TEST(RtlBackplane, RelayedTransferFailsWhenTheOwnerIsUnreachable) {
  Rig r({1, 2, 3}, wire::BpMode::TRANSFER, 8);
  ASSERT_EQ(field(put(r.net, r[1], 52, 64), wire::header::status), u(wire::Status::OK));
  r.net.set_link(3, 1, {.drop = 1.0});
  TableCommand rc = relayed_cmd(52, 2, 1);
  r[3].send(rtlsim::encode(rc));
  const auto res = await(r.net, r[3], rc.tag, 128 * uint64_t{kRto} + 2000);
  ASSERT_TRUE(res.has_value()) << "answered after the TRANSFER_REQ was given up";
  EXPECT_EQ(field(*res, wire::header::status), u(wire::Status::FAILED));
  EXPECT_EQ(field(get(r.net, r[2], 52), wire::header::status), u(wire::Status::MISS));
  // an owner outside the cluster: FAILED at once
  EXPECT_EQ(field(exec(r.net, r[3], relayed_cmd(52, 2, 9)), wire::header::status), u(wire::Status::FAILED));
}

TEST(RtlBackplane, RetransmitTimeoutFollowsTheRoundTrip) {
  // A round trip of ~6000 cycles against a 2000-cycle floor: the first frames time out
  // (backoff), the RTT estimate then keeps later frames from being resent.
  Rig r({1, 2}, wire::BpMode::TRANSFER, 5);
  r.net.set_all_links({.delay = 3000});
  for (unsigned k = 0; k < 3; ++k) {
    ASSERT_EQ(field(put(r.net, r[1], k, 64), wire::header::status), u(wire::Status::OK));
    ASSERT_EQ(field(exec(r.net, r[1], transfer_cmd(k, 2)), wire::header::status), u(wire::Status::OK));
  }
  const uint32_t warm = r[1].bp_counter(RTX);
  EXPECT_GT(warm, 0u) << "the 2000-cycle floor is shorter than the round trip";
  for (unsigned k = 3; k < 8; ++k) {
    ASSERT_EQ(field(put(r.net, r[1], k, 64), wire::header::status), u(wire::Status::OK));
    ASSERT_EQ(field(exec(r.net, r[1], transfer_cmd(k, 2)), wire::header::status), u(wire::Status::OK));
  }
  EXPECT_EQ(r[1].bp_counter(RTX), warm) << "no spurious resends once the RTT is known";
  EXPECT_EQ(r[1].bp_counter(GIVEUP), 0u);
}

TEST(RtlBackplane, TransferDeadlineFromTheCommand) {
  Rig r({1, 2}, wire::BpMode::TRANSFER, 6);
  ASSERT_EQ(field(put(r.net, r[1], 4, 100), wire::header::status), u(wire::Status::OK));
  r.net.set_link(1, 2, {.drop = 1.0});
  TableCommand t = transfer_cmd(4, 2);
  t.expiry = 101;  // deadline on the card clock (set to 100 by the rig)
  r[1].send(rtlsim::encode(t));
  r.net.run(3000);
  EXPECT_TRUE(r[1].responses().empty()) << "still trying before the deadline";
  set_time(r.net, r[1], 101);
  const auto res = await(r.net, r[1], t.tag, 2000);
  ASSERT_TRUE(res.has_value()) << "the card answers at its deadline";
  EXPECT_EQ(field(*res, wire::header::status), u(wire::Status::FAILED));
  EXPECT_EQ(r[1].bp_counter(GIVEUP), 0u) << "before max retries";
}

TEST(RtlBackplane, SessionHopsAcrossThreeCards) {
  Rig r({1, 2, 3}, wire::BpMode::TRANSFER, 31);
  r.net.set_all_links({.drop = 0.2, .delay = 5, .jitter = 40});
  const auto p = put(r.net, r[1], 3, 256);
  ASSERT_EQ(field(p, wire::header::status), u(wire::Status::OK));
  // D -> E -> F -> D: every hop carries the same blob and version.
  const uint8_t hops[][2] = {{1, 2}, {2, 3}, {3, 1}, {1, 3}};
  for (const auto& h : hops) {
    ASSERT_EQ(field(exec(r.net, r[h[0]], transfer_cmd(3, h[1])), wire::header::status), u(wire::Status::OK))
        << unsigned(h[0]) << " -> " << unsigned(h[1]);
    const auto g = get(r.net, r[h[1]], 3);
    ASSERT_EQ(field(g, wire::header::status), u(wire::Status::OK));
    EXPECT_EQ(blob_bytes(g), blob_of(3, 256));
    EXPECT_EQ(field(g, wire::header::version), field(p, wire::header::version));
  }
  // Every hop was applied at its destination (a duplicate TRANSFER after a lost ACK is
  // applied again to answer its outcome, as in the kernel, so >=).
  EXPECT_GE(r[2].bp_counter(APPLIED), 1u);
  EXPECT_GE(r[3].bp_counter(APPLIED), 2u);
  EXPECT_GE(r[1].bp_counter(APPLIED), 1u);
  EXPECT_EQ(r[1].bp_counter(GIVEUP) + r[2].bp_counter(GIVEUP) + r[3].bp_counter(GIVEUP), 0u);
}

TEST(RtlBackplane, ReplicateConvergesAcrossThreeCardsWithLoss) {
  Rig r({1, 2, 3}, wire::BpMode::REPLICATE, 21);
  r.net.set_all_links({.drop = 0.1, .delay = 10, .jitter = 20});
  std::map<unsigned, uint64_t> best;  // key -> highest version written
  std::map<unsigned, std::vector<uint8_t>> want;
  // Each card writes 6 keys; keys 0..2 are written by every card (LWW decides).
  for (uint8_t c : {1, 2, 3}) {
    for (unsigned k : {0u, 1u, 2u, 10u * c, 10u * c + 1, 10u * c + 2}) {
      const unsigned len = 64 + (k * 37 + c * 11) % 193;
      const auto p = put(r.net, r[c], k, len, c);
      ASSERT_EQ(field(p, wire::header::status), u(wire::Status::OK));
      const uint64_t v = field(p, wire::header::version);
      if (v > best[k]) best[k] = v, want[k] = blob_of(k, len, c);
    }
  }
  r.settle(400000);
  for (auto& [k, v] : best) {
    for (uint8_t c : {1, 2, 3}) {
      const auto g = get(r.net, r[c], k);
      ASSERT_EQ(field(g, wire::header::status), u(wire::Status::OK)) << "key " << k << " card " << unsigned(c);
      EXPECT_EQ(field(g, wire::header::version), v) << "key " << k << " card " << unsigned(c);
      EXPECT_EQ(blob_bytes(g), want[k]) << "key " << k << " card " << unsigned(c);
    }
  }
  uint64_t giveups = 0;
  for (uint8_t c : {1, 2, 3}) giveups += r[c].bp_counter(GIVEUP);
  EXPECT_EQ(giveups, 0u);
  EXPECT_GT(r.net.frames_dropped(), 0u);
}

// ---- retransmit window and selective ack ---------------------------------------------
// Watches the wire (every frame a node sent, before loss): the most reliable frames a
// sender had in flight towards one peer (its seq minus the highest ack that peer sent
// back, + 1), and how many frames carried a nonzero sack, per sender.
struct WireWatch {
  std::map<std::pair<unsigned, unsigned>, uint64_t> hi_ack;  // (sender, receiver) -> receiver's ack
  uint64_t max_in_flight = 0;
  std::map<unsigned, uint64_t> sacks;  // sender -> frames with a nonzero sack
  void operator()(const rtlsim::Frame& f) {
    const unsigned src = static_cast<unsigned>(wire::get_field(f[0].data, wire::frame::src));
    const unsigned dst = static_cast<unsigned>(wire::get_field(f[0].data, wire::frame::dst));
    if (dst == kBcast) return;
    const uint64_t ack = wire::get_field(f[0].data, wire::frame::ack);
    uint64_t& a = hi_ack[{dst, src}];
    if (ack > a) a = ack;
    const uint64_t seq = wire::get_field(f[0].data, wire::frame::seq);
    const uint64_t acked = hi_ack[{src, dst}];
    if (seq != 0 && seq + 1 > acked) max_in_flight = std::max(max_in_flight, seq + 1 - acked);
    if ((f[0].data[5] | f[0].data[6] | f[0].data[7]) != 0) ++sacks[src];
  }
};

TEST(RtlBackplane, WindowKeepsEveryUpdateThroughLossAndReorder) {
  // 64 PUTs queued at card 1 (4x the window; at most 2 keys per set: no eviction),
  // replicated to two cards over links that lose 15% and reorder (jitter 0-60 cycles, a
  // later frame may overtake): every entry ends on both peers with its version and blob;
  // more than one frame was in flight per peer, out-of-order frames were held and
  // sacked, nothing was given up.
  Rig r({1, 2, 3}, wire::BpMode::REPLICATE, 61);
  WireWatch w;
  r.net.set_tap([&w](const rtlsim::Frame& f) { w(f); });
  r.net.set_all_links({.drop = 0.15, .delay = 10, .jitter = 60, .reorder = true});
  constexpr unsigned kPuts = 64;
  const auto keys = spread_keys(2000, kPuts, 2);
  for (unsigned k = 0; k < kPuts; ++k) {
    TableCommand p = cmd(wire::Opcode::PUT, keys[k], g_tag++);
    p.expiry = 5000;
    p.payload = blob_of(k, 256, 3);
    p.blob_len = 256;
    r[1].send(rtlsim::encode(p));
  }
  ASSERT_TRUE(r.net.run_until([&] { return r[1].responses().size() == kPuts; }, 2'000'000));
  for (const auto& a : r[1].responses()) ASSERT_EQ(field(a, wire::header::status), u(wire::Status::OK));
  r[1].responses().clear();
  r.settle(2'000'000);
  for (unsigned k = 0; k < kPuts; ++k) {
    const auto g1 = get(r.net, r[1], keys[k]);
    ASSERT_EQ(field(g1, wire::header::status), u(wire::Status::OK)) << "key " << k;
    for (uint8_t c : {2, 3}) {
      const auto g = get(r.net, r[c], keys[k]);
      ASSERT_EQ(field(g, wire::header::status), u(wire::Status::OK)) << "key " << k << " card " << unsigned(c);
      EXPECT_EQ(field(g, wire::header::version), field(g1, wire::header::version)) << "key " << k;
      EXPECT_EQ(blob_bytes(g), blob_of(k, 256, 3)) << "key " << k;
    }
  }
  EXPECT_GE(w.max_in_flight, 8u) << "a window, not one frame at a time";
  EXPECT_LE(w.max_in_flight, 16u + 1) << "at most 16 frames per peer";
  EXPECT_GT(w.sacks[2] + w.sacks[3], 0u) << "receivers held out-of-order frames and said so";
  for (uint8_t c : {1, 2, 3}) EXPECT_EQ(r[c].bp_counter(GIVEUP), 0u);
  EXPECT_GT(r[1].bp_counter(RTX), 0u);
  EXPECT_GT(r.net.frames_dropped(), 0u);
}

TEST(RtlBackplane, EventQueueNeverOverflowsWhileReplicationIsStalled) {
  // bp_sync's event queue (64 card-rule events) reports its room through a register two
  // edges after a push, and sessnic_top holds host commands back while the room is short.
  // Here the queue cannot drain: card 2's acks are lost, so card 1's window to it fills
  // and the fan-out waits, while one-beat DELs (each a DELETE event, up to one per cycle
  // out of the table) stream in. No event may be dropped (not_sent counts a drop): the
  // host is held back instead, and once acks flow again every DELETE reaches card 2.
  Rig r({1, 2}, wire::BpMode::REPLICATE, 71);
  r[1].write(0x28, 255);  // bp_max_retries: card 2 is never declared down meanwhile
  r.net.set_link(2, 1, {.drop = 1.0});
  constexpr unsigned kPuts = 20, kDels = 200;
  for (unsigned k = 0; k < kPuts; ++k) {
    TableCommand p = cmd(wire::Opcode::PUT, 3000 + k, g_tag++);
    p.expiry = 5000;
    p.payload = blob_of(k, 64);
    p.blob_len = 64;
    r[1].send(rtlsim::encode(p));
  }
  for (unsigned k = 0; k < kDels; ++k) {
    TableCommand d = cmd(wire::Opcode::DEL, 5000 + k, g_tag++);
    d.expiry = 5000;
    r[1].send(rtlsim::encode(d));
  }
  r.net.run(40000);
  const size_t answered = r[1].responses().size();
  EXPECT_GT(answered, kPuts + 40u) << "the queue filled up";
  EXPECT_LT(answered, kPuts + kDels) << "the host was held back while the queue was full";
  EXPECT_EQ(r[1].bp_counter(NOT_SENT), 0u) << "an event was dropped";
  r.net.set_link(2, 1, {});
  ASSERT_TRUE(r.net.run_until([&] { return r[2].bp_counter(APPLIED) == kPuts + kDels; }, 4'000'000))
      << "card 2 applied " << r[2].bp_counter(APPLIED) << " of " << kPuts + kDels;
  EXPECT_EQ(r[1].responses().size(), kPuts + kDels);
  for (const auto& a : r[1].responses())
    EXPECT_TRUE(field(a, wire::header::status) == u(wire::Status::OK) ||
                field(a, wire::header::status) == u(wire::Status::MISS));
  EXPECT_EQ(r[1].bp_counter(NOT_SENT), 0u);
  EXPECT_EQ(r[1].bp_counter(GIVEUP), 0u);
}

// ---- card rules (card contract, docs/rtl.md "Card rules") ---------------------------
TEST(RtlBackplane, DeleteReplicatesToEveryCard) {
  Rig r({1, 2, 3}, wire::BpMode::REPLICATE, 41);
  r.net.set_all_links({.drop = 0.1, .delay = 10, .jitter = 20});
  ASSERT_EQ(field(put(r.net, r[1], 7, 100), wire::header::status), u(wire::Status::OK));
  r.settle(400000);
  ASSERT_EQ(field(get(r.net, r[3], 7), wire::header::status), u(wire::Status::OK));
  const auto d = del(r.net, r[2], 7);
  ASSERT_EQ(field(d, wire::header::status), u(wire::Status::OK));
  // A DEL of a key this card never saw writes a tombstone and replicates it as well.
  const auto d2 = del(r.net, r[3], 8);
  ASSERT_EQ(field(d2, wire::header::status), u(wire::Status::MISS));
  ASSERT_NE(field(d2, wire::header::version), 0u);
  r.settle(400000);
  for (uint8_t c : {1, 2, 3}) {
    const auto g = get(r.net, r[c], 7);
    EXPECT_EQ(field(g, wire::header::status), u(wire::Status::MISS)) << "card " << unsigned(c);
  }
  // The tombstone for key 8 reached card 1: a PUT carrying an older version is STALE.
  TableCommand old = cmd(wire::Opcode::PUT, 8, g_tag++);
  old.expiry = 5000;
  old.version = field(d2, wire::header::version) - 256;
  old.payload = blob_of(8, 10);
  old.blob_len = 10;
  EXPECT_EQ(field(exec(r.net, r[1], old), wire::header::status), u(wire::Status::STALE));
  EXPECT_EQ(r[2].read(0x84), 1u);  // bp_deletes_sent
  EXPECT_EQ(r[3].read(0x84), 1u);
}

TEST(RtlBackplane, UsedTicketIsAMissOnEveryCardInEveryMode) {
  // replicate: the consume's tombstone goes everywhere
  {
    Rig r({1, 2, 3}, wire::BpMode::REPLICATE, 42);
    r.net.set_all_links({.drop = 0.1, .delay = 10, .jitter = 20});
    ASSERT_EQ(field(put_flags(r.net, r[1], 9, 80, kSingleUse), wire::header::status), u(wire::Status::OK));
    r.settle(400000);
    const auto t = take(r.net, r[2], 9);
    ASSERT_EQ(field(t, wire::header::status), u(wire::Status::OK));
    EXPECT_GT(field(t, wire::header::aux), field(t, wire::header::version)) << "aux = the tombstone's (newer) version";
    EXPECT_EQ(field(t, wire::header::aux) & 0xff, 2u) << "written by the consuming card";
    r.settle(400000);
    for (uint8_t c : {1, 2, 3}) EXPECT_EQ(field(get(r.net, r[c], 9), wire::header::status), u(wire::Status::MISS)) << "card " << unsigned(c);
    // a GET consumes a single-use entry too
    ASSERT_EQ(field(put_flags(r.net, r[3], 10, 80, kSingleUse), wire::header::status), u(wire::Status::OK));
    r.settle(400000);
    ASSERT_EQ(field(get(r.net, r[1], 10), wire::header::status), u(wire::Status::OK));
    r.settle(400000);
    for (uint8_t c : {1, 2, 3}) EXPECT_EQ(field(get(r.net, r[c], 10), wire::header::status), u(wire::Status::MISS)) << "card " << unsigned(c);
  }
  // transfer: the writer still holds the ticket after a TRANSFER; the consumer tombstones it there
  {
    Rig r({1, 2, 3}, wire::BpMode::TRANSFER, 43);
    ASSERT_EQ(field(put_flags(r.net, r[1], 11, 80, kSingleUse), wire::header::status), u(wire::Status::OK));
    ASSERT_EQ(field(exec(r.net, r[1], transfer_cmd(11, 2)), wire::header::status), u(wire::Status::OK));
    ASSERT_EQ(field(take(r.net, r[2], 11), wire::header::status), u(wire::Status::OK));
    r.settle(400000);
    for (uint8_t c : {1, 2, 3}) EXPECT_EQ(field(get(r.net, r[c], 11), wire::header::status), u(wire::Status::MISS)) << "card " << unsigned(c);
    // a reusable entry consumed by TAKE is not chased to its writer in transfer mode
    ASSERT_EQ(field(put(r.net, r[1], 12, 50), wire::header::status), u(wire::Status::OK));
    ASSERT_EQ(field(exec(r.net, r[1], transfer_cmd(12, 2)), wire::header::status), u(wire::Status::OK));
    ASSERT_EQ(field(take(r.net, r[2], 12), wire::header::status), u(wire::Status::OK));
    r.settle(400000);
    EXPECT_EQ(field(get(r.net, r[1], 12), wire::header::status), u(wire::Status::OK));
  }
  // hub: a ticket written by card 1 lives at 1 and at the hub 0; consumed at the hub
  {
    Rig r({0, 1, 2}, wire::BpMode::HUB, 44, /*hub=*/0);
    ASSERT_EQ(field(put_flags(r.net, r[1], 13, 80, kSingleUse), wire::header::status), u(wire::Status::OK));
    r.settle(400000);
    ASSERT_EQ(field(take(r.net, r[0], 13), wire::header::status), u(wire::Status::OK));
    r.settle(400000);
    for (uint8_t c : {0, 1, 2}) EXPECT_EQ(field(get(r.net, r[c], 13), wire::header::status), u(wire::Status::MISS)) << "card " << unsigned(c);
  }
}

TEST(RtlBackplane, ReplicationKeepsUpWithAStreamOfPuts) {
  // More PUTs queued at once than bp_sync's event queue holds: the card holds host
  // commands back instead of dropping replication events. (A key evicted at card 1
  // before its UPDATE left is not sent: the UPDATE carries the entry as exported.)
  Rig r({1, 2, 3}, wire::BpMode::REPLICATE, 47);
  constexpr unsigned kPuts = 120;
  for (unsigned k = 0; k < kPuts; ++k) {
    TableCommand p = cmd(wire::Opcode::PUT, 1000 + k, g_tag++);
    p.expiry = 5000;
    p.payload = blob_of(k, 256);
    p.blob_len = 256;
    r[1].send(rtlsim::encode(p));
  }
  ASSERT_TRUE(r.net.run_until([&] { return r[1].responses().size() == kPuts; }, 2'000'000));
  r.settle(2'000'000);
  EXPECT_EQ(r[1].bp_counter(NOT_SENT), 0u) << "no replication event dropped";
  unsigned held = 0;
  for (unsigned k = 0; k < kPuts; ++k) {
    const auto g1 = get(r.net, r[1], 1000 + k);
    if (field(g1, wire::header::status) != u(wire::Status::OK)) continue;  // evicted at card 1
    ++held;
    for (uint8_t c : {2, 3}) {
      const auto g = get(r.net, r[c], 1000 + k);
      EXPECT_EQ(field(g, wire::header::status), u(wire::Status::OK)) << "key " << k << " card " << unsigned(c);
      EXPECT_EQ(field(g, wire::header::version), field(g1, wire::header::version)) << "key " << k;
    }
  }
  EXPECT_GT(held, kPuts / 2);
}

TEST(RtlBackplane, HubModeSendsLocalWritesToTheHubOnly) {
  Rig r({0, 1, 2}, wire::BpMode::HUB, 45, /*hub=*/0);
  r.net.set_all_links({.drop = 0.1, .delay = 10, .jitter = 20});
  const auto p = put(r.net, r[1], 20, 120);
  ASSERT_EQ(field(p, wire::header::status), u(wire::Status::OK));
  ASSERT_EQ(field(put(r.net, r[0], 21, 120), wire::header::status), u(wire::Status::OK));
  r.settle(400000);
  const auto g = get(r.net, r[0], 20);
  ASSERT_EQ(field(g, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(field(g, wire::header::version), field(p, wire::header::version));
  EXPECT_EQ(blob_bytes(g), blob_of(20, 120));
  // (a GET on a spoke would pull from the hub: the counters tell what was pushed)
  EXPECT_EQ(r[2].bp_counter(APPLIED), 0u) << "not to the other spokes";
  EXPECT_EQ(r[1].bp_counter(APPLIED), 0u) << "the hub keeps its own writes";
  ASSERT_EQ(field(del(r.net, r[1], 20), wire::header::status), u(wire::Status::OK));
  r.settle(400000);
  EXPECT_EQ(field(get(r.net, r[0], 20), wire::header::status), u(wire::Status::MISS));
}

TEST(RtlBackplane, RestartWithALargerEpochFromTheRegister) {
  Rig r({1, 2}, wire::BpMode::REPLICATE, 46);
  for (unsigned k = 0; k < 4; ++k) ASSERT_EQ(field(put(r.net, r[1], 30 + k, 64), wire::header::status), u(wire::Status::OK));
  r.settle(400000);
  EXPECT_EQ(r[2].read(0x1C), 1u);  // bp_epoch
  r[2].restart(2);
  EXPECT_EQ(r[2].read(0x1C), 2u);
  EXPECT_EQ(field(get(r.net, r[2], 30), wire::header::status), u(wire::Status::MISS)) << "the restart lost the table";
  r.net.run(20000);  // card 1 hears the new epoch (HELLO) and starts the sequence again
  // Writes after the restart reach the restarted card (with the old epoch they would be
  // taken for duplicates of the old sequence numbers and dropped).
  for (unsigned k = 0; k < 4; ++k) ASSERT_EQ(field(put(r.net, r[1], 40 + k, 64), wire::header::status), u(wire::Status::OK));
  r.settle(400000);
  for (unsigned k = 0; k < 4; ++k) EXPECT_EQ(field(get(r.net, r[2], 40 + k), wire::header::status), u(wire::Status::OK)) << k;
  EXPECT_GE(r[1].bp_counter(STALE), 1u) << "card 1 saw the epoch change";
}

// ---- PULL and the hub pull (card rule 3) ------------------------------------------------
TableCommand pull_cmd(unsigned k, unsigned owner) {
  TableCommand t = cmd(wire::Opcode::PULL, k, g_tag++);
  t.aux = kBcast | (uint64_t{owner} << 8);  // sync_cmd.dest = none, sync_cmd.owner = the card to pull from
  return t;
}

TEST(RtlBackplane, HubPullOnAGetMiss) {
  // Card 2 writes (its UPDATE goes to the hub 0 only); a GET on spoke 1 misses locally,
  // pulls from the hub and answers the entry (the same GET run again), which card 1 then
  // holds; a key the hub does not hold answers the original MISS.
  Rig r({0, 1, 2}, wire::BpMode::HUB, 51, /*hub=*/0);
  r.net.set_all_links({.drop = 0.1, .delay = 10, .jitter = 20});
  const auto p = put(r.net, r[2], 60, 180);
  ASSERT_EQ(field(p, wire::header::status), u(wire::Status::OK));
  r.settle(400000);
  ASSERT_EQ(r[1].bp_counter(APPLIED), 0u);
  const auto g = get(r.net, r[1], 60);
  ASSERT_EQ(field(g, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(field(g, wire::header::op), u(wire::Opcode::GET));
  EXPECT_EQ(field(g, wire::header::version), field(p, wire::header::version));
  EXPECT_EQ(blob_bytes(g), blob_of(60, 180));
  EXPECT_EQ(r[1].bp_counter(APPLIED), 1u) << "the pulled entry was stored here";
  r.settle(400000);
  const uint64_t hub_tx = r[0].bp_counter(TX);
  EXPECT_EQ(field(get(r.net, r[1], 60), wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(r[0].bp_counter(TX), hub_tx) << "a local hit asks nobody";
  const auto m = get(r.net, r[1], 61);
  EXPECT_EQ(field(m, wire::header::status), u(wire::Status::MISS));
  EXPECT_EQ(field(m, wire::header::op), u(wire::Opcode::GET));
  EXPECT_EQ(field(get(r.net, r[0], 61), wire::header::status), u(wire::Status::MISS)) << "the hub answers its own misses";
}

TEST(RtlBackplane, HubPullOnATakeMissAndTheUsedTicketIsAMissEverywhere) {
  // A single-use ticket written on spoke 2 (at 2 and the hub); spoke 1 TAKEs it: local
  // miss, pull from the hub, TAKE again -> OK; its DELETE goes to the hub and to the
  // writer 2, so afterwards the ticket is a MISS on every card (even through pulls).
  Rig r({0, 1, 2}, wire::BpMode::HUB, 52, /*hub=*/0);
  r.net.set_all_links({.drop = 0.1, .delay = 10, .jitter = 20});
  const auto p = put_flags(r.net, r[2], 62, 90, kSingleUse);
  ASSERT_EQ(field(p, wire::header::status), u(wire::Status::OK));
  r.settle(400000);
  const auto t = take(r.net, r[1], 62);
  ASSERT_EQ(field(t, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(field(t, wire::header::op), u(wire::Opcode::TAKE));
  EXPECT_EQ(blob_bytes(t), blob_of(62, 90));
  EXPECT_EQ(field(t, wire::header::version), field(p, wire::header::version));
  r.settle(400000);
  for (uint8_t c : {0, 1, 2}) EXPECT_EQ(field(get(r.net, r[c], 62), wire::header::status), u(wire::Status::MISS)) << "card " << unsigned(c);
  EXPECT_EQ(field(take(r.net, r[1], 62), wire::header::status), u(wire::Status::MISS));
}

// Transfer mode: a PULL of a SINGLE_USE entry moves it (the kernel's EXPORT_PULL). The
// owner answers from a GET that tombstones its copy; the PULL_RESP's entry names the
// puller as writer, one lamport past that tombstone, so the puller's TAKE sends no
// DELETE (card rule 4 finds itself as the writer). A reusable entry is still copied.
TEST(RtlBackplane, PullMovesASingleUseEntryInTransferMode) {
  Rig r({1, 2, 3}, wire::BpMode::TRANSFER, 54);
  r.net.set_all_links({.drop = 0.2, .delay = 10, .jitter = 20});
  uint64_t deletes = 0;
  r.net.set_tap([&](const rtlsim::Frame& f) {
    deletes += wire::get_field(f[0].data, wire::frame::ftype) == static_cast<unsigned>(wire::FrameType::DELETE);
  });
  const auto p = put_flags(r.net, r[2], 72, 120, kSingleUse);
  ASSERT_EQ(field(p, wire::header::status), u(wire::Status::OK));
  const auto a = exec(r.net, r[1], pull_cmd(72, 2));
  ASSERT_EQ(field(a, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(field(a, wire::header::version) & 0xff, 1u) << "the moved copy is the puller's";
  EXPECT_GT(field(a, wire::header::version) >> 8, field(p, wire::header::version) >> 8);
  EXPECT_EQ(field(get(r.net, r[2], 72), wire::header::status), u(wire::Status::MISS)) << "the owner tombstoned it";
  EXPECT_EQ(field(exec(r.net, r[3], pull_cmd(72, 2)), wire::header::status), u(wire::Status::MISS)) << "nothing to pull";
  const auto t = take(r.net, r[1], 72);
  ASSERT_EQ(field(t, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(field(t, wire::header::version), field(a, wire::header::version));
  EXPECT_EQ(blob_bytes(t), blob_of(72, 120));
  r.settle(400000);
  EXPECT_EQ(deletes, 0u) << "the take of a moved ticket owes nobody a DELETE";
  EXPECT_EQ(r[1].read(0x84), 0u);  // bp_deletes_sent
  for (uint8_t c : {1, 2, 3}) EXPECT_EQ(field(get(r.net, r[c], 72), wire::header::status), u(wire::Status::MISS)) << "card " << unsigned(c);
  // a reusable entry (a TLS 1.2 session) is copied: the owner keeps it, the version is its writer's
  const auto q = put(r.net, r[2], 73, 60);
  const auto b = exec(r.net, r[1], pull_cmd(73, 2));
  ASSERT_EQ(field(b, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(field(b, wire::header::version), field(q, wire::header::version));
  EXPECT_EQ(field(get(r.net, r[2], 73), wire::header::status), u(wire::Status::OK));
}

TEST(RtlBackplane, PullCopiesAnEntryFromAnotherCard) {
  Rig r({1, 2, 3}, wire::BpMode::TRANSFER, 53);
  r.net.set_all_links({.drop = 0.2, .delay = 10, .jitter = 20});
  const auto p = put(r.net, r[2], 70, 256);
  ASSERT_EQ(field(p, wire::header::status), u(wire::Status::OK));
  const auto a = exec(r.net, r[1], pull_cmd(70, 2));
  ASSERT_EQ(field(a, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(field(a, wire::header::op), u(wire::Opcode::PULL));
  EXPECT_EQ(field(a, wire::header::version), field(p, wire::header::version));
  const auto g = get(r.net, r[1], 70);
  ASSERT_EQ(field(g, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(field(g, wire::header::version), field(p, wire::header::version));
  EXPECT_EQ(blob_bytes(g), blob_of(70, 256));
  EXPECT_EQ(field(get(r.net, r[2], 70), wire::header::status), u(wire::Status::OK)) << "a pull copies, never consumes";
  EXPECT_EQ(field(exec(r.net, r[1], pull_cmd(71, 2)), wire::header::status), u(wire::Status::MISS));
  EXPECT_EQ(field(exec(r.net, r[1], pull_cmd(70, 9)), wire::header::status), u(wire::Status::FAILED)) << "not a member";
  EXPECT_EQ(field(exec(r.net, r[1], pull_cmd(70, 1)), wire::header::status), u(wire::Status::FAILED)) << "itself";
  TableCommand bad = pull_cmd(70, 2);
  bad.key_len = 0;
  EXPECT_EQ(field(exec(r.net, r[1], bad), wire::header::status), u(wire::Status::BAD_CMD));
  // a PULL whose owner never answers ends at its deadline (the command's expiry, card clock)
  r.net.set_link(1, 3, {.drop = 1.0});
  TableCommand d = pull_cmd(70, 3);
  d.expiry = 103;
  r[1].send(rtlsim::encode(d));
  r.net.run(1000);
  set_time(r.net, r[1], 104);
  const auto late = await(r.net, r[1], d.tag, 20000);
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(field(*late, wire::header::status), u(wire::Status::FAILED));
  EXPECT_EQ(r[1].bp_counter(GIVEUP), 0u) << "the deadline, not the retries";
}

// ---- catch-up (card rule 6) ---------------------------------------------------------
constexpr uint32_t kRegCatchupPushed = 0x90, kRegCatchupWalks = 0x94;

TEST(RtlBackplane, RestartedPeerGetsTheWholeTableByCatchUp) {
  // Card 1 holds 24 entries and 2 tombstones; card 2 restarts with a larger epoch (its
  // table is empty) and is caught up by card 1's SCAN walk over a lossy link: it ends with
  // every entry (same version and blob) and the tombstones (a stale UPDATE of a deleted
  // key is refused).
  Rig r({1, 2}, wire::BpMode::REPLICATE, 71);
  r.net.set_all_links({.drop = 0.1, .delay = 10, .jitter = 20});
  std::map<unsigned, uint64_t> ver;
  for (unsigned k = 0; k < 24; ++k) {
    const auto p = put(r.net, r[1], 500 + k, 64 + (k * 29) % 190);
    ASSERT_EQ(field(p, wire::header::status), u(wire::Status::OK));
    ver[k] = field(p, wire::header::version);
  }
  ASSERT_EQ(field(put(r.net, r[1], 530, 64), wire::header::status), u(wire::Status::OK));
  ASSERT_EQ(field(put(r.net, r[1], 531, 64), wire::header::status), u(wire::Status::OK));
  const auto d0 = del(r.net, r[1], 530);
  ASSERT_EQ(field(d0, wire::header::status), u(wire::Status::OK));
  ASSERT_EQ(field(del(r.net, r[1], 531), wire::header::status), u(wire::Status::OK));
  r.settle(400000);
  const uint32_t walks0 = r[1].read(kRegCatchupWalks), pushed0 = r[1].read(kRegCatchupPushed);
  r[2].restart(2);
  set_time(r.net, r[2], 100);
  ASSERT_EQ(field(get(r.net, r[2], 500), wire::header::status), u(wire::Status::MISS)) << "the restart lost the table";
  ASSERT_TRUE(r.net.run_until([&] { return r[1].read(kRegCatchupWalks) > walks0; }, 200000)) << "a walk started";
  r.settle(2'000'000);
  EXPECT_GE(r[1].read(kRegCatchupPushed) - pushed0, 26u) << "24 entries + 2 tombstones";
  for (unsigned k = 0; k < 24; ++k) {
    const auto g = get(r.net, r[2], 500 + k);
    ASSERT_EQ(field(g, wire::header::status), u(wire::Status::OK)) << "key " << k;
    EXPECT_EQ(field(g, wire::header::version), ver[k]) << "key " << k;
    EXPECT_EQ(blob_bytes(g), blob_of(500 + k, 64 + (k * 29) % 190)) << "key " << k;
  }
  // the tombstone arrived: an UPDATE older than the delete is STALE there
  TableCommand old = cmd(wire::Opcode::PUT, 530, g_tag++);
  old.version = field(d0, wire::header::version) - 1;
  old.expiry = 5000;
  old.payload = blob_of(1, 64);
  old.blob_len = 64;
  EXPECT_EQ(field(exec(r.net, r[2], old), wire::header::status), u(wire::Status::STALE));
  EXPECT_EQ(r[1].bp_counter(GIVEUP), 0u);
}

TEST(RtlBackplane, RestartedHubIsCaughtUpBySpokes) {
  Rig r({0, 1, 2}, wire::BpMode::HUB, 72, /*hub=*/0);
  const auto p1 = put(r.net, r[1], 540, 100);
  const auto p2 = put(r.net, r[2], 541, 100);
  r.settle(400000);
  r[0].restart(2);
  set_time(r.net, r[0], 100);
  r.net.run(40000);
  r.settle(1'000'000);
  const auto g1 = get(r.net, r[0], 540);
  const auto g2 = get(r.net, r[0], 541);
  ASSERT_EQ(field(g1, wire::header::status), u(wire::Status::OK));
  ASSERT_EQ(field(g2, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(field(g1, wire::header::version), field(p1, wire::header::version));
  EXPECT_EQ(field(g2, wire::header::version), field(p2, wire::header::version));
  EXPECT_EQ(r[0].read(kRegCatchupPushed), 0u) << "the hub pushes to nobody";
}

// ---- the contract's BackplanePorts: a transport pump moves whole frames ------------
TEST(RtlBackplane, PortsCarryTheProtocolThroughAFramePump) {
  // Two cards joined only by take_frame / give_frame / service, as the host's UDP pump
  // joins them (no Cluster): the pump drops 20% of the frames and refuses nothing else.
  const uint32_t members = (1u << 1) | (1u << 2);
  Card a(CardConfig{.card = 1, .members = members, .mode = wire::BpMode::REPLICATE});
  Card b(CardConfig{.card = 2, .members = members, .mode = wire::BpMode::REPLICATE});
  rtlsim::TopCardPorts<Vsessnic_top_s6w4> pa(a, 10), pb(b, 10);
  std::mt19937 rng(5);
  uint64_t now_us = 0, dropped = 0, moved = 0;
  auto pump = [&](uint64_t us) {
    for (uint64_t end = now_us + us; now_us < end; now_us += 10) {
      pa.service(now_us);
      pb.service(now_us);
      std::vector<Beat> f;
      while (pa.take_frame(f)) (rng() % 5 == 0) ? ++dropped : (pb.give_frame(f) ? ++moved : ++dropped);
      while (pb.take_frame(f)) (rng() % 5 == 0) ? ++dropped : (pa.give_frame(f) ? ++moved : ++dropped);
    }
  };
  auto run = [&](Card& c, const TableCommand& tc) {
    c.send(rtlsim::encode(tc));
    for (int i = 0; i < 2000 && c.responses().empty(); ++i) pump(10);
    EXPECT_FALSE(c.responses().empty());
    auto r = c.responses().empty() ? std::vector<Beat>{Beat{}} : c.responses().front();
    c.responses().clear();
    return r;
  };
  TableCommand t;
  t.op = static_cast<uint8_t>(wire::Opcode::SET_TIME);
  t.aux = 100;
  run(a, t);
  run(b, t);
  pump(2000);
  for (unsigned k = 0; k < 6; ++k) {
    TableCommand p = cmd(wire::Opcode::PUT, 70 + k, g_tag++);
    p.expiry = 5000;
    p.payload = blob_of(k, 100);
    p.blob_len = 100;
    ASSERT_EQ(field(run(a, p), wire::header::status), u(wire::Status::OK));
  }
  pump(20000);
  for (unsigned k = 0; k < 6; ++k) {
    const auto g = run(b, cmd(wire::Opcode::GET, 70 + k, g_tag++));
    EXPECT_EQ(field(g, wire::header::status), u(wire::Status::OK)) << k;
    EXPECT_EQ(blob_bytes(g), blob_of(k, 100)) << k;
  }
  EXPECT_GT(dropped, 0u);
  EXPECT_GT(moved, 0u);
  // A frame without TLAST on its last beat is refused.
  std::vector<Beat> bad(1);
  bad[0].last = false;
  EXPECT_FALSE(pb.give_frame(bad));
}

// ---- interop: the HLS backplane kernel + table kernel as a cluster node ------------
class KernelNode final : public rtlsim::Node {
 public:
  using Bp = BackplaneSync<32, 64>;
  KernelNode(uint8_t card, uint32_t members, wire::BpMode mode, bool passive = false) : card_(card) {
    BackplaneConfig c;
    c.card = card;
    c.epoch = 7;
    c.mode = mode;
    c.rto = kRto;
    c.max_retries = 6;
    c.hello_interval = 16384;
    c.peers[0] = members;
    c.passive = passive;
    bp.configure(c);
    table.reset(card);
    Beat t;
    clear_beat(t);
    wire::set_field(t.data, wire::header::op, u(wire::Opcode::SET_TIME));
    wire::set_field(t.data, wire::header::aux, 100);
    t.last = true;
    tbl_cmd.write(t);
    table.step(tbl_cmd, tbl_rsp);
    (void)read_msg(tbl_rsp);
  }
  uint8_t card() const override { return card_; }
  void tick() override {
    for (int guard = 0; guard < 1000; ++guard) {
      const bool did = bp.step(now_, io);
      bool tbl = false;
      while (table.step(tbl_cmd, tbl_rsp)) tbl = true;
      if (!did && !tbl) break;
    }
    bp.service_timers(now_, io);
    while (!rsp_out.empty()) {
      const Beat r = rsp_out.read();
      if (wire::get_field(r.data, wire::header::op) != u(wire::Opcode::NOP)) results.push_back(r);
    }
    while (!fout.empty()) tx_.push_back(read_msg(fout));
    ++now_;
  }
  void deliver(const rtlsim::Frame& f) override {
    for (const Beat& b : f) fin.write(b);
  }
  std::vector<rtlsim::Frame> take_tx() override { return std::exchange(tx_, {}); }

  static std::vector<Beat> read_msg(hls::stream<Beat>& s) {
    std::vector<Beat> m;
    Beat b = s.read();
    m.push_back(b);
    while (!b.last) {
      b = s.read();
      m.push_back(b);
    }
    return m;
  }
  std::vector<Beat> table_op(const TableCommand& c) {
    for (const Beat& b : rtlsim::encode(c)) tbl_cmd.write(b);
    table.step(tbl_cmd, tbl_rsp);
    return read_msg(tbl_rsp);
  }

  SessionTable<6, 4> table;
  Bp bp;
  hls::stream<Beat> cmd_in, rsp_out, tbl_cmd, tbl_rsp, fin, fout;
  Bp::Io io{cmd_in, rsp_out, tbl_cmd, tbl_rsp, fin, fout};
  std::vector<Beat> results;

 private:
  uint8_t card_;
  uint64_t now_ = 1;
  std::vector<rtlsim::Frame> tx_;
};

class RtlBackplaneInterop : public ::testing::TestWithParam<double> {};

TEST_P(RtlBackplaneInterop, RtlCardAndHlsKernelExchangeEntries) {
  const double loss = GetParam();
  const uint32_t members = (1u << 1) | (1u << 4);
  Cluster net(5);
  Card rtl(CardConfig{.card = 1, .members = members, .mode = wire::BpMode::REPLICATE});
  KernelNode k(4, members, wire::BpMode::REPLICATE);
  net.add(&rtl);
  net.add(&k);
  set_time(net, rtl, 100);
  net.run(400);
  net.set_all_links({.drop = loss, .delay = 8, .jitter = 8});
  ASSERT_TRUE(k.bp.peer_up(1)) << "the kernel learned the RTL card's epoch from its HELLO";

  // RTL -> kernel: TRANSFER of a 256-byte entry.
  const auto p = put(net, rtl, 7, 256);
  ASSERT_EQ(field(p, wire::header::status), u(wire::Status::OK));
  const auto t = exec(net, rtl, transfer_cmd(7, 4));
  EXPECT_EQ(field(t, wire::header::status), u(wire::Status::OK));
  TableCommand kg = cmd(wire::Opcode::GET, 7, 1);
  auto g = k.table_op(kg);
  ASSERT_EQ(field(g, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(blob_bytes(g), blob_of(7, 256));
  EXPECT_EQ(field(g, wire::header::version), field(p, wire::header::version));
  // Replicate mode: the PUT also goes out as an UPDATE (after the transfer: host
  // TRANSFERs come before queued replication events), applied by the kernel.
  net.run(loss > 0 ? 60000 : 2000);
  if (loss == 0) {
    EXPECT_EQ(k.bp.counter(wire::BP_STATS_RX_DUP), 0u);
  }
  EXPECT_GE(k.bp.counter(wire::BP_STATS_APPLIED), 2u);
  EXPECT_EQ(k.bp.counter(wire::BP_STATS_RX_BAD_CRC), 0u);
  EXPECT_EQ(k.bp.counter(wire::BP_STATS_RX_BAD_LEN), 0u);
  EXPECT_EQ(k.bp.counter(wire::BP_STATS_RX_NOT_MINE), 0u);

  // Kernel -> RTL: a local PUT on the kernel's table, replicated (UPDATE) and then
  // transferred (TRANSFER, outcome ACK from the RTL).
  TableCommand kp = cmd(wire::Opcode::PUT, 8, 2);
  kp.expiry = 4000;
  kp.payload = blob_of(8, 130);
  kp.blob_len = 130;
  const auto kr = k.table_op(kp);
  ASSERT_EQ(field(kr, wire::header::status), u(wire::Status::OK));
  TableCommand ev = kp;  // the replicate event: the entry with its version, dest = per mode
  ev.version = field(kr, wire::header::version);
  ev.aux = kBcast;
  for (const Beat& b : rtlsim::encode(ev)) k.cmd_in.write(b);
  TableCommand kt = cmd(wire::Opcode::TRANSFER, 8, 99);
  kt.aux = 1 | (uint64_t{kBcast} << 8);
  for (const Beat& b : rtlsim::encode(kt)) k.cmd_in.write(b);
  ASSERT_TRUE(net.run_until([&] { return !k.results.empty(); }, 400000));
  EXPECT_EQ(wire::get_field(k.results[0].data, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(wire::get_field(k.results[0].data, wire::header::tag), 99u);
  const auto rg = get(net, rtl, 8);
  ASSERT_EQ(field(rg, wire::header::status), u(wire::Status::OK));
  EXPECT_EQ(blob_bytes(rg), blob_of(8, 130));
  EXPECT_EQ(field(rg, wire::header::version), field(kr, wire::header::version));
  EXPECT_EQ(field(rg, wire::header::expiry), 4000u);
  EXPECT_EQ(rtl.bp_counter(APPLY_FAILED), 0u);
  EXPECT_EQ(rtl.read(0x4C), 0u) << "no CRC errors on the RTL side";
  EXPECT_EQ(rtl.read(0x48), 0u) << "no length errors on the RTL side";
  EXPECT_EQ(k.bp.counter(wire::BP_STATS_RTX_GIVEUP), 0u);
  EXPECT_EQ(rtl.bp_counter(GIVEUP), 0u);
  if (loss > 0) {
    EXPECT_GT(net.frames_dropped(), 0u);
  }
}

// A burst each way between an RTL card and the HLS kernel (64 retransmit slots, window
// 1024) over lossy reordering links: 48 UPDATEs from each side, more than the RTL's send
// window (16); the RTL's receive window (64) holds every frame the kernel has in flight,
// so the kernel resends only the gaps its sack shows. Every entry lands with its version
// and blob (at most 2 keys per set from each side: nothing is evicted).
TEST_P(RtlBackplaneInterop, BurstsThroughTheWindowsBothWays) {
  const double loss = GetParam();
  const uint32_t members = (1u << 1) | (1u << 4);
  Cluster net(9);
  Card rtl(CardConfig{.card = 1, .members = members, .mode = wire::BpMode::REPLICATE});
  KernelNode k(4, members, wire::BpMode::REPLICATE);
  net.add(&rtl);
  net.add(&k);
  set_time(net, rtl, 100);
  net.run(400);
  ASSERT_TRUE(k.bp.peer_up(1));
  WireWatch w;
  net.set_tap([&w](const rtlsim::Frame& f) { w(f); });
  net.set_all_links({.drop = loss, .delay = 8, .jitter = 40, .reorder = true});
  constexpr unsigned kBurst = 48;
  // at most 2 of each side's keys per set: 4 ways hold them all, no eviction anywhere
  const auto rk = spread_keys(3000, kBurst, 2);
  const auto kk = spread_keys(40000, kBurst, 2);
  std::map<unsigned, uint64_t> k_ver;
  for (unsigned i = 0; i < kBurst; ++i) {
    TableCommand p = cmd(wire::Opcode::PUT, rk[i], g_tag++);
    p.expiry = 5000;
    p.payload = blob_of(i, 192, 5);
    p.blob_len = 192;
    rtl.send(rtlsim::encode(p));
    TableCommand kp = cmd(wire::Opcode::PUT, kk[i], g_tag++);
    kp.expiry = 5000;
    kp.payload = blob_of(i, 160, 6);
    kp.blob_len = 160;
    const auto kr = k.table_op(kp);
    ASSERT_EQ(field(kr, wire::header::status), u(wire::Status::OK));
    k_ver[i] = field(kr, wire::header::version);
    TableCommand ev = kp;  // the replicate event
    ev.version = k_ver[i];
    ev.aux = kBcast;
    for (const Beat& b : rtlsim::encode(ev)) k.cmd_in.write(b);
  }
  ASSERT_TRUE(net.run_until([&] { return rtl.responses().size() == kBurst; }, 2'000'000));
  for (const auto& r : rtl.responses()) ASSERT_EQ(field(r, wire::header::status), u(wire::Status::OK));
  rtl.responses().clear();
  // until every kernel UPDATE was applied at the RTL card (each seq once) and the kernel
  // holds every RTL key (the bound covers backoff to 64 x rto)
  const auto kernel_has_all = [&] {
    for (unsigned i = 0; i < kBurst; ++i)
      if (field(k.table_op(cmd(wire::Opcode::GET, rk[i], 1)), wire::header::status) != u(wire::Status::OK)) return false;
    return true;
  };
  for (uint64_t spent = 0; spent < 3'000'000 && !(rtl.bp_counter(APPLIED) >= kBurst && kernel_has_all()); spent += 1000)
    net.run(1000);
  for (unsigned i = 0; i < kBurst; ++i) {
    const auto g = get(net, rtl, kk[i]);
    ASSERT_EQ(field(g, wire::header::status), u(wire::Status::OK)) << "kernel's key " << i << " at the RTL card";
    EXPECT_EQ(field(g, wire::header::version), k_ver[i]);
    EXPECT_EQ(blob_bytes(g), blob_of(i, 160, 6));
    const auto kg = k.table_op(cmd(wire::Opcode::GET, rk[i], 1));
    ASSERT_EQ(field(kg, wire::header::status), u(wire::Status::OK)) << "RTL's key " << i << " at the kernel";
    EXPECT_EQ(blob_bytes(kg), blob_of(i, 192, 5));
    EXPECT_EQ(field(kg, wire::header::version), field(get(net, rtl, rk[i]), wire::header::version));
  }
  EXPECT_EQ(rtl.bp_counter(WINDOW), 0u) << "the kernel never ran past the RTL's receive window";
  EXPECT_EQ(rtl.bp_counter(GIVEUP), 0u);
  EXPECT_EQ(k.bp.counter(wire::BP_STATS_RTX_GIVEUP), 0u);
  EXPECT_EQ(rtl.bp_counter(APPLY_FAILED), 0u);
  EXPECT_GE(w.max_in_flight, 8u);
  if (loss > 0) {
    EXPECT_GT(w.sacks[1], 0u) << "the RTL card sacked the kernel's out-of-order frames";
    EXPECT_GT(k.bp.counter(wire::BP_STATS_FAST_RETRANSMITS), 0u) << "the kernel read the RTL's sack";
  }
}

// A passive member (a table-less dispatcher node; HELLO arg bit 0, here the HLS kernel
// configured passive) is no replication destination: UPDATE and DELETE go to the other
// card only, and nothing is counted as not sent.
TEST(RtlBackplanePassive, PassivePeerGetsNoReplication) {
  const uint32_t members = (1u << 1) | (1u << 2) | (1u << 4);
  Cluster net(13);
  Card c1(CardConfig{.card = 1, .members = members, .mode = wire::BpMode::REPLICATE});
  Card c2(CardConfig{.card = 2, .members = members, .mode = wire::BpMode::REPLICATE});
  KernelNode k(4, members, wire::BpMode::REPLICATE, /*passive=*/true);
  net.add(&c1);
  net.add(&c2);
  net.add(&k);
  set_time(net, c1, 100);
  set_time(net, c2, 100);
  net.run(2000);
  ASSERT_TRUE(k.bp.peer_up(1));
  ASSERT_TRUE(k.bp.peer_up(2));
  const auto p = put(net, c1, 50, 200);
  ASSERT_EQ(field(p, wire::header::status), u(wire::Status::OK));
  ASSERT_EQ(field(put(net, c2, 51, 100), wire::header::status), u(wire::Status::OK));
  net.run(20000);
  const auto g = get(net, c2, 50);
  ASSERT_EQ(field(g, wire::header::status), u(wire::Status::OK)) << "the active peer got the UPDATE";
  EXPECT_EQ(field(g, wire::header::version), field(p, wire::header::version));
  ASSERT_EQ(field(del(net, c1, 50), wire::header::status), u(wire::Status::OK));
  net.run(20000);
  EXPECT_EQ(field(get(net, c2, 50), wire::header::status), u(wire::Status::MISS)) << "the DELETE reached card 2";
  EXPECT_EQ(field(k.table_op(cmd(wire::Opcode::GET, 51, 1)), wire::header::status), u(wire::Status::MISS));
  EXPECT_EQ(k.bp.counter(wire::BP_STATS_APPLIED), 0u) << "no UPDATE/DELETE reached the passive peer";
  EXPECT_EQ(c1.bp_counter(NOT_SENT) + c2.bp_counter(NOT_SENT), 0u) << "a passive peer is no destination, not a miss";
  EXPECT_GE(c1.bp_counter(APPLIED), 1u) << "card 2's PUT reached card 1 (and maybe its catch-up walk)";
}

INSTANTIATE_TEST_SUITE_P(Loss, RtlBackplaneInterop, ::testing::Values(0.0, 0.2),
                         [](const auto& info) { return info.param == 0.0 ? "Lossless" : "Loss20"; });

}  // namespace
}  // namespace sessnic
