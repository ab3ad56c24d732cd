// The one translation between driver structs and stream beats (layout `header` in
// spec/wire.toml). Every device uses it: the model device feeds the HLS kernel's
// hls::stream, the verilator device drives AXI-Stream beats into the RTL, the xrt
// device fills its host-memory command ring. Nothing else packs or parses beats.
#pragma once
#include <cstddef>
#include <span>
#include <vector>

#include "beat.hpp"
#include "hls_stream_shim.hpp"
#include "sessnic/device.hpp"

namespace sessnic::codec {

// Largest blob the header's 16-bit blob_len can describe. A device answers
// TOO_LARGE for longer blobs without sending anything (see encodable()).
inline constexpr std::size_t kMaxWireBlob = 0xFFFF;

// False when the command cannot be represented on the wire (blob longer than
// kMaxWireBlob). encode() must not be called for such a command.
bool encodable(const Command& cmd);

// Appends one command: a header beat, then ceil(blob/64) payload beats; TLAST on the last.
void encode(const Command& cmd, std::vector<Beat>& out);
// Same, written into an HLS stream (the model device's kernel input).
void encode(const Command& cmd, hls::stream<Beat>& out);

// Reassembles responses one beat at a time (how RTL and DMA rings deliver them).
// A response whose framing contradicts its header (TLAST early or late) or whose status
// is not a known value is delivered as status FAILED with an empty blob: garbage is
// never passed up as data.
class ResponseAssembler {
 public:
  // Feeds one beat. Returns true when a whole response is ready (then call take()).
  bool push(const Beat& beat);
  Response take();

  // The response being assembled. codec.cpp's one framing rule works on it, for this
  // class and for read_response().
  struct State {
    bool in_progress = false;
    bool corrupt = false;
    unsigned want_beats = 0;
    unsigned got_beats = 0;
    Response cur;
    bool ready = false;
  };

 private:
  State s_;
};

// Decodes exactly one response from `beats` (header + payload). FAILED on bad framing.
Response decode(std::span<const Beat> beats);
// Reads one whole response from an HLS stream. The stream must hold at least the
// header beat; payload beats are read until TLAST (a response never straddles calls).
Response read_response(hls::stream<Beat>& in);

// A local answer for a command that never reached the device (e.g. not encodable).
Response local_response(const Command& cmd, wire::Status status);

// STATS blob -> counters. All zero unless `r` is an OK STATS response of the right size.
TableStats decode_stats(const Response& r);

}  // namespace sessnic::codec
