// Strict, bounds-checked TLS ClientHello parser and the record reassembler that feeds it.
//
// The dispatcher reads only what it needs to route and to move a session: SNI, the legacy
// session id (TLS 1.2 resumption), the TLS 1.3 PSK identities (with OpenSSL's stateful
// tickets the identity *is* the session id), ALPN and supported_versions. Every length is
// checked against the bytes that are really there; anything malformed is a ParseError with a
// stable name that the metrics count by reason. Nothing here allocates more than the limit
// the caller sets, so a hostile peer cannot make the proxy buffer without bound.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sessnic::dispatch {

enum class ParseError : uint8_t {
  none = 0,
  not_tls,             // first byte is not a TLS handshake record (plain HTTP, SSLv2, junk)
  bad_record_version,  // record major version is not 3
  bad_record_length,   // record length 0 or above 2^14 (RFC 8446 5.1)
  not_handshake,       // a non-handshake record arrived before the hello was complete
  not_client_hello,    // first handshake message is not a ClientHello
  hello_too_large,     // declared hello length above the configured limit
  truncated,           // a field runs past the end of the message
  bad_length,          // a declared length is inconsistent (odd, zero where forbidden, trailing bytes)
  bad_session_id,      // legacy_session_id longer than 32 bytes
  duplicate_extension, // the same extension type twice (RFC 8446 4.2)
  bad_sni,             // malformed server_name (type, empty, too long, non-printable)
  bad_alpn,            // malformed ALPN list
  bad_versions,        // malformed supported_versions
  bad_psk,             // malformed pre_shared_key or not the last extension
  count_
};

// Stable metric/log name of an error ("truncated", "bad_sni", ...).
std::string_view to_string(ParseError e);

struct ClientHello {
  uint16_t legacy_version = 0;
  std::vector<uint8_t> session_id;              // legacy_session_id, 0..32 bytes
  std::string sni;                              // host_name, empty if absent
  std::vector<std::string> alpn;                // offered protocols in order
  std::vector<uint16_t> supported_versions;     // empty if the extension is absent
  std::vector<std::vector<uint8_t>> psk_identities;

  bool offers_tls13() const;
  // The session the client wants to resume, if any. When the hello offers TLS 1.3 and the
  // servers accept 1.3, 1.3 will be negotiated and only the first PSK identity names a
  // session (with OpenSSL's stateful tickets the identity *is* the session id); the
  // legacy_session_id is then a random compatibility value. Otherwise (a 1.2-only hello,
  // or servers capped at TLS 1.2) the non-empty legacy session id is the session.
  // Only ids of 1..32 bytes qualify: longer identities are stateless tickets that no
  // session table holds.
  std::optional<std::span<const uint8_t>> resumption_id(bool servers_accept_tls13 = true) const;
};

struct ParseResult {
  ParseError error = ParseError::none;
  ClientHello hello;
  bool ok() const { return error == ParseError::none; }
};

// Parses one complete ClientHello handshake *body* (after the 4-byte handshake header).
ParseResult parse_client_hello_body(std::span<const uint8_t> body);

// Accumulates bytes as they arrive from the socket (any segmentation), reassembles the
// handshake message across TLS records, and parses the hello once it is complete. Every
// byte fed is kept in raw() so the proxy can forward the stream unchanged.
class HelloAssembler {
 public:
  enum class State : uint8_t { need_more, done, failed };

  explicit HelloAssembler(size_t max_hello_bytes = 32 * 1024) : max_hello_(max_hello_bytes) {}

  State feed(std::span<const uint8_t> bytes);
  State state() const { return state_; }
  ParseError error() const { return result_.error; }
  const ClientHello& hello() const { return result_.hello; }
  const std::vector<uint8_t>& raw() const { return raw_; }

 private:
  State fail(ParseError e);
  State advance();

  size_t max_hello_;
  std::vector<uint8_t> raw_;        // every byte received, forwarded later as is
  size_t parsed_ = 0;               // offset in raw_ of the next unread record header
  std::vector<uint8_t> handshake_;  // concatenated handshake fragments
  State state_ = State::need_more;
  ParseResult result_;
};

// Convenience for tests and the fuzzer: the whole byte stream at once.
ParseResult parse_client_hello_stream(std::span<const uint8_t> stream, size_t max_hello_bytes = 32 * 1024);

}  // namespace sessnic::dispatch
