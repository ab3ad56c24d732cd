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

#include <fmt/format.h>

#include <memory>
#include <tuple>

#include "local_cluster.hpp"
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
  double pulled = 0, answered = 0, paused = 0, direct_read = 0, direct_sent = 0;
  for (size_t i = 0; i < cluster.server_metrics_ports.size(); ++i) {
    const auto m = cluster.server_metrics(i);
    pulled += metric(m, "sessnic_server_session_pulls_total{result=\"pulled\"}");
    answered += metric(m, "sessnic_server_session_pull_spins_total{result=\"answered\"}");
    paused += metric(m, "sessnic_server_session_pull_spins_total{result=\"paused\"}");
    direct_read += metric(m, "sessnic_backplane_direct_datagrams_total{way=\"read\"}");
    direct_sent += metric(m, "sessnic_backplane_direct_datagrams_total{way=\"sent\"}");
  }
  EXPECT_GE(pulled, 2) << "the changes were pulls";
  EXPECT_LE(answered + paused, pulled);
  if (spin_us == 0) {
    EXPECT_EQ(answered + paused, 0) << "pull_spin_us = 0 never waits";
    EXPECT_EQ(direct_sent, 0) << "a pull nobody waits for on its thread is answered to the node address";
  } else {
    EXPECT_GE(answered, 1) << "answers within the wait went on in the callback";
    // The waiting io thread read its answers itself (the PULL left from the direct port).
    EXPECT_EQ(direct_sent, answered + paused);
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
