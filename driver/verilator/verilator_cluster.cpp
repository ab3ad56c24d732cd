// VerilatorCluster (see verilator_cluster.hpp).
#include <algorithm>
#include "verilator_cluster.hpp"

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "Vsessnic_top_s6w4.h"
#include "sessnic/card_clock.hpp"
#include "sessnic/codec.hpp"
#include "sessnic/open_device.hpp"
#include "top_cluster_sim.hpp"

namespace sessnic {

using TopCard = rtlsim::TopCard<Vsessnic_top_s6w4>;

namespace {
// Upper bound on the cycles any command can take: the table answers within a few hundred
// cycles; a TRANSFER is answered by the RTL itself within (retries + 1) x RTO cycles.
constexpr uint64_t kMaxCycles = 1'000'000;
constexpr uint32_t kTransferTagBit = 0x80000000u;
}  // namespace

class ClusterCardDevice;

struct VerilatorCluster::Impl {
  std::mutex mu;
  rtlsim::Cluster net{1};
  std::map<uint8_t, std::unique_ptr<TopCard>> tops;
  std::map<uint8_t, std::unique_ptr<ClusterCardDevice>> devices;
  std::function<uint32_t()> clock;
  uint32_t next_tag = 1;
};

class ClusterCardDevice final : public Device {
 public:
  ClusterCardDevice(VerilatorCluster::Impl& c, TopCard& top, uint8_t id) : c_(c), top_(top), id_(id) {}
  std::string kind() const override { return "verilator"; }
  uint8_t card_id() const override { return id_; }

  void execute(std::span<const Command> cmds, std::vector<Response>& out) override {
    std::lock_guard<std::mutex> lock(c_.mu);
    sync_clock();
    std::vector<Beat> beats;
    std::vector<bool> local(cmds.size(), false);
    size_t sent = 0, transfers = 0;
    for (size_t i = 0; i < cmds.size(); ++i) {
      if (!codec::encodable(cmds[i])) {
        local[i] = true;
        continue;
      }
      beats.clear();
      Command c = cmds[i];
      if (c.op == wire::Opcode::TRANSFER) {
        c.aux = (c.aux & 0xFF) | (uint64_t{0xFF} << 8);  // owner = this card
        // Device::transfer puts a relative deadline in microseconds in `expiry` (the HLS
        // card's ticks); the RTL card compares an absolute deadline with its clock in
        // seconds. Round up so a deadline never ends before it was meant to.
        if (c.expiry != 0) c.expiry = c_.clock() + static_cast<uint32_t>(std::max<uint64_t>(1, (uint64_t{c.expiry} + 999999u) / 1000000u));
        ++transfers;
      }
      codec::encode(c, beats);
      top_.send(beats);
      ++sent;
    }
    std::vector<Response> got = collect(sent);
    // Table answers come in command order; TRANSFER results (from the backplane engine)
    // in TRANSFER order, possibly interleaved with them.
    std::vector<Response> table, xfer;
    for (auto& r : got) (r.op == wire::Opcode::TRANSFER ? xfer : table).push_back(std::move(r));
    if (xfer.size() != transfers) throw std::runtime_error("verilator cluster: TRANSFER results do not match");
    size_t ti = 0, xi = 0;
    for (size_t i = 0; i < cmds.size(); ++i) {
      if (local[i]) out.push_back(codec::local_response(cmds[i], wire::Status::TOO_LARGE));
      else if (cmds[i].op == wire::Opcode::TRANSFER) out.push_back(std::move(xfer[xi++]));
      else out.push_back(std::move(table[ti++]));
    }
  }

 private:
  std::vector<Response> collect(size_t n) {
    std::vector<Response> out;
    uint64_t spent = 0;
    while (out.size() < n) {
      auto& q = top_.responses();
      while (!q.empty() && out.size() < n) {
        Response r = codec::decode(q.front());
        q.pop_front();
        if (r.op == wire::Opcode::TRANSFER && (r.tag & kTransferTagBit)) continue;  // abandoned transfer()
        out.push_back(std::move(r));
      }
      if (out.size() == n) break;
      if (spent >= kMaxCycles) throw std::runtime_error("verilator cluster: the card stopped answering");
      c_.net.run(16);
      spent += 16;
    }
    return out;
  }

  void sync_clock() {
    const uint32_t now = c_.clock();
    const std::optional<Command> c = clock_sync_.due(now);
    if (!c) return;
    std::vector<Beat> beats;
    codec::encode(*c, beats);
    top_.send(beats);
    (void)collect(1);
    clock_sync_.ran(now);
  }

  VerilatorCluster::Impl& c_;
  TopCard& top_;
  uint8_t id_;
  CardClockSync clock_sync_;
};

VerilatorCluster::VerilatorCluster(const VerilatorClusterConfig& config) : impl_(std::make_unique<Impl>()) {
  impl_->clock = config.clock ? config.clock : wall_clock_seconds;
  uint32_t members = 0;
  for (uint8_t id : config.cards) {
    if (id >= 32) throw std::invalid_argument("verilator cluster: card ids are below 32");
    members |= 1u << id;
  }
  for (uint8_t id : config.cards) {
    rtlsim::CardConfig cc;
    cc.card = id;
    cc.members = members;
    cc.mode = config.mode;
    auto top = std::make_unique<TopCard>(cc);
    impl_->net.add(top.get());
    impl_->devices[id] = std::make_unique<ClusterCardDevice>(*impl_, *top, id);
    impl_->tops[id] = std::move(top);
  }
  impl_->net.set_all_links({.drop = 0.0, .delay = 2, .jitter = 0});
  impl_->net.run(400);  // HELLOs: every card learns every epoch
}

VerilatorCluster::~VerilatorCluster() = default;

Device& VerilatorCluster::card(uint8_t id) { return *impl_->devices.at(id); }

uint32_t VerilatorCluster::bp_counter(uint8_t id, unsigned i) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->tops.at(id)->bp_counter(i);
}

uint64_t VerilatorCluster::cycles() const { return impl_->net.cycle(); }

}  // namespace sessnic
