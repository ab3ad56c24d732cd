#include "sessnic/ring/ring_device.hpp"

#include "sessnic/ring/ring_regs.hpp"

namespace sessnic::ring {
namespace {

// The CARD register is written before the rings start so the first answer carries it.
std::unique_ptr<RingBus> with_card_id(std::unique_ptr<RingBus> bus, uint8_t card) {
  bus->write_reg(reg::kCard, card);
  return bus;
}

}  // namespace

RingDevice::RingDevice(std::string kind, std::unique_ptr<RingBus> bus, const DeviceConfig& config, RingConfig ring)
    : kind_(std::move(kind)),
      card_(config.card_id),
      bus_(with_card_id(std::move(bus), config.card_id)),
      driver_(*bus_, ring),
      clock_(config.clock ? config.clock : wall_clock_seconds) {}

void RingDevice::execute(std::span<const Command> cmds, std::vector<Response>& out) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint32_t now = clock_();
  const std::optional<Command> set_time = clock_sync_.due(now);
  if (!set_time) {
    driver_.execute(cmds, out);
    return;
  }
  // One batch, one doorbell: the clock first, then the caller's commands.
  std::vector<Command> batch;
  batch.reserve(cmds.size() + 1);
  batch.push_back(*set_time);
  batch.insert(batch.end(), cmds.begin(), cmds.end());
  std::vector<Response> got;
  driver_.execute(batch, got);
  if (got.front().status == wire::Status::OK) clock_sync_.ran(now);
  out.insert(out.end(), std::make_move_iterator(got.begin() + 1), std::make_move_iterator(got.end()));
}

RingState RingDevice::state() {
  std::lock_guard<std::mutex> lock(mu_);
  return driver_.state();
}

RingCounters RingDevice::counters() {
  std::lock_guard<std::mutex> lock(mu_);
  return driver_.counters();
}

bool RingDevice::recover() {
  std::lock_guard<std::mutex> lock(mu_);
  return driver_.recover();
}

}  // namespace sessnic::ring
