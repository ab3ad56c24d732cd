// Many threads handshaking against one SSL_CTX with one model device.
#include <thread>

#include "cluster_fixture.hpp"

namespace sessnic::test {
namespace {

using testtls::handshake;

class ManyThreads : public ::testing::TestWithParam<int> {};

TEST_P(ManyThreads, FullThenResumedOnEveryThread) {
  ServerOptions o;
  o.max_version = GetParam();
  Server d = make_server(o);
  auto client = testtls::make_client_ctx(TLS1_3_VERSION);
  constexpr unsigned kThreads = 4, kRounds = 12, kResumes = 3;
  std::atomic<unsigned> bad{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (unsigned i = 0; i < kRounds; ++i) {
        auto r = handshake(client.get(), d.ctx.get());
        if (!r.ok || r.reused_server) ++bad;
        SslSessionPtr s = std::move(r.client_session);
        for (unsigned k = 0; k < kResumes; ++k) {
          auto again = handshake(client.get(), d.ctx.get(), s.get());
          if (!again.ok || !again.reused_server || !again.reused_client) ++bad;
          s = std::move(again.client_session);  // TLS 1.3: the fresh ticket
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0u) << d.counters();
  const AttachCounters c = d.counters();
  EXPECT_EQ(c.hits, kThreads * kRounds * kResumes) << c;
  EXPECT_EQ(c.rejected_total(), 0u);
  EXPECT_EQ(c.store_failed, 0u);
}

INSTANTIATE_TEST_SUITE_P(Tls, ManyThreads, ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         [](const auto& info) { return info.param == TLS1_2_VERSION ? "v12" : "v13"; });

}  // namespace
}  // namespace sessnic::test
