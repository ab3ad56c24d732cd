// RedisStore against one real redis-server: versioned write-through, get, single-use
// take, tombstones, TTL, refusing unsealed blobs, AUTH/ACL, TLS, and an unreachable or
// restarted server.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <ctime>
#include <fstream>
#include <thread>

#include "loopback.hpp"
#include "redis_processes.hpp"
#include "sessnic/redis/store.hpp"
#include "sessnic/seal.hpp"
#include "tls_test_support.hpp"

namespace sessnic::redis {
namespace {

using namespace std::chrono_literals;
using testing::RedisProcess;
using testing::TempDirectory;

uint32_t now_s() { return static_cast<uint32_t>(std::time(nullptr)); }

SessionKey key_of(uint8_t tag, uint8_t ctx = 0x5e) {
  std::array<uint8_t, 32> id{};
  id[0] = 1;
  id[1] = tag;
  id[31] = 0xa5;
  return SessionKey::make(id, ctx);
}

// A real sealed blob for `key` (the store only ever sees these).
Record sealed_record(const SessionKey& key, uint64_t version, uint32_t expiry, uint8_t flags = 0) {
  static Sealer sealer(Keyring(ClusterKey(7, std::array<uint8_t, 32>{1, 2, 3})));
  const std::vector<uint8_t> der(200, 0x30);
  Record r;
  r.version = version;
  r.flags = flags;
  r.expiry = expiry;
  r.blob = sealer.seal(der, {key.bytes(), key.ctx}, expiry);
  return r;
}

RedisOptions options_for(const RedisProcess& p) {
  RedisOptions o;
  o.addresses = {p.address()};
  return o;
}

class RedisStoreSingle : public ::testing::Test {
 protected:
  TempDirectory dir;
  RedisProcess server{dir.path() / "r", 0};
};

TEST_F(RedisStoreSingle, PutGetRoundTripsTheSealedBlobWithItsVersionAndTtl) {
  RedisStore store(options_for(server));
  store.check_reachable();
  const auto k = key_of(1);
  const Record rec = sealed_record(k, 0x1234'05, now_s() + 120, 0);
  ASSERT_EQ(store.put(k, rec), StoreStatus::ok);
  auto got = store.get(k);
  ASSERT_EQ(got.status, StoreStatus::ok);
  EXPECT_EQ(got.record.version, rec.version);
  EXPECT_EQ(got.record.expiry, rec.expiry);
  EXPECT_EQ(got.record.blob, rec.blob);
  // TTL = the session's remaining lifetime.
  auto ttl = store.command(store.key_name(k), {"TTL", store.key_name(k)});
  ASSERT_EQ(ttl.type, Reply::Type::integer);
  EXPECT_GE(ttl.integer, 118);
  EXPECT_LE(ttl.integer, 120);
  // A GET does not consume.
  EXPECT_EQ(store.get(k).status, StoreStatus::ok);
  EXPECT_EQ(store.get(key_of(2)).status, StoreStatus::miss);
  // The key names the service context and the id in hex.
  EXPECT_EQ(store.key_name(k).substr(0, 13), "sessnic:s:5e:");
}

TEST_F(RedisStoreSingle, AnOlderVersionNeverOverwritesANewerOne) {
  RedisStore store(options_for(server));
  const auto k = key_of(3);
  const Record v2 = sealed_record(k, 0x200'01, now_s() + 60);
  const Record v1 = sealed_record(k, 0x100'02, now_s() + 60);
  const Record v3 = sealed_record(k, 0x300'03, now_s() + 60);
  ASSERT_EQ(store.put(k, v2), StoreStatus::ok);
  EXPECT_EQ(store.put(k, v1), StoreStatus::stale);
  EXPECT_EQ(store.get(k).record.blob, v2.blob);
  EXPECT_EQ(store.put(k, v2), StoreStatus::ok);  // the same version again: idempotent
  EXPECT_EQ(store.put(k, v3), StoreStatus::ok);
  EXPECT_EQ(store.get(k).record.version, v3.version);
  EXPECT_EQ(store.counters().put_stale, 1u);
}

TEST_F(RedisStoreSingle, ATombstoneHidesTheSessionAndStopsALateOlderCopy) {
  RedisStore store(options_for(server));
  const auto k = key_of(4);
  const Record v1 = sealed_record(k, 0x100'01, now_s() + 60);
  ASSERT_EQ(store.put(k, v1), StoreStatus::ok);
  ASSERT_EQ(store.tombstone(k, 0x101'02, v1.expiry), StoreStatus::ok);
  EXPECT_EQ(store.get(k).status, StoreStatus::deleted);
  EXPECT_EQ(store.put(k, v1), StoreStatus::stale);  // the late copy stays dead
  EXPECT_EQ(store.get(k).status, StoreStatus::deleted);
  EXPECT_EQ(store.take(k).status, StoreStatus::deleted);
}

TEST_F(RedisStoreSingle, ASingleUseTicketIsTakenExactlyOnceAcrossThreads) {
  RedisStore store(options_for(server));
  constexpr int kTickets = 40, kThreads = 4;
  for (int i = 0; i < kTickets; ++i) {
    const auto k = key_of(static_cast<uint8_t>(100 + i));
    ASSERT_EQ(store.put(k, sealed_record(k, 0x100'01, now_s() + 60, 1)), StoreStatus::ok);
  }
  std::atomic<int> taken{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < kTickets; ++i)
        if (store.take(key_of(static_cast<uint8_t>(100 + i))).status == StoreStatus::ok) taken++;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(taken.load(), kTickets);  // each once, whatever thread got there first
  // Taken leaves a tombstone (until the ticket's expiry): not the same as never written.
  EXPECT_EQ(store.take(key_of(100)).status, StoreStatus::deleted);
  EXPECT_EQ(store.take(key_of(99)).status, StoreStatus::miss);
  const auto k = key_of(101);
  EXPECT_EQ(store.put(k, sealed_record(k, 0x100'01, now_s() + 60, 1)), StoreStatus::ok);  // the late copy: no-op
  EXPECT_EQ(store.take(k).status, StoreStatus::deleted);
  auto ttl = store.command(store.key_name(k), {"TTL", store.key_name(k)});
  EXPECT_GT(ttl.integer, 0);
}

TEST_F(RedisStoreSingle, RefusesRawDerAndExpiredSessionsWithoutSendingThem) {
  RedisStore store(options_for(server));
  const auto k = key_of(5);
  Record raw;
  raw.version = 1;
  raw.expiry = now_s() + 60;
  raw.blob = {0x30, 0x82, 0x01, 0x00};  // what i2d_SSL_SESSION starts with
  raw.blob.resize(300, 0);
  EXPECT_EQ(store.put(k, raw), StoreStatus::refused);
  EXPECT_EQ(store.put(k, sealed_record(k, 1, now_s() - 1)), StoreStatus::refused);
  auto exists = store.command(store.key_name(k), {"EXISTS", store.key_name(k)});
  EXPECT_EQ(exists.integer, 0);
  EXPECT_EQ(store.counters().refused, 2u);
}

TEST_F(RedisStoreSingle, AMalformedValueReadsAsAMissAndIsCounted) {
  RedisStore store(options_for(server));
  const auto k = key_of(6);
  store.command(store.key_name(k), {"SET", store.key_name(k), "garbage"});
  EXPECT_EQ(store.get(k).status, StoreStatus::miss);
  EXPECT_EQ(store.counters().malformed, 1u);
}

TEST(RedisStoreUnreachable, StartUpCheckFailsClearlyAndOperationsFailFast) {
  RedisOptions o;
  o.addresses = {{"127.0.0.1", testing::free_loopback_port(SOCK_STREAM)}};
  RedisStore store(o);
  try {
    store.check_reachable();
    FAIL() << "no redis there";
  } catch (const Unreachable& e) {
    EXPECT_NE(std::string(e.what()).find("connect"), std::string::npos) << e.what();
  }
  const auto k = key_of(7);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(store.get(k).status, StoreStatus::unavailable);
  // Backing off: 100 lookups do not cost 100 connection attempts.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_LT(store.counters().connects, 10u);
}

TEST_F(RedisStoreSingle, RecoversAfterTheServerRestarts) {
  RedisOptions o = options_for(server);
  o.backoff_max = 200ms;
  RedisStore store(o);
  const auto k = key_of(8);
  ASSERT_EQ(store.put(k, sealed_record(k, 1, now_s() + 60)), StoreStatus::ok);
  server.kill();
  EXPECT_EQ(store.get(k).status, StoreStatus::unavailable);
  EXPECT_EQ(store.put(k, sealed_record(k, 2, now_s() + 60)), StoreStatus::unavailable);
  server.start();  // no persistence: it comes back empty
  bool back = false;
  for (int i = 0; i < 100 && !back; ++i) {
    back = store.put(k, sealed_record(k, 3, now_s() + 60)) == StoreStatus::ok;
    if (!back) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(back);
  EXPECT_EQ(store.get(k).record.version, 3u);
}

TEST(RedisStoreAuth, AclUserAndPasswordFromAFileOthersCannotRead) {
  TempDirectory dir;
  RedisProcess server(dir.path() / "r", 0,
                      "user default off\nuser sessnic on >s3cret-pass ~sessnic:* +@all\n");
  const auto pw = dir.path() / "redis.pass";
  {
    std::ofstream(pw) << "s3cret-pass\n";
  }
  ::chmod(pw.c_str(), 0644);
  EXPECT_THROW(load_password_file(pw), std::runtime_error);
  ::chmod(pw.c_str(), 0600);
  RedisOptions o = options_for(server);
  o.user = "sessnic";
  o.password = load_password_file(pw);
  RedisStore store(o);
  store.check_reachable();
  const auto k = key_of(9);
  EXPECT_EQ(store.put(k, sealed_record(k, 1, now_s() + 60)), StoreStatus::ok);
  EXPECT_EQ(store.get(k).status, StoreStatus::ok);

  RedisOptions wrong = o;
  wrong.password = "nope";
  RedisStore refused(wrong);
  EXPECT_THROW(refused.check_reachable(), Unreachable);
  EXPECT_EQ(refused.get(k).status, StoreStatus::unavailable);
}

TEST(RedisStoreTls, TalksToATlsOnlyServerAndRefusesAnUntrustedOne) {
  TempDirectory dir;
  auto pem = testtls::write_pem_files(dir.path());
  const uint16_t tls_port = testing::free_loopback_port(SOCK_STREAM);
  RedisProcess server(dir.path() / "r", 0,
                      "tls-port " + std::to_string(tls_port) + "\ntls-cert-file " + pem.cert.string() +
                          "\ntls-key-file " + pem.key.string() + "\ntls-ca-cert-file " + pem.cert.string() +
                          "\ntls-auth-clients no\n");
  RedisOptions o;
  o.addresses = {{"127.0.0.1", tls_port}};
  o.tls = RedisTls{pem.cert, {}, {}, {}};
  RedisStore store(o);
  store.check_reachable();
  const auto k = key_of(10);
  EXPECT_EQ(store.put(k, sealed_record(k, 1, now_s() + 60)), StoreStatus::ok);
  EXPECT_EQ(store.get(k).status, StoreStatus::ok);

  // Plain TCP to the TLS port fails (bounded), and so does a CA that did not sign it.
  RedisOptions plain = o;
  plain.tls.reset();
  RedisStore no_tls(plain);
  EXPECT_THROW(no_tls.check_reachable(), Unreachable);
  TempDirectory other;
  RedisOptions untrusted = o;
  auto other_ca = other.path() / "ca.pem";
  auto made = testing::run_program({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                                    (other.path() / "k.pem").string(), "-out", other_ca.string(), "-days", "1",
                                    "-subj", "/CN=someone else"},
                                   20s);
  ASSERT_EQ(made.status, 0) << made.out;
  untrusted.tls->ca = other_ca;
  RedisStore bad_ca(untrusted);
  EXPECT_THROW(bad_ca.check_reachable(), Unreachable);
}

}  // namespace
}  // namespace sessnic::redis
