// What the server decided, read from its first flight as it passes through the proxy:
// the negotiated TLS version and whether the handshake is a resumption. The ServerHello
// is the only plaintext message that says so: for TLS 1.3 the `supported_versions` and
// `pre_shared_key` extensions (a selected PSK = resumed), for TLS 1.2 the session id
// echoed back (RFC 5246 7.4.1.3: the same id as the client offered = resumed).
// Bounded: it looks at the first handshake message only (at most 64 KiB) and gives up on
// anything else (alerts, HelloRetryRequest, garbage) without touching the stream.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace sessnic::dispatch {

class ServerHelloReader {
 public:
  enum class Kind : uint8_t { unknown, full, resumed };

  // `offered_session_id`: the client's legacy_session_id (the TLS 1.2 resumption test).
  explicit ServerHelloReader(std::vector<uint8_t> offered_session_id) : offered_(std::move(offered_session_id)) {}

  // Feeds server-to-client bytes in order; returns true while it wants more.
  bool feed(std::span<const uint8_t> bytes);
  bool done() const { return done_; }
  Kind kind() const { return kind_; }
  std::string_view version() const { return version_; }  // "1.2", "1.3" or "-"

 private:
  void parse(std::span<const uint8_t> body);
  std::vector<uint8_t> offered_;
  std::vector<uint8_t> records_;    // raw bytes seen so far
  std::vector<uint8_t> handshake_;  // handshake fragments, records stripped
  size_t parsed_ = 0;
  bool done_ = false;
  Kind kind_ = Kind::unknown;
  std::string_view version_ = "-";
};

std::string_view to_string(ServerHelloReader::Kind k);

}  // namespace sessnic::dispatch
