// A card's backplane ports as the host sees them: whole frames out of the card's
// frame_out port, whole frames into its frame_in port, and time. The host's backplane
// (driver/backplane, BackplaneNode) is only a transport pump between these ports and
// UDP; every protocol rule runs on the card (hls/card_top.hpp, rtl/sessnic_top.sv).
//
// Devices are internally synchronized: execute() from many threads and the pump thread
// may call in at once.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "beat.hpp"
#include "card_registers.hpp"
#include "wire/sessnic_wire.hpp"

namespace sessnic {

// What the pump reports: the card's bp_stats and which peers it considers up.
struct CardStatus {
  std::array<uint64_t, wire::BP_STATS_COUNT> bp_stats{};
  std::array<bool, 256> peer_up{};
};

class BackplanePorts {
 public:
  virtual ~BackplanePorts() = default;
  // One whole frame the card put on its frame_out port (beats through TLAST); false if none.
  virtual bool take_frame(std::vector<Beat>& frame) = 0;
  // Hands one whole received, authenticated frame to the card's frame_in port.
  // false = the card cannot accept it now (the pump counts a drop; the protocol resends).
  virtual bool give_frame(std::span<const Beat> frame) = 0;
  // Lets the card run its timers/work up to host time `now_us`; true if it did any work.
  virtual bool service(uint64_t now_us) = 0;

  // Optional parts (defaults: not supported).
  // Writes the register set (a restart: sync state reset, table kept). False = the
  // device takes its registers from elsewhere.
  virtual bool write_registers(const CardRegisters&) { return false; }
  // Reads counters and peer liveness; false = not available.
  virtual bool read_status(CardStatus&) { return false; }
  // `wake` is called (from any thread, possibly under the device's lock: it must only
  // signal) when frame_out got a frame outside service() - or the card's next deadline
  // moved earlier (next_deadline_us()) - so the pump need not poll. Frames service()
  // made need no wake (the pump takes frame_out's frames after each service()), nor do
  // a host command's that only find those.
  virtual void on_frame_ready(std::function<void()> wake) { (void)wake; }
  // `wake_at(host_us)` (same rules as `wake`) arms a timer that wakes the pump at that host
  // time, without waking it now. A device uses it, when set, instead of `wake` for a
  // host command that only moved its next deadline earlier (no frame out, nothing to
  // deliver): a pull or transfer whose frames left from the caller's thread arms its
  // retransmit timer, which needs the pump in milliseconds, not at once - and the
  // pump's wake-up at once would take a core from the very peers that answer the pull.
  virtual void on_wake_at(std::function<void(uint64_t)> wake_at) { (void)wake_at; }
  // `send` takes every frame on frame_out and transmits it (it calls take_frame). A device
  // that supports it calls `send` from the thread of a host command that left frames on
  // frame_out, outside its lock, instead of the wake: the frame leaves without a hand-off
  // to the pump thread. Passing null waits for calls in progress to return, so the
  // callee can be destroyed afterwards. Default: not supported (the pump is woken).
  virtual void on_frames_out(std::function<void()> send) { (void)send; }
  // Direct answers (Device::direct_wait; docs/backplane.md, "The answer goes to the waiting
  // thread"). `claim(true)`: the calling thread is about to run host commands whose answers
  // it waits for on its own thread; until its `claim(false)` the frames it sends leave from
  // the transport's direct port, which the pump does not watch meanwhile, so the peer's
  // answer wakes no pump. `poll()` (the claiming thread) takes what came to that port and
  // hands it to the card the way the pump does (MAC check, frame_in, service(), frames
  // out): true if it took anything. Both null: unsupported (passing null waits for
  // direct waits in progress to end). Default: not supported.
  virtual void on_direct(std::function<void(bool)> claim, std::function<bool()> poll) {
    (void)claim;
    (void)poll;
  }
  // Host time (us, as service()) by which service() must run again when no frame
  // arrives: the card's earliest timer (retransmit, HELLO, request deadline; now while
  // it has background work it can do). Asked after service(), so the pump can sleep until
  // then. A device that answers must also call the on_frame_ready() wake (or, when set,
  // on_wake_at() with the new deadline) when a host command moves its deadline earlier
  // than its last answer (an armed timer without a frame out). nullopt = the device
  // cannot tell: the pump polls.
  virtual std::optional<uint64_t> next_deadline_us() { return std::nullopt; }
};

// Host time for service(): microseconds of the steady clock.
uint64_t host_time_us();

}  // namespace sessnic
