// The card's register set (AXI-Lite on hardware, spec/regs.rdl for the RTL; a plain
// struct written at start for the HLS card top and the model device). Times are in card
// ticks: the model device's tick is one microsecond of the host's steady clock.
#pragma once
#include <stdint.h>

#include "wire/sessnic_wire.hpp"

namespace sessnic {

struct CardRegisters {
  uint8_t card = 0;
  wire::BpMode mode = wire::BpMode::REPLICATE;
  uint8_t hub = 0;                     // mode HUB: the central repository
  uint32_t epoch = 1;                  // nonzero; the driver writes a larger one on every start
  uint64_t members[4] = {0, 0, 0, 0};  // bit = member card id (this card's own bit is ignored)
  bool passive = false;                // no table (a dispatcher): peers do not replicate to it
  uint64_t rto = 2000;                 // retransmit timeout floor
  uint32_t max_retries = 12;           // then the peer is declared down
  uint64_t hello_interval = 50000;
  uint64_t deadline = 200000;          // TRANSFER/PULL sent with expiry 0: FAILED after this
  uint64_t pull_deadline = 2000;       // hub pull on a GET/TAKE miss: the miss stands after this
};

}  // namespace sessnic
