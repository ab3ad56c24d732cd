// The RingBus of a process attached to the host's card service: what the one ring
// driver (driver/ring) drives, like the xrt device's bus on a hardware card.
//   write_reg(CMD_DOORBELL / RSP_DOORBELL): the shared doorbell word + the doorbell eventfd
//   other registers: a request on the attach socket, answered by the service's engine
//   memory(): the window's ring memory (card address 0)
//   wait(): a short spin on the status block, then the completion eventfd
// When the service goes away (the socket closes) every call throws ServiceGone.
#pragma once
#include <stdexcept>

#include "sessnic/ring/ring_bus.hpp"
#include "sessnic/shm/card_window.hpp"
#include "sessnic/shm/shared_region.hpp"

namespace sessnic::shm {

class ServiceGone : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ShmRingBus final : public ring::RingBus {
 public:
  // Takes the attach socket, the window and the two eventfds received at attach.
  ShmRingBus(UniqueFd socket, SharedRegion window, UniqueFd doorbell, UniqueFd completion, ring::RingLayout layout);

  void write_reg(uint32_t offset, uint32_t value) override;
  uint32_t read_reg(uint32_t offset) override;
  ring::RingMemory& memory() override { return memory_; }
  void wait(ring::Clock::time_point deadline) override;

  int socket() const { return socket_.get(); }
  const ring::RingLayout& layout() const { return layout_; }

 private:
  RegAnswer request(uint32_t op, uint32_t offset, uint32_t value);

  UniqueFd socket_;
  SharedRegion window_;
  UniqueFd doorbell_, completion_;
  ring::RingLayout layout_;
  WindowRingMemory memory_;
};

}  // namespace sessnic::shm
