// Dispatcher counters, rendered as Prometheus text on the loopback metrics endpoint.
// Plain atomics: io threads and transfer completions update them without locks. The
// per-server series live with the servers (Router), since a reload changes that list.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client_hello.hpp"

namespace sessnic::dispatch {

// Why a client connection was closed by the dispatcher (not by either peer).
enum class CloseReason : uint8_t {
  parse_error,       // the hello failed to parse (the parse reason is counted separately)
  hello_timeout,     // slow sender: no complete hello in time
  connection_limit,  // too many connections open
  source_limit,      // too many connections open from this client address
  no_route,          // no route and no healthy server for the name
  backend_connect,   // the chosen server did not accept the connection
  idle_timeout,
  draining,          // refused while shutting down
  count_
};
std::string_view to_string(CloseReason r);

// What happened to a hello that carried a session to resume.
enum class TransferOutcome : uint8_t {
  moved,          // the session landed on the target before the hello was forwarded
  not_found,      // owner had no such (valid) session: the server does a full handshake
  failed,         // timeout / nack / backplane down: forwarded anyway
  already_there,  // owner == target: nothing to move
  unknown_owner,  // owner hint names no card of this cluster (a session from elsewhere)
  sharing_off,    // the no-share baseline
  overload,       // too many transfers in flight: forwarded at once
  timeout,        // no answer by the deadline (counted from the hello's arrival): forwarded
  server_pull,    // forwarded at once with a pull hint: the server pulls it from the owner
  count_
};
std::string_view to_string(TransferOutcome o);

// Where a connection's set-up time goes (sessnic_dispatch_phase_seconds{phase}).
enum class SetupPhase : uint8_t {
  hello,         // accept -> the whole ClientHello parsed (the client's sending time)
  forward,       // hello parsed -> hello written to the server (connect, transfer wait)
  server_hello,  // hello written -> the server's ServerHello seen (the server's lookup and crypto)
  count_
};
std::string_view to_string(SetupPhase p);

class Metrics {
 public:
  Metrics() = default;

  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> connections_active{0};
  std::atomic<uint64_t> hellos_parsed{0};
  std::atomic<uint64_t> resumption_attempts{0};
  std::atomic<uint64_t> bytes_client_to_server{0};
  std::atomic<uint64_t> bytes_server_to_client{0};
  std::atomic<uint64_t> transfers_in_flight{0};
  std::atomic<uint64_t> reloads_ok{0}, reloads_failed{0};

  void parse_failure(ParseError e) { parse_failures_[static_cast<size_t>(e)]++; }
  void closed(CloseReason r) { closes_[static_cast<size_t>(r)]++; }
  void transfer(TransferOutcome o) { transfers_[static_cast<size_t>(o)]++; }
  void transfer_latency_us(double us);
  // The answer of a move fired for a session_pull server (step 5): moved / not_found /
  // failed / overload. Not a decision (that is transfers_total{outcome="server_pull"}).
  void early_move(TransferOutcome o) { early_moves_[static_cast<size_t>(o)]++; }
  uint64_t early_moves(TransferOutcome o) const { return early_moves_[static_cast<size_t>(o)]; }
  void phase_us(SetupPhase p, double us);

  uint64_t parse_failures(ParseError e) const { return parse_failures_[static_cast<size_t>(e)]; }
  uint64_t closes(CloseReason r) const { return closes_[static_cast<size_t>(r)]; }
  uint64_t transfers(TransferOutcome o) const { return transfers_[static_cast<size_t>(o)]; }

  // Prometheus text exposition format 0.0.4; `per_server` (Router::render_metrics) is
  // appended as is.
  std::string render(const std::string& per_server = {}) const;

 private:
  static constexpr std::array<double, 11> kBucketsUs = {25, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000};
  struct Histogram {
    std::array<std::atomic<uint64_t>, kBucketsUs.size() + 1> buckets{};
    std::atomic<uint64_t> sum_ns{0}, count{0};
    void add(double us);
    void render(std::string& o, std::string_view name, std::string_view labels) const;
  };
  std::array<Histogram, static_cast<size_t>(SetupPhase::count_)> phases_;
  std::array<std::atomic<uint64_t>, static_cast<size_t>(ParseError::count_)> parse_failures_{};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(CloseReason::count_)> closes_{};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(TransferOutcome::count_)> transfers_{};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(TransferOutcome::count_)> early_moves_{};
  std::array<std::atomic<uint64_t>, kBucketsUs.size() + 1> latency_buckets_{};
  std::atomic<uint64_t> latency_sum_ns_{0};
  std::atomic<uint64_t> latency_count_{0};
};

}  // namespace sessnic::dispatch
