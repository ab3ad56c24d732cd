// A client that did a full handshake on server D resumes on server E (and F) after the
// session was transferred between their devices; failure cases fall back to a full
// handshake and are counted.
#include "cluster_fixture.hpp"

namespace sessnic::test {
namespace {

using testtls::handshake;

class ResumeAcrossServers : public ::testing::TestWithParam<int> {
 protected:
  int version() const { return GetParam(); }
  ServerOptions opts(uint8_t card) const {
    ServerOptions o;
    o.card = card;
    o.max_version = version();
    return o;
  }
  testtls::HandshakeResult full_on(Server& s) {
    auto r = handshake(client_.get(), s.ctx.get());
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_FALSE(r.reused_client);
    EXPECT_EQ(r.version, version());
    return r;
  }
  SslCtxPtr client_ = testtls::make_client_ctx(TLS1_3_VERSION);
};

TEST_P(ResumeAcrossServers, TwoServersAfterTransfer) {
  Server d = make_server(opts(1));
  Server e = make_server(opts(2));
  auto first = full_on(d);
  ASSERT_TRUE(first.client_session);
  EXPECT_EQ(d.counters().stores, 1u) << d.counters();
  const SessionKey key = server_key(first.client_session.get(), *d.attachment);
  EXPECT_EQ(key.len, 32);
  EXPECT_EQ(key.id[0], 1) << "byte 0 of the session id is the owner card";

  // Without a transfer E cannot resume: full handshake, counted miss.
  auto cold = handshake(client_.get(), e.ctx.get(), first.client_session.get());
  ASSERT_TRUE(cold.ok) << cold.error;
  EXPECT_FALSE(cold.reused_client);
  EXPECT_FALSE(cold.reused_server);
  EXPECT_EQ(e.counters().misses, 1u) << e.counters();

  ASSERT_EQ(copy_entry(*d.device, *e.device, key).status, wire::Status::OK);
  auto second = handshake(client_.get(), e.ctx.get(), first.client_session.get());
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_TRUE(second.reused_client);
  EXPECT_TRUE(second.reused_server);
  EXPECT_EQ(e.counters().hits, 1u) << e.counters();
  EXPECT_EQ(e.counters().rejected_total(), 0u);
}

TEST_P(ResumeAcrossServers, ThreeServersHopping) {
  Server s[3] = {make_server(opts(1)), make_server(opts(2)), make_server(opts(3))};
  auto r = full_on(s[0]);
  SslSessionPtr session = std::move(r.client_session);
  unsigned at = 0;
  // D -> E -> F -> D -> E: each hop moves the client's current session to the next server.
  for (unsigned hop = 1; hop <= 4; ++hop) {
    const unsigned next = hop % 3;
    const SessionKey key = server_key(session.get(), *s[at].attachment);
    ASSERT_EQ(copy_entry(*s[at].device, *s[next].device, key).status, wire::Status::OK) << hop;
    auto res = handshake(client_.get(), s[next].ctx.get(), session.get());
    ASSERT_TRUE(res.ok) << res.error;
    EXPECT_TRUE(res.reused_client) << "hop " << hop;
    EXPECT_TRUE(res.reused_server) << "hop " << hop;
    // TLS 1.3 issues a fresh single-use ticket on every resumption; TLS 1.2 keeps the id.
    session = std::move(res.client_session);
    at = next;
  }
  uint64_t hits = 0;
  for (auto& srv : s) hits += srv.counters().hits;
  EXPECT_EQ(hits, 4u);
}

TEST_P(ResumeAcrossServers, ExpiredOnTheDeviceMeansFullHandshake) {
  ServerOptions eo = opts(2);
  Server d = make_server(opts(1));
  Server e = make_server(eo);
  auto first = full_on(d);
  const SessionKey key = server_key(first.client_session.get(), *d.attachment);
  ASSERT_EQ(copy_entry(*d.device, *e.device, key).status, wire::Status::OK);
  *eo.device_clock.now += 24 * 3600;  // E's card clock passes the session's expiry
  auto second = handshake(client_.get(), e.ctx.get(), first.client_session.get());
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_FALSE(second.reused_client);
  EXPECT_FALSE(second.reused_server);
  EXPECT_EQ(e.counters().expired, 1u) << e.counters();
}

TEST_P(ResumeAcrossServers, ExpiredSealedBlobIsRejectedOnTheHost) {
  // The card still holds it (its clock lags) but the sealed expiry says no.
  ServerOptions eo = opts(2);
  Server d = make_server(opts(1));
  Server e = make_server(eo);
  auto first = full_on(d);
  const SessionKey key = server_key(first.client_session.get(), *d.attachment);
  ASSERT_EQ(copy_entry(*d.device, *e.device, key).status, wire::Status::OK);
  *eo.host_clock.now += 24 * 3600;
  auto second = handshake(client_.get(), e.ctx.get(), first.client_session.get());
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_FALSE(second.reused_server);
  EXPECT_EQ(e.counters().rejected_by(RejectReason::expired), 1u) << e.counters();
}

TEST_P(ResumeAcrossServers, TamperedBlobIsRejected) {
  Server d = make_server(opts(1));
  Server e = make_server(opts(2));
  auto first = full_on(d);
  const SessionKey key = server_key(first.client_session.get(), *d.attachment);
  Response x = d.device->export_entry(key);
  ASSERT_EQ(x.status, wire::Status::OK);
  x.blob[x.blob.size() / 2] ^= 0x40;  // one bit inside the ciphertext
  ASSERT_TRUE(e.device->put(key, x.blob, x.expiry, x.flags, x.version).ok());
  auto second = handshake(client_.get(), e.ctx.get(), first.client_session.get());
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_FALSE(second.reused_client);
  EXPECT_FALSE(second.reused_server);
  EXPECT_EQ(e.counters().rejected_by(RejectReason::auth_failed), 1u) << e.counters();
  EXPECT_EQ(e.counters().hits, 0u);
}

TEST_P(ResumeAcrossServers, WrongClusterKeyIsRejected) {
  ServerOptions same_id = opts(2);
  same_id.key = test_key(1, 9);  // same key id, other bytes
  ServerOptions other_id = opts(3);
  other_id.key = test_key(77, 1);
  Server d = make_server(opts(1));
  Server e = make_server(same_id);
  Server f = make_server(other_id);
  auto first = full_on(d);
  const SessionKey key = server_key(first.client_session.get(), *d.attachment);
  ASSERT_EQ(copy_entry(*d.device, *e.device, key).status, wire::Status::OK);
  ASSERT_EQ(copy_entry(*d.device, *f.device, key).status, wire::Status::OK);
  auto on_e = handshake(client_.get(), e.ctx.get(), first.client_session.get());
  auto on_f = handshake(client_.get(), f.ctx.get(), first.client_session.get());
  ASSERT_TRUE(on_e.ok && on_f.ok);
  EXPECT_FALSE(on_e.reused_server);
  EXPECT_FALSE(on_f.reused_server);
  EXPECT_EQ(e.counters().rejected_by(RejectReason::auth_failed), 1u) << e.counters();
  EXPECT_EQ(f.counters().rejected_by(RejectReason::unknown_key), 1u) << f.counters();
}

TEST_P(ResumeAcrossServers, PreviousKeyStillResumesDuringRotation) {
  ServerOptions rotated = opts(2);
  Server d = make_server(opts(1));  // still on key 1
  Server e = make_server(rotated);
  // E rotated to key 2 and keeps key 1 for unsealing.
  Sealer rotated_sealer(Keyring(test_key(2, 2), {test_key(1, 1)}));
  e.attachment.reset();
  AttachOptions ao;
  ao.sealer = &rotated_sealer;
  ao.service = "travel";
  e.attachment = attach(e.ctx.get(), *e.device, ao);
  auto first = full_on(d);
  ASSERT_EQ(copy_entry(*d.device, *e.device, server_key(first.client_session.get(), *d.attachment)).status,
            wire::Status::OK);
  auto second = handshake(client_.get(), e.ctx.get(), first.client_session.get());
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_TRUE(second.reused_server);
  e.attachment.reset();  // before rotated_sealer goes out of scope
}

TEST_P(ResumeAcrossServers, DifferentServiceDoesNotResume) {
  Server d = make_server(opts(1));
  Server e = make_server(opts(2));
  e.attachment.reset();
  AttachOptions ao;
  ao.sealer = e.sealer.get();
  ao.service = "other-service";
  e.attachment = attach(e.ctx.get(), *e.device, ao);
  auto first = full_on(d);
  const SessionKey dk = server_key(first.client_session.get(), *d.attachment);
  // Even with the entry planted under E's ctx id, the sid_ctx inside the session differs.
  const Response x = d.device->export_entry(dk);
  SessionKey ek = dk;
  ek.ctx = e.attachment->ctx_id();
  ASSERT_TRUE(e.device->put(ek, x.blob, x.expiry, x.flags, x.version).ok());
  auto second = handshake(client_.get(), e.ctx.get(), first.client_session.get());
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_FALSE(second.reused_server);
}

INSTANTIATE_TEST_SUITE_P(Tls, ResumeAcrossServers, ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         [](const auto& info) { return info.param == TLS1_2_VERSION ? "v12" : "v13"; });

}  // namespace
}  // namespace sessnic::test
