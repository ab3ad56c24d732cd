// Builds syntactically valid (or deliberately broken) ClientHello byte streams for the
// parser tests and the fuzz seed corpus. Lengths are computed, never typed by hand, so a
// test that breaks one length breaks exactly that one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sessnic::dispatch::testing {

using Bytes = std::vector<uint8_t>;

inline void put16(Bytes& b, size_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put24(Bytes& b, size_t v) {
  b.push_back(static_cast<uint8_t>(v >> 16));
  put16(b, v & 0xffff);
}
inline void append(Bytes& b, const Bytes& x) { b.insert(b.end(), x.begin(), x.end()); }

struct HelloSpec {
  Bytes session_id;
  std::string sni;
  std::vector<std::string> alpn;
  std::vector<uint16_t> versions;   // supported_versions; empty = extension absent
  std::vector<Bytes> psk_ids;       // pre_shared_key identities; empty = absent
  size_t padding_ext_bytes = 0;     // an extra (ignored) extension of this size
};

inline Bytes ext(uint16_t type, const Bytes& data) {
  Bytes e;
  put16(e, type);
  put16(e, data.size());
  append(e, data);
  return e;
}

inline Bytes sni_ext(const std::string& name) {
  Bytes entry{0};
  put16(entry, name.size());
  entry.insert(entry.end(), name.begin(), name.end());
  Bytes d;
  put16(d, entry.size());
  append(d, entry);
  return ext(0, d);
}

inline Bytes hello_body(const HelloSpec& s) {
  Bytes b;
  put16(b, 0x0303);
  for (int i = 0; i < 32; ++i) b.push_back(static_cast<uint8_t>(i));
  b.push_back(static_cast<uint8_t>(s.session_id.size()));
  append(b, s.session_id);
  put16(b, 4);
  append(b, {0x13, 0x01, 0xc0, 0x2f});
  append(b, {1, 0});
  Bytes exts;
  if (!s.sni.empty()) append(exts, sni_ext(s.sni));
  if (!s.alpn.empty()) {
    Bytes list;
    for (auto& p : s.alpn) {
      list.push_back(static_cast<uint8_t>(p.size()));
      list.insert(list.end(), p.begin(), p.end());
    }
    Bytes d;
    put16(d, list.size());
    append(d, list);
    append(exts, ext(16, d));
  }
  if (s.padding_ext_bytes) append(exts, ext(21, Bytes(s.padding_ext_bytes, 0)));
  if (!s.versions.empty()) {
    Bytes d{static_cast<uint8_t>(s.versions.size() * 2)};
    for (auto v : s.versions) put16(d, v);
    append(exts, ext(43, d));
  }
  if (!s.psk_ids.empty()) {
    Bytes ids, binders;
    for (auto& id : s.psk_ids) {
      put16(ids, id.size());
      append(ids, id);
      append(ids, {0, 0, 0, 7});
      binders.push_back(32);
      append(binders, Bytes(32, 0xbb));
    }
    Bytes d;
    put16(d, ids.size());
    append(d, ids);
    put16(d, binders.size());
    append(d, binders);
    append(exts, ext(41, d));
  }
  put16(b, exts.size());
  append(b, exts);
  return b;
}

inline Bytes handshake(const Bytes& body) {
  Bytes h{1};
  put24(h, body.size());
  append(h, body);
  return h;
}

// Wraps a handshake message in TLS records of at most `fragment` bytes each.
inline Bytes records(const Bytes& hs, size_t fragment = 16384) {
  Bytes out;
  for (size_t off = 0; off < hs.size(); off += fragment) {
    size_t n = std::min(fragment, hs.size() - off);
    append(out, {22, 3, 1});
    put16(out, n);
    out.insert(out.end(), hs.begin() + static_cast<long>(off), hs.begin() + static_cast<long>(off + n));
  }
  return out;
}

inline Bytes client_hello(const HelloSpec& s, size_t fragment = 16384) { return records(handshake(hello_body(s)), fragment); }

}  // namespace sessnic::dispatch::testing
