// The Verilated Vitis kernel (rtl/kernel/sessnic_kernel.sv) on a simulated host: its
// m_axi_gmem talks to a C++ host-memory model (a byte array with AXI4 read/write channel
// handling: INCR bursts, random ready/valid delays, out-of-range accesses answered
// DECERR), its s_axi_control is driven over AXI4-Lite, and its network ports are queues
// of Ethernet frames. This is the bus the ring driver runs on in CI (docs/alveo-rtl.md):
//
//   VerilatedKernelBus bus;                    // reset done, table flushed
//   bus.write32(kernel_reg::CMD_RING_BASE_LO, ...);
//   std::span<uint8_t> mem = bus.memory();     // device address = bus.memory_base() + offset
//   bus.step(100);  bus.wait_irq(10000);
//
// Every method clocks the model; nothing runs between calls. Not thread-safe (one owner).
// The Verilated model type is hidden (pimpl), so users need no Verilator headers.
#pragma once
#include <stdint.h>

#include <memory>
#include <span>
#include <vector>

namespace sessnic::rtlsim {

// The kernel's registers on s_axi_control: the card's (spec/regs.rdl) at their offsets,
// the ring registers (spec/regs.rdl too) answered by the kernel beside its ring engine,
// and the kernel-only network registers (rtl/kernel/sess_kernel_regs.sv). The ring
// driver takes the spec/regs.rdl ones from the generated sessnic_regs.h; the ring tests
// check these against it once that header has them.
namespace kernel_reg {
inline constexpr uint32_t CARD = 0x08;
inline constexpr uint32_t CARD_STATUS = 0x10;  // bit 0: the table is flushing
inline constexpr uint32_t RING_CTRL = 0x180;   // [0] enable [1] irq_enable [2] reset [15:8] irq coalesce
inline constexpr uint32_t RING_STATUS = 0x184; // [7:0] error [8] idle; kernel: [16] fault [17] resetting [18] irq
inline constexpr uint32_t CMD_RING_BASE_LO = 0x188;
inline constexpr uint32_t CMD_RING_BASE_HI = 0x18C;
inline constexpr uint32_t CMD_RING_SIZE_LOG2 = 0x190;
inline constexpr uint32_t RSP_RING_BASE_LO = 0x194;
inline constexpr uint32_t RSP_RING_BASE_HI = 0x198;
inline constexpr uint32_t RSP_RING_SIZE_LOG2 = 0x19C;
inline constexpr uint32_t STATUS_BASE_LO = 0x1A0;
inline constexpr uint32_t STATUS_BASE_HI = 0x1A4;
inline constexpr uint32_t CMD_DOORBELL = 0x1A8;  // write cmd_tail; reads the accepted cmd_tail
inline constexpr uint32_t RSP_DOORBELL = 0x1AC;  // write rsp_head; reads the accepted rsp_head
inline constexpr uint32_t CMD_HEAD = 0x1B0;
inline constexpr uint32_t RSP_TAIL = 0x1B4;
inline constexpr uint32_t BUILD_ID = 0x1B8;
inline constexpr uint32_t MAC_PREFIX_LO = 0x200;  // prefix bytes 1..4 ([31:24] = byte 1)
inline constexpr uint32_t MAC_PREFIX_HI = 0x204;  // [7:0] prefix byte 0, [31:16] EtherType
inline constexpr uint32_t NET_TX_FRAMES = 0x208;
inline constexpr uint32_t NET_RX_FRAMES = 0x20C;
inline constexpr uint32_t NET_RX_DROP_FULL = 0x210;
inline constexpr uint32_t NET_RX_DROP_BAD = 0x214;

inline constexpr uint32_t CTRL_ENABLE = 1u << 0;
inline constexpr uint32_t CTRL_IRQ_ENABLE = 1u << 1;
inline constexpr uint32_t CTRL_RESET = 1u << 2;
inline constexpr uint32_t STATUS_IDLE = 1u << 8;
inline constexpr uint32_t STATUS_FAULT = 1u << 16;
inline constexpr uint32_t STATUS_RESETTING = 1u << 17;
inline constexpr uint32_t STATUS_IRQ = 1u << 18;

// spec/wire.toml [ring_error]
inline constexpr uint32_t ERR_NONE = 0;
inline constexpr uint32_t ERR_BAD_OPCODE = 1;
inline constexpr uint32_t ERR_BAD_KEY_LEN = 2;
inline constexpr uint32_t ERR_BAD_BLOB_LEN = 3;
inline constexpr uint32_t ERR_PAST_TAIL = 4;
inline constexpr uint32_t ERR_BAD_DOORBELL = 5;
inline constexpr uint32_t ERR_AXI_ERROR = 6;
}  // namespace kernel_reg

// One beat of the kernel's network streams (512-bit tdata, 64-bit tkeep).
struct NetBeat {
  uint64_t data[8] = {};
  uint64_t keep = ~0ull;
  bool last = false;
};
using NetFrame = std::vector<NetBeat>;

class VerilatedKernelBus {
 public:
  struct Options {
    uint64_t memory_base = 0x1'0000'0000ull;  // above 4 GiB, so the _HI registers matter
    size_t memory_bytes = 1u << 20;
    uint32_t seed = 1;
    unsigned ready_stall_pct = 30;  // chance (%) that a ready/valid of the memory model is low in a cycle
    unsigned read_latency = 8;      // cycles from AR to the first R beat (plus random stalls)
  };

  VerilatedKernelBus();
  explicit VerilatedKernelBus(const Options& o);
  ~VerilatedKernelBus();
  VerilatedKernelBus(const VerilatedKernelBus&) = delete;
  VerilatedKernelBus& operator=(const VerilatedKernelBus&) = delete;

  // s_axi_control (byte offsets). Throws std::runtime_error if the kernel never answers
  // or answers an error response.
  uint32_t read32(uint32_t reg);
  void write32(uint32_t reg, uint32_t value);

  // Host memory as the kernel sees it at device address memory_base().
  std::span<uint8_t> memory();
  uint64_t memory_base() const;

  void step(uint64_t cycles);
  // Steps until the interrupt output is high (returns true) or max_cycles pass (false).
  bool wait_irq(uint64_t max_cycles);
  bool interrupt() const;
  uint64_t cycle() const;

  // Accesses to device addresses [lo, hi) answer SLVERR (fault injection).
  void fail_range(uint64_t lo, uint64_t hi);

  // Network: frames the kernel sent; frames to feed its RX port (one beat per cycle,
  // never back-pressured, as from a MAC).
  std::vector<NetFrame> take_net_tx();
  void net_rx(const NetFrame& f);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sessnic::rtlsim
