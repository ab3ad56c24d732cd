// The host's backplane is a transport pump: real UDP on 127.0.0.1 between two model
// cards. Hostile datagrams (garbage, truncated, oversized, forged with another key,
// corrupted after the MAC, authentic with a bad CRC) are dropped and counted by the pump
// or the card, the table is untouched, and replication keeps working.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sessnic/backplane/frame_auth.hpp"
#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sim_cluster.hpp"

namespace sessnic::backplane::test {
namespace {

using namespace std::chrono_literals;

void send_raw(uint16_t port, const std::vector<uint8_t>& bytes) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

// A well-formed UPDATE frame from card 1 to card 2 (CRC left to the caller).
std::vector<Beat> update_frame(const SessionKey& k) {
  std::vector<Beat> f(3);
  for (Beat& b : f) clear_beat(b);
  wire::set_field(f[0].data, wire::frame::fver, static_cast<unsigned>(wire::BpConst::FRAME_VERSION));
  wire::set_field(f[0].data, wire::frame::ftype, static_cast<unsigned>(wire::FrameType::UPDATE));
  wire::set_field(f[0].data, wire::frame::src, 1);
  wire::set_field(f[0].data, wire::frame::dst, 2);
  wire::set_field(f[0].data, wire::frame::epoch, 100);
  wire::set_field(f[0].data, wire::frame::seq, 1);
  wire::set_field(f[0].data, wire::frame::payload_len, 2 * wire::BEAT_BYTES);
  wire::set_field(f[1].data, wire::header::key_len, k.len);
  for (unsigned i = 0; i < k.len; ++i) wire::set_field_byte(f[1].data, wire::header::key, i, k.id[i]);
  wire::set_field(f[1].data, wire::header::ctx, k.ctx);
  wire::set_field(f[1].data, wire::header::version, (uint64_t{999} << wire::CARD_BITS) | 1);
  wire::set_field(f[1].data, wire::header::expiry, future_expiry());
  wire::set_field(f[1].data, wire::header::blob_len, wire::BEAT_BYTES);
  f[2].data[0] = 0x4242;
  f[2].last = true;
  return f;
}

TEST(backplane_pump, HostileDatagramsAreDroppedCountedAndTouchNothing) {
  const auto key = test_cluster_key();
  NodeConfig a, b;
  a.card_id = 1;
  b.card_id = 2;
  a.cluster_key = b.cluster_key = key;
  a.epoch = b.epoch = 100;
  auto ua = std::make_unique<UdpTransport>(a);
  auto ub = std::make_unique<UdpTransport>(b);
  const uint16_t port_b = ub->local_port();
  ua->set_peer({2, "127.0.0.1", port_b});
  ub->set_peer({1, "127.0.0.1", ua->local_port()});
  a.peers = {{2, "127.0.0.1", port_b}};
  b.peers = {{1, "127.0.0.1", ua->local_port()}};
  DeviceConfig da, db;
  da.card_id = 1;
  db.card_id = 2;
  da.geometry = db.geometry = TableGeometry::small;
  auto dev_a = make_model_device(da), dev_b = make_model_device(db);
  BackplaneNode na(a, *dev_a, std::move(ua)), nb(b, *dev_b, std::move(ub));
  na.start();
  nb.start();
  ASSERT_TRUE(na.wait_for_peers(5000ms) && nb.wait_for_peers(5000ms));
  std::mt19937_64 rng(21);
  const SessionKey good = random_key(rng);
  ASSERT_TRUE(dev_a->put(good, random_blob(rng, 90), future_expiry()).ok());
  ASSERT_TRUE(eventually([&] { return dev_b->export_entry(good).status == wire::Status::OK; }, 5s));
  const TableStats before = dev_b->stats();
  const NodeStats s0 = nb.stats();

  const SessionKey forged_key = random_key(rng);
  std::vector<uint8_t> d;
  // 1. Garbage of a plausible size, 2. truncated, 3. longer than the MTU.
  std::vector<uint8_t> garbage(200);
  for (auto& x : garbage) x = static_cast<uint8_t>(rng());
  send_raw(port_b, garbage);
  send_raw(port_b, std::vector<uint8_t>(10, 0xAB));
  send_raw(port_b, std::vector<uint8_t>(2000, 0xCD));
  // 4. A well-formed frame MAC'd with another cluster key.
  auto other = key;
  other[0] ^= 1;
  FrameAuth forger(other);
  forger.encode(update_frame(forged_key), d);
  send_raw(port_b, d);
  // 5. The right key, a corrupted byte after the MAC was computed.
  FrameAuth auth(key);
  d.clear();
  auth.encode(update_frame(forged_key), d);
  d[80] ^= 0x10;
  send_raw(port_b, d);
  // 6. Authentic, but a payload beat short of payload_len (the MAC covers the zero
  //    padding the sender wrote): the card's CRC check drops it.
  std::vector<Beat> shortf = update_frame(forged_key);
  shortf.resize(2);
  shortf[1].last = true;
  d.clear();
  auth.encode(shortf, d);
  send_raw(port_b, d);
  // 7. Authentic and well sized, but its CRC is wrong: the card drops it.
  d.clear();
  auth.encode(update_frame(forged_key), d);
  send_raw(port_b, d);

  ASSERT_TRUE(eventually(
      [&] {
        const NodeStats s = nb.stats();
        return s.rx_truncated > s0.rx_truncated && s.rx_too_long > s0.rx_too_long &&
               s.rx_bad_mac >= s0.rx_bad_mac + 3 &&
               s[wire::BP_STATS_RX_BAD_CRC] >= s0[wire::BP_STATS_RX_BAD_CRC] + 2;
      },
      5s))
      << "each kind counted: truncated " << nb.stats().rx_truncated << " too_long " << nb.stats().rx_too_long
      << " bad_mac " << nb.stats().rx_bad_mac << " bad_crc "
      << nb.stats()[wire::BP_STATS_RX_BAD_CRC];
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(dev_b->export_entry(forged_key).status, wire::Status::MISS) << "nothing forged reached the table";
  const TableStats after = dev_b->stats();
  EXPECT_EQ(after[wire::STATS_PUTS], before[wire::STATS_PUTS]);
  EXPECT_EQ(after[wire::STATS_LIVE], before[wire::STATS_LIVE]);
  // And the pump still moves real frames.
  const SessionKey later = random_key(rng);
  ASSERT_TRUE(dev_a->put(later, random_blob(rng, 90), future_expiry()).ok());
  EXPECT_TRUE(eventually([&] { return dev_b->export_entry(later).status == wire::Status::OK; }, 5s));
  na.stop();
  nb.stop();
}

}  // namespace
}  // namespace sessnic::backplane::test
