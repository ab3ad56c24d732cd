// A latency histogram for the pump's hop measurements (NodeStats): quarter-octave
// buckets in microseconds, so a percentile is exact to within 19% over 0.25 us .. 67 s,
// with a fixed size (no allocation on the pump's path). Not synchronized: the owner
// guards it.
#pragma once
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace sessnic::backplane {

class LatencyHistogram {
 public:
  static constexpr std::size_t kBuckets = 112;  // bucket b: [2^((b-8)/4), 2^((b-7)/4)) us

  void add_us(double us) {
    ++total_;
    if (!(us > 0)) {
      ++counts_[0];
      return;
    }
    const double b = std::floor(std::log2(us) * 4.0) + 8.0;
    counts_[b < 0 ? 0 : b >= kBuckets ? kBuckets - 1 : static_cast<std::size_t>(b)] += 1;
  }
  // n samples into bucket b (a histogram rebuilt from buckets() of another process).
  void add_bucket(std::size_t b, uint64_t n) {
    if (b >= kBuckets) b = kBuckets - 1;
    counts_[b] += n;
    total_ += n;
  }
  void merge(const LatencyHistogram& o) {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
  }
  uint64_t count() const { return total_; }
  // The upper edge of the bucket holding the p-quantile (0 < p <= 1); 0 when empty.
  double percentile_us(double p) const {
    if (total_ == 0) return 0;
    const double want = p * static_cast<double>(total_);
    uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (static_cast<double>(seen) >= want && counts_[i] != 0) return upper_edge_us(i);
    }
    return upper_edge_us(kBuckets - 1);
  }
  static double upper_edge_us(std::size_t b) { return std::exp2((static_cast<double>(b) - 7.0) / 4.0); }
  const std::array<uint64_t, kBuckets>& buckets() const { return counts_; }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
};

}  // namespace sessnic::backplane
