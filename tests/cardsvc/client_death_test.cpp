// A server process killed (SIGKILL) in the middle of its commands: the service reaps its
// window and thread, and the card and every other client carry on.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "test_support.hpp"

namespace sessnic::cardsvc::test {
namespace {

using namespace std::chrono_literals;

// The child: attaches (retrying until the parent's service listens), then PUTs and GETs
// without pause until it is killed. Never returns.
[[noreturn]] void busy_client(const TempDir& dir) {
  for (int attempt = 0; attempt < 500; ++attempt) {
    try {
      shm::ServiceDevice dev(client_options(dir));
      for (unsigned i = 0;; ++i) {
        dev.put(key_n(100000 + i % 1000), blob(200, static_cast<uint8_t>(i)), later());
        dev.get(key_n(100000 + (i * 7) % 1000));
      }
    } catch (...) {
      std::this_thread::sleep_for(10ms);
    }
  }
  ::_exit(3);
}

TEST(ClientDeath, WorkerKilledMidCommandIsReapedOthersUnaffected) {
  TempDir dir;
  // Fork before any thread exists in this process (the service starts threads).
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) busy_client(dir);
    children.push_back(pid);
  }
  auto card = model_card(6, TableGeometry::full);  // no evictions among the ~1100 keys
  CardService svc(*card, options(dir, 5));
  svc.start();
  shm::ServiceDevice survivor(client_options(dir));

  // Both children attached and busy.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while ((svc.counters().attached.load() < 3 || svc.counters().card.commands.load() < 2000) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  ASSERT_EQ(svc.counters().attached.load(), 3u);
  for (pid_t pid : children) {
    ::kill(pid, SIGKILL);
    int st = 0;
    ::waitpid(pid, &st, 0);
    EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  }
  const auto reap_deadline = std::chrono::steady_clock::now() + 5s;
  while (svc.counters().reaped.load() < 2 && std::chrono::steady_clock::now() < reap_deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(svc.counters().reaped.load(), 2u);
  EXPECT_EQ(svc.counters().active.load(), 1u);

  // The card is intact and serves the survivor and newcomers.
  for (unsigned i = 0; i < 100; ++i) {
    ASSERT_TRUE(survivor.put(key_n(i), blob(100, static_cast<uint8_t>(i)), later()).ok());
    ASSERT_EQ(survivor.get(key_n(i)).blob, blob(100, static_cast<uint8_t>(i)));
  }
  shm::ServiceDevice newcomer(client_options(dir));
  EXPECT_EQ(newcomer.get(key_n(5)).blob, blob(100, 5));
  // What the killed workers stored completely is there (their last PUT may or may not be).
  const Response g = newcomer.get(key_n(100000));
  EXPECT_EQ(g.status, wire::Status::OK);
  EXPECT_EQ(g.blob.size(), 200u);
}

}  // namespace
}  // namespace sessnic::cardsvc::test
