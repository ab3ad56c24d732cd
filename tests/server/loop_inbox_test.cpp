// LoopInbox (host/server/loop_inbox.hpp): how a pull's completion, on the backplane
// pump's thread, hands a handshake back to its event loop.
#include <gtest/gtest.h>

#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "loop_inbox.hpp"

namespace sessnic::server {
namespace {

using namespace std::chrono_literals;

// Four threads post at once (and some functions post again from the loop): every
// function runs exactly once, on the loop's thread, in each poster's order.
TEST(loop_inbox, EveryPostRunsOnceOnTheLoopInPostOrder) {
  asio::io_context io(1);
  auto guard = asio::make_work_guard(io);
  LoopInbox inbox(io);
  std::thread loop([&] { io.run(); });
  constexpr int kPosters = 4, kEach = 5000;
  std::vector<std::vector<int>> seen(kPosters + 1);  // the loop thread only
  std::atomic<int> ran{0}, off_loop{0};
  const std::thread::id loop_id = loop.get_id();
  std::vector<std::thread> posters;
  for (int p = 0; p < kPosters; ++p)
    posters.emplace_back([&, p] {
      for (int i = 0; i < kEach; ++i) {
        inbox.post([&, p, i] {
          if (std::this_thread::get_id() != loop_id) ++off_loop;
          seen[p].push_back(i);
          if (i % 100 == 0)  // from the loop itself, while it drains
            inbox.post([&, i] {
              seen[kPosters].push_back(i);
              ++ran;
            });
          ++ran;
        });
        if (i % 500 == 0) std::this_thread::sleep_for(100us);  // let the loop go idle now and then
      }
    });
  for (auto& t : posters) t.join();
  const int want = kPosters * kEach + kPosters * (kEach / 100);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (ran.load() < want && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
  guard.reset();
  io.stop();
  loop.join();
  ASSERT_EQ(ran.load(), want);
  EXPECT_EQ(off_loop.load(), 0);
  for (int p = 0; p < kPosters; ++p) {
    ASSERT_EQ(seen[p].size(), static_cast<size_t>(kEach)) << p;
    for (int i = 0; i < kEach; ++i) ASSERT_EQ(seen[p][i], i) << p;
  }
  EXPECT_EQ(seen[kPosters].size(), static_cast<size_t>(kPosters * (kEach / 100)));
}

// A post to a loop that waits (idle in epoll) wakes it: one at a time, each answered.
TEST(loop_inbox, APostWakesAnIdleLoop) {
  asio::io_context io(1);
  auto guard = asio::make_work_guard(io);
  LoopInbox inbox(io);
  std::thread loop([&] { io.run(); });
  std::atomic<int> ran{0};
  for (int i = 1; i <= 200; ++i) {
    if (i % 20 == 0) std::this_thread::sleep_for(2ms);  // the loop is asleep by now
    inbox.post([&] { ++ran; });
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (ran.load() < i && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    ASSERT_EQ(ran.load(), i);
  }
  guard.reset();
  io.stop();
  loop.join();
}

// The server stops its loops before the pulls in flight finish: what they post then is
// destroyed with the inbox, never run (the connection it holds goes with it).
TEST(loop_inbox, WhatIsQueuedWhenTheLoopStoppedIsDroppedNotRun) {
  auto held = std::make_shared<int>(7);
  bool ran = false;
  {
    asio::io_context io(1);
    {
      LoopInbox inbox(io);
      std::thread loop([&] { io.run_for(20ms); });
      loop.join();
      io.stop();
      inbox.post([held, &ran] { ran = true; });
      EXPECT_EQ(held.use_count(), 2);
    }
    EXPECT_EQ(held.use_count(), 1);
  }
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace sessnic::server
