// `sessnic cluster up` keeps a cluster serving, as an operator relies on it: a child killed
// with SIGKILL comes back and the others never stop; a crash loop backs off to the cap;
// SIGHUP applies an edited config; SIGTERM lets the dispatcher drain for its whole
// drain_timeout_ms before anything is killed. Real processes on loopback, bounded waits.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "cluster_up_process.hpp"

namespace sessnic::cli::testing {
namespace {
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kUp = 20s;  // the whole cluster serving after `cluster up` starts

void expect_up(const ClusterUp& up) { ASSERT_TRUE(up.wait_log("sessnic-cluster: up - ", kUp)) << up.log(); }

TEST(CliClusterUp, KilledServerIsBackAndTheRestNeverStopped) {
  ClusterDir dir(pick_layout());
  dir.write_config({.servers = {"flights", "cars", "hotels"}});
  ClusterUp up(dir);
  expect_up(up);
  const auto& L = dir.layout();
  const pid_t dispatcher = up.child_pid("dispatcher"), flights = up.child_pid("server flights"),
              cars = up.child_pid("server cars"), hotels = up.child_pid("server hotels");
  ASSERT_GT(cars, 0) << up.log();
  ASSERT_TRUE(served_by(L.listen, "cars.travel.test", "cars", 5s)) << up.log();

  ASSERT_EQ(::kill(cars, SIGKILL), 0);
  // Back and serving through the dispatcher within the first restart delay plus a start.
  const auto killed = Clock::now();
  ASSERT_TRUE(served_by(L.listen, "cars.travel.test", "cars", 10s)) << up.log();
  const auto back_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed).count();
  EXPECT_LT(back_ms, 5000) << up.log();
  RecordProperty("cars_back_after_ms", static_cast<int>(back_ms));
  EXPECT_TRUE(up.wait_log("server cars: killed by signal 9", 1s)) << up.log();
  const pid_t cars2 = up.child_pid("server cars", 2);
  EXPECT_GT(cars2, 0);
  EXPECT_NE(cars2, cars);
  // Nothing else was stopped or restarted: same processes, still serving.
  for (pid_t p : {dispatcher, flights, hotels}) EXPECT_TRUE(alive(p)) << p;
  EXPECT_EQ(up.child_pid("dispatcher", 2), -1) << up.log();
  EXPECT_EQ(up.child_pid("server flights", 2), -1) << up.log();
  EXPECT_EQ(up.child_pid("server hotels", 2), -1) << up.log();
  EXPECT_TRUE(served_by(L.listen, "flights.travel.test", "flights", 5s));
  EXPECT_TRUE(served_by(L.listen, "hotels.travel.test", "hotels", 5s));
  EXPECT_FALSE(up.wait_exit(0ms)) << "cluster up exited:\n" << up.log();
}

TEST(CliClusterUp, KilledDispatcherIsRestarted) {
  ClusterDir dir(pick_layout());
  dir.write_config({});
  ClusterUp up(dir);
  expect_up(up);
  const pid_t flights = up.child_pid("server flights");
  ASSERT_EQ(::kill(up.child_pid("dispatcher"), SIGKILL), 0);
  EXPECT_TRUE(up.wait_log("dispatcher: killed by signal 9", 5s)) << up.log();
  EXPECT_TRUE(served_by(dir.layout().listen, "flights.travel.test", "flights", 10s)) << up.log();
  EXPECT_GT(up.child_pid("dispatcher", 2), 0);
  EXPECT_TRUE(alive(flights));
  EXPECT_EQ(up.child_pid("server flights", 2), -1) << up.log();
}

// A server that cannot start (its port is taken) is retried at a doubling delay up to the
// cap, logged as crash-looping, and comes back on its own once the port is free.
TEST(CliClusterUp, CrashLoopBacksOffToTheCapAndRecovers) {
  ClusterDir dir(pick_layout());
  dir.write_config({});
  ClusterUp up(dir, {"--restart-delay-ms", "300", "--restart-delay-max-ms", "800"});
  expect_up(up);
  const uint16_t cars_port = dir.layout().servers.at("cars").tcp;
  const pid_t dispatcher = up.child_pid("dispatcher"), flights = up.child_pid("server flights");

  // Take the port the moment the killed server releases it (the restart comes 300 ms later).
  int squatter = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(squatter, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(cars_port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::kill(up.child_pid("server cars"), SIGKILL), 0);
  const auto deadline = Clock::now() + 2s;
  bool bound = false;
  while (!(bound = ::bind(squatter, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) && Clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(bound) << "could not take the port of the killed server";
  ASSERT_EQ(::listen(squatter, 8), 0);

  ASSERT_TRUE(up.wait_log("server cars: exited with status", 10s, 2)) << up.log();
  ASSERT_TRUE(up.wait_log("server cars: exited with status", 10s, 3)) << up.log();
  EXPECT_GE(up.count("it keeps crashing"), 1u) << up.log();
  // At the cap the retries come no faster than one per 800 ms (+ the start itself).
  const size_t before = up.count("server cars: started");
  std::this_thread::sleep_for(2500ms);
  const size_t starts = up.count("server cars: started") - before;
  EXPECT_GE(starts, 1u) << up.log();
  EXPECT_LE(starts, 4u) << up.log();

  ::close(squatter);
  EXPECT_TRUE(served_by(dir.layout().listen, "cars.travel.test", "cars", 10s)) << up.log();
  EXPECT_TRUE(alive(dispatcher));
  EXPECT_TRUE(alive(flights));
  EXPECT_EQ(up.child_pid("dispatcher", 2), -1) << up.log();
}

TEST(CliClusterUp, SighupStartsAddedStopsRemovedAndRestartsChangedServers) {
  ClusterDir dir(pick_layout());
  const auto& L = dir.layout();
  dir.write_config({.servers = {"flights", "cars"}});
  ClusterUp up(dir);
  expect_up(up);
  const pid_t flights = up.child_pid("server flights");
  EXPECT_FALSE(port_accepts(L.servers.at("hotels").tcp));

  // hotels added, cars removed, flights changed (fewer threads).
  dir.write_config({.servers = {"flights", "hotels"}, .server_extra = {{"flights", "threads = 2"}}});
  ASSERT_EQ(::kill(up.pid(), SIGHUP), 0);
  ASSERT_TRUE(up.wait_log("reload: server hotels added", 5s)) << up.log();
  EXPECT_TRUE(served_by(L.listen, "hotels.travel.test", "hotels", 15s)) << up.log();
  ASSERT_TRUE(up.wait_log("server cars: exited with status 0 after SIGTERM", 10s)) << up.log();
  EXPECT_FALSE(port_accepts(L.servers.at("cars").tcp));
  ASSERT_TRUE(up.wait_log("server flights: started", 10s, 2)) << up.log();
  EXPECT_NE(up.child_pid("server flights", 2), flights);
  EXPECT_FALSE(alive(flights));
  EXPECT_TRUE(served_by(L.listen, "flights.travel.test", "flights", 15s)) << up.log();
  EXPECT_TRUE(up.wait_log("reload: SIGHUP to the dispatcher", 1s)) << up.log();
  EXPECT_FALSE(up.wait_exit(0ms)) << up.log();
}

// A renewed certificate (same file name, new contents) is picked up on SIGHUP: the servers
// restart one at a time, each serving again before the next goes down.
TEST(CliClusterUp, SighupAfterACertificateRenewalRestartsServersOneAtATime) {
  ClusterDir dir(pick_layout());
  dir.write_config({});
  ClusterUp up(dir);
  expect_up(up);
  std::filesystem::last_write_time(dir.cert(), std::filesystem::file_time_type::clock::now() + 5s);
  ASSERT_EQ(::kill(up.pid(), SIGHUP), 0);
  ASSERT_TRUE(up.wait_log("server cars: serving on", 20s, 2)) << up.log();
  auto log = up.log();
  auto nth = [&log](const std::string& needle, int n) {
    size_t p = std::string::npos;
    for (int i = 0; i < n; ++i) p = log.find(needle, p == std::string::npos ? 0 : p + 1);
    return p;
  };
  EXPECT_NE(log.find("reload: certificate, private key or cluster key file rewritten"), std::string::npos) << log;
  ASSERT_NE(nth("server flights: serving on", 2), std::string::npos) << log;
  EXPECT_LT(nth("server flights: serving on", 2), nth("server cars: stopping", 1)) << log;
  EXPECT_TRUE(served_by(dir.layout().listen, "cars.travel.test", "cars", 10s)) << up.log();
  EXPECT_TRUE(served_by(dir.layout().listen, "flights.travel.test", "flights", 10s)) << up.log();
}

// New dispatcher sockets cannot be reloaded into a running process: a successor starts and
// the old dispatcher drains and goes; the servers stay.
TEST(CliClusterUp, SighupWithNewDispatcherSocketsStartsASuccessor) {
  ClusterDir dir(pick_layout());
  const auto& L = dir.layout();
  dir.write_config({});
  ClusterUp up(dir);
  expect_up(up);
  const pid_t old = up.child_pid("dispatcher"), flights = up.child_pid("server flights");
  const uint16_t metrics2 = pick_layout().metrics;
  dir.write_config({.metrics = metrics2});
  ASSERT_EQ(::kill(up.pid(), SIGHUP), 0);
  ASSERT_TRUE(up.wait_log("a new dispatcher takes over", 5s)) << up.log();
  const auto deadline = Clock::now() + 15s;
  while ((!port_accepts(metrics2) || alive(old)) && Clock::now() < deadline) std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(port_accepts(metrics2)) << up.log();
  EXPECT_FALSE(alive(old)) << up.log();
  EXPECT_FALSE(port_accepts(L.metrics));
  EXPECT_GT(up.child_pid("dispatcher", 2), 0);
  EXPECT_TRUE(served_by(L.listen, "flights.travel.test", "flights", 10s)) << up.log();
  EXPECT_TRUE(alive(flights));
  EXPECT_EQ(up.child_pid("server flights", 2), -1) << up.log();
}

TEST(CliClusterUp, SighupWithABrokenConfigKeepsEverythingRunning) {
  ClusterDir dir(pick_layout());
  dir.write_config({});
  ClusterUp up(dir);
  expect_up(up);
  const pid_t dispatcher = up.child_pid("dispatcher"), cars = up.child_pid("server cars");
  auto text = run_shell("cat " + dir.config().string()).out;
  dir.write_raw_config(text + "[[route]]\nsni = \"cars.travel.test\"\nservers = [\"flights\"]\n");  // a duplicate route
  ASSERT_EQ(::kill(up.pid(), SIGHUP), 0);
  ASSERT_TRUE(up.wait_log("reload failed, still running the previous config", 5s)) << up.log();
  EXPECT_NE(up.log().find("route[3].sni: 'cars.travel.test' is already routed by route[1]"), std::string::npos) << up.log();
  EXPECT_TRUE(served_by(dir.layout().listen, "cars.travel.test", "cars", 5s));
  EXPECT_TRUE(alive(dispatcher));
  EXPECT_TRUE(alive(cars));
  EXPECT_EQ(up.child_pid("server cars", 2), -1) << up.log();
}

// SIGTERM: the dispatcher drains for its drain_timeout_ms (6 s here, longer than the 5 s
// after which the old `cluster up` killed everything) while the servers keep serving the
// connections it still splices; then everything stops and `cluster up` exits 0.
TEST(CliClusterUp, SigtermLetsTheDispatcherDrainForItsTimeout) {
  ClusterDir dir(pick_layout());
  const auto& L = dir.layout();
  dir.write_config({.dispatcher_extra = "drain_timeout_ms = 6000\nhello_timeout_ms = 30000"});
  ClusterUp up(dir);
  expect_up(up);
  TlsConnection active(L.listen, "flights.travel.test");  // handshake done, request to come
  ASSERT_TRUE(active.ok()) << up.log();
  int idle = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);  // a client that has not sent its hello yet
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(L.listen);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::this_thread::sleep_for(200ms);  // both accepted by the dispatcher

  const auto term = Clock::now();
  ASSERT_EQ(::kill(up.pid(), SIGTERM), 0);
  ASSERT_TRUE(up.wait_log("SIGTERM: draining", 2s)) << up.log();
  std::this_thread::sleep_for(1s);
  // Mid-drain the open connection is still served end to end.
  auto response = active.get("/book.json");
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response << up.log();
  EXPECT_NE(response.find("X-Sessnic-Server: flights"), std::string::npos) << response;
  EXPECT_FALSE(port_accepts(L.listen));  // no new connections while draining

  auto status = up.wait_exit(20s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - term).count();
  ::close(idle);
  ASSERT_TRUE(status) << up.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << up.log();
  EXPECT_GE(took, 5800) << up.log();   // the idle connection held the drain to its timeout
  EXPECT_LE(took, 6000 + 3000 + 5000) << up.log();  // drain + margin + the servers' grace
  RecordProperty("sigterm_to_exit_ms", static_cast<int>(took));
  auto log = up.log();
  EXPECT_NE(log.find("dispatcher: exited with status 0"), std::string::npos) << log;
  EXPECT_EQ(log.find("after SIGTERM; SIGKILL"), std::string::npos) << log;  // nothing had to be killed
  // The servers were stopped only after the dispatcher had finished.
  EXPECT_LT(log.find("dispatcher: exited"), log.find("server flights: stopping")) << log;
  for (auto& [name, p] : L.servers) EXPECT_FALSE(port_accepts(p.tcp)) << name;
}

}  // namespace
}  // namespace sessnic::cli::testing

namespace sessnic::cli::testing {
namespace {

// A child that ignores SIGTERM (here: stopped with SIGSTOP) is killed after its grace, and
// the supervisor keeps working meanwhile.
TEST(CliClusterUp, RemovedServerThatDoesNotStopIsKilledAfterItsGrace) {
  ClusterDir dir(pick_layout());
  dir.write_config({.servers = {"flights", "cars"}});
  ClusterUp up(dir);
  expect_up(up);
  const pid_t cars = up.child_pid("server cars");
  ASSERT_EQ(::kill(cars, SIGSTOP), 0);
  dir.write_config({.servers = {"flights"}});
  const auto hup = Clock::now();
  ASSERT_EQ(::kill(up.pid(), SIGHUP), 0);
  ASSERT_TRUE(up.wait_log("server cars: still running 5000 ms after SIGTERM; SIGKILL", 10s)) << up.log();
  EXPECT_GE(Clock::now() - hup, 4900ms);
  ASSERT_TRUE(up.wait_log("server cars: killed by signal 9 (Killed) after SIGTERM", 2s)) << up.log();
  EXPECT_FALSE(alive(cars));
  EXPECT_EQ(up.child_pid("server cars", 2), -1) << up.log();  // removed: not restarted
  EXPECT_TRUE(served_by(dir.layout().listen, "flights.travel.test", "flights", 10s)) << up.log();
}

// A dispatcher that does not drain is killed at drain_timeout_ms + the 3 s margin, no later.
TEST(CliClusterUp, DispatcherThatDoesNotExitIsKilledAtDrainTimeoutPlusMargin) {
  ClusterDir dir(pick_layout());
  dir.write_config({.dispatcher_extra = "drain_timeout_ms = 1000"});
  ClusterUp up(dir);
  expect_up(up);
  ASSERT_EQ(::kill(up.child_pid("dispatcher"), SIGSTOP), 0);
  const auto term = Clock::now();
  ASSERT_EQ(::kill(up.pid(), SIGTERM), 0);
  auto status = up.wait_exit(15s);
  const auto took = Clock::now() - term;
  ASSERT_TRUE(status) << up.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << up.log();
  EXPECT_GE(took, 3900ms) << up.log();
  EXPECT_LE(took, 9000ms) << up.log();
  EXPECT_NE(up.log().find("dispatcher: still running 4000 ms after SIGTERM; SIGKILL"), std::string::npos) << up.log();
  for (auto& [name, p] : dir.layout().servers) EXPECT_FALSE(port_accepts(p.tcp)) << name;
}

}  // namespace
}  // namespace sessnic::cli::testing
