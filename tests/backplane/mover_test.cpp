// The dispatcher's backplane mover (host/dispatch/backplane_mover.cpp) in-process, on real
// UDP loopback: the dispatcher's passive card, owner card 1 and target card 2, each with
// its own BackplaneNode (tests/support/transfer_cluster.hpp). A move fired with the model card is answered by the pump; no
// thread of the dispatcher waits for it, and none sits idle beside it (idle workers that
// shared the answers' condition variable were all woken by every answer: eight context
// switches per move inside the client's handshake).
#include <gtest/gtest.h>
#include <dirent.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "make_mover.hpp"
#include "sessnic/attach.hpp"
#include "sessnic/session_identity.hpp"
#include "tls_test_support.hpp"
#include "transfer_cluster.hpp"

namespace sessnic::dispatch {
namespace {

using namespace std::chrono_literals;

std::size_t threads_of_this_process() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n;
}

TEST(BackplaneMover, AsynchronousMovesNeedNoWaitingThreads) {
  testtls::TempDir dir;
  const auto cfg = testing::two_server_transfer_cluster(dir.path());
  auto flights = testing::open_server_card(cfg, 1), cars = testing::open_server_card(cfg, 2);

  const std::size_t before = threads_of_this_process();
  auto mover = make_mover(cfg, 2000ms);
  ASSERT_TRUE(mover);
  // The dispatcher's card and its pump: one thread, nothing waiting beside it.
  EXPECT_EQ(threads_of_this_process(), before + 1);

  const uint8_t ctx = identity::table_ctx(session_id_context(testing::kTransferClusterContext));
  const uint32_t expiry = static_cast<uint32_t>(std::time(nullptr)) + 120;
  constexpr int kMoves = 60;
  std::vector<SessionKey> keys;
  std::mt19937 rng(14);
  for (int i = 0; i < kMoves; ++i) {
    std::array<uint8_t, 32> id{};
    for (uint8_t& b : id) b = static_cast<uint8_t>(rng());
    id[0] = 1;  // created on flights' card
    keys.push_back(SessionKey::make(id, ctx));
    ASSERT_TRUE(flights->device().put(keys.back(), std::vector<uint8_t>(100, static_cast<uint8_t>(i)), expiry).ok());
  }
  // Fired back to back, as the dispatcher's io thread fires them: each answered once.
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0, moved = 0, nf = 0;
  for (const SessionKey& k : keys)
    mover->move(k.bytes(), 1, 2, 500ms, [&](MoveResult r) {
      std::lock_guard lock(mu);
      ++answered;
      moved += r == MoveResult::moved;
      nf += r == MoveResult::not_found;
      cv.notify_all();
    });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return answered == kMoves; })) << answered << " answered";
  }
  EXPECT_EQ(moved, kMoves) << nf << " not found";
  for (const SessionKey& k : keys) EXPECT_TRUE(cars->device().export_entry(k).ok());
  EXPECT_EQ(threads_of_this_process(), before + 1);
  mover->release();
  // After release, a move answers `failed` at once, on the caller's thread.
  bool failed_now = false;
  mover->move(keys.front().bytes(), 1, 2, 500ms, [&](MoveResult r) { failed_now = r == MoveResult::failed; });
  EXPECT_TRUE(failed_now);
  std::this_thread::sleep_for(50ms);  // make sure no late answer arrives after the check
  std::lock_guard lock(mu);
  EXPECT_EQ(answered, kMoves);
}

}  // namespace
}  // namespace sessnic::dispatch
