#include "proxy_protocol.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <array>
#include <cstring>
#include <stdexcept>

namespace sessnic::proxy_v2 {
namespace {
constexpr std::array<uint8_t, 12> kSignature = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
constexpr uint8_t kVersion2Proxy = 0x21;
constexpr uint8_t kVersion2Local = 0x20;
constexpr uint8_t kTcp4 = 0x11;
constexpr uint8_t kTcp6 = 0x21;

Decoded bad() {
  Decoded d;
  d.status = DecodeStatus::bad;
  return d;
}
}  // namespace

std::string Address::src_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(ipv6 ? AF_INET6 : AF_INET, src.data(), buf, sizeof buf);
  return ipv6 ? fmt::format("[{}]:{}", buf, src_port) : fmt::format("{}:{}", buf, src_port);
}

const Tlv* Decoded::find(uint8_t type) const {
  for (const Tlv& t : tlvs)
    if (t.type == type) return &t;
  return nullptr;
}

std::vector<uint8_t> encode(const Address& a, std::span<const Tlv> tlvs) {
  std::vector<uint8_t> h(kSignature.begin(), kSignature.end());
  h.push_back(kVersion2Proxy);
  h.push_back(a.ipv6 ? kTcp6 : kTcp4);
  size_t alen = a.ipv6 ? 36 : 12;
  for (const Tlv& t : tlvs) alen += 3 + t.value.size();
  if (kHeaderFixed + alen > kMaxHeader) throw std::length_error("PROXY v2 header: TLVs too large");
  h.push_back(static_cast<uint8_t>(alen >> 8));
  h.push_back(static_cast<uint8_t>(alen));
  size_t n = a.ipv6 ? 16 : 4;
  h.insert(h.end(), a.src.begin(), a.src.begin() + static_cast<long>(n));
  h.insert(h.end(), a.dst.begin(), a.dst.begin() + static_cast<long>(n));
  for (uint16_t p : {a.src_port, a.dst_port}) {
    h.push_back(static_cast<uint8_t>(p >> 8));
    h.push_back(static_cast<uint8_t>(p));
  }
  for (const Tlv& t : tlvs) {
    h.push_back(t.type);
    h.push_back(static_cast<uint8_t>(t.value.size() >> 8));
    h.push_back(static_cast<uint8_t>(t.value.size()));
    h.insert(h.end(), t.value.begin(), t.value.end());
  }
  return h;
}

Decoded decode(std::span<const uint8_t> data) {
  Decoded d;
  size_t sig = std::min(data.size(), kSignature.size());
  if (std::memcmp(data.data(), kSignature.data(), sig) != 0) return bad();
  if (data.size() < kHeaderFixed) return d;
  uint8_t ver_cmd = data[12], fam = data[13];
  size_t len = static_cast<size_t>(data[14]) << 8 | data[15];
  if ((ver_cmd != kVersion2Proxy && ver_cmd != kVersion2Local) || kHeaderFixed + len > kMaxHeader)
    return bad();
  if (data.size() < kHeaderFixed + len) return d;
  d.header_len = kHeaderFixed + len;
  if (ver_cmd == kVersion2Local) {
    d.status = DecodeStatus::local;
    return d;
  }
  auto body = data.subspan(kHeaderFixed, len);
  size_t addr_len = 0;
  if (fam == kTcp4 && len >= 12) {
    addr_len = 12;
    std::memcpy(d.addr.src.data(), body.data(), 4);
    std::memcpy(d.addr.dst.data(), body.data() + 4, 4);
    d.addr.src_port = static_cast<uint16_t>(body[8] << 8 | body[9]);
    d.addr.dst_port = static_cast<uint16_t>(body[10] << 8 | body[11]);
  } else if (fam == kTcp6 && len >= 36) {
    addr_len = 36;
    d.addr.ipv6 = true;
    std::memcpy(d.addr.src.data(), body.data(), 16);
    std::memcpy(d.addr.dst.data(), body.data() + 16, 16);
    d.addr.src_port = static_cast<uint16_t>(body[32] << 8 | body[33]);
    d.addr.dst_port = static_cast<uint16_t>(body[34] << 8 | body[35]);
  } else {
    return bad();
  }
  // TLVs: type, 16-bit length, value; one that runs past the block makes the header bad.
  for (auto rest = body.subspan(addr_len); !rest.empty();) {
    if (rest.size() < 3) return bad();
    const size_t n = static_cast<size_t>(rest[1]) << 8 | rest[2];
    if (3 + n > rest.size()) return bad();
    d.tlvs.push_back(Tlv{rest[0], std::vector<uint8_t>(rest.begin() + 3, rest.begin() + 3 + static_cast<long>(n))});
    rest = rest.subspan(3 + n);
  }
  d.status = DecodeStatus::ok;
  return d;
}

}  // namespace sessnic::proxy_v2
