// One card's backplane on the host: a transport pump. It moves whole frames between the
// card's backplane ports (Device::backplane_ports(): the model device's HLS card top,
// the Verilated sessnic_top, ...) and a Transport (UDP or the simulated link), with the
// frame MAC (frame_auth.hpp) on the way. It has no protocol logic, no table access and
// no key index: replication, transfers, pulls and catch-up are the card's
// (docs/card.md).
//
//   auto dev = open_device(dc);
//   BackplaneNode node(cfg, *dev, std::make_unique<UdpTransport>(cfg));  // writes the card's registers
//   node.start();
//   dev->transfer(key, /*dest=*/3, /*owner=*/BROADCAST, 200us);           // a card command
//
// Threading: one pump thread (start()/stop()); with send_from_caller, a thread running a
// host command on the device sends the frames it made itself (serialized with the pump).
// stats(), peer_up() and wait_for_peers() are safe from any thread.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "sessnic/backplane/config.hpp"
#include "sessnic/backplane/frame_auth.hpp"
#include "sessnic/backplane/latency_histogram.hpp"
#include "sessnic/backplane/transport.hpp"
#include "sessnic/backplane_ports.hpp"
#include "sessnic/device.hpp"

namespace sessnic::backplane {

// Frame types as counted by NodeStats: index = wire::FrameType value; 0 collects types
// the card does not know (authentic but from a newer peer).
inline constexpr std::size_t kFrameTypeSlots = static_cast<std::size_t>(wire::FrameType::DIGEST) + 1;

struct PeerState {
  uint8_t card = 0;
  bool up = false;  // the card considers it up
};

struct NodeStats {
  uint8_t card_id = 0;
  Mode mode = Mode::replicate;
  std::vector<PeerState> peers;  // every configured peer
  std::array<uint64_t, wire::BP_STATS_COUNT> kernel{};  // bp_stats of the card
  uint64_t rx_datagrams = 0;
  uint64_t rx_truncated = 0;   // shorter than header + tag
  uint64_t rx_too_long = 0;    // longer than the MTU
  uint64_t rx_bad_mac = 0;     // forged, corrupted, or sent with another cluster key
  uint64_t rx_bad_length = 0;  // authentic but payload_len disagrees with the size
  uint64_t rx_refused = 0;     // authentic, but the card's frame input was full
  uint64_t tx_datagrams = 0;
  uint64_t tx_bytes = 0;  // datagram bytes handed to the transport (frames + tags)
  uint64_t tx_errors = 0;
  uint64_t catchup_pushed = 0;  // frames the card's catch-up walks queued (bp_stats)
  uint64_t pump_sleeps = 0;     // times the pump thread went idle (slept in the transport)
  uint64_t caller_sends = 0;    // batches of frames sent by the thread of a host command (send_from_caller)
  // Direct answers (NodeConfig::direct_answers): datagrams a waiting thread read off the
  // direct port itself (Device::direct_wait; the rejected ones count in rx_bad_mac & co.),
  // and PULL_RESPs this node sent to the port their PULL came from.
  uint64_t rx_direct = 0;
  uint64_t tx_routed = 0;
  // Pure acks held back (NodeConfig::ack_delay): replaced by a later frame to the same peer
  // (never sent), or sent when their delay ran out.
  uint64_t acks_superseded = 0;
  uint64_t acks_delayed_sent = 0;
  // Frames by type (index: wire::FrameType): sent = every frame handed to the transport
  // (retransmits and acks included); received = authenticated frames given to the card.
  std::array<uint64_t, kFrameTypeSlots> tx_frames_by_type{};
  std::array<uint64_t, kFrameTypeSlots> rx_frames_by_type{};
  // The hop model (docs/backplane.md, "Latency"): where a frame's time goes on this node.
  LatencyHistogram socket_wait;  // arrived in the socket -> the pump read it (transport's stamp)
  LatencyHistogram turnaround;   // the pump read datagrams -> it sent the frames they caused
  LatencyHistogram handoff;      // a host command put a frame out -> the pump sent it
  uint64_t operator[](wire::BpStatsIndex i) const { return kernel[i]; }
  uint64_t rx_rejected() const { return rx_truncated + rx_too_long + rx_bad_mac + rx_bad_length; }
  std::size_t peers_up() const;
};

// The card registers a node config asks for (epoch already resolved).
CardRegisters card_registers(const NodeConfig& cfg, uint32_t epoch);

class BackplaneNode {
 public:
  // Writes the card's registers (card id, mode, hub, members, epoch, timers). Throws
  // std::invalid_argument for a bad config (card 255, hub card not a member...) or a
  // device without backplane ports.
  BackplaneNode(const NodeConfig& cfg, Device& card, std::unique_ptr<Transport> transport);
  ~BackplaneNode();  // stops the thread
  BackplaneNode(const BackplaneNode&) = delete;
  BackplaneNode& operator=(const BackplaneNode&) = delete;

  void start();
  void stop();  // idempotent

  uint8_t card_id() const { return cfg_.card_id; }
  Mode mode() const { return cfg_.mode; }
  uint8_t hub_card() const { return cfg_.hub_card; }
  uint32_t epoch() const { return epoch_; }

  bool peer_up(uint8_t card) const;
  // Waits until every configured peer is up on the card (true) or the deadline passes.
  bool wait_for_peers(std::chrono::milliseconds deadline) const;
  NodeStats stats() const;

 private:
  void run();
  // `hold_acks`: a caller may hold pure acks too (it then arms the pump's wake-up for them).
  std::size_t pump_out(std::vector<Datagram>& outbound, bool from_caller = false, bool hold_acks = false);
  static constexpr std::size_t kNotReceived = ~std::size_t{0};
  bool deliver(const std::vector<uint8_t>& datagram, FrameAuth& auth, std::vector<Beat>& beats, std::size_t index);
  void learn_route(const Beat& pull, uint64_t route);
  void claim_direct(bool on);
  bool poll_direct();
  std::chrono::microseconds idle_wait() const;
  // pump_out's half for pure acks: true when `frame` (to `dst`) is one and was held.
  bool hold_ack(const std::vector<Beat>& frame, uint8_t dst, uint64_t now, bool may_hold);
  void release_acks(std::vector<Datagram>& outbound, uint64_t now);

  NodeConfig cfg_;
  BackplanePorts* ports_;
  uint32_t epoch_;
  std::unique_ptr<Transport> transport_;
  struct Counters;
  std::unique_ptr<Counters> counters_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

// Epoch for a (re)started process: 100 ms units of the wall clock since 2025-01-01.
uint32_t epoch_from_clock();

}  // namespace sessnic::backplane
