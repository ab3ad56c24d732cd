// HttpRequestParser (http-parser underneath) and the request-path rules of StaticSite.
#include <gtest/gtest.h>

#include "http_request_parser.hpp"
#include "static_site.hpp"

namespace sessnic::server {
namespace {

using S = HttpRequestParser::Status;

TEST(ServerParser, PipelinedRequestsComeOutOneAtATime) {
  HttpRequestParser p(16384);
  std::string in = "GET /a HTTP/1.1\r\nHost: one\r\n\r\nHEAD /b?x=1 HTTP/1.1\r\nhost: two\r\nConnection: close\r\n\r\n";
  auto r = p.feed(in);
  ASSERT_EQ(r.status, S::complete);
  EXPECT_EQ(p.request().method, "GET");
  EXPECT_EQ(p.request().target, "/a");
  EXPECT_EQ(p.request().host, "one");
  EXPECT_TRUE(p.request().keep_alive);
  in.erase(0, r.consumed);
  r = p.feed(in);
  ASSERT_EQ(r.status, S::complete);
  EXPECT_EQ(r.consumed, in.size());
  EXPECT_EQ(p.request().method, "HEAD");
  EXPECT_EQ(p.request().target, "/b?x=1");
  EXPECT_EQ(p.request().host, "two");
  EXPECT_FALSE(p.request().keep_alive);
}

TEST(ServerParser, ARequestSplitAnywhereIsReassembled) {
  const std::string req = "GET /split HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: 3\r\n\r\nabc";
  HttpRequestParser p(16384);
  for (size_t i = 0; i + 1 < req.size(); ++i) {
    auto r = p.feed(std::string_view(req).substr(i, 1));
    ASSERT_EQ(r.status, S::need_more) << i;
    EXPECT_TRUE(p.mid_request());
  }
  auto r = p.feed(std::string_view(req).substr(req.size() - 1));
  ASSERT_EQ(r.status, S::complete);
  EXPECT_EQ(p.request().target, "/split");
  EXPECT_FALSE(p.mid_request());
}

TEST(ServerParser, KeepAliveFollowsHttpVersionRules) {
  auto keep = [](const std::string& req) {
    HttpRequestParser p(16384);
    auto r = p.feed(req);
    EXPECT_EQ(r.status, S::complete) << req;
    return p.request().keep_alive;
  };
  EXPECT_TRUE(keep("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(keep("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"));
}

TEST(ServerParser, MalformedAndOversizedRequestsAreRefused) {
  struct Case {
    std::string in;
    S want;
  };
  const std::vector<Case> cases = {
      {"GARBAGE\r\n\r\n", S::bad_request},
      {"GET / HTTP/1.1\r\nNo colon here\r\n\r\n", S::bad_request},
      {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", S::bad_request},
      {"GET / HTTP/1.1\r\nX: " + std::string(5000, 'v') + "\r\n\r\n", S::header_too_large},
      {"GET /" + std::string(5000, 'u') + " HTTP/1.1\r\n\r\n", S::header_too_large},
      {"GET / HTTP/1.1\r\n" + std::string(600, 'k') + ": 1\r\n" + std::string(600, 'j') + ": 2\r\n" +
           std::string(3000, 'm') + ": 3\r\n\r\n",
       S::header_too_large},
      {"GET / HTTP/1.1\r\nContent-Length: 70000\r\n\r\n", S::body_too_large},
  };
  for (const auto& c : cases) {
    HttpRequestParser p(4096);
    auto r = p.feed(c.in);
    EXPECT_EQ(static_cast<int>(r.status), static_cast<int>(c.want)) << c.in.substr(0, 50) << " : " << p.error();
    EXPECT_FALSE(p.error().empty());
    // Failed stays failed: nothing after an error is taken for a request.
    EXPECT_EQ(p.feed("GET / HTTP/1.1\r\n\r\n").status, r.status);
  }
  // Exactly at the limit is fine: the limit counts the request's header bytes.
  HttpRequestParser p(4096);
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\nX: " + std::string(4000, 'v') + "\r\n\r\n").status, S::complete);
}

TEST(ServerParser, ChunkedBodiesAreBounded) {
  HttpRequestParser p(4096);
  std::string big = "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 40; ++i) big += "800\r\n" + std::string(0x800, 'b') + "\r\n";  // 80 KiB
  big += "0\r\n\r\n";
  EXPECT_EQ(p.feed(big).status, S::body_too_large);
  HttpRequestParser q(4096);
  EXPECT_EQ(q.feed("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n").status, S::complete);
}

TEST(ServerStaticSite, RequestPathsAreDecodedAndTraversalRefused) {
  EXPECT_EQ(decoded_request_path("/a/b.txt?q=1#f"), "/a/b.txt");
  EXPECT_EQ(decoded_request_path("/%61%2Fb"), "/a/b");
  EXPECT_EQ(decoded_request_path("http://host/x"), "/x");
  EXPECT_EQ(decoded_request_path("/./a"), "/./a");  // "." is harmless; the file system resolves it
  for (const char* bad : {"/..", "/../x", "/a/../../x", "/%2e%2e/x", "/a/%2E%2e", "/%00", "/%4", "/%zz", "x", "",
                          "*"})
    EXPECT_FALSE(decoded_request_path(bad)) << bad;
}

}  // namespace
}  // namespace sessnic::server
