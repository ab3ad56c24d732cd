// ring_round_trip_cycles: kernel cycles from the host starting its CMD_DOORBELL write
// (AXI4-Lite) to the status block in host memory showing the GET hit's answer (rsp_tail
// past it), for one 256-byte GET hit on an idle Verilated kernel (rtl/kernel). The host
// memory model answers reads after READ_LATENCY cycles and never stalls a ready, so the
// figure is the kernel's own (plus that latency, printed); a PCIe host adds its round
// trips on top. Also printed: the same with 30 % random ready stalls.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "ring_test_host.hpp"
#include "verilated_kernel_bus.hpp"

using namespace sessnic;
using namespace sessnic::rtlsim;

namespace {

constexpr unsigned kReadLatency = 8;

// Median, min and max of `runs` round trips.
struct Figure {
  uint64_t median, min, max;
};

Figure measure(unsigned stall_pct, unsigned runs, bool& ok) {
  VerilatedKernelBus::Options o;
  o.ready_stall_pct = stall_pct;
  o.read_latency = kReadLatency;
  VerilatedKernelBus bus(o);
  RingTestHost host(bus);
  host.init(8, 8);
  const std::vector<uint8_t> blob(256, 0x42);
  if (!host.post(ring_put(1, 0x10, blob))) ok = false;
  host.doorbell();
  if (host.collect(1, 100000).size() != 1) ok = false;
  std::vector<uint64_t> cycles;
  for (unsigned i = 0; i < runs; ++i) {
    bus.step(200);  // idle: every status write done
    const uint32_t want = host.status().rsp_tail + 5;  // header + 4 blob beats
    if (!host.post(ring_get(100 + i, 0x10))) ok = false;
    const uint64_t start = bus.cycle();
    host.doorbell();
    while (host.status().rsp_tail != want && bus.cycle() - start < 100000) bus.step(1);
    cycles.push_back(bus.cycle() - start);
    auto r = host.poll();
    if (r.size() != 1 || r[0].status() != static_cast<uint8_t>(wire::Status::OK) || r[0].blob() != blob) ok = false;
  }
  std::sort(cycles.begin(), cycles.end());
  return {cycles[cycles.size() / 2], cycles.front(), cycles.back()};
}

}  // namespace

int main() {
  bool ok = true;
  const Figure idle = measure(0, 101, ok);
  const Figure stalls = measure(30, 101, ok);
  std::printf("ring round trip (Verilated sessnic_kernel, 64 sets x 4 ways, memory read latency %u cycles)\n",
              kReadLatency);
  std::printf("  GET hit 256 B, doorbell -> status block: %llu cycles median (min %llu, max %llu)\n",
              static_cast<unsigned long long>(idle.median), static_cast<unsigned long long>(idle.min),
              static_cast<unsigned long long>(idle.max));
  std::printf("  the same with 30%% random AXI ready stalls: %llu cycles median (min %llu, max %llu)\n",
              static_cast<unsigned long long>(stalls.median), static_cast<unsigned long long>(stalls.min),
              static_cast<unsigned long long>(stalls.max));
  if (!ok) {
    std::fprintf(stderr, "bench_ring_rtl: a GET hit was not answered OK with its blob\n");
    return 1;
  }
  if (const char* dir = std::getenv("SESSNIC_BENCH_PARTS")) {
    std::ofstream f(std::string(dir) + "/ring_rtl.json");
    f << "{\n  \"ring_round_trip_cycles\": " << idle.median << "\n}\n";
  }
  return 0;
}
