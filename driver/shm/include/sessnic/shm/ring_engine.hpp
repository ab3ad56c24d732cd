// The soft card's ring engine: the card side of one client's command/response rings,
// doing in software what the hardware ring engine (rtl/host_if) does over AXI. It
// consumes whole messages between its cmd_head and the client's CMD_DOORBELL, runs them
// on the card (one Device::execute per batch), writes the responses into the response
// ring, then the status block (cmd_head, rsp_tail, error).
//
// The window is written by another process that may be buggy, malicious or killed
// mid-write: the engine keeps its own copy of every index, reads each slot once into
// private memory before checking it, answers a bad message BAD_CMD (tag echoed) and
// skips it, ignores out-of-range doorbell values (error code in the status block), and
// only starts a message when a largest response fits. Nothing the client writes can
// make it read or write outside the window, block, or touch another client's rings.
#pragma once
#include <atomic>
#include <cstdint>
#include <vector>

#include "beat.hpp"
#include "sessnic/device.hpp"
#include "sessnic/shm/ring_layout.hpp"

namespace sessnic::shm {

struct EngineCounters {
  std::atomic<uint64_t> commands{0};         // messages answered (BAD_CMD included)
  std::atomic<uint64_t> batches{0};          // Device::execute calls
  std::atomic<uint64_t> bad_descriptors{0};  // messages answered BAD_CMD by the engine
  std::atomic<uint64_t> doorbell_errors{0};  // out-of-range doorbell values ignored
};

class RingEngine {
 public:
  // Initializes the register page of `window` (geometry.bytes() bytes): magic, layout
  // version, ring sizes, card id, all indices 0. `counters` may be shared by engines.
  RingEngine(void* window, RingGeometry geometry, Device& card, uint8_t card_id, EngineCounters& counters);

  // Serves what the client has posted. Returns the number of messages answered (0: no
  // work, or no response space until the client frees some). The caller signals the
  // client's completion eventfd when it returns > 0.
  std::size_t run_once();

 private:
  Beat read_slot(uint32_t index) const;
  void write_slot(uint32_t index, const Beat& b);
  void publish();

  char* base_;
  RingGeometry g_;
  Device& card_;
  EngineCounters& counters_;
  uint32_t cmd_head_ = 0;  // the engine's own indices: never read back from the window
  uint32_t rsp_tail_ = 0;
  uint32_t error_ = 0;
  std::vector<Command> batch_;
  std::vector<Response> results_;
  std::vector<Beat> beats_;
};

}  // namespace sessnic::shm
