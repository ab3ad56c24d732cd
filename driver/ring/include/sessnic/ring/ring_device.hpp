// A Device on the one ring driver: what the `xrt` device and the Verilator ring binding
// are, given their RingBus. Adds to RingDriver the Device contract: one lock around the
// rings (execute() is safe from many threads), the card id, and the card clock (a
// SET_TIME rides in front of the batch whenever the host's second changed).
#pragma once
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "sessnic/card_clock.hpp"
#include "sessnic/open_device.hpp"
#include "sessnic/ring/ring_driver.hpp"

namespace sessnic::ring {

class RingDevice final : public Device {
 public:
  // Writes config.card_id to the CARD register, then opens the rings (RingDriver's
  // constructor: throws std::runtime_error when the card does not answer).
  RingDevice(std::string kind, std::unique_ptr<RingBus> bus, const DeviceConfig& config, RingConfig ring = {});

  std::string kind() const override { return kind_; }
  uint8_t card_id() const override { return card_; }
  void execute(std::span<const Command> cmds, std::vector<Response>& out) override;

  // Snapshots for `sessnic card info`, taken under the lock.
  RingState state();
  RingCounters counters();
  bool recover();
  RingBus& bus() { return *bus_; }

 private:
  std::string kind_;
  uint8_t card_;
  std::unique_ptr<RingBus> bus_;
  std::mutex mu_;
  RingDriver driver_;
  std::function<uint32_t()> clock_;
  CardClockSync clock_sync_;
};

}  // namespace sessnic::ring
