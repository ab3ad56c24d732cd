// One card's backplane engine in software: the backplane_sync HLS kernel run
// in-process on a background thread, bound to the card's local Device (the table) and
// to a Transport (UDP or the simulated link).
//
//   BackplaneNode node(cfg, &local_device, std::make_unique<UdpTransport>(cfg));
//   node.start();
//   node.transfer(key, node.card_id(), 3, 200us);    // move a session to card 3
//
// Incoming entries are applied with Device::execute (PUT/DEL carrying the writer's
// version, so the table's last-writer-wins decides); TRANSFER exports with EXPORT. A
// node without a table (local == nullptr, e.g. the dispatcher) only relays requests.
//
// Threading (what really happens): every public member is safe from any thread. One
// mutex (the kernel lock) guards the kernel, its streams and the wire counters; whoever
// holds it runs the kernel, applies table commands to the local device and hands
// finished frames to the transport. That is normally the node thread, but transfer()
// and pull() run the kernel inline on the caller's thread when the lock is free at that
// moment (saving a thread hand-off on the latency-critical path); otherwise they queue
// the request and wake the node thread. Either way the caller then waits, at most its
// deadline, for the result. publish_*() never run the kernel: they append to the event
// queue (bounded by NodeConfig::max_queued_events; beyond it events are dropped and
// counted) and wake the node thread. Only the node thread receives from the transport.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sessnic/backplane/config.hpp"
#include "sessnic/backplane/transport.hpp"
#include "sessnic/device.hpp"

namespace sessnic::backplane {

// Frame types as counted by NodeStats: index = wire::FrameType value; 0 collects types
// the kernel does not know (authentic but from a newer peer).
inline constexpr std::size_t kFrameTypeSlots = static_cast<std::size_t>(wire::FrameType::DIGEST) + 1;

struct PeerState {
  uint8_t card = 0;
  bool up = false;  // heard from within the kernel's liveness window
};

struct NodeStats {
  uint8_t card_id = 0;
  Mode mode = Mode::replicate;
  std::vector<PeerState> peers;  // every configured peer
  std::array<uint64_t, wire::BP_STATS_COUNT> kernel{};  // bp_stats of the kernel
  uint64_t rx_datagrams = 0;
  uint64_t rx_truncated = 0;   // shorter than header + tag
  uint64_t rx_too_long = 0;    // longer than the MTU
  uint64_t rx_bad_mac = 0;     // forged, corrupted, or sent with another cluster key
  uint64_t rx_bad_length = 0;  // authentic but payload_len disagrees with the size
  uint64_t tx_datagrams = 0;
  uint64_t tx_bytes = 0;  // datagram bytes handed to the transport (frames + tags)
  uint64_t tx_errors = 0;
  uint64_t events_dropped = 0;  // host queue full: replication skipped (caught up on rejoin)
  uint64_t catchup_pushed = 0;  // entries pushed to (re)joining peers
  // Frames by type (index: wire::FrameType): sent = every frame handed to the transport
  // (retransmits and acks included); received = authenticated frames given to the kernel.
  std::array<uint64_t, kFrameTypeSlots> tx_frames_by_type{};
  std::array<uint64_t, kFrameTypeSlots> rx_frames_by_type{};
  uint64_t operator[](wire::BpStatsIndex i) const { return kernel[i]; }
  uint64_t rx_rejected() const { return rx_truncated + rx_too_long + rx_bad_mac + rx_bad_length; }
  std::size_t peers_up() const;
};

class BackplaneNode {
 public:
  // Throws std::invalid_argument for a bad config (card 255, hub card not a member...).
  BackplaneNode(const NodeConfig& cfg, Device* local, std::unique_ptr<Transport> transport);
  ~BackplaneNode();  // stops the thread
  BackplaneNode(const BackplaneNode&) = delete;
  BackplaneNode& operator=(const BackplaneNode&) = delete;

  void start();
  void stop();  // idempotent; in-flight waits return FAILED

  uint8_t card_id() const { return cfg_.card_id; }
  Mode mode() const { return cfg_.mode; }
  uint8_t hub_card() const { return cfg_.hub_card; }
  uint32_t epoch() const { return epoch_; }
  bool has_table() const { return local_ != nullptr; }

  // Replication of a local write (ClusteredDevice calls these after a successful
  // PUT/DEL/TAKE). Never blocks. The mode decides the destinations (replicate: every
  // peer, hub: the hub, transfer: none). False when dropped (queue full, blob larger
  // than a slot) -- counted in NodeStats.
  bool publish_put(const SessionKey& key, uint64_t version, uint32_t expiry, uint8_t flags,
                   std::span<const uint8_t> blob);
  bool publish_del(const SessionKey& key, uint64_t version, uint32_t expiry);
  // A delete sent to one card whatever the mode: how a consumed single-use entry is
  // tombstoned on the card it was transferred from (transfer mode copies, so that card
  // still holds it). False when dropped, counted like publish_del.
  bool publish_del_to(uint8_t card, const SessionKey& key, uint64_t version, uint32_t expiry);

  // Moves `key` from card `owner` to card `dest`. owner == card_id() exports from the
  // local table; any other owner gets a TRANSFER_REQ and reports back. Waits at most
  // `deadline`: OK = landed; MISS/EXPIRED = nothing to move; FAILED = not acknowledged
  // in time, peer down, NACK. response.card = dest.
  Response transfer(const SessionKey& key, uint8_t owner, uint8_t dest, std::chrono::microseconds deadline);
  // The same without a waiting thread: `done` runs exactly once, with the answer or with
  // FAILED once `deadline` has passed (checked each node-thread round, so at most about
  // one rto late) or the node stops. It runs on the node thread or on a thread that
  // calls into the node, never under a node lock; it must be quick (post the result on).
  void transfer_async(const SessionKey& key, uint8_t owner, uint8_t dest, std::chrono::microseconds deadline,
                      std::function<void(Response)> done);
  // Fetches `key` from card `from` (the hub) into the local table. OK when stored.
  Response pull(const SessionKey& key, uint8_t from, std::chrono::microseconds deadline);

  bool peer_up(uint8_t card) const;
  // Waits until every configured peer has been heard from (true) or the deadline passes.
  bool wait_for_peers(std::chrono::milliseconds deadline) const;
  NodeStats stats() const;

 private:
  struct Impl;
  NodeConfig cfg_;
  Device* local_;
  uint32_t epoch_;
  std::unique_ptr<Impl> impl_;
};

// Epoch for a (re)started process: 100 ms units of the wall clock since 2025-01-01.
uint32_t epoch_from_clock();

}  // namespace sessnic::backplane
