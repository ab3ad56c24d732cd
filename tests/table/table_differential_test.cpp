// Randomized differential test: the kernel (through its streams) against the plain
// reference model, command by command. Every response must match in full: status,
// tag, echoed key, metadata, blob (and, for STATS, every counter).
//
// The key space is small relative to the table so sets collide, fill and evict; time
// moves in small random steps (and now and then backwards) so entries expire at every
// point of their life; remote versions hover around the table's own Lamport clock so
// STALE, duplicates and clock advances all happen; a few percent of commands are
// malformed. Seeds are fixed and printed: a failure names the seed and command index.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "reference_table.hpp"
#include "session_table.hpp"
#include "table_harness.hpp"

namespace sessnic::table_test {
namespace {

class CommandGenerator {
 public:
  CommandGenerator(uint64_t seed, unsigned n_keys, unsigned slot_bytes) : rng_(seed), slot_(slot_bytes) {
    for (unsigned i = 0; i < n_keys; ++i) {
      Key k;
      if (i % 7 == 6 && !keys_.empty()) {  // same bytes as an earlier key, other length
        k = keys_[pick(keys_.size())];
        k.len = k.len == 32 ? 31 : k.len + 1;
        k.bytes[k.len - 1] = 0;
      } else {
        k.len = 1 + static_cast<unsigned>(pick(32));
        for (unsigned b = 0; b < k.len; ++b) k.bytes[b] = static_cast<uint8_t>(rng_());
      }
      k.ctx = static_cast<unsigned>(pick(3));
      keys_.push_back(k);
    }
  }

  // Feeds back what the table reported, so remote versions stay near its clock.
  void observe(const TableResponse& r) {
    lamport_seen_ = std::max(lamport_seen_, r.version >> wire::CARD_BITS);
    if (r.version) last_versions_[pick(last_versions_.size())] = r.version;
  }

  TableCommand next(uint32_t tag) {
    TableCommand c;
    const unsigned roll = static_cast<unsigned>(pick(1000));
    if (roll < 300) c = put();
    else if (roll < 550) c = lookup(wire::Opcode::GET);
    else if (roll < 600) c = lookup(wire::Opcode::TAKE);
    else if (roll < 650) c = lookup(wire::Opcode::EXPORT);
    else if (roll < 770) c = del();
    else if (roll < 830) c = set_time();
    else if (roll < 850) c = make_cmd(wire::Opcode::STATS);
    else if (roll < 860) c = make_cmd(wire::Opcode::NOP);
    else if (roll < 861) c = make_cmd(wire::Opcode::FLUSH);
    else if (roll < 950) c = put();  // more writes: keep sets full
    else c = malformed();
    c.tag = tag;
    return c;
  }

  bool chance(unsigned per_mille) { return pick(1000) < per_mille; }
  uint64_t pick(uint64_t n) { return rng_() % n; }

 private:
  struct Key {
    std::array<uint8_t, wire::KEY_MAX_BYTES> bytes{};
    unsigned len = 0, ctx = 0;
  };

  TableCommand keyed_cmd(wire::Opcode op) {
    const Key& k = keys_[pick(keys_.size())];
    TableCommand c = make_cmd(op);
    c.key = k.bytes;
    c.key_len = k.len;
    c.ctx = k.ctx;
    if (chance(200))  // junk past key_len must not matter
      for (unsigned b = k.len; b < wire::KEY_MAX_BYTES; ++b) c.key[b] = static_cast<uint8_t>(rng_());
    return c;
  }

  uint64_t some_version() {
    if (chance(600)) return 0;  // local write: the card assigns the version
    if (chance(150)) return last_versions_[pick(last_versions_.size())];  // duplicate / replay
    const uint64_t lo = lamport_seen_ > 4 ? lamport_seen_ - 4 : 0;
    return ((lo + pick(9)) << wire::CARD_BITS) | pick(4);
  }

  uint32_t some_expiry() {
    if (chance(30)) return 0;
    return now_ - 3 + static_cast<uint32_t>(pick(40));
  }

  TableCommand put() {
    TableCommand c = keyed_cmd(wire::Opcode::PUT);
    const unsigned len = chance(15) ? slot_ + 1 + static_cast<unsigned>(pick(100)) : 1 + static_cast<unsigned>(pick(slot_));
    c.blob.resize(len);
    for (auto& b : c.blob) b = static_cast<uint8_t>(rng_());
    if (chance(30)) {  // blob_len shorter than the bytes sent, same beat count
      const unsigned in_last = len % wire::BEAT_BYTES ? len % wire::BEAT_BYTES : wire::BEAT_BYTES;
      c.blob_len_field = len - static_cast<unsigned>(pick(in_last));
    }
    c.version = some_version();
    c.expiry = some_expiry();
    c.flags = static_cast<unsigned>(pick(4)) | (chance(20) ? 0xf0u : 0u);
    return c;
  }

  TableCommand lookup(wire::Opcode op) { return keyed_cmd(op); }

  TableCommand del() {
    TableCommand c = keyed_cmd(wire::Opcode::DEL);
    c.version = some_version();
    c.expiry = some_expiry();
    return c;
  }

  TableCommand set_time() {
    TableCommand c = make_cmd(wire::Opcode::SET_TIME);
    if (chance(30) && now_ > 10) now_ -= static_cast<uint32_t>(pick(10));
    else now_ += static_cast<uint32_t>(pick(6));
    c.aux = now_ | (chance(50) ? (rng_() << 32) : 0);  // upper bits are not part of the clock
    return c;
  }

  TableCommand malformed() {
    static constexpr wire::Opcode kAll[] = {wire::Opcode::NOP, wire::Opcode::PUT, wire::Opcode::GET,
                                            wire::Opcode::TAKE, wire::Opcode::DEL, wire::Opcode::EXPORT,
                                            wire::Opcode::SET_TIME, wire::Opcode::STATS, wire::Opcode::FLUSH};
    TableCommand c = pick(2) ? put() : keyed_cmd(kAll[pick(std::size(kAll))]);
    switch (pick(7)) {
      case 0: c.op = 10 + static_cast<unsigned>(pick(246)); break;
      case 1: c.op = static_cast<unsigned>(wire::Opcode::TRANSFER); c.aux = pick(4); break;
      case 2: c.key_len = pick(2) ? 0 : 33 + static_cast<unsigned>(pick(223)); break;
      case 3: c.extra_beats = -1 - static_cast<int>(pick(beats_for(static_cast<unsigned>(c.blob.size())) + 1)); break;
      case 4: c.extra_beats = 1 + static_cast<int>(pick(3)); break;
      case 5: c.blob.assign(1 + pick(200), 0x3c); break;  // on a non-PUT: BAD_CMD
      case 6: c.blob.clear(); c.blob_len_field.reset(); break;  // PUT without blob: BAD_CMD
    }
    if (c.extra_beats < -static_cast<int>(beats_for(static_cast<unsigned>(c.blob.size()))))
      c.extra_beats = -static_cast<int>(beats_for(static_cast<unsigned>(c.blob.size())));
    return c;
  }

  std::mt19937_64 rng_;
  unsigned slot_;
  std::vector<Key> keys_;
  uint64_t lamport_seen_ = 0;
  std::array<uint64_t, 16> last_versions_{};
  uint32_t now_ = 1000;
};

template <unsigned SETS_LOG2, unsigned WAYS, unsigned SLOT>
void run_differential(uint64_t seed, unsigned commands, unsigned n_keys) {
  using Table = SessionTable<SETS_LOG2, WAYS, SLOT>;
  constexpr uint8_t kCard = 1;
  std::printf("differential: seed %#llx, %u sets x %u ways x %u B, %u keys, %u commands\n",
              static_cast<unsigned long long>(seed), Table::kSets, WAYS, SLOT, n_keys, commands);
  std::fflush(stdout);
  ::testing::Test::RecordProperty("seed", std::to_string(seed));

  KernelHarness<Table> kernel(kCard);
  ReferenceTable ref(SETS_LOG2, WAYS, SLOT, kCard);
  CommandGenerator gen(seed, n_keys, SLOT);

  // Same set function, computed two ways: spot-check it over the key space first.
  std::mt19937_64 r(seed);
  for (int i = 0; i < 10000; ++i) {
    const unsigned len = 1 + static_cast<unsigned>(r() % 32);
    std::string id(len, '\0');
    uint64_t words[4] = {};
    for (unsigned b = 0; b < len; ++b) {
      id[b] = static_cast<char>(r());
      words[b / 8] |= static_cast<uint64_t>(static_cast<uint8_t>(id[b])) << (8 * (b % 8));
    }
    const unsigned ctx = static_cast<unsigned>(r() % 256);
    ASSERT_EQ(Table::set_index(words, len, ctx), ref.set_of(id, ctx));
  }

  std::array<unsigned, 8> seen{};
  for (unsigned i = 0; i < commands; ++i) {
    const TableCommand c = gen.next(i);
    const TableResponse want = ref.execute(c);
    TableResponse got;
    try {
      got = kernel.run(c);
    } catch (const std::exception& e) {
      FAIL() << "seed " << seed << " command " << i << ": " << e.what();
    }
    if (got != want) {
      FAIL() << "seed " << seed << " command " << i << " " << describe(c) << "\n  kernel    " << describe(got)
             << "\n  reference " << describe(want) << (got.blob != want.blob ? "\n  (blobs differ)" : "");
    }
    ++seen[got.status & 7];
    gen.observe(got);
    if (gen.chance(100)) {
      const unsigned n = 1 + static_cast<unsigned>(gen.pick(3));
      for (unsigned s = 0; s < n; ++s) {
        kernel.sweep_step();
        ref.sweep_step();
      }
    }
  }
  std::printf("  statuses:");
  for (unsigned s = 0; s < 7; ++s) std::printf(" %s %u", wire::to_string(static_cast<wire::Status>(s)), seen[s]);
  std::printf("\n");
  // Every status the table can give must have been exercised, or the test proves little.
  for (unsigned s = 0; s < 7; ++s) EXPECT_GT(seen[s], 0u) << wire::to_string(static_cast<wire::Status>(s));
}

// 1.2 M commands in total. Tight geometries force same-set collisions and evictions.
TEST(TableDifferential, Sets8Ways4Seed1) { run_differential<3, 4, 256>(0x5e55'0001, 300'000, 64); }
TEST(TableDifferential, Sets8Ways4Seed2) { run_differential<3, 4, 256>(0x5e55'0002, 300'000, 48); }
TEST(TableDifferential, Sets2Ways2Seed3) { run_differential<1, 2, 256>(0x5e55'0003, 200'000, 12); }
TEST(TableDifferential, Sets16Ways3Slot128Seed4) { run_differential<4, 3, 128>(0x5e55'0004, 200'000, 96); }
TEST(TableDifferential, Sets1Ways1Seed5) { run_differential<0, 1, 64>(0x5e55'0005, 200'000, 6); }

}  // namespace
}  // namespace sessnic::table_test
