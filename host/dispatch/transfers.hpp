// The transfer decision and the asynchronous move, for one cluster.
//
// plan(): which session the hello offers (ClientHello::resumption_id with the cluster's
// TLS version cap) and whether it must move to the chosen server: not with sharing off
// (the baseline), not when the owner (where the dispatcher last moved it, else byte 0 of
// the id = the card that created it) is the target's card or no card of the cluster.
// Replicate and hub modes still ask: replication to every card (or to the hub) is
// asynchronous, and a client that changes server right after its handshake arrives
// before its copy does (measured: 1 in 10 server changes missed under load when these
// modes skipped the transfer, and still under heavier load when they skipped it only for
// sessions moved once before). The transfer is idempotent and overlaps the connect.
// start(): asks the mover without blocking; at most `max_in_flight` moves wait at once
// (more are answered `overload` at once, so the hello goes out without waiting).
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "client_hello.hpp"
#include "cluster_config.hpp"
#include "metrics.hpp"
#include "router.hpp"
#include "session_mover.hpp"

namespace sessnic::dispatch {

struct TransferPlan {
  std::vector<uint8_t> id;                 // the offered session; empty = none offered
  uint8_t owner = 0;                       // where it is, as far as the dispatcher knows
  bool target_has_copy = false;            // moved to the target's card before (a copy stays there)
  std::optional<TransferOutcome> settled;  // decided without asking anyone
  bool offered() const { return !id.empty(); }
  bool needs_move() const { return offered() && !settled; }
};

class Transfers {
 public:
  using Done = std::function<void(TransferOutcome)>;
  Transfers(const config::ClusterConfig& cfg, std::shared_ptr<SessionMover> mover, Metrics& metrics);

  TransferPlan plan(const ClientHello& hello, const Backend& target, const Router& router);
  // `done` runs exactly once, on any thread: moved / not_found / failed / overload.
  // False when it has already run (overload, no backplane): nothing was asked.
  bool start(const TransferPlan& plan, uint8_t dest, std::chrono::microseconds budget, Done done);
  // Drain: the backplane node goes away (its port is free for a successor).
  void release();

 private:
  bool sharing_;
  bool servers_accept_tls13_;
  size_t max_in_flight_;
  std::shared_ptr<SessionMover> mover_;
  Metrics& metrics_;
  SessionLocations locations_;
};

}  // namespace sessnic::dispatch
