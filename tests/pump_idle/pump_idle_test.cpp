// The backplane pump at rest (issue 15): two model cards on real UDP (127.0.0.1). Idle,
// the pump sleeps until the card's next timer (its HELLO, every 16th hello interval once
// every member is up) instead of polling; a host command that makes frames or arms a
// timer wakes it at once, so transfers keep meeting short deadlines after a long sleep.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sessnic/card_clock.hpp"
#include "sessnic/open_device.hpp"
#include "udp_pair.hpp"

namespace sessnic::backplane {
namespace {

using namespace std::chrono_literals;

using Pair = test::UdpPair;

// Cards 1 and 2, default timers (rto 2 ms, hello 50 ms): the old pump woke every 1 ms.
Pair make_pair(Mode mode) {
  std::array<uint8_t, 32> key{};
  std::mt19937_64 krng(7);
  for (auto& x : key) x = static_cast<uint8_t>(krng());
  NodeConfig c;
  c.mode = mode;
  c.cluster_key = key;
  return test::make_udp_pair(c, c);
}

SessionKey key_n(uint64_t n) {
  std::array<uint8_t, 32> id{};
  std::mt19937_64 rng(n + 1000);
  for (auto& x : id) x = static_cast<uint8_t>(rng());
  return SessionKey::make(id, 1);
}

TEST(pump_idle, AnIdlePumpSleepsUntilTheCardsNextTimerInsteadOfPolling) {
  Pair p = make_pair(Mode::replicate);
  ASSERT_TRUE(p.a->wait_for_peers(5000ms) && p.b->wait_for_peers(5000ms));
  std::this_thread::sleep_for(300ms);  // start-up HELLOs answered; both nodes idle
  const NodeStats a0 = p.a->stats();
  std::this_thread::sleep_for(1s);
  const NodeStats a1 = p.a->stats();
  // Idle: one HELLO each way per 800 ms, so a handful of wake-ups; polling every 1 ms
  // would be ~1000.
  const uint64_t sleeps = a1.pump_sleeps - a0.pump_sleeps;
  EXPECT_LT(sleeps, 50u) << "the idle pump woke " << sleeps << " times in 1 s";
  EXPECT_GT(a1.pump_sleeps, 0u);
  // Still alive: HELLOs flowed and both sides stay up.
  EXPECT_TRUE(p.a->peer_up(2) && p.b->peer_up(1));
  EXPECT_GT(a1.tx_frames_by_type[static_cast<std::size_t>(wire::FrameType::HELLO)], 0u);
}

TEST(pump_idle, AHostCommandWakesTheSleepingPumpAtOnce) {
  Pair p = make_pair(Mode::transfer);
  ASSERT_TRUE(p.a->wait_for_peers(5000ms) && p.b->wait_for_peers(5000ms));
  const uint32_t expiry = wall_clock_seconds() + 3600;
  const std::vector<uint8_t> blob(120, 0x5a);
  for (uint64_t i = 0; i < 10; ++i) {
    // Let both pumps fall asleep until their next HELLO (up to 800 ms away).
    std::this_thread::sleep_for(150ms);
    const SessionKey k = key_n(i);
    ASSERT_TRUE(p.dev_a->put(k, blob, expiry).ok());
    // 100 ms: far below the sleep the pump would finish if nothing woke it, far above a
    // loopback round trip on a loaded machine.
    const Response r = p.dev_a->transfer(k, 2, static_cast<uint8_t>(wire::BpConst::BROADCAST), 100ms);
    ASSERT_EQ(r.status, wire::Status::OK) << "transfer " << i << " after an idle spell";
    const Response got = p.dev_b->get(k);
    ASSERT_TRUE(got.ok()) << "transfer " << i;
    EXPECT_EQ(got.blob, blob);
  }
}

TEST(pump_idle, AReplicatedWriteLeavesAtOnceAfterAnIdleSpell) {
  Pair p = make_pair(Mode::replicate);
  ASSERT_TRUE(p.a->wait_for_peers(5000ms) && p.b->wait_for_peers(5000ms));
  const uint32_t expiry = wall_clock_seconds() + 3600;
  const std::vector<uint8_t> blob(80, 0x33);
  std::this_thread::sleep_for(300ms);
  const SessionKey k = key_n(99);
  const NodeStats b0 = p.b->stats();
  ASSERT_TRUE(p.dev_a->put(k, blob, expiry).ok());
  // The UPDATE is applied on card 2 long before card 1's next HELLO would have woken its
  // pump (the wait ends as soon as it is there).
  bool there = false;
  for (auto end = std::chrono::steady_clock::now() + 200ms; !there && std::chrono::steady_clock::now() < end;) {
    there = p.b->stats()[wire::BP_STATS_APPLIED] > b0[wire::BP_STATS_APPLIED];
    if (!there) std::this_thread::sleep_for(1ms);
  }
  ASSERT_TRUE(there);
  EXPECT_TRUE(p.dev_b->get(k).ok());
}

// A pull whose frame left from the caller's thread arms the card's timers (the frame's
// retransmit, the pull's deadline): the pump is told when they are due (wake_at), not
// woken at once - a wake-up at once only takes a core from the peer that answers.
// Returns how often the device woke the pump, and the wake_at() times, for one pull
// made while the pump sleeps until a far timer.
struct PullWakes {
  int wakes = 0;
  std::vector<uint64_t> wake_ats;
  uint64_t before = 0, after = 0;
};

PullWakes one_pull_with_the_pump_asleep(bool wake_at) {
  PullWakes out;
  Pair p = make_pair(Mode::transfer);
  EXPECT_TRUE(p.a->wait_for_peers(5000ms) && p.b->wait_for_peers(5000ms));
  std::this_thread::sleep_for(300ms);  // start-up HELLOs answered: the next timer is far
  // Card 1's pump stops (card 2 stays up for it); the test takes its place and records
  // what the device asks of it. The callbacks run under the device's lock.
  p.a->stop();
  BackplanePorts* ports = p.dev_a->backplane_ports();
  ports->on_frame_ready([&] { ++out.wakes; });
  if (wake_at) ports->on_wake_at([&](uint64_t at) { out.wake_ats.push_back(at); });
  else ports->on_wake_at(nullptr);
  int frames = 0;
  ports->on_frames_out([&] {
    std::vector<Beat> f;
    while (ports->take_frame(f)) ++frames;
  });
  (void)ports->service(host_time_us());
  const std::optional<uint64_t> until = ports->next_deadline_us();  // the pump's sleep
  EXPECT_TRUE(until.has_value());
  EXPECT_GT(until.value_or(0), host_time_us() + 20'000) << "a card timer is due within 20 ms";
  out.before = host_time_us();
  p.dev_a->pull_async(key_n(1), 2, 10ms, [](Response) {});
  (void)p.dev_a->export_entry(key_n(9));  // the handshake's next card command
  out.after = host_time_us();
  EXPECT_EQ(frames, 1);  // the PULL left from this thread
  ports->on_wake_at(nullptr);
  ports->on_frames_out(nullptr);
  ports->on_frame_ready(nullptr);
  return out;
}

TEST(pump_idle, APullsTimerArmsAWakeUpInsteadOfWakingThePumpNow) {
  const PullWakes old_way = one_pull_with_the_pump_asleep(false);
  EXPECT_GE(old_way.wakes, 1);  // without wake_at: woken at once to re-read its deadline
  const PullWakes w = one_pull_with_the_pump_asleep(true);
  EXPECT_EQ(w.wakes, 0) << "the pump was woken at once for a timer milliseconds away";
  ASSERT_GE(w.wake_ats.size(), 1u);
  EXPECT_GT(w.wake_ats.front(), w.before);
  EXPECT_LE(w.wake_ats.front(), w.after + 10'000);  // by the pull's deadline at the latest
}

// The card's ack of a frame the pump handed in is made inside the pump's service(), and
// the pump takes it right after. A host command that runs in between (a handshake's
// card GET, resumed by a pull's completion from that very service()) finds the ack on
// frame_out: that is no reason to wake the pump (it cost a pump pass on the client's
// path). A frame the command makes itself still wakes it. Both pumps are stopped; the
// test carries card 2's UPDATE to card 1 and plays card 1's pump.
TEST(pump_idle, AFrameThePumpsOwnServiceMadeDoesNotWakeItAgain) {
  Pair p = make_pair(Mode::replicate);
  ASSERT_TRUE(p.a->wait_for_peers(5000ms) && p.b->wait_for_peers(5000ms));
  std::this_thread::sleep_for(300ms);  // start-up HELLOs answered
  p.a->stop();
  p.b->stop();
  BackplanePorts* a = p.dev_a->backplane_ports();
  BackplanePorts* b = p.dev_b->backplane_ports();
  int wakes = 0;
  a->on_frame_ready([&] { ++wakes; });
  std::vector<Beat> f;
  while (a->take_frame(f)) {}  // what the stopped pump left
  while (b->take_frame(f)) {}
  ASSERT_TRUE(p.dev_b->put(key_n(1), std::vector<uint8_t>(100, 7), wall_clock_seconds() + 3600).ok());
  ASSERT_TRUE(b->take_frame(f));  // card 2's UPDATE to card 1
  ASSERT_EQ(wire::get_field(f.front().data, wire::frame::ftype), static_cast<uint64_t>(wire::FrameType::UPDATE));
  ASSERT_TRUE(a->give_frame(f));
  (void)a->service(host_time_us());  // card 1 applies it and acks
  (void)p.dev_a->export_entry(key_n(1));  // a host command before the pump takes the ack
  EXPECT_EQ(wakes, 0) << "the pump was woken for an ack its own service() made";
  ASSERT_TRUE(a->take_frame(f));  // the ack is there for the pump
  EXPECT_EQ(wire::get_field(f.front().data, wire::frame::ftype), static_cast<uint64_t>(wire::FrameType::ACK));
  EXPECT_TRUE(p.dev_a->export_entry(key_n(1)).ok());
  // A command that makes a frame (card 1's own UPDATE) wakes it at once.
  ASSERT_TRUE(p.dev_a->put(key_n(2), std::vector<uint8_t>(100, 8), wall_clock_seconds() + 3600).ok());
  EXPECT_GE(wakes, 1);
  a->on_frame_ready(nullptr);
}

// UdpTransport::wake_at: receive() returns by the earliest time armed, not at once, and
// not after forget_wake_at().
TEST(pump_idle, TransportWakesAtTheEarliestArmedTimeOnly) {
  NodeConfig c;
  c.card_id = 1;
  UdpTransport t(c);
  std::vector<std::vector<uint8_t>> got;
  auto timed_receive = [&](std::chrono::microseconds timeout) {
    const auto start = std::chrono::steady_clock::now();
    t.receive(got, 16, timeout);
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  };
  t.wake_at(host_time_us() + 400'000);
  t.wake_at(host_time_us() + 40'000);   // earlier: this one holds
  t.wake_at(host_time_us() + 300'000);  // later: ignored
  const auto waited = timed_receive(2s);
  EXPECT_GE(waited, 35ms);
  EXPECT_LT(waited, 290ms);
  t.forget_wake_at();
  t.wake_at(host_time_us() + 20'000);
  t.forget_wake_at();  // the pump's next sleep: that time is gone
  EXPECT_GE(timed_receive(150ms), 140ms);
  EXPECT_TRUE(got.empty());
}

// receive() with a timeout after one that found the socket empty goes straight to ppoll
// (no recvmmsg first): datagrams that came in between are still taken at once, and so are
// those left behind when a receive stopped at its `max`.
TEST(pump_idle, ASleepingReceiveTakesWhatCameSinceTheLastLookAtOnce) {
  NodeConfig c;
  c.card_id = 1;
  UdpTransport t(c);
  const int tx = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(tx, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(t.local_port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto send_n = [&](int n) {
    for (int i = 0; i < n; ++i) {
      const uint8_t d[3] = {static_cast<uint8_t>(i), 7, 7};
      ASSERT_EQ(::sendto(tx, d, sizeof d, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to), 3);
    }
  };
  std::vector<std::vector<uint8_t>> got;
  auto timed_receive = [&](std::size_t max, std::chrono::microseconds timeout) {
    got.clear();
    const auto start = std::chrono::steady_clock::now();
    t.receive(got, max, timeout);
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  };
  timed_receive(16, 0us);  // empty: the next sleeping receive skips its first look
  EXPECT_TRUE(got.empty());
  send_n(3);
  EXPECT_LT(timed_receive(16, 5s), 1000ms);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2][0], 2);

  send_n(20);
  std::this_thread::sleep_for(20ms);  // all queued
  timed_receive(16, 0us);
  EXPECT_EQ(got.size(), 16u);
  EXPECT_LT(timed_receive(16, 5s), 1000ms);
  EXPECT_EQ(got.size(), 4u);
  EXPECT_GE(timed_receive(16, 100ms), 90ms);  // nothing left: it sleeps
  EXPECT_TRUE(got.empty());
  ::close(tx);
}

}  // namespace
}  // namespace sessnic::backplane
