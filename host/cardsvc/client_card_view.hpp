// The card as one client process sees it through the service: every table command goes
// to the host's card, except what would let one worker disturb all the others. FLUSH and
// TRANSFER are the service's own (BAD_CMD); SET_TIME (the ring driver keeps a card's
// clock in step) is acknowledged and dropped, because the card's clock is the service's.
#pragma once
#include <atomic>
#include <cstdint>

#include "sessnic/device.hpp"

namespace sessnic::cardsvc {

struct ClientViewCounters {
  std::atomic<uint64_t> commands{0};    // table commands run for clients
  std::atomic<uint64_t> privileged{0};  // FLUSH/TRANSFER refused
};

class ClientCardView final : public Device {
 public:
  ClientCardView(Device& card, ClientViewCounters& counters) : card_(card), counters_(counters) {}
  std::string kind() const override { return card_.kind(); }
  uint8_t card_id() const override { return card_.card_id(); }
  void execute(std::span<const Command> cmds, std::vector<Response>& out) override;

 private:
  Device& card_;
  ClientViewCounters& counters_;
  std::vector<Command> pass_;
  std::vector<Response> got_;
};

}  // namespace sessnic::cardsvc
