// `sessnic card info|selftest --device xrt|verilator|model [--xclbin F] [--index N]`:
// looks at one card directly (not through a running server). `info` prints what the
// card says about itself; `selftest` runs PUT/GET/TAKE/DEL round-trips and checks every
// answer. Exit codes: 0 = fine, 1 = a selftest check failed, 3 = the device could not be
// opened (the message says why: no card, no/wrong xclbin, ...); usage errors exit with
// CLI11's non-zero codes.
#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sessnic/open_device.hpp"
#include "sessnic/ring/ring_device.hpp"
#include "sessnic/ring/ring_regs.hpp"
#include "sessnic/xrt/xrt_bus.hpp"
#include "subcommand.hpp"
#ifdef SESSNIC_HAVE_VERILATED_RING
#include "verilated_ring_bus.hpp"
#endif

namespace sessnic::cli {
namespace {

constexpr int kExitCheckFailed = 1;
constexpr int kExitNoDevice = 3;

struct CardArgs {
  std::string device = "xrt";
  std::string xclbin;
  unsigned index = 0;
  unsigned card_id = 0;
  std::string geometry = "small";
  unsigned rounds = 3;
};

void add_device_options(CLI::App* cmd, CardArgs& a) {
  cmd->add_option("--device", a.device, "device kind: xrt (an Alveo card), verilator (the RTL, simulated), model")
      ->capture_default_str();
  cmd->add_option("--xclbin", a.xclbin, "xrt: the xclbin to load (`make xclbin`)");
  cmd->add_option("--index", a.index, "xrt: XRT device index")->capture_default_str();
  cmd->add_option("--card-id", a.card_id, "card id to give the card")->check(CLI::Range(0, 254))->capture_default_str();
  cmd->add_option("--geometry", a.geometry, "model: table size (full, small, tiny)")
      ->check(CLI::IsMember({"full", "small", "tiny"}))
      ->capture_default_str();
}

// Opening failures are the user's most likely problem (no card, wrong xclbin): they get
// their own exit code, so scripts can tell them from a failing card.
struct OpenError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::unique_ptr<Device> open_card(const CardArgs& a) {
#ifdef SESSNIC_HAVE_VERILATED_RING
  // `verilator` here is the whole card as an Alveo runs it: the Verilated Vitis kernel
  // (ring engine + card, 64 sets x 4 ways) behind the same ring driver as `xrt`.
  if (a.device == "verilator") {
    DeviceConfig c;
    c.card_id = static_cast<uint8_t>(a.card_id);
    return std::make_unique<ring::RingDevice>(
        "verilator", std::make_unique<rtlsim::VerilatedRingBus>(std::make_unique<rtlsim::VerilatedKernelBus>()), c);
  }
#endif
  DeviceConfig c;
  c.kind = a.device;
  c.card_id = static_cast<uint8_t>(a.card_id);
  c.xclbin = a.xclbin;
  c.device_index = a.index;
  c.geometry = a.geometry == "full" ? TableGeometry::full : a.geometry == "tiny" ? TableGeometry::tiny : TableGeometry::small;
  try {
    return open_device(c);
  } catch (const std::exception& e) {
    throw OpenError(e.what());
  }
}

std::string hex(uint32_t v) { return fmt::format("0x{:08x}", v); }

void print_ring(ring::RingDevice& dev) {
  if (const auto* x = dynamic_cast<const xrt_card::XrtBus*>(&dev.bus())) fmt::print("opened:       {}\n", x->description());
  const ring::RingState s = dev.state();
  const ring::RingCounters c = dev.counters();
  const auto err = static_cast<unsigned>(s.ring_status & ring::reg::kRingStatusErrorMask);
  fmt::print("identity:     ID {} ({}), register map {}.{}, BUILD_ID {} (ring contract {}, build {})\n", hex(s.id),
             s.id == ring::reg::kIdMagic ? "sessnic" : "NOT sessnic", s.version >> 16, s.version & 0xFFFF,
             hex(s.build_id), s.build_id >> 16, s.build_id & 0xFFFF);
  fmt::print("table:        2^{} sets x {} ways{}\n", (s.table_status >> 8) & 0x1F, (s.table_status >> 16) & 0x1F,
             (s.table_status & 1) ? " (flushing)" : "");
  fmt::print("epoch:        {}\n", s.epoch);
  fmt::print("rings:        engine {}{}, error {} ({}), bad descriptors {}, ring resets {}\n",
             (s.ring_ctrl & ring::reg::kRingCtrlEnable) ? "enabled" : "DISABLED",
             (s.ring_status & ring::reg::kRingStatusIdle) ? ", idle" : ", busy", err,
             wire::is_valid_ring_error(err) ? wire::to_string(static_cast<wire::RingError>(err)) : "?", s.status_bad_descs,
             s.status_resets);
  fmt::print("cmd ring:     head {} tail {}\n", s.cmd_head, s.cmd_tail);
  fmt::print("rsp ring:     head {} tail {}\n", s.rsp_head, s.rsp_tail);
  fmt::print(
      "driver:       {} commands, {} responses, {} command doorbells, {} response doorbells, {} ring-full waits, {} "
      "timeouts, {} failed in flight, {} card resets, {} recoveries, {} stray responses\n",
      c.commands, c.responses, c.cmd_doorbells, c.rsp_doorbells, c.ring_full_waits, c.timeouts, c.failed_in_flight,
      c.card_resets, c.recoveries, c.stray_responses);
}

int run_info(const CardArgs& a) {
  auto dev = open_card(a);
  fmt::print("device:       {}\n", dev->kind());
  fmt::print("card id:      {}\n", dev->card_id());
  const TableStats s = dev->stats();  // first: the ring state below then shows its round trip
  if (auto* r = dynamic_cast<ring::RingDevice*>(dev.get())) print_ring(*r);
  fmt::print("counters:    ");
  for (unsigned i = 0; i < wire::STATS_COUNT; ++i)
    fmt::print(" {}={}", wire::stats_name(i), s.counter[i]);
  fmt::print("\n");
  return 0;
}

// Checks and reports one answer; counts failures.
class Checker {
 public:
  void expect(bool ok, const std::string& what, const std::string& detail = {}) {
    ++checks_;
    if (!ok) ++failed_;
    fmt::print("{} {}{}\n", ok ? "ok  " : "FAIL", what, ok || detail.empty() ? "" : ": " + detail);
  }
  void status(const Response& r, wire::Status want, const std::string& what) {
    expect(r.status == want, what, fmt::format("status {}, expected {}", wire::to_string(r.status), wire::to_string(want)));
  }
  int checks() const { return checks_; }
  int failed() const { return failed_; }

 private:
  int checks_ = 0;
  int failed_ = 0;
};

int run_selftest(const CardArgs& a) {
  auto dev = open_card(a);
  fmt::print("selftest on {} card {}\n", dev->kind(), dev->card_id());
  Checker ck;
  std::random_device rd;
  std::mt19937_64 rng((uint64_t{rd()} << 32) | rd());
  // Keys nobody else uses (random, in service context 255), and every entry is removed
  // again: selftest on a card in service leaves nothing behind.
  auto fresh_key = [&] {
    std::vector<uint8_t> id(32);
    for (auto& b : id) b = static_cast<uint8_t>(rng());
    return SessionKey::make(id, 255);
  };
  auto pattern = [&](std::size_t n) {
    std::vector<uint8_t> b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
  };
  const uint32_t expiry = wall_clock_seconds() + 300;
  const TableStats before = dev->stats();
  unsigned puts = 0;
  for (unsigned round = 0; round < a.rounds; ++round) {
    for (std::size_t len : {std::size_t{1}, std::size_t{64}, std::size_t{200}, std::size_t{wire::SLOT_BYTES}}) {
      const std::string n = fmt::format("[{}] {} bytes:", round, len);
      const SessionKey k = fresh_key();
      const auto blob = pattern(len);
      Response r = dev->put(k, blob, expiry);
      ck.expect(r.ok(), n + " PUT", fmt::format("status {}", wire::to_string(r.status)));
      ++puts;
      r = dev->get(k);
      ck.status(r, wire::Status::OK, n + " GET finds it");
      ck.expect(r.blob == blob, n + " GET returns the blob", fmt::format("{} bytes back", r.blob.size()));
      ck.expect(r.key == k, n + " GET returns the key");
      r = dev->take(k);
      ck.status(r, wire::Status::OK, n + " TAKE");
      ck.expect(r.blob == blob, n + " TAKE returns the blob");
      ck.status(dev->get(k), wire::Status::MISS, n + " GET after TAKE misses");
      r = dev->put(k, blob, expiry);
      ck.expect(r.ok(), n + " PUT again");
      ++puts;
      ck.status(dev->del(k, expiry), wire::Status::OK, n + " DEL");
      ck.status(dev->get(k), wire::Status::MISS, n + " GET after DEL misses");
    }
  }
  const SessionKey k = fresh_key();
  ck.status(dev->put(k, pattern(wire::SLOT_BYTES + 1), expiry), wire::Status::TOO_LARGE, "PUT of SLOT_BYTES + 1 is TOO_LARGE");
  ck.status(dev->get(k), wire::Status::MISS, "and stored nothing");
  Command bad;
  bad.op = wire::Opcode::GET;  // a keyed op without a key
  std::vector<Response> out;
  dev->execute(std::span<const Command>(&bad, 1), out);
  ck.status(out.at(0), wire::Status::BAD_CMD, "GET without a key is BAD_CMD");
  const TableStats after = dev->stats();
  ck.expect(after[wire::STATS_PUTS] - before[wire::STATS_PUTS] >= puts, "STATS counted every PUT",
            fmt::format("{} counted, {} done", after[wire::STATS_PUTS] - before[wire::STATS_PUTS], puts));
  if (auto* r = dynamic_cast<ring::RingDevice*>(dev.get())) {
    const ring::RingCounters c = r->counters();
    ck.expect(c.timeouts == 0 && c.failed_in_flight == 0 && c.card_resets == 0, "rings: no timeout, loss or reset",
              fmt::format("{} timeouts, {} failed in flight, {} card resets", c.timeouts, c.failed_in_flight,
                          c.card_resets));
  }
  fmt::print("selftest {}: {} of {} checks passed\n", ck.failed() ? "FAILED" : "passed", ck.checks() - ck.failed(),
             ck.checks());
  return ck.failed() ? kExitCheckFailed : 0;
}

}  // namespace

Subcommand register_card(CLI::App& root) {
  auto args = std::make_shared<CardArgs>();
  CLI::App* cmd = root.add_subcommand("card", "look at one card directly: info, selftest");
  cmd->require_subcommand(1);
  CLI::App* info = cmd->add_subcommand("info", "identity, version, geometry, ring state and counters");
  add_device_options(info, *args);
  CLI::App* self = cmd->add_subcommand("selftest", "PUT/GET/TAKE/DEL round-trips, every answer checked");
  add_device_options(self, *args);
  self->add_option("--rounds", args->rounds, "round-trips per blob size")->check(CLI::Range(1, 100000))->capture_default_str();
  return {cmd, [args, info] {
            try {
              return info->parsed() ? run_info(*args) : run_selftest(*args);
            } catch (const OpenError& e) {
              fmt::print(stderr, "sessnic card: cannot open the {} device: {}\n", args->device, e.what());
              return kExitNoDevice;
            }
          }};
}

}  // namespace sessnic::cli
