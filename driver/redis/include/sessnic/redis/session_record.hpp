// How a session entry looks in Redis.
//
// Key:   <prefix>s:<ctx, 2 hex>:<session id, hex>   e.g. sessnic:s:5e:03a1...
// Value: <version, 16 hex><kind: S session | T tombstone><flags, 2 hex><expiry, 8 hex><sealed blob>
//
// The version leads the value as fixed-width lower-case hex so the write script can
// compare versions as strings without decoding anything ("never overwrite a newer
// version"). The blob is the Sealer's AES-256-GCM output, bound to the id, ctx and expiry:
// Redis never sees a session secret, and a blob moved to another key does not open.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sessnic/device.hpp"

namespace sessnic::redis {

struct Record {
  uint64_t version = 0;  // the card's version (lamport << 8 | writer card)
  bool tombstone = false;
  uint8_t flags = 0;     // table flags (SINGLE_USE for TLS 1.3 tickets)
  uint32_t expiry = 0;   // absolute Unix seconds; also the Redis key's EXAT
  std::vector<uint8_t> blob;  // sealed; empty for a tombstone
};

std::string record_key(const std::string& prefix, const SessionKey& key);
std::string encode_record(const Record& r);
// nullopt when the value is not a record (counted by the caller as malformed).
std::optional<Record> decode_record(std::string_view value);

// True when `blob` has the shape of a Sealer v1 blob (format byte, header and tag): the
// store refuses anything else so raw DER can never reach Redis by mistake.
bool looks_sealed(std::span<const uint8_t> blob);

}  // namespace sessnic::redis
