// When a card needs its clock set: one SET_TIME per change of the host's second.
// Every device keeps its card's clock this way (the table judges expiry by it).
#pragma once
#include <cstdint>
#include <optional>

#include "sessnic/device.hpp"

namespace sessnic {

class CardClockSync {
 public:
  // The SET_TIME to run before the next batch, or nothing when the card has `now`.
  std::optional<Command> due(uint32_t now) const {
    if (synced_ && now == last_) return std::nullopt;
    Command c;
    c.op = wire::Opcode::SET_TIME;
    c.aux = now;
    return c;
  }
  // Call once the SET_TIME from due() has run on the card.
  void ran(uint32_t now) {
    last_ = now;
    synced_ = true;
  }

 private:
  uint32_t last_ = 0;
  bool synced_ = false;
};

}  // namespace sessnic
