// The dispatcher's transfer path across processes, as in production: three card
// processes (this executable re-run with --card; a model card, a BackplaneNode on UDP
// 127.0.0.1, transfer mode) and a passive dispatcher card in this process. A relayed
// TRANSFER is dispatcher -> owner (TRANSFER_REQ) -> target (TRANSFER) -> owner (outcome
// ACK) -> dispatcher (TRANSFER_RESULT): four one-way UDP hops over three processes.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "sessnic/backplane/latency_histogram.hpp"

namespace sessnic::bench {

struct RelayOptions {
  std::size_t transfers = 2000;
  std::chrono::microseconds deadline{2000};  // as the dispatcher's transfer_deadline_us
  bool cpu_hog = false;                      // a busy loop per core (nice 0) while measuring
  // NodeConfig of every node: off/off is the path before issue 14 (the "before" runs).
  bool send_from_caller = true;
  bool pump_realtime = false;
};

// One card process's view of the run (its node's hop histograms and kernel counters).
struct CardReport {
  unsigned card = 0;
  backplane::LatencyHistogram socket_wait, turnaround, handoff;
  unsigned long long retransmits = 0, fast_retransmits = 0, giveups = 0, rx_busy = 0, rx_dup = 0, refused = 0,
                     transfers_failed = 0, not_sent = 0;
};

struct RelayResult {
  std::vector<double> us;  // every transfer, call to answer
  std::size_t ok = 0, miss = 0, failed = 0, late = 0;  // late: OK, but after the deadline
  CardReport dispatcher;
  std::vector<CardReport> cards;
};

RelayResult run_relay(const std::string& self_exe, const RelayOptions& opt);

// The --card mode of the executable: serves until stdin closes, then prints its report.
int card_process_main(int argc, char** argv);

}  // namespace sessnic::bench
