// bench_rtl: cycle figures of the Verilated session table (rtl/sess_table), not timings.
//
//   rtl_put_cmds_per_cycle   sustained PUTs of 256-byte entries, consecutive commands in
//                            different sets, TVALID/TREADY always high
//   rtl_get_cmds_per_cycle   the same for GET hits returning the 256-byte blob
//   rtl_get_latency_cycles   one GET hit into an idle table: header beat accepted to the
//                            last blob beat delivered
//   rtl_miss_cmds_per_cycle  sustained GET misses (1-beat commands, 1-beat answers),
//                            consecutive commands in different sets: the pipeline's own
//                            rate, bounded by 1.0
// A 256-byte entry is 4 payload beats + 1 header beat, so the stream itself caps a
// PUT or GET hit at 1/5 = 0.2 commands per cycle; the figures printed below for
// 64-byte entries and GET misses show the pipeline's own rate (docs/rtl.md).
//   rtl_transfer_latency_cycles  two Verilated sessnic_top cards wired back to back by
//                            their backplane ports (transfer mode): D's host TRANSFER
//                            command accepted -> OK result beat out of D, for a 256-byte
//                            entry (EXPORT, TRANSFER frame of 6 beats, E's checks and
//                            PUT, ACK with the outcome). The harness link is store-and-
//                            forward: a frame reaches the RX port the cycle after its
//                            last beat left TX (a cut-through link IP would be faster by
//                            the frame's beats, once per direction).
//   rtl_transfer_latency_cycles_relayed  three cards (transfer mode): card C's host
//                            TRANSFER of a key owned by D to E accepted -> OK at C
//                            (TRANSFER_REQ C->D, EXPORT at D, TRANSFER D->E, outcome
//                            ACK, TRANSFER_RESULT D->C), 256-byte entries.
//   rtl_replicate_puts_per_kcycle  three cards (replicate mode, no loss): 192 PUTs of
//                            256 B queued at one card; PUTs per 1000 cycles from the first
//                            command accepted until both peers applied all of them.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "Vsess_table_s6w4.h"
#include "Vsessnic_top_s6w4.h"
#include "session_table.hpp"
#include "sess_table_sim.hpp"
#include "table_command.hpp"
#include "top_cluster_sim.hpp"

namespace {

using sessnic::Beat;
using sessnic::rtlsim::TableCommand;
namespace wire = sessnic::wire;
using Kernel = sessnic::SessionTable<6, 4>;
using Sim = sessnic::rtlsim::SessTableSim<Vsess_table_s6w4>;

// Keys spread so that key i lands in set i % 64: a stream in key order never hits the
// same set twice in a row.
std::vector<TableCommand> keys_by_set(unsigned count, std::mt19937_64& rng) {
  std::vector<std::vector<TableCommand>> per_set(Kernel::kSets);
  unsigned have = 0;
  while (have < count) {
    TableCommand c;
    c.key_len = 32;
    uint64_t w[4];
    for (unsigned i = 0; i < 4; ++i) w[i] = rng();
    std::memcpy(c.key.data(), w, 32);
    const unsigned s = Kernel::set_index(w, 32, 0);
    if (per_set[s].size() < (count + Kernel::kSets - 1) / Kernel::kSets) {
      per_set[s].push_back(c);
      ++have;
    }
  }
  std::vector<TableCommand> out;
  for (unsigned round = 0; out.size() < count; ++round)
    for (unsigned s = 0; s < Kernel::kSets && out.size() < count; ++s)
      if (round < per_set[s].size()) out.push_back(per_set[s][round]);
  return out;
}

struct Run {
  double cmds_per_cycle;
  uint64_t cycles;
  unsigned bad;  // responses with an unexpected status
};

// Streams `cmds` back to back and counts cycles from the first header accepted to the
// last response beat.
Run stream(Sim& sim, const std::vector<TableCommand>& cmds, wire::Status want) {
  sim.responses().clear();
  sim.header_cycles().clear();
  for (const auto& c : cmds) sim.send(sessnic::rtlsim::encode(c));
  const uint64_t start = sim.cycle();
  if (!sim.run_until_responses(cmds.size(), 100ull * cmds.size() + 1000)) {
    std::fprintf(stderr, "bench_rtl: the table stopped answering\n");
    std::exit(1);
  }
  const uint64_t first = sim.header_cycles().empty() ? start : sim.header_cycles().front();
  const uint64_t cycles = sim.cycle() - first;
  unsigned bad = 0;
  for (const auto& r : sim.responses())
    if (wire::get_field(r.beats[0].data, wire::header::status) != static_cast<uint64_t>(want)) ++bad;
  return {static_cast<double>(cmds.size()) / static_cast<double>(cycles), cycles, bad};
}

std::vector<TableCommand> with_op(std::vector<TableCommand> keys, wire::Opcode op, unsigned blob) {
  for (auto& c : keys) {
    c.op = static_cast<uint8_t>(op);
    c.expiry = 100000;
    if (op == wire::Opcode::PUT) {
      c.payload.assign(blob, static_cast<uint8_t>(c.key[0]));
      c.blob_len = static_cast<uint16_t>(blob);
    }
  }
  return keys;
}

using TopCard = sessnic::rtlsim::TopCard<Vsessnic_top_s6w4>;

// Sends one command to a card of the cluster and runs the cluster until it answers (the
// card's response and cycle records start empty); its status. A card that never answers
// ends the bench.
uint64_t answer_of(sessnic::rtlsim::Cluster& net, TopCard& c, const TableCommand& cmd, uint64_t max_cycles) {
  c.responses().clear();
  c.header_cycles().clear();
  c.response_cycles().clear();
  c.send(sessnic::rtlsim::encode(cmd));
  if (!net.run_until([&] { return !c.responses().empty(); }, max_cycles)) {
    std::fprintf(stderr, "bench_rtl: card %u stopped answering\n", unsigned(c.card()));
    std::exit(1);
  }
  return wire::get_field(c.responses().front()[0].data, wire::header::status);
}

// D -> E transfers of 256-byte entries between two Verilated cards; the latency of each
// (TRANSFER header accepted -> result beat out), all must answer OK. Returns the median.
struct TransferRun {
  double median, min, max;
  unsigned n;
};
TransferRun transfer_latency() {
  using Card = TopCard;
  namespace rs = sessnic::rtlsim;
  const uint32_t members = (1u << 1) | (1u << 2);
  Card d(rs::CardConfig{.card = 1, .members = members, .mode = wire::BpMode::TRANSFER});
  Card e(rs::CardConfig{.card = 2, .members = members, .mode = wire::BpMode::TRANSFER});
  rs::Cluster net(7);
  net.add(&d);
  net.add(&e);
  net.set_all_links({.drop = 0.0, .delay = 0, .jitter = 0});
  auto answer = [&](Card& c, const TableCommand& cmd) { return answer_of(net, c, cmd, 100000); };
  TableCommand t;
  t.op = static_cast<uint8_t>(wire::Opcode::SET_TIME);
  t.aux = 10;
  answer(d, t);
  answer(e, t);
  net.run(200);  // HELLOs
  std::mt19937_64 rng(9);
  std::vector<double> lat;
  for (unsigned i = 0; i < 32; ++i) {
    TableCommand p;
    p.op = static_cast<uint8_t>(wire::Opcode::PUT);
    p.key_len = 32;
    for (auto& b : p.key) b = static_cast<uint8_t>(rng());
    p.expiry = 100000;
    p.payload.assign(256, static_cast<uint8_t>(i));
    p.blob_len = 256;
    p.tag = 2 * i + 1;
    if (answer(d, p) != 0) std::exit(1);
    net.run(50);  // idle cards: the transfer is measured alone
    TableCommand x = p;
    x.op = static_cast<uint8_t>(wire::Opcode::TRANSFER);
    x.payload.clear();
    x.blob_len = 0;
    x.expiry = 0;
    x.tag = 2 * i + 2;
    x.aux = 2 | (uint64_t{255} << 8);  // sync_cmd.dest = E, owner = this card
    if (answer(d, x) != 0) {
      std::fprintf(stderr, "bench_rtl: transfer %u did not answer OK\n", i);
      std::exit(1);
    }
    lat.push_back(static_cast<double>(d.response_cycles().front() - d.header_cycles().front()));
  }
  std::sort(lat.begin(), lat.end());
  return {lat[lat.size() / 2], lat.front(), lat.back(), static_cast<unsigned>(lat.size())};
}

TableCommand put_cmd(std::mt19937_64& rng, uint32_t tag) {
  TableCommand p;
  p.op = static_cast<uint8_t>(wire::Opcode::PUT);
  p.key_len = 32;
  for (auto& b : p.key) b = static_cast<uint8_t>(rng());
  p.expiry = 100000;
  p.payload.assign(256, static_cast<uint8_t>(tag));
  p.blob_len = 256;
  p.tag = tag;
  return p;
}

// Three cards 1, 2, 3 (transfer mode): card 3 asks owner 1 to move a key to card 2.
TransferRun relayed_latency() {
  namespace rs = sessnic::rtlsim;
  const uint32_t members = (1u << 1) | (1u << 2) | (1u << 3);
  std::vector<std::unique_ptr<TopCard>> cards;
  rs::Cluster net(7);
  for (uint8_t id : {1, 2, 3}) {
    cards.push_back(std::make_unique<TopCard>(rs::CardConfig{.card = id, .members = members, .mode = wire::BpMode::TRANSFER}));
    net.add(cards.back().get());
  }
  TopCard& owner = *cards[0];
  TopCard& asker = *cards[2];
  auto answer = [&](TopCard& c, const TableCommand& cmd) { return answer_of(net, c, cmd, 1000000); };
  TableCommand t;
  t.op = static_cast<uint8_t>(wire::Opcode::SET_TIME);
  t.aux = 10;
  for (auto& c : cards) answer(*c, t);
  net.run(400);  // HELLOs
  std::mt19937_64 rng(11);
  std::vector<double> lat;
  for (unsigned i = 0; i < 32; ++i) {
    const TableCommand p = put_cmd(rng, 2 * i + 1);
    if (answer(owner, p) != 0) std::exit(1);
    net.run(50);
    TableCommand x = p;
    x.op = static_cast<uint8_t>(wire::Opcode::TRANSFER);
    x.payload.clear();
    x.blob_len = 0;
    x.expiry = 0;
    x.tag = 2 * i + 2;
    x.aux = 2 | (uint64_t{1} << 8);  // sync_cmd.dest = card 2, owner = card 1
    if (answer(asker, x) != 0) {
      std::fprintf(stderr, "bench_rtl: relayed transfer %u did not answer OK\n", i);
      std::exit(1);
    }
    lat.push_back(static_cast<double>(asker.response_cycles().front() - asker.header_cycles().front()));
    net.run(50);
  }
  std::sort(lat.begin(), lat.end());
  return {lat[lat.size() / 2], lat.front(), lat.back(), static_cast<unsigned>(lat.size())};
}

// Sustained replication: PUTs per 1000 cycles, until both peers applied every one.
double replicate_puts_per_kcycle(unsigned n) {
  namespace rs = sessnic::rtlsim;
  constexpr unsigned kApplied = 3;  // bp_counters index (docs/rtl.md)
  constexpr unsigned kNotSent = 10;
  const uint32_t members = (1u << 1) | (1u << 2) | (1u << 3);
  std::vector<std::unique_ptr<TopCard>> cards;
  rs::Cluster net(7);
  for (uint8_t id : {1, 2, 3}) {
    cards.push_back(std::make_unique<TopCard>(rs::CardConfig{.card = id, .members = members, .mode = wire::BpMode::REPLICATE}));
    net.add(cards.back().get());
  }
  TableCommand t;
  t.op = static_cast<uint8_t>(wire::Opcode::SET_TIME);
  t.aux = 10;
  for (auto& c : cards) c->send(sessnic::rtlsim::encode(t));
  net.run(400);  // HELLOs
  std::mt19937_64 rng(12);
  TopCard& src = *cards[0];
  src.header_cycles().clear();
  src.responses().clear();
  // keys spread over the sets (n <= 3 x 64): no eviction, every PUT is replicated
  auto keys = with_op(keys_by_set(n, rng), wire::Opcode::PUT, 256);
  for (unsigned i = 0; i < n; ++i) {
    keys[i].tag = 100 + i;
    keys[i].expiry = 100000;
    src.send(sessnic::rtlsim::encode(keys[i]));
  }
  const uint64_t start = src.cycle();
  const bool done = net.run_until(
      [&] { return cards[1]->bp_counter(kApplied) >= n && cards[2]->bp_counter(kApplied) >= n; }, 100ull * 1000 * n);
  if (!done || src.bp_counter(kNotSent) != 0) {
    std::fprintf(stderr, "bench_rtl: replication incomplete (applied %u / %u of %u, not_sent %u)\n",
                 cards[1]->bp_counter(kApplied), cards[2]->bp_counter(kApplied), n, src.bp_counter(kNotSent));
    std::exit(1);
  }
  for (const auto& r : src.responses())
    if (wire::get_field(r[0].data, wire::header::status) != 0) std::exit(1);
  const uint64_t first = src.header_cycles().empty() ? start : src.header_cycles().front();
  return 1000.0 * n / static_cast<double>(src.cycle() - first);
}

}  // namespace

int main() {
  std::mt19937_64 rng(42);
  constexpr unsigned kCmds = 4096;
  const auto keys = keys_by_set(256, rng);  // fills 64 sets x 4 ways exactly
  std::vector<TableCommand> put_keys, miss_keys;
  for (unsigned i = 0; i < kCmds; ++i) put_keys.push_back(keys[i % keys.size()]);
  auto other = keys_by_set(kCmds, rng);  // never stored: GET misses

  Sim sim(1);
  TableCommand t;
  t.op = static_cast<uint8_t>(wire::Opcode::SET_TIME);
  t.aux = 10;
  stream(sim, {t}, wire::Status::OK);

  const Run put256 = stream(sim, with_op(put_keys, wire::Opcode::PUT, 256), wire::Status::OK);
  const Run get256 = stream(sim, with_op(put_keys, wire::Opcode::GET, 0), wire::Status::OK);
  const Run put64 = stream(sim, with_op(put_keys, wire::Opcode::PUT, 64), wire::Status::OK);
  const Run get64 = stream(sim, with_op(put_keys, wire::Opcode::GET, 0), wire::Status::OK);
  const Run miss = stream(sim, with_op(other, wire::Opcode::GET, 0), wire::Status::MISS);
  stream(sim, with_op(put_keys, wire::Opcode::PUT, 256), wire::Status::OK);

  // Latency: one GET hit into an idle table.
  sim.run_cycles(20);
  sim.responses().clear();
  sim.header_cycles().clear();
  auto one = with_op({keys[5]}, wire::Opcode::GET, 0);
  sim.send(sessnic::rtlsim::encode(one[0]));
  sim.run_until_responses(1, 1000);
  const uint64_t accepted = sim.header_cycles().front();
  const uint64_t first_beat = sim.responses().front().out_cycle;
  const uint64_t last_beat = first_beat + sim.responses().front().beats.size() - 1;
  const double get_latency = static_cast<double>(last_beat - accepted);

  const TransferRun xfer = transfer_latency();
  const TransferRun relayed = relayed_latency();
  constexpr unsigned kReplPuts = 192;
  const double repl = replicate_puts_per_kcycle(kReplPuts);

  const unsigned bad = put256.bad + get256.bad + put64.bad + get64.bad + miss.bad;
  std::printf("rtl sess_table (64 sets x 4 ways x 256 B), %u commands per stream, consecutive sets differ\n", kCmds);
  std::printf("  PUT 256 B   %.4f cmds/cycle (%llu cycles; stream bound 0.2)\n", put256.cmds_per_cycle,
              static_cast<unsigned long long>(put256.cycles));
  std::printf("  GET 256 B   %.4f cmds/cycle (%llu cycles; stream bound 0.2)\n", get256.cmds_per_cycle,
              static_cast<unsigned long long>(get256.cycles));
  std::printf("  PUT 64 B    %.4f cmds/cycle (stream bound 0.5)\n", put64.cmds_per_cycle);
  std::printf("  GET 64 B    %.4f cmds/cycle (stream bound 0.5)\n", get64.cmds_per_cycle);
  std::printf("  GET miss    %.4f cmds/cycle (stream bound 1.0)\n", miss.cmds_per_cycle);
  std::printf("  GET latency %.0f cycles to the last blob beat (%llu to the header beat)\n", get_latency,
              static_cast<unsigned long long>(first_beat - accepted));
  std::printf("rtl backplane (2 x sessnic_top, transfer mode, store-and-forward link), %u transfers of 256 B\n",
              xfer.n);
  std::printf("  TRANSFER latency %.0f cycles median (min %.0f, max %.0f): host command accepted -> OK at D\n",
              xfer.median, xfer.min, xfer.max);
  std::printf("  relayed TRANSFER latency %.0f cycles median (min %.0f, max %.0f): C's command -> OK at C, D -> E\n",
              relayed.median, relayed.min, relayed.max);
  std::printf("rtl backplane (3 x sessnic_top, replicate mode, no loss): %u PUTs of 256 B at one card\n", kReplPuts);
  std::printf("  %.2f replicated PUTs per 1000 cycles (until both peers applied all)\n", repl);
  if (bad != 0) {
    std::fprintf(stderr, "bench_rtl: %u responses had an unexpected status\n", bad);
    return 1;
  }

  if (const char* dir = std::getenv("SESSNIC_BENCH_PARTS")) {
    std::ofstream f(std::string(dir) + "/rtl.json");
    f << "{\n  \"rtl_get_cmds_per_cycle\": " << get256.cmds_per_cycle << ",\n  \"rtl_put_cmds_per_cycle\": "
      << put256.cmds_per_cycle << ",\n  \"rtl_get_latency_cycles\": " << get_latency
      << ",\n  \"rtl_transfer_latency_cycles\": " << xfer.median
      << ",\n  \"rtl_transfer_latency_cycles_relayed\": " << relayed.median
      << ",\n  \"rtl_replicate_puts_per_kcycle\": " << repl
      << ",\n  \"rtl_miss_cmds_per_cycle\": " << miss.cmds_per_cycle << "\n}\n";
  }
  return 0;
}
