// What the ring-driver tests share, whichever card is behind the bus (the soft ring
// engine in ring_driver_test.cpp, the Verilated Vitis kernel in ring_rtl_test.cpp): the
// commands they send, and a bus that can freeze or reset the card behind the driver's
// back. Each test names the card; the disturbances are the same for both.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sessnic/ring/ring_driver.hpp"
#include "sessnic/ring/ring_regs.hpp"

namespace sessnic::ring::test {

// The soft card's clock; an entry written with kExpiry lives for an hour on it, and for
// longer on the Verilated kernel, whose clock starts at 0.
inline constexpr uint32_t kNow = 1'000'000;
inline constexpr uint32_t kExpiry = kNow + 3600;

// Ids as random as a TLS stack's (splitmix64 of k): the RTL test table has 64 sets x 4
// ways, and similar ids would crowd a few sets and evict each other.
inline SessionKey key(unsigned k) {
  uint8_t id[32];
  uint64_t x = 0x5e55'1c00 + k;
  for (unsigned w = 0; w < 4; ++w) {
    x += 0x9e3779b97f4a7c15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    std::memcpy(id + 8 * w, &z, 8);
  }
  return SessionKey::make(id, 2);
}

inline std::vector<uint8_t> blob(unsigned i, std::size_t len) {
  std::vector<uint8_t> b(len);
  for (std::size_t j = 0; j < len; ++j) b[j] = static_cast<uint8_t>(i * 13 + j * 7 + 1);
  return b;
}

inline Command put(unsigned k, std::vector<uint8_t> b) {
  Command c;
  c.op = wire::Opcode::PUT;
  c.tag = 10'000 + k;
  c.key = key(k);
  c.expiry = kExpiry;
  c.blob = std::move(b);
  return c;
}

inline Command get(unsigned k) {
  Command c;
  c.op = wire::Opcode::GET;
  c.tag = 20'000 + k;
  c.key = key(k);
  return c;
}

inline RingConfig ring_config(RingLayout layout, std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
  return RingConfig{layout, timeout, timeout};
}

inline std::vector<Response> run(RingDriver& drv, const std::vector<Command>& cmds) {
  std::vector<Response> out;
  drv.execute(cmds, out);
  return out;
}

// A card's bus (`Inner`, constructed in place) with what the tests do to it: doorbell
// writes counted, the card frozen (wait() runs nothing), the card reset from outside
// after a number of waits. `advance` is how far the card gets in one wait() (default:
// the inner bus's own wait()).
template <class Inner>
class DisturbedBus : public RingBus {
 public:
  template <class... Args>
  explicit DisturbedBus(Args&&... args) : inner_(std::forward<Args>(args)...) {}

  void write_reg(uint32_t off, uint32_t v) override {
    if (off == reg::kCmdDoorbell) ++cmd_doorbell_writes;
    inner_.write_reg(off, v);
  }
  uint32_t read_reg(uint32_t off) override { return inner_.read_reg(off); }
  RingMemory& memory() override { return inner_.memory(); }
  void wait(Clock::time_point deadline) override {
    if (frozen) return;
    if (reset_after_waits > 0 && --reset_after_waits == 0)
      inner_.write_reg(reg::kRingCtrl, reg::kRingCtrlReset | reg::kRingCtrlEnable);
    if (advance)
      advance(inner_, deadline);
    else
      inner_.wait(deadline);
  }
  Inner& inner() { return inner_; }

  bool frozen = false;
  int reset_after_waits = 0;
  unsigned cmd_doorbell_writes = 0;
  std::function<void(Inner&, Clock::time_point)> advance;

 private:
  Inner inner_;
};

}  // namespace sessnic::ring::test
