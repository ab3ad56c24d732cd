// The one ring driver (issue 12): host side of the command/response rings of
// spec/wire.toml [ring], over any RingBus. Used by the `xrt` device, the Verilator
// binding and the shared-memory card service, so the code tested against the RTL is
// the code that runs on a card.
//
//   RingDriver drv(bus, RingConfig{});          // programs the registers, resets, enables
//   drv.execute(cmds, out);                     // one Response per Command, in order
//
// What execute() does: formats each command as beats into consecutive command slots
// (wrapping), rings CMD_DOORBELL once per batch of slots written (coalesced), polls the
// status block, parses response slots back into Responses matched by tag, frees them
// with one RSP_DOORBELL write per poll, and waits (bounded) while the command ring is
// full. The card sees driver-assigned tags; callers get their own tags back.
// Failures are values, never hangs: a command whose answer does not come within
// RingConfig::timeout (no progress at all for that long) is answered FAILED and the ring
// is reset (recover()); a card reset the driver did not ask for (status block `resets`
// moved) fails the commands in flight with FAILED and the ring is re-initialised.
// Commands that cannot be sent (blob > SLOT_BYTES) are answered TOO_LARGE locally, as
// the table would. Not thread-safe: RingDevice adds the lock.
#pragma once
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "beat.hpp"
#include "sessnic/codec.hpp"
#include "sessnic/device.hpp"
#include "sessnic/ring/ring_bus.hpp"
#include "sessnic/ring/ring_layout.hpp"

namespace sessnic::ring {

struct RingConfig {
  RingLayout layout;
  // No progress (no response, no freed command slot) for this long = the card is stuck.
  std::chrono::milliseconds timeout{2000};
  // How long open waits for the engine to acknowledge a ring reset.
  std::chrono::milliseconds reset_timeout{2000};
  // Pin the exact BUILD_ID register value (0 = any build of this ring contract).
  uint32_t expected_build_id = 0;
};

// Counters of the host side (shown by `sessnic card info`).
struct RingCounters {
  uint64_t commands = 0;          // commands written to the command ring
  uint64_t responses = 0;         // responses matched to a command
  uint64_t cmd_doorbells = 0;     // CMD_DOORBELL writes (commands / doorbells = coalescing)
  uint64_t rsp_doorbells = 0;     // RSP_DOORBELL writes
  uint64_t ring_full_waits = 0;   // times a command waited for command slots
  uint64_t timeouts = 0;          // batches that timed out (commands answered FAILED)
  uint64_t failed_in_flight = 0;  // commands answered FAILED by a timeout or a card reset
  uint64_t card_resets = 0;       // card resets the driver saw but did not ask for
  uint64_t recoveries = 0;        // ring resets done by the driver (open excluded)
  uint64_t stray_responses = 0;   // responses whose tag matched nothing in flight (dropped)
  uint64_t bad_responses = 0;     // response headers with an impossible blob_len (ring reset)
};

// What the card says about itself and its rings (registers and status block).
struct RingState {
  uint32_t id = 0, version = 0, build_id = 0, card = 0, epoch = 0, table_status = 0;
  uint32_t ring_ctrl = 0, ring_status = 0;
  uint32_t cmd_head = 0, cmd_tail = 0, rsp_head = 0, rsp_tail = 0;  // card's view from registers
  uint32_t status_error = 0, status_bad_descs = 0, status_resets = 0;  // status block
};

class RingDriver {
 public:
  // Checks the ID and BUILD_ID registers, programs bases/sizes, resets the ring and
  // enables the engine. Throws std::runtime_error when the card is not a sessnic card,
  // its BUILD_ID speaks another ring contract (or is not the pinned one), or the engine
  // does not acknowledge the reset within reset_timeout.
  RingDriver(RingBus& bus, RingConfig config);
  ~RingDriver();
  RingDriver(const RingDriver&) = delete;
  RingDriver& operator=(const RingDriver&) = delete;

  // Appends one response per command to `out`, in order.
  void execute(std::span<const Command> cmds, std::vector<Response>& out);

  // Resets the card's rings and re-initialises the host side (indices back to 0).
  // Returns false when the engine did not acknowledge within reset_timeout.
  bool recover();

  RingState state();
  const RingCounters& counters() const { return counters_; }
  const RingConfig& config() const { return config_; }
  RingBus& bus() { return bus_; }

 private:
  struct Batch;
  struct Status {
    uint32_t cmd_head, rsp_tail, error, bad_descs, resets;
  };
  Status read_status();
  bool reset_ring();
  void write_slots(std::span<const Beat> beats);
  // Reads response slots up to rsp_tail, answers the batch's commands by tag, frees the
  // slots (one RSP_DOORBELL). False when the response stream cannot be framed.
  bool drain_responses(uint32_t rsp_tail, Batch& b);

  RingBus& bus_;
  RingConfig config_;
  RingCounters counters_;
  uint32_t cmd_tail_ = 0;   // next command slot the host writes
  uint32_t cmd_head_ = 0;   // last cmd_head seen in the status block
  uint32_t rsp_head_ = 0;   // next response slot the host reads
  uint32_t resets_seen_ = 0;
  uint32_t next_tag_ = 1;
  unsigned rsp_beats_left_ = 0;  // blob beats still due for the response being read
  bool needs_reset_ = false;     // the last recovery failed: retried before the next batch
  codec::ResponseAssembler assembler_;
  std::vector<Beat> scratch_;
};

}  // namespace sessnic::ring
