// Cycle-level C++ harness around a Verilated rtl/sess_table/sess_table.sv.
//
// Drives the AXI4-Stream command port from a queue of beats (with an optional random
// gap pattern on TVALID), applies random TREADY back-pressure on the response port,
// and collects whole responses (split on TLAST) with the cycle each command header was
// accepted and each response header left, so tests compare bytes and benches count
// cycles from the same run.
//
// Waveforms: when the models are built with -DSESSNIC_RTL_TRACE=ON, setting
// SESSNIC_TRACE=path.fst writes an FST trace of every cycle (docs/rtl.md).
#pragma once
#include <stdint.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "beat.hpp"
#include "verilated.h"
#if VM_TRACE
#include "verilated_fst_c.h"
#endif

namespace sessnic::rtlsim {

struct Response {
  std::vector<Beat> beats;
  uint64_t out_cycle = 0;  // cycle the header beat was taken from m_rsp
};

template <class V>
class SessTableSim {
 public:
  explicit SessTableSim(uint8_t card_id, uint64_t seed = 1) : rng_(seed) {
    ctx_ = std::make_unique<VerilatedContext>();
    ctx_->randReset(0);
    top_ = std::make_unique<V>(ctx_.get(), "sess_table");
#if VM_TRACE
    if (const char* path = std::getenv("SESSNIC_TRACE")) {
      ctx_->traceEverOn(true);
      trace_ = std::make_unique<VerilatedFstC>();
      top_->trace(trace_.get(), 99);
      trace_->open(path);
    }
#else
    if (std::getenv("SESSNIC_TRACE"))
      std::fputs("SESSNIC_TRACE ignored: configure with -DSESSNIC_RTL_TRACE=ON to compile tracing in\n", stderr);
#endif
    top_->card_id = card_id;
    top_->sweep_enable = 0;
    top_->s_cmd_tvalid = 0;
    top_->m_rsp_tready = 0;
    reset();
  }
  ~SessTableSim() {
    top_->final();
#if VM_TRACE
    if (trace_) trace_->close();
#endif
  }
  SessTableSim(const SessTableSim&) = delete;
  SessTableSim& operator=(const SessTableSim&) = delete;

  // Power-on reset, then waits until the table has cleared every set.
  void reset() {
    top_->rst = 1;
    for (int i = 0; i < 2; ++i) tick();
    top_->rst = 0;
    run_while_flushing();
  }

  void set_sweep(bool on) { top_->sweep_enable = on; }
  // Probability that TVALID is offered in a cycle (when a beat is queued) and that
  // TREADY is given; 1.0 = back-to-back streaming, no back-pressure.
  void set_traffic(double valid_prob, double ready_prob) {
    valid_prob_ = valid_prob;
    ready_prob_ = ready_prob;
  }

  void send(std::span<const Beat> cmd) {
    for (const Beat& b : cmd) in_.push_back(b);
  }

  // One clock cycle: inputs are set while clk is low, handshakes are sampled just
  // before the rising edge (that is when the RTL registers them).
  void tick() {
    top_->clk = 0;
    const bool offer = !in_.empty() && (valid_prob_ >= 1.0 || coin_(rng_) < valid_prob_);
    top_->s_cmd_tvalid = offer;
    if (offer) {
      const Beat& b = in_.front();
      for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) {
        top_->s_cmd_tdata[2 * w] = static_cast<uint32_t>(b.data[w]);
        top_->s_cmd_tdata[2 * w + 1] = static_cast<uint32_t>(b.data[w] >> 32);
      }
      top_->s_cmd_tlast = b.last;
    }
    top_->m_rsp_tready = ready_prob_ >= 1.0 || coin_(rng_) < ready_prob_;
    top_->eval();
    dump();
    if (top_->s_cmd_tvalid && top_->s_cmd_tready) {
      if (at_header_) hdr_cycles_.push_back(cycle_);
      at_header_ = in_.front().last;
      in_.pop_front();
    }
    if (top_->m_rsp_tvalid && top_->m_rsp_tready) {
      Beat b;
      for (unsigned w = 0; w < wire::BEAT_WORDS; ++w)
        b.data[w] = static_cast<uint64_t>(top_->m_rsp_tdata[2 * w]) |
                    (static_cast<uint64_t>(top_->m_rsp_tdata[2 * w + 1]) << 32);
      b.last = top_->m_rsp_tlast;
      if (partial_.beats.empty()) partial_.out_cycle = cycle_;
      partial_.beats.push_back(b);
      if (b.last) {
        out_.push_back(std::move(partial_));
        partial_ = Response{};
      }
    }
    top_->clk = 1;
    top_->eval();
    ++cycle_;
    ctx_->timeInc(1);
    dump();
  }

  // Runs until `n` whole responses have been collected; false after `max_cycles`.
  bool run_until_responses(size_t n, uint64_t max_cycles) {
    const uint64_t stop = cycle_ + max_cycles;
    while (out_.size() < n) {
      if (cycle_ >= stop) return false;
      tick();
    }
    return true;
  }

  void run_cycles(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) tick();
  }

  void run_while_flushing() {
    for (int i = 0; i < (1 << 21) && top_->flushing; ++i) tick();
    if (top_->flushing) throw std::runtime_error("sess_table: flush never finished");
  }

  std::deque<Response>& responses() { return out_; }
  // Cycle at which each command's header beat was accepted, in command order.
  std::deque<uint64_t>& header_cycles() { return hdr_cycles_; }
  uint64_t cycle() const { return cycle_; }
  bool input_idle() const { return in_.empty(); }
  V& top() { return *top_; }

 private:
  void dump() {
#if VM_TRACE
    if (trace_) trace_->dump(ctx_->time() * 2 + top_->clk);
#endif
  }

  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<V> top_;
#if VM_TRACE
  std::unique_ptr<VerilatedFstC> trace_;
#endif
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> coin_{0.0, 1.0};
  double valid_prob_ = 1.0;
  double ready_prob_ = 1.0;
  std::deque<Beat> in_;
  bool at_header_ = true;
  std::deque<uint64_t> hdr_cycles_;
  std::deque<Response> out_;
  Response partial_;
  uint64_t cycle_ = 0;
};

}  // namespace sessnic::rtlsim
