// The `verilator` device (the whole Verilated sessnic_top) through the public Device API:
//  * against the `model` device: the same batches of commands (opened by name, as servers
//    do) give the same responses, field by field;
//  * as a card on the backplane: two cards (model + verilator, verilator + verilator),
//    each with the host's transport pump (BackplaneNode) on real loopback UDP: a PUT on
//    one is a GET hit on the other (replicate), a TAKE'd TLS 1.3 ticket is a MISS on both,
//    a TRANSFER moves an entry (transfer mode).
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane_ports.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sessnic/open_device.hpp"

namespace sessnic {
namespace {

void expect_same(const Response& m, const Response& v, size_t i) {
  EXPECT_EQ(m.status, v.status) << "#" << i;
  EXPECT_EQ(m.op, v.op) << "#" << i;
  EXPECT_EQ(m.tag, v.tag) << "#" << i;
  EXPECT_EQ(m.key, v.key) << "#" << i;
  EXPECT_EQ(m.version, v.version) << "#" << i;
  EXPECT_EQ(m.expiry, v.expiry) << "#" << i;
  EXPECT_EQ(m.flags, v.flags) << "#" << i;
  EXPECT_EQ(m.card, v.card) << "#" << i;
  EXPECT_EQ(m.blob, v.blob) << "#" << i;
}

void run_against_model(TableGeometry geometry, uint64_t seed, unsigned batches) {
  std::atomic<uint32_t> now{1000};
  DeviceConfig cfg;
  cfg.card_id = 4;
  cfg.geometry = geometry;
  cfg.clock = [&now] { return now.load(); };
  // No idle sweep: the model sweeps a fixed number of sets per batch, the RTL card on
  // every idle cycle (how many depends on cycle timing, not on the commands).
  cfg.sweep_steps_per_batch = 0;
  cfg.kind = "model";
  auto model = open_device(cfg);
  cfg.kind = "verilator";
  auto rtl = open_device(cfg);
  ASSERT_EQ(rtl->kind(), "verilator");
  ASSERT_EQ(rtl->card_id(), 4);

  std::printf("seed %llu, %u batches\n", static_cast<unsigned long long>(seed), batches);
  std::mt19937_64 rng(seed);
  std::vector<SessionKey> keys;
  for (int i = 0; i < 24; ++i) {
    std::vector<uint8_t> id(1 + rng() % 32);
    for (auto& b : id) b = static_cast<uint8_t>(rng());
    keys.push_back(SessionKey::make(id, static_cast<uint8_t>(rng() % 2)));
  }
  size_t n = 0;
  for (unsigned b = 0; b < batches; ++b) {
    if (rng() % 3 == 0) now += static_cast<uint32_t>(rng() % 8);
    std::vector<Command> cmds(1 + rng() % 12);
    for (Command& c : cmds) {
      const wire::Opcode ops[] = {wire::Opcode::PUT, wire::Opcode::PUT, wire::Opcode::GET, wire::Opcode::GET,
                                  wire::Opcode::TAKE, wire::Opcode::DEL, wire::Opcode::EXPORT, wire::Opcode::STATS};
      c.op = ops[rng() % 8];
      c.tag = static_cast<uint32_t>(rng());
      c.key = keys[rng() % keys.size()];
      c.expiry = now + static_cast<uint32_t>(rng() % 30);
      c.flags = rng() % 5 == 0 ? static_cast<uint8_t>(wire::Flags::SINGLE_USE) : 0;
      if (c.op == wire::Opcode::PUT) c.blob.resize(rng() % 9 == 0 ? 300 : 1 + rng() % 256);
      for (auto& x : c.blob) x = static_cast<uint8_t>(rng());
    }
    std::vector<Response> want, got;
    model->execute(cmds, want);
    rtl->execute(cmds, got);
    ASSERT_EQ(want.size(), got.size());
    for (size_t i = 0; i < want.size(); ++i, ++n) expect_same(want[i], got[i], n);
    if (::testing::Test::HasFailure()) return;
  }
  const TableStats sm = model->stats(), sv = rtl->stats();
  std::printf("  %zu responses matched; hits %llu, evictions %llu, swept %llu\n", n,
              static_cast<unsigned long long>(sv[wire::STATS_HITS]),
              static_cast<unsigned long long>(sv[wire::STATS_EVICTIONS]),
              static_cast<unsigned long long>(sv[wire::STATS_SWEPT]));
  EXPECT_EQ(sm.counter, sv.counter);
  EXPECT_GT(sm[wire::STATS_HITS], 10u);
  EXPECT_GT(sm[wire::STATS_EVICTIONS], 0u);
  // A card without a backplane (no pump wrote its members): a TRANSFER of a stored entry
  // is the card's, and fails as on the model.
  const std::vector<uint8_t> one(16, 1);
  ASSERT_TRUE(model->put(keys[0], one, now + 100).ok());
  ASSERT_TRUE(rtl->put(keys[0], one, now + 100).ok());
  const Response tm = model->transfer(keys[0], 2, 255, std::chrono::microseconds(1000));
  const Response tv = rtl->transfer(keys[0], 2, 255, std::chrono::microseconds(1000));
  EXPECT_EQ(tv.status, wire::Status::FAILED);
  EXPECT_EQ(tm.status, tv.status);
}

TEST(RtlVerilatorDevice, TinyTableMatchesTheModelDevice) { run_against_model(TableGeometry::tiny, 31, 150); }
TEST(RtlVerilatorDevice, CardGeometryStoresServesAndExpires) {
  // `full` on the verilator device is the card's 4096 x 4 table (not the model's).
  std::atomic<uint32_t> now{50};
  DeviceConfig cfg;
  cfg.kind = "verilator";
  cfg.card_id = 2;
  cfg.clock = [&now] { return now.load(); };
  auto rtl = open_device(cfg);
  const std::vector<uint8_t> id(32, 0xab), blob(200, 0x11);
  const SessionKey key = SessionKey::make(id, 0);
  EXPECT_EQ(rtl->put(key, blob, 100).status, wire::Status::OK);
  const Response r = rtl->get(key);
  EXPECT_EQ(r.status, wire::Status::OK);
  EXPECT_EQ(r.blob, blob);
  now = 100;
  EXPECT_EQ(rtl->get(key).status, wire::Status::EXPIRED);
}


// ---- two cards on the UDP backplane, each with the host's pump --------------------

using namespace std::chrono_literals;

std::array<uint8_t, 32> cluster_key() {
  std::array<uint8_t, 32> k{};
  for (unsigned i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(0x5A ^ (i * 13));
  return k;
}

uint32_t wall_now() { return wall_clock_seconds(); }

// Cards 1 and 2 of kinds `a` and `b`, pumps on 127.0.0.1, registers written by the pumps.
struct UdpPair {
  std::unique_ptr<Device> dev[2];
  std::unique_ptr<backplane::BackplaneNode> node[2];

  UdpPair(const std::string& a, const std::string& b, backplane::Mode mode,
          std::chrono::microseconds hello = 20000us) {
    backplane::NodeConfig cfg[2];
    std::unique_ptr<backplane::UdpTransport> udp[2];
    const std::string kinds[2] = {a, b};
    for (int i = 0; i < 2; ++i) {
      cfg[i].card_id = static_cast<uint8_t>(i + 1);
      cfg[i].mode = mode;
      cfg[i].cluster_key = cluster_key();
      cfg[i].epoch = 1000 + static_cast<uint32_t>(i);
      cfg[i].rto = 2000us;
      cfg[i].hello_interval = hello;
      udp[i] = std::make_unique<backplane::UdpTransport>(cfg[i]);
      DeviceConfig dc;
      dc.kind = kinds[i];
      dc.card_id = cfg[i].card_id;
      dc.geometry = TableGeometry::small;
      dev[i] = open_device(dc);
    }
    for (int i = 0; i < 2; ++i) {
      const int o = 1 - i;
      const backplane::PeerAddress peer{cfg[o].card_id, "127.0.0.1", udp[o]->local_port()};
      cfg[i].peers = {peer};
      udp[i]->set_peer(peer);
    }
    for (int i = 0; i < 2; ++i)
      node[i] = std::make_unique<backplane::BackplaneNode>(cfg[i], *dev[i], std::move(udp[i]));
    for (auto& n : node) n->start();
  }
  ~UdpPair() {
    for (auto& n : node) n->stop();
  }
  bool up() { return node[0]->wait_for_peers(10000ms) && node[1]->wait_for_peers(10000ms); }
};

// CPU time (user + system) of this process so far.
double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Polls `f` until it is true or `limit` passed.
bool eventually(const std::function<bool()>& f, std::chrono::milliseconds limit = 5000ms) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (f()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return f();
}

SessionKey test_key(std::mt19937_64& rng) {
  std::vector<uint8_t> id(32);
  for (auto& b : id) b = static_cast<uint8_t>(rng());
  return SessionKey::make(id, 1);
}

std::vector<uint8_t> test_blob(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

class RtlVerilatorDeviceUdp : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(RtlVerilatorDeviceUdp, ReplicatesAndATakenTicketIsAMissOnBothCards) {
  UdpPair p(GetParam().first, GetParam().second, backplane::Mode::replicate);
  ASSERT_TRUE(p.up()) << "the cards never saw each other's HELLO";
  std::mt19937_64 rng(7);
  Device& a = *p.dev[0];
  Device& b = *p.dev[1];
  // Both directions: a PUT on one card is a GET hit on the other.
  for (int dir = 0; dir < 2; ++dir) {
    Device& from = dir ? b : a;
    Device& to = dir ? a : b;
    for (int i = 0; i < 3; ++i) {
      const SessionKey k = test_key(rng);
      const std::vector<uint8_t> blob = test_blob(rng, 1 + rng() % 256);
      const Response put = from.put(k, blob, wall_now() + 300);
      ASSERT_TRUE(put.ok());
      ASSERT_TRUE(eventually([&] { return to.export_entry(k).status == wire::Status::OK; }))
          << "UPDATE never reached card " << int(to.card_id());
      const Response g = to.get(k);
      ASSERT_EQ(g.status, wire::Status::OK);
      EXPECT_EQ(g.blob, blob);
      EXPECT_EQ(g.version, put.version);
    }
  }
  // A TLS 1.3 ticket (SINGLE_USE) written on a, used once on b: a MISS on both after.
  const SessionKey ticket = test_key(rng);
  ASSERT_TRUE(a.put(ticket, test_blob(rng, 120), wall_now() + 300, static_cast<uint8_t>(wire::Flags::SINGLE_USE)).ok());
  ASSERT_TRUE(eventually([&] { return b.export_entry(ticket).status == wire::Status::OK; }));
  ASSERT_EQ(b.take(ticket).status, wire::Status::OK);
  EXPECT_NE(b.get(ticket).status, wire::Status::OK);
  EXPECT_TRUE(eventually([&] { return a.export_entry(ticket).status != wire::Status::OK; }))
      << "the used ticket is still live on the writer";
  EXPECT_NE(a.get(ticket).status, wire::Status::OK);
  EXPECT_TRUE(p.node[0]->peer_up(2) && p.node[1]->peer_up(1));
}

TEST_P(RtlVerilatorDeviceUdp, TransferMovesAnEntry) {
  UdpPair p(GetParam().first, GetParam().second, backplane::Mode::transfer);
  ASSERT_TRUE(p.up());
  std::mt19937_64 rng(9);
  for (int dir = 0; dir < 2; ++dir) {
    Device& from = *p.dev[dir];
    Device& to = *p.dev[1 - dir];
    const SessionKey k = test_key(rng);
    const std::vector<uint8_t> blob = test_blob(rng, 256);
    const Response put = from.put(k, blob, wall_now() + 300);
    ASSERT_TRUE(put.ok());
    EXPECT_EQ(to.get(k).status, wire::Status::MISS) << "transfer mode replicates nothing";
    const Response t = from.transfer(k, to.card_id(), 255, 5s);
    ASSERT_EQ(t.status, wire::Status::OK);
    const Response g = to.get(k);
    ASSERT_EQ(g.status, wire::Status::OK);
    EXPECT_EQ(g.blob, blob);
    EXPECT_EQ(g.version, put.version);
    EXPECT_EQ(from.transfer(test_key(rng), to.card_id(), 255, 2s).status, wire::Status::MISS);
    // Relayed: `to` asks the owner `from` to move a second entry to `to`.
    const SessionKey k2 = test_key(rng);
    ASSERT_TRUE(from.put(k2, blob, wall_now() + 300).ok());
    EXPECT_EQ(to.transfer(k2, to.card_id(), from.card_id(), 5s).status, wire::Status::OK);
    EXPECT_EQ(to.get(k2).status, wire::Status::OK);
  }
}

// The pump of a verilator card at rest (as tests/pump_idle for the model card): it sleeps
// until the card's next HELLO instead of polling every millisecond, the card keeps real
// time meanwhile (its HELLOs leave on schedule), and a host command wakes the pump.
// Card 2 (node[1]) is a verilator card in every instance. The product's default timers:
// rto 2 ms (a 1 ms poll), hello 50 ms (800 ms once every member is up).
TEST_P(RtlVerilatorDeviceUdp, AnIdlePumpSleepsUntilTheCardsNextHello) {
  UdpPair p(GetParam().first, GetParam().second, backplane::Mode::replicate, 50000us);
  ASSERT_TRUE(p.up());
  std::this_thread::sleep_for(300ms);  // start-up HELLOs answered; both idle
  // The card names its next timer: its idle HELLO, up to 800 ms ahead (a device that
  // cannot tell answers nullopt, and its pump polls every millisecond).
  BackplanePorts& ports = *p.dev[1]->backplane_ports();
  std::optional<uint64_t> due;
  for (int i = 0; i < 200 && !(due && *due > host_time_us() + 20'000); ++i) {
    due = ports.next_deadline_us();
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(due.has_value()) << "the verilator device does not tell its next timer";
  EXPECT_GT(*due, host_time_us() + 20'000) << "an idle card's next timer is not 'now'";
  EXPECT_LE(*due, host_time_us() + 850'000) << "beyond the card's idle HELLO";
  const backplane::NodeStats s0 = p.node[1]->stats();
  const double cpu0 = cpu_seconds();
  std::this_thread::sleep_for(2s);
  const double cpu = cpu_seconds() - cpu0;
  const backplane::NodeStats s1 = p.node[1]->stats();
  const uint64_t sleeps = s1.pump_sleeps - s0.pump_sleeps;
  const auto hello = static_cast<std::size_t>(wire::FrameType::HELLO);
  const uint64_t hellos = s1.tx_frames_by_type[hello] - s0.tx_frames_by_type[hello];
  // For the reader (not checked: CPU time depends on the machine): both pumps and cards.
  std::printf("verilator card's idle pump: %llu wake-ups, %llu HELLOs, process CPU %.3f s in 2 s\n",
              static_cast<unsigned long long>(sleeps), static_cast<unsigned long long>(hellos), cpu);
  // A HELLO every 800 ms: a few dozen wake-ups in 2 s at most (a poll is ~2000).
  EXPECT_LT(sleeps, 100u) << "the idle pump of the verilator card woke " << sleeps << " times in 2 s";
  // Its clock went on while the pump slept: idle HELLOs left (2 or 3 on an unloaded
  // machine; a host loaded far beyond its cores slows the simulation itself).
  EXPECT_GE(hellos, 1u) << "the verilator card sent no HELLO in 2 s";
  EXPECT_LE(hellos, 4u);
  EXPECT_TRUE(p.node[0]->peer_up(2) && p.node[1]->peer_up(1));
}

TEST_P(RtlVerilatorDeviceUdp, AReplicatedWriteLeavesAtOnceAfterAnIdleSpell) {
  UdpPair p(GetParam().first, GetParam().second, backplane::Mode::replicate, 50000us);
  ASSERT_TRUE(p.up());
  std::mt19937_64 rng(11);
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(300ms);  // the verilator card's pump asleep until a HELLO up to 800 ms away
    const SessionKey k = test_key(rng);
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(p.dev[1]->put(k, test_blob(rng, 100), wall_now() + 300).ok());
    ASSERT_TRUE(eventually([&] { return p.dev[0]->export_entry(k).status == wire::Status::OK; }, 2000ms));
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    // Below the sleep the pump would finish if the write did not wake it (up to 800 ms).
    EXPECT_LT(took, 600ms) << "write " << i << " reached the peer after " << took.count() << " ms";
  }
  std::this_thread::sleep_for(300ms);
  const SessionKey k = test_key(rng);
  ASSERT_TRUE(p.dev[0]->put(k, test_blob(rng, 100), wall_now() + 300).ok());
  EXPECT_TRUE(eventually([&] { return p.dev[1]->export_entry(k).status == wire::Status::OK; }, 600ms))
      << "a frame that arrives wakes the sleeping pump";
}

INSTANTIATE_TEST_SUITE_P(Cards, RtlVerilatorDeviceUdp,
                         ::testing::Values(std::pair{"model", "verilator"}, std::pair{"verilator", "verilator"}),
                         [](const auto& info) {
                           return std::string(info.param.first) + "_" + info.param.second;
                         });

}  // namespace
}  // namespace sessnic
