// A client that writes whatever it likes into its rings and doorbells: the service
// answers BAD_CMD (tag echoed) or ignores the doorbell, keeps serving, and the card and
// every other client are untouched.
#include <poll.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "sessnic/codec.hpp"
#include "sessnic/shm/attach_socket.hpp"
#include "sessnic/shm/ring_layout.hpp"
#include "test_support.hpp"

namespace sessnic::cardsvc::test {
namespace {

using namespace std::chrono_literals;

// Attaches like a client but drives the window by hand.
struct RawClient {
  shm::UniqueFd sock, fds[3];
  shm::SharedRegion window;
  shm::RingGeometry g;
  uint32_t cmd_tail = 0, rsp_head = 0;

  explicit RawClient(const TempDir& dir) {
    sock = shm::connect_unix(dir.socket());
    shm::Hello hello;
    EXPECT_TRUE(shm::send_message(sock.get(), &hello, sizeof hello, nullptr, 0));
    shm::Welcome w;
    EXPECT_EQ(shm::recv_message(sock.get(), &w, sizeof w, fds, 3, 2000), 3);
    g.cmd_log2 = w.cmd_log2;
    g.rsp_log2 = w.rsp_log2;
    window = shm::SharedRegion::map(std::move(fds[0]), w.window_bytes);
  }
  char* base() const { return static_cast<char*>(window.data()); }
  void write(const Beat& b) {
    std::memcpy(base() + g.cmd_offset() + (cmd_tail++ & (g.cmd_slots() - 1)) * shm::kSlotBytes, b.data, 64);
  }
  void post(const Command& c) {
    std::vector<Beat> beats;
    codec::encode(c, beats);
    for (const auto& b : beats) write(b);
  }
  void doorbell(uint32_t value) {
    shm::word(base(), shm::kRegCmdDoorbell).store(value, std::memory_order_release);
    shm::signal_eventfd(fds[1].get());
  }
  uint32_t status(std::size_t off) const { return shm::word(base(), off).load(std::memory_order_acquire); }
  // Waits until the card's cmd_head reaches `head` (or 2 s), taking the responses as
  // they come (the card only starts a message when a largest answer fits).
  std::vector<Response> got;
  bool wait_cmd_head(uint32_t head) {
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    for (;;) {
      for (auto& r : take()) got.push_back(std::move(r));
      if (status(shm::kStatusCmdHead) == head) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      shm::signal_eventfd(fds[1].get());  // response slots freed: look again
      std::this_thread::sleep_for(1ms);
    }
  }
  std::vector<Response> responses() {
    std::vector<Response> out = std::move(got);
    got.clear();
    for (auto& r : take()) out.push_back(std::move(r));
    return out;
  }
  std::vector<Response> take() {
    std::vector<Response> out;
    const uint32_t tail = status(shm::kStatusRspTail);
    while (rsp_head != tail) {
      std::vector<Beat> beats;
      Beat h;
      std::memcpy(h.data, base() + g.rsp_offset() + (rsp_head & (g.rsp_slots() - 1)) * shm::kSlotBytes, 64);
      const unsigned n = 1 + beats_for(static_cast<unsigned>(wire::get_field(h.data, wire::header::blob_len)));
      for (unsigned i = 0; i < n; ++i) {
        Beat b;
        std::memcpy(b.data, base() + g.rsp_offset() + ((rsp_head + i) & (g.rsp_slots() - 1)) * shm::kSlotBytes, 64);
        b.last = i + 1 == n;
        beats.push_back(b);
      }
      rsp_head += n;
      out.push_back(codec::decode(beats));
    }
    shm::word(base(), shm::kRegRspDoorbell).store(rsp_head, std::memory_order_release);
    return out;
  }
};

Command get_cmd(uint32_t tag, const SessionKey& k) {
  Command c;
  c.op = wire::Opcode::GET;
  c.tag = tag;
  c.key = k;
  return c;
}

TEST(RingAbuse, BadDescriptorsAnswerBadCmdWithTheirTagAndTheRingGoesOn) {
  TempDir dir;
  auto card = model_card(5);
  CardService svc(*card, options(dir, 6));
  svc.start();
  ASSERT_EQ(card->put(key_n(1), blob(40, 1), later()).status, wire::Status::OK);
  RawClient raw(dir);

  Command unknown = get_cmd(101, key_n(1));
  unknown.op = static_cast<wire::Opcode>(0x77);
  raw.post(unknown);
  Command no_key = get_cmd(102, key_n(1));
  no_key.key.len = 0;
  raw.post(no_key);
  Command long_key = get_cmd(103, key_n(1));
  long_key.key.len = 40;
  raw.post(long_key);
  Command big = get_cmd(104, key_n(1));
  big.op = wire::Opcode::PUT;
  big.blob = blob(wire::SLOT_BYTES + 64, 2);  // 6 beats: fits the 64-slot ring, not a table slot
  big.expiry = later();
  raw.post(big);
  Command flush;
  flush.op = wire::Opcode::FLUSH;  // one worker may not wipe the host's card
  flush.tag = 105;
  raw.post(flush);
  Command set_time;
  set_time.op = wire::Opcode::SET_TIME;
  set_time.tag = 106;
  set_time.aux = 1;
  raw.post(set_time);
  raw.post(get_cmd(107, key_n(1)));  // a good one after all that
  raw.doorbell(raw.cmd_tail);
  ASSERT_TRUE(raw.wait_cmd_head(raw.cmd_tail));
  auto rs = raw.responses();
  ASSERT_EQ(rs.size(), 7u);
  for (unsigned i = 0; i < 6; ++i) {
    EXPECT_EQ(rs[i].status, wire::Status::BAD_CMD) << i;
    EXPECT_EQ(rs[i].tag, 101 + i);
  }
  EXPECT_EQ(rs[6].status, wire::Status::OK);
  EXPECT_EQ(rs[6].tag, 107u);
  EXPECT_EQ(rs[6].blob, blob(40, 1));
  EXPECT_EQ(svc.counters().rings.bad_descriptors.load(), 6u);
  EXPECT_EQ(raw.status(shm::kStatusError), static_cast<uint32_t>(shm::RingError::bad_descriptor));
  EXPECT_EQ(card->get(key_n(1)).status, wire::Status::OK);  // FLUSH never reached the card
}

TEST(RingAbuse, MessageRunningPastTheTailIsRefusedAndSkippedToTheTail) {
  TempDir dir;
  auto card = model_card(5);
  CardService svc(*card, options(dir, 6));
  svc.start();
  RawClient raw(dir);
  // A PUT whose header promises 4 blob beats, doorbell covering only the header: what a
  // worker killed in the middle of posting would leave if it had rung early.
  Command put = get_cmd(201, key_n(2));
  put.op = wire::Opcode::PUT;
  put.blob = blob(200, 3);
  put.expiry = later();
  std::vector<Beat> beats;
  codec::encode(put, beats);
  raw.write(beats[0]);
  raw.doorbell(raw.cmd_tail);
  ASSERT_TRUE(raw.wait_cmd_head(raw.cmd_tail));
  auto rs = raw.responses();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, wire::Status::BAD_CMD);
  EXPECT_EQ(rs[0].tag, 201u);
  EXPECT_EQ(card->get(key_n(2)).status, wire::Status::MISS);
  raw.post(get_cmd(202, key_n(2)));
  raw.doorbell(raw.cmd_tail);
  ASSERT_TRUE(raw.wait_cmd_head(raw.cmd_tail));
  rs = raw.responses();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, wire::Status::MISS);
  EXPECT_EQ(rs[0].tag, 202u);
}

TEST(RingAbuse, DoorbellsOutOfRangeAreIgnoredAndCounted) {
  TempDir dir;
  auto card = model_card(5);
  CardService svc(*card, options(dir, 6));
  svc.start();
  RawClient raw(dir);
  raw.doorbell(raw.cmd_tail + 1000);  // claims 1000 slots of a 64-slot ring
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (raw.status(shm::kStatusError) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(raw.status(shm::kStatusError), static_cast<uint32_t>(shm::RingError::cmd_doorbell_range));
  EXPECT_EQ(raw.status(shm::kStatusCmdHead), 0u);
  EXPECT_GE(svc.counters().rings.doorbell_errors.load(), 1u);

  // A response doorbell freeing slots that were never filled: ignored the same way.
  shm::word(raw.base(), shm::kRegRspDoorbell).store(5000);
  raw.post(get_cmd(301, key_n(3)));
  raw.doorbell(raw.cmd_tail);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(raw.status(shm::kStatusError), static_cast<uint32_t>(shm::RingError::rsp_doorbell_range));
  EXPECT_EQ(raw.status(shm::kStatusCmdHead), 0u);  // nothing run without response room
  // Once the client's doorbells make sense again, the ring works.
  shm::word(raw.base(), shm::kRegRspDoorbell).store(0);
  raw.doorbell(raw.cmd_tail);
  ASSERT_TRUE(raw.wait_cmd_head(raw.cmd_tail));
  auto rs = raw.responses();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].tag, 301u);
  EXPECT_EQ(rs[0].status, wire::Status::MISS);

  // Other clients were never affected.
  shm::ServiceDevice dev(client_options(dir));
  EXPECT_EQ(dev.put(key_n(4), blob(8, 4), later()).status, wire::Status::OK);
}

TEST(RingAbuse, GarbageInEverySlotNeverCrashesTheService) {
  TempDir dir;
  auto card = model_card(5);
  CardService svc(*card, options(dir, 4));
  svc.start();
  RawClient raw(dir);
  uint64_t x = 0x1234567;
  std::size_t answered = 0;
  for (int round = 0; round < 200; ++round) {
    const unsigned n = 1 + round % 16;
    for (unsigned i = 0; i < n; ++i) {
      Beat b;
      for (auto& w : b.data) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        w = x;
      }
      if (round % 3 == 0) wire::set_field(b.data, wire::header::blob_len, x % 300);  // sometimes plausible
      raw.write(b);
    }
    raw.doorbell(raw.cmd_tail);
    ASSERT_TRUE(raw.wait_cmd_head(raw.cmd_tail)) << "round " << round;
    answered += raw.responses().size();
  }
  EXPECT_GT(answered, 200u);  // every round was answered (at least one message each)
  EXPECT_GT(svc.counters().rings.bad_descriptors.load(), 100u);
  shm::ServiceDevice dev(client_options(dir));
  EXPECT_EQ(dev.put(key_n(6), blob(8, 6), later()).status, wire::Status::OK);
}

}  // namespace
}  // namespace sessnic::cardsvc::test
