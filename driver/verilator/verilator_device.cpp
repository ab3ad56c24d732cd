// The `verilator` device: the card's RTL (rtl/sess_table) simulated cycle by cycle.
//
// Commands go through the same codec as every device and enter the Verilated table as
// AXI4-Stream beats; responses are reassembled from the beats the RTL sends. It is the
// proof that the host path and the hardware path agree: any test that opens a device
// by name runs unchanged on it (slowly).
//
// Geometry: `full` is the card's on-chip geometry (hls/session_table_top.hpp: 4096 sets
// x 4 ways = 16,384 sessions), not the model device's host-RAM table; `small` and
// `tiny` match the model device's. A device opened alone has no backplane partner, so
// transfer() answers FAILED (the Device contract for a device without a backplane); the
// hardware transfer path is VerilatorCluster (verilator_cluster.hpp): card tops wired by
// their backplane ports, each a Device.
//
// Threading: one mutex around the simulation; a batch is atomic like a burst into the
// card's command FIFO.
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "Vsess_table_s10w4.h"
#include "Vsess_table_s12w4.h"
#include "Vsess_table_s2w2.h"
#include "sess_table_sim.hpp"
#include "sessnic/card_clock.hpp"
#include "sessnic/codec.hpp"
#include "sessnic/open_device.hpp"

namespace sessnic {
namespace {

template <class Model>
class VerilatorDevice final : public Device {
 public:
  explicit VerilatorDevice(const DeviceConfig& config)
      : card_(config.card_id),
        sim_(std::make_unique<rtlsim::SessTableSim<Model>>(config.card_id)),
        clock_(config.clock ? config.clock : wall_clock_seconds),
        sweep_steps_(config.sweep_steps_per_batch) {}

  std::string kind() const override { return "verilator"; }
  uint8_t card_id() const override { return card_; }

  void execute(std::span<const Command> cmds, std::vector<Response>& out) override {
    out.reserve(out.size() + cmds.size());
    std::lock_guard<std::mutex> lock(mu_);
    sync_clock();
    std::vector<Beat> beats;
    std::vector<bool> local(cmds.size(), false);
    size_t sent = 0;
    for (size_t i = 0; i < cmds.size(); ++i) {
      if (!codec::encodable(cmds[i])) {
        local[i] = true;
        continue;
      }
      beats.clear();
      codec::encode(cmds[i], beats);
      sim_->send(beats);
      ++sent;
    }
    const std::vector<Response> got = run(sent);
    size_t next = 0;
    for (size_t i = 0; i < cmds.size(); ++i)
      out.push_back(local[i] ? codec::local_response(cmds[i], wire::Status::TOO_LARGE) : got[next++]);
    // The RTL sweeps one set per two idle cycles (read, then free).
    if (sweep_steps_ != 0) {
      sim_->set_sweep(true);
      sim_->run_cycles(2ull * sweep_steps_);
      sim_->set_sweep(false);
    }
  }

 private:
  // Clocks the RTL until `n` responses are out. A table that stops answering is a
  // hardware fault: reported as an exception, never as made-up responses.
  std::vector<Response> run(size_t n) {
    std::vector<Response> rsp;
    if (n == 0) return rsp;
    if (!sim_->run_until_responses(n, 64 * 1024 + 400ull * n))
      throw std::runtime_error("verilator device: the RTL table stopped answering");
    for (size_t i = 0; i < n; ++i) {
      rsp.push_back(codec::decode(sim_->responses().front().beats));
      sim_->responses().pop_front();
    }
    sim_->header_cycles().clear();
    return rsp;
  }

  void sync_clock() {
    const uint32_t now = clock_();
    const std::optional<Command> c = clock_sync_.due(now);
    if (!c) return;
    std::vector<Beat> beats;
    codec::encode(*c, beats);
    sim_->send(beats);
    (void)run(1);
    clock_sync_.ran(now);
  }

  uint8_t card_;
  std::mutex mu_;
  std::unique_ptr<rtlsim::SessTableSim<Model>> sim_;
  std::function<uint32_t()> clock_;
  unsigned sweep_steps_;
  CardClockSync clock_sync_;
};

}  // namespace

std::unique_ptr<Device> make_verilator_device(const DeviceConfig& config) {
  switch (config.geometry) {
    case TableGeometry::full:
      return std::make_unique<VerilatorDevice<Vsess_table_s12w4>>(config);
    case TableGeometry::small:
      return std::make_unique<VerilatorDevice<Vsess_table_s10w4>>(config);
    case TableGeometry::tiny:
      return std::make_unique<VerilatorDevice<Vsess_table_s2w2>>(config);
  }
  throw std::invalid_argument("unknown table geometry");
}

}  // namespace sessnic
