// rtl/backplane_sync/bp_frame_check against the backplane kernel (hls/backplane_sync.hpp):
// the same random frames, good and damaged, go into the Verilated front end and into a
// BackplaneSync kernel wired to a real SessionTable; the RTL's verdict for each frame
// must be the check the kernel counted it under (version, length, CRC, not-mine) or
// "passed", and the passed frames must come out of the RTL unchanged.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include "Vbp_frame_check_c8.h"
#include "backplane_crc32.hpp"
#include "backplane_sync.hpp"
#include "session_table.hpp"
#include "verilated.h"

namespace sessnic {
namespace {

constexpr unsigned kCards = 8;
constexpr uint8_t kCard = 1;
constexpr uint64_t kPeers = 0x0F;  // cards 0..3 are members (this card is 1)
enum Verdict : unsigned { kOk = 0, kBadVersion = 1, kBadLen = 2, kBadCrc = 3, kNotMine = 4 };
const char* const kVerdictName[] = {"ok", "bad_version", "bad_len", "bad_crc", "not_mine"};

using Frame = std::vector<Beat>;

void seal(Frame& f) {
  wire::set_field(f[0].data, wire::frame::crc, 0);
  uint32_t c = crc32_init();
  for (const Beat& b : f)
    for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) c = crc32_word(c, b.data[w]);
  wire::set_field(f[0].data, wire::frame::crc, crc32_final(c));
  for (Beat& b : f) b.last = false;
  f.back().last = true;
}

// A frame that passes every front-end check (HELLO or ACK: kinds that never need the
// table, so the kernel's later stages cannot blur the comparison), then maybe damaged.
Frame random_frame(std::mt19937_64& rng) {
  auto pick = [&](unsigned n) { return static_cast<unsigned>(rng() % n); };
  const unsigned payload = pick(3) == 0 ? 64 * (1 + pick(5)) - pick(64) : 0;
  Frame f(1 + beats_for(payload));
  for (Beat& b : f) clear_beat(b);
  Beat& h = f[0];
  const bool hello = pick(2) == 0;
  wire::set_field(h.data, wire::frame::fver, static_cast<unsigned>(wire::BpConst::FRAME_VERSION));
  wire::set_field(h.data, wire::frame::ftype, static_cast<unsigned>(hello ? wire::FrameType::HELLO : wire::FrameType::ACK));
  const unsigned src[] = {0, 2, 3};
  wire::set_field(h.data, wire::frame::src, src[pick(3)]);
  wire::set_field(h.data, wire::frame::dst, hello && pick(2) ? static_cast<unsigned>(wire::BpConst::BROADCAST) : kCard);
  wire::set_field(h.data, wire::frame::epoch, 1 + pick(3));
  wire::set_field(h.data, wire::frame::dst_epoch, pick(2));
  wire::set_field(h.data, wire::frame::payload_len, payload);
  for (size_t b = 1; b < f.size(); ++b)
    for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) {
      const unsigned lo = static_cast<unsigned>(b - 1) * 64 + w * 8;
      f[b].data[w] = lo + 8 <= payload ? rng() : 0;
    }
  seal(f);

  switch (pick(9)) {
    case 0:  // wrong format version
      wire::set_field(h.data, wire::frame::fver, 2 + pick(250));
      seal(f);
      break;
    case 1:  // payload_len disagrees with the beats (or exceeds a slot)
      wire::set_field(h.data, wire::frame::payload_len, pick(2) ? payload + 64 + pick(64) : 320 + 1 + pick(2000));
      seal(f);
      break;
    case 2: {  // one bit flipped anywhere but the crc field itself
      const size_t b = pick(static_cast<unsigned>(f.size()));
      unsigned bit = pick(512);
      if (b == 0 && bit >= 224 && bit < 256) bit -= 32;
      f[b].data[bit / 64] ^= 1ull << (bit % 64);
      break;
    }
    case 3: {  // a beat too many or too few, or far too many
      const int mode = static_cast<int>(pick(3));
      if (mode == 0) f.push_back(f.back());
      else if (mode == 1 && f.size() > 1) f.pop_back();
      else f.resize(f.size() + 8, f.back());
      for (Beat& x : f) x.last = false;
      f.back().last = true;
      break;
    }
    case 4:  // not for this card: unknown source, this card as source, another destination
      wire::set_field(h.data, wire::frame::src, pick(2) ? 4 + pick(252) : kCard);
      seal(f);
      break;
    case 5:
      wire::set_field(h.data, wire::frame::dst, pick(2) ? 2 : 5 + pick(200));
      seal(f);
      break;
    case 6:  // unknown frame type, or a broadcast that is not a HELLO
      if (pick(2)) wire::set_field(h.data, wire::frame::ftype, pick(2) ? 0 : 12 + pick(240));
      else {
        wire::set_field(h.data, wire::frame::ftype, 2 + pick(10));
        wire::set_field(h.data, wire::frame::dst, static_cast<unsigned>(wire::BpConst::BROADCAST));
      }
      seal(f);
      break;
    default:  // good
      break;
  }
  return f;
}

struct KernelRx {
  using Bp = BackplaneSync<kCards, 16>;
  std::unique_ptr<Bp> bp = std::make_unique<Bp>();
  std::unique_ptr<SessionTable<6, 4>> table = std::make_unique<SessionTable<6, 4>>(kCard);
  hls::stream<Beat> cmd_in, rsp_out, tbl_cmd, tbl_rsp, frame_in, frame_out;
  Bp::Io io{cmd_in, rsp_out, tbl_cmd, tbl_rsp, frame_in, frame_out};
  uint64_t now = 1;

  KernelRx() {
    BackplaneConfig cfg;
    cfg.card = kCard;
    cfg.mode = wire::BpMode::TRANSFER;
    cfg.peers[0] = kPeers;
    cfg.hello_interval = 1ull << 40;
    bp->configure(cfg);
  }

  unsigned verdict(const Frame& f) {
    const uint64_t before[] = {bp->counter(wire::BP_STATS_RX_BAD_VERSION), bp->counter(wire::BP_STATS_RX_BAD_LEN),
                               bp->counter(wire::BP_STATS_RX_BAD_CRC), bp->counter(wire::BP_STATS_RX_NOT_MINE)};
    for (const Beat& b : f) frame_in.write(b);
    for (int guard = 0; guard < 1000; ++guard) {
      const bool did = bp->step(++now, io);
      while (!tbl_cmd.empty()) table->step(tbl_cmd, tbl_rsp);
      if (!did && frame_in.empty()) break;
    }
    while (!frame_out.empty()) frame_out.read();
    while (!rsp_out.empty()) rsp_out.read();
    const unsigned idx[] = {wire::BP_STATS_RX_BAD_VERSION, wire::BP_STATS_RX_BAD_LEN, wire::BP_STATS_RX_BAD_CRC,
                            wire::BP_STATS_RX_NOT_MINE};
    for (unsigned i = 0; i < 4; ++i)
      if (bp->counter(idx[i]) != before[i]) return i + 1;
    return kOk;
  }
};

TEST(RtlFrameCheck, VerdictsMatchTheBackplaneKernel) {
  constexpr uint64_t kSeed = 21;
  constexpr unsigned kFrames = 6000;
  std::printf("seed %llu, %u frames\n", static_cast<unsigned long long>(kSeed), kFrames);
  std::mt19937_64 rng(kSeed);
  KernelRx kernel;
  auto ctx = std::make_unique<VerilatedContext>();
  auto dut = std::make_unique<Vbp_frame_check_c8>(ctx.get());
  dut->card_id = kCard;
  dut->peers = kPeers;
  dut->rst = 1;
  for (int i = 0; i < 2; ++i) {
    dut->clk = 0;
    dut->eval();
    dut->clk = 1;
    dut->eval();
  }
  dut->rst = 0;

  std::vector<Frame> frames;
  std::vector<unsigned> want;
  std::vector<Beat> in;
  std::vector<Frame> want_out;
  unsigned per[5] = {};
  for (unsigned i = 0; i < kFrames; ++i) {
    frames.push_back(random_frame(rng));
    want.push_back(kernel.verdict(frames.back()));
    ++per[want.back()];
    if (want.back() == kOk) want_out.push_back(frames.back());
    for (const Beat& b : frames.back()) in.push_back(b);
  }

  std::vector<unsigned> got;
  std::vector<Frame> out;
  Frame partial;
  size_t next = 0;
  for (uint64_t cycle = 0; cycle < 50ull * in.size() && got.size() < kFrames; ++cycle) {
    dut->clk = 0;
    dut->s_frame_tvalid = next < in.size() && (rng() % 4 != 0);
    if (next < in.size()) {
      for (unsigned w = 0; w < 8; ++w) {
        dut->s_frame_tdata[2 * w] = static_cast<uint32_t>(in[next].data[w]);
        dut->s_frame_tdata[2 * w + 1] = static_cast<uint32_t>(in[next].data[w] >> 32);
      }
      dut->s_frame_tlast = in[next].last;
    }
    dut->m_frame_tready = rng() % 3 != 0;
    dut->eval();
    const bool took = dut->s_frame_tvalid && dut->s_frame_tready;
    if (dut->m_frame_tvalid && dut->m_frame_tready) {
      Beat b;
      for (unsigned w = 0; w < 8; ++w)
        b.data[w] = dut->m_frame_tdata[2 * w] | (static_cast<uint64_t>(dut->m_frame_tdata[2 * w + 1]) << 32);
      b.last = dut->m_frame_tlast;
      partial.push_back(b);
      if (b.last) {
        out.push_back(partial);
        partial.clear();
      }
    }
    if (dut->verdict_valid) got.push_back(dut->verdict);
    dut->clk = 1;
    dut->eval();
    if (took) ++next;
  }
  for (int i = 0; i < 20; ++i) {  // let the last verdict and frame out
    dut->clk = 0;
    dut->s_frame_tvalid = 0;
    dut->m_frame_tready = 1;
    dut->eval();
    if (dut->m_frame_tvalid) {
      Beat b;
      for (unsigned w = 0; w < 8; ++w)
        b.data[w] = dut->m_frame_tdata[2 * w] | (static_cast<uint64_t>(dut->m_frame_tdata[2 * w + 1]) << 32);
      b.last = dut->m_frame_tlast;
      partial.push_back(b);
      if (b.last) {
        out.push_back(partial);
        partial.clear();
      }
    }
    if (dut->verdict_valid) got.push_back(dut->verdict);
    dut->clk = 1;
    dut->eval();
  }

  std::printf("  kernel verdicts: ok %u, bad_version %u, bad_len %u, bad_crc %u, not_mine %u\n", per[0], per[1],
              per[2], per[3], per[4]);
  for (unsigned v = 0; v < 5; ++v) EXPECT_GT(per[v], 100u) << kVerdictName[v] << " barely exercised";
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_EQ(got[i], want[i]) << "frame #" << i << ": rtl " << kVerdictName[got[i]] << ", kernel "
                               << kVerdictName[want[i]];
  ASSERT_EQ(out.size(), want_out.size()) << "frames passed on";
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(out[i].size(), want_out[i].size()) << "passed frame #" << i;
    for (size_t b = 0; b < out[i].size(); ++b)
      for (unsigned w = 0; w < 8; ++w) ASSERT_EQ(out[i][b].data[w], want_out[i][b].data[w]);
  }
  EXPECT_EQ(dut->rx_frames, kFrames);
  EXPECT_EQ(dut->rx_bad_crc, per[kBadCrc]);
  EXPECT_EQ(dut->rx_not_mine, per[kNotMine]);
  dut->final();
}

}  // namespace
}  // namespace sessnic
