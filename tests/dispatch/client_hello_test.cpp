// Parser unit tests: field extraction, reassembly across records and segments, and
// every malformed-input class the dispatcher counts by reason.
#include "client_hello.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <memory>

#include "hello_builder.hpp"

namespace sessnic::dispatch {
namespace {
using namespace testing;
using State = HelloAssembler::State;

Bytes id32(uint8_t first) {
  Bytes b(32, 0x5a);
  b[0] = first;
  return b;
}

TEST(DispatchParser, Tls12SessionSniAlpn) {
  HelloSpec s{.session_id = id32(2), .sni = "Flights.Travel.Test", .alpn = {"h2", "http/1.1"}};
  auto r = parse_client_hello_stream(client_hello(s));
  ASSERT_TRUE(r.ok()) << to_string(r.error);
  EXPECT_EQ(r.hello.sni, "flights.travel.test");
  EXPECT_EQ(r.hello.alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(r.hello.session_id, id32(2));
  EXPECT_FALSE(r.hello.offers_tls13());
  auto rid = r.hello.resumption_id();
  ASSERT_TRUE(rid);
  EXPECT_EQ(Bytes(rid->begin(), rid->end()), id32(2));
}

TEST(DispatchParser, Tls13PskIdentityIsTheResumptionId) {
  HelloSpec s{.session_id = id32(9), .sni = "cars.travel.test", .versions = {0x0304, 0x0303}, .psk_ids = {id32(3)}};
  auto r = parse_client_hello_stream(client_hello(s));
  ASSERT_TRUE(r.ok()) << to_string(r.error);
  EXPECT_TRUE(r.hello.offers_tls13());
  ASSERT_EQ(r.hello.psk_identities.size(), 1u);
  auto rid = r.hello.resumption_id();
  ASSERT_TRUE(rid);
  EXPECT_EQ((*rid)[0], 3);  // the PSK identity, not the compat legacy id
}

TEST(DispatchParser, Tls13FullHandshakeCompatIdIsNotAResumption) {
  // What every TLS 1.3 client sends for a full handshake: a random 32-byte legacy id, no PSK.
  HelloSpec s{.session_id = id32(2), .sni = "cars.travel.test", .versions = {0x0304, 0x0303}};
  auto r = parse_client_hello_stream(client_hello(s));
  ASSERT_TRUE(r.ok()) << to_string(r.error);
  EXPECT_FALSE(r.hello.resumption_id());
  EXPECT_FALSE(r.hello.resumption_id(/*servers_accept_tls13=*/true));
  // Servers capped at TLS 1.2 negotiate 1.2: then the legacy id is a real session id.
  auto rid = r.hello.resumption_id(/*servers_accept_tls13=*/false);
  ASSERT_TRUE(rid);
  EXPECT_EQ(Bytes(rid->begin(), rid->end()), id32(2));
}

TEST(DispatchParser, PskIsIgnoredWhenServersCapAtTls12) {
  HelloSpec s{.session_id = id32(9), .versions = {0x0304, 0x0303}, .psk_ids = {id32(3)}};
  auto r = parse_client_hello_stream(client_hello(s));
  ASSERT_TRUE(r.ok());
  auto rid = r.hello.resumption_id(false);
  ASSERT_TRUE(rid);
  EXPECT_EQ((*rid)[0], 9);  // 1.2 will be negotiated: the legacy id, not the PSK identity
}

TEST(DispatchParser, StatelessTicketIsNotAResumptionId) {
  HelloSpec s{.versions = {0x0304}, .psk_ids = {Bytes(200, 7)}};
  auto r = parse_client_hello_stream(client_hello(s));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.hello.resumption_id());
}

TEST(DispatchParser, NoSessionNoResumption) {
  auto r = parse_client_hello_stream(client_hello({.sni = "a.b"}));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.hello.resumption_id());
}

TEST(DispatchParser, MultiRecordAndByteByByte) {
  HelloSpec s{.session_id = id32(1), .sni = "hotels.travel.test", .alpn = {"http/1.1"}, .versions = {0x0304},
              .psk_ids = {id32(1)}, .padding_ext_bytes = 3000};
  Bytes stream = client_hello(s, 7);  // many tiny records
  HelloAssembler a;
  State st = State::need_more;
  for (size_t i = 0; i < stream.size(); ++i) {
    ASSERT_EQ(st, State::need_more) << "finished early at byte " << i;
    st = a.feed(std::span<const uint8_t>(&stream[i], 1));
  }
  ASSERT_EQ(st, State::done) << to_string(a.error());
  EXPECT_EQ(a.hello().sni, "hotels.travel.test");
  EXPECT_EQ(a.raw(), stream);  // every byte kept for forwarding
}

TEST(DispatchParser, EveryTruncationNeedsMoreNeverParses) {
  Bytes stream = client_hello({.session_id = id32(1), .sni = "x.y", .versions = {0x0304}, .psk_ids = {id32(1)}}, 50);
  for (size_t n = 0; n < stream.size(); ++n) {
    HelloAssembler a;
    EXPECT_EQ(a.feed(std::span<const uint8_t>(stream.data(), n)), State::need_more) << "prefix " << n;
  }
}

TEST(DispatchParser, BytesAfterTheHelloAreKept) {
  Bytes stream = client_hello({.sni = "x.y"});
  Bytes extra{23, 3, 3, 0, 1, 0};
  Bytes all = stream;
  append(all, extra);
  HelloAssembler a;
  ASSERT_EQ(a.feed(all), State::done);
  EXPECT_EQ(a.raw(), all);
}

ParseError error_of(const Bytes& stream, size_t max = 32 * 1024) { return parse_client_hello_stream(stream, max).error; }

TEST(DispatchParser, NonTls) {
  std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(error_of(Bytes(http.begin(), http.end())), ParseError::not_tls);
  EXPECT_EQ(error_of(Bytes{0x80, 0x2e, 0x01, 0x03, 0x01}), ParseError::not_tls);  // SSLv2-style hello
  HelloAssembler a;
  EXPECT_EQ(a.feed(Bytes{'G'}), State::failed);  // refused at the first byte
}

TEST(DispatchParser, RecordLayerErrors) {
  Bytes good = client_hello({.sni = "a"});
  Bytes v = good;
  v[1] = 2;
  EXPECT_EQ(error_of(v), ParseError::bad_record_version);
  EXPECT_EQ(error_of(Bytes{22, 3, 1, 0, 0}), ParseError::bad_record_length);
  EXPECT_EQ(error_of(Bytes{22, 3, 1, 0x40, 0x01}), ParseError::bad_record_length);
  Bytes hs = handshake(hello_body({.sni = "a"}));
  hs[0] = 2;  // ServerHello
  EXPECT_EQ(error_of(records(hs)), ParseError::not_client_hello);
  // A second record that is an alert, before the hello is complete.
  Bytes split = client_hello({.sni = "abc"}, 20);
  Bytes first(split.begin(), split.begin() + 25);
  append(first, {21, 3, 3, 0, 2, 2, 40});
  EXPECT_EQ(error_of(first), ParseError::not_handshake);
}

TEST(DispatchParser, OversizedHelloRefusedFromItsHeader) {
  // 100 KB extension declared: refused as soon as the 4-byte handshake header arrives.
  Bytes stream = client_hello({.sni = "a", .padding_ext_bytes = 60000});
  EXPECT_EQ(error_of(stream), ParseError::hello_too_large);
  HelloAssembler a(1024);
  EXPECT_EQ(a.feed(std::span<const uint8_t>(stream.data(), 9)), State::failed);
  EXPECT_EQ(a.error(), ParseError::hello_too_large);
}

TEST(DispatchParser, BadLengths) {
  Bytes body = hello_body({.session_id = id32(1), .sni = "a"});
  // legacy_session_id length 33
  Bytes b = body;
  b[34] = 33;
  EXPECT_EQ(parse_client_hello_body(b).error, ParseError::bad_session_id);
  // odd cipher suite length
  b = body;
  b[35 + 32 + 1] = 3;
  EXPECT_EQ(parse_client_hello_body(b).error, ParseError::bad_length);
  // trailing garbage after the extensions block
  b = body;
  b.push_back(0);
  EXPECT_EQ(parse_client_hello_body(b).error, ParseError::bad_length);
  // extensions block claims more than there is
  b = body;
  size_t ext_len_off = 35 + 32 + 2 + 4 + 2;
  b[ext_len_off] = 0xff;
  EXPECT_EQ(parse_client_hello_body(b).error, ParseError::truncated);
  // every truncation of the body
  for (size_t n = 0; n < body.size(); ++n)
    if (n != ext_len_off) {  // ending right before the extensions block is a legal hello
      EXPECT_FALSE(parse_client_hello_body(std::span<const uint8_t>(body.data(), n)).ok()) << n;
    }
}

TEST(DispatchParser, ExtensionErrors) {
  Bytes body = hello_body({.sni = "a"});
  // duplicate SNI: append a second server_name extension and fix the block length
  Bytes dup = hello_body({});
  Bytes two = sni_ext("a");
  append(two, sni_ext("b"));
  dup.resize(dup.size() - 2);
  put16(dup, two.size());
  append(dup, two);
  EXPECT_EQ(parse_client_hello_body(dup).error, ParseError::duplicate_extension);

  EXPECT_EQ(parse_client_hello_body(hello_body({.sni = std::string("bad\x01name")})).error, ParseError::bad_sni);
  EXPECT_EQ(parse_client_hello_body(hello_body({.sni = std::string(256, 'a')})).error, ParseError::bad_sni);

  // pre_shared_key followed by another extension
  Bytes psk = hello_body({.versions = {0x0304}, .psk_ids = {id32(1)}});
  Bytes tail = ext(21, Bytes(2, 0));
  size_t off = 35 + 2 + 4 + 2;  // no legacy session id in this one
  size_t ext_block = psk.size() - off - 2;
  psk.insert(psk.end(), tail.begin(), tail.end());
  psk[off] = static_cast<uint8_t>((ext_block + tail.size()) >> 8);
  psk[off + 1] = static_cast<uint8_t>(ext_block + tail.size());
  EXPECT_EQ(parse_client_hello_body(psk).error, ParseError::bad_psk);

  // ALPN with an empty protocol name
  Bytes alpn = hello_body({});
  Bytes bad_alpn = ext(16, Bytes{0, 2, 0, 0});
  alpn.resize(alpn.size() - 2);
  put16(alpn, bad_alpn.size());
  append(alpn, bad_alpn);
  EXPECT_EQ(parse_client_hello_body(alpn).error, ParseError::bad_alpn);

  // supported_versions with an odd length
  Bytes ver = hello_body({});
  Bytes bad_ver = ext(43, Bytes{3, 3, 4, 3});
  ver.resize(ver.size() - 2);
  put16(ver, bad_ver.size());
  append(ver, bad_ver);
  EXPECT_EQ(parse_client_hello_body(ver).error, ParseError::bad_versions);
}

TEST(DispatchParser, ErrorNamesAreStable) {
  EXPECT_EQ(to_string(ParseError::truncated), "truncated");
  EXPECT_EQ(to_string(ParseError::bad_psk), "bad_psk");
  for (int i = 0; i < static_cast<int>(ParseError::count_); ++i)
    EXPECT_NE(to_string(static_cast<ParseError>(i)), "unknown");
}

// A real ClientHello from OpenSSL (memory BIO, no server), TLS 1.2..1.3 with SNI and ALPN.
TEST(DispatchParser, RealOpenSslClientHello) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  ASSERT_TRUE(ctx);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), rbio, wbio);
  SSL_set_tlsext_host_name(ssl.get(), "cars.travel.test");
  static const unsigned char protos[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_set_alpn_protos(ssl.get(), protos, sizeof protos);
  SSL_set_connect_state(ssl.get());
  EXPECT_LE(SSL_do_handshake(ssl.get()), 0);  // wants to read the ServerHello
  char* data = nullptr;
  long n = BIO_get_mem_data(wbio, &data);
  ASSERT_GT(n, 0);
  Bytes stream(data, data + n);
  auto r = parse_client_hello_stream(stream);
  ASSERT_TRUE(r.ok()) << to_string(r.error);
  EXPECT_EQ(r.hello.sni, "cars.travel.test");
  EXPECT_EQ(r.hello.alpn, std::vector<std::string>{"http/1.1"});
  EXPECT_TRUE(r.hello.offers_tls13());
  EXPECT_TRUE(r.hello.psk_identities.empty());
}

}  // namespace
}  // namespace sessnic::dispatch
