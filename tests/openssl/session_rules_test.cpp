// Single-use TLS 1.3 tickets, sessions too large for a slot, removal, attach settings.
#include <openssl/rand.h>

#include "cluster_fixture.hpp"

namespace sessnic::test {
namespace {

using testtls::handshake;

TEST(SingleUse, Tls13TicketResumesOnce) {
  ServerOptions o;
  o.max_version = TLS1_3_VERSION;
  Server d = make_server(o);
  o.card = 2;
  Server e = make_server(o);
  auto client = testtls::make_client_ctx(TLS1_3_VERSION);
  auto first = handshake(client.get(), d.ctx.get());
  ASSERT_TRUE(first.ok) << first.error;
  const SessionKey key = server_key(first.client_session.get(), *d.attachment);
  ASSERT_EQ(copy_entry(*d.device, *e.device, key).status, wire::Status::OK);

  auto once = handshake(client.get(), e.ctx.get(), first.client_session.get());
  ASSERT_TRUE(once.ok) << once.error;
  EXPECT_TRUE(once.reused_server);
  auto twice = handshake(client.get(), e.ctx.get(), first.client_session.get());
  ASSERT_TRUE(twice.ok) << twice.error;
  EXPECT_FALSE(twice.reused_client);
  EXPECT_FALSE(twice.reused_server);
  EXPECT_EQ(e.counters().hits, 1u) << e.counters();
  EXPECT_EQ(e.counters().misses, 1u) << e.counters();
  // The entry went out with the SINGLE_USE flag, so the table consumed it.
  EXPECT_EQ(e.device->export_entry(key).status, wire::Status::MISS);

  // Same on the owner: its own copy resumes once.
  auto on_d = handshake(client.get(), d.ctx.get(), first.client_session.get());
  auto on_d_again = handshake(client.get(), d.ctx.get(), first.client_session.get());
  EXPECT_TRUE(on_d.reused_server);
  EXPECT_FALSE(on_d_again.reused_server);
}

TEST(SingleUse, Tls12SessionResumesRepeatedly) {
  ServerOptions o;
  o.max_version = TLS1_2_VERSION;
  Server d = make_server(o);
  auto client = testtls::make_client_ctx(TLS1_3_VERSION);
  auto first = handshake(client.get(), d.ctx.get());
  ASSERT_TRUE(first.ok) << first.error;
  for (int i = 0; i < 3; ++i) {
    auto r = handshake(client.get(), d.ctx.get(), first.client_session.get());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.reused_server) << i;
  }
  EXPECT_EQ(d.counters().hits, 3u);
  // The device answered each time with the version D wrote: its decoded copy was used.
  EXPECT_EQ(d.counters().decoded_reuse, 3u);
}

class TooLarge : public ::testing::TestWithParam<int> {};

TEST_P(TooLarge, ClientCertSessionStaysLocalAndResumesThere) {
  ServerOptions o;
  o.max_version = GetParam();
  o.require_client_cert = true;
  Server d = make_server(o);
  o.card = 2;
  Server e = make_server(o);
  auto client = testtls::make_client_ctx(TLS1_3_VERSION, /*with_client_cert=*/true);
  auto first = handshake(client.get(), d.ctx.get());
  ASSERT_TRUE(first.ok) << first.error;
  EXPECT_EQ(d.counters().too_large, 1u) << d.counters();
  EXPECT_EQ(d.counters().stores, 0u);
  EXPECT_EQ(d.counters().store_failed, 0u);
  const SessionKey key = server_key(first.client_session.get(), *d.attachment);
  EXPECT_EQ(d.device->export_entry(key).status, wire::Status::MISS);
  EXPECT_EQ(d.device->stats()[wire::STATS_TOO_LARGE], 1u);

  auto again = handshake(client.get(), d.ctx.get(), first.client_session.get());
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_TRUE(again.reused_client);
  EXPECT_TRUE(again.reused_server);
  EXPECT_EQ(d.counters().local_hits, 1u) << d.counters();

  // Another server cannot have it: full handshake, no failure.
  auto elsewhere = handshake(client.get(), e.ctx.get(), first.client_session.get());
  ASSERT_TRUE(elsewhere.ok) << elsewhere.error;
  EXPECT_FALSE(elsewhere.reused_server);
}

INSTANTIATE_TEST_SUITE_P(Tls, TooLarge, ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         [](const auto& info) { return info.param == TLS1_2_VERSION ? "v12" : "v13"; });

TEST(Remove, OpenSslRemoveCallbackKeepsTheEntryAttachmentRemoveDeletesIt) {
  ServerOptions o;
  o.max_version = TLS1_2_VERSION;
  Server d = make_server(o);
  auto client = testtls::make_client_ctx(TLS1_2_VERSION);
  auto first = handshake(client.get(), d.ctx.get());
  ASSERT_TRUE(first.ok) << first.error;
  const SessionKey key = server_key(first.client_session.get(), *d.attachment);
  ASSERT_EQ(d.device->export_entry(key).status, wire::Status::OK);
  // OpenSSL's remove callback (also what its "bad session" path calls after one failed
  // connection) cannot tell revocation from a failed connection: the entry stays.
  SslSessionPtr same_id(SSL_SESSION_new());
  ASSERT_EQ(SSL_SESSION_set1_id(same_id.get(), key.id.data(), key.len), 1);
  SSL_CTX_remove_session(d.ctx.get(), same_id.get());
  EXPECT_EQ(d.counters().remove_callbacks, 1u);
  EXPECT_EQ(d.counters().removes, 0u);
  EXPECT_EQ(d.device->export_entry(key).status, wire::Status::OK);
  auto still = handshake(client.get(), d.ctx.get(), first.client_session.get());
  EXPECT_TRUE(still.reused_server) << d.counters();
  // Revocation is explicit.
  EXPECT_EQ(d.attachment->remove(key.bytes()).status, wire::Status::OK);
  EXPECT_EQ(d.counters().removes, 1u);
  EXPECT_EQ(d.device->export_entry(key).status, wire::Status::MISS);
  auto r = handshake(client.get(), d.ctx.get(), first.client_session.get());
  EXPECT_FALSE(r.reused_server);
}

TEST(Attach, SettingsAndDetach) {
  ServerOptions o;
  Server d = make_server(o);
  SSL_CTX* ctx = d.ctx.get();
  EXPECT_EQ(SSL_CTX_get_session_cache_mode(ctx), SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
  EXPECT_NE(SSL_CTX_get_options(ctx) & SSL_OP_NO_TICKET, 0u);
  EXPECT_EQ(SSL_CTX_get_num_tickets(ctx), 1u);
  EXPECT_NE(SSL_CTX_sess_get_new_cb(ctx), nullptr);
  // Same service name, same sid_ctx, on any server.
  const auto expect = session_id_context("travel");
  EXPECT_TRUE(std::equal(expect.begin(), expect.end(), d.attachment->sid_ctx().begin()));
  EXPECT_EQ(d.attachment->ctx_id(), expect[0]);
  EXPECT_NE(session_id_context("travel"), session_id_context("travel2"));
  // Attaching twice is refused; attaching without a sealer too.
  AttachOptions ao;
  ao.sealer = d.sealer.get();
  EXPECT_THROW(attach(ctx, *d.device, ao), std::invalid_argument);
  AttachOptions none;
  auto other = testtls::make_server_ctx(TLS1_3_VERSION);
  EXPECT_THROW(attach(other.get(), *d.device, none), std::invalid_argument);

  d.attachment.reset();
  EXPECT_EQ(SSL_CTX_sess_get_new_cb(ctx), nullptr);
  EXPECT_EQ(SSL_CTX_sess_get_get_cb(ctx), nullptr);
  auto client = testtls::make_client_ctx(TLS1_3_VERSION);
  auto r = handshake(client.get(), ctx);  // still a working server after detach
  EXPECT_TRUE(r.ok) << r.error;
}

// Sets *flag when the SSL_CTX holding it is freed (OpenSSL's ex_data free hook).
void mark_freed(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  if (ptr != nullptr) static_cast<std::atomic<bool>*>(ptr)->store(true);
}

TEST(Attach, AttachmentKeepsTheCtxAlive) {
  static const int freed_index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, mark_freed);
  std::atomic<bool> freed{false};
  ServerOptions o;
  Server d = make_server(o);
  SSL_CTX* ctx = d.ctx.get();
  ASSERT_EQ(SSL_CTX_set_ex_data(ctx, freed_index, &freed), 1);
  d.ctx.reset();  // the server drops its reference first
  EXPECT_FALSE(freed) << "the attachment must hold its own reference";
  // Still a working, attached server: a handshake on it stores its session.
  auto client = testtls::make_client_ctx(TLS1_3_VERSION);
  auto r = handshake(client.get(), ctx);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(d.counters().stores, 1u);
  d.attachment.reset();  // detaching releases that reference: the SSL_CTX goes now
  EXPECT_TRUE(freed) << "the attachment leaked its SSL_CTX reference";
}

TEST(Attach, CountersPrint) {
  AttachCounters c;
  c.stores = 3;
  c.rejected[static_cast<size_t>(RejectReason::auth_failed)] = 2;
  const std::string s = fmt::format("{}", c);
  EXPECT_NE(s.find("stores=3"), std::string::npos) << s;
  EXPECT_NE(s.find("rejected=2"), std::string::npos) << s;
  EXPECT_NE(s.find("auth_failed=2"), std::string::npos) << s;
}

TEST(Attach, GarbageInTheTableNeverResumes) {
  // Random bytes planted under the right key (as a hostile peer could): rejected, counted.
  ServerOptions o;
  o.max_version = TLS1_2_VERSION;
  Server d = make_server(o);
  auto client = testtls::make_client_ctx(TLS1_2_VERSION);
  auto first = handshake(client.get(), d.ctx.get());
  ASSERT_TRUE(first.ok);
  const SessionKey key = server_key(first.client_session.get(), *d.attachment);
  const Response x = d.device->export_entry(key);
  for (size_t len : {size_t{3}, size_t{40}, size_t{200}}) {
    std::vector<uint8_t> junk(len);
    RAND_bytes(junk.data(), static_cast<int>(junk.size()));
    junk[0] = 1;  // even with the right format byte
    ASSERT_TRUE(d.device->put(key, junk, x.expiry).ok());
    auto r = handshake(client.get(), d.ctx.get(), first.client_session.get());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_FALSE(r.reused_server);
  }
  EXPECT_EQ(d.counters().rejected_total(), 3u) << d.counters();
}

}  // namespace
}  // namespace sessnic::test
