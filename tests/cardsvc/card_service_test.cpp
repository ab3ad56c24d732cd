// The card service through its real transport: a ServiceDevice attached over the Unix
// socket, commands through the shared-memory rings, the model card behind them.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <chrono>
#include <thread>

#include "sessnic/codec.hpp"
#include "sessnic/shm/attach_socket.hpp"
#include "test_support.hpp"

namespace sessnic::cardsvc::test {
namespace {

using namespace std::chrono_literals;

TEST(CardService, RoundTripThroughTheRings) {
  auto&& [dir, card, svc] = ServedCard(3);
  shm::ServiceDevice dev(client_options(dir));
  EXPECT_EQ(dev.kind(), "service");
  EXPECT_EQ(dev.card_id(), 3);
  EXPECT_EQ(dev.description(), "model card under test");

  const auto k = key_n(1);
  const auto b = blob(200, 7);
  const Response p = dev.put(k, b, later());
  ASSERT_EQ(p.status, wire::Status::OK);
  EXPECT_EQ(p.version & 0xff, 3u);
  const Response g = dev.get(k);
  ASSERT_EQ(g.status, wire::Status::OK);
  EXPECT_EQ(g.blob, b);
  EXPECT_EQ(g.key, k);
  EXPECT_EQ(g.card, 3);
  // The card itself holds it: the service is the card, not a cache in front of it.
  EXPECT_EQ(card->get(k).blob, b);
  EXPECT_EQ(dev.take(k).status, wire::Status::OK);
  EXPECT_EQ(dev.get(k).status, wire::Status::MISS);
  EXPECT_GE(dev.stats()[wire::STATS_PUTS], 1u);
  EXPECT_EQ(svc.counters().card.privileged.load(), 0u);
}

TEST(CardService, BatchesLongerThanTheRingsWrapAndKeepOrder) {
  auto&& [dir, card, svc] = ServedCard(1, 4);  // 16 slots: a 200-byte PUT is 5 of them
  shm::ServiceDevice dev(client_options(dir));
  for (int round = 0; round < 3; ++round) {
    std::vector<Command> cmds;
    for (unsigned i = 0; i < 100; ++i) {
      Command c;
      c.op = wire::Opcode::PUT;
      c.key = key_n(round * 1000 + i);
      c.blob = blob(1 + (i * 37) % 256, static_cast<uint8_t>(i));
      c.expiry = later();
      cmds.push_back(c);
      Command g;
      g.op = wire::Opcode::GET;
      g.key = c.key;
      cmds.push_back(g);
    }
    std::vector<Response> out;
    dev.execute(cmds, out);
    ASSERT_EQ(out.size(), cmds.size());
    for (std::size_t i = 0; i < cmds.size(); i += 2) {
      ASSERT_TRUE(out[i].ok()) << i;
      ASSERT_EQ(out[i + 1].status, wire::Status::OK) << i;
      EXPECT_EQ(out[i + 1].key, cmds[i].key);
      EXPECT_EQ(out[i + 1].blob, cmds[i].blob) << "command " << i;
    }
  }
}

TEST(CardService, BlobLongerThanASlotIsTooLargeAndNothingIsSent) {
  auto&& [dir, card, svc] = ServedCard(1);
  shm::ServiceDevice dev(client_options(dir));
  EXPECT_EQ(dev.put(key_n(9), blob(wire::SLOT_BYTES + 1, 1), later()).status, wire::Status::TOO_LARGE);
  EXPECT_EQ(svc.counters().card.commands.load(), 0u);
  EXPECT_EQ(dev.put(key_n(9), blob(wire::SLOT_BYTES, 1), later()).status, wire::Status::OK);
}

TEST(CardService, ProcessesShareOneCard) {
  auto&& [dir, card, svc] = ServedCard(2, 6, TableGeometry::full);  // no evictions among the 800 keys
  constexpr int kClients = 4, kKeys = 200;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kClients; ++t)
    threads.emplace_back([&, t] {
      shm::ServiceDevice dev(client_options(dir));
      for (int i = 0; i < kKeys; ++i)
        if (!dev.put(key_n(t * kKeys + i), blob(64, static_cast<uint8_t>(t)), later()).ok()) ++failures;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  // Another client sees every client's sessions.
  shm::ServiceDevice reader(client_options(dir));
  for (int t = 0; t < kClients; ++t)
    for (int i = 0; i < kKeys; i += 17) {
      const Response g = reader.get(key_n(t * kKeys + i));
      ASSERT_EQ(g.status, wire::Status::OK);
      EXPECT_EQ(g.blob, blob(64, static_cast<uint8_t>(t)));
    }
  EXPECT_EQ(svc.counters().attached.load(), kClients + 1u);
}

TEST(CardService, SocketDirectoryAndWindowAreTheOwnersOnly) {
  auto&& [dir, card, svc] = ServedCard(1);
  struct stat st {};
  ASSERT_EQ(::stat(dir.socket().parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(dir.socket().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // The window and eventfds as a client receives them.
  auto sock = shm::connect_unix(dir.socket());
  shm::Hello hello;
  ASSERT_TRUE(shm::send_message(sock.get(), &hello, sizeof hello, nullptr, 0));
  shm::Welcome w;
  shm::UniqueFd fds[3];
  ASSERT_EQ(shm::recv_message(sock.get(), &w, sizeof w, fds, 3, 2000), 3);
  EXPECT_EQ(w.status, 0u);
  ASSERT_EQ(::fstat(fds[0].get(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), w.window_bytes);
}

TEST(CardService, RefusesASocketDirectoryOthersCanEnter) {
  TempDir dir;
  std::filesystem::create_directory(dir.socket().parent_path());
  ::chmod(dir.socket().parent_path().c_str(), 0755);
  auto card = model_card(1);
  try {
    CardService svc(*card, options(dir));
    FAIL() << "a 0755 socket directory was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("mode 0755 gives access to group or others; run: chmod 700"), std::string::npos)
        << e.what();
  }
}

TEST(CardService, SecondServiceOnTheSameSocketIsRefusedAStaleSocketIsReplaced) {
  TempDir dir;
  auto card = model_card(1);
  {
    CardService svc(*card, options(dir));
    svc.start();
    try {
      CardService again(*card, options(dir));
      FAIL() << "two services on one socket";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("another card service is running"), std::string::npos) << e.what();
    }
  }
  // A socket file left behind by a service that died (bound, never unlinked).
  {
    int fd = ::socket(AF_UNIX, SOCK_SEQPACKET, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", dir.socket().c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::close(fd);
  }
  CardService svc(*card, options(dir));
  svc.start();
  shm::ServiceDevice dev(client_options(dir));
  EXPECT_EQ(dev.put(key_n(1), blob(10, 1), later()).status, wire::Status::OK);
}

TEST(CardService, NoServiceIsAClearErrorAtOpen) {
  TempDir dir;
  try {
    shm::ServiceDevice dev(client_options(dir));
    FAIL() << "attached to nothing";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("card.sock: connect: No such file or directory"), std::string::npos) << e.what();
  }
}

TEST(CardService, RestartedServiceIsReattachedCommandsDuringTheOutageFail) {
  TempDir dir;
  auto card = model_card(4);
  auto svc = std::make_unique<CardService>(*card, options(dir));
  svc->start();
  shm::ServiceDevice dev(client_options(dir));
  ASSERT_EQ(dev.put(key_n(1), blob(32, 1), later()).status, wire::Status::OK);

  svc.reset();  // the service goes away
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(dev.get(key_n(1)).status, wire::Status::FAILED);
  EXPECT_EQ(dev.put(key_n(2), blob(32, 2), later()).status, wire::Status::FAILED);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);  // an outage never blocks a caller
  EXPECT_FALSE(dev.connected());
  EXPECT_EQ(dev.counters().outages.load(), 1u);

  svc = std::make_unique<CardService>(*card, options(dir));  // restarted, same card here
  svc->start();
  Response r;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  do {
    r = dev.get(key_n(1));
    if (r.status == wire::Status::FAILED) std::this_thread::sleep_for(10ms);
  } while (r.status == wire::Status::FAILED && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(r.status, wire::Status::OK);
  EXPECT_EQ(r.blob, blob(32, 1));
  EXPECT_TRUE(dev.connected());
  EXPECT_EQ(dev.counters().attaches.load(), 2u);
  EXPECT_GE(dev.counters().failed_commands.load(), 2u);
}

TEST(CardService, FirstCommandAfterAQuickRestartGoesToTheNewService) {
  TempDir dir;
  auto card = model_card(4);
  auto svc = std::make_unique<CardService>(*card, options(dir));
  svc->start();
  shm::ServiceDevice dev(client_options(dir));
  ASSERT_EQ(dev.put(key_n(1), blob(32, 1), later()).status, wire::Status::OK);
  svc.reset();
  svc = std::make_unique<CardService>(*card, options(dir));  // back before this client sent anything
  svc->start();
  const Response r = dev.get(key_n(1));
  EXPECT_EQ(r.status, wire::Status::OK);  // not FAILED: the hang-up was seen before posting
  EXPECT_EQ(dev.counters().failed_commands.load(), 0u);
  EXPECT_EQ(dev.counters().attaches.load(), 2u);
}

}  // namespace
}  // namespace sessnic::cardsvc::test
