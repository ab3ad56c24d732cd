// ring_cmds_per_s_verilator: commands per second (wall clock) through the one ring driver
// (driver/ring) into the Verilated Vitis kernel on the C++ host-memory model — the whole
// host path of the `xrt` device, with the card simulated cycle by cycle. For scale only:
// the figure is bounded by Verilator's simulation speed, not by the card. Also printed:
// kernel cycles per command over the same run (what a 300 MHz card would take per
// command, memory latency of the model included), and the soft ring engine's rate for
// comparison (the same driver, the card side in software over the model table).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "sessnic/open_device.hpp"
#include "sessnic/ring/ring_driver.hpp"
#include "sessnic/ring/soft_ring_engine.hpp"
#include "verilated_ring_bus.hpp"

using namespace sessnic;

namespace {

constexpr unsigned kKeys = 32;   // live entries: well inside the 256-entry test table
constexpr unsigned kBatch = 32;  // commands per execute(): one doorbell each

Command cmd(wire::Opcode op, unsigned k, std::size_t len) {
  Command c;
  c.op = op;
  c.tag = k;
  // 32 random-looking bytes per k (splitmix64), like real session ids: the test table's
  // 64 sets x 4 ways must not see similar ids crowd one set.
  uint8_t id[32];
  uint64_t x = 0xbe7c4000ull + k;
  for (unsigned w = 0; w < 4; ++w) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    std::memcpy(id + 8 * w, &z, 8);
  }
  c.key = SessionKey::make(id, 0);
  c.expiry = 0xF000'0000u;  // live on both clocks: the kernel's (from 0) and the model's (wall)
  c.blob.assign(len, static_cast<uint8_t>(k));
  return c;
}

struct Rate {
  double per_s = 0;
  uint64_t commands = 0;
  bool ok = true;
};

// GET hits of 256-byte blobs, kBatch per execute(), for about `seconds`.
Rate run(ring::RingDriver& drv, double seconds) {
  Rate r;
  std::vector<Command> puts;
  for (unsigned k = 0; k < kKeys; ++k) puts.push_back(cmd(wire::Opcode::PUT, k, 256));
  std::vector<Response> out;
  drv.execute(puts, out);
  for (const Response& x : out) r.ok &= x.ok();
  std::vector<Command> gets;
  for (unsigned i = 0; i < kBatch; ++i) gets.push_back(cmd(wire::Opcode::GET, i % kKeys, 0));
  const auto t0 = std::chrono::steady_clock::now();
  std::chrono::duration<double> el{};
  while (el.count() < seconds) {
    out.clear();
    drv.execute(gets, out);
    for (const Response& x : out) r.ok &= x.status == wire::Status::OK && x.blob.size() == 256;
    r.commands += gets.size();
    el = std::chrono::steady_clock::now() - t0;
  }
  r.per_s = static_cast<double>(r.commands) / el.count();
  return r;
}

}  // namespace

int main() {
  const double seconds = 2.0;
  ring::RingConfig cfg;
  cfg.layout = ring::RingLayout{8, 8};

  rtlsim::VerilatedRingBus bus(std::make_unique<rtlsim::VerilatedKernelBus>(), 16);
  ring::RingDriver drv(bus, cfg);
  const uint64_t c0 = bus.kernel().cycle();
  const Rate rtl = run(drv, seconds);
  const double cycles_per_cmd = static_cast<double>(bus.kernel().cycle() - c0) / static_cast<double>(rtl.commands);

  DeviceConfig dc;
  dc.geometry = TableGeometry::small;
  dc.sweep_steps_per_batch = 0;
  auto table = make_model_device(dc);
  ring::SoftRingBus soft_bus(*table, cfg.layout);
  ring::RingDriver soft(soft_bus, cfg);
  const Rate sw = run(soft, seconds);

  std::printf("ring driver, GET hits of 256 B, %u per doorbell, rings of 256 slots\n", kBatch);
  std::printf("  into the Verilated kernel:  %.0f commands/s (%.1f kernel cycles per command, incl. PUT warm-up)\n",
              rtl.per_s, cycles_per_cmd);
  std::printf("  into the soft ring engine:  %.0f commands/s (model table)\n", sw.per_s);
  std::printf("  driver: %llu doorbells, %llu ring-full waits, %llu timeouts\n",
              static_cast<unsigned long long>(drv.counters().cmd_doorbells),
              static_cast<unsigned long long>(drv.counters().ring_full_waits),
              static_cast<unsigned long long>(drv.counters().timeouts));
  if (!rtl.ok || !sw.ok) {
    std::fprintf(stderr, "bench_ring: a command was not answered as expected (%s)\n",
                 rtl.ok ? "soft ring engine" : "Verilated kernel");
    return 1;
  }
  if (const char* dir = std::getenv("SESSNIC_BENCH_PARTS")) {
    std::ofstream f(std::string(dir) + "/ring.json");
    f << "{\n  \"ring_cmds_per_s_verilator\": " << static_cast<uint64_t>(rtl.per_s)
      << ",\n  \"ring_cycles_per_cmd_verilator\": " << cycles_per_cmd
      << ",\n  \"ring_cmds_per_s_soft_engine\": " << static_cast<uint64_t>(sw.per_s) << "\n}\n";
  }
  return 0;
}
