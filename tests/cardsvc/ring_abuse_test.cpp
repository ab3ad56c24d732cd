// A client that writes whatever it likes into its rings, doorbells and registers: the
// service's engine answers BAD_CMD (tag echoed) or ignores the doorbell, keeps serving,
// and the card and every other client are untouched. The raw client here sets its rings
// up with the one ring driver, then writes slots and doorbells by hand.
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include "sessnic/codec.hpp"
#include "sessnic/ring/ring_driver.hpp"
#include "sessnic/ring/ring_regs.hpp"
#include "sessnic/shm/attach_socket.hpp"
#include "sessnic/shm/shm_ring_bus.hpp"
#include "test_support.hpp"

namespace sessnic::cardsvc::test {
namespace {

using namespace std::chrono_literals;
namespace reg = ring::reg;

struct RawClient {
  std::unique_ptr<shm::ShmRingBus> bus;
  std::optional<ring::RingDriver> driver;  // programs and enables the rings, then stands by
  ring::RingLayout l;
  uint32_t cmd_tail = 0, rsp_head = 0;
  std::vector<Response> got;

  explicit RawClient(const TempDir& dir) {
    auto sock = shm::connect_unix(dir.socket());
    shm::Hello hello;
    EXPECT_TRUE(shm::send_message(sock.get(), &hello, sizeof hello, nullptr, 0));
    shm::Welcome w;
    shm::UniqueFd fds[3];
    EXPECT_EQ(shm::recv_message(sock.get(), &w, sizeof w, fds, 3, 2000), 3);
    l = ring::RingLayout{w.cmd_log2, w.rsp_log2};
    bus = std::make_unique<shm::ShmRingBus>(std::move(sock), shm::SharedRegion::map(std::move(fds[0]), w.window_bytes),
                                            std::move(fds[1]), std::move(fds[2]), l);
    ring::RingConfig rc;
    rc.layout = l;
    driver.emplace(*bus, rc);
  }
  uint8_t* mem() { return bus->memory().data(); }
  void write(const Beat& b) { std::memcpy(mem() + l.cmd_offset() + (cmd_tail++ & (l.cmd_slots() - 1)) * 64, b.data, 64); }
  void post(const Command& c) {
    std::vector<Beat> beats;
    codec::encode(c, beats);
    for (const auto& b : beats) write(b);
  }
  void doorbell(uint32_t v) { bus->write_reg(reg::kCmdDoorbell, v); }
  uint32_t status(wire::Field f) {
    uint64_t w[8];
    std::atomic_thread_fence(std::memory_order_acquire);
    std::memcpy(w, mem() + l.status_offset(), sizeof w);
    return static_cast<uint32_t>(wire::get_field(w, f));
  }
  uint32_t ring_error() { return bus->read_reg(reg::kRingStatus) & reg::kRingStatusErrorMask; }
  std::vector<Response> take() {
    std::vector<Response> out;
    const uint32_t tail = status(wire::ring_status::rsp_tail);
    while (rsp_head != tail) {
      Beat h;
      std::memcpy(h.data, mem() + l.rsp_offset() + (rsp_head & (l.rsp_slots() - 1)) * 64, 64);
      const unsigned n = 1 + beats_for(static_cast<unsigned>(wire::get_field(h.data, wire::header::blob_len)));
      std::vector<Beat> beats(n);
      for (unsigned i = 0; i < n; ++i) {
        std::memcpy(beats[i].data, mem() + l.rsp_offset() + ((rsp_head + i) & (l.rsp_slots() - 1)) * 64, 64);
        beats[i].last = i + 1 == n;
      }
      rsp_head += n;
      out.push_back(codec::decode(beats));
    }
    bus->write_reg(reg::kRspDoorbell, rsp_head);
    return out;
  }
  // Waits until the card's cmd_head reaches `head` (2 s at most), taking responses as they
  // come (the engine starts a message only when a largest answer fits).
  bool wait_cmd_head(uint32_t head) {
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    for (;;) {
      for (auto& r : take()) got.push_back(std::move(r));
      if (status(wire::ring_status::cmd_head) == head) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
  }
  std::vector<Response> responses() {
    std::vector<Response> out = std::move(got);
    got.clear();
    for (auto& r : take()) out.push_back(std::move(r));
    return out;
  }
  // Rings the doorbell for every slot written and returns the answers; a card that does
  // not take the slots within 2 s is a test failure (and the answers so far come back).
  std::vector<Response> submit() {
    doorbell(cmd_tail);
    if (!wait_cmd_head(cmd_tail)) ADD_FAILURE() << "the service did not take the slots up to " << cmd_tail;
    return responses();
  }
};

Command get_cmd(uint32_t tag, const SessionKey& k) {
  Command c;
  c.op = wire::Opcode::GET;
  c.tag = tag;
  c.key = k;
  return c;
}

Command put_cmd(uint32_t tag, const SessionKey& k, std::vector<uint8_t> b) {
  Command c = get_cmd(tag, k);
  c.op = wire::Opcode::PUT;
  c.blob = std::move(b);
  c.expiry = later();
  return c;
}

// One answer, with this status and the tag of the command it answers.
void expect_one(const std::vector<Response>& rs, wire::Status status, uint32_t tag) {
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, status) << wire::to_string(rs[0].status);
  EXPECT_EQ(rs[0].tag, tag);
}

TEST(RingAbuse, BadDescriptorsAnswerBadCmdWithTheirTagAndTheRingGoesOn) {
  auto&& [dir, card, svc] = ServedCard(5, 6);
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
  Command flush;
  flush.op = wire::Opcode::FLUSH;  // one worker may not wipe the host's card
  flush.tag = 104;
  raw.post(flush);
  Command transfer = get_cmd(105, key_n(1));
  transfer.op = wire::Opcode::TRANSFER;  // nor move its sessions away
  transfer.aux = 9;
  raw.post(transfer);
  Command set_time;
  set_time.op = wire::Opcode::SET_TIME;  // acknowledged, but the card's clock is the service's
  set_time.tag = 106;
  set_time.aux = 0xFFFFFFF0u;
  raw.post(set_time);
  raw.post(get_cmd(107, key_n(1)));
  auto rs = raw.submit();
  ASSERT_EQ(rs.size(), 7u);
  for (unsigned i = 0; i < 5; ++i) {
    EXPECT_EQ(rs[i].status, wire::Status::BAD_CMD) << i;
    EXPECT_EQ(rs[i].tag, 101 + i);
  }
  EXPECT_EQ(rs[5].status, wire::Status::OK);
  EXPECT_EQ(rs[6].status, wire::Status::OK);  // not expired by the client's clock
  EXPECT_EQ(rs[6].tag, 107u);
  EXPECT_EQ(rs[6].blob, blob(40, 1));
  EXPECT_EQ(svc.counters().card.privileged.load(), 2u);
  EXPECT_EQ(raw.status(wire::ring_status::bad_descs), 3u);
  EXPECT_EQ(card->get(key_n(1)).status, wire::Status::OK);  // FLUSH never reached the card

  // A blob_len no slot can hold: BAD_CMD, and the rest of that doorbell is unframeable.
  raw.post(put_cmd(108, key_n(1), blob(wire::SLOT_BYTES + 64, 2)));
  raw.post(get_cmd(109, key_n(1)));
  rs = raw.submit();
  expect_one(rs, wire::Status::BAD_CMD, 108);
  EXPECT_EQ(raw.ring_error(), static_cast<uint32_t>(wire::RingError::BAD_BLOB_LEN));
  raw.post(get_cmd(110, key_n(1)));
  rs = raw.submit();
  expect_one(rs, wire::Status::OK, 110);
}

TEST(RingAbuse, MessageRunningPastTheTailIsRefused) {
  auto&& [dir, card, svc] = ServedCard(5, 6);
  RawClient raw(dir);
  // A PUT whose header promises 4 blob beats, doorbell covering only the header: what a
  // worker killed in the middle of posting would leave if it had rung early.
  std::vector<Beat> beats;
  codec::encode(put_cmd(201, key_n(2), blob(200, 3)), beats);
  raw.write(beats[0]);
  auto rs = raw.submit();
  expect_one(rs, wire::Status::BAD_CMD, 201);
  EXPECT_EQ(raw.ring_error(), static_cast<uint32_t>(wire::RingError::PAST_TAIL));
  EXPECT_EQ(card->get(key_n(2)).status, wire::Status::MISS);
  raw.post(get_cmd(202, key_n(2)));
  rs = raw.submit();
  expect_one(rs, wire::Status::MISS, 202);
}

TEST(RingAbuse, DoorbellsOutOfRangeAreIgnored) {
  auto&& [dir, card, svc] = ServedCard(5, 6);
  RawClient raw(dir);
  raw.doorbell(raw.cmd_tail + 1000);  // claims 1000 slots of a 64-slot ring
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(raw.ring_error(), static_cast<uint32_t>(wire::RingError::BAD_DOORBELL));
  EXPECT_EQ(raw.bus->read_reg(reg::kCmdHead), 0u);
  raw.bus->write_reg(reg::kRspDoorbell, 5000);  // frees response slots never written
  raw.post(get_cmd(301, key_n(3)));
  auto rs = raw.submit();
  expect_one(rs, wire::Status::MISS, 301);
  // Other clients were never affected.
  shm::ServiceDevice dev(client_options(dir));
  EXPECT_EQ(dev.put(key_n(4), blob(8, 4), later()).status, wire::Status::OK);
}

TEST(RingAbuse, RingBasesOutsideTheWindowStopOnlyThatClient) {
  auto&& [dir, card, svc] = ServedCard(5, 6);
  RawClient raw(dir);
  raw.bus->write_reg(reg::kCmdRingBaseLo, 0xFFFF0000u);  // a DMA address outside the window
  raw.bus->write_reg(reg::kCmdRingBaseLo + 4, 0x7FFFu);
  raw.post(get_cmd(401, key_n(4)));
  raw.doorbell(raw.cmd_tail);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(raw.ring_error(), static_cast<uint32_t>(wire::RingError::AXI_ERROR));
  shm::ServiceDevice dev(client_options(dir));
  EXPECT_EQ(dev.put(key_n(4), blob(8, 4), later()).status, wire::Status::OK);
  EXPECT_EQ(dev.get(key_n(4)).blob, blob(8, 4));
}

TEST(RingAbuse, GarbageInEverySlotNeverCrashesTheService) {
  auto&& [dir, card, svc] = ServedCard(5, 4);
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
  EXPECT_GE(answered, 200u);  // every round was answered (at least its first message)
  EXPECT_NE(raw.ring_error(), static_cast<uint32_t>(wire::RingError::AXI_ERROR));
  shm::ServiceDevice dev(client_options(dir));
  EXPECT_EQ(dev.put(key_n(6), blob(8, 6), later()).status, wire::Status::OK);
}

}  // namespace
}  // namespace sessnic::cardsvc::test
