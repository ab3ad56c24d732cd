// bench_table: throughput of the session-table kernel at the model device's geometry
// (sessnic::ModelTable, 2^18 sets x 4 ways x 256 B), driven through its command and
// response streams exactly as the model device drives it.
//
// Figures (written to $SESSNIC_BENCH_PARTS/table.json when that is set):
//   table_get_hit_per_s    GET of a random stored key (256-byte blob returned)
//   table_get_miss_per_s   GET of a random absent key
//   table_put_per_s_50     PUT of a 256-byte blob, table held at 50% load
//   table_put_per_s        the same at 90% load
//   table_bytes_per_entry  sizeof(table) / capacity (slot is 256 B)
//   table_get_hit_per_s_card  GET hit at the card geometry (HwTable, 16 K entries,
//                          cache-resident): the kernel's own cost without DRAM misses
// "Load" is real occupancy: fresh random keys are PUT until live entries reach
// load x capacity (a 4-way set overflows long before the table does, so this takes
// more keys than entries). GETs run against the 90% table. The PUT workloads keep the
// load steady: each PUT writes a random key of those inserted (an in-place update, or
// an evicting insert for a key that lost its place), so occupancy never drops.
// Tables are allocated 2 MiB-aligned with MADV_HUGEPAGE, as a model device should: at
// 304 MiB, 4 KiB pages add a TLB miss to every access.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "session_table.hpp"
#include "session_table_top.hpp"

namespace {

using sessnic::Beat;
using sessnic::HwTable;
using sessnic::ModelTable;
namespace wire = sessnic::wire;

constexpr uint32_t kNow = 1'000'000;
constexpr uint32_t kExpiry = kNow + 3600;
constexpr unsigned kBlobBytes = 256;
constexpr unsigned kBlobBeats = kBlobBytes / wire::BEAT_BYTES;

// Heap allocation on 2 MiB boundaries with transparent huge pages requested.
struct HugeFree {
  void operator()(void* p) const { std::free(p); }
};
template <class Table>
struct TableDelete {
  void operator()(Table* t) const {
    t->~Table();
    HugeFree{}(t);
  }
};
template <class Table>
std::unique_ptr<Table, TableDelete<Table>> make_table(uint8_t card) {
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t bytes = (sizeof(Table) + kHuge - 1) / kHuge * kHuge;
  void* mem = std::aligned_alloc(kHuge, bytes);
  if (!mem) throw std::bad_alloc();
  madvise(mem, bytes, MADV_HUGEPAGE);  // a hint: without THP it is 4 KiB pages, still correct
  return std::unique_ptr<Table, TableDelete<Table>>(new (mem) Table(card));
}

// One heap-allocated table plus its streams and the keys it was filled with.
template <class Table>
class LoadedTable {
 public:
  LoadedTable(double load, uint64_t seed) : table_(make_table<Table>(1)), rng_(seed) {
    Beat t = header(wire::Opcode::SET_TIME, 0);
    wire::set_field(t.data, wire::header::aux, kNow);
    t.last = true;
    run(t, nullptr);
    for (unsigned b = 0; b < kBlobBeats; ++b) {
      sessnic::clear_beat(blob_[b]);
      for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) blob_[b].data[w] = rng_();
      blob_[b].last = b + 1 == kBlobBeats;
    }
    const uint64_t target = static_cast<uint64_t>(load * Table::kCapacity);
    while (stat(wire::STATS_LIVE) < target) {
      present_.push_back(random_key());
      put(present_.back().put);
    }
    absent_.reserve(1 << 16);
    for (size_t i = 0; i < (1 << 16); ++i) absent_.push_back(random_key());
  }

  // Runs one command (header beat + optional payload) and drains its response.
  // Returns the response status, so callers can check what they measured.
  unsigned run(const Beat& hdr, const Beat* payload, unsigned payload_beats = 0) {
    cmd_.write(hdr);
    for (unsigned b = 0; b < payload_beats; ++b) cmd_.write(payload[b]);
    table_->step(cmd_, rsp_);
    const Beat r = rsp_.read();
    uint64_t sink = r.data[0];
    for (unsigned b = 0, n = sessnic::beats_for(static_cast<unsigned>(wire::get_field(r.data, wire::header::blob_len)));
         b < n; ++b)
      sink ^= rsp_.read().data[b & 7];
    benchmark::DoNotOptimize(sink);
    return static_cast<unsigned>(wire::get_field(r.data, wire::header::status));
  }

  unsigned get(const Beat& key_hdr) { return run(key_hdr, nullptr); }
  unsigned put(const Beat& key_hdr) { return run(key_hdr, blob_, kBlobBeats); }

  struct Key {
    Beat get, put;  // ready-made header beats for this key
  };
  // A timed run's command headers, drawn before timing and laid out in order, as a
  // driver's command ring would hold them (so the bench adds no cache miss of its own).
  std::vector<Beat> sequence(const std::vector<const Key*>& from, bool as_put, size_t n) {
    std::vector<Beat> seq(n);
    for (Beat& b : seq) {
      const Key* k = from[rng_() % from.size()];
      b = as_put ? k->put : k->get;
    }
    return seq;
  }
  std::vector<const Key*> inserted() const { return pointers(present_); }
  std::vector<const Key*> absent() const { return pointers(absent_); }

  // Keys of the universe that are still stored (overfull sets evicted some at fill time).
  std::vector<const Key*> stored_keys() {
    std::vector<const Key*> out;
    for (const Key& k : present_) {
      Beat e = k.get;
      wire::set_field(e.data, wire::header::op, static_cast<unsigned>(wire::Opcode::EXPORT));
      if (run(e, nullptr) == static_cast<unsigned>(wire::Status::OK)) out.push_back(&k);
    }
    return out;
  }

  uint64_t stat(unsigned i) {
    uint64_t s[wire::STATS_WORDS];
    table_->stats(s);
    return s[i];
  }

 private:
  static std::vector<const Key*> pointers(const std::vector<Key>& keys) {
    std::vector<const Key*> out;
    for (const Key& k : keys) out.push_back(&k);
    return out;
  }

  static Beat header(wire::Opcode op, unsigned key_len) {
    Beat b;
    sessnic::clear_beat(b);
    wire::set_field(b.data, wire::header::op, static_cast<unsigned>(op));
    wire::set_field(b.data, wire::header::key_len, key_len);
    return b;
  }

  // A 32-byte random session id, as OpenSSL generates them.
  Key random_key() {
    Key k;
    k.get = header(wire::Opcode::GET, 32);
    for (unsigned w = 1; w <= 4; ++w) k.get.data[w] = rng_();
    k.get.last = true;
    k.put = k.get;
    wire::set_field(k.put.data, wire::header::op, static_cast<unsigned>(wire::Opcode::PUT));
    wire::set_field(k.put.data, wire::header::expiry, kExpiry);
    wire::set_field(k.put.data, wire::header::blob_len, kBlobBytes);
    k.put.last = false;
    return k;
  }

  std::unique_ptr<Table, TableDelete<Table>> table_;
  hls::stream<Beat> cmd_, rsp_;
  std::mt19937_64 rng_;
  Beat blob_[kBlobBeats];
  std::vector<Key> present_, absent_;
};

// Captures items_per_second of every run while printing the usual console table.
class FigureReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      const auto it = r.counters.find("items_per_second");
      const std::string name = r.benchmark_name();
      if (it != r.counters.end()) rate[name.substr(0, name.find('/'))] = it->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> rate;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  fmt::print("bench_table: ModelTable {} sets x {} ways x {} B = {} entries, {:.1f} MiB\n", ModelTable::kSets,
             ModelTable::kWays, ModelTable::kSlotBytes, ModelTable::kCapacity, sizeof(ModelTable) / 1048576.0);
  fmt::print("filling tables to 50% and 90% load through the command stream...\n");
  LoadedTable<ModelTable> half(0.5, 0x7ab1e50);
  LoadedTable<ModelTable> full(0.9, 0x7ab1e90);
  LoadedTable<HwTable> card(0.9, 0x7ab1ec0);
  const auto hits = full.stored_keys();
  const auto card_hits = card.stored_keys();
  for (auto* t : {&half, &full})
    fmt::print("model table: {} live of {} ({:.1f}%) after {} PUTs of fresh keys ({} evictions)\n",
               t->stat(wire::STATS_LIVE), ModelTable::kCapacity,
               100.0 * t->stat(wire::STATS_LIVE) / ModelTable::kCapacity, t->stat(wire::STATS_PUTS),
               t->stat(wire::STATS_EVICTIONS));

  constexpr size_t kIdx = 1 << 20;
  const std::vector<Beat> hit_seq = full.sequence(hits, false, kIdx);
  const std::vector<Beat> card_seq = card.sequence(card_hits, false, kIdx);
  const std::vector<Beat> miss_seq = full.sequence(full.absent(), false, kIdx);
  const std::vector<Beat> put_seq_half = half.sequence(half.inserted(), true, kIdx);
  const std::vector<Beat> put_seq_full = full.sequence(full.inserted(), true, kIdx);
  const double min_time = 1.0;

  // Each benchmark checks the statuses it got, so a broken table cannot look fast.
  auto get_bench = [](auto& t, const std::vector<Beat>& seq, unsigned want) {
    return [&t, &seq, want](benchmark::State& st) {
      size_t i = 0, bad = 0;
      for (auto _ : st) bad += t.get(seq[i++ & (kIdx - 1)]) != want;
      if (bad) st.SkipWithError("unexpected GET status");
      st.SetItemsProcessed(st.iterations());
    };
  };
  auto put_bench = [](LoadedTable<ModelTable>& t, const std::vector<Beat>& seq) {
    return [&t, &seq](benchmark::State& st) {
      size_t i = 0, bad = 0;
      for (auto _ : st) {
        const unsigned s = t.put(seq[i++ & (kIdx - 1)]);
        bad += s != static_cast<unsigned>(wire::Status::OK) && s != static_cast<unsigned>(wire::Status::EVICTED);
      }
      if (bad) st.SkipWithError("PUT failed");
      st.SetItemsProcessed(st.iterations());
    };
  };
  const unsigned ok = static_cast<unsigned>(wire::Status::OK), miss = static_cast<unsigned>(wire::Status::MISS);
  benchmark::RegisterBenchmark("table_get_hit", get_bench(full, hit_seq, ok))->MinTime(min_time);
  benchmark::RegisterBenchmark("table_get_hit_card", get_bench(card, card_seq, ok))->MinTime(min_time);
  benchmark::RegisterBenchmark("table_get_miss", get_bench(full, miss_seq, miss))->MinTime(min_time);
  benchmark::RegisterBenchmark("table_put_50", put_bench(half, put_seq_half))->MinTime(min_time);
  benchmark::RegisterBenchmark("table_put_90", put_bench(full, put_seq_full))->MinTime(min_time);

  FigureReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  const double bytes_per_entry = static_cast<double>(sizeof(ModelTable)) / ModelTable::kCapacity;
  const std::map<std::string, double> figures = {
      {"table_get_hit_per_s", reporter.rate["table_get_hit"]},
      {"table_get_miss_per_s", reporter.rate["table_get_miss"]},
      {"table_put_per_s_50", reporter.rate["table_put_50"]},
      {"table_put_per_s", reporter.rate["table_put_90"]},
      {"table_bytes_per_entry", bytes_per_entry},
      {"table_get_hit_per_s_card", reporter.rate["table_get_hit_card"]},
  };
  fmt::print("\nfigures:\n");
  for (const auto& [name, v] : figures) fmt::print("  {:24s} {:.6g}\n", name, v);
  fmt::print("  memory / (entries x slot) = {:.3f} (target <= 1.2)\n", bytes_per_entry / ModelTable::kSlotBytes);
  for (auto* t : {&half, &full})
    fmt::print("  model table load after the PUT runs: {:.1f}%\n", 100.0 * t->stat(wire::STATS_LIVE) / ModelTable::kCapacity);

  if (const char* dir = std::getenv("SESSNIC_BENCH_PARTS")) {
    std::string json = "{";
    for (const auto& [name, v] : figures) json += fmt::format("{}\"{}\": {:.6g}", json.size() > 1 ? ", " : "", name, v);
    json += "}\n";
    std::ofstream(std::string(dir) + "/table.json") << json;
  }
  return 0;
}
