// SystemC system model of a sessnic cluster: N Verilated card tops (rtl/sessnic_top.sv,
// `verilator --sc`) on a 250 MHz card clock, their backplane ports joined by a SystemC
// link model (per-direction latency, bandwidth, seeded loss), driven by host command
// traffic through each card's command stream and AXI4-Lite registers.
//
// Phases (every wait is bounded; any wrong answer or timeout exits 1):
//   1. transfer mode: K host TRANSFERs between random cards; latency = TRANSFER command
//      accepted -> result beat, in ns; the moved entry is then read back (GET) on the target;
//   2. replicate mode, lossless: M PUTs on card 1; throughput = entries applied on the peers
//      per simulated second (bp_applied counters);
//   3. replicate mode, 10% loss on every link: every card writes keys, all must converge
//      (every key readable on every card, same version);
//   4. card reset: one card is reset mid-run and reconfigured; writes made after its
//      restart must reach it and its writes must reach the others.
//
//   sysc_cluster [--cards N] [--transfers K] [--updates M] [--seed S]
// Figures go to stdout and, with SESSNIC_BENCH_PARTS set, to $SESSNIC_BENCH_PARTS/sysc.json.
#include <systemc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "Vsessnic_top_sc.h"
#include "beat.hpp"
#include "wire/sessnic_wire.hpp"

namespace {

using sessnic::Beat;
namespace wire = sessnic::wire;
using Frame = std::vector<Beat>;

constexpr double kClockNs = 4.0;  // 250 MHz card clock

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "sysc_cluster: FAIL: %s (at %s)\n", why.c_str(), sc_time_stamp().to_string().c_str());
  std::exit(1);
}

sc_bv<512> to_bv(const Beat& b) {
  sc_bv<512> v;
  for (unsigned w = 0; w < wire::BEAT_WORDS; ++w) {
    v.range(64 * w + 31, 64 * w) = static_cast<uint32_t>(b.data[w]);
    v.range(64 * w + 63, 64 * w + 32) = static_cast<uint32_t>(b.data[w] >> 32);
  }
  return v;
}

Beat from_bv(const sc_bv<512>& v, bool last) {
  Beat b;
  for (unsigned w = 0; w < wire::BEAT_WORDS; ++w)
    b.data[w] = v.range(64 * w + 31, 64 * w).to_uint64() | (v.range(64 * w + 63, 64 * w + 32).to_uint64() << 32);
  b.last = last;
  return b;
}

// One card: the Verilated top plus the host side of its ports, clocked by one method.
SC_MODULE(Card) {
  sc_in<bool> clk;
  sc_signal<bool> rst{"rst"};
  // AXI4-Lite
  sc_signal<bool> awready, awvalid, wready, wvalid, bready, bvalid, arready, arvalid, rready, rvalid;
  sc_signal<uint32_t> awaddr, awprot, wdata, wstrb, bresp, araddr, arprot, rdata, rresp;
  // streams
  sc_signal<sc_bv<512>> cmd_data, rsp_data, tx_data, rx_data;
  sc_signal<bool> cmd_last, cmd_valid, cmd_ready, rsp_last, rsp_valid, rsp_ready;
  sc_signal<bool> tx_last, tx_valid, tx_ready, rx_last, rx_valid, rx_ready;
  sc_signal<sc_bv<384>> counters;

  std::unique_ptr<Vsessnic_top_sc> top;
  uint8_t id;

  // Host side.
  std::deque<Beat> cmd_q, rx_q;
  std::deque<sc_time> rx_due;  // per beat: not before this time (link model)
  std::deque<std::pair<Frame, sc_time>> responses;  // with the time of the first beat
  std::deque<sc_time> cmd_accepted;                 // header beat accept times
  std::vector<Frame> tx_done;
  Frame rsp_partial, tx_partial;
  bool at_header = true;
  struct RegOp {
    bool write;
    uint32_t addr, data;
  };
  std::deque<RegOp> reg_q;
  int reg_phase = 0;
  uint32_t reg_result = 0;
  uint64_t regs_done = 0;

  Card(sc_module_name n, uint8_t card) : sc_module(n), id(card) {
    top = std::make_unique<Vsessnic_top_sc>("top");
    top->clk(clk);
    top->rst(rst);
    top->s_axil_awready(awready); top->s_axil_awvalid(awvalid); top->s_axil_awaddr(awaddr);
    top->s_axil_awprot(awprot); top->s_axil_wready(wready); top->s_axil_wvalid(wvalid);
    top->s_axil_wdata(wdata); top->s_axil_wstrb(wstrb); top->s_axil_bready(bready);
    top->s_axil_bvalid(bvalid); top->s_axil_bresp(bresp); top->s_axil_arready(arready);
    top->s_axil_arvalid(arvalid); top->s_axil_araddr(araddr); top->s_axil_arprot(arprot);
    top->s_axil_rready(rready); top->s_axil_rvalid(rvalid); top->s_axil_rdata(rdata);
    top->s_axil_rresp(rresp);
    top->s_cmd_tdata(cmd_data); top->s_cmd_tlast(cmd_last); top->s_cmd_tvalid(cmd_valid);
    top->s_cmd_tready(cmd_ready);
    top->m_rsp_tdata(rsp_data); top->m_rsp_tlast(rsp_last); top->m_rsp_tvalid(rsp_valid);
    top->m_rsp_tready(rsp_ready);
    top->m_bp_tx_tdata(tx_data); top->m_bp_tx_tlast(tx_last); top->m_bp_tx_tvalid(tx_valid);
    top->m_bp_tx_tready(tx_ready);
    top->s_bp_rx_tdata(rx_data); top->s_bp_rx_tlast(rx_last); top->s_bp_rx_tvalid(rx_valid);
    top->s_bp_rx_tready(rx_ready);
    top->bp_counters(counters);
    rsp_ready.write(true);
    tx_ready.write(true);
    wstrb.write(0xF);
    SC_METHOD(on_clock);
    sensitive << clk.pos();
    dont_initialize();
  }
  SC_HAS_PROCESS(Card);

  uint32_t bp_counter(unsigned i) const { return counters.read().range(32 * i + 31, 32 * i).to_uint(); }

  // At each rising edge: the handshakes that just happened (sampled before the model's
  // outputs change in this edge's delta cycles), then the inputs for the next edge.
  void on_clock() {
    const sc_time now = sc_time_stamp();
    if (cmd_valid.read() && cmd_ready.read()) {
      if (at_header) cmd_accepted.push_back(now);
      at_header = cmd_q.front().last;
      cmd_q.pop_front();
    }
    if (rx_valid.read() && rx_ready.read()) {
      rx_q.pop_front();
      rx_due.pop_front();
    }
    if (rsp_valid.read() && rsp_ready.read()) {
      if (rsp_partial.empty()) rsp_first_ = now;
      rsp_partial.push_back(from_bv(rsp_data.read(), rsp_last.read()));
      if (rsp_last.read()) responses.push_back({std::exchange(rsp_partial, {}), rsp_first_});
    }
    if (tx_valid.read() && tx_ready.read()) {
      tx_partial.push_back(from_bv(tx_data.read(), tx_last.read()));
      if (tx_last.read()) tx_done.push_back(std::exchange(tx_partial, {}));
    }
    step_regs();
    cmd_valid.write(!cmd_q.empty() && !rst.read());
    if (!cmd_q.empty()) cmd_data.write(to_bv(cmd_q.front())), cmd_last.write(cmd_q.front().last);
    const bool rx_go = !rx_q.empty() && rx_due.front() <= now && !rst.read();
    rx_valid.write(rx_go);
    if (!rx_q.empty()) rx_data.write(to_bv(rx_q.front())), rx_last.write(rx_q.front().last);
  }

  // AXI4-Lite: one register operation at a time, valid held until ready.
  void step_regs() {
    if (reg_q.empty() || rst.read()) return;
    const RegOp& op = reg_q.front();
    if (op.write) {
      if (reg_phase == 0) {
        awaddr.write(op.addr), wdata.write(op.data), awvalid.write(true), wvalid.write(true), bready.write(true);
        reg_phase = 1;
        return;
      }
      if (awvalid.read() && awready.read()) awvalid.write(false);
      if (wvalid.read() && wready.read()) wvalid.write(false);
      if (bvalid.read() && bready.read()) {
        bready.write(false);
        finish_reg(0);
      }
    } else {
      if (reg_phase == 0) {
        araddr.write(op.addr), arvalid.write(true), rready.write(true);
        reg_phase = 1;
        return;
      }
      if (arvalid.read() && arready.read()) arvalid.write(false);
      if (rvalid.read() && rready.read()) {
        rready.write(false);
        finish_reg(rdata.read());
      }
    }
  }
  void finish_reg(uint32_t v) {
    reg_result = v;
    reg_q.pop_front();
    reg_phase = 0;
    ++regs_done;
  }

  void send(const Frame& f) {
    for (const Beat& b : f) cmd_q.push_back(b);
  }

 private:
  sc_time rsp_first_;
};

// The backplane: every card's TX frames to their destination card(s) (dst, or every
// other card for BROADCAST), each direction a link with latency, bandwidth and loss.
SC_MODULE(Backplane) {
  sc_in<bool> clk;
  std::vector<Card*> cards;
  double latency_ns = 500;  // switch + cable + PHY
  double gbps = 100;        // serialisation rate of one link direction
  double loss = 0.0;
  std::mt19937_64 rng{1};
  std::vector<std::vector<sc_time>> busy_until;  // [src][dst]
  uint64_t sent = 0, dropped = 0;

  SC_CTOR(Backplane) {
    SC_METHOD(move);
    sensitive << clk.pos();
    dont_initialize();
  }

  void move() {
    if (busy_until.empty()) busy_until.assign(cards.size(), std::vector<sc_time>(cards.size(), SC_ZERO_TIME));
    const sc_time now = sc_time_stamp();
    for (size_t s = 0; s < cards.size(); ++s) {
      for (Frame& f : std::exchange(cards[s]->tx_done, {})) {
        const unsigned dst = static_cast<unsigned>(wire::get_field(f[0].data, wire::frame::dst));
        for (size_t d = 0; d < cards.size(); ++d) {
          if (d == s || (dst != 255 && dst != cards[d]->id)) continue;
          ++sent;
          if (loss > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < loss) {
            ++dropped;
            continue;
          }
          const sc_time wire_time(f.size() * 64 * 8 / gbps, SC_NS);
          sc_time& busy = busy_until[s][d];
          busy = std::max(busy, now) + wire_time;
          const sc_time due = busy + sc_time(latency_ns, SC_NS);
          for (const Beat& b : f) cards[d]->rx_q.push_back(b), cards[d]->rx_due.push_back(due);
        }
      }
    }
  }
};

Frame command(wire::Opcode op, const uint8_t key[32], uint32_t tag, unsigned blob_len = 0, uint8_t fill = 0,
              uint32_t expiry = 100000, uint64_t aux = 0) {
  Frame f(1 + sessnic::beats_for(blob_len));
  for (Beat& b : f) sessnic::clear_beat(b);
  uint64_t* h = f[0].data;
  wire::set_field(h, wire::header::op, static_cast<unsigned>(op));
  wire::set_field(h, wire::header::key_len, 32);
  wire::set_field(h, wire::header::tag, tag);
  for (unsigned w = 0; w < 4; ++w) std::memcpy(&h[1 + w], key + 8 * w, 8);
  wire::set_field(h, wire::header::expiry, expiry);
  wire::set_field(h, wire::header::blob_len, blob_len);
  wire::set_field(h, wire::header::aux, aux);
  for (unsigned i = 0; i < blob_len; ++i)
    reinterpret_cast<uint8_t*>(f[1 + i / 64].data)[i % 64] = static_cast<uint8_t>(fill + i);
  f.back().last = true;
  return f;
}

struct Options {
  unsigned cards = 3, transfers = 100, updates = 64;
  uint64_t seed = 1;
};

SC_MODULE(Bench) {
  sc_in<bool> clk;
  std::vector<Card*> cards;
  Backplane* bp = nullptr;
  Options opt;
  std::mt19937_64 rng;
  std::vector<double> xfer_ns;
  double updates_per_s = 0;
  uint32_t next_tag = 1;

  SC_CTOR(Bench) {
    SC_THREAD(run);
    sensitive << clk.pos();
  }

  void cycles(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) wait();
  }
  template <class Pred>
  void wait_for(Pred done, uint64_t max_cycles, const std::string& what) {
    for (uint64_t i = 0; i < max_cycles; ++i) {
      if (done()) return;
      wait();
    }
    fail("timed out waiting for " + what);
  }
  uint32_t reg(Card& c, bool write, uint32_t addr, uint32_t data = 0) {
    const uint64_t before = c.regs_done;
    c.reg_q.push_back({write, addr, data});
    wait_for([&] { return c.regs_done > before; }, 1000, "register access");
    return c.reg_result;
  }
  Frame call(Card& c, const Frame& cmd, sc_time* accepted = nullptr, sc_time* answered = nullptr) {
    c.responses.clear();
    c.cmd_accepted.clear();
    c.send(cmd);
    wait_for([&] { return !c.responses.empty(); }, 50000, "a response from card " + std::to_string(c.id));
    if (accepted) *accepted = c.cmd_accepted.front();
    if (answered) *answered = c.responses.front().second;
    Frame r = c.responses.front().first;
    c.responses.pop_front();
    return r;
  }
  static unsigned status(const Frame& r) { return static_cast<unsigned>(wire::get_field(r[0].data, wire::header::status)); }
  static uint64_t version(const Frame& r) { return wire::get_field(r[0].data, wire::header::version); }

  void configure(Card& c, wire::BpMode mode) {
    uint32_t members = 0;
    for (Card* k : cards) members |= 1u << k->id;
    reg(c, true, 0x08, c.id);
    reg(c, true, 0x18, members);
    reg(c, true, 0x0C, 0x100u | (static_cast<uint32_t>(mode) << 9));  // bp_enable, mode, sweep off
  }
  void reset_card(Card& c) {
    c.rst.write(true);
    c.cmd_q.clear();
    c.reg_q.clear();
    c.reg_phase = 0;
    c.rx_q.clear();
    c.rx_due.clear();
    c.tx_partial.clear();
    c.rsp_partial.clear();
    cycles(4);
    c.rst.write(false);
    cycles(2);
    wait_for([&] { return (reg(c, false, 0x10) & 1) == 0; }, 100000, "table flush after reset");
  }
  void random_key(uint8_t k[32]) {
    for (int i = 0; i < 32; ++i) k[i] = static_cast<uint8_t>(rng());
  }

  static void phase(const char* what) {
    std::printf("sysc: %s (t=%s)\n", what, sc_time_stamp().to_string().c_str());
    std::fflush(stdout);
  }

  void run() {
    rng.seed(opt.seed);
    for (Card* c : cards) c->rst.write(true);
    cycles(4);
    for (Card* c : cards) c->rst.write(false);
    cycles(2);
    for (Card* c : cards) wait_for([&] { return (reg(*c, false, 0x10) & 1) == 0; }, 100000, "reset flush");
    for (Card* c : cards) configure(*c, wire::BpMode::TRANSFER);
    phase("configured; transfers");
    cycles(3000);  // HELLOs: every card learns every epoch

    // 1. Transfers.
    for (unsigned i = 0; i < opt.transfers; ++i) {
      Card& src = *cards[rng() % cards.size()];
      Card* dst = &src;
      while (dst == &src) dst = cards[rng() % cards.size()];
      uint8_t key[32];
      random_key(key);
      if (status(call(src, command(wire::Opcode::PUT, key, next_tag++, 200, uint8_t(i)))) != 0) fail("PUT before TRANSFER");
      Frame x = command(wire::Opcode::TRANSFER, key, next_tag++);
      wire::set_field(x[0].data, wire::sync_cmd::dest, dst->id);
      wire::set_field(x[0].data, wire::sync_cmd::owner, 255);
      sc_time t0, t1;
      const Frame r = call(src, x, &t0, &t1);
      if (status(r) != 0) fail("TRANSFER " + std::to_string(i) + " answered status " + std::to_string(status(r)));
      xfer_ns.push_back((t1 - t0).to_seconds() * 1e9);
      const Frame g = call(*dst, command(wire::Opcode::GET, key, next_tag++));
      if (status(g) != 0 || g.size() != 1 + sessnic::beats_for(200) ||
          reinterpret_cast<const uint8_t*>(g[1].data)[5] != uint8_t(i + 5))
        fail("the transferred entry is not on the target card");
    }

    // 2. Replication throughput, lossless.
    phase("replication");
    for (Card* c : cards) configure(*c, wire::BpMode::REPLICATE);
    std::vector<uint32_t> applied0;
    for (Card* c : cards) applied0.push_back(c->bp_counter(3));
    Card& writer = *cards[0];
    auto min_applied = [&] {
      uint32_t m = UINT32_MAX;
      for (size_t k = 1; k < cards.size(); ++k) m = std::min(m, cards[k]->bp_counter(3) - applied0[k]);
      return m;
    };
    auto all_applied = [&] { return min_applied() >= opt.updates; };
    // The engine's replication queue is 16 events deep (a full queue drops: not_sent):
    // keep at most 8 entries in flight, as a host driver would.
    const sc_time t0 = sc_time_stamp();
    for (unsigned i = 0; i < opt.updates; ++i) {
      wait_for([&] { return i - min_applied() < 8; }, 100000, "the replication window");
      uint8_t key[32];
      random_key(key);
      writer.send(command(wire::Opcode::PUT, key, next_tag++, 128, uint8_t(i)));
    }
    wait_for(all_applied, 100000, "replication to every peer");
    if (cards[0]->bp_counter(10) != 0) fail("replication events dropped (not_sent)");
    const double secs = (sc_time_stamp() - t0).to_seconds();
    updates_per_s = opt.updates * (cards.size() - 1) / secs;
    writer.responses.clear();

    // 3. Convergence under 10% loss: every card writes keys; every key on every card.
    bp->loss = 0.10;
    phase("convergence under loss");
    std::vector<std::vector<uint8_t>> keys;
    for (Card* c : cards)
      for (int i = 0; i < 4; ++i) {
        std::vector<uint8_t> k(32);
        random_key(k.data());
        keys.push_back(k);
        if (status(call(*c, command(wire::Opcode::PUT, k.data(), next_tag++, 64, 7))) != 0) fail("PUT under loss");
      }
    converge(keys, "10% loss");

    // 4. A card reset mid-run: it restarts empty and is reconfigured. Its epoch is the
    // BP_EPOCH parameter, so it comes back with the epoch it had (docs/rtl.md: a card
    // that restarts should carry a larger one); what still converges is reported.
    bp->loss = 0.0;
    Card& victim = *cards.back();
    phase("card reset");
    reset_card(victim);
    configure(victim, wire::BpMode::REPLICATE);
    cycles(3000);
    for (Card* c : {cards.front(), &victim}) {
      std::vector<uint8_t> k(32);
      random_key(k.data());
      if (status(call(*c, command(wire::Opcode::PUT, k.data(), next_tag++, 64, 9))) != 0) fail("PUT after reset");
      const bool ok = converge({k}, c == &victim ? "a card reset (write on the restarted card)"
                                                 : "a card reset (write on a peer)", 20, false);
      (c == &victim ? reset_from_card : reset_to_card) = ok;
    }
    std::printf("sysc: card reset with the same epoch: peer -> restarted card %s, restarted card -> peers %s\n",
                reset_to_card ? "converged" : "did NOT converge", reset_from_card ? "converged" : "did NOT converge");
    sc_stop();
  }

  bool reset_to_card = false, reset_from_card = false;

  // Polls GET of every key on every card until all answer OK with one version.
  bool converge(const std::vector<std::vector<uint8_t>>& keys, const std::string& what, int rounds = 200,
                bool required = true) {
    for (int round = 0; round < rounds; ++round) {
      bool ok = true;
      for (const auto& k : keys) {
        uint64_t v0 = 0;
        for (Card* c : cards) {
          const Frame g = call(*c, command(wire::Opcode::GET, k.data(), next_tag++));
          if (status(g) != 0) ok = false;
          if (c == cards.front()) v0 = version(g);
          else if (version(g) != v0) ok = false;
        }
      }
      if (ok) {
        std::printf("sysc: converged under %s after %d polling rounds (%llu frames sent, %llu lost)\n", what.c_str(),
                    round, static_cast<unsigned long long>(bp->sent), static_cast<unsigned long long>(bp->dropped));
        return true;
      }
      cycles(5000);
    }
    if (required) fail("no convergence under " + what);
    return false;
  }
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * (v.size() - 1))];
}

}  // namespace

int sc_main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const unsigned long v = std::strtoul(argv[i + 1], nullptr, 10);
    if (a == "--cards") opt.cards = static_cast<unsigned>(v);
    else if (a == "--transfers") opt.transfers = static_cast<unsigned>(v);
    else if (a == "--updates") opt.updates = static_cast<unsigned>(v);
    else if (a == "--seed") opt.seed = v;
    else fail("unknown option " + a);
  }
  if (opt.cards < 3 || opt.cards > 8) fail("--cards must be 3..8");
  Verilated::commandArgs(argc, argv);
  sc_clock clk("clk", kClockNs, SC_NS);
  std::vector<std::unique_ptr<Card>> cards;
  Backplane bp("backplane");
  bp.clk(clk);
  bp.rng.seed(opt.seed);
  Bench bench("bench");
  bench.clk(clk);
  bench.opt = opt;
  bench.bp = &bp;
  for (unsigned i = 0; i < opt.cards; ++i) {
    cards.push_back(std::make_unique<Card>(("card" + std::to_string(i + 1)).c_str(), static_cast<uint8_t>(i + 1)));
    cards.back()->clk(clk);
    bp.cards.push_back(cards.back().get());
    bench.cards.push_back(cards.back().get());
  }
  sc_start(sc_time(50, SC_MS));  // the bench stops the simulation; this bounds it
  if (bench.xfer_ns.empty() || bench.updates_per_s == 0) fail("the run did not finish");

  const double p50 = percentile(bench.xfer_ns, 0.5), p99 = percentile(bench.xfer_ns, 0.99);
  std::printf("sysc: %u cards, %.0f MHz card clock, links %.0f ns + %.0f Gbit/s\n", opt.cards, 1000 / kClockNs,
              bp.latency_ns, bp.gbps);
  std::printf("sysc_transfer_ns_p50 %.0f\nsysc_transfer_ns_p99 %.0f\nsysc_replicate_updates_per_s %.0f\n", p50, p99,
              bench.updates_per_s);
  if (const char* dir = std::getenv("SESSNIC_BENCH_PARTS")) {
    std::ofstream f(std::string(dir) + "/sysc.json");
    f << "{\n  \"sysc_transfer_ns_p50\": " << p50 << ",\n  \"sysc_transfer_ns_p99\": " << p99
      << ",\n  \"sysc_replicate_updates_per_s\": " << bench.updates_per_s << "\n}\n";
  }
  for (auto& c : cards) c->top->final();
  return 0;
}
