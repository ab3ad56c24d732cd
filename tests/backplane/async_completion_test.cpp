// Asynchronous completions of the Device API (issue 14): pull_async / transfer_async
// answered from the pump thread, and await_session (a handshake waiting for its session
// to land, no thread blocked): on arrival, at the deadline, many at once, cancelled,
// and when the device closes. Two model cards on real UDP (127.0.0.1).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "sessnic/backplane/node.hpp"
#include "sim_cluster.hpp"
#include "udp_pair.hpp"

namespace sessnic::backplane::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

UdpPair connected_pair() {
  NodeConfig a, b;
  a.mode = b.mode = Mode::transfer;
  a.cluster_key = b.cluster_key = test_cluster_key();
  UdpPair p = make_udp_pair(a, b);
  EXPECT_TRUE(p.a->wait_for_peers(5000ms) && p.b->wait_for_peers(5000ms));
  return p;
}

// One completion: its response, the thread it ran on and when; waited for with a bound.
struct Outcome {
  std::promise<void> fired;
  std::future<void> ready = fired.get_future();
  Response r;
  std::thread::id thread;
  Clock::time_point at;
  std::atomic<int> calls{0};

  Completion callback() {
    return [this](Response resp) {
      r = std::move(resp);
      thread = std::this_thread::get_id();
      at = Clock::now();
      if (calls.fetch_add(1) == 0) fired.set_value();
    };
  }
  bool wait(std::chrono::milliseconds bound) { return ready.wait_for(bound) == std::future_status::ready; }
};

TEST(backplane_async, PullAsyncAnswersFromThePumpNotTheCaller) {
  UdpPair p = connected_pair();
  ASSERT_TRUE(p.dev_b->async_native());
  std::mt19937_64 rng(71);
  const SessionKey k = random_key(rng);
  const std::vector<uint8_t> blob = random_blob(rng, 150);
  ASSERT_TRUE(p.dev_a->put(k, blob, future_expiry()).ok());

  Outcome o;
  p.dev_b->pull_async(k, 1, 2s, o.callback());
  ASSERT_TRUE(o.wait(3000ms));
  EXPECT_EQ(o.r.status, wire::Status::OK);
  EXPECT_NE(o.thread, std::this_thread::get_id());  // delivered by card 2's pump
  EXPECT_EQ(o.calls.load(), 1);
  const Response here = p.dev_b->export_entry(k);
  ASSERT_EQ(here.status, wire::Status::OK);
  EXPECT_EQ(here.blob, blob);
}

TEST(backplane_async, PullAsyncOfAnAbsentSessionIsAMiss) {
  UdpPair p = connected_pair();
  std::mt19937_64 rng(72);
  Outcome o;
  p.dev_b->pull_async(random_key(rng), 1, 2s, o.callback());
  ASSERT_TRUE(o.wait(3000ms));
  EXPECT_TRUE(o.r.status == wire::Status::MISS || o.r.status == wire::Status::EXPIRED) << wire::to_string(o.r.status);
}

TEST(backplane_async, TransferAsyncMovesTheSession) {
  UdpPair p = connected_pair();
  std::mt19937_64 rng(73);
  const SessionKey k = random_key(rng);
  ASSERT_TRUE(p.dev_a->put(k, random_blob(rng, 90), future_expiry()).ok());
  Outcome o;
  p.dev_a->transfer_async(k, 2, kSelf, 2s, o.callback());
  ASSERT_TRUE(o.wait(3000ms));
  EXPECT_EQ(o.r.status, wire::Status::OK);
  EXPECT_EQ(o.r.card, 2);
  EXPECT_EQ(p.dev_b->export_entry(k).status, wire::Status::OK);
}

// The dispatcher's design: the move is fired (nobody waits for its answer) and the target
// server's handshake waits for the session to land on its card.
TEST(backplane_async, AwaitSessionCompletesWhenTheSessionLands) {
  UdpPair p = connected_pair();
  std::mt19937_64 rng(74);
  const SessionKey k = random_key(rng);
  const std::vector<uint8_t> blob = random_blob(rng, 200);
  ASSERT_TRUE(p.dev_a->put(k, blob, future_expiry()).ok());

  Outcome landed;
  SessionWait w = p.dev_b->await_session(k, 2s, landed.callback());
  ASSERT_TRUE(w);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(landed.calls.load(), 0);  // not there yet: it waits
  const auto fired = Clock::now();
  p.dev_a->transfer_async(k, 2, kSelf, 2s, [](Response) {});
  ASSERT_TRUE(landed.wait(3000ms));
  EXPECT_EQ(landed.r.status, wire::Status::OK);
  EXPECT_EQ(landed.r.blob, blob);
  EXPECT_NE(landed.thread, std::this_thread::get_id());
  EXPECT_LT(landed.at - fired, 1s);  // the arrival, not the 2 s deadline
  EXPECT_FALSE(w.cancel());          // answered already
}

TEST(backplane_async, AwaitSessionOfASessionAlreadyThereCompletes) {
  UdpPair p = connected_pair();
  std::mt19937_64 rng(75);
  const SessionKey k = random_key(rng);
  ASSERT_TRUE(p.dev_b->put(k, random_blob(rng, 40), future_expiry()).ok());
  Outcome o;
  SessionWait w = p.dev_b->await_session(k, 5s, o.callback());
  ASSERT_TRUE(o.wait(1000ms));
  EXPECT_EQ(o.r.status, wire::Status::OK);
}

TEST(backplane_async, AwaitSessionFailsAtItsDeadline) {
  UdpPair p = connected_pair();
  std::mt19937_64 rng(76);
  Outcome o;
  const auto t0 = Clock::now();
  SessionWait w = p.dev_b->await_session(random_key(rng), 60ms, o.callback());
  ASSERT_TRUE(o.wait(2000ms));
  EXPECT_EQ(o.r.status, wire::Status::FAILED);
  EXPECT_GE(o.at - t0, 60ms);
  EXPECT_LT(o.at - t0, 1s);  // the pump slept until the waiter's deadline, not its HELLO timer
}

TEST(backplane_async, ManyConcurrentWaitersEachAnsweredOnce) {
  UdpPair p = connected_pair();
  std::mt19937_64 rng(77);
  constexpr int kKeys = 120;
  std::vector<SessionKey> keys;
  for (int i = 0; i < kKeys; ++i) {
    keys.push_back(random_key(rng));
    ASSERT_TRUE(p.dev_a->put(keys.back(), random_blob(rng, 64), future_expiry()).ok());
  }
  std::vector<std::atomic<int>> calls(kKeys);
  std::vector<std::atomic<int>> ok(kKeys);
  std::atomic<int> answered{0};
  std::vector<SessionWait> waits;
  for (int i = 0; i < kKeys; ++i)
    waits.push_back(p.dev_b->await_session(keys[i], 400ms, [&, i](Response r) {
      calls[i].fetch_add(1);
      if (r.status == wire::Status::OK) ok[i].fetch_add(1);
      answered.fetch_add(1);
    }));
  for (int i = 0; i < kKeys; i += 2) p.dev_a->transfer_async(keys[i], 2, kSelf, 2s, [](Response) {});  // even ones move
  ASSERT_TRUE(eventually([&] { return answered.load() == kKeys; }, 5000ms)) << answered.load();
  std::this_thread::sleep_for(50ms);
  for (int i = 0; i < kKeys; ++i) {
    EXPECT_EQ(calls[i].load(), 1) << i;
    EXPECT_EQ(ok[i].load(), i % 2 == 0 ? 1 : 0) << i;
  }
}

TEST(backplane_async, CancelledOrDestroyedWaitNeverCallsBack) {
  UdpPair p = connected_pair();
  std::mt19937_64 rng(78);
  const SessionKey k1 = random_key(rng), k2 = random_key(rng);
  std::atomic<int> calls{0};
  SessionWait w1 = p.dev_b->await_session(k1, 100ms, [&](Response) { calls.fetch_add(1); });
  ASSERT_TRUE(w1);
  {
    SessionWait w2 = p.dev_b->await_session(k2, 100ms, [&](Response) { calls.fetch_add(1); });
    ASSERT_TRUE(w2);
  }  // destroyed: withdrawn
  EXPECT_TRUE(w1.cancel());
  EXPECT_FALSE(w1.cancel());  // once
  // The sessions arrive and the deadlines pass: still nobody called.
  ASSERT_TRUE(p.dev_a->put(k1, random_blob(rng, 30), future_expiry()).ok());
  p.dev_a->transfer_async(k1, 2, kSelf, 1s, [](Response) {});
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(p.dev_b->export_entry(k1).status, wire::Status::OK);  // it did land
}

// A canceller returns only after a callback already running has finished: the caller may
// free what the callback uses.
TEST(backplane_async, CancelWaitsForACallbackInProgress) {
  UdpPair p = connected_pair();
  std::mt19937_64 rng(79);
  std::atomic<bool> inside{false}, finished{false};
  SessionWait w = p.dev_b->await_session(random_key(rng), 10ms, [&](Response) {
    inside = true;
    std::this_thread::sleep_for(100ms);
    finished = true;
  });
  ASSERT_TRUE(eventually([&] { return inside.load(); }, 2000ms));
  EXPECT_FALSE(w.cancel());
  EXPECT_TRUE(finished.load());
}

TEST(backplane_async, DeviceClosedWhileWaitingAnswersFailed) {
  auto p = std::make_unique<UdpPair>(connected_pair());
  std::mt19937_64 rng(80);
  Outcome o, pulled;
  SessionWait w = p->dev_b->await_session(random_key(rng), 30s, o.callback());
  ASSERT_TRUE(w);
  std::this_thread::sleep_for(20ms);
  const auto t0 = Clock::now();
  p->b.reset();  // the pump goes first (it uses the device), then the card
  p->dev_b.reset();
  ASSERT_TRUE(o.wait(100ms));
  EXPECT_EQ(o.r.status, wire::Status::FAILED);
  EXPECT_LT(o.at - t0, 1s);
  EXPECT_FALSE(w.cancel());  // the handle outlived the device: harmless
  // Card 1's peer is gone: an asynchronous pull from it fails by its deadline.
  p->dev_a->pull_async(random_key(rng), 2, 100ms, pulled.callback());
  ASSERT_TRUE(pulled.wait(3000ms));
  EXPECT_EQ(pulled.r.status, wire::Status::FAILED);
}

// Without a backplane pump nothing could deliver a later answer: commands run
// synchronously, waits are refused.
TEST(backplane_async, WithoutAPumpCommandsRunSynchronouslyAndWaitsAreRefused) {
  DeviceConfig dc;
  dc.card_id = 3;
  dc.geometry = TableGeometry::tiny;
  auto dev = make_model_device(dc);
  EXPECT_FALSE(dev->async_native());
  std::mt19937_64 rng(81);
  const SessionKey k = random_key(rng);
  bool called = false;
  SessionWait w = dev->await_session(k, 1s, [&](Response) { called = true; });
  EXPECT_FALSE(w);
  Command put;
  put.op = wire::Opcode::PUT;
  put.key = k;
  put.blob = {1, 2, 3};
  put.expiry = future_expiry();
  Response got;
  dev->execute_async(put, [&](Response r) {
    called = true;
    got = std::move(r);
  });
  EXPECT_TRUE(called);  // before the call returned
  EXPECT_EQ(got.status, wire::Status::OK);
}

}  // namespace
}  // namespace sessnic::backplane::test
