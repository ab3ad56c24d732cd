// The codec: commands to beats and beats to responses, including framing faults.
#include <gtest/gtest.h>

#include <numeric>
#include <optional>

#include "sessnic/codec.hpp"

namespace sessnic {
namespace {

std::vector<uint8_t> bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

Command put_cmd(size_t blob_len) {
  Command c;
  c.op = wire::Opcode::PUT;
  c.tag = 0xA1B2C3D4;
  const auto id = bytes(32, 1);
  c.key = SessionKey::make(id, 0x5a);
  c.version = 0x0123456789ABCDEFull;
  c.expiry = 0xFEDCBA98;
  c.flags = 2;
  c.aux = 0x1122334455667788ull;
  c.blob = bytes(blob_len, 9);
  return c;
}

TEST(Codec, HeaderFieldsLandWhereTheSpecSays) {
  const Command c = put_cmd(100);
  std::vector<Beat> beats;
  codec::encode(c, beats);
  ASSERT_EQ(beats.size(), 3u);  // header + ceil(100/64)
  const Beat& h = beats[0];
  EXPECT_FALSE(h.last);
  EXPECT_EQ(wire::get_field(h.data, wire::header::op), 1u);
  EXPECT_EQ(wire::get_field(h.data, wire::header::key_len), 32u);
  EXPECT_EQ(wire::get_field(h.data, wire::header::tag), 0xA1B2C3D4u);
  EXPECT_EQ(wire::get_field(h.data, wire::header::version), 0x0123456789ABCDEFull);
  EXPECT_EQ(wire::get_field(h.data, wire::header::expiry), 0xFEDCBA98u);
  EXPECT_EQ(wire::get_field(h.data, wire::header::ctx), 0x5au);
  EXPECT_EQ(wire::get_field(h.data, wire::header::blob_len), 100u);
  EXPECT_EQ(wire::get_field(h.data, wire::header::aux), 0x1122334455667788ull);
  // Key byte 0 is bits 7:0 of word 1 (little-endian beats).
  EXPECT_EQ(h.data[1] & 0xff, c.key.id[0]);
  EXPECT_EQ(h.data[1] >> 56, c.key.id[7]);
  EXPECT_FALSE(beats[1].last);
  EXPECT_TRUE(beats[2].last);
  // Bytes past the blob are zero.
  EXPECT_EQ(beats[2].data[7], 0u);
}

TEST(Codec, ResponseRoundTripsThroughBeats) {
  for (size_t len : {0u, 1u, 63u, 64u, 65u, 256u, 1000u}) {
    Command c = put_cmd(len);
    std::vector<Beat> beats;
    codec::encode(c, beats);
    // A response has the same layout; status 0 = OK.
    const Response r = codec::decode(beats);
    EXPECT_EQ(r.status, wire::Status::OK) << len;
    EXPECT_EQ(r.tag, c.tag);
    EXPECT_EQ(r.key, c.key);
    EXPECT_EQ(r.version, c.version);
    EXPECT_EQ(r.expiry, c.expiry);
    EXPECT_EQ(r.flags, c.flags);
    EXPECT_EQ(r.card, 0x88);  // aux low byte carries the answering card
    EXPECT_EQ(r.blob, c.blob) << len;
  }
}

TEST(Codec, AssemblerDeliversBackToBackResponses) {
  std::vector<Beat> beats;
  codec::encode(put_cmd(70), beats);
  codec::encode(put_cmd(0), beats);
  codec::encode(put_cmd(128), beats);
  codec::ResponseAssembler a;
  std::vector<Response> got;
  for (const Beat& b : beats)
    if (a.push(b)) got.push_back(a.take());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].blob.size(), 70u);
  EXPECT_TRUE(got[1].blob.empty());
  EXPECT_EQ(got[2].blob.size(), 128u);
  for (const auto& r : got) EXPECT_EQ(r.status, wire::Status::OK);
}

TEST(Codec, EarlyTlastIsFailedNotData) {
  std::vector<Beat> beats;
  codec::encode(put_cmd(200), beats);  // header + 4 beats
  beats[1].last = true;                // cut after the first payload beat
  beats.resize(2);
  const Response r = codec::decode(beats);
  EXPECT_EQ(r.status, wire::Status::FAILED);
  EXPECT_TRUE(r.blob.empty());
}

TEST(Codec, MissingTlastIsFailed) {
  std::vector<Beat> beats;
  codec::encode(put_cmd(64), beats);
  beats[1].last = false;
  EXPECT_EQ(codec::decode(beats).status, wire::Status::FAILED);
}

TEST(Codec, HeaderSaysNoBlobButTlastMissingIsFailed) {
  std::vector<Beat> beats;
  codec::encode(put_cmd(0), beats);
  beats[0].last = false;
  EXPECT_EQ(codec::decode(beats).status, wire::Status::FAILED);
}

TEST(Codec, UnknownStatusIsFailed) {
  std::vector<Beat> beats;
  codec::encode(put_cmd(0), beats);
  wire::set_field(beats[0].data, wire::header::status, 200);
  EXPECT_EQ(codec::decode(beats).status, wire::Status::FAILED);
}

TEST(Codec, TrailingBeatsAreFailed) {
  std::vector<Beat> beats;
  codec::encode(put_cmd(0), beats);
  codec::encode(put_cmd(0), beats);
  EXPECT_EQ(codec::decode(beats).status, wire::Status::FAILED);
  EXPECT_EQ(codec::decode(std::span<const Beat>()).status, wire::Status::FAILED);
}

// read_response (the model device's reader, straight-line) gives what the beat-by-beat
// ResponseAssembler gives for the same beats - good framing and every framing fault -
// and leaves the stream at the next response.
TEST(Codec, StreamReaderMatchesTheAssembler) {
  struct Case {
    const char* what;
    std::vector<Beat> beats;
  };
  std::vector<Case> cases;
  for (size_t len : {0u, 1u, 64u, 65u, 200u, 256u}) {
    Case c{"well framed", {}};
    codec::encode(put_cmd(len), c.beats);
    cases.push_back(c);
  }
  // put_cmd(len)'s response with TLAST on beat `at` and the beats after it gone.
  auto tlast_early = [](const char* what, size_t len, size_t at) {
    Case c{what, {}};
    codec::encode(put_cmd(len), c.beats);
    c.beats[at].last = true;
    c.beats.resize(at + 1);
    return c;
  };
  // ... with TLAST moved off its last beat onto a copy of that beat after it.
  auto tlast_late = [](const char* what, size_t len) {
    Case c{what, {}};
    codec::encode(put_cmd(len), c.beats);
    c.beats.back().last = false;
    Beat extra = c.beats.back();
    extra.last = true;
    c.beats.push_back(extra);
    return c;
  };
  cases.push_back(tlast_early("early TLAST", 200, 1));
  cases.push_back(tlast_late("late TLAST", 64));
  cases.push_back(tlast_late("no blob, TLAST missing", 0));
  cases.push_back(tlast_early("blob, TLAST on the header", 100, 0));
  {
    Case c{"unknown status", {}};
    codec::encode(put_cmd(70), c.beats);
    wire::set_field(c.beats[0].data, wire::header::status, 200);
    cases.push_back(c);
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    codec::ResponseAssembler a;
    std::optional<Response> want;
    for (const Beat& b : c.beats)
      if (!want && a.push(b)) want = a.take();
    ASSERT_TRUE(want);
    hls::stream<Beat> in;
    for (const Beat& b : c.beats) in.write(b);
    std::vector<Beat> next;
    codec::encode(put_cmd(10), next);  // the response after it
    for (const Beat& b : next) in.write(b);
    const Response got = codec::read_response(in);
    EXPECT_EQ(got.status, want->status);
    EXPECT_EQ(got.tag, want->tag);
    EXPECT_EQ(got.key, want->key);
    EXPECT_EQ(got.version, want->version);
    EXPECT_EQ(got.blob, want->blob);
    const Response after = codec::read_response(in);
    EXPECT_EQ(after.status, wire::Status::OK);
    EXPECT_EQ(after.blob.size(), 10u);
    EXPECT_TRUE(in.empty());
  }
  // A stream that runs dry mid-response (or holds nothing): FAILED, nothing else.
  hls::stream<Beat> in;
  EXPECT_EQ(codec::read_response(in).status, wire::Status::FAILED);
  std::vector<Beat> beats;
  codec::encode(put_cmd(200), beats);
  in.write(beats[0]);
  in.write(beats[1]);
  const Response dry = codec::read_response(in);
  EXPECT_EQ(dry.status, wire::Status::FAILED);
  EXPECT_TRUE(dry.blob.empty());
  EXPECT_EQ(dry.tag, 0u);
}

TEST(Codec, OversizedBlobIsNotEncodable) {
  EXPECT_TRUE(codec::encodable(put_cmd(codec::kMaxWireBlob)));
  EXPECT_FALSE(codec::encodable(put_cmd(codec::kMaxWireBlob + 1)));
}

TEST(Codec, StatsDecodeNeedsAnOkStatsResponse) {
  Response r;
  r.status = wire::Status::OK;
  r.op = wire::Opcode::STATS;
  r.blob.assign(wire::STATS_WORDS * 8, 0);
  r.blob[wire::STATS_PUTS * 8] = 7;
  r.blob[wire::STATS_HITS * 8 + 1] = 1;  // 256
  TableStats s = codec::decode_stats(r);
  EXPECT_EQ(s[wire::STATS_PUTS], 7u);
  EXPECT_EQ(s[wire::STATS_HITS], 256u);
  r.blob.pop_back();
  EXPECT_EQ(codec::decode_stats(r)[wire::STATS_PUTS], 0u);
}

TEST(SessionKeyTest, MakeChecksLength) {
  std::vector<uint8_t> id(33, 1);
  EXPECT_THROW(SessionKey::make(id, 0), std::invalid_argument);
  EXPECT_THROW(SessionKey::make({}, 0), std::invalid_argument);
  const auto k = SessionKey::make(std::span<const uint8_t>(id.data(), 5), 3);
  EXPECT_EQ(k.len, 5);
  EXPECT_EQ(k.ctx, 3);
  EXPECT_EQ(k.bytes().size(), 5u);
  EXPECT_EQ(k.id[5], 0);
}

}  // namespace
}  // namespace sessnic
