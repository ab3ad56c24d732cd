// The removal policy (docs/openssl.md): a session leaves the cluster when it is consumed
// (single-use TLS 1.3 ticket), expires, or is removed with Attachment::remove() - never
// because one connection ended badly. A client that closes without close_notify, a
// server that drops a connection, a handshake that fails: the entry stays, no DEL
// reaches the device and, in replicate mode, no DELETE frame leaves the card.
#include <atomic>

#include "cluster_fixture.hpp"
#include "connection_endings.hpp"
#include "sim_cluster.hpp"

namespace sessnic::test {
namespace {

using testtls::handshake;

uint64_t deletes_on(Device& d) { return d.stats()[wire::STATS_DELETES]; }
uint64_t tombstones_on(Device& d) { return d.stats()[wire::STATS_TOMBSTONES]; }

struct Case {
  int version;
  Ending ending;
};

void PrintTo(const Case& c, std::ostream* os) {  // readable ctest names
  *os << (c.version == TLS1_2_VERSION ? "TLS 1.2 " : "TLS 1.3 ") << to_string(c.ending);
}

class BadEnding : public ::testing::TestWithParam<Case> {
 protected:
  int version() const { return GetParam().version; }
  Ending ending() const { return GetParam().ending; }
  ServerOptions opts(uint8_t card) const {
    ServerOptions o;
    o.card = card;
    o.max_version = version();
    return o;
  }
  SslCtxPtr client_ = testtls::make_client_ctx(TLS1_3_VERSION);
};

TEST_P(BadEnding, FullHandshakeSessionStaysResumableOnAnotherServer) {
  Server d = make_server(opts(1));
  Server e = make_server(opts(2));
  Connection first = connect_and_end(client_.get(), d.ctx.get(), ending());
  ASSERT_TRUE(first.handshake_ok) << first.error;
  ASSERT_TRUE(first.client_session);
  if (ending() != Ending::server_abort) {
    EXPECT_TRUE(first.server_saw_error) << "the test must end the connection badly";
  }
  // OpenSSL did call the remove callback (this is the path under test) ...
  EXPECT_GE(d.counters().remove_callbacks, 1u) << d.counters();
  // ... and the entry is still in D's table: no DEL, no tombstone.
  EXPECT_EQ(deletes_on(*d.device), 0u);
  EXPECT_EQ(tombstones_on(*d.device), 0u);
  EXPECT_EQ(d.counters().removes, 0u);
  const SessionKey key = server_key(first.client_session.get(), *d.attachment);
  ASSERT_EQ(copy_entry(*d.device, *e.device, key).status, wire::Status::OK) << "the session left the cluster";

  auto on_e = handshake(client_.get(), e.ctx.get(), first.client_session.get());
  ASSERT_TRUE(on_e.ok) << on_e.error;
  EXPECT_TRUE(on_e.reused_client);
  EXPECT_TRUE(on_e.reused_server) << e.counters();
}

TEST_P(BadEnding, ResumedConnectionEndingBadlyKeepsTheSession) {
  // A resumption on E whose connection ends badly: OpenSSL calls the remove callback
  // with the session E just resumed (the decoded copy). The next resumption still works.
  Server d = make_server(opts(1));
  Server e = make_server(opts(2));
  auto first = handshake(client_.get(), d.ctx.get());
  ASSERT_TRUE(first.ok) << first.error;
  ASSERT_EQ(copy_entry(*d.device, *e.device, server_key(first.client_session.get(), *d.attachment)).status,
            wire::Status::OK);
  Connection resumed = connect_and_end(client_.get(), e.ctx.get(), ending(), first.client_session.get());
  ASSERT_TRUE(resumed.handshake_ok) << resumed.error;
  ASSERT_TRUE(resumed.reused_server);
  EXPECT_EQ(deletes_on(*e.device), version() == TLS1_3_VERSION ? 1u : 0u) << "only the TAKE of the single-use ticket";
  // TLS 1.2: the same session again; TLS 1.3: the fresh ticket of the resumed connection.
  auto again = handshake(client_.get(), e.ctx.get(), resumed.client_session.get());
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_TRUE(again.reused_server) << e.counters();
}

std::vector<Case> cases() {
  std::vector<Case> v;
  for (int ver : {TLS1_2_VERSION, TLS1_3_VERSION})
    for (Ending e : {Ending::client_eof, Ending::client_eof_after_request, Ending::server_abort}) v.push_back({ver, e});
  return v;
}
INSTANTIATE_TEST_SUITE_P(Endings, BadEnding, ::testing::ValuesIn(cases()), [](const auto& info) {
  return std::string(info.param.version == TLS1_2_VERSION ? "v12_" : "v13_") + to_string(info.param.ending);
});

TEST(RemovalPolicy, FailedHandshakesWriteNoTombstone) {
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    ServerOptions o;
    Server d = make_server(o);
    auto client = testtls::make_client_ctx(TLS1_3_VERSION);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(failed_handshake(client.get(), d.ctx.get(), version)) << i;
    EXPECT_EQ(deletes_on(*d.device), 0u) << version;
    EXPECT_EQ(tombstones_on(*d.device), 0u) << version;
    EXPECT_EQ(d.counters().stores, 0u);
    EXPECT_EQ(d.counters().removes, 0u);
  }
}

TEST(RemovalPolicy, TooLargeSessionSurvivesAnUncleanClose) {
  ServerOptions o;
  o.max_version = TLS1_2_VERSION;
  o.require_client_cert = true;
  Server d = make_server(o);
  auto client = testtls::make_client_ctx(TLS1_3_VERSION, /*with_client_cert=*/true);
  Connection first = connect_and_end(client.get(), d.ctx.get(), Ending::client_eof);
  ASSERT_TRUE(first.handshake_ok) << first.error;
  EXPECT_EQ(d.counters().too_large, 1u) << d.counters();
  auto again = handshake(client.get(), d.ctx.get(), first.client_session.get());
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_TRUE(again.reused_server) << d.counters();
}

TEST(RemovalPolicy, ExplicitRemoveDeletesClusterWide) {
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    ServerOptions o;
    o.max_version = version;
    Server d = make_server(o);
    auto client = testtls::make_client_ctx(TLS1_3_VERSION);
    auto first = handshake(client.get(), d.ctx.get());
    ASSERT_TRUE(first.ok) << first.error;
    const SessionKey key = server_key(first.client_session.get(), *d.attachment);
    SslSessionPtr server_side(SSL_SESSION_new());
    ASSERT_EQ(SSL_SESSION_set1_id(server_side.get(), key.id.data(), key.len), 1);
    const Response r = d.attachment->remove(server_side.get());
    EXPECT_EQ(r.status, wire::Status::OK) << version;
    EXPECT_EQ(d.counters().removes, 1u);
    EXPECT_EQ(d.device->export_entry(key).status, wire::Status::MISS);
    EXPECT_EQ(tombstones_on(*d.device), 1u) << "a tombstone keeps a late replica from resurrecting it";
    auto after = handshake(client.get(), d.ctx.get(), first.client_session.get());
    ASSERT_TRUE(after.ok) << after.error;
    EXPECT_FALSE(after.reused_server) << version;
  }
}

// ---- replicate mode: two cards on the simulated backplane ----------------------------

// Counts DELETE frames as they leave any card.
class DeleteFrameCounter {
 public:
  explicit DeleteFrameCounter(backplane::SimNetwork& net) {
    net.set_tap([n = count_](uint8_t, const backplane::Datagram& d) {
      const auto type = static_cast<wire::FrameType>(d.bytes.size() > 1 ? d.bytes[1] : 0);
      if (type == wire::FrameType::DELETE) n->fetch_add(1);
    });
  }
  uint64_t operator()() const { return count_->load(); }

 private:
  std::shared_ptr<std::atomic<uint64_t>> count_ = std::make_shared<std::atomic<uint64_t>>(0);
};

struct ReplicatedServers {
  backplane::test::SimCluster cluster{{1, 2}, backplane::Mode::replicate, backplane::SimLinkOptions{}};
  Sealer sealer{Keyring(test_key(1, 1))};
  SslCtxPtr d_ctx, e_ctx;
  std::unique_ptr<Attachment> d, e;
  explicit ReplicatedServers(int version)
      : d_ctx(testtls::make_server_ctx(version)), e_ctx(testtls::make_server_ctx(version)) {
    AttachOptions ao;
    ao.sealer = &sealer;
    ao.service = "travel";
    d = attach(d_ctx.get(), *cluster[1].dev, ao);
    e = attach(e_ctx.get(), *cluster[2].dev, ao);
  }
};

TEST(RemovalPolicyReplicate, BadEndingsAndFailedHandshakesSendNoDelete) {
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    ReplicatedServers s(version);
    ASSERT_TRUE(s.cluster.wait_connected());
    DeleteFrameCounter deletes(s.cluster.net());
    auto client = testtls::make_client_ctx(TLS1_3_VERSION);
    std::vector<SslSessionPtr> sessions;
    for (Ending how : {Ending::client_eof, Ending::client_eof_after_request, Ending::server_abort}) {
      Connection c = connect_and_end(client.get(), s.d_ctx.get(), how);
      ASSERT_TRUE(c.handshake_ok) << c.error;
      sessions.push_back(std::move(c.client_session));
    }
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(failed_handshake(client.get(), s.d_ctx.get(), TLS1_2_VERSION));
    // Replication reached E (the events leave in order, so any DELETE would be out too).
    Device& e_table = *s.cluster[2].dev;
    for (auto& sess : sessions) {
      const SessionKey key = server_key(sess.get(), *s.d);
      EXPECT_TRUE(backplane::test::eventually([&] { return e_table.export_entry(key).status == wire::Status::OK; },
                                              std::chrono::milliseconds(3000)))
          << "version " << version << ": the session never reached E, or was deleted";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(deletes(), 0u) << "version " << version;
    EXPECT_GE(s.d->counters().remove_callbacks, 3u) << s.d->counters();
    for (auto& sess : sessions) {
      auto r = handshake(client.get(), s.e_ctx.get(), sess.get());
      ASSERT_TRUE(r.ok) << r.error;
      EXPECT_TRUE(r.reused_server) << "version " << version << " " << s.e->counters();
    }
  }
}

TEST(RemovalPolicyReplicate, ExplicitRemoveSendsADelete) {
  ReplicatedServers s(TLS1_2_VERSION);
  ASSERT_TRUE(s.cluster.wait_connected());
  DeleteFrameCounter deletes(s.cluster.net());
  auto client = testtls::make_client_ctx(TLS1_3_VERSION);
  auto first = handshake(client.get(), s.d_ctx.get());
  ASSERT_TRUE(first.ok) << first.error;
  const SessionKey key = server_key(first.client_session.get(), *s.d);
  Device& e_table = *s.cluster[2].dev;
  ASSERT_TRUE(backplane::test::eventually([&] { return e_table.export_entry(key).status == wire::Status::OK; },
                                          std::chrono::milliseconds(3000)));
  SslSessionPtr id_only(SSL_SESSION_new());
  ASSERT_EQ(SSL_SESSION_set1_id(id_only.get(), key.id.data(), key.len), 1);
  EXPECT_EQ(s.d->remove(id_only.get()).status, wire::Status::OK);
  EXPECT_TRUE(backplane::test::eventually([&] { return e_table.export_entry(key).status == wire::Status::MISS; },
                                          std::chrono::milliseconds(3000)));
  EXPECT_GE(deletes(), 1u);
  auto r = handshake(client.get(), s.e_ctx.get(), first.client_session.get());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(r.reused_server);
}

}  // namespace
}  // namespace sessnic::test
