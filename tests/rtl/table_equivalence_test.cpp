// Equivalence of the Verilated rtl/sess_table with the HLS kernel hls/session_table.hpp:
// the same random command streams go into both and every response must match beat for
// beat (status, metadata, key echo, blob bytes, STATS counters).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "Vsess_table_s6w4.h"
#include "session_table.hpp"
#include "sess_table_sim.hpp"
#include "table_command.hpp"

namespace sessnic {
namespace {

using rtlsim::TableCommand;
using Kernel = SessionTable<6, 4>;
using Sim = rtlsim::SessTableSim<Vsess_table_s6w4>;
constexpr uint8_t kCard = 7;

// Random but reproducible command streams that reach every rule of the kernel: keys are
// drawn from a small pool (so entries collide, get replaced, deleted and re-put), part
// of the pool is packed into two sets (evictions and same-set hazards), time moves so
// entries expire, versions come both local (0) and from "peers", and a slice of the
// commands is malformed or too large.
class CommandStream {
 public:
  CommandStream(uint64_t seed, bool same_set_heavy) : rng_(seed), same_set_heavy_(same_set_heavy) {
    for (int i = 0; i < 40; ++i) pool_.push_back(random_key());
    for (unsigned target : {5u, 6u}) {  // 12 keys into each of two adjacent sets
      for (int n = 0; n < 12;) {
        Key k = random_key();
        if (Kernel::set_index(k.words, k.len, k.ctx) == target) {
          hot_.push_back(k);
          ++n;
        }
      }
    }
  }

  TableCommand next() {
    TableCommand c;
    c.tag = static_cast<uint32_t>(rng_());
    c.status = pick(10) == 0 ? static_cast<uint8_t>(rng_()) : 0;
    c.rsvd = pick(10) == 0 ? static_cast<uint8_t>(rng_()) : 0;
    c.aux = pick(4) == 0 ? rng_() : 0;
    const Key& k = (same_set_heavy_ || pick(3) == 0) ? hot_[pick(hot_.size())] : pool_[pick(pool_.size())];
    set_key(c, k);
    c.expiry = static_cast<uint32_t>(now_ + pick(60)) - 8;  // some already expired
    c.version = version();
    c.flags = pick(6) == 0 ? static_cast<uint8_t>(wire::Flags::SINGLE_USE) : (pick(20) == 0 ? rng_() & 0xff : 0);

    const unsigned r = pick(1000);
    if (r < 330) {
      c.op = static_cast<uint8_t>(wire::Opcode::PUT);
      fill_blob(c, 1 + pick(pick(8) == 0 ? 256 : 130));
    } else if (r < 520) {
      c.op = static_cast<uint8_t>(wire::Opcode::GET);
    } else if (r < 560) {  // SCAN: mostly the hot sets' slots (entries, tombstones), any slot, past the end
      c.op = static_cast<uint8_t>(wire::Opcode::SCAN);
      const unsigned s = pick(8);
      if (s < 5) c.aux = 5 * Kernel::kWays + pick(2 * Kernel::kWays);
      else if (s < 7) c.aux = pick(Kernel::kCapacity);
      else c.aux = pick(2) ? Kernel::kCapacity + pick(3) : rng_() | (1ull << 63);
    } else if (r < 620) {
      c.op = static_cast<uint8_t>(wire::Opcode::TAKE);
    } else if (r < 660) {
      c.op = static_cast<uint8_t>(wire::Opcode::EXPORT);
    } else if (r < 760) {
      c.op = static_cast<uint8_t>(wire::Opcode::DEL);
    } else if (r < 820) {
      c.op = static_cast<uint8_t>(wire::Opcode::SET_TIME);
      now_ = pick(25) == 0 ? now_ - pick(10) : now_ + pick(6);  // mostly forward
      c.aux = (rng_() & 0xffffffff00000000ull) | now_;        // only the low 32 bits count
    } else if (r < 840) {
      c.op = static_cast<uint8_t>(wire::Opcode::STATS);
    } else if (r < 850) {
      c.op = static_cast<uint8_t>(wire::Opcode::NOP);
    } else if (r < 852) {
      c.op = static_cast<uint8_t>(wire::Opcode::FLUSH);
    } else if (r < 880) {  // TOO_LARGE, framed correctly
      c.op = static_cast<uint8_t>(wire::Opcode::PUT);
      fill_blob(c, 257 + pick(400));
    } else {
      malformed(c);
    }
    return c;
  }

 private:
  struct Key {
    uint8_t len, ctx;
    std::array<uint8_t, 32> bytes;
    uint64_t words[4];
  };

  unsigned pick(size_t n) { return static_cast<unsigned>(rng_() % n); }

  Key random_key() {
    Key k{};
    k.len = static_cast<uint8_t>(pick(4) == 0 ? 1 + pick(32) : 32);
    k.ctx = static_cast<uint8_t>(pick(3));
    for (unsigned i = 0; i < 32; ++i) k.bytes[i] = i < k.len ? static_cast<uint8_t>(rng_()) : 0;
    for (unsigned w = 0; w < 4; ++w) {
      k.words[w] = 0;
      for (unsigned b = 0; b < 8; ++b) k.words[w] |= static_cast<uint64_t>(k.bytes[w * 8 + b]) << (8 * b);
    }
    return k;
  }

  void set_key(TableCommand& c, const Key& k) {
    c.key_len = k.len;
    c.ctx = k.ctx;
    c.key = k.bytes;
    // Junk past key_len: the table must ignore it (set index, compare and echo).
    if (pick(4) == 0)
      for (unsigned i = k.len; i < 32; ++i) c.key[i] = static_cast<uint8_t>(rng_());
  }

  uint64_t version() {
    const unsigned r = pick(10);
    if (r < 7) return 0;
    if (r < 9) {  // a peer's write: Lamport near ours, card 0..3
      last_remote_ = ((lamport_hint_ + pick(64)) - 32) << wire::CARD_BITS | pick(4);
      lamport_hint_ += 8;
      return last_remote_;
    }
    return last_remote_;  // duplicate delivery
  }

  void fill_blob(TableCommand& c, unsigned len) {
    c.payload.resize(len);
    for (auto& b : c.payload) b = static_cast<uint8_t>(rng_());
    c.blob_len = static_cast<uint16_t>(len);
  }

  void malformed(TableCommand& c) {
    switch (pick(7)) {
      case 0:  // unknown opcode (or TRANSFER, which the table never takes)
        c.op = static_cast<uint8_t>(pick(2) ? 9 + pick(247) : 9);
        break;
      case 1:  // key length 0 or > 32 on a keyed opcode
        c.op = static_cast<uint8_t>(1 + pick(5));
        c.key_len = static_cast<uint8_t>(pick(2) ? 0 : 33 + pick(223));
        if (c.op == 1) fill_blob(c, 1 + pick(100));
        break;
      case 2:  // PUT with fewer payload beats than blob_len says
        c.op = 1;
        fill_blob(c, 65 + pick(190));
        c.extra_beats = -1;
        break;
      case 3:  // PUT with extra beats
        c.op = 1;
        fill_blob(c, 1 + pick(256));
        c.extra_beats = 1 + static_cast<int>(pick(3));
        break;
      case 4:  // GET carrying a blob
        c.op = 2;
        fill_blob(c, 1 + pick(100));
        break;
      case 5:  // PUT with no blob
        c.op = 1;
        c.blob_len = 0;
        break;
      default:  // blob_len claims data but none follows; or STATS with a payload
        c.op = static_cast<uint8_t>(pick(2) ? 1 : 7);
        c.blob_len = static_cast<uint16_t>(1 + pick(3000));
        break;
    }
  }

  std::mt19937_64 rng_;
  bool same_set_heavy_;
  std::vector<Key> pool_, hot_;
  uint32_t now_ = 1000;
  uint64_t lamport_hint_ = 64;
  uint64_t last_remote_ = 0x105;
};

std::string describe(const Beat& hdr) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "op=%u status=%u key_len=%u tag=%08x blob_len=%u version=%016llx expiry=%u",
                static_cast<unsigned>(wire::get_field(hdr.data, wire::header::op)),
                static_cast<unsigned>(wire::get_field(hdr.data, wire::header::status)),
                static_cast<unsigned>(wire::get_field(hdr.data, wire::header::key_len)),
                static_cast<unsigned>(wire::get_field(hdr.data, wire::header::tag)),
                static_cast<unsigned>(wire::get_field(hdr.data, wire::header::blob_len)),
                static_cast<unsigned long long>(wire::get_field(hdr.data, wire::header::version)),
                static_cast<unsigned>(wire::get_field(hdr.data, wire::header::expiry)));
  return buf;
}

// Runs one command through the kernel and returns its response beats.
std::vector<Beat> kernel_step(Kernel& k, const std::vector<Beat>& cmd) {
  hls::stream<Beat> in, out;
  for (const Beat& b : cmd) in.write(b);
  EXPECT_TRUE(k.step(in, out));
  EXPECT_TRUE(in.empty());
  std::vector<Beat> rsp;
  while (!out.empty()) rsp.push_back(out.read());
  return rsp;
}

// Compares one response; returns an empty string when equal.
std::string diff(const std::vector<Beat>& want, const std::vector<Beat>& got) {
  if (want.size() != got.size())
    return "beat count " + std::to_string(got.size()) + " != kernel " + std::to_string(want.size()) +
           "\n  kernel: " + describe(want[0]) + "\n  rtl:    " + describe(got[0]);
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].last != got[i].last) return "tlast differs on beat " + std::to_string(i);
    for (unsigned w = 0; w < wire::BEAT_WORDS; ++w)
      if (want[i].data[w] != got[i].data[w]) {
        char buf[120];
        std::snprintf(buf, sizeof buf, "beat %zu word %u: rtl %016llx kernel %016llx", i, w,
                      static_cast<unsigned long long>(got[i].data[w]),
                      static_cast<unsigned long long>(want[i].data[w]));
        return std::string(buf) + "\n  kernel: " + describe(want[0]) + "\n  rtl:    " + describe(got[0]);
      }
  }
  return {};
}

struct StreamCase {
  uint64_t seed;
  unsigned commands;
  double valid_prob, ready_prob;
  bool same_set_heavy;
};

void run_stream_case(const StreamCase& p) {
  std::printf("seed %llu: %u commands, tvalid p=%.2f, tready p=%.2f, %s\n",
              static_cast<unsigned long long>(p.seed), p.commands, p.valid_prob, p.ready_prob,
              p.same_set_heavy ? "two hot sets" : "mixed sets");
  auto kernel = std::make_unique<Kernel>(kCard);
  Sim rtl(kCard, p.seed);
  rtl.set_traffic(p.valid_prob, p.ready_prob);
  CommandStream gen(p.seed, p.same_set_heavy);

  constexpr unsigned kChunk = 2000;  // commands in flight in the RTL at once
  unsigned done = 0;
  unsigned counted[16] = {};
  struct {
    unsigned entry = 0, tomb = 0, miss = 0, bad = 0;
  } scans;  // SCAN outcomes: an entry, a tombstone, an empty/expired slot, past the end
  while (done < p.commands) {
    const unsigned n = std::min(kChunk, p.commands - done);
    std::vector<std::vector<Beat>> want;
    std::vector<Beat> first_hdr;
    for (unsigned i = 0; i < n; ++i) {
      const auto beats = rtlsim::encode(gen.next());
      rtl.send(beats);
      first_hdr.push_back(beats[0]);
      want.push_back(kernel_step(*kernel, beats));
    }
    ASSERT_TRUE(rtl.run_until_responses(n, 400ull * n + 100000)) << "RTL stopped answering after "
                                                                 << rtl.responses().size() << " of " << n;
    ASSERT_EQ(rtl.responses().size(), n) << "RTL answered more responses than commands";
    const bool verbose = std::getenv("SESSNIC_RTL_VERBOSE") != nullptr;  // per-command log for debugging
    for (unsigned i = 0; i < n; ++i) {
      if (verbose)
        std::printf("#%u set %u key %016llx %s\n   kernel %s\n   rtl    %s\n", done + i,
                    Kernel::set_index(&first_hdr[i].data[1],
                                      static_cast<unsigned>(wire::get_field(first_hdr[i].data, wire::header::key_len)),
                                      static_cast<unsigned>(wire::get_field(first_hdr[i].data, wire::header::ctx))),
                    static_cast<unsigned long long>(first_hdr[i].data[1]), describe(first_hdr[i]).c_str(),
                    describe(want[i][0]).c_str(), describe(rtl.responses()[i].beats[0]).c_str());
      const std::string d = diff(want[i], rtl.responses()[i].beats);
      ASSERT_TRUE(d.empty()) << "seed " << p.seed << ", command #" << done + i << " (" << describe(first_hdr[i])
                             << "): " << d;
      ++counted[wire::get_field(want[i][0].data, wire::header::status) & 15];
      if (wire::get_field(first_hdr[i].data, wire::header::op) == static_cast<uint64_t>(wire::Opcode::SCAN)) {
        const auto st = static_cast<wire::Status>(wire::get_field(want[i][0].data, wire::header::status));
        const bool tomb = wire::get_field(want[i][0].data, wire::header::flags) &
                          static_cast<uint64_t>(wire::Flags::TOMBSTONE);
        if (st == wire::Status::OK) ++(tomb ? scans.tomb : scans.entry);
        else if (st == wire::Status::MISS) ++scans.miss;
        else if (st == wire::Status::BAD_CMD) ++scans.bad;
      }
    }
    rtl.responses().clear();
    done += n;
  }
  std::printf("  matched %u responses in %llu cycles; statuses: OK %u MISS %u EXPIRED %u TOO_LARGE %u "
              "EVICTED %u BAD_CMD %u STALE %u\n",
              done, static_cast<unsigned long long>(rtl.cycle()), counted[0], counted[1], counted[2], counted[3],
              counted[4], counted[5], counted[6]);
  // The stream must really reach every outcome, or the comparison proves little.
  for (unsigned s = 0; s <= 6; ++s) EXPECT_GT(counted[s], 0u) << "status " << s << " never produced";
  std::printf("  SCAN: entry %u tombstone %u miss %u bad %u\n", scans.entry, scans.tomb, scans.miss, scans.bad);
  EXPECT_GT(scans.entry, 0u);
  EXPECT_GT(scans.tomb, 0u);
  EXPECT_GT(scans.miss, 0u);
  EXPECT_GT(scans.bad, 0u);
}

// >= 100,000 commands in total (170,000), fixed seeds; back-to-back streaming with and
// without back-pressure, gaps on TVALID, and streams that hammer two sets.
TEST(RtlTableEquivalence, Seed1BackToBack) { run_stream_case({1, 30000, 1.0, 1.0, false}); }
TEST(RtlTableEquivalence, Seed2BackPressure) { run_stream_case({2, 30000, 1.0, 0.6, false}); }
TEST(RtlTableEquivalence, Seed3GapsAndHeavyBackPressure) { run_stream_case({3, 20000, 0.7, 0.3, false}); }
TEST(RtlTableEquivalence, Seed4HotSets) { run_stream_case({4, 25000, 1.0, 0.8, true}); }
TEST(RtlTableEquivalence, Seed5HotSetsWithGaps) { run_stream_case({5, 30000, 0.9, 0.9, true}); }
TEST(RtlTableEquivalence, Seed6NearlyFullRate) { run_stream_case({6, 35000, 1.0, 0.95, false}); }

// The idle sweep (off in the random streams) frees exactly what the kernel's
// sweep_step() frees over one full pass of the sets.
TEST(RtlTableSweep, IdleSweepFreesExpiredEntriesLikeTheKernel) {
  auto kernel = std::make_unique<Kernel>(kCard);
  Sim rtl(kCard, 9);
  auto both = [&](const TableCommand& c) {
    const auto beats = rtlsim::encode(c);
    rtl.send(beats);
    const auto want = kernel_step(*kernel, beats);
    EXPECT_TRUE(rtl.run_until_responses(1, 100000));
    const std::string d = diff(want, rtl.responses().front().beats);
    EXPECT_TRUE(d.empty()) << d;
    rtl.responses().clear();
    return want;
  };
  TableCommand t;
  t.op = static_cast<uint8_t>(wire::Opcode::SET_TIME);
  t.aux = 100;
  both(t);
  std::mt19937_64 rng(9);
  std::vector<TableCommand> puts;
  for (int i = 0; i < 150; ++i) {
    TableCommand c;
    c.op = static_cast<uint8_t>(wire::Opcode::PUT);
    c.key_len = 16;
    for (int b = 0; b < 16; ++b) c.key[b] = static_cast<uint8_t>(rng());
    c.expiry = 101 + (i % 3) * 50;  // a third expire at 101, a third at 151, the rest later
    c.payload.assign(40, static_cast<uint8_t>(i));
    c.blob_len = 40;
    both(c);
    puts.push_back(c);
  }
  TableCommand d = puts[0];  // one tombstone too
  d.op = static_cast<uint8_t>(wire::Opcode::DEL);
  d.payload.clear();
  d.blob_len = 0;
  both(d);
  t.aux = 160;
  both(t);

  rtl.set_sweep(true);
  rtl.run_cycles(4 * Kernel::kSets + 16);
  rtl.set_sweep(false);
  rtl.run_cycles(4);
  for (unsigned s = 0; s < Kernel::kSets; ++s) kernel->sweep_step();

  TableCommand st;
  st.op = static_cast<uint8_t>(wire::Opcode::STATS);
  const auto stats = both(st);
  ASSERT_EQ(stats.size(), 3u);
  const uint64_t swept = stats[1 + wire::STATS_SWEPT / 8].data[wire::STATS_SWEPT % 8];
  EXPECT_GT(swept, 50u) << "the sweep freed nothing";
  // Expired keys now answer MISS (their ways were freed), not EXPIRED.
  for (int i = 0; i < 6; ++i) {
    TableCommand g = puts[static_cast<size_t>(i)];
    g.op = static_cast<uint8_t>(wire::Opcode::GET);
    g.payload.clear();
    g.blob_len = 0;
    both(g);
  }
}

// Responses wait for TREADY without losing or repeating a beat, and a full table is
// cleared by FLUSH before the next command runs.
TEST(RtlTableFlush, FlushClearsEverySetBeforeTheNextCommand) {
  auto kernel = std::make_unique<Kernel>(kCard);
  Sim rtl(kCard, 11);
  rtl.set_traffic(1.0, 0.5);
  std::mt19937_64 rng(11);
  std::vector<std::vector<Beat>> want;
  TableCommand t;
  t.op = static_cast<uint8_t>(wire::Opcode::SET_TIME);
  t.aux = 5;
  std::vector<TableCommand> cmds{t};
  for (int i = 0; i < 300; ++i) {
    TableCommand c;
    c.op = static_cast<uint8_t>(wire::Opcode::PUT);
    c.key_len = 32;
    for (auto& b : c.key) b = static_cast<uint8_t>(rng());
    c.expiry = 1000;
    c.payload.assign(256, static_cast<uint8_t>(rng()));
    c.blob_len = 256;
    cmds.push_back(c);
  }
  TableCommand f;
  f.op = static_cast<uint8_t>(wire::Opcode::FLUSH);
  cmds.push_back(f);
  for (int i = 1; i < 40; ++i) {  // immediately after the flush: all gone
    TableCommand g = cmds[static_cast<size_t>(i)];
    g.op = static_cast<uint8_t>(wire::Opcode::GET);
    g.payload.clear();
    g.blob_len = 0;
    cmds.push_back(g);
  }
  TableCommand st;
  st.op = static_cast<uint8_t>(wire::Opcode::STATS);
  cmds.push_back(st);
  for (const auto& c : cmds) {
    const auto beats = rtlsim::encode(c);
    rtl.send(beats);
    want.push_back(kernel_step(*kernel, beats));
  }
  ASSERT_TRUE(rtl.run_until_responses(cmds.size(), 1000000));
  for (size_t i = 0; i < cmds.size(); ++i) {
    const std::string d = diff(want[i], rtl.responses()[i].beats);
    ASSERT_TRUE(d.empty()) << "command #" << i << ": " << d;
  }
  EXPECT_EQ(wire::get_field(want[cmds.size() - 2][0].data, wire::header::status),
            static_cast<uint64_t>(wire::Status::MISS));
}

}  // namespace
}  // namespace sessnic
