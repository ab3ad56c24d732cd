// The `verilator` device's hardware transfer path: two Verilated card tops wired back to
// back by their backplanes (VerilatorCluster), each a Device.
//  * Device::transfer() moves an entry D -> E through the RTL (EXPORT, TRANSFER frame,
//    PUT-with-version on E, outcome ACK) and answers MISS / FAILED as the contract says.
//  * The OpenSSL cross-server resumption (tests/openssl/resume_across_servers_test.cpp,
//    TwoServersAfterTransfer) on the cards: full handshake on server D attached to card D,
//    session moved by a hardware TRANSFER to card E, resumed on server E attached to E.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <tuple>

#include "cluster_fixture.hpp"
#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sessnic/open_device.hpp"
#include "verilator_cluster.hpp"

namespace sessnic::test {
namespace {

using namespace std::chrono_literals;
using testtls::handshake;

TEST(RtlVerilatorCluster, DeviceTransferMovesTheEntry) {
  TestClock clock;
  VerilatorCluster cl({.cards = {1, 2}, .mode = wire::BpMode::TRANSFER, .clock = clock.fn()});
  Device& d = cl.card(1);
  Device& e = cl.card(2);
  EXPECT_EQ(d.kind(), "verilator");
  std::vector<uint8_t> id(32), blob(256);
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(i * 37 + 1);
  for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<uint8_t>(i * 11);
  const SessionKey key = SessionKey::make(id, 3);
  const uint32_t exp = clock.now->load() + 300;
  const Response p = d.put(key, blob, exp);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(e.get(key).status, wire::Status::MISS);

  const Response t = d.transfer(key, 2, 255, 10s);
  EXPECT_EQ(t.status, wire::Status::OK);
  const Response g = e.get(key);
  ASSERT_EQ(g.status, wire::Status::OK);
  EXPECT_EQ(g.blob, blob);
  EXPECT_EQ(g.version, p.version);
  EXPECT_EQ(g.expiry, exp);

  std::vector<uint8_t> other(id);
  other[0] ^= 0xFF;
  EXPECT_EQ(d.transfer(SessionKey::make(other, 3), 2, 255, 10s).status, wire::Status::MISS);
  EXPECT_EQ(d.transfer(key, 9, 255, 10s).status, wire::Status::FAILED) << "card 9 is not in the cluster";
  EXPECT_EQ(cl.bp_counter(1, 5), 1u);  // transfers_ok
}

// One TLS server attached to a card (service "travel", the shared test sealing key).
struct Srv {
  SslCtxPtr ctx;
  std::unique_ptr<Sealer> sealer;
  std::unique_ptr<Attachment> attachment;
};
Srv make_server(int version, Device& dev, TestClock& host_clock) {
  Srv s;
  s.ctx = testtls::make_server_ctx(version, false);
  s.sealer = std::make_unique<Sealer>(Keyring(test_key(1, 1)));
  AttachOptions ao;
  ao.sealer = s.sealer.get();
  ao.service = "travel";
  ao.clock = host_clock.fn();
  s.attachment = attach(s.ctx.get(), dev, ao);
  return s;
}

class RtlVerilatorResume : public ::testing::TestWithParam<int> {};

TEST_P(RtlVerilatorResume, FullOnDResumedOnEAfterHardwareTransfer) {
  const int version = GetParam();
  TestClock device_clock, host_clock;
  VerilatorCluster cl({.cards = {1, 2}, .mode = wire::BpMode::TRANSFER, .clock = device_clock.fn()});
  auto make = [&](Device& dev) { return make_server(version, dev, host_clock); };
  Srv d = make(cl.card(1));
  Srv e = make(cl.card(2));
  SslCtxPtr client = testtls::make_client_ctx(TLS1_3_VERSION);

  auto first = handshake(client.get(), d.ctx.get());
  ASSERT_TRUE(first.ok) << first.error;
  EXPECT_FALSE(first.reused_client);
  EXPECT_EQ(first.version, version);
  ASSERT_TRUE(first.client_session);
  EXPECT_EQ(d.attachment->counters().stores, 1u) << d.attachment->counters();
  const SessionKey key = server_key(first.client_session.get(), *d.attachment);

  // Without a transfer E cannot resume.
  auto cold = handshake(client.get(), e.ctx.get(), first.client_session.get());
  ASSERT_TRUE(cold.ok) << cold.error;
  EXPECT_FALSE(cold.reused_server);

  // The hardware transfer: card D's backplane engine moves the sealed entry to card E.
  const Response t = cl.card(1).transfer(key, 2, 255, 10s);
  ASSERT_EQ(t.status, wire::Status::OK);
  auto second = handshake(client.get(), e.ctx.get(), first.client_session.get());
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_TRUE(second.reused_client);
  EXPECT_TRUE(second.reused_server);
  EXPECT_EQ(e.attachment->counters().hits, 1u) << e.attachment->counters();
  EXPECT_EQ(e.attachment->counters().rejected_total(), 0u);
  EXPECT_EQ(cl.bp_counter(2, 3), 1u) << "card E applied exactly one backplane entry";
}

INSTANTIATE_TEST_SUITE_P(Tls, RtlVerilatorResume, ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         [](const auto& info) { return info.param == TLS1_2_VERSION ? "Tls12" : "Tls13"; });

// ---- verilator devices behind the UDP pump, as sessnic-server runs them ------------

struct UdpServers {
  std::unique_ptr<Device> dev[2];
  std::unique_ptr<backplane::BackplaneNode> node[2];
  UdpServers(backplane::Mode mode, const std::function<uint32_t()>& clock) {
    backplane::NodeConfig cfg[2];
    std::unique_ptr<backplane::UdpTransport> udp[2];
    for (int i = 0; i < 2; ++i) {
      cfg[i].card_id = static_cast<uint8_t>(i + 1);
      cfg[i].mode = mode;
      for (unsigned b = 0; b < cfg[i].cluster_key.size(); ++b) cfg[i].cluster_key[b] = static_cast<uint8_t>(b * 3 + 1);
      cfg[i].epoch = 500;
      udp[i] = std::make_unique<backplane::UdpTransport>(cfg[i]);
      DeviceConfig dc;
      dc.kind = "verilator";
      dc.card_id = cfg[i].card_id;
      dc.geometry = TableGeometry::small;
      dc.clock = clock;
      dev[i] = open_device(dc);
    }
    for (int i = 0; i < 2; ++i) {
      const backplane::PeerAddress peer{cfg[1 - i].card_id, "127.0.0.1", udp[1 - i]->local_port()};
      cfg[i].peers = {peer};
      udp[i]->set_peer(peer);
    }
    for (int i = 0; i < 2; ++i)
      node[i] = std::make_unique<backplane::BackplaneNode>(cfg[i], *dev[i], std::move(udp[i]));
    for (auto& n : node) n->start();
  }
  ~UdpServers() {
    for (auto& n : node) n->stop();
  }
};

class RtlVerilatorUdpResume : public ::testing::TestWithParam<std::tuple<int, backplane::Mode>> {};

TEST_P(RtlVerilatorUdpResume, FullOnDResumedOnE) {
  const auto [version, mode] = GetParam();
  TestClock device_clock, host_clock;
  UdpServers cards(mode, device_clock.fn());
  ASSERT_TRUE(cards.node[0]->wait_for_peers(10s) && cards.node[1]->wait_for_peers(10s));
  auto make = [&](Device& dev) { return make_server(version, dev, host_clock); };
  Srv d = make(*cards.dev[0]);
  Srv e = make(*cards.dev[1]);
  SslCtxPtr client = testtls::make_client_ctx(TLS1_3_VERSION);
  auto first = handshake(client.get(), d.ctx.get());
  ASSERT_TRUE(first.ok) << first.error;
  ASSERT_TRUE(first.client_session);
  const SessionKey key = server_key(first.client_session.get(), *d.attachment);
  if (mode == backplane::Mode::transfer) {
    ASSERT_EQ(cards.dev[1]->export_entry(key).status, wire::Status::MISS) << "transfer mode replicates nothing";
    ASSERT_EQ(cards.dev[0]->transfer(key, 2, 255, 5s).status, wire::Status::OK);
  } else {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (cards.dev[1]->export_entry(key).status != wire::Status::OK && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(1ms);
  }
  auto second = handshake(client.get(), e.ctx.get(), first.client_session.get());
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_TRUE(second.reused_client);
  EXPECT_TRUE(second.reused_server);
  EXPECT_EQ(e.attachment->counters().hits, 1u) << e.attachment->counters();
  EXPECT_EQ(e.attachment->counters().rejected_total(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Udp, RtlVerilatorUdpResume,
                         ::testing::Combine(::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                                            ::testing::Values(backplane::Mode::transfer, backplane::Mode::replicate)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == TLS1_2_VERSION ? "Tls12" : "Tls13") +
                                  (std::get<1>(info.param) == backplane::Mode::transfer ? "Transfer" : "Replicate");
                         });

}  // namespace
}  // namespace sessnic::test
