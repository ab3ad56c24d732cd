// AXI4-Lite register access to a Verilated top with the s_axil_* slave port of
// rtl/sessnic_top.sv: one read or write, clocking the model itself (clk low, eval, clk
// high, eval per cycle) until the response handshake, at most 100 cycles. Shared by the
// cluster harness (top_cluster_sim.hpp) and tests/rtl/top_test.cpp.
//
// A transaction that never completes throws std::runtime_error (inside a gtest test body
// that fails the test). `on_cycle` is called once per clock cycle driven.
#pragma once
#include <stdint.h>

#include <stdexcept>
#include <string>

namespace sessnic::rtlsim {

struct AxilReadResult {
  uint32_t data = 0;
  unsigned resp = 0;  // RRESP (0 = OKAY)
};

struct AxilNoCycleHook {
  void operator()() const {}
};

template <class V, class OnCycle = AxilNoCycleHook>
AxilReadResult axil_read(V& top, uint32_t addr, OnCycle&& on_cycle = {}) {
  top.s_axil_araddr = addr;
  top.s_axil_arprot = 0;
  top.s_axil_arvalid = 1;
  top.s_axil_rready = 1;
  for (int i = 0; i < 100; ++i) {
    top.clk = 0;
    top.eval();
    const bool ar_done = top.s_axil_arvalid && top.s_axil_arready;
    const bool r_done = top.s_axil_rvalid;
    const AxilReadResult r{static_cast<uint32_t>(top.s_axil_rdata), static_cast<unsigned>(top.s_axil_rresp)};
    top.clk = 1;
    top.eval();
    on_cycle();
    if (ar_done) top.s_axil_arvalid = 0;
    if (r_done) {
      top.s_axil_rready = 0;
      return r;
    }
  }
  throw std::runtime_error("sessnic_top: AXI4-Lite read of " + std::to_string(addr) + " never completed");
}

template <class V, class OnCycle = AxilNoCycleHook>
void axil_write(V& top, uint32_t addr, uint32_t data, OnCycle&& on_cycle = {}) {
  top.s_axil_awaddr = addr;
  top.s_axil_awprot = 0;
  top.s_axil_awvalid = 1;
  top.s_axil_wdata = data;
  top.s_axil_wstrb = 0xf;
  top.s_axil_wvalid = 1;
  top.s_axil_bready = 1;
  for (int i = 0; i < 100; ++i) {
    top.clk = 0;
    top.eval();
    const bool aw = top.s_axil_awvalid && top.s_axil_awready;
    const bool w = top.s_axil_wvalid && top.s_axil_wready;
    const bool b = top.s_axil_bvalid;
    top.clk = 1;
    top.eval();
    on_cycle();
    if (aw) top.s_axil_awvalid = 0;
    if (w) top.s_axil_wvalid = 0;
    if (b) {
      top.s_axil_bready = 0;
      return;
    }
  }
  throw std::runtime_error("sessnic_top: AXI4-Lite write of " + std::to_string(addr) + " never completed");
}

}  // namespace sessnic::rtlsim
