// VerilatorCluster: N Verilated card tops (rtl/sessnic_top.sv: table + backplane engine)
// wired back to back through their backplane ports and clocked together, each card
// exposed as a libsessnic Device. Device::transfer() is the hardware transfer path:
// a TRANSFER command into the card's command stream, EXPORT, TRANSFER frame over the
// backplane, PUT-with-version on the destination card, outcome ACK, result beat.
//
// The simulation advances only inside calls (execute/transfer): an idle cluster is a
// frozen clock. Geometry: the test geometry of the top model (64 sets x 4 ways x 256 B).
// Thread-safe: one mutex for the whole cluster (the cards share one clock).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "sessnic/device.hpp"

namespace sessnic {

struct VerilatorClusterConfig {
  std::vector<uint8_t> cards;                         // card ids (each < 32)
  wire::BpMode mode = wire::BpMode::TRANSFER;         // replicate or transfer
  std::function<uint32_t()> clock;                    // card clock (Unix seconds); empty = wall clock
};

class VerilatorCluster {
 public:
  explicit VerilatorCluster(const VerilatorClusterConfig& config);
  ~VerilatorCluster();
  VerilatorCluster(const VerilatorCluster&) = delete;
  VerilatorCluster& operator=(const VerilatorCluster&) = delete;

  // The Device of card `id` (owned by the cluster). Throws std::out_of_range.
  Device& card(uint8_t id);
  // bp_sync counter i of card `id` (sessnic_top.bp_counters, docs/rtl.md).
  uint32_t bp_counter(uint8_t id, unsigned i);
  uint64_t cycles() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sessnic
