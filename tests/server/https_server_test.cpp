// sessnic-server over real loopback sockets with real OpenSSL clients: HTTP/1.1 handling
// (keep-alive, pipelining, HEAD, 400/405/431, path traversal), deadlines (slow loris,
// idle keep-alive), the connection limit, clean sessions after an unclean client close,
// TLS settings, certificates chosen by SNI, PROXY v2 and the metrics endpoint.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "https_test_client.hpp"
#include "proxy_protocol.hpp"
#include "server_fixture.hpp"
#include "test_certs.hpp"

namespace sessnic::servertest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kIo = 5000ms;  // client socket timeout: a server that does not answer fails the test

std::unique_ptr<HttpsClient> must_connect(uint16_t port, SSL_CTX* ctx, const std::string& sni = "localhost",
                                          SSL_SESSION* resume = nullptr) {
  std::string err;
  auto c = HttpsClient::connect(port, ctx, sni, resume, kIo, &err);
  EXPECT_TRUE(c) << "handshake failed: " << err;
  return c;
}

// A started server and one TLS 1.3 client connected to it (or null, already reported):
// how most tests here begin.
struct Started {
  std::unique_ptr<server::HttpsServer> srv;
  SslCtxPtr ctx;
  std::unique_ptr<HttpsClient> client;
};
Started start_and_connect(ServerFixture& f) {
  Started s{f.start(), testtls::make_client_ctx(TLS1_3_VERSION), nullptr};
  s.client = must_connect(s.srv->port(), s.ctx.get());
  return s;
}

// A client SSL_CTX that accepts any certificate (the SNI tests use several self-signed ones).
SslCtxPtr unverified_client_ctx(int max_version) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  return ctx;
}

// Reads for a moment so a TLS 1.3 NewSessionTicket sent after the handshake is processed.
void take_ticket(HttpsClient& c) { EXPECT_FALSE(c.closed_by_server(200ms)); }

// Polls `cond` for up to `limit` (state that another thread of the server updates).
template <class F>
bool eventually(F cond, std::chrono::milliseconds limit = 3000ms) {
  for (auto end = Clock::now() + limit; Clock::now() < end; std::this_thread::sleep_for(5ms))
    if (cond()) return true;
  return cond();
}

// The ClientHello a real OpenSSL client sends (for trickling it byte by byte).
std::string real_client_hello() {
  auto ctx = testtls::make_client_ctx(TLS1_3_VERSION);
  SslPtr ssl(SSL_new(ctx.get()));
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), rbio, wbio);
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  SSL_connect(ssl.get());  // WANT_READ after writing the hello
  ERR_clear_error();
  char* data = nullptr;
  long n = BIO_get_mem_data(wbio, &data);
  return std::string(data, static_cast<size_t>(n));
}

TEST(ServerHttp, PipelinedKeepAliveRequestsAreAnsweredInOrder) {
  ServerFixture f;
  auto [srv, ctx, c] = start_and_connect(f);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
                      "HEAD /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
                      "GET /missing HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto r1 = c->read_response();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->status, 200);
  EXPECT_EQ(r1->body, "alpha");
  EXPECT_EQ(r1->header("connection"), "keep-alive");
  EXPECT_EQ(r1->header("x-sessnic-handshake"), "full");
  auto r2 = c->read_response(/*head=*/true);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
  EXPECT_EQ(r2->header("content-length"), "5");  // HEAD: the GET's length, no body
  auto r3 = c->read_response();
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->status, 404);
  // Still open for more, and a request split across many records is reassembled.
  for (char ch : std::string("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")) ASSERT_TRUE(c->send(std::string(1, ch)));
  auto r4 = c->read_response();
  ASSERT_TRUE(r4);
  EXPECT_EQ(r4->status, 200);
  EXPECT_EQ(r4->body, "<h1>index</h1>\n");
  EXPECT_EQ(srv->counters().requests.load(), 4u);
  EXPECT_EQ(srv->counters().connections.load(), 1u);
}

// Many pipelined requests in one write, answers larger than the socket buffers: the server
// sends what the kernel takes at once and waits for the rest (partial sends), and answers
// hundreds of requests that are already there without nesting its calls without bound.
TEST(ServerHttp, ManyPipelinedRequestsAndLargeAnswersArriveWhole) {
  ServerFixture f;
  std::string big(300 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  std::ofstream(f.content() / "big.txt") << big;
  auto [srv, ctx, c] = start_and_connect(f);
  ASSERT_TRUE(c);
  std::string many;
  for (int i = 0; i < 500; ++i) many += "GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";
  for (int i = 0; i < 8; ++i) many += "GET /big.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";
  ASSERT_TRUE(c->send(many));
  for (int i = 0; i < 500; ++i) {
    auto r = c->read_response();
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->body, "alpha") << i;
  }
  for (int i = 0; i < 8; ++i) {
    auto r = c->read_response();
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->body.size(), big.size()) << i;
    ASSERT_TRUE(r->body == big) << i;
  }
  EXPECT_EQ(srv->counters().requests.load(), 508u);
}

TEST(ServerHttp, ConnectionCloseAndHttp10CloseAfterTheResponse) {
  ServerFixture f;
  auto srv = f.start();
  auto ctx = testtls::make_client_ctx(TLS1_3_VERSION);
  for (const char* req : {"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "GET /a.txt HTTP/1.0\r\n\r\n"}) {
    auto c = must_connect(srv->port(), ctx.get());
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->send(req));
    auto r = c->read_response();
    ASSERT_TRUE(r) << req;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(c->closed_by_server(3000ms)) << req;
  }
}

// Raw bytes sent after the server closed: true once the kernel answers them with a reset
// (the socket is gone), false while the server still reads and discards them (lingering).
bool reset_within(int fd, std::chrono::milliseconds limit) {
  for (auto end = Clock::now() + limit; Clock::now() < end; std::this_thread::sleep_for(20ms))
    if (::send(fd, "x", 1, MSG_NOSIGNAL) < 0) return errno == ECONNRESET || errno == EPIPE;
  return false;
}

// A client whose request asked to close sends nothing more: with nothing unread the server
// closes at once (as nginx does). After an error response the client may still be sending
// (a body, pipelined requests), so the server reads and discards for linger_timeout.
TEST(ServerHttp, LingeringOnlyWhenTheClientMayStillSend) {
  ServerFixture f;
  f.options.linger_timeout = 2000ms;
  auto [srv, ctx, done] = start_and_connect(f);
  ASSERT_TRUE(done);
  ASSERT_TRUE(done->send("GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto r = done->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "alpha");
  EXPECT_TRUE(done->closed_by_server(3000ms));  // its close_notify
  EXPECT_TRUE(wait_for_eof(done->fd(), 3000ms));
  EXPECT_TRUE(reset_within(done->fd(), 1000ms)) << "the server lingered after the client's last request";

  auto bad = must_connect(srv->port(), ctx.get());
  ASSERT_TRUE(bad);
  ASSERT_TRUE(bad->send("BAD\r\n\r\n"));
  auto e = bad->read_response();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 400);
  EXPECT_TRUE(bad->closed_by_server(3000ms));
  EXPECT_TRUE(wait_for_eof(bad->fd(), 3000ms));  // a lingering server has shut down its sending side
  EXPECT_FALSE(reset_within(bad->fd(), 300ms)) << "no lingering read after an error response";
}

TEST(ServerHttp, BadRequestsAreAnsweredAndClosed) {
  ServerFixture f;
  f.options.max_header_bytes = 4096;
  auto srv = f.start();
  auto ctx = testtls::make_client_ctx(TLS1_3_VERSION);
  struct Case {
    std::string request;
    int status;
  };
  const std::vector<Case> cases = {
      {"GARBAGE\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n", 431},
      {"GET /" + std::string(5000, 'p') + " HTTP/1.1\r\nHost: x\r\n\r\n", 431},
      {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n", 413},
      {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
  };
  for (const auto& c : cases) {
    auto cl = must_connect(srv->port(), ctx.get());
    ASSERT_TRUE(cl);
    ASSERT_TRUE(cl->send(c.request));
    auto r = cl->read_response();
    ASSERT_TRUE(r) << c.request.substr(0, 40);
    EXPECT_EQ(r->status, c.status) << c.request.substr(0, 40);
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(cl->closed_by_server(3000ms)) << c.request.substr(0, 40);
  }
  EXPECT_EQ(srv->counters().responses_with(400), 2u);
  EXPECT_EQ(srv->counters().responses_with(431), 2u);
  EXPECT_EQ(srv->counters().responses_with(413), 1u);
  EXPECT_EQ(srv->counters().responses_with(505), 1u);
}

TEST(ServerHttp, MethodsOtherThanGetAndHeadGet405) {
  ServerFixture f;
  auto [srv, ctx, c] = start_and_connect(f);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
  auto r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->header("allow"), "GET, HEAD");
  auto again = c->get("/a.txt");  // the body was consumed: the connection is still in sync
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST(ServerHttp, PathTraversalIsRefused) {
  ServerFixture f;
  std::filesystem::create_directories(f.content() / "sub");
  std::filesystem::create_symlink(f.dir() / "secret", f.content() / "link");
  auto [srv, ctx, c] = start_and_connect(f);
  ASSERT_TRUE(c);
  for (const char* target : {"/../secret", "/sub/../../secret", "/%2e%2e/secret", "/sub/%2E%2E/%2e%2e/secret",
                             "/a.txt%00.html", "/%zz"}) {
    auto r = c->get(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 400) << target;
    EXPECT_EQ(r->body.find("outside"), std::string::npos);
  }
  auto link = c->get("/link");  // a symlink out of the content directory is not followed
  ASSERT_TRUE(link);
  EXPECT_EQ(link->status, 404);
  auto ok = c->get("/sub/../a.txt");  // ".." is refused even when it would stay inside
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 400);
  auto encoded = c->get("/%61.txt");  // percent-decoding of ordinary characters
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->status, 200);
  EXPECT_EQ(encoded->body, "alpha");
}

// Files are opened beneath the content directory by the kernel (openat2 RESOLVE_BENEATH);
// a symlink that stays inside is served, also an absolute one (checked by its canonical
// path), one that leads out is not, and a directory is not a file.
TEST(ServerHttp, SymlinksInsideTheContentAreServed) {
  ServerFixture f;
  std::filesystem::create_directories(f.content() / "sub");
  std::filesystem::create_symlink("../a.txt", f.content() / "sub" / "relative");
  std::filesystem::create_symlink(f.content() / "a.txt", f.content() / "absolute");
  std::filesystem::create_symlink(f.dir() / "secret", f.content() / "sub" / "out");
  std::filesystem::create_symlink("../../secret", f.content() / "sub" / "out_relative");
  auto [srv, ctx, c] = start_and_connect(f);
  ASSERT_TRUE(c);
  for (const char* target : {"/sub/relative", "/absolute"}) {
    auto r = c->get(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 200) << target;
    EXPECT_EQ(r->body, "alpha") << target;
  }
  for (const char* target : {"/sub/out", "/sub/out_relative", "/sub", "/nope"}) {
    auto r = c->get(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 404) << target;
    EXPECT_EQ(r->body.find("outside"), std::string::npos) << target;
  }
}

// The reproduction: slow connections must not take the server out of service.
// More slow connections than I/O threads, in both phases: trickling a ClientHello, and
// trickling a request after a completed handshake.
TEST(ServerDeadlines, SlowLorisIsCutAtTheDeadlineWhileOthersAreServed) {
  ServerFixture f;
  f.options.threads = 2;
  f.options.handshake_timeout = 1000ms;
  f.options.request_timeout = 1000ms;
  auto srv = f.start();
  auto ctx = testtls::make_client_ctx(TLS1_3_VERSION);
  const std::string hello = real_client_hello();
  ASSERT_GT(hello.size(), 100u);

  constexpr int kSlowHello = 3, kSlowRequest = 3;
  std::atomic<int> cut_hello{0}, cut_request{0}, cut_early{0};
  std::vector<std::thread> slow;
  for (int i = 0; i < kSlowHello; ++i)
    slow.emplace_back([&] {
      int fd = tcp_connect(srv->port(), kIo);
      if (fd < 0) return;
      auto t0 = Clock::now();
      // A byte every 100 ms: every read makes progress, only a deadline can stop it.
      for (size_t i = 0; i < hello.size() && Clock::now() - t0 < 8s; ++i) {
        if (::send(fd, &hello[i], 1, MSG_NOSIGNAL) != 1) break;
        if (wait_for_eof(fd, 100ms)) break;
      }
      auto lived = Clock::now() - t0;
      if (lived < 900ms) cut_early++;
      else if (lived < 4s) cut_hello++;
      ::close(fd);
    });
  for (int i = 0; i < kSlowRequest; ++i)
    slow.emplace_back([&] {
      std::string err;
      auto c = HttpsClient::connect(srv->port(), ctx.get(), "localhost", nullptr, kIo, &err);
      if (!c) return;
      auto t0 = Clock::now();
      std::string req = "GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + std::string(200, 'z');
      for (size_t i = 0; i < req.size() && Clock::now() - t0 < 8s; ++i) {
        if (!c->send(std::string(1, req[i]))) break;
        if (c->closed_by_server(100ms)) break;
      }
      auto lived = Clock::now() - t0;
      if (lived < 900ms) cut_early++;
      else if (lived < 4s) cut_request++;
    });

  // Meanwhile normal clients are served, each well within one deadline.
  std::this_thread::sleep_for(300ms);
  for (int i = 0; i < 5; ++i) {
    std::string err;
    auto c = HttpsClient::connect(srv->port(), ctx.get(), "localhost", nullptr, 900ms, &err);
    ASSERT_TRUE(c) << "a normal client was not served while slow ones trickle: " << err;
    auto r = c->get("/a.txt");
    ASSERT_TRUE(r) << "a normal request was not answered while slow ones trickle";
    EXPECT_EQ(r->status, 200);
  }
  for (auto& t : slow) t.join();
  EXPECT_EQ(cut_early.load(), 0);
  EXPECT_EQ(cut_hello.load(), kSlowHello);
  EXPECT_EQ(cut_request.load(), kSlowRequest);
  EXPECT_EQ(srv->counters().timeouts_in(server::TimeoutPhase::handshake), static_cast<uint64_t>(kSlowHello));
  EXPECT_EQ(srv->counters().timeouts_in(server::TimeoutPhase::request), static_cast<uint64_t>(kSlowRequest));
}

TEST(ServerDeadlines, IdleKeepAliveConnectionsAreClosedWithCloseNotify) {
  ServerFixture f;
  f.options.idle_timeout = 300ms;
  auto [srv, ctx, c] = start_and_connect(f);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->get("/a.txt"));
  auto t0 = Clock::now();
  EXPECT_TRUE(c->closed_by_server(5000ms));
  EXPECT_GE(Clock::now() - t0, 250ms);
  EXPECT_EQ(SSL_get_shutdown(c->ssl()) & SSL_RECEIVED_SHUTDOWN, SSL_RECEIVED_SHUTDOWN);  // a close_notify came
  EXPECT_TRUE(eventually([&] { return srv->counters().timeouts_in(server::TimeoutPhase::idle) == 1; }));
}

TEST(ServerLimits, ConnectionsOverTheLimitAreClosedAtOnce) {
  ServerFixture f;
  f.options.max_connections = 2;
  auto [srv, ctx, a] = start_and_connect(f);
  auto b = must_connect(srv->port(), ctx.get());
  ASSERT_TRUE(a && b);
  std::string err;
  EXPECT_FALSE(HttpsClient::connect(srv->port(), ctx.get(), "localhost", nullptr, kIo, &err));
  EXPECT_EQ(srv->counters().connections_refused.load(), 1u);
  a.reset();
  ASSERT_TRUE(eventually([&] { return srv->counters().connections_open.load() == 1; }));
  auto c = must_connect(srv->port(), ctx.get());
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->get("/a.txt"));
}

// Shared loop, or one listener per I/O thread on the one port (SO_REUSEPORT): every
// connection is served whichever thread the kernel gave it to, and a second server on the
// same port is still refused rather than silently sharing it.
class ServerThreads : public ::testing::TestWithParam<bool> {};

TEST_P(ServerThreads, EveryThreadsListenerServesAndAPortInUseIsRefused) {
  ServerFixture f;
  f.options.threads = 4;
  f.options.per_thread_loops = GetParam();
  auto srv = f.start();
  auto ctx = testtls::make_client_ctx(TLS1_3_VERSION);
  for (int i = 0; i < 24; ++i) {
    auto c = must_connect(srv->port(), ctx.get());
    ASSERT_TRUE(c);
    auto r = c->get("/a.txt");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(srv->counters().handshakes_full.load() + srv->counters().handshakes_resumed.load(), 24u);
  ServerFixture g;
  g.options.threads = 4;
  g.options.per_thread_loops = true;
  g.options.port = srv->port();
  EXPECT_THROW(g.start(), std::runtime_error);
}
INSTANTIATE_TEST_SUITE_P(IoLoops, ServerThreads, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "per_thread" : "shared"; });

// A client that ends the TCP connection without close_notify (a preconnect, a scanner, a
// browser closing a tab) keeps its session: it resumes afterwards.
class ServerUncleanClose : public ::testing::TestWithParam<int> {};

TEST_P(ServerUncleanClose, SessionResumesAfterACloseWithoutCloseNotify) {
  ServerFixture f;
  auto srv = f.start();
  auto ctx = testtls::make_client_ctx(GetParam());
  for (bool request_first : {false, true}) {
    SslSessionPtr session;
    {
      auto c = must_connect(srv->port(), ctx.get());
      ASSERT_TRUE(c);
      if (request_first) ASSERT_TRUE(c->get("/a.txt"));
      else take_ticket(*c);
      session = c->session();
    }  // ~HttpsClient: TCP close, no close_notify
    ASSERT_TRUE(eventually([&] { return srv->counters().connections_open.load() == 0; }));
    auto again = must_connect(srv->port(), ctx.get(), "localhost", session.get());
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->resumed()) << "request_first=" << request_first;
    auto r = again->get("/a.txt");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("x-sessnic-handshake"), "resumed");
  }
  EXPECT_EQ(srv->counters().handshake_failures.load(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Versions, ServerUncleanClose, ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         [](const auto& info) { return info.param == TLS1_2_VERSION ? "Tls12" : "Tls13"; });

TEST(ServerTls, VersionsCiphersAndGroupsFollowTheConfig) {
  {
    ServerFixture f;
    f.options.tls.min_version = "1.3";
    f.options.tls.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
    f.options.tls.groups = "P-384";
    auto srv = f.start();
    auto old_client = testtls::make_client_ctx(TLS1_2_VERSION);
    std::string err;
    EXPECT_FALSE(HttpsClient::connect(srv->port(), old_client.get(), "localhost", nullptr, kIo, &err));
    auto ctx = testtls::make_client_ctx(TLS1_3_VERSION);
    auto c = must_connect(srv->port(), ctx.get());
    ASSERT_TRUE(c);
    EXPECT_STREQ(SSL_get_cipher_name(c->ssl()), "TLS_CHACHA20_POLY1305_SHA256");
    EXPECT_EQ(SSL_get_negotiated_group(c->ssl()), NID_secp384r1);
  }
  {
    ServerFixture f;
    f.options.tls.max_version = "1.2";
    f.options.tls.ciphers = "ECDHE-RSA-AES256-GCM-SHA384";
    auto [srv, ctx, c] = start_and_connect(f);
    ASSERT_TRUE(c);
    EXPECT_EQ(SSL_version(c->ssl()), TLS1_2_VERSION);
    EXPECT_STREQ(SSL_get_cipher_name(c->ssl()), "ECDHE-RSA-AES256-GCM-SHA384");
  }
}

TEST(ServerTls, SniChoosesTheCertificateAndSessionsResumeWhicheverWasUsed) {
  ServerFixture f;
  auto a = write_self_signed(f.dir(), "a.test");
  auto b = write_self_signed(f.dir(), "*.b.test");
  f.options.tls.certificates = {{{"a.test"}, a.cert, a.key, 1}, {{"*.b.test"}, b.cert, b.key, 2}};
  auto srv1 = f.start();
  auto srv2 = f.start();  // a second server on the same card: another process of the cluster
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto ctx = unverified_client_ctx(version);
    struct Case {
      std::string sni, cn;
    };
    for (const auto& [sni, cn] : std::vector<Case>{{"a.test", "a.test"},
                                                   {"A.Test", "a.test"},
                                                   {"x.b.test", "*.b.test"},
                                                   {"x.y.b.test", "sessnic-test"},
                                                   {"b.test", "sessnic-test"},
                                                   {"other.test", "sessnic-test"},
                                                   {"", "sessnic-test"}}) {
      auto c = must_connect(srv1->port(), ctx.get(), sni);
      ASSERT_TRUE(c);
      EXPECT_EQ(peer_common_name(c->ssl()), cn) << "sni '" << sni << "'";
      ASSERT_TRUE(c->get("/a.txt"));
      auto session = c->session();
      c->shutdown();
      auto resumed = must_connect(srv2->port(), ctx.get(), sni, session.get());
      ASSERT_TRUE(resumed);
      EXPECT_TRUE(resumed->resumed()) << "sni '" << sni << "' version " << std::hex << version;
    }
  }
}

TEST(ServerTls, ProxyV2HeaderIsRequiredWhenConfigured) {
  ServerFixture f;
  f.options.proxy_protocol = true;
  auto srv = f.start();
  auto ctx = testtls::make_client_ctx(TLS1_3_VERSION);
  // Without the header: the ClientHello is not a PROXY header; refused and counted.
  std::string err;
  EXPECT_FALSE(HttpsClient::connect(srv->port(), ctx.get(), "localhost", nullptr, kIo, &err));
  EXPECT_TRUE(eventually([&] { return srv->counters().proxy_header_errors.load() == 1; }));
  // With it: TLS follows on the same connection, the header sent whole or trickled byte
  // by byte (the server reads what is there and waits for the rest).
  proxy_v2::Address addr;
  addr.src = {192, 0, 2, 1};
  addr.dst = {127, 0, 0, 1};
  addr.src_port = 40000;
  addr.dst_port = srv->port();
  const auto hdr = proxy_v2::encode(addr);
  auto tls_after_header = [&](bool trickled) {
    const int fd = tcp_connect(srv->port(), kIo);
    ASSERT_GE(fd, 0);
    if (trickled) {
      for (uint8_t b : hdr) {
        ASSERT_EQ(::send(fd, &b, 1, MSG_NOSIGNAL), 1);
        std::this_thread::sleep_for(2ms);
      }
    } else {
      ASSERT_EQ(::send(fd, hdr.data(), hdr.size(), MSG_NOSIGNAL), static_cast<ssize_t>(hdr.size()));
    }
    SslPtr ssl(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), fd);
    SSL_set_tlsext_host_name(ssl.get(), "localhost");
    EXPECT_EQ(SSL_connect(ssl.get()), 1);
    ssl.reset();
    ::close(fd);
  };
  ASSERT_NO_FATAL_FAILURE(tls_after_header(false));
  ASSERT_NO_FATAL_FAILURE(tls_after_header(true));
  // A TCP probe (connect, close: the dispatcher's health check) is not an error.
  int probe = tcp_connect(srv->port(), kIo);
  ::close(probe);
  EXPECT_TRUE(eventually([&] { return srv->counters().connections_open.load() == 0; }));
  EXPECT_EQ(srv->counters().proxy_header_errors.load(), 1u);
}

TEST(ServerMetrics, MetricsAndHealthzServeTheCounters) {
  ServerFixture f;
  f.options.metrics = config::Endpoint{"127.0.0.1", 0};
  auto srv = f.start();
  ASSERT_NE(srv->metrics_port(), 0);
  auto ctx = testtls::make_client_ctx(TLS1_2_VERSION);
  auto c = must_connect(srv->port(), ctx.get());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->get("/a.txt"));
  auto session = c->session();
  auto again = must_connect(srv->port(), ctx.get(), "localhost", session.get());
  ASSERT_TRUE(again && again->resumed());
  int bad = tcp_connect(srv->port(), kIo);  // not TLS: a failed handshake
  ::send(bad, "hello there\r\n", 13, MSG_NOSIGNAL);
  EXPECT_TRUE(wait_for_eof(bad, kIo));
  ::close(bad);
  ASSERT_TRUE(eventually([&] { return srv->counters().handshake_failures.load() == 1; }));
  // The failed connection is counted as failed before it is gone (its strand closes it next).
  ASSERT_TRUE(eventually([&] { return srv->counters().connections_open.load() == 2; }));

  auto m = sessnic::testing::http_get_response(srv->metrics_port(), "/metrics");
  EXPECT_NE(m.find("200 OK"), std::string::npos) << m;
  for (const char* line : {"sessnic_server_handshakes_total{result=\"full\"} 1",
                           "sessnic_server_handshakes_total{result=\"resumed\"} 1",
                           "sessnic_server_handshakes_total{result=\"failed\"} 1",
                           "sessnic_server_connections_open 2", "sessnic_server_responses_total{code=\"200\"} 1",
                           "sessnic_server_session_stores_total 1", "sessnic_server_session_hits_total 1",
                           "sessnic_server_session_seal_rejects_total{reason=\"auth_failed\"} 0",
                           "sessnic_server_table_entries{state=\"live\"} 1", "# TYPE sessnic_server_timeouts_total counter"})
    EXPECT_NE(m.find(line), std::string::npos) << "missing: " << line << "\n" << m;
  auto h = sessnic::testing::http_get_response(srv->metrics_port(), "/healthz");
  EXPECT_NE(h.find("200 OK"), std::string::npos) << h;
}

}  // namespace
}  // namespace sessnic::servertest
