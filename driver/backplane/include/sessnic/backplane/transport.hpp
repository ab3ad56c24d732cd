// How frames leave and enter a node: one authenticated frame per datagram.
// Implementations: UdpTransport (real sockets) and SimNetwork endpoints (in-process,
// lossy on purpose). receive() is called by the node thread only; send() by one thread
// at a time (the node thread, or a caller running a transfer or pull inline: the node
// hands the datagrams made meanwhile to that sender), never concurrently, in the order
// the card made the frames; wake() may be called from any thread.
#pragma once
#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "sessnic/backplane/latency_histogram.hpp"

namespace sessnic::backplane {

struct Datagram {
  uint8_t dst = 0;  // card id, or 255 = every peer
  std::vector<uint8_t> bytes;
  // Where to, instead of dst's node address: a route reply_route() gave (0: the node address).
  uint64_t route = 0;
  // Leaves from the direct port (has_direct()): its answer may come back to that port.
  bool direct = false;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual void send(std::span<const Datagram> batch) = 0;
  // Appends whatever arrived (at most `max` datagrams); waits up to `timeout` when
  // nothing is there yet, returns early on wake().
  virtual void receive(std::vector<std::vector<uint8_t>>& out, std::size_t max, std::chrono::microseconds timeout) = 0;
  virtual void wake() = 0;
  // Makes receive() return by host time `host_us` (host_time_us()) at the latest, without
  // waking it now; the earliest of several calls holds until forget_wake_at(). Any thread.
  // Default: wake() at once.
  virtual void wake_at(uint64_t host_us) {
    (void)host_us;
    wake();
  }
  // The pump, before it asks the card for its next deadline and sleeps: the times armed
  // so far are in that answer, so they are dropped (no wake-up for a timer that is gone).
  virtual void forget_wake_at() {}
  virtual uint64_t send_errors() const { return 0; }
  // How long received datagrams waited in the socket before receive() took them (kernel
  // receive timestamp to the read: softirq delay + the pump's wake-up); empty when the
  // transport cannot tell. Safe from any thread.
  virtual LatencyHistogram socket_wait() const { return {}; }

  // ---- Direct answers (docs/backplane.md, "The answer goes to the waiting thread") ----
  // A transport may have a second socket, the direct port, for frames a thread sends and
  // then waits for the answer of on its own thread: the peer answers a PULL to the port it
  // came from, the waiting thread reads it (receive_direct) and no pump wakes. The pump's
  // receive() takes what comes there too, but only while watch_direct(true) (no thread
  // waits on it); while it does not watch, a datagram there wakes nobody.
  virtual bool has_direct() const { return false; }
  // Any thread; true by default. Turning it on with datagrams waiting wakes receive().
  virtual void watch_direct(bool on) { (void)on; }
  // Non-blocking: appends what waits on the direct port (at most `max`). Any thread but the
  // pump's; never touches receive()'s state.
  virtual void receive_direct(std::vector<std::vector<uint8_t>>& out, std::size_t max) {
    (void)out;
    (void)max;
  }
  // Node thread, after receive(): a route for an answer to datagram `index` of the last
  // receive(), which authenticated as coming from card `src`: nonzero when it came from
  // another port of src's own address (its direct port), else 0 (answer the node address).
  virtual uint64_t reply_route(std::size_t index, uint8_t src) const {
    (void)index;
    (void)src;
    return 0;
  }
};

}  // namespace sessnic::backplane
