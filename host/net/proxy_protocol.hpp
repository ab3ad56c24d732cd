// PROXY protocol version 2 (haproxy.org/download/2.0/doc/proxy-protocol.txt), binary form:
// the dispatcher prepends it so a server sees the real client address, and the server
// parses it before the TLS handshake. Only TCP over IPv4/IPv6 and LOCAL are produced or
// accepted. TLVs after the addresses are checked for framing (each must fit the block)
// and handed back as they are; the reader picks the types it knows (the spec: ignore the
// rest).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sessnic::proxy_v2 {

struct Address {
  bool ipv6 = false;
  std::array<uint8_t, 16> src{}, dst{};  // IPv4 uses the first 4 bytes
  uint16_t src_port = 0, dst_port = 0;
  std::string src_string() const;  // "1.2.3.4:5" / "[::1]:5"
};

inline constexpr size_t kHeaderFixed = 16;
inline constexpr size_t kMaxHeader = kHeaderFixed + 512;  // we refuse larger TLV blocks

// PP2_TYPE_MIN_CUSTOM .. PP2_TYPE_MAX_CUSTOM: types for an application's own TLVs.
inline constexpr uint8_t kTypeMinCustom = 0xE0, kTypeMaxCustom = 0xEF;

struct Tlv {
  uint8_t type = 0;
  std::vector<uint8_t> value;  // at most kMaxHeader bytes in all fit one header
  bool operator==(const Tlv&) const = default;
};

// `tlvs` follow the addresses (refused with std::length_error if the header would pass kMaxHeader).
std::vector<uint8_t> encode(const Address& a, std::span<const Tlv> tlvs = {});

enum class DecodeStatus { need_more, ok, local, bad };
struct Decoded {
  DecodeStatus status = DecodeStatus::need_more;
  size_t header_len = 0;  // bytes to strip when ok/local
  Address addr;
  std::vector<Tlv> tlvs;  // ok: the TLVs after the addresses, in order
  const Tlv* find(uint8_t type) const;
};
// Looks at the first bytes of a connection. need_more: fewer bytes than the header says.
Decoded decode(std::span<const uint8_t> data);

}  // namespace sessnic::proxy_v2
