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
};

}  // namespace sessnic::backplane
