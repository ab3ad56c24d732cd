// The real sessnic-server binary runs with the malloc the build chose for it
// (host/server/CMakeLists.txt, docs/server.md "Memory allocator"): tcmalloc unless it
// was not found, switched off or a sanitizer is on. Read from the running process's
// mappings after it served resumed TLS 1.3 handshakes, so a link that silently dropped
// the library (the linker's --as-needed) fails here.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include "https_test_client.hpp"
#include "server_process.hpp"

namespace sessnic::servertest {
namespace {

using namespace std::chrono_literals;

std::string mappings(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/maps");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(ServerAllocator, TheServerRunsWithTheMallocItWasBuiltWith) {
  ServerProcess server;
  auto ctx = testtls::make_client_ctx(TLS1_3_VERSION);
  SslSessionPtr session;
  int resumed = 0;
  for (int i = 0; i < 3; ++i) {
    std::string err;
    auto c = HttpsClient::connect(server.port(), ctx.get(), "localhost", session.get(), 5s, &err);
    ASSERT_TRUE(c) << err;
    auto r = c->get("/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    if (c->resumed()) ++resumed;
    if (SslSessionPtr next = c->session()) session = std::move(next);
  }
  EXPECT_EQ(resumed, 2);
  const bool tcmalloc = mappings(server.pid()).find("libtcmalloc") != std::string::npos;
  EXPECT_EQ(tcmalloc, std::string(SESSNIC_SERVER_ALLOCATOR) == "tcmalloc")
      << "built for " << SESSNIC_SERVER_ALLOCATOR << "; the server's log:\n"
      << server.log();
}

}  // namespace
}  // namespace sessnic::servertest
