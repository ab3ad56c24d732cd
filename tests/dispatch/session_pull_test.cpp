// The pull path end to end (docs/dispatcher.md step 5, docs/server.md "Pull on miss"):
// servers with `session_pull = true` behind a real sessnic-dispatch. The dispatcher
// forwards each hello at once with a pull hint; the server pulls the session from its
// owner card while the handshake waits (the default), or - with `early_move = true` - the
// dispatcher fires the move toward the server's card as it forwards (the hint says "move
// in flight") and the server waits for the session to land. Real
// `openssl s_client` and the travel scenario must resume on every server change, and the
// dispatcher must not have moved anything itself (so a server that ignored the hint
// would do full handshakes and fail these tests).
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <thread>
#include <tuple>

#include "local_cluster.hpp"
#include "proxy_protocol.hpp"
#include "pull_hint.hpp"
#include "tls_test_support.hpp"
#include "travel_scenario.hpp"

namespace sessnic::dispatch {
namespace {
using testing::LocalCluster;
using testing::run_command;

// "name{labels} value" of a Prometheus text, or -1.
double metric(const std::string& text, const std::string& series) {
  const std::string key = series + " ";
  const size_t p = text.find(key);
  return p == std::string::npos ? -1 : std::stod(text.substr(p + key.size()));
}

// One TLS connection straight to a server, as the dispatcher forwards one: a PROXY v2
// header with `tlvs`, then a real handshake offering `resume` (if any) and one request,
// read to the end (so a TLS 1.3 ticket has arrived).
struct DirectVisit {
  bool resumed = false;
  SslSessionPtr session;  // null: the handshake failed (see error)
  std::string error;
};

// The connection with its PROXY v2 header sent (-1: failed), the hello not yet.
int open_direct(uint16_t port, const std::vector<proxy_v2::Tlv>& tlvs) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  const timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  proxy_v2::Address addr;
  addr.src = {127, 0, 0, 1};
  addr.dst = {127, 0, 0, 1};
  addr.src_port = 40000;
  addr.dst_port = port;
  const auto hdr = proxy_v2::encode(addr, tlvs);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 ||
      ::send(fd, hdr.data(), hdr.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(hdr.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The handshake and one request on `fd` (open_direct's; closed here).
DirectVisit finish_direct(int fd, SSL_CTX* ctx, SSL_SESSION* resume) {
  DirectVisit v;
  SslPtr ssl(fd >= 0 ? SSL_new(ctx) : nullptr);
  if (!ssl) {
    if (fd >= 0) ::close(fd);
    v.error = "connect";
    return v;
  }
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  if (resume) SSL_set_session(ssl.get(), resume);
  if (SSL_connect(ssl.get()) != 1) {
    v.error = "handshake: " + testtls::drain_openssl_errors();
  } else {
    v.resumed = SSL_session_reused(ssl.get()) == 1;
    const std::string req = "GET /book.json HTTP/1.0\r\n\r\n";
    SSL_write(ssl.get(), req.data(), static_cast<int>(req.size()));
    char buf[4096];
    while (SSL_read(ssl.get(), buf, sizeof buf) > 0) {
    }
    v.session.reset(SSL_get1_session(ssl.get()));
    SSL_shutdown(ssl.get());
  }
  ssl.reset();
  ::close(fd);
  return v;
}

DirectVisit visit_direct(uint16_t port, SSL_CTX* ctx, const std::vector<proxy_v2::Tlv>& tlvs, SSL_SESSION* resume) {
  return finish_direct(open_direct(port, tlvs), ctx, resume);
}

// The id a hello offering `s` names: the legacy session id (TLS 1.2) or the PSK identity,
// which with the servers' stateful tickets is the session id (TLS 1.3).
std::vector<uint8_t> offered_id(const SSL_SESSION* s) {
  if (SSL_SESSION_get_protocol_version(s) >= TLS1_3_VERSION) {
    const unsigned char* t = nullptr;
    size_t n = 0;
    SSL_SESSION_get0_ticket(s, &t, &n);
    return {t, t + n};
  }
  unsigned int n = 0;
  const unsigned char* id = SSL_SESSION_get_id(s, &n);
  return {id, id + n};
}

// The pull starts when the server reads the PROXY v2 header, when the hint names the
// offered session (docs/server.md "Pull on miss"): straight to the servers, real
// handshakes, a session of flights' card (1) offered to cars and hotels. Named right, it
// resumes from the pull started early; a hint naming another session than the hello
// offers (a misbehaving dispatcher) still resumes the offered one - pulled from the
// ClientHello callback - and never the named one; a hint without the id (an older
// dispatcher) pulls from the callback as before.
TEST(DispatchSessionPullEarly, NamedSessionIsPulledAtTheHeaderAndAnotherIdFallsBack) {
  testing::LocalClusterOptions opt;
  opt.session_pull = true;
  opt.server_metrics = true;
  LocalCluster cluster(opt);
  const auto budget = std::chrono::microseconds(500'000);
  const uint16_t flights = cluster.server_ports.at(0), cars = cluster.server_ports.at(1),
                 hotels = cluster.server_ports.at(2);
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version == TLS1_2_VERSION ? "TLS 1.2" : "TLS 1.3");
    auto ctx = testtls::make_client_ctx(version);
    SSL_CTX_set_min_proto_version(ctx.get(), version);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT);
    auto full = [&] {
      auto v = visit_direct(flights, ctx.get(), {}, nullptr);
      EXPECT_TRUE(v.session) << v.error << cluster.logs();
      EXPECT_FALSE(v.resumed);
      return std::move(v.session);
    };
    auto hint = [&](const std::vector<uint8_t>& id) {
      std::vector<proxy_v2::Tlv> t;
      proxy_v2::append_pull_hint(t, {1, budget, false, id});
      return t;
    };
    auto named = full(), offered = full(), other = full(), old = full();
    ASSERT_TRUE(named && offered && other && old);
    ASSERT_FALSE(offered_id(named.get()).empty());
    ASSERT_NE(offered_id(offered.get()), offered_id(other.get()));

    // The hint names the offered session: pulled while OpenSSL read the hello.
    auto on_cars = visit_direct(cars, ctx.get(), hint(offered_id(named.get())), named.get());
    ASSERT_TRUE(on_cars.session) << on_cars.error << cluster.logs();
    EXPECT_TRUE(on_cars.resumed) << cluster.server_metrics(1);

    // The hint names `other`, the hello offers `offered`: `offered` resumes.
    auto mismatch = visit_direct(hotels, ctx.get(), hint(offered_id(other.get())), offered.get());
    ASSERT_TRUE(mismatch.session) << mismatch.error << cluster.logs();
    EXPECT_TRUE(mismatch.resumed) << cluster.server_metrics(2);
    if (version == TLS1_2_VERSION) {  // (TLS 1.3 hands out a new ticket with each resumption)
      EXPECT_EQ(offered_id(mismatch.session.get()), offered_id(offered.get()));
    }

    // An old hint (no id TLV): the callback pulls.
    const std::vector<proxy_v2::Tlv> old_hint{proxy_v2::encode_pull_hint({1, budget})};
    auto old_way = visit_direct(cars, ctx.get(), old_hint, old.get());
    ASSERT_TRUE(old_way.session) << old_way.error << cluster.logs();
    EXPECT_TRUE(old_way.resumed) << cluster.server_metrics(1);
  }
  const auto m_cars = cluster.server_metrics(1), m_hotels = cluster.server_metrics(2);
  auto early = [](const std::string& m, const char* r) {
    return metric(m, fmt::format("sessnic_server_session_pulls_early_total{{result=\"{}\"}}", r));
  };
  EXPECT_EQ(early(m_cars, "started"), 2) << "one per version; the old hint starts none\n" << m_cars;
  EXPECT_EQ(early(m_cars, "mismatch"), 0) << m_cars;
  EXPECT_EQ(metric(m_cars, "sessnic_server_session_pulls_total{result=\"pulled\"}"), 4) << m_cars;
  EXPECT_EQ(early(m_hotels, "started"), 2) << m_hotels;
  EXPECT_EQ(early(m_hotels, "mismatch"), 2) << m_hotels;
  // The named session early and the offered one from the callback, per version.
  EXPECT_EQ(metric(m_hotels, "sessnic_server_session_pulls_total{result=\"pulled\"}"), 4) << m_hotels;
}

// A header whose hello is late: its early pull must not hold the io thread's other pulls.
// Its PULL left from the backplane's direct port (the loop had nothing else to do), but
// until its hello comes the thread serves other connections, whose answers would wait on
// a port only that hello's callback reads: B's pull would run out of its budget and B
// would get a full handshake. The claim ends when the first handshake step finds no hello.
TEST(DispatchSessionPullEarly, AHeaderWithoutItsHelloHoldsNoOtherConnectionsPull) {
  testing::LocalClusterOptions opt;
  opt.session_pull = true;
  opt.server_metrics = true;
  opt.pull_spin_us = 200;
  opt.server_threads = 1;  // both connections on one io thread
  LocalCluster cluster(opt);
  const uint16_t flights = cluster.server_ports.at(0), cars = cluster.server_ports.at(1);
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version == TLS1_2_VERSION ? "TLS 1.2" : "TLS 1.3");
    auto ctx = testtls::make_client_ctx(version);
    SSL_CTX_set_min_proto_version(ctx.get(), version);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT);
    auto a = visit_direct(flights, ctx.get(), {}, nullptr), b = visit_direct(flights, ctx.get(), {}, nullptr);
    ASSERT_TRUE(a.session && b.session) << a.error << b.error << cluster.logs();
    auto hint = [&](SSL_SESSION* s, std::chrono::microseconds budget) {
      std::vector<proxy_v2::Tlv> t;
      proxy_v2::append_pull_hint(t, {1, budget, false, offered_id(s)});
      return t;
    };
    const int late = open_direct(cars, hint(a.session.get(), std::chrono::microseconds(2'000'000)));
    ASSERT_GE(late, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // its header is read, its pull answered
    auto on_time = visit_direct(cars, ctx.get(), hint(b.session.get(), std::chrono::microseconds(100'000)), b.session.get());
    EXPECT_TRUE(on_time.resumed) << on_time.error << cluster.server_metrics(1);
    auto late_visit = finish_direct(late, ctx.get(), a.session.get());
    EXPECT_TRUE(late_visit.resumed) << late_visit.error << cluster.server_metrics(1);
  }
  const auto m_cars = cluster.server_metrics(1), m_flights = cluster.server_metrics(0);
  EXPECT_EQ(metric(m_cars, "sessnic_server_session_pulls_total{result=\"pulled\"}"), 4) << m_cars;
  // The owner answered to a direct port once per version: the late header's pull. The
  // other connection's PULL left from the node's own port, where the pump reads.
  EXPECT_EQ(metric(m_flights, "sessnic_backplane_direct_datagrams_total{way=\"sent\"}"), 2) << m_flights;
}

// (backplane mode, early_move)
class DispatchSessionPull : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(DispatchSessionPull, OpensslAndTravelResumeOnEveryServerChange) {
  const auto& [mode, early_move] = GetParam();
  testing::LocalClusterOptions opt;
  opt.mode = mode;
  opt.session_pull = true;
  opt.early_move = early_move;
  LocalCluster cluster(opt);
  for (const char* version : {"tls1_2", "tls1_3"}) {
    const auto file = (cluster.dir / fmt::format("sess-{}.pem", version)).string();
    auto s_client = [&](const std::string& sni, const std::string& sess) {
      return run_command(fmt::format(
          "printf 'GET /book.json HTTP/1.0\\r\\n\\r\\n' | timeout 10 openssl s_client -connect 127.0.0.1:{} "
          "-servername {} -{} {} -ign_eof 2>&1",
          cluster.port_on, sni, version, sess));
    };
    const auto first = s_client("flights.travel.test", "-sess_out " + file);
    ASSERT_NE(first.find("X-Sessnic-Server: flights"), std::string::npos) << first << cluster.logs();
    ASSERT_NE(first.find("\nNew, "), std::string::npos) << first;
    const auto second = s_client("cars.travel.test", "-sess_in " + file);
    ASSERT_NE(second.find("X-Sessnic-Server: cars"), std::string::npos) << second;
    EXPECT_NE(second.find("\nReused, "), std::string::npos) << second << cluster.metrics(true) << cluster.logs();
    EXPECT_NE(second.find("X-Sessnic-Handshake: resumed"), std::string::npos) << second;
  }
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto on = run_travel("127.0.0.1", cluster.port_on, default_travel_steps(), 5, version);
    EXPECT_EQ(on.failures(), 0u) << cluster.logs();
    EXPECT_EQ(on.resumption_rate(), 1.0) << mode << " early_move " << early_move << " TLS " << version << "\n" << cluster.metrics(true);
  }
  const auto m = cluster.metrics(true);
  EXPECT_GE(metric(m, "sessnic_dispatch_transfers_total{outcome=\"server_pull\"}"), 2) << m;
  if (early_move) {
    // The move toward the server's card was fired at each hello (not after it reached the
    // server): it moved the session, and the server waited for it instead of pulling.
    EXPECT_GE(metric(m, "sessnic_dispatch_early_moves_total{outcome=\"moved\"}"), 2) << m;
  } else {
    // Nothing asked on the backplane by the dispatcher: every session on another card
    // resumed because the server pulled it.
    for (const char* o : {"moved", "not_found", "failed", "overload"})
      EXPECT_EQ(metric(m, fmt::format("sessnic_dispatch_early_moves_total{{outcome=\"{}\"}}", o)), 0) << o << m;
  }
  EXPECT_EQ(metric(m, "sessnic_dispatch_transfers_total{outcome=\"moved\"}"), 0) << m;
  EXPECT_EQ(metric(m, "sessnic_dispatch_transfers_total{outcome=\"timeout\"}"), 0) << m;
  EXPECT_GT(metric(m, "sessnic_dispatch_phase_seconds_count{phase=\"server_hello\"}"), 0) << m;
  // The no-share dispatcher over the same servers sends no hint: still full handshakes
  // (in transfer mode; a hub-mode card pulls from the hub on a miss by itself).
  if (mode == "transfer") {
    auto off = run_travel("127.0.0.1", cluster.port_off, default_travel_steps(), 3, TLS1_3_VERSION);
    EXPECT_EQ(off.resumption_rate(), 0.0);
  }
}
// A TLS 1.3 server change in transfer mode moves the ticket (docs/card.md rule 5): the
// target's pull tombstones the owner's copy as it answers, so its TAKE sends no DELETE
// back (it used to: a frame, an ack and up to four pump wake-ups inside the handshake).
// Single use still holds: the same ticket offered again, to its first server, is a
// full handshake.
TEST(DispatchSessionPullMove, Tls13ChangeSendsNoDeleteAndTheTicketIsStillSingleUse) {
  testing::LocalClusterOptions opt;
  opt.session_pull = true;
  opt.server_metrics = true;
  LocalCluster cluster(opt);
  const auto file = (cluster.dir / "sess-tls13.pem").string();
  auto s_client = [&](const std::string& sni, const std::string& sess) {
    return run_command(fmt::format(
        "printf 'GET /book.json HTTP/1.0\\r\\n\\r\\n' | timeout 10 openssl s_client -connect 127.0.0.1:{} "
        "-servername {} -tls1_3 {} -ign_eof 2>&1",
        cluster.port_on, sni, sess));
  };
  const auto first = s_client("flights.travel.test", "-sess_out " + file);
  ASSERT_NE(first.find("X-Sessnic-Server: flights"), std::string::npos) << first << cluster.logs();
  ASSERT_NE(first.find("\nNew, "), std::string::npos) << first;
  const auto second = s_client("cars.travel.test", "-sess_in " + file);
  ASSERT_NE(second.find("X-Sessnic-Server: cars"), std::string::npos) << second;
  EXPECT_NE(second.find("\nReused, "), std::string::npos) << second << cluster.logs();
  // The same (now used) ticket again, on the server that issued it: its copy went with the move.
  const auto again = s_client("flights.travel.test", "-sess_in " + file);
  ASSERT_NE(again.find("X-Sessnic-Server: flights"), std::string::npos) << again;
  EXPECT_NE(again.find("\nNew, "), std::string::npos) << "a used TLS 1.3 ticket resumed again\n" << again;
  auto on = run_travel("127.0.0.1", cluster.port_on, default_travel_steps(), 5, TLS1_3_VERSION);
  EXPECT_EQ(on.failures(), 0u) << cluster.logs();
  EXPECT_EQ(on.resumption_rate(), 1.0) << cluster.metrics(true);
  double pulls = 0;
  for (size_t i = 0; i < cluster.server_metrics_ports.size(); ++i) {
    const auto m = cluster.server_metrics(i);
    EXPECT_EQ(metric(m, "sessnic_backplane_frames_sent_total{type=\"delete\"}"), 0) << "server " << i << "\n" << m;
    pulls += metric(m, "sessnic_backplane_frames_sent_total{type=\"pull\"}");
  }
  EXPECT_GE(pulls, 2) << "the changes were pulls";
}

// pull_spin_us (docs/server.md): with no other connection busy on its io loop, the
// ClientHello callback waits for its pull on the io thread instead of pausing the
// handshake. With 1000 µs most pulls are answered within the wait and the handshake goes
// on in the callback (one answered is required: under load some still pause); 0 never
// waits. Every server change resumes either way. (An answer after the wait, which resumes
// the paused handshake as before, is pinned down in tests/openssl/hello_lookup_spin_test.cpp:
// on real servers the yielding wait lets the pump run, so even a 1 µs wait often sees it.)
class DispatchSessionPullSpin : public ::testing::TestWithParam<int> {};

TEST_P(DispatchSessionPullSpin, EveryChangeResumesWithAndWithoutTheWait) {
  const int spin_us = GetParam();
  testing::LocalClusterOptions opt;
  opt.session_pull = true;
  opt.server_metrics = true;
  opt.pull_spin_us = spin_us;
  LocalCluster cluster(opt);
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto on = run_travel("127.0.0.1", cluster.port_on, default_travel_steps(), 5, version);
    EXPECT_EQ(on.failures(), 0u) << cluster.logs();
    EXPECT_EQ(on.resumption_rate(), 1.0) << "pull_spin_us " << spin_us << " TLS " << version << "\n"
                                         << cluster.server_metrics(0) << cluster.server_metrics(1);
  }
  double pulled = 0, answered = 0, paused = 0, early = 0, ready = 0, mismatch = 0, direct_read = 0, direct_sent = 0;
  for (size_t i = 0; i < cluster.server_metrics_ports.size(); ++i) {
    const auto m = cluster.server_metrics(i);
    pulled += metric(m, "sessnic_server_session_pulls_total{result=\"pulled\"}");
    early += metric(m, "sessnic_server_session_pulls_early_total{result=\"started\"}");
    ready += metric(m, "sessnic_server_session_pulls_early_total{result=\"ready\"}");
    mismatch += metric(m, "sessnic_server_session_pulls_early_total{result=\"mismatch\"}");
    answered += metric(m, "sessnic_server_session_pull_spins_total{result=\"answered\"}");
    paused += metric(m, "sessnic_server_session_pull_spins_total{result=\"paused\"}");
    direct_read += metric(m, "sessnic_backplane_direct_datagrams_total{way=\"read\"}");
    direct_sent += metric(m, "sessnic_backplane_direct_datagrams_total{way=\"sent\"}");
  }
  EXPECT_GE(pulled, 2) << "the changes were pulls";
  // The dispatcher names the offered session: every pull started at the PROXY header.
  EXPECT_GE(early, pulled) << "pulls started before the hello was read";
  EXPECT_EQ(mismatch, 0);
  EXPECT_LE(answered + paused, pulled);
  if (spin_us == 0) {
    EXPECT_EQ(answered + paused, 0) << "pull_spin_us = 0 never waits";
    EXPECT_EQ(direct_sent, 0) << "a pull nobody waits for on its thread is answered to the node address";
  } else {
    // Went on in the callback: answered within the wait, or before the callback asked.
    EXPECT_GE(answered + ready, 1) << "answers within the wait went on in the callback";
    // The io thread read its answers itself: every pull it waited for, or found answered,
    // left from the direct port when the PROXY header came (its loop had nothing else).
    EXPECT_GE(direct_sent, answered + paused);
    EXPECT_GE(direct_read, 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Waits, DispatchSessionPullSpin, ::testing::Values(0, 1000),
                         [](const auto& info) { return fmt::format("spin_{}us", info.param); });

INSTANTIATE_TEST_SUITE_P(Modes, DispatchSessionPull,
                         ::testing::Combine(::testing::Values("transfer", "hub"), ::testing::Bool()),
                         [](const auto& info) {
                           return std::get<0>(info.param) + (std::get<1>(info.param) ? "_early_move" : "_server_pulls");
                         });

}  // namespace
}  // namespace sessnic::dispatch
