// Runs the checked-in ClientHello corpus (fuzz/corpus, also the libFuzzer seeds) through
// the parser, plus deterministic mutations of every seed: truncations, single-byte
// corruptions and random segmentations. The parser must classify each input (done,
// need_more or a named error) without crashing, and segmentation must never change the
// answer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "client_hello.hpp"

namespace sessnic::dispatch {
namespace {
namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;
using State = HelloAssembler::State;

std::vector<std::pair<std::string, Bytes>> load_corpus() {
  std::vector<std::pair<std::string, Bytes>> out;
  for (auto& e : fs::directory_iterator(SESSNIC_HELLO_CORPUS_DIR)) {
    if (!e.is_regular_file()) continue;
    std::ifstream f(e.path(), std::ios::binary);
    out.emplace_back(e.path().filename().string(), Bytes(std::istreambuf_iterator<char>(f), {}));
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Outcome {
  State state;
  ParseError error;
  std::string sni;
  bool operator==(const Outcome&) const = default;
};

Outcome run_whole(const Bytes& b) {
  HelloAssembler a;
  auto st = a.feed(b);
  return {st, a.error(), st == State::done ? a.hello().sni : ""};
}

Outcome run_segmented(const Bytes& b, std::mt19937& rng) {
  HelloAssembler a;
  State st = State::need_more;
  size_t off = 0;
  while (off < b.size() && st == State::need_more) {
    size_t n = std::min<size_t>(b.size() - off, 1 + rng() % 97);
    st = a.feed(std::span<const uint8_t>(b.data() + off, n));
    off += n;
  }
  return {st, a.error(), st == State::done ? a.hello().sni : ""};
}

TEST(DispatchCorpus, SeedsHaveTheirExpectedOutcome) {
  auto corpus = load_corpus();
  ASSERT_GE(corpus.size(), 10u) << "corpus missing at " << SESSNIC_HELLO_CORPUS_DIR;
  for (auto& [name, bytes] : corpus) {
    auto o = run_whole(bytes);
    // File names say what the seed is: ok-*, err-<reason>-*, more-* (incomplete).
    if (name.rfind("ok-", 0) == 0) {
      EXPECT_EQ(o.state, State::done) << name << ": " << to_string(o.error);
    } else if (name.rfind("more-", 0) == 0) {
      EXPECT_EQ(o.state, State::need_more) << name;
    } else if (name.rfind("err-", 0) == 0) {
      EXPECT_EQ(o.state, State::failed) << name;
      std::string reason = name.substr(4, name.find('.') - 4);
      EXPECT_EQ(std::string(to_string(o.error)), reason) << name;
    }
  }
}

TEST(DispatchCorpus, MutationsNeverCrashAndSegmentationNeverChangesTheAnswer) {
  std::mt19937 rng(12345);
  size_t runs = 0;
  for (auto& [name, bytes] : load_corpus()) {
    for (size_t cut = 0; cut <= bytes.size(); cut += 1 + bytes.size() / 64) {
      Bytes t(bytes.begin(), bytes.begin() + static_cast<long>(cut));
      EXPECT_EQ(run_whole(t), run_segmented(t, rng)) << name << " cut " << cut;
      ++runs;
    }
    for (int i = 0; i < 300 && !bytes.empty(); ++i) {
      Bytes m = bytes;
      m[rng() % m.size()] = static_cast<uint8_t>(rng());
      if (i % 3 == 0) m[rng() % m.size()] = 0xff;
      EXPECT_EQ(run_whole(m), run_segmented(m, rng)) << name << " mutation " << i;
      ++runs;
    }
  }
  EXPECT_GT(runs, 1000u);
}

}  // namespace
}  // namespace sessnic::dispatch
