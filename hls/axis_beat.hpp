// The AXI4-Stream form of a Beat for the Vitis top-level ports: ap_axiu<512, 0, 0, 0>,
// 512-bit TDATA with a real TLAST (and TKEEP/TSTRB all ones: every beat is whole), so
// the kernel's stream ports connect to any AXI4-Stream IP. Inside, the kernels work on
// Beat (8 x 64-bit words + last); read_beat()/write_beat() convert at the port and are
// the identity on plain Beat streams, so the kernels serve both.
//
// Without Vitis (g++ builds: tests, model device) <ap_axi_sdata.h> is absent and the
// minimal stand-in below provides the members the conversion uses, with the same names
// and bit order (word w of the beat = TDATA[64w+63 : 64w]).
#pragma once
#include <stdint.h>

#include "beat.hpp"
#include "hls_stream_shim.hpp"

#if __has_include(<ap_axi_sdata.h>) && !defined(SESSNIC_FORCE_SHIM)
#include <ap_axi_sdata.h>
#else
// Stand-in for Vitis's ap_uint<W> (only 64-bit aligned range() is used) and ap_axiu.
template <int W>
struct ap_uint {
  static_assert(W % 64 == 0 || W < 64, "stand-in: whole 64-bit words, or one word");
  uint64_t w[(W + 63) / 64] = {};
  struct RangeRef {
    uint64_t& word;
    RangeRef& operator=(uint64_t v) {
      word = v;
      return *this;
    }
    uint64_t to_uint64() const { return word; }
  };
  struct RangeVal {
    uint64_t v;
    uint64_t to_uint64() const { return v; }
  };
  RangeRef range(int hi, int lo) { return RangeRef{word_at(hi, lo)}; }
  RangeVal range(int hi, int lo) const { return RangeVal{const_cast<ap_uint*>(this)->word_at(hi, lo)}; }
  ap_uint& operator=(uint64_t v) {  // (only used on one-word values)
    for (auto& x : w) x = 0;
    w[0] = W < 64 ? v & ((1ull << W) - 1) : v;
    return *this;
  }
  bool operator!=(uint64_t v) const { return w[0] != v; }

 private:
  uint64_t& word_at(int hi, int lo) {
    if (lo % 64 != 0 || hi != lo + 63) __builtin_trap();  // only whole words are used
    return w[lo / 64];
  }
};
template <int D, int U, int TI, int TD>
struct ap_axiu {
  ap_uint<D> data;
  ap_uint<D / 8> keep;
  ap_uint<D / 8> strb;
  ap_uint<1> last;
};
#endif

namespace sessnic {

using AxisBeat = ap_axiu<wire::BEAT_WORDS * 64, 0, 0, 0>;

inline Beat to_beat(const AxisBeat& a) {
  Beat b;
  for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) {
#pragma HLS UNROLL
    b.data[w] = static_cast<uint64_t>(a.data.range(64 * w + 63, 64 * w).to_uint64());
  }
  b.last = a.last != 0;
  return b;
}

inline AxisBeat to_axis(const Beat& b) {
  AxisBeat a;
  for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) {
#pragma HLS UNROLL
    a.data.range(64 * w + 63, 64 * w) = b.data[w];
  }
  a.keep = -1;
  a.strb = -1;
  a.last = b.last ? 1 : 0;
  return a;
}

// Port access for the kernels: the same code reads/writes Beat or AXI4-Stream streams.
inline Beat read_beat(hls::stream<Beat>& s) { return s.read(); }
inline Beat read_beat(hls::stream<AxisBeat>& s) { return to_beat(s.read()); }
inline void write_beat(hls::stream<Beat>& s, const Beat& b) { s.write(b); }
inline void write_beat(hls::stream<AxisBeat>& s, const Beat& b) { s.write(to_axis(b)); }

}  // namespace sessnic
