// The `verilator` device: the whole RTL card (rtl/sessnic_top.sv: registers, session
// table, backplane engine and card rules) simulated cycle by cycle behind the Device API.
//
// Commands go through the same codec as every device and enter the Verilated card's host
// command stream as AXI4-Stream beats, each under a device-unique tag; responses come
// back whole and are filed under their tag, so a TRANSFER answer that overtakes later
// table answers still reaches its caller. backplane_ports() gives the card's backplane
// TX/RX streams to the host's transport pump (driver/backplane), the same pump the
// `model` device uses: a `verilator` card and a `model` card interoperate over UDP.
//
// Registers: opened alone, the card has no members and the engine is off (control
// bp_enable = 0), so it sends nothing; the pump's write_registers() writes card id,
// members, mode, hub, epoch (the pump's: larger on every open), rto / retries / hello
// and enables the engine. Times arrive in microseconds of host time and become card
// cycles at kCardMHz.
//
// Clock: the card keeps real time, kCardMHz cycles per microsecond of the host's steady
// clock, at most kMaxServiceCycles per step (a Verilated card is slower than real time
// on a loaded host: then its clock just lags). The pump's service() steps it, and so does
// a caller waiting for an answer (stepping aside whenever the pump waits for the lock).
// Idle, the pump sleeps until the card's next timer (next_deadline_us(): bp_sync's HELLO
// countdown, read from the simulation, as the RTL has no register for it) and the card's
// idle cycles in between are skipped rather than clocked (skip_idle()).
// The table's clock (seconds: expiry, TRANSFER deadlines) is set with SET_TIME from
// DeviceConfig::clock, as on every device. The idle expiry sweep (control.sweep_enable)
// runs on every idle cycle unless sweep_steps_per_batch is 0.
//
// Geometry: `full` is the card's on-chip geometry (hls/session_table_top.hpp: 4096 sets x
// 4 ways = 16,384 sessions), not the model device's host-RAM table; `small` and `tiny`
// match the model device's. Card ids of a verilator card and its members are < 32 (the
// RTL's bp_peers register is a 32-bit bitmap).
//
// Threading: one mutex around the simulation; whoever holds it clocks the card (callers
// waiting for answers and the pump alike) and files every response it sees.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "Vsessnic_top_s10w4.h"
#include "Vsessnic_top_s10w4___024root.h"
#include "Vsessnic_top_s12w4.h"
#include "Vsessnic_top_s12w4___024root.h"
#include "Vsessnic_top_s2w2.h"
#include "Vsessnic_top_s2w2___024root.h"
#include "sessnic/backplane_ports.hpp"
#include "sessnic/card_clock.hpp"
#include "sessnic/codec.hpp"
#include "sessnic/open_device.hpp"
#include "top_cluster_sim.hpp"

namespace sessnic {
namespace {

// Card clock per microsecond of host time under the pump (a 1 MHz card: a Verilated
// sessnic_top runs a few million cycles per second, so three cards and their pumps fit
// on two cores).
constexpr uint64_t kCardMHz = 1;
// Most cycles one service() runs (the lock is held meanwhile).
constexpr uint64_t kMaxServiceCycles = 1'000;
// Cycles a waiting caller runs at once before it paces the card by the clock (a table
// answer needs a few dozen), in slices of kEagerSlice.
constexpr uint64_t kEagerCycles = 1024, kEagerSlice = 16;
// A waiting caller sleeps this long when the card had nothing to say.
constexpr uint64_t kWaitSliceUs = 20;
// Beats of received frames queued in front of the card's RX port before give_frame()
// says "not now" (the pump counts a refusal; the protocol resends).
constexpr size_t kRxBacklogBeats = 1 << 14;
// Frames the card sent that nobody took (no pump attached): beyond this the oldest go.
constexpr size_t kTxBacklogFrames = 4096;
// A caller never waits longer than its longest deadline plus this (a card that stopped
// answering is reported as FAILED, never as a hang).
constexpr uint64_t kAnswerGuardUs = 10'000'000;

// Register addresses (spec/regs.rdl; also written by rtlsim::TopCard::restart).
constexpr uint32_t kRegCard = 0x08, kRegControl = 0x0C, kRegMembers = 0x18, kRegEpoch = 0x1C, kRegHub = 0x20,
                   kRegRto = 0x24, kRegRetries = 0x28, kRegHello = 0x2C;

uint32_t control_word(bool sweep, bool bp_enable, wire::BpMode mode) {
  return (sweep ? 1u : 0u) | (bp_enable ? 0x100u : 0u) | (static_cast<uint32_t>(mode) << 9);
}

uint32_t clamp32(uint64_t v) { return v > 0xFFFFFFFFull ? 0xFFFFFFFFu : static_cast<uint32_t>(v); }

template <class V>
class VerilatorCard final : public Device, public BackplanePorts {
 public:
  explicit VerilatorCard(const DeviceConfig& config)
      : clock_(config.clock ? config.clock : wall_clock_seconds), sweep_(config.sweep_steps_per_batch != 0) {
    if (config.card_id >= 32)
      throw std::invalid_argument("verilator device: card id " + std::to_string(config.card_id) +
                                  " (a verilator card's id is below 32)");
    rtlsim::CardConfig c;
    c.card = config.card_id;
    c.mode = wire::BpMode::REPLICATE;
    c.bp_enable = false;  // alone: silent until the pump writes the registers
    c.sweep = sweep_;
    top_ = std::make_unique<rtlsim::TopCard<V>>(c);
    regs_.card = config.card_id;
  }

  std::string kind() const override { return "verilator"; }
  uint8_t card_id() const override {
    std::lock_guard lock(mu_);
    return regs_.card;
  }
  BackplanePorts* backplane_ports() override { return this; }

  void execute(std::span<const Command> cmds, std::vector<Response>& out) override {
    const size_t base = out.size();
    out.resize(base + cmds.size());
    std::vector<uint32_t> tags(cmds.size(), 0);
    std::unique_lock lock(mu_);
    skip_idle(host_time_us());
    sync_clock();
    uint64_t longest = 0;
    for (size_t i = 0; i < cmds.size(); ++i) {
      Command c = cmds[i];
      if (!codec::encodable(c)) {
        out[base + i] = codec::local_response(c, wire::Status::TOO_LARGE);
        continue;
      }
      if (c.op == wire::Opcode::TRANSFER || c.op == wire::Opcode::PULL) {
        // The command carries a deadline in microseconds from now (0 = the card's
        // default); the RTL card compares an absolute deadline with its table clock in
        // seconds. Rounded up, so a deadline never ends before it was meant to.
        const uint64_t us = c.expiry ? c.expiry : regs_.deadline;
        longest = std::max(longest, us);
        c.expiry = clock_() + clamp32(std::max<uint64_t>(1, (us + 999'999) / 1'000'000));
      }
      tags[i] = submit(c);
    }
    // An RTL deadline is whole seconds of the table clock: up to one more second.
    const uint64_t give_up = host_time_us() + longest + (longest ? 1'000'000 : 0) + kAnswerGuardUs;
    for (size_t i = 0; i < cmds.size(); ++i) {
      if (tags[i] == 0) continue;
      Response r;
      if (!wait_answer(lock, tags[i], give_up, r)) r = codec::local_response(cmds[i], wire::Status::FAILED);
      r.tag = cmds[i].tag;
      out[base + i] = std::move(r);
    }
    // The pump may sleep until a HELLO far away, and whether this command left work
    // behind (a replication event a cycle behind its answer, an armed timer) is not
    // visible at the answer: wake it to look again, once per batch.
    if (wake_ && told_deadline_ != 0) {
      told_deadline_ = 0;
      wake_();
    }
  }

  // ---- BackplanePorts ------------------------------------------------------------
  bool take_frame(std::vector<Beat>& frame) override {
    const PumpLock lock(*this);
    if (tx_.empty()) return false;
    frame = std::move(tx_.front());
    tx_.pop_front();
    return true;
  }

  bool give_frame(std::span<const Beat> frame) override {
    if (frame.empty()) return true;
    const PumpLock lock(*this);
    if (top_->rx_backlog() + frame.size() > kRxBacklogBeats) return false;
    skip_idle(host_time_us());
    rtlsim::Frame f(frame.begin(), frame.end());
    for (size_t i = 0; i < f.size(); ++i) f[i].last = i + 1 == f.size();
    top_->deliver(f);
    return true;
  }

  bool service(uint64_t now_us) override {
    const PumpLock lock(*this);
    return advance(now_us);
  }

  bool write_registers(const CardRegisters& r) override {
    if (r.card >= 32 || r.members[1] || r.members[2] || r.members[3] || (r.mode == wire::BpMode::HUB && r.hub >= 32))
      throw std::invalid_argument("verilator device: card ids of a verilator card and its peers are below 32");
    if (r.passive) throw std::invalid_argument("verilator device: the RTL card has no passive (table-less) mode");
    std::lock_guard lock(mu_);
    if (engine_on_) {
      // The engine ran under other registers: its sequence state must start over, and
      // the RTL resets only as a whole (the table is lost; the pump writes the registers
      // once, at start, so in practice this is a second node on one device).
      rtlsim::CardConfig c;
      c.card = r.card;
      c.bp_enable = false;
      c.sweep = sweep_;
      top_ = std::make_unique<rtlsim::TopCard<V>>(c);
      clock_sync_ = CardClockSync{};
      for (const uint32_t t : pending_) abandoned_.insert(t);
    }
    regs_ = r;
    write_reg(kRegCard, r.card);
    write_reg(kRegMembers, static_cast<uint32_t>(r.members[0] & ~(1ull << r.card)));
    write_reg(kRegEpoch, r.epoch);
    write_reg(kRegHub, r.hub);
    write_reg(kRegRto, clamp32(std::max<uint64_t>(1, r.rto * kCardMHz)));
    write_reg(kRegRetries, std::min<uint32_t>(255, std::max<uint32_t>(1, r.max_retries)));
    write_reg(kRegHello, clamp32(std::max<uint64_t>(1, r.hello_interval * kCardMHz)));
    write_reg(kRegControl, control_word(sweep_, true, r.mode));
    engine_on_ = true;
    return true;
  }

  bool read_status(CardStatus& s) override {
    std::lock_guard lock(mu_);
    // bp_counters (docs/rtl.md): tx_frames, retransmits, giveups, applied, apply_failed,
    // transfers_ok, transfers_failed, rx_dup, rx_window, rx_stale_epoch, not_sent.
    static constexpr unsigned kMap[] = {
        wire::BP_STATS_TX_FRAMES,      wire::BP_STATS_RETRANSMITS,   wire::BP_STATS_RTX_GIVEUP,
        wire::BP_STATS_APPLIED,        wire::BP_STATS_APPLY_FAILED,  wire::BP_STATS_TRANSFERS_OK,
        wire::BP_STATS_TRANSFERS_FAILED, wire::BP_STATS_RX_DUP,      wire::BP_STATS_RX_WINDOW,
        wire::BP_STATS_RX_STALE_EPOCH, wire::BP_STATS_NOT_SENT};
    for (unsigned i = 0; i < std::size(kMap); ++i) s.bp_stats[kMap[i]] = top_->bp_counter(i);
    // The receive front end's registers (bp_frame_check) and the peer joins.
    static constexpr std::pair<unsigned, uint32_t> kRegs[] = {
        {wire::BP_STATS_RX_FRAMES, 0x40},  {wire::BP_STATS_RX_BAD_VERSION, 0x44}, {wire::BP_STATS_RX_BAD_LEN, 0x48},
        {wire::BP_STATS_RX_BAD_CRC, 0x4C}, {wire::BP_STATS_RX_NOT_MINE, 0x50},    {wire::BP_STATS_PEER_JOINS, 0x88}};
    for (const auto& [i, addr] : kRegs) s.bp_stats[i] = read_reg(addr);
    const uint32_t live = live_peers();
    for (unsigned p = 0; p < 32; ++p) s.peer_up[p] = (live >> p) & 1u;
    return true;
  }

  void on_frame_ready(std::function<void()> wake) override {
    std::lock_guard lock(mu_);
    wake_ = std::move(wake);
  }

  // Quiescent (nothing in flight, see quiescent()), the card's only timer is its HELLO
  // countdown: due when the card's clock has run that many cycles past the last
  // service(). Otherwise work is due now (a retransmit, a request deadline, frames or
  // commands on their way): the pump polls, as it did for every device before.
  std::optional<uint64_t> next_deadline_us() override {
    const PumpLock lock(*this);
    if (!engine_on_ || !quiescent()) {
      told_deadline_ = 0;
      return last_us_;
    }
    const uint64_t left = top_->top().rootp->sessnic_top__DOT__bp_sync_i__DOT__hello_timer_reg;
    told_deadline_ = last_us_ + (left + kCardMHz - 1) / kCardMHz;
    return told_deadline_;
  }

 private:
  // The pump's calls take the lock through this: a caller waiting for an answer steps
  // aside while the pump waits (a plain mutex is not fair, and a waiter that clocks the
  // card would otherwise starve the pump on a loaded host: frames stuck on the card).
  class PumpLock {
   public:
    explicit PumpLock(VerilatorCard& c) : c_(c) {
      c_.pump_waiting_.fetch_add(1, std::memory_order_acq_rel);
      c_.mu_.lock();
      c_.pump_waiting_.fetch_sub(1, std::memory_order_acq_rel);
    }
    ~PumpLock() { c_.mu_.unlock(); }
    PumpLock(const PumpLock&) = delete;
    PumpLock& operator=(const PumpLock&) = delete;

   private:
    VerilatorCard& c_;
  };

  // Members whose epoch bp_sync knows and that it has not declared down (bp_sync's
  // `epoch_known`). No register exposes it, so it is read from the simulation.
  uint32_t live_peers() {
    auto* root = top_->top().rootp;
    uint32_t live = 0;
    for (unsigned p = 0; p < 32; ++p)
      if (((root->sessnic_top__DOT__bp_sync_i__DOT__member_reg >> p) & 1u) &&
          ((root->sessnic_top__DOT__bp_sync_i__DOT__peer_up_reg >> p) & 1u) &&
          ((root->sessnic_top__DOT__bp_sync_i__DOT__pe_known_reg >> p) & 1u))
        live |= 1u << p;
    return live;
  }

  // An AXI4-Lite write while the streams stand still: the register driver clocks the
  // model itself, so the stream handshakes are held off (nothing is accepted or lost).
  void write_reg(uint32_t addr, uint32_t value) {
    V& t = top_->top();
    t.s_cmd_tvalid = 0;
    t.s_bp_rx_tvalid = 0;
    t.m_rsp_tready = 0;
    t.m_bp_tx_tready = 0;
    top_->write(addr, value);
    t.m_rsp_tready = 1;
    t.m_bp_tx_tready = 1;
  }

  uint32_t read_reg(uint32_t addr) {
    V& t = top_->top();
    t.s_cmd_tvalid = 0;
    t.s_bp_rx_tvalid = 0;
    t.m_rsp_tready = 0;
    t.m_bp_tx_tready = 0;
    const uint32_t v = top_->read(addr);
    t.m_rsp_tready = 1;
    t.m_bp_tx_tready = 1;
    return v;
  }

  uint32_t next_tag() {
    uint32_t t;
    do t = ++tag_;
    while (t == 0 || done_.count(t) || abandoned_.count(t) || pending_.count(t));
    return t;
  }

  uint32_t submit(const Command& c) {
    const uint32_t tag = next_tag();
    beats_.clear();
    codec::encode(c, beats_);
    wire::set_field(beats_.front().data, wire::header::tag, tag);
    top_->send(beats_);
    pending_.insert(tag);
    return tag;
  }

  // SET_TIME when the clock's second changed; nobody waits for its answer.
  void sync_clock() {
    const uint32_t now = clock_();
    const std::optional<Command> c = clock_sync_.due(now);
    if (!c) return;
    clock_sync_.ran(now);
    abandoned_.insert(submit(*c));
  }

  // Runs the card up to host time `now_us` (kCardMHz cycles per microsecond since the
  // last call, at most kMaxServiceCycles). True if anything came out.
  bool advance(uint64_t now_us) {
    if (!started_) {
      started_ = true;
      last_us_ = now_us;
    }
    skip_idle(now_us);
    if (now_us <= last_us_) return false;
    const uint64_t cycles = std::min<uint64_t>((now_us - last_us_) * kCardMHz, kMaxServiceCycles);
    last_us_ += cycles / kCardMHz;
    sync_clock();
    const bool any = run(cycles);
    // Quiescent again after that work (a HELLO sent, a frame applied): the rest of the
    // time since the last step was idle too. Otherwise the card just lags.
    skip_idle(now_us);
    last_us_ = now_us;
    return any;
  }

  // Nothing in flight on the card or around it: every host command answered, no frame
  // waiting for the RX port or for the pump, and bp_sync idle - no unacknowledged frame
  // to any peer (so no retransmit timer), no TRANSFER / relay / pull waiting for a
  // deadline, no event, fan-out or catch-up walk to do. Then the card's cycles only count
  // its HELLO timer down and its cycle counter up (and sweep expired entries, which
  // lookups and inserts treat as free anyway). bp_sync's state is read from the
  // simulation: the RTL exposes none of it in registers.
  bool quiescent() {
    if (!pending_.empty() || !tx_.empty() || top_->rx_backlog() != 0 || !top_->responses().empty()) return false;
    const auto* r = top_->top().rootp;
    if (r->sessnic_top__DOT__bp_sync_i__DOT__state_reg != 0 /* S_IDLE */ ||
        r->sessnic_top__DOT__bp_sync_i__DOT__xfer_valid_reg || r->sessnic_top__DOT__bp_sync_i__DOT__relay_valid_reg ||
        r->sessnic_top__DOT__bp_sync_i__DOT__pl_valid_reg || r->sessnic_top__DOT__bp_sync_i__DOT__nf_valid_reg ||
        r->sessnic_top__DOT__bp_sync_i__DOT__frx_valid_reg || r->sessnic_top__DOT__bp_sync_i__DOT__tmo_valid_reg ||
        r->sessnic_top__DOT__bp_sync_i__DOT__cu_active_reg || r->sessnic_top__DOT__bp_sync_i__DOT__cu_pending_reg ||
        r->sessnic_top__DOT__bp_sync_i__DOT__bcast_todo_reg ||
        r->sessnic_top__DOT__bp_sync_i__DOT__evq_wr_reg != r->sessnic_top__DOT__bp_sync_i__DOT__evq_rd_reg)
      return false;
    for (unsigned p = 0; p < 32; ++p)
      if (r->sessnic_top__DOT__bp_sync_i__DOT__tx_una[p] != r->sessnic_top__DOT__bp_sync_i__DOT__tx_next[p]) return false;
    return true;
  }

  // Brings a quiescent card's clock towards host time `now_us` by skipping its idle cycles
  // instead of clocking them, never past the cycle before its HELLO: its timer and cycle
  // counter move as if those cycles had run, at no simulation cost. That is what lets the
  // pump sleep until the next HELLO (800,000 cycles at the default interval) while the
  // card keeps real time. Runs before a frame or a command reaches the card, as they find
  // it after an idle spell.
  void skip_idle(uint64_t now_us) {
    if (!started_ || !engine_on_ || now_us <= last_us_ || !quiescent()) return;
    auto* r = top_->top().rootp;
    uint32_t& hello = r->sessnic_top__DOT__bp_sync_i__DOT__hello_timer_reg;
    const uint64_t idle = (now_us - last_us_) * kCardMHz;
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(idle, hello > 0 ? hello - 1 : 0));
    hello -= n;
    r->sessnic_top__DOT__bp_sync_i__DOT__cyc_reg += n;
    last_us_ += n / kCardMHz;
  }

  // Clocks the card `cycles` cycles, files its responses and queues its frames. True if
  // anything came out.
  bool run(uint64_t cycles) {
    for (uint64_t i = 0; i < cycles; ++i) top_->tick();
    bool any = false, answered = false;
    auto& q = top_->responses();
    while (!q.empty()) {
      Response r = codec::decode(q.front());
      q.pop_front();
      any = true;
      pending_.erase(r.tag);
      if (abandoned_.erase(r.tag)) continue;
      done_[r.tag] = std::move(r);
      answered = true;
    }
    for (rtlsim::Frame& f : top_->take_tx()) {
      if (tx_.size() >= kTxBacklogFrames) tx_.pop_front();
      tx_.push_back(std::move(f));
      any = true;
    }
    if (answered) cv_.notify_all();
    return any;
  }

  bool wait_answer(std::unique_lock<std::mutex>& lock, uint32_t tag, uint64_t give_up, Response& r) {
    uint64_t eager = 0;
    for (;;) {
      auto it = done_.find(tag);
      if (it != done_.end()) {
        r = std::move(it->second);
        done_.erase(it);
        return true;
      }
      if (host_time_us() >= give_up) {
        abandoned_.insert(tag);
        return false;
      }
      // A table answer takes a few dozen cycles: run those at once (a sleep costs a
      // scheduling round on a loaded host). Beyond that the card keeps real time (its
      // retransmit timers are cycles, and its peers are across a real network), so a
      // waiting caller runs it as the pump does, and lets the pump and other callers in
      // between slices.
      if (eager < kEagerCycles && pump_waiting_.load(std::memory_order_acquire) == 0) {
        run(kEagerSlice);
        eager += kEagerSlice;
        if (!tx_.empty() && wake_) wake_();
        continue;
      }
      const bool worked = advance(host_time_us());
      if (!tx_.empty() && wake_) wake_();
      if (pump_waiting_.load(std::memory_order_acquire) != 0) {
        lock.unlock();
        for (int i = 0; i < 1000 && pump_waiting_.load(std::memory_order_acquire) != 0; ++i)
          std::this_thread::sleep_for(std::chrono::microseconds(kWaitSliceUs));
        lock.lock();
      } else if (!worked) {
        cv_.wait_for(lock, std::chrono::microseconds(kWaitSliceUs));
      }
    }
  }

  mutable std::mutex mu_;
  std::atomic<int> pump_waiting_{0};
  std::condition_variable cv_;
  std::unique_ptr<rtlsim::TopCard<V>> top_;
  CardRegisters regs_;
  bool engine_on_ = false;
  std::function<uint32_t()> clock_;
  bool sweep_;  // control.sweep_enable: the RTL frees expired entries on idle cycles
  CardClockSync clock_sync_;
  std::vector<Beat> beats_;
  std::unordered_map<uint32_t, Response> done_;
  std::unordered_set<uint32_t> abandoned_, pending_;
  uint32_t tag_ = 0;
  std::deque<rtlsim::Frame> tx_;
  std::function<void()> wake_;
  bool started_ = false;
  uint64_t last_us_ = 0;
  uint64_t told_deadline_ = 0;  // the pump's last next_deadline_us() sleep (0: it polls)
};

}  // namespace

std::unique_ptr<Device> make_verilator_device(const DeviceConfig& config) {
  switch (config.geometry) {
    case TableGeometry::full:
      return std::make_unique<VerilatorCard<Vsessnic_top_s12w4>>(config);
    case TableGeometry::small:
      return std::make_unique<VerilatorCard<Vsessnic_top_s10w4>>(config);
    case TableGeometry::tiny:
      return std::make_unique<VerilatorCard<Vsessnic_top_s2w2>>(config);
  }
  throw std::invalid_argument("unknown table geometry");
}

}  // namespace sessnic
