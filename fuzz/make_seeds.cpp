// Regenerates the ClientHello seed corpus in fuzz/corpus (checked in). Names say what each
// seed must produce: ok-*, more-* (incomplete), err-<reason>.* (see tests/dispatch/corpus_test.cpp).
//   g++ -std=c++20 -I tests/dispatch fuzz/make_seeds.cpp -o /tmp/make_seeds && /tmp/make_seeds fuzz/corpus
#include <fstream>
#include <string>

#include "hello_builder.hpp"

using namespace sessnic::dispatch::testing;

static void write(const std::string& dir, const std::string& name, const Bytes& b) {
  std::ofstream(dir + "/" + name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<long>(b.size()));
}

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "fuzz/corpus";
  Bytes sid(32, 0x11);
  sid[0] = 1;
  write(dir, "ok-tls12-session.bin", client_hello({.session_id = sid, .sni = "flights.travel.test", .alpn = {"http/1.1"}}));
  write(dir, "ok-tls13-psk.bin", client_hello({.session_id = Bytes(32, 9), .sni = "cars.travel.test", .alpn = {"h2", "http/1.1"},
                                                .versions = {0x0304, 0x0303}, .psk_ids = {sid}}));
  write(dir, "ok-multirecord.bin", client_hello({.sni = "hotels.travel.test", .versions = {0x0304}, .padding_ext_bytes = 2000}, 100));
  write(dir, "ok-no-extensions.bin", [] {
    Bytes b;
    put16(b, 0x0303);
    b.insert(b.end(), 32, 0);
    b.push_back(0);
    put16(b, 2);
    append(b, {0x00, 0x2f, 1, 0});
    return records(handshake(b));
  }());
  write(dir, "ok-big-hello.bin", client_hello({.sni = "big.test", .padding_ext_bytes = 20000}));
  Bytes full = client_hello({.sni = "x.test", .versions = {0x0304}, .psk_ids = {sid}});
  write(dir, "more-half.bin", Bytes(full.begin(), full.begin() + static_cast<long>(full.size() / 2)));
  write(dir, "more-header-only.bin", Bytes(full.begin(), full.begin() + 5));
  std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  write(dir, "err-not_tls.http.bin", Bytes(http.begin(), http.end()));
  write(dir, "err-bad_record_length.zero.bin", Bytes{22, 3, 1, 0, 0});
  write(dir, "err-bad_record_length.huge.bin", Bytes{22, 3, 1, 0xff, 0xff, 1});
  // Only the start: the declared 60 KB length is refused from the handshake header.
  Bytes huge = client_hello({.sni = "a", .padding_ext_bytes = 60000});
  write(dir, "err-hello_too_large.bin", Bytes(huge.begin(), huge.begin() + 200));
  Bytes body = hello_body({.session_id = sid, .sni = "a"});
  Bytes b = body;
  b[34] = 33;
  write(dir, "err-bad_session_id.bin", records(handshake(b)));
  b = body;
  b.push_back(0);
  write(dir, "err-bad_length.trailing.bin", records(handshake(b)));
  b = body;
  b[35 + 32 + 2 + 4 + 2] = 0xff;
  write(dir, "err-truncated.extlen.bin", records(handshake(b)));
  write(dir, "err-bad_sni.bin", client_hello({.sni = std::string("a\x01z")}));
  Bytes hs = handshake(body);
  hs[0] = 2;
  write(dir, "err-not_client_hello.bin", records(hs));
  return 0;
}
