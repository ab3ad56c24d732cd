#include "verilated_kernel_bus.hpp"

#include <cstring>
#include <deque>
#include <random>
#include <stdexcept>
#include <string>

#include "Vsessnic_kernel_s6w4.h"
#include "verilated.h"

// Verilator renames the `interrupt` port (a C++ word in some compilers) __SYM__interrupt.

namespace sessnic::rtlsim {

namespace {
constexpr unsigned kBeatBytes = 64;
constexpr unsigned kAxilTimeout = 1000;  // cycles for one register access
constexpr uint32_t kCardStatus = kernel_reg::CARD_STATUS;

template <class W>
void put_wide(W& dst, const uint8_t* src) {
  for (unsigned w = 0; w < kBeatBytes / 4; ++w) {
    uint32_t v;
    std::memcpy(&v, src + 4 * w, 4);
    dst[w] = v;
  }
}
template <class W>
void get_wide(const W& src, uint8_t* dst) {
  for (unsigned w = 0; w < kBeatBytes / 4; ++w) {
    const uint32_t v = src[w];
    std::memcpy(dst + 4 * w, &v, 4);
  }
}
}  // namespace

struct VerilatedKernelBus::Impl {
  struct Burst {
    uint64_t addr;
    unsigned beats;
    unsigned done = 0;
    uint64_t ready_at = 0;
  };
  struct WBeat {
    uint8_t data[kBeatBytes];
    uint64_t strb;
    bool last;
  };
  struct BResp {
    unsigned resp;
    uint64_t ready_at;
  };

  Options opt;
  std::unique_ptr<VerilatedContext> ctx;
  std::unique_ptr<Vsessnic_kernel_s6w4> top;
  std::vector<uint8_t> mem;
  std::mt19937 rng;
  uint64_t cycle = 0;
  std::deque<Burst> ar_q, aw_q;
  std::deque<WBeat> w_q;
  std::deque<BResp> b_q;
  bool r_shown = false, b_shown = false;  // a valid once raised stays up until taken (AXI rule)
  std::vector<std::pair<uint64_t, uint64_t>> fail;
  std::deque<NetBeat> rx_q;
  NetFrame tx_partial;
  std::vector<NetFrame> tx_done;

  explicit Impl(const Options& o) : opt(o), mem(o.memory_bytes, 0), rng(o.seed) {
    ctx = std::make_unique<VerilatedContext>();
    ctx->randReset(0);
    top = std::make_unique<Vsessnic_kernel_s6w4>(ctx.get(), "sessnic_kernel");
    top->s_axi_control_awvalid = 0;
    top->s_axi_control_wvalid = 0;
    top->s_axi_control_bready = 0;
    top->s_axi_control_arvalid = 0;
    top->s_axi_control_rready = 0;
    top->m_axis_net_tx_tready = 1;
    top->s_axis_net_rx_tvalid = 0;
    top->ap_rst_n = 0;
    for (int i = 0; i < 8; ++i) tick();
    top->ap_rst_n = 1;
    for (int i = 0; i < 4; ++i) tick();
  }
  ~Impl() { top->final(); }

  bool stall() { return std::uniform_int_distribution<unsigned>(0, 99)(rng) < opt.ready_stall_pct; }

  // 0 OKAY, 2 SLVERR (fail range), 3 DECERR (outside the memory).
  unsigned check(uint64_t addr) const {
    for (const auto& [lo, hi] : fail)
      if (addr >= lo && addr < hi) return 2;
    if (addr < opt.memory_base || addr - opt.memory_base + kBeatBytes > mem.size()) return 3;
    return 0;
  }

  void tick() {
    Vsessnic_kernel_s6w4& t = *top;
    t.ap_clk = 0;
    t.m_axi_gmem_arready = !stall();
    t.m_axi_gmem_awready = !stall();
    t.m_axi_gmem_wready = !stall();
    // R: the oldest burst whose latency has passed, one beat at a time.
    unsigned r_resp = 0;
    if (!ar_q.empty() && ar_q.front().ready_at <= cycle && (r_shown || !stall())) {
      Burst& b = ar_q.front();
      const uint64_t a = b.addr + uint64_t{b.done} * kBeatBytes;
      r_resp = check(a);
      uint8_t buf[kBeatBytes] = {};
      if (r_resp == 0) std::memcpy(buf, &mem[a - opt.memory_base], kBeatBytes);
      put_wide(t.m_axi_gmem_rdata, buf);
      t.m_axi_gmem_rresp = r_resp;
      t.m_axi_gmem_rlast = b.done + 1 == b.beats;
      t.m_axi_gmem_rvalid = 1;
      r_shown = true;
    } else {
      t.m_axi_gmem_rvalid = 0;
    }
    if (!b_q.empty() && b_q.front().ready_at <= cycle && (b_shown || !stall())) {
      t.m_axi_gmem_bvalid = 1;
      t.m_axi_gmem_bresp = b_q.front().resp;
      b_shown = true;
    } else {
      t.m_axi_gmem_bvalid = 0;
    }
    t.s_axis_net_rx_tvalid = !rx_q.empty();
    if (!rx_q.empty()) {
      uint8_t buf[kBeatBytes];
      std::memcpy(buf, rx_q.front().data, kBeatBytes);
      put_wide(t.s_axis_net_rx_tdata, buf);
      t.s_axis_net_rx_tkeep = rx_q.front().keep;
      t.s_axis_net_rx_tlast = rx_q.front().last;
    }
    t.eval();

    if (t.m_axi_gmem_arvalid && t.m_axi_gmem_arready) {
      if (t.m_axi_gmem_arsize != 6 || t.m_axi_gmem_arburst != 1)
        throw std::runtime_error("kernel m_axi: read burst is not INCR of 64-byte beats");
      ar_q.push_back({t.m_axi_gmem_araddr, t.m_axi_gmem_arlen + 1u, 0, cycle + opt.read_latency});
    }
    if (t.m_axi_gmem_rvalid && t.m_axi_gmem_rready) {
      r_shown = false;
      if (++ar_q.front().done == ar_q.front().beats) ar_q.pop_front();
    }
    if (t.m_axi_gmem_awvalid && t.m_axi_gmem_awready) {
      if (t.m_axi_gmem_awsize != 6 || t.m_axi_gmem_awburst != 1)
        throw std::runtime_error("kernel m_axi: write burst is not INCR of 64-byte beats");
      aw_q.push_back({t.m_axi_gmem_awaddr, t.m_axi_gmem_awlen + 1u});
    }
    if (t.m_axi_gmem_wvalid && t.m_axi_gmem_wready) {
      WBeat w;
      get_wide(t.m_axi_gmem_wdata, w.data);
      w.strb = t.m_axi_gmem_wstrb;
      w.last = t.m_axi_gmem_wlast;
      w_q.push_back(w);
    }
    if (t.m_axi_gmem_bvalid && t.m_axi_gmem_bready) {
      b_shown = false;
      b_q.pop_front();
    }
    if (t.s_axis_net_rx_tvalid) rx_q.pop_front();  // tready is 1: a MAC does not wait
    if (t.m_axis_net_tx_tvalid && t.m_axis_net_tx_tready) {
      NetBeat nb;
      get_wide(t.m_axis_net_tx_tdata, reinterpret_cast<uint8_t*>(nb.data));
      nb.keep = t.m_axis_net_tx_tkeep;
      nb.last = t.m_axis_net_tx_tlast;
      tx_partial.push_back(nb);
      if (nb.last) tx_done.push_back(std::exchange(tx_partial, {}));
    }

    t.ap_clk = 1;
    t.eval();
    ++cycle;
    ctx->timeInc(1);
    apply_writes();
  }

  // A write burst lands once its address and all its beats are here (W may come first).
  void apply_writes() {
    while (!aw_q.empty() && w_q.size() >= aw_q.front().beats) {
      const Burst b = aw_q.front();
      aw_q.pop_front();
      unsigned resp = 0;
      for (unsigned i = 0; i < b.beats; ++i) {
        const WBeat w = w_q.front();
        w_q.pop_front();
        if (w.last != (i + 1 == b.beats)) throw std::runtime_error("kernel m_axi: WLAST does not end the burst");
        const uint64_t a = b.addr + uint64_t{i} * kBeatBytes;
        const unsigned r = check(a);
        if (r != 0) {
          resp = r;
          continue;
        }
        for (unsigned j = 0; j < kBeatBytes; ++j)
          if (w.strb >> j & 1) mem[a - opt.memory_base + j] = w.data[j];
      }
      b_q.push_back({resp, cycle + 2});
    }
  }

  uint32_t read32(uint32_t reg) {
    Vsessnic_kernel_s6w4& t = *top;
    t.s_axi_control_araddr = reg;
    t.s_axi_control_arvalid = 1;
    t.s_axi_control_rready = 1;
    for (unsigned i = 0; i < kAxilTimeout; ++i) {
      t.ap_clk = 0;
      t.eval();
      const bool ar = t.s_axi_control_arvalid && t.s_axi_control_arready;
      const bool r = t.s_axi_control_rvalid && t.s_axi_control_rready;
      const uint32_t data = t.s_axi_control_rdata;
      const unsigned resp = t.s_axi_control_rresp;
      tick();
      if (ar) t.s_axi_control_arvalid = 0;
      if (r) {
        t.s_axi_control_rready = 0;
        if (resp != 0) throw std::runtime_error("kernel s_axi_control: read of " + std::to_string(reg) + " answered " + std::to_string(resp));
        return data;
      }
    }
    throw std::runtime_error("kernel s_axi_control: read of " + std::to_string(reg) + " never completed");
  }

  void write32(uint32_t reg, uint32_t value) {
    Vsessnic_kernel_s6w4& t = *top;
    t.s_axi_control_awaddr = reg;
    t.s_axi_control_awvalid = 1;
    t.s_axi_control_wdata = value;
    t.s_axi_control_wstrb = 0xf;
    t.s_axi_control_wvalid = 1;
    t.s_axi_control_bready = 1;
    for (unsigned i = 0; i < kAxilTimeout; ++i) {
      t.ap_clk = 0;
      t.eval();
      const bool aw = t.s_axi_control_awvalid && t.s_axi_control_awready;
      const bool w = t.s_axi_control_wvalid && t.s_axi_control_wready;
      const bool b = t.s_axi_control_bvalid && t.s_axi_control_bready;
      const unsigned resp = t.s_axi_control_bresp;
      tick();
      if (aw) t.s_axi_control_awvalid = 0;
      if (w) t.s_axi_control_wvalid = 0;
      if (b) {
        t.s_axi_control_bready = 0;
        if (resp != 0) throw std::runtime_error("kernel s_axi_control: write of " + std::to_string(reg) + " answered " + std::to_string(resp));
        return;
      }
    }
    throw std::runtime_error("kernel s_axi_control: write of " + std::to_string(reg) + " never completed");
  }
};

VerilatedKernelBus::VerilatedKernelBus() : VerilatedKernelBus(Options{}) {}

VerilatedKernelBus::VerilatedKernelBus(const Options& o) : impl_(std::make_unique<Impl>(o)) {
  // The table clears its sets after reset; commands wait meanwhile, registers work.
  for (int i = 0; i < 64 && (read32(kCardStatus) & 1); ++i) step(64);
  if (read32(kCardStatus) & 1) throw std::runtime_error("sessnic_kernel: the card never finished its flush");
}

VerilatedKernelBus::~VerilatedKernelBus() = default;

uint32_t VerilatedKernelBus::read32(uint32_t reg) { return impl_->read32(reg); }
void VerilatedKernelBus::write32(uint32_t reg, uint32_t value) { impl_->write32(reg, value); }
std::span<uint8_t> VerilatedKernelBus::memory() { return impl_->mem; }
uint64_t VerilatedKernelBus::memory_base() const { return impl_->opt.memory_base; }

void VerilatedKernelBus::step(uint64_t cycles) {
  for (uint64_t i = 0; i < cycles; ++i) impl_->tick();
}

bool VerilatedKernelBus::wait_irq(uint64_t max_cycles) {
  for (uint64_t i = 0; i < max_cycles; ++i) {
    if (impl_->top->__SYM__interrupt) return true;
    impl_->tick();
  }
  return impl_->top->__SYM__interrupt;
}

bool VerilatedKernelBus::interrupt() const { return impl_->top->__SYM__interrupt; }
uint64_t VerilatedKernelBus::cycle() const { return impl_->cycle; }
void VerilatedKernelBus::fail_range(uint64_t lo, uint64_t hi) { impl_->fail.emplace_back(lo, hi); }

std::vector<NetFrame> VerilatedKernelBus::take_net_tx() { return std::exchange(impl_->tx_done, {}); }

void VerilatedKernelBus::net_rx(const NetFrame& f) {
  for (const NetBeat& b : f) impl_->rx_q.push_back(b);
}

}  // namespace sessnic::rtlsim
