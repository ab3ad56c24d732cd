// ServerHelloReader: the server's decision (version, full or resumed) from its first
// flight, built byte for byte here; anything else is given up on, never misread.
#include <gtest/gtest.h>

#include "hello_builder.hpp"
#include "server_hello.hpp"

namespace sessnic::dispatch {
namespace {
using testing::Bytes;
using testing::put16;
using testing::put24;

Bytes server_hello(const Bytes& sid, bool tls13, bool psk, bool hrr = false) {
  Bytes body;
  put16(body, 0x0303);
  for (int i = 0; i < 32; ++i) body.push_back(static_cast<uint8_t>(0x40 + i));
  if (hrr)
    body.assign({0x03, 0x03, 0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
                 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c});
  body.push_back(static_cast<uint8_t>(sid.size()));
  body.insert(body.end(), sid.begin(), sid.end());
  testing::append(body, {0x13, 0x01, 0x00});
  Bytes exts;
  if (tls13) testing::append(exts, testing::ext(43, {0x03, 0x04}));
  if (psk) testing::append(exts, testing::ext(41, {0x00, 0x00}));
  put16(body, exts.size());
  testing::append(body, exts);
  Bytes msg{2};
  put24(msg, body.size());
  testing::append(msg, body);
  Bytes rec{22, 3, 3};
  put16(rec, msg.size());
  testing::append(rec, msg);
  return rec;
}

ServerHelloReader read(const Bytes& offered, const Bytes& stream, size_t chunk = 1 << 20) {
  ServerHelloReader r(offered);
  for (size_t i = 0; i < stream.size() && r.feed(std::span<const uint8_t>(stream).subspan(i, std::min(chunk, stream.size() - i)));
       i += chunk) {
  }
  return r;
}

TEST(DispatchServerHello, Tls13PskMeansResumed) {
  Bytes compat(32, 5);
  auto full = read(compat, server_hello(compat, true, false));
  EXPECT_TRUE(full.done());
  EXPECT_EQ(full.version(), "1.3");
  EXPECT_EQ(full.kind(), ServerHelloReader::Kind::full);
  auto resumed = read(compat, server_hello(compat, true, true), 1);  // byte by byte
  EXPECT_EQ(resumed.version(), "1.3");
  EXPECT_EQ(resumed.kind(), ServerHelloReader::Kind::resumed);
}

TEST(DispatchServerHello, Tls12EchoedSessionIdMeansResumed) {
  Bytes offered(32, 7), fresh(32, 8);
  EXPECT_EQ(read(offered, server_hello(offered, false, false), 3).kind(), ServerHelloReader::Kind::resumed);
  auto full = read(offered, server_hello(fresh, false, false));
  EXPECT_EQ(full.version(), "1.2");
  EXPECT_EQ(full.kind(), ServerHelloReader::Kind::full);
  EXPECT_EQ(read({}, server_hello({}, false, false)).kind(), ServerHelloReader::Kind::full);
}

TEST(DispatchServerHello, AnythingElseIsUnknown) {
  Bytes sid(32, 1);
  EXPECT_EQ(read(sid, server_hello(sid, true, true, /*hrr=*/true)).kind(), ServerHelloReader::Kind::unknown);
  auto alert = read(sid, Bytes{21, 3, 3, 0, 2, 2, 40});
  EXPECT_TRUE(alert.done());
  EXPECT_EQ(alert.kind(), ServerHelloReader::Kind::unknown);
  EXPECT_EQ(alert.version(), "-");
  EXPECT_EQ(read(sid, Bytes{'H', 'T', 'T', 'P', '/', '1', '.', '1', ' '}).kind(), ServerHelloReader::Kind::unknown);
  // A message that is not a ServerHello, and a truncated extension block.
  Bytes cert = server_hello(sid, true, true);
  cert[5] = 11;
  EXPECT_EQ(read(sid, cert).kind(), ServerHelloReader::Kind::unknown);
  Bytes cut = server_hello(sid, true, true);
  cut[cut.size() - 3] = 0xff;  // psk extension length runs past the end
  EXPECT_EQ(read(sid, cut).kind(), ServerHelloReader::Kind::unknown);
  // Endless handshake bytes: it stops at its bound.
  ServerHelloReader r(sid);
  Bytes huge{22, 3, 3, 0x40, 0x00, 2, 0xff, 0xff, 0xff};
  huge.resize(5 + 0x4000);
  bool more = true;
  for (int i = 0; i < 8 && more; ++i) more = r.feed(huge);
  EXPECT_FALSE(more);
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.kind(), ServerHelloReader::Kind::unknown);
}

}  // namespace
}  // namespace sessnic::dispatch
