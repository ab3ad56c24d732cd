// The backplane ports of one Verilated sessnic_top (top_cluster_sim.hpp's TopCard) with
// the signatures of the card contract's BackplanePorts (driver/include/sessnic/
// backplane_ports.hpp, on the `card` branch): whole frames out of the card's TX port,
// whole frames into its RX port, and a clock that follows host time. The host transport
// pump moves frames between these calls and UDP; it has no protocol logic.
//
// Host time maps to card cycles at `cycles_per_us` (the card's clock in MHz; a Verilated
// card is far slower than that in wall time, so the pump sees a slow card, never a
// fast one). One service() call runs at most `max_cycles` cycles, so a stalled host
// clock jump does not freeze the caller.
//
// Thread-safe: one mutex around the card; execute-side users take it with with_card().
#pragma once
#include <stdint.h>

#include <deque>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

#include "top_cluster_sim.hpp"

namespace sessnic::rtlsim {

template <class V>
class TopCardPorts {
 public:
  explicit TopCardPorts(TopCard<V>& card, uint64_t cycles_per_us = 250, uint64_t max_cycles = 1'000'000,
                        size_t rx_backlog_beats = 4096)
      : card_(card), cycles_per_us_(cycles_per_us), max_cycles_(max_cycles), rx_limit_(rx_backlog_beats) {}

  // One whole frame the card put on its TX port (beats through TLAST); false if none.
  bool take_frame(std::vector<Beat>& frame) {
    std::lock_guard<std::mutex> lock(mu_);
    if (out_.empty()) return false;
    frame = std::move(out_.front());
    out_.pop_front();
    return true;
  }

  // One whole received frame for the card's RX port; false = the card cannot take it
  // now (its RX backlog is full): the pump counts a drop, the protocol resends.
  bool give_frame(std::span<const Beat> frame) {
    std::lock_guard<std::mutex> lock(mu_);
    if (frame.empty() || !frame.back().last || card_.rx_backlog() + frame.size() > rx_limit_) return false;
    card_.deliver(Frame(frame.begin(), frame.end()));
    return true;
  }

  // Runs the card up to host time now_us; true if a frame or a response came out.
  bool service(uint64_t now_us) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) {
      started_ = true;
      last_us_ = now_us;
    }
    if (now_us <= last_us_) return false;
    uint64_t cycles = (now_us - last_us_) * cycles_per_us_;
    if (cycles > max_cycles_) cycles = max_cycles_;
    last_us_ = now_us;
    const size_t rsp_before = card_.responses().size();
    for (uint64_t i = 0; i < cycles; ++i) card_.tick();
    bool work = card_.responses().size() != rsp_before;
    for (Frame& f : card_.take_tx()) {
      out_.push_back(std::move(f));
      work = true;
    }
    return work;
  }

  // Host commands and responses go through the same lock as the pump's calls.
  template <class F>
  auto with_card(F&& f) {
    std::lock_guard<std::mutex> lock(mu_);
    return f(card_);
  }

 private:
  TopCard<V>& card_;
  uint64_t cycles_per_us_, max_cycles_;
  size_t rx_limit_;
  std::mutex mu_;
  std::deque<std::vector<Beat>> out_;
  bool started_ = false;
  uint64_t last_us_ = 0;
};

}  // namespace sessnic::rtlsim
