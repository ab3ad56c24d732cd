// What an operator sees of a backplane node: peers up, frames by type, retransmits and
// give-ups, drops by reason, and a node with the wrong cluster key - counted, logged
// (rate-limited), and visible in the Prometheus text.
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <regex>
#include <set>
#include <sstream>

#include "sessnic/backplane/prometheus.hpp"
#include "sim_cluster.hpp"

namespace sessnic::backplane::test {
namespace {

using namespace std::chrono_literals;

std::size_t slot(wire::FrameType t) { return static_cast<std::size_t>(t); }

// The value of one sample line "name{labels} value" in a Prometheus text, or -1.
long long sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.compare(0, series.size() + 1, series + " ") == 0) return std::stoll(line.substr(series.size() + 1));
  return -1;
}

// Routes the default logger into a ring buffer for the test's lifetime.
class CapturedLog {
 public:
  CapturedLog() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)), previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink_));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::size_t count(const std::string& needle) const {
    std::size_t n = 0;
    for (const std::string& line : sink_->last_formatted())
      if (line.find(needle) != std::string::npos) ++n;
    return n;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(backplane_observability, WrongClusterKeyIsCountedLoggedAndExported) {
  CapturedLog log;
  SimCluster c({1, 2}, Mode::replicate, SimLinkOptions{});
  ASSERT_TRUE(c.wait_connected());
  // Card 3 believes it is a member, but holds another cluster key.
  NodeConfig bad = c.config(3, 100, false);
  bad.cluster_key[0] ^= 0x5a;
  bad.peers = {PeerAddress{1, "127.0.0.1", 0}, PeerAddress{2, "127.0.0.1", 0}};
  DeviceConfig dc;
  dc.card_id = 3;
  dc.geometry = TableGeometry::tiny;
  auto intruder_card = make_model_device(dc);
  BackplaneNode intruder(bad, *intruder_card, c.net().attach(3));
  intruder.start();
  ASSERT_TRUE(eventually([&] { return c[1].node->stats().rx_bad_mac >= 5; }, 3s)) << "its HELLOs are rejected";
  EXPECT_FALSE(intruder.wait_for_peers(200ms)) << "partitioned: nobody answers it";
  EXPECT_EQ(intruder.stats().peers_up(), 0u);
  const NodeStats s1 = c[1].node->stats();
  EXPECT_EQ(s1.peers_up(), 1u) << "the good peer";
  const std::string text = prometheus_text(s1);
  EXPECT_GE(sample(text, "sessnic_backplane_drops_total{reason=\"bad_mac\"}"), 5) << text;
  EXPECT_EQ(sample(text, "sessnic_backplane_peers_up"), 1) << text;
  // Each node logs once at once, then holds back (10 s): not once per frame. (The
  // intruder, for its part, cannot authenticate the others either.)
  EXPECT_EQ(log.count("backplane card 1: dropped a frame that failed authentication (claimed source card 3"), 1u);
  EXPECT_EQ(log.count("backplane card 2: dropped a frame that failed authentication (claimed source card 3"), 1u);
  EXPECT_EQ(log.count("backplane card 3: dropped a frame that failed authentication"), 1u);
  intruder.stop();
}

TEST(backplane_observability, FramesByTypeRetransmitsAndGiveUps) {
  SimCluster c({1, 2}, Mode::replicate, SimLinkOptions{});
  ASSERT_TRUE(c.wait_connected());
  std::mt19937_64 rng(5);
  const SessionKey k = random_key(rng);
  ASSERT_TRUE(c[1].dev->put(k, random_blob(rng, 100), future_expiry()).ok());
  ASSERT_TRUE(c[1].dev->del(k, future_expiry()).ok());
  ASSERT_TRUE(eventually([&] { return c[2].node->stats().rx_frames_by_type[slot(wire::FrameType::DELETE)] >= 1; }, 3s));
  NodeStats s1 = c[1].node->stats(), s2 = c[2].node->stats();
  // One of each, plus any retransmit (2 ms rto on a loaded machine) or catch-up push.
  const uint64_t extra = s1[wire::BP_STATS_RETRANSMITS] + s1.catchup_pushed;
  EXPECT_GE(s1.tx_frames_by_type[slot(wire::FrameType::UPDATE)], 1u);
  EXPECT_LE(s1.tx_frames_by_type[slot(wire::FrameType::UPDATE)], 1u + extra);
  EXPECT_GE(s1.tx_frames_by_type[slot(wire::FrameType::DELETE)], 1u);
  EXPECT_LE(s1.tx_frames_by_type[slot(wire::FrameType::DELETE)], 1u + extra);
  EXPECT_GE(s2.rx_frames_by_type[slot(wire::FrameType::UPDATE)], 1u);
  EXPECT_GE(s2.tx_frames_by_type[slot(wire::FrameType::ACK)], 1u);
  EXPECT_GE(s1.tx_frames_by_type[slot(wire::FrameType::HELLO)], 1u);
  EXPECT_GE(s2.rx_frames_by_type[slot(wire::FrameType::HELLO)], 1u);
  EXPECT_EQ(s1.tx_frames_by_type[0], 0u) << "no unknown types";
  EXPECT_EQ(sample(prometheus_text(s1), "sessnic_backplane_frames_sent_total{type=\"update\"}"),
            static_cast<long long>(s1.tx_frames_by_type[slot(wire::FrameType::UPDATE)]));

  // Card 2 unreachable: card 1 retransmits, then gives up and marks it down.
  c.net().set_partitioned(2, true);
  ASSERT_TRUE(c[1].dev->put(random_key(rng), random_blob(rng, 100), future_expiry()).ok());
  ASSERT_TRUE(eventually([&] { return c[1].node->stats()[wire::BP_STATS_RTX_GIVEUP] >= 1; }, 10s));
  s1 = c[1].node->stats();
  EXPECT_GE(s1[wire::BP_STATS_RETRANSMITS], 1u);
  EXPECT_TRUE(eventually([&] { return c[1].node->stats().peers_up() == 0; }, 5s));
  const std::string text = prometheus_text(c[1].node->stats());
  EXPECT_GE(sample(text, "sessnic_backplane_retransmits_total"), 1) << text;
  EXPECT_GE(sample(text, "sessnic_backplane_giveups_total"), 1) << text;
  EXPECT_EQ(sample(text, "sessnic_backplane_peer_up{peer=\"2\"}"), 0) << text;
}

TEST(backplane_observability, PrometheusTextFollowsTheConventions) {
  SimCluster c({1, 2}, Mode::hub, SimLinkOptions{}, {}, /*hub=*/1);
  ASSERT_TRUE(c.wait_connected());
  const std::string text = prometheus_text(c[2].node->stats());
  const std::regex help(R"(# HELP (sessnic_backplane_[a-z_]+) .+)");
  const std::regex type(R"(# TYPE (sessnic_backplane_[a-z_]+) (counter|gauge))");
  const std::regex line(R"((sessnic_backplane_[a-z_]+)(\{[a-z_]+="[a-z0-9_]+"(,[a-z_]+="[a-z0-9_]+")*\})? [0-9]+)");
  std::set<std::string> helped, counters, gauges, sampled;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_match(l, m, help)) helped.insert(m[1]);
    else if (std::regex_match(l, m, type)) (m[2] == "counter" ? counters : gauges).insert(m[1]);
    else if (std::regex_match(l, m, line)) sampled.insert(m[1]);
    else ADD_FAILURE() << "not exposition format: " << l;
  }
  for (const auto& n : counters) EXPECT_TRUE(n.ends_with("_total")) << n;
  for (const auto& n : gauges) EXPECT_FALSE(n.ends_with("_total")) << n;
  for (const auto& n : sampled) {
    EXPECT_TRUE(helped.count(n)) << n;
    EXPECT_TRUE(counters.count(n) + gauges.count(n) == 1) << n;
  }
  EXPECT_EQ(sample(text, "sessnic_backplane_info{card=\"2\",mode=\"hub\"}"), 1) << text;
  for (const char* reason : {"bad_mac", "truncated", "bad_crc", "bad_version", "duplicate", "stale_epoch"})
    EXPECT_EQ(sample(text, std::string("sessnic_backplane_drops_total{reason=\"") + reason + "\"}"), 0) << reason;
}

}  // namespace
}  // namespace sessnic::backplane::test
