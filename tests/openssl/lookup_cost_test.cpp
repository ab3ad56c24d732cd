// What one session lookup and one session store cost inside real handshakes, in heap
// allocations and lock acquisitions (issue 14: "four or more heap allocations and ten
// mutex acquisitions per session lookup; nginx and HAProxy lookups allocate nothing").
// This executable counts every malloc and every pthread mutex / rwlock lock of the
// calling thread (bench/openssl/call_counts.hpp); CallbackProbe adds up what happens
// inside attach()'s get-session and new-session callbacks. The bounds are today's
// counts: a change that adds an allocation or a lock to these paths fails here.
#include <gtest/gtest.h>

#include <atomic>

#include "callback_probe.hpp"
#include "cluster_fixture.hpp"

namespace sessnic::test {
namespace {

using bench::CallbackCosts;
using bench::CallbackProbe;
using testtls::handshake;

TEST(LookupCost, CountingIsInEffect) { EXPECT_TRUE(bench::call_counting_active()); }

struct Probed {
  Server server;
  std::unique_ptr<CallbackProbe> probe;
};

Probed probed_server(int version, uint8_t card) {
  ServerOptions o;
  o.max_version = version;
  o.card = card;
  Probed p{make_server(o), nullptr};
  p.probe = std::make_unique<CallbackProbe>(p.server.ctx.get());
  return p;
}

// Resumes `rounds` times on the server that stored the session, after a few resumptions
// of warm-up (the card clock's first SET_TIME, the cache pools' first nodes).
CallbackCosts resume_on_owner(int version, unsigned rounds) {
  Probed d = probed_server(version, 1);
  auto client = testtls::make_client_ctx(TLS1_3_VERSION);
  auto r = handshake(client.get(), d.server.ctx.get());
  EXPECT_TRUE(r.ok) << r.error;
  SslSessionPtr s = std::move(r.client_session);
  for (unsigned i = 0; i < rounds + 5; ++i) {
    if (i == 5) d.probe->reset();
    auto again = handshake(client.get(), d.server.ctx.get(), s.get());
    EXPECT_TRUE(again.ok && again.reused_server) << again.error;
    s = std::move(again.client_session);
  }
  EXPECT_EQ(d.server.counters().decoded_reuse, rounds + 5) << d.server.counters();
  return d.probe->costs();
}

// Steady state on the server that stored the session (what bench_resume times): one card
// GET (TLS 1.2) or TAKE (TLS 1.3) and the decoded copy. The one allocation is the card
// answer's blob; the locks are the card's and the decoded copies'.
TEST(LookupCost, LookupOnTheOwner) {
  constexpr unsigned kRounds = 20;
  for (const int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2");
    const CallbackCosts c = resume_on_owner(version, kRounds);
    ASSERT_EQ(c.lookups, kRounds);
    EXPECT_LE(c.lookup.allocations, 1 * kRounds);
    EXPECT_LE(c.lookup.locks, 2 * kRounds);
  }
}

// The fresh TLS 1.3 ticket of every resumption: i2d_SSL_SESSION into the sealed blob's
// buffer (its one allocation), sealing in place, the card's PUT, the decoded copy.
TEST(LookupCost, NewTicketStore) {
  constexpr unsigned kRounds = 20;
  const CallbackCosts c = resume_on_owner(TLS1_3_VERSION, kRounds);
  ASSERT_EQ(c.stores, kRounds);
  EXPECT_LE(c.store.allocations, 1 * kRounds);
  // 5 per store: the cipher context pool (take, give back), the nonce pool, the card,
  // the decoded copies. The nonce pool's refill from RAND_bytes (OpenSSL's DRBG locks,
  // once per ~128 nonces) may fall into the window: a few more allowed for it.
  EXPECT_LE(c.store.locks, 5 * kRounds + 8);
}

// OpenSSL calls the info callback some 20 times per handshake when one is set. attach()
// arms its early store (docs/openssl.md, "When a new session is stored") on the
// connection of a TLS 1.2 full handshake only, so a resumed handshake - the steady
// state - makes none of those calls. A message callback (called for every handshake
// message, with the connection) records whether the connection carried an info
// callback at that point.
std::atomic<unsigned> messages_seen{0}, messages_with_info_cb{0};
void note_info_cb(int, int, int, const void*, size_t, SSL* ssl, void*) {
  messages_seen++;
  if (SSL_get_info_callback(ssl) != nullptr) messages_with_info_cb++;
}

TEST(LookupCost, OnlyAFullTls12HandshakeCarriesTheInfoCallback) {
  for (const int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2");
    Probed d = probed_server(version, 1);
    EXPECT_EQ(SSL_CTX_get_info_callback(d.server.ctx.get()), nullptr);
    SSL_CTX_set_msg_callback(d.server.ctx.get(), note_info_cb);
    auto client = testtls::make_client_ctx(TLS1_3_VERSION);
    messages_seen = messages_with_info_cb = 0;
    auto r = handshake(client.get(), d.server.ctx.get());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_GT(messages_seen.load(), 0u);
    // TLS 1.2: armed from the new session id on (ServerHello, the rest of the flight).
    if (version == TLS1_2_VERSION) EXPECT_GT(messages_with_info_cb.load(), 0u);
    else EXPECT_EQ(messages_with_info_cb.load(), 0u);
    EXPECT_EQ(d.server.counters().stores, 1u) << d.server.counters();
    SslSessionPtr s = std::move(r.client_session);
    for (int i = 0; i < 3; ++i) {
      messages_seen = messages_with_info_cb = 0;
      auto again = handshake(client.get(), d.server.ctx.get(), s.get());
      ASSERT_TRUE(again.ok && again.reused_server) << again.error;
      EXPECT_GT(messages_seen.load(), 0u);
      EXPECT_EQ(messages_with_info_cb.load(), 0u);
      s = std::move(again.client_session);
    }
  }
}

}  // namespace
}  // namespace sessnic::test
