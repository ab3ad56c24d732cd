// The host side of one pair of host rings (ring contract): formats commands into the
// command ring (wrapping), rings CMD_DOORBELL (one coalesced write per batch, then the
// doorbell eventfd), waits for the status block's rsp_tail (short spin, then the
// completion eventfd), parses responses back (tags matched in order) and frees their
// slots with RSP_DOORBELL. It keeps at most as many commands in flight as the response
// ring can answer, so the card never stalls on response space.
//
// This is the minimal ring client of the card service; the one ring driver (driver/ring,
// issue 12) is its successor and the card service is meant to move onto it.
#pragma once
#include <chrono>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include "beat.hpp"
#include "sessnic/device.hpp"
#include "sessnic/shm/ring_layout.hpp"

namespace sessnic::shm {

// The rings can no longer be trusted (card timed out, hung up, or answered out of order).
class RingFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RingClient {
 public:
  // `window` holds a register page initialised by the card (magic and geometry checked:
  // throws RingFailure). `hangup_fd` (the attach socket, or -1) is watched while waiting:
  // readable or closed means the card is gone.
  RingClient(void* window, std::size_t window_bytes, int doorbell_fd, int completion_fd, int hangup_fd);

  // Runs `cmds` in order and appends one response per command to `out`. A command the
  // wire cannot carry (blob longer than SLOT_BYTES) is answered TOO_LARGE locally, as the
  // card would. Throws RingFailure (and appends nothing) when the card does not answer
  // within `timeout` or goes away; the rings are then unusable.
  void execute(std::span<const Command> cmds, std::vector<Response>& out, std::chrono::milliseconds timeout);

  const RingGeometry& geometry() const { return g_; }
  uint32_t error_code() const;  // RING_STATUS.error as last published by the card

 private:
  void write_slot(uint32_t index, const Beat& b);
  Beat read_slot(uint32_t index) const;
  uint32_t wait_rsp_tail(std::chrono::steady_clock::time_point deadline);

  char* base_;
  RingGeometry g_;
  int doorbell_fd_, completion_fd_, hangup_fd_;
  uint32_t cmd_tail_ = 0;
  uint32_t rsp_head_ = 0;
  uint32_t next_tag_ = 1;
  std::vector<Beat> beats_;
};

}  // namespace sessnic::shm
