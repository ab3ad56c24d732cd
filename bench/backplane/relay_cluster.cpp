#include "relay_cluster.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bench_keys.hpp"
#include "child_process.hpp"
#include "sessnic/backplane/node.hpp"
#include "sessnic/backplane/udp_transport.hpp"
#include "sessnic/open_device.hpp"

namespace sessnic::bench {
namespace {

using namespace sessnic::backplane;
using Clock = std::chrono::steady_clock;

constexpr uint8_t kDispatcher = 0;
constexpr std::array<uint8_t, 3> kCards = {1, 2, 3};
constexpr std::size_t kBlobBytes = 170;  // a sealed TLS 1.2 session without client cert

std::array<uint8_t, 32> cluster_key() {
  std::array<uint8_t, 32> key{};
  std::mt19937_64 rng(11);
  for (auto& x : key) x = static_cast<uint8_t>(rng());
  return key;
}

// Session n of card c: 32 pseudo-random bytes (splitmix64), like a server-generated id.
SessionKey relay_key(uint64_t n, uint8_t card) { return bench_key(n, (uint64_t{card} << 56) + 0x5151); }

NodeConfig node_config(uint8_t card, bool send_from_caller, bool pump_realtime) {
  NodeConfig c;  // production defaults (rto, retries, hello): what sessnic-server runs with
  c.card_id = card;
  c.send_from_caller = send_from_caller;
  c.pump_realtime = pump_realtime;
  c.mode = Mode::transfer;
  c.cluster_key = cluster_key();
  c.passive = card == kDispatcher;
  c.peers.push_back({kDispatcher, "127.0.0.1", 0});  // ports arrive later (set_peer)
  for (uint8_t p : kCards) c.peers.push_back({p, "127.0.0.1", 0});
  std::erase_if(c.peers, [card](const PeerAddress& p) { return p.card == card; });
  return c;
}

CardReport report_of(unsigned card, const NodeStats& s) {
  CardReport r;
  r.card = card;
  r.socket_wait = s.socket_wait;
  r.turnaround = s.turnaround;
  r.handoff = s.handoff;
  r.retransmits = s[wire::BP_STATS_RETRANSMITS];
  r.fast_retransmits = s[wire::BP_STATS_FAST_RETRANSMITS];
  r.giveups = s[wire::BP_STATS_RTX_GIVEUP];
  r.rx_busy = s[wire::BP_STATS_RX_BUSY];
  r.rx_dup = s[wire::BP_STATS_RX_DUP];
  r.refused = s.rx_refused;
  r.transfers_failed = s[wire::BP_STATS_TRANSFERS_FAILED];
  r.not_sent = s[wire::BP_STATS_NOT_SENT];
  return r;
}

// A report as one line: counters, then each histogram as "count b0 b1 ...".
std::string encode(const CardReport& r) {
  std::ostringstream o;
  o << "REPORT " << r.card << ' ' << r.retransmits << ' ' << r.fast_retransmits << ' ' << r.giveups << ' '
    << r.rx_busy << ' ' << r.rx_dup << ' ' << r.refused << ' ' << r.transfers_failed << ' ' << r.not_sent;
  for (const LatencyHistogram* h : {&r.socket_wait, &r.turnaround, &r.handoff})
    for (uint64_t n : h->buckets()) o << ' ' << n;
  return o.str();
}

CardReport decode(const std::string& line) {
  std::istringstream in(line);
  std::string tag;
  CardReport r;
  in >> tag >> r.card >> r.retransmits >> r.fast_retransmits >> r.giveups >> r.rx_busy >> r.rx_dup >> r.refused >>
      r.transfers_failed >> r.not_sent;
  if (tag != "REPORT" || !in) throw std::runtime_error("bench_backplane: bad card report: " + line.substr(0, 80));
  for (LatencyHistogram* h : {&r.socket_wait, &r.turnaround, &r.handoff})
    for (std::size_t b = 0; b < LatencyHistogram::kBuckets; ++b) {
      uint64_t n = 0;
      in >> n;
      h->add_bucket(b, n);
    }
  return r;
}

// A busy loop per core at nice 0 (other processes' CPU hogs), stopped by PID.
class CpuHog {
 public:
  explicit CpuHog(unsigned n) {
    for (unsigned i = 0; i < n; ++i) {
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        volatile uint64_t x = 0;
        for (;;) x = static_cast<uint64_t>(x) + 1u;
      }
      if (pid > 0) pids_.push_back(pid);
    }
  }
  ~CpuHog() {
    for (pid_t p : pids_) ::kill(p, SIGKILL);
    for (pid_t p : pids_) ::waitpid(p, nullptr, 0);
  }
  CpuHog(const CpuHog&) = delete;
  CpuHog& operator=(const CpuHog&) = delete;

 private:
  std::vector<pid_t> pids_;
};

}  // namespace

int card_process_main(int argc, char** argv) try {
  uint8_t card = 0;
  std::size_t keys = 0;
  bool send_from_caller = true, pump_realtime = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--card") card = static_cast<uint8_t>(std::stoi(argv[i + 1]));
    else if (k == "--keys") keys = std::stoul(argv[i + 1]);
    else if (k == "--send-from-caller") send_from_caller = std::string(argv[i + 1]) == "1";
    else if (k == "--pump-realtime") pump_realtime = std::string(argv[i + 1]) == "1";
  }
  DeviceConfig dc;
  dc.card_id = card;
  dc.geometry = TableGeometry::full;
  auto dev = make_model_device(dc);
  const std::vector<uint8_t> blob(kBlobBytes, 0x5a);
  const uint32_t expiry = wall_clock_seconds() + 3600;
  // Transfer n moves key n from card 1 + n % 3: each card holds its own third.
  for (std::size_t i = card - 1u; i < keys; i += kCards.size()) dev->put(relay_key(i, card), blob, expiry);
  const NodeConfig cfg = node_config(card, send_from_caller, pump_realtime);
  auto udp = std::make_unique<UdpTransport>(cfg);
  UdpTransport& transport = *udp;
  BackplaneNode node(cfg, *dev, std::move(udp));
  std::printf("READY %u\n", transport.local_port());
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    unsigned peer = 0, port = 0;
    if (std::sscanf(line.c_str(), "PEER %u %u", &peer, &port) == 2) {
      transport.set_peer({static_cast<uint8_t>(peer), "127.0.0.1", static_cast<uint16_t>(port)});
    } else if (line == "GO") {
      node.start();
    }
  }
  node.stop();
  std::printf("%s\n", encode(report_of(card, node.stats())).c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_backplane --card: %s\n", e.what());
  return 2;
}

RelayResult run_relay(const std::string& self_exe, const RelayOptions& opt) {
  using backplane::test::ChildProcess;
  std::vector<std::unique_ptr<ChildProcess>> kids;
  std::vector<uint16_t> ports;
  const std::size_t keys = opt.transfers + 100;
  for (uint8_t c : kCards) {
    kids.push_back(std::make_unique<ChildProcess>(
        self_exe, std::vector<std::string>{"--card", std::to_string(c), "--keys", std::to_string(keys), "--send-from-caller",
                                           opt.send_from_caller ? "1" : "0", "--pump-realtime",
                                           opt.pump_realtime ? "1" : "0"}));
    unsigned port = 0;
    const std::string ready = kids.back()->read_line(std::chrono::seconds(20));
    if (std::sscanf(ready.c_str(), "READY %u", &port) != 1) throw std::runtime_error("card process did not start");
    ports.push_back(static_cast<uint16_t>(port));
  }
  DeviceConfig dc;
  dc.card_id = kDispatcher;
  dc.geometry = TableGeometry::tiny;
  auto dev = make_model_device(dc);
  const NodeConfig cfg = node_config(kDispatcher, opt.send_from_caller, opt.pump_realtime);
  auto udp = std::make_unique<UdpTransport>(cfg);
  UdpTransport& transport = *udp;
  for (std::size_t i = 0; i < kCards.size(); ++i) transport.set_peer({kCards[i], "127.0.0.1", ports[i]});
  const uint16_t own_port = transport.local_port();
  BackplaneNode node(cfg, *dev, std::move(udp));
  for (auto& k : kids) {
    k->write_line("PEER " + std::to_string(kDispatcher) + " " + std::to_string(own_port));
    for (std::size_t i = 0; i < kCards.size(); ++i)
      k->write_line("PEER " + std::to_string(kCards[i]) + " " + std::to_string(ports[i]));
    k->write_line("GO");
  }
  node.start();
  if (!node.wait_for_peers(std::chrono::seconds(10))) throw std::runtime_error("card processes did not join");

  RelayResult res;
  {
    std::unique_ptr<CpuHog> hog;
    if (opt.cpu_hog) hog = std::make_unique<CpuHog>(std::max(1u, std::thread::hardware_concurrency()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the cards' hellos settle
    const auto budget = Clock::now() + std::chrono::seconds(12);
    for (std::size_t i = 0; i < opt.transfers && Clock::now() < budget; ++i) {
      // Paced like clients arriving (the dispatcher's mover threads wait for the next move).
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      const uint8_t owner = kCards[i % 3], dest = kCards[(i + 1) % 3];
      const auto t0 = Clock::now();
      // The card keeps at it half a deadline longer than the client waits, as the dispatcher.
      const Response r = dev->transfer(relay_key(i, owner), dest, owner, opt.deadline + opt.deadline / 2);
      const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
      res.us.push_back(us);
      if (r.status == wire::Status::OK) (us <= static_cast<double>(opt.deadline.count()) ? res.ok : res.late)++;
      else if (r.status == wire::Status::MISS || r.status == wire::Status::EXPIRED) ++res.miss;
      else ++res.failed;
    }
  }
  node.stop();
  res.dispatcher = report_of(kDispatcher, node.stats());
  for (auto& k : kids) {
    k->finish_input();
    res.cards.push_back(decode(k->read_line(std::chrono::seconds(10))));
    k->finish(std::chrono::seconds(5));
  }
  return res;
}

}  // namespace sessnic::bench
