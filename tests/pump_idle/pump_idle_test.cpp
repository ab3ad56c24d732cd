// The backplane pump at rest (issue 15): two model cards on real UDP (127.0.0.1). Idle,
// the pump sleeps until the card's next timer (its HELLO, every 16th hello interval once
// every member is up) instead of polling; a host command that makes frames or arms a
// timer wakes it at once, so transfers keep meeting short deadlines after a long sleep.
#include <gtest/gtest.h>

#include <array>
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

}  // namespace
}  // namespace sessnic::backplane
