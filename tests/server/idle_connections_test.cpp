// 10,000 idle keep-alive connections (fewer if the open-file hard limit is lower; the
// count is printed) held open against a real sessnic-server process must not delay a new
// client: new connections still get a full handshake and an answer, each bounded by a
// 2 s client timeout, and every idle connection is still served afterwards.
#include <gtest/gtest.h>

#include <cstdio>

#include "idle_connections.hpp"
#include "server_process.hpp"
#include "tls_test_support.hpp"

namespace sessnic::servertest {
namespace {

using namespace std::chrono_literals;

TEST(ServerIdleConnections, TenThousandIdleKeepAliveConnectionsDoNotDelayANewRequest) {
  // This process holds the client ends, the server process the other ends: each needs
  // `count` descriptors under the same hard limit.
  const size_t count = std::min<size_t>(10000, fd_budget());
  if (count < 1000) GTEST_SKIP() << "open-file hard limit too low for this test (" << count << " descriptors)";
  std::printf("idle connections: %zu\n", count);

  ServerProcessOptions o;
  o.server_fields = "max_connections = " + std::to_string(count + 100) + "\nidle_timeout_ms = 600000\n";
  ServerProcess server(o);
  IdleConnections idle(server.port(), count);
  ASSERT_EQ(idle.size(), count) << idle.error() << "\n" << server.log();
  EXPECT_EQ(server.metric("sessnic_server_connections_open"), static_cast<double>(count));

  auto ctx = testtls::make_client_ctx(TLS1_3_VERSION);
  for (int i = 0; i < 20; ++i) {
    std::string err;
    auto c = HttpsClient::connect(server.port(), ctx.get(), "localhost", nullptr, 2000ms, &err);
    ASSERT_TRUE(c) << "new connection " << i << " with " << count << " idle: " << err;
    auto r = c->get("/");
    ASSERT_TRUE(r) << "new request " << i << " not answered with " << count << " idle";
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("x-sessnic-handshake"), "full");
  }
  // The idle ones were kept, not dropped to make room.
  EXPECT_EQ(idle.probe(100), (count + 99) / 100);
  EXPECT_EQ(server.metric("sessnic_server_timeouts_total{phase=\"idle\"}"), 0);
  // And SIGTERM still stops it promptly and cleanly with all of them open.
  EXPECT_EQ(server.stop(), 0) << server.log();
}

}  // namespace
}  // namespace sessnic::servertest
