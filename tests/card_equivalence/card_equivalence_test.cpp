// Card equivalence (issue 10): the HLS card top (hls/card_top.hpp, the reference) and the
// RTL card (rtl/sessnic_top.sv, Verilated), three cards each, driven by the same seeded
// host command stream over links that make the same seeded decision for the n-th frame
// on each directed link (drop, duplicate, delay/reorder, corrupt one byte).
//
// What is compared, and why only that:
//  * Host responses, status and blob, for every command. Each key has a home card, the
//    only card that gets host commands for it (transfer mode: the card that holds it
//    now), so a command's result depends only on the commands before it on that card,
//    never on when a replicated frame arrives. Versions are NOT compared: a local
//    version is the card's Lamport clock + 1, and the clock advances with the remote
//    versions the card has applied so far (timing). The table has room for every key on
//    every card (keys are chosen so no set holds more than WAYS of them), so no result
//    depends on an eviction order.
//  * TRANSFER (transfer mode): status; the link eventually delivers (max_retries large),
//    so both answer OK or both MISS.
//  * After quiescence (links lossless, both clusters run until no frame is in flight):
//    every card's EXPORT of every key, status and blob: the tables are equal.
//  * A used TLS 1.3 ticket: a SINGLE_USE entry written on one card, TAKEn on another, is
//    a MISS on every card of both clusters afterwards (replicate mode).
// Runs (each a ctest, card_equivalence_*): mode x seed, 20,000 commands each.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "Vsessnic_top_s6w4.h"
#include "card_registers.hpp"
#include "card_top.hpp"
#include "sessnic/codec.hpp"
#include "top_cluster_sim.hpp"

namespace sessnic {
namespace {

constexpr unsigned kSetsLog2 = 6, kWays = 4;  // the RTL model's geometry (sessnic_vsessnic_top_s6w4)
constexpr uint8_t kCards[3] = {1, 2, 3};
constexpr uint8_t kHub = 1;  // mode hub: card 1 is the central repository
constexpr uint32_t kMembers = (1u << 1) | (1u << 2) | (1u << 3);
constexpr uint32_t kNow = 1000;  // table clock (seconds), fixed: expiry is not under test here
constexpr uint32_t kRto = 400, kRetries = 40, kHello = 4000;  // cycles (RTL) = ticks (HLS)
constexpr uint64_t kMaxWait = 2'000'000;  // cycles any single answer may take

using HlsCard = CardTop<kSetsLog2, kWays, 32, 64, 64>;
using Frame = std::vector<Beat>;

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The link: the n-th frame from s to d gets the same fate in both clusters.
struct LinkFate {
  bool drop = false, dup = false, corrupt = false;
  unsigned delay = 0;
};
class Links {
 public:
  explicit Links(uint64_t seed) : seed_(seed) {}
  void set_lossless(bool v) { lossless_ = v; }
  LinkFate next(uint8_t s, uint8_t d) {
    const uint64_t n = count_[{s, d}]++;
    const uint64_t h = mix(seed_ ^ (uint64_t{s} << 48) ^ (uint64_t{d} << 40) ^ n);
    LinkFate f;
    f.delay = 4 + static_cast<unsigned>((h >> 32) % 60);  // jitter: frames overtake each other
    if (lossless_) return f;
    const unsigned p = h % 1000;
    f.drop = p < 40;                  // 4%
    f.dup = p >= 40 && p < 60;        // 2%
    f.corrupt = p >= 60 && p < 75;    // 1.5%: one payload byte flipped (CRC catches it)
    return f;
  }

 private:
  uint64_t seed_;
  bool lossless_ = false;
  std::map<std::pair<uint8_t, uint8_t>, uint64_t> count_;
};

// Frames in flight: (due time, destination card, frame).
class Wires {
 public:
  explicit Wires(uint64_t seed) : links_(seed) {}
  Links& links() { return links_; }
  void send(uint64_t now, uint8_t src, const Frame& f) {
    const unsigned dst = static_cast<unsigned>(wire::get_field(f[0].data, wire::frame::dst));
    ++by_type[static_cast<unsigned>(wire::get_field(f[0].data, wire::frame::ftype))];
    for (uint8_t d : kCards) {
      if (d == src || (dst != 255 && dst != d)) continue;
      const LinkFate fate = links_.next(src, d);
      ++sent;
      dropped += fate.drop;
      duplicated += fate.dup && !fate.drop;
      corrupted += fate.corrupt && !fate.drop;
      if (fate.drop) continue;
      Frame g = f;
      if (fate.corrupt) g[g.size() - 1].data[3] ^= 0x40;
      q_.insert({now + fate.delay, {d, g}});
      if (fate.dup) q_.insert({now + fate.delay + 7, {d, std::move(g)}});
    }
  }
  template <class F>
  void deliver(uint64_t now, F&& to) {
    while (!q_.empty() && q_.begin()->first <= now) {
      auto it = q_.begin();
      to(it->second.first, it->second.second);
      q_.erase(it);
    }
  }
  bool empty() const { return q_.empty(); }
  uint64_t sent = 0, dropped = 0, duplicated = 0, corrupted = 0;
  std::map<unsigned, uint64_t> by_type;  // frames the cards sent (retransmits included), by frame type

 private:
  Links links_;
  std::multimap<uint64_t, std::pair<uint8_t, Frame>> q_;
};

CardRegisters hls_registers(uint8_t card, wire::BpMode mode, uint32_t epoch) {
  CardRegisters r;
  r.card = card;
  r.mode = mode;
  r.epoch = epoch;
  r.members[0] = kMembers;
  r.rto = kRto;
  r.max_retries = kRetries;
  r.hello_interval = kHello;
  r.deadline = 1ull << 40;  // TRANSFER: answered by the retries, not a deadline
  r.pull_deadline = 1ull << 40;  // hub pull: likewise
  r.hub = kHub;
  return r;
}

// ---- the two clusters behind one interface ---------------------------------------

class Cluster {
 public:
  virtual ~Cluster() = default;
  // Runs the command on card `card` and the whole cluster until it is answered.
  virtual Response run(uint8_t card, const Command& c) = 0;
  // Runs `cycles` cycles.
  virtual void idle(uint64_t cycles) = 0;
  virtual void restart(uint8_t card, uint32_t epoch) = 0;
  virtual Wires& wires() = 0;
  // Nothing in flight and nothing waiting to be resent.
  virtual bool quiet() = 0;
  virtual const char* name() const = 0;
};

class RtlCluster final : public Cluster {
 public:
  RtlCluster(wire::BpMode mode, uint64_t seed) : wires_(seed), mode_(mode) {
    for (uint8_t id : kCards) cards_[id] = std::make_unique<rtlsim::TopCard<Vsessnic_top_s6w4>>(config(id, 100));
  }
  const char* name() const override { return "rtl"; }
  Wires& wires() override { return wires_; }
  Response run(uint8_t card, const Command& c) override {
    std::vector<Beat> beats;
    codec::encode(c, beats);
    auto& top = *cards_[card];
    top.send(beats);
    for (uint64_t i = 0; i < kMaxWait; ++i) {
      if (!top.responses().empty()) {
        Response r = codec::decode(top.responses().front());
        top.responses().pop_front();
        return r;
      }
      tick();
    }
    ADD_FAILURE() << "rtl card " << int(card) << " never answered";
    return codec::local_response(c, wire::Status::FAILED);
  }
  void idle(uint64_t cycles) override {
    for (uint64_t i = 0; i < cycles; ++i) tick();
  }
  void restart(uint8_t card, uint32_t epoch) override { cards_[card]->restart(epoch); }
  bool quiet() override {
    // No frame on the wires and no retransmission outstanding (bp_counters: the engine
    // has nothing to resend once tx_frames stops moving over an RTO).
    const uint64_t before = tx_total();
    idle(4 * kRto);
    return wires_.empty() && tx_total() == before;
  }

 private:
  rtlsim::CardConfig config(uint8_t id, uint32_t epoch) const {
    rtlsim::CardConfig c;
    c.card = id;
    c.members = kMembers;
    c.mode = mode_;
    c.epoch = epoch;
    c.rto = kRto;
    c.max_retries = kRetries;
    c.hub = kHub;
    return c;
  }
  uint64_t tx_total() {
    uint64_t n = 0;
    for (auto& [id, c] : cards_) n += c->bp_counter(0);
    return n;
  }
  void tick() {
    for (auto& [id, c] : cards_) c->tick();
    for (auto& [id, c] : cards_)
      for (Frame& f : c->take_tx()) wires_.send(now_, id, f);
    wires_.deliver(now_, [this](uint8_t d, const Frame& f) { cards_[d]->deliver(f); });
    ++now_;
  }
  Wires wires_;
  wire::BpMode mode_;
  std::map<uint8_t, std::unique_ptr<rtlsim::TopCard<Vsessnic_top_s6w4>>> cards_;
  uint64_t now_ = 0;
};

class HlsCluster final : public Cluster {
 public:
  HlsCluster(wire::BpMode mode, uint64_t seed) : wires_(seed), mode_(mode) {
    for (uint8_t id : kCards) {
      cards_[id].card = std::make_unique<HlsCard>(id);
      cards_[id].card->configure(hls_registers(id, mode_, 100));
    }
  }
  const char* name() const override { return "hls"; }
  Wires& wires() override { return wires_; }
  Response run(uint8_t card, const Command& c) override {
    std::vector<Beat> beats;
    codec::encode(c, beats);
    Io& io = cards_[card];
    for (const Beat& b : beats) io.cmd.write(b);
    for (uint64_t i = 0; i < kMaxWait; ++i) {
      if (!io.rsp.empty()) return codec::read_response(io.rsp);
      tick();
    }
    ADD_FAILURE() << "hls card " << int(card) << " never answered";
    return codec::local_response(c, wire::Status::FAILED);
  }
  void idle(uint64_t cycles) override {
    for (uint64_t i = 0; i < cycles; ++i) tick();
  }
  void restart(uint8_t card, uint32_t epoch) override {
    // Power-on: a new card (empty table), registers written with the new epoch.
    Io& io = cards_[card];
    io.card = std::make_unique<HlsCard>(card);
    io.card->configure(hls_registers(card, mode_, epoch));
    Beat b;
    while (!io.fin.empty()) b = io.fin.read();
  }
  bool quiet() override {
    const uint64_t before = tx_total();
    idle(4 * kRto);
    return wires_.empty() && tx_total() == before;
  }

 private:
  struct Io {
    std::unique_ptr<HlsCard> card;
    hls::stream<Beat> cmd, rsp, fin, fout;
  };
  uint64_t tx_total() {
    uint64_t n = 0;
    for (auto& [id, io] : cards_) n += io.card->bp_counter(wire::BP_STATS_TX_FRAMES);
    return n;
  }
  void tick() {
    for (auto& [id, io] : cards_) {
      typename HlsCard::Ports p{io.cmd, io.rsp, io.fin, io.fout};
      for (int n = 0; n < 64 && io.card->step(now_, p); ++n) {
      }
      while (!io.fout.empty()) {
        Frame f;
        Beat b;
        do {
          b = io.fout.read();
          f.push_back(b);
        } while (!b.last && !io.fout.empty());
        wires_.send(now_, id, f);
      }
    }
    wires_.deliver(now_, [this](uint8_t d, const Frame& f) {
      for (const Beat& b : f) cards_[d].fin.write(b);
    });
    ++now_;
  }
  Wires wires_;
  wire::BpMode mode_;
  std::map<uint8_t, Io> cards_;
  uint64_t now_ = 0;
};

// ---- the command stream ----------------------------------------------------------

struct Key {
  SessionKey key;
  uint8_t home;
};

// Keys for every card, no more than kWays of them per table set.
std::vector<Key> make_keys(std::mt19937_64& rng, unsigned per_card) {
  std::vector<Key> keys;
  std::array<unsigned, 1u << kSetsLog2> in_set{};
  for (uint8_t home : kCards) {
    for (unsigned n = 0; n < per_card;) {
      std::vector<uint8_t> id(1 + rng() % 32);
      for (auto& b : id) b = static_cast<uint8_t>(rng());
      const SessionKey k = SessionKey::make(id, static_cast<uint8_t>(rng() % 2));
      uint64_t words[4] = {};
      std::memcpy(words, k.id.data(), sizeof words);
      const unsigned set = HlsCard::Table::set_index(words, k.len, k.ctx);
      if (in_set[set] >= kWays) continue;
      ++in_set[set];
      keys.push_back({k, home});
      ++n;
    }
  }
  return keys;
}

Command random_command(std::mt19937_64& rng, const Key& k, wire::BpMode mode) {
  Command c;
  c.key = k.key;
  c.tag = static_cast<uint32_t>(rng());
  const unsigned p = rng() % 100;
  if (p < 35) {
    c.op = wire::Opcode::PUT;
    c.expiry = kNow + 100 + static_cast<uint32_t>(rng() % 1000);
    c.flags = rng() % 5 == 0 ? static_cast<uint8_t>(wire::Flags::SINGLE_USE) : 0;
    c.blob.resize(1 + rng() % 256);
    for (auto& x : c.blob) x = static_cast<uint8_t>(rng());
  } else if (p < 60) {
    c.op = wire::Opcode::GET;
  } else if (p < 70) {
    c.op = wire::Opcode::TAKE;
  } else if (p < 80) {
    c.op = wire::Opcode::DEL;
    c.expiry = kNow + 100 + static_cast<uint32_t>(rng() % 1000);
  } else if (p < 92 || mode != wire::BpMode::TRANSFER) {
    c.op = wire::Opcode::EXPORT;
  } else if (p < 96) {
    c.op = wire::Opcode::TRANSFER;  // aux (dest) chosen by the caller
  } else {
    c.op = wire::Opcode::PULL;  // run on another card, aux.owner = the home (the caller)
  }
  return c;
}

void expect_same(const Response& h, const Response& r, const std::string& what) {
  EXPECT_EQ(h.status, r.status) << what;
  EXPECT_EQ(h.blob, r.blob) << what;
  // A pulled entry's writer card (the version's low bits; the Lamport part depends on
  // timing): the puller itself when the pull moved a SINGLE_USE entry.
  if (h.op == wire::Opcode::PULL && h.ok() && r.ok()) {
    EXPECT_EQ(h.version & 0xff, r.version & 0xff) << what;
  }
}

bool quiesce(Cluster& c) {
  c.wires().links().set_lossless(true);
  for (int i = 0; i < 400; ++i)
    if (c.quiet()) return true;
  return false;
}

struct RunSpec {
  wire::BpMode mode;
  uint64_t seed;
  unsigned commands;
  bool restart;  // restart card 3 with a new epoch half-way (needs catch-up on the RTL)
};

void run_equivalence(const RunSpec& spec) {
  std::printf("mode %u, seed %llu, %u commands%s\n", static_cast<unsigned>(spec.mode),
              static_cast<unsigned long long>(spec.seed), spec.commands, spec.restart ? ", restart" : "");
  HlsCluster hls(spec.mode, spec.seed);
  RtlCluster rtl(spec.mode, spec.seed);
  Cluster* both[2] = {&hls, &rtl};
  for (Cluster* c : both) {
    c->idle(3 * kHello);  // HELLOs: every card learns every epoch
    for (uint8_t id : kCards) {
      Command t;
      t.op = wire::Opcode::SET_TIME;
      t.aux = kNow;
      ASSERT_EQ(c->run(id, t).status, wire::Status::OK);
    }
  }
  std::mt19937_64 rng(spec.seed);
  std::vector<Key> keys = make_keys(rng, 40);
  unsigned compared = 0, transfers_ok = 0, pulls_ok = 0;
  std::map<wire::Status, unsigned> by_status;
  for (unsigned i = 0; i < spec.commands; ++i) {
    if (spec.restart && i == spec.commands / 2) {
      for (Cluster* c : both) {
        ASSERT_TRUE(quiesce(*c)) << c->name() << " never went quiet";
        c->restart(3, 200);
        c->wires().links().set_lossless(false);
        c->idle(3 * kHello);
        Command t;
        t.op = wire::Opcode::SET_TIME;
        t.aux = kNow;
        ASSERT_EQ(c->run(3, t).status, wire::Status::OK);
        c->idle(3 * kHello);  // catch-up walks
      }
    }
    Key& k = keys[rng() % keys.size()];
    Command cmd = random_command(rng, k, spec.mode);
    uint8_t dest = 0;
    uint8_t on = k.home;
    if (cmd.op == wire::Opcode::PULL) {
      on = kCards[rng() % 3];
      if (on == k.home) on = kCards[(on % 3)];  // another card pulls from the home
      cmd.aux = wire::set_subfield(wire::set_subfield(0, wire::header::aux, wire::sync_cmd::dest, 255),
                                   wire::header::aux, wire::sync_cmd::owner, k.home);
    }
    if (cmd.op == wire::Opcode::TRANSFER) {
      dest = kCards[rng() % 3];
      if (dest == k.home) dest = kCards[(dest % 3)];  // another card
      cmd.aux = wire::set_subfield(wire::set_subfield(0, wire::header::aux, wire::sync_cmd::dest, dest),
                                   wire::header::aux, wire::sync_cmd::owner, 255);
    }
    const Response h = hls.run(on, cmd);
    const Response r = rtl.run(on, cmd);
    expect_same(h, r, "command " + std::to_string(i) + " op " + std::to_string(static_cast<int>(cmd.op)) + " on card " +
                          std::to_string(on));
    ++compared;
    ++by_status[h.status];
    if (cmd.op == wire::Opcode::TRANSFER && h.status == wire::Status::OK && r.status == wire::Status::OK) {
      k.home = dest;  // it lives there now
      ++transfers_ok;
    }
    if (cmd.op == wire::Opcode::PULL && h.ok() && r.ok()) {
      k.home = on;  // moved (a SINGLE_USE entry) or copied: it is used there from now on
      ++pulls_ok;
    }
    if (::testing::Test::HasFailure()) {
      std::printf("  first difference at command %u (seed %llu)\n", i, static_cast<unsigned long long>(spec.seed));
      return;
    }
  }
  for (Cluster* c : both) ASSERT_TRUE(quiesce(*c)) << c->name() << " never went quiet";
  // Final tables: every key on every card.
  unsigned live = 0;
  for (const Key& k : keys)
    for (uint8_t id : kCards) {
      Command e;
      e.op = wire::Opcode::EXPORT;
      e.key = k.key;
      const Response h = hls.run(id, e), r = rtl.run(id, e);
      expect_same(h, r, "final EXPORT on card " + std::to_string(id));
      live += h.status == wire::Status::OK;
    }
  // A TLS 1.3 ticket: single use, written on card 1.
  const auto single_use_put = [](uint8_t id_byte, uint8_t blob_byte) {
    Command put;
    put.op = wire::Opcode::PUT;
    put.key = SessionKey::make(std::vector<uint8_t>(32, id_byte), 0);
    put.expiry = kNow + 500;
    put.flags = static_cast<uint8_t>(wire::Flags::SINGLE_USE);
    put.blob.assign(100, blob_byte);
    return put;
  };
  // Transfer mode: card 2 pulls the ticket from card 1 (which tombstones it as it answers)
  // and takes it; no DELETE frame is sent, and it is a MISS everywhere.
  if (spec.mode == wire::BpMode::TRANSFER) {
    const Command put = single_use_put(0x7D, 0x44);
    for (Cluster* c : both) {
      ASSERT_TRUE(c->run(1, put).ok());
      const uint64_t deletes = c->wires().by_type[static_cast<unsigned>(wire::FrameType::DELETE)];
      Command pull = put;
      pull.op = wire::Opcode::PULL;
      pull.blob.clear();
      pull.flags = 0;
      pull.expiry = 0;
      pull.aux = wire::set_subfield(wire::set_subfield(0, wire::header::aux, wire::sync_cmd::dest, 255),
                                    wire::header::aux, wire::sync_cmd::owner, 1);
      const Response p = c->run(2, pull);
      ASSERT_EQ(p.status, wire::Status::OK) << c->name();
      EXPECT_EQ(p.version & 0xff, 2u) << c->name() << ": the moved copy is the puller's";
      Command take = pull;
      take.op = wire::Opcode::TAKE;
      take.aux = 0;
      ASSERT_EQ(c->run(2, take).status, wire::Status::OK) << c->name();
      ASSERT_TRUE(quiesce(*c));
      EXPECT_EQ(c->wires().by_type[static_cast<unsigned>(wire::FrameType::DELETE)], deletes)
          << c->name() << ": the take of a moved ticket sends no DELETE";
      for (uint8_t card : kCards) {
        Command get = take;
        get.op = wire::Opcode::GET;
        EXPECT_NE(c->run(card, get).status, wire::Status::OK) << c->name() << ": used ticket live on card " << int(card);
      }
    }
  }
  // Other modes: a used ticket (written on 1, used on 2; in hub mode card 2 pulls it from
  // the hub first) is a MISS everywhere.
  if (spec.mode != wire::BpMode::TRANSFER) {
    const Command put = single_use_put(0x7E, 0x33);
    for (Cluster* c : both) {
      ASSERT_TRUE(c->run(1, put).ok());
      ASSERT_TRUE(quiesce(*c));
      Command take = put;
      take.op = wire::Opcode::TAKE;
      take.blob.clear();
      ASSERT_EQ(c->run(2, take).status, wire::Status::OK) << c->name();
      ASSERT_TRUE(quiesce(*c));
      for (uint8_t card : kCards) {
        Command get = take;
        get.op = wire::Opcode::GET;
        EXPECT_NE(c->run(card, get).status, wire::Status::OK) << c->name() << ": used ticket live on card " << int(card);
      }
    }
  }
  std::printf("  %u responses equal (", compared);
  for (auto& [s, n] : by_status) std::printf(" status %u: %u", static_cast<unsigned>(s), n);
  std::printf(" ), %u transfers, %u pulls, final tables equal (%u live copies)\n", transfers_ok, pulls_ok, live);
  for (Cluster* c : both)
    std::printf("  %s links: %llu frames, %llu dropped, %llu duplicated, %llu corrupted\n", c->name(),
                static_cast<unsigned long long>(c->wires().sent), static_cast<unsigned long long>(c->wires().dropped),
                static_cast<unsigned long long>(c->wires().duplicated),
                static_cast<unsigned long long>(c->wires().corrupted));
}

TEST(card_equivalence, ReplicateSeed1) { run_equivalence({wire::BpMode::REPLICATE, 1, 20000, false}); }
TEST(card_equivalence, ReplicateSeed2) { run_equivalence({wire::BpMode::REPLICATE, 2, 20000, false}); }
TEST(card_equivalence, ReplicateSeed3) { run_equivalence({wire::BpMode::REPLICATE, 3, 20000, false}); }
TEST(card_equivalence, TransferSeed4) { run_equivalence({wire::BpMode::TRANSFER, 4, 20000, false}); }
TEST(card_equivalence, TransferSeed5) { run_equivalence({wire::BpMode::TRANSFER, 5, 20000, false}); }
// Needs catch-up on the RTL card (rtlsync): the restarted card gets its peers' entries back.
TEST(card_equivalence, HubSeed7) { run_equivalence({wire::BpMode::HUB, 7, 20000, false}); }
TEST(card_equivalence, HubSeed8) { run_equivalence({wire::BpMode::HUB, 8, 20000, false}); }
TEST(card_equivalence, ReplicateRestartSeed6) { run_equivalence({wire::BpMode::REPLICATE, 6, 20000, true}); }

}  // namespace
}  // namespace sessnic
