// Cycle-level C++ harness for several cards wired back to back through their backplane
// ports: N Verilated rtl/sessnic_top.sv (TopCard) and, for interop, any other frame
// speaker (Node), stepped together one clock at a time by a Cluster that carries each
// frame from a TX port to the RX port(s) named by its `dst` field (BROADCAST: every other
// node), with optional seeded loss and delay per directed link.
//
// A card's host side is the same AXI4-Stream command/response framing as SessTableSim
// (commands queued as beats, responses collected whole); its registers are written over
// AXI4-Lite before the cluster runs (card id, backplane members, control; the AXI4-Lite
// driving is axil_driver.hpp, shared with tests/rtl/top_test.cpp).
//
// Waveforms: with models built with -DSESSNIC_RTL_TRACE=ON, SESSNIC_TRACE=path writes
// one FST per card, path.card<id>.fst (docs/rtl.md).
#pragma once
#include <stdint.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

#include "axil_driver.hpp"
#include "beat.hpp"
#include "verilated.h"
#include "wire/sessnic_wire.hpp"
#if VM_TRACE
#include <cstdlib>
#include <string>

#include "verilated_fst_c.h"
#endif

namespace sessnic::rtlsim {

using Frame = std::vector<Beat>;

// Anything that speaks backplane frames, one clock cycle at a time.
class Node {
 public:
  virtual ~Node() = default;
  virtual uint8_t card() const = 0;
  virtual void tick() = 0;                                   // one cycle
  virtual void deliver(const Frame& f) = 0;                  // a frame for its RX port
  virtual std::vector<Frame> take_tx() = 0;                  // frames its TX port sent
};

struct CardConfig {
  uint8_t card = 0;
  uint32_t members = 0;  // bitmap of cluster card ids (bit = card id)
  wire::BpMode mode = wire::BpMode::TRANSFER;
  bool bp_enable = true;
  bool sweep = false;
  uint32_t epoch = 1;   // bp_epoch: nonzero, larger after every restart of the card
  uint8_t hub = 0;      // bp_hub: the hub card in mode hub
  uint32_t rto = 0;     // bp_rto cycles (0 = the synthesis default)
  uint8_t max_retries = 0;  // bp_max_retries (0 = the synthesis default)
};

template <class V>
class TopCard final : public Node {
 public:
  explicit TopCard(const CardConfig& c) : cfg_(c) {
    ctx_ = std::make_unique<VerilatedContext>();
    ctx_->randReset(0);
    top_ = std::make_unique<V>(ctx_.get(), "sessnic_top");
#if VM_TRACE
    if (const char* path = std::getenv("SESSNIC_TRACE")) {
      ctx_->traceEverOn(true);
      trace_ = std::make_unique<VerilatedFstC>();
      top_->trace(trace_.get(), 99);
      trace_->open((std::string(path) + ".card" + std::to_string(c.card) + ".fst").c_str());
    }
#endif
    top_->s_cmd_tvalid = 0;
    top_->m_rsp_tready = 1;
    top_->s_bp_rx_tvalid = 0;
    top_->m_bp_tx_tready = 1;
    top_->s_axil_awvalid = 0;
    top_->s_axil_wvalid = 0;
    top_->s_axil_arvalid = 0;
    top_->s_axil_bready = 0;
    top_->s_axil_rready = 0;
    restart(c.epoch);
  }
  // Reset (the card loses its table and sequence state) and write the registers again
  // with `epoch` (nonzero; larger than before, as the driver does on every open).
  // Commands, frames and responses queued around the card are dropped, as on a reboot.
  void restart(uint32_t epoch) {
    cfg_.epoch = epoch;
    cmd_in_.clear();
    rx_.clear();
    partial_.clear();
    tx_partial_.clear();
    at_header_ = true;
    top_->s_cmd_tvalid = 0;
    top_->s_bp_rx_tvalid = 0;
    top_->rst = 1;
    for (int i = 0; i < 3; ++i) tick();
    top_->rst = 0;
    for (int i = 0; i < (1 << 14) && (read(0x10) & 1); ++i) tick();  // status.flushing
    if (read(0x10) & 1) throw std::runtime_error("sessnic_top: flush never finished");
    const CardConfig& c = cfg_;
    write(0x08, c.card);
    write(0x18, c.members);
    write(0x1C, c.epoch);
    write(0x20, c.hub);
    write(0x24, c.rto);
    write(0x28, c.max_retries);
    write(0x0C, (c.sweep ? 1u : 0u) | (c.bp_enable ? 0x100u : 0u) | (static_cast<uint32_t>(c.mode) << 9));
  }
  ~TopCard() override {
    top_->final();
#if VM_TRACE
    if (trace_) trace_->close();
#endif
  }
  TopCard(const TopCard&) = delete;
  TopCard& operator=(const TopCard&) = delete;

  uint8_t card() const override { return cfg_.card; }

  void send(std::span<const Beat> cmd) {
    for (const Beat& b : cmd) cmd_in_.push_back(b);
  }
  std::deque<std::vector<Beat>>& responses() { return rsp_; }
  uint64_t cycle() const { return cycle_; }
  // Cycle at which each command header was accepted (in order), for latency figures.
  std::deque<uint64_t>& header_cycles() { return hdr_cycles_; }
  std::deque<uint64_t>& response_cycles() { return rsp_cycles_; }
  // bp_sync counter i (sessnic_top.bp_counters, docs/rtl.md).
  uint32_t bp_counter(unsigned i) const { return top_->bp_counters[i]; }
  V& top() { return *top_; }

  size_t rx_backlog() const { return rx_.size(); }  // beats waiting for the RX port
  void deliver(const Frame& f) override {
    for (const Beat& b : f) rx_.push_back(b);
  }
  std::vector<Frame> take_tx() override { return std::exchange(tx_done_, {}); }

  void tick() override {
    top_->clk = 0;
    top_->s_cmd_tvalid = !cmd_in_.empty();
    if (!cmd_in_.empty()) put(top_->s_cmd_tdata, cmd_in_.front()), top_->s_cmd_tlast = cmd_in_.front().last;
    top_->s_bp_rx_tvalid = !rx_.empty();
    if (!rx_.empty()) put(top_->s_bp_rx_tdata, rx_.front()), top_->s_bp_rx_tlast = rx_.front().last;
    top_->eval();
    if (top_->s_cmd_tvalid && top_->s_cmd_tready) {
      if (at_header_) hdr_cycles_.push_back(cycle_);
      at_header_ = cmd_in_.front().last;
      cmd_in_.pop_front();
    }
    dump();
    if (top_->s_bp_rx_tvalid && top_->s_bp_rx_tready) rx_.pop_front();
    if (top_->m_rsp_tvalid && top_->m_rsp_tready) {
      const Beat b = get(top_->m_rsp_tdata, top_->m_rsp_tlast);
      if (partial_.empty()) rsp_cycles_.push_back(cycle_);
      partial_.push_back(b);
      if (b.last) rsp_.push_back(std::exchange(partial_, {}));
    }
    if (top_->m_bp_tx_tvalid && top_->m_bp_tx_tready) {
      const Beat b = get(top_->m_bp_tx_tdata, top_->m_bp_tx_tlast);
      tx_partial_.push_back(b);
      if (b.last) tx_done_.push_back(std::exchange(tx_partial_, {}));
    }
    top_->clk = 1;
    top_->eval();
    ++cycle_;
    ctx_->timeInc(1);
    dump();
  }

  // AXI4-Lite (only before/between cluster runs: it clocks this card alone; axil_driver.hpp).
  uint32_t read(uint32_t addr) { return axil_read(*top_, addr, [this] { ++cycle_; }).data; }
  void write(uint32_t addr, uint32_t data) { axil_write(*top_, addr, data, [this] { ++cycle_; }); }

 private:
  void dump() {
#if VM_TRACE
    if (trace_) trace_->dump(ctx_->time() * 2 + top_->clk);
#endif
  }
  template <class W>
  static void put(W& d, const Beat& b) {
    for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) {
      d[2 * w] = static_cast<uint32_t>(b.data[w]);
      d[2 * w + 1] = static_cast<uint32_t>(b.data[w] >> 32);
    }
  }
  template <class W>
  static Beat get(const W& d, bool last) {
    Beat b;
    for (unsigned w = 0; w < wire::BEAT_WORDS; ++w)
      b.data[w] = static_cast<uint64_t>(d[2 * w]) | (static_cast<uint64_t>(d[2 * w + 1]) << 32);
    b.last = last;
    return b;
  }

  CardConfig cfg_;
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<V> top_;
#if VM_TRACE
  std::unique_ptr<VerilatedFstC> trace_;
#endif
  std::deque<Beat> cmd_in_, rx_;
  bool at_header_ = true;
  std::deque<uint64_t> hdr_cycles_, rsp_cycles_;
  std::deque<std::vector<Beat>> rsp_;
  std::vector<Beat> partial_, tx_partial_;
  std::vector<Frame> tx_done_;
  uint64_t cycle_ = 0;
};

// The wires between nodes: every cycle each node ticks, then the frames its TX port
// finished are routed by `dst`, each directed link losing a frame with probability
// `drop` and delaying it by `delay` + [0, jitter] cycles (in order per link unless
// `reorder`: then a frame with a shorter draw overtakes earlier ones). An optional tap
// sees every frame a node sent (before loss), for tests that watch the protocol.
class Cluster {
 public:
  struct Link {
    double drop = 0.0;
    unsigned delay = 4;
    unsigned jitter = 0;
    bool reorder = false;
  };
  explicit Cluster(uint64_t seed = 1) : rng_(seed) {}

  void add(Node* n) { nodes_.push_back(n); }
  void set_link(uint8_t src, uint8_t dst, Link l) { links_[{src, dst}] = l; }
  void set_all_links(Link l) {
    links_.clear();
    default_ = l;
  }
  uint64_t cycle() const { return cycle_; }
  uint64_t frames_sent() const { return sent_; }
  uint64_t frames_dropped() const { return dropped_; }
  void set_tap(std::function<void(const Frame&)> tap) { tap_ = std::move(tap); }

  void tick() {
    for (Node* n : nodes_) n->tick();
    for (Node* n : nodes_) {
      for (Frame& f : n->take_tx()) {
        ++sent_;
        if (tap_) tap_(f);
        const unsigned dst = static_cast<unsigned>(wire::get_field(f[0].data, wire::frame::dst));
        for (Node* m : nodes_) {
          if (m == n || (dst != 255 && dst != m->card())) continue;
          const Link& l = link(n->card(), m->card());
          if (l.drop > 0 && coin_(rng_) < l.drop) {
            ++dropped_;
            continue;
          }
          uint64_t due = cycle_ + l.delay + (l.jitter ? rng_() % (l.jitter + 1) : 0);
          uint64_t& last = last_due_[{n->card(), m->card()}];
          if (!l.reorder) {
            if (due < last) due = last;
            last = due;
          }
          pending_.insert({due, {m, f}});
        }
      }
    }
    while (!pending_.empty() && pending_.begin()->first <= cycle_) {
      auto it = pending_.begin();
      it->second.first->deliver(it->second.second);
      pending_.erase(it);
    }
    ++cycle_;
  }
  void run(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) tick();
  }
  template <class Pred>
  bool run_until(Pred done, uint64_t max_cycles) {
    for (uint64_t i = 0; i < max_cycles; ++i) {
      if (done()) return true;
      tick();
    }
    return done();
  }

 private:
  const Link& link(uint8_t s, uint8_t d) const {
    auto it = links_.find({s, d});
    return it == links_.end() ? default_ : it->second;
  }
  std::vector<Node*> nodes_;
  std::map<std::pair<uint8_t, uint8_t>, Link> links_;
  Link default_;
  std::map<std::pair<uint8_t, uint8_t>, uint64_t> last_due_;
  std::multimap<uint64_t, std::pair<Node*, Frame>> pending_;
  std::mt19937_64 rng_;
  std::function<void(const Frame&)> tap_;
  std::uniform_real_distribution<double> coin_{0.0, 1.0};
  uint64_t cycle_ = 0;
  uint64_t sent_ = 0, dropped_ = 0;
};

}  // namespace sessnic::rtlsim
