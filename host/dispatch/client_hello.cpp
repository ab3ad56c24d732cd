#include "client_hello.hpp"

#include <algorithm>
#include <array>

namespace sessnic::dispatch {
namespace {

constexpr uint8_t kRecordHandshake = 22;
constexpr uint8_t kHandshakeClientHello = 1;
constexpr size_t kRecordHeader = 5;
constexpr size_t kHandshakeHeader = 4;
constexpr size_t kMaxRecordPlaintext = 1u << 14;

constexpr uint16_t kExtServerName = 0;
constexpr uint16_t kExtAlpn = 16;
constexpr uint16_t kExtPreSharedKey = 41;
constexpr uint16_t kExtSupportedVersions = 43;

// A cursor over a byte span; every read checks the remaining length first, so the
// parser never indexes past the message, whatever the declared lengths say.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  size_t left() const { return b_.size() - pos_; }
  bool empty() const { return left() == 0; }
  bool u8(uint8_t& v) {
    if (left() < 1) return false;
    v = b_[pos_++];
    return true;
  }
  bool u16(uint16_t& v) {
    if (left() < 2) return false;
    v = static_cast<uint16_t>(b_[pos_] << 8 | b_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32(uint32_t& v) {
    if (left() < 4) return false;
    v = static_cast<uint32_t>(b_[pos_]) << 24 | static_cast<uint32_t>(b_[pos_ + 1]) << 16 |
        static_cast<uint32_t>(b_[pos_ + 2]) << 8 | b_[pos_ + 3];
    pos_ += 4;
    return true;
  }
  bool bytes(size_t n, std::span<const uint8_t>& out) {
    if (left() < n) return false;
    out = b_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool skip(size_t n) {
    std::span<const uint8_t> ignored;
    return bytes(n, ignored);
  }

 private:
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

ParseError parse_sni(std::span<const uint8_t> data, ClientHello& h) {
  Reader r(data);
  uint16_t list_len = 0;
  std::span<const uint8_t> list;
  if (!r.u16(list_len) || !r.bytes(list_len, list)) return ParseError::bad_sni;
  if (!r.empty() || list_len == 0) return ParseError::bad_sni;
  Reader lr(list);
  bool have_host = false;
  while (!lr.empty()) {
    uint8_t type = 0;
    uint16_t len = 0;
    std::span<const uint8_t> name;
    if (!lr.u8(type) || !lr.u16(len) || !lr.bytes(len, name)) return ParseError::bad_sni;
    if (type != 0) continue;  // unknown name types are skipped (RFC 6066 allows others)
    if (have_host || len == 0 || len > 255) return ParseError::bad_sni;
    for (uint8_t c : name)
      if (c <= 0x20 || c >= 0x7f) return ParseError::bad_sni;
    h.sni.assign(name.begin(), name.end());
    std::transform(h.sni.begin(), h.sni.end(), h.sni.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
    have_host = true;
  }
  return ParseError::none;
}

ParseError parse_alpn(std::span<const uint8_t> data, ClientHello& h) {
  Reader r(data);
  uint16_t list_len = 0;
  std::span<const uint8_t> list;
  if (!r.u16(list_len) || !r.bytes(list_len, list) || !r.empty() || list_len < 2) return ParseError::bad_alpn;
  Reader lr(list);
  while (!lr.empty()) {
    uint8_t len = 0;
    std::span<const uint8_t> proto;
    if (!lr.u8(len) || len == 0 || !lr.bytes(len, proto)) return ParseError::bad_alpn;
    h.alpn.emplace_back(proto.begin(), proto.end());
  }
  return ParseError::none;
}

ParseError parse_versions(std::span<const uint8_t> data, ClientHello& h) {
  Reader r(data);
  uint8_t len = 0;
  if (!r.u8(len) || len < 2 || len % 2 != 0 || r.left() != len) return ParseError::bad_versions;
  while (!r.empty()) {
    uint16_t v = 0;
    r.u16(v);
    h.supported_versions.push_back(v);
  }
  return ParseError::none;
}

ParseError parse_psk(std::span<const uint8_t> data, ClientHello& h) {
  Reader r(data);
  uint16_t ids_len = 0;
  std::span<const uint8_t> ids;
  if (!r.u16(ids_len) || ids_len < 7 || !r.bytes(ids_len, ids)) return ParseError::bad_psk;
  Reader ir(ids);
  while (!ir.empty()) {
    uint16_t len = 0;
    std::span<const uint8_t> identity;
    uint32_t age = 0;
    if (!ir.u16(len) || len == 0 || !ir.bytes(len, identity) || !ir.u32(age)) return ParseError::bad_psk;
    h.psk_identities.emplace_back(identity.begin(), identity.end());
  }
  uint16_t binders_len = 0;
  std::span<const uint8_t> binders;
  if (!r.u16(binders_len) || binders_len < 33 || !r.bytes(binders_len, binders) || !r.empty())
    return ParseError::bad_psk;
  Reader br(binders);
  size_t n_binders = 0;
  while (!br.empty()) {
    uint8_t len = 0;
    if (!br.u8(len) || len < 32 || !br.skip(len)) return ParseError::bad_psk;
    ++n_binders;
  }
  if (n_binders != h.psk_identities.size()) return ParseError::bad_psk;
  return ParseError::none;
}

}  // namespace

std::string_view to_string(ParseError e) {
  static constexpr std::array<std::string_view, static_cast<size_t>(ParseError::count_)> names = {
      "none",         "not_tls",        "bad_record_version", "bad_record_length",   "not_handshake",
      "not_client_hello", "hello_too_large", "truncated",     "bad_length",          "bad_session_id",
      "duplicate_extension", "bad_sni",  "bad_alpn",          "bad_versions",        "bad_psk"};
  auto i = static_cast<size_t>(e);
  return i < names.size() ? names[i] : "unknown";
}

bool ClientHello::offers_tls13() const {
  return std::find(supported_versions.begin(), supported_versions.end(), 0x0304) != supported_versions.end();
}

std::optional<std::span<const uint8_t>> ClientHello::resumption_id(bool servers_accept_tls13) const {
  if (offers_tls13() && servers_accept_tls13) {
    // The server will negotiate 1.3, where a legacy session id cannot resume (RFC 8446
    // 4.1.2: it is a random compatibility value): only a PSK identity names a session.
    if (psk_identities.empty()) return std::nullopt;
    const auto& id = psk_identities.front();
    if (id.size() <= 32) return std::span<const uint8_t>(id);
    return std::nullopt;  // a stateless ticket: nothing a table could hold
  }
  // TLS 1.2 will be negotiated: a PSK identity is useless there, the legacy id is the session.
  if (!session_id.empty()) return std::span<const uint8_t>(session_id);
  return std::nullopt;
}

ParseResult parse_client_hello_body(std::span<const uint8_t> body) {
  ParseResult res;
  ClientHello& h = res.hello;
  auto fail = [&res](ParseError e) {
    res.error = e;
    res.hello = {};
    return res;
  };
  Reader r(body);
  uint8_t sid_len = 0;
  std::span<const uint8_t> sid;
  if (!r.u16(h.legacy_version) || !r.skip(32) || !r.u8(sid_len)) return fail(ParseError::truncated);
  if (sid_len > 32) return fail(ParseError::bad_session_id);
  if (!r.bytes(sid_len, sid)) return fail(ParseError::truncated);
  h.session_id.assign(sid.begin(), sid.end());

  uint16_t cs_len = 0;
  if (!r.u16(cs_len)) return fail(ParseError::truncated);
  if (cs_len < 2 || cs_len % 2 != 0) return fail(ParseError::bad_length);
  if (!r.skip(cs_len)) return fail(ParseError::truncated);
  uint8_t comp_len = 0;
  if (!r.u8(comp_len)) return fail(ParseError::truncated);
  if (comp_len < 1) return fail(ParseError::bad_length);
  if (!r.skip(comp_len)) return fail(ParseError::truncated);
  if (r.empty()) return res;  // no extensions at all: legal before TLS 1.3

  uint16_t ext_len = 0;
  std::span<const uint8_t> exts;
  if (!r.u16(ext_len) || !r.bytes(ext_len, exts)) return fail(ParseError::truncated);
  if (!r.empty()) return fail(ParseError::bad_length);

  Reader er(exts);
  std::vector<uint16_t> seen;
  bool psk_seen = false;
  while (!er.empty()) {
    uint16_t type = 0;
    uint16_t len = 0;
    std::span<const uint8_t> data;
    if (!er.u16(type) || !er.u16(len) || !er.bytes(len, data)) return fail(ParseError::truncated);
    if (psk_seen) return fail(ParseError::bad_psk);  // pre_shared_key must be last (RFC 8446 4.2.11)
    if (std::find(seen.begin(), seen.end(), type) != seen.end()) return fail(ParseError::duplicate_extension);
    seen.push_back(type);
    ParseError e = ParseError::none;
    switch (type) {
      case kExtServerName: e = parse_sni(data, h); break;
      case kExtAlpn: e = parse_alpn(data, h); break;
      case kExtSupportedVersions: e = parse_versions(data, h); break;
      case kExtPreSharedKey:
        e = parse_psk(data, h);
        psk_seen = true;
        break;
      default: break;
    }
    if (e != ParseError::none) return fail(e);
  }
  return res;
}

HelloAssembler::State HelloAssembler::fail(ParseError e) {
  result_.error = e;
  result_.hello = {};
  state_ = State::failed;
  return state_;
}

HelloAssembler::State HelloAssembler::feed(std::span<const uint8_t> bytes) {
  if (state_ != State::need_more) {
    // After the hello, bytes only accumulate for forwarding; the proxy stops feeding then.
    raw_.insert(raw_.end(), bytes.begin(), bytes.end());
    return state_;
  }
  raw_.insert(raw_.end(), bytes.begin(), bytes.end());
  return advance();
}

HelloAssembler::State HelloAssembler::advance() {
  while (true) {
    // Reject non-TLS as soon as the first byte is visible, not after a full header.
    if (parsed_ < raw_.size() && raw_[parsed_] != kRecordHandshake)
      return fail(parsed_ == 0 ? ParseError::not_tls : ParseError::not_handshake);
    if (raw_.size() - parsed_ >= 2 && raw_[parsed_ + 1] != 3) return fail(ParseError::bad_record_version);
    if (raw_.size() - parsed_ < kRecordHeader) return state_;
    const uint8_t* hdr = raw_.data() + parsed_;
    size_t rec_len = static_cast<size_t>(hdr[3]) << 8 | hdr[4];
    if (rec_len == 0 || rec_len > kMaxRecordPlaintext) return fail(ParseError::bad_record_length);

    // As soon as the handshake header is visible, check type and declared size so an
    // oversized hello is refused before we buffer it.
    auto check_header = [this]() -> bool {
      if (handshake_.size() >= 1 && handshake_[0] != kHandshakeClientHello) {
        fail(ParseError::not_client_hello);
        return false;
      }
      if (handshake_.size() >= kHandshakeHeader) {
        size_t len = static_cast<size_t>(handshake_[1]) << 16 | static_cast<size_t>(handshake_[2]) << 8 | handshake_[3];
        if (len > max_hello_) {
          fail(ParseError::hello_too_large);
          return false;
        }
      }
      return true;
    };

    size_t avail = raw_.size() - parsed_ - kRecordHeader;
    if (avail < rec_len) {
      // Partial record: peek at the handshake header early (only while it is still
      // incomplete, so byte-by-byte senders cost O(1) per byte), consuming nothing yet.
      if (handshake_.size() < kHandshakeHeader && avail > 0) {
        std::vector<uint8_t> saved = handshake_;
        size_t take = std::min(avail, kHandshakeHeader - handshake_.size());
        auto start = raw_.begin() + static_cast<ptrdiff_t>(parsed_ + kRecordHeader);
        handshake_.insert(handshake_.end(), start, start + static_cast<ptrdiff_t>(take));
        bool okh = check_header();
        handshake_.swap(saved);
        if (!okh) return state_;
      }
      return state_;
    }
    auto rec = std::span<const uint8_t>(raw_).subspan(parsed_ + kRecordHeader, rec_len);
    handshake_.insert(handshake_.end(), rec.begin(), rec.end());
    parsed_ += kRecordHeader + rec_len;
    if (!check_header()) return state_;
    if (handshake_.size() >= kHandshakeHeader) {
      size_t len = static_cast<size_t>(handshake_[1]) << 16 | static_cast<size_t>(handshake_[2]) << 8 | handshake_[3];
      if (handshake_.size() >= kHandshakeHeader + len) {
        // A second handshake message in the same flight would be a protocol error; we
        // only parse the first and forward everything unchanged.
        result_ = parse_client_hello_body(std::span<const uint8_t>(handshake_).subspan(kHandshakeHeader, len));
        if (!result_.ok()) return fail(result_.error);
        state_ = State::done;
        return state_;
      }
    }
  }
}

ParseResult parse_client_hello_stream(std::span<const uint8_t> stream, size_t max_hello_bytes) {
  HelloAssembler a(max_hello_bytes);
  auto st = a.feed(stream);
  ParseResult r;
  if (st == HelloAssembler::State::done) {
    r.hello = a.hello();
  } else if (st == HelloAssembler::State::failed) {
    r.error = a.error();
  } else {
    r.error = ParseError::truncated;
  }
  return r;
}

}  // namespace sessnic::dispatch
