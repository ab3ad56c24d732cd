// The card side of the ring descriptors: checks one command message read from a command
// ring (slots written by an untrusted process) and turns it into a Command; turns a
// Response into the beats of the response ring. The host side uses codec.hpp, the
// translation every device shares.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "beat.hpp"
#include "sessnic/device.hpp"

namespace sessnic::shm {

// Why a message was answered BAD_CMD without reaching the table.
enum class DescriptorError {
  none,
  opcode,      // unknown opcode
  key_len,     // 0 for an opcode that needs a key, or > KEY_MAX_BYTES
  blob_len,    // blob_len > SLOT_BYTES
  truncated,   // the message runs past cmd_tail
  privileged,  // SET_TIME, FLUSH, TRANSFER: the card service's own, not a client's
};
const char* to_string(DescriptorError e);

// Number of slots (header + blob beats) the message starting with `header` occupies.
uint32_t message_slots(const Beat& header);

// Checks a header beat; `available` = slots between this header and cmd_tail.
DescriptorError check_command(const Beat& header, uint32_t available);

// Decodes a checked message (header + its blob beats).
Command decode_command(const Beat& header, std::span<const Beat> blob_beats);

// The BAD_CMD answer to a refused message: its header echoed (tag, op, key) with the status.
Response refused(const Beat& header);

// Appends the beats of one response (header, then ceil(blob/64) blob beats). A blob
// longer than SLOT_BYTES is never sent (the response becomes FAILED without blob), so a
// response never needs more than kMaxResponseSlots slots.
void encode_response(const Response& r, std::vector<Beat>& out);

}  // namespace sessnic::shm
