#include "metrics.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace sessnic::dispatch {

std::string_view to_string(CloseReason r) {
  static constexpr std::array<std::string_view, static_cast<size_t>(CloseReason::count_)> n = {
      "parse_error", "hello_timeout", "connection_limit", "source_limit", "no_route", "backend_connect", "idle_timeout",
      "draining"};
  return n[static_cast<size_t>(r)];
}

std::string_view to_string(TransferOutcome o) {
  static constexpr std::array<std::string_view, static_cast<size_t>(TransferOutcome::count_)> n = {
      "moved", "not_found", "failed", "already_there", "unknown_owner", "sharing_off", "overload", "timeout",
      "server_pull"};
  return n[static_cast<size_t>(o)];
}

std::string_view to_string(SetupPhase p) {
  static constexpr std::array<std::string_view, static_cast<size_t>(SetupPhase::count_)> n = {"hello", "forward",
                                                                                        "server_hello"};
  return n[static_cast<size_t>(p)];
}

void Metrics::Histogram::add(double us) {
  size_t i = 0;
  while (i < kBucketsUs.size() && us > kBucketsUs[i]) ++i;
  buckets[i]++;
  sum_ns += static_cast<uint64_t>(std::max(0.0, us) * 1000.0);
  count++;
}

void Metrics::Histogram::render(std::string& o, std::string_view name, std::string_view labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cum = 0;
  for (size_t i = 0; i < kBucketsUs.size(); ++i) {
    cum += buckets[i];
    o += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, kBucketsUs[i] / 1e6, cum);
  }
  cum += buckets.back();
  o += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, cum);
  const std::string l = labels.empty() ? "" : fmt::format("{{{}}}", labels);
  o += fmt::format("{}_sum{} {}\n", name, l, static_cast<double>(sum_ns) / 1e9);
  o += fmt::format("{}_count{} {}\n", name, l, count.load());
}

void Metrics::phase_us(SetupPhase p, double us) { phases_[static_cast<size_t>(p)].add(us); }

void Metrics::transfer_latency_us(double us) {
  size_t i = 0;
  while (i < kBucketsUs.size() && us > kBucketsUs[i]) ++i;
  latency_buckets_[i]++;
  latency_sum_ns_ += static_cast<uint64_t>(us * 1000.0);
  latency_count_++;
}

std::string Metrics::render(const std::string& per_server) const {
  std::string o;
  auto counter = [&o](std::string_view name, std::string_view help, uint64_t v) {
    o += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, v);
  };
  counter("sessnic_dispatch_connections_total", "Client connections accepted.", connections_total);
  o += fmt::format("# HELP sessnic_dispatch_connections_active Client connections open.\n"
                   "# TYPE sessnic_dispatch_connections_active gauge\nsessnic_dispatch_connections_active {}\n",
                   connections_active.load());
  counter("sessnic_dispatch_hellos_parsed_total", "ClientHellos parsed successfully.", hellos_parsed);
  counter("sessnic_dispatch_resumption_attempts_total", "Hellos offering a session id or PSK identity.",
          resumption_attempts);
  counter("sessnic_dispatch_bytes_client_to_server_total", "Bytes spliced client to server.", bytes_client_to_server);
  counter("sessnic_dispatch_bytes_server_to_client_total", "Bytes spliced server to client.", bytes_server_to_client);

  o += "# HELP sessnic_dispatch_parse_failures_total ClientHello parse failures by reason.\n"
       "# TYPE sessnic_dispatch_parse_failures_total counter\n";
  for (size_t i = 1; i < parse_failures_.size(); ++i)
    o += fmt::format("sessnic_dispatch_parse_failures_total{{reason=\"{}\"}} {}\n", to_string(static_cast<ParseError>(i)),
                     parse_failures_[i].load());
  o += "# HELP sessnic_dispatch_closed_total Connections closed by the dispatcher, by reason.\n"
       "# TYPE sessnic_dispatch_closed_total counter\n";
  for (size_t i = 0; i < closes_.size(); ++i)
    o += fmt::format("sessnic_dispatch_closed_total{{reason=\"{}\"}} {}\n", to_string(static_cast<CloseReason>(i)),
                     closes_[i].load());
  o += fmt::format("# HELP sessnic_dispatch_transfers_in_flight Transfers asked and not answered yet.\n"
                   "# TYPE sessnic_dispatch_transfers_in_flight gauge\nsessnic_dispatch_transfers_in_flight {}\n",
                   transfers_in_flight.load());
  o += "# HELP sessnic_dispatch_config_reloads_total Config reloads (SIGHUP) by result.\n"
       "# TYPE sessnic_dispatch_config_reloads_total counter\n";
  o += fmt::format("sessnic_dispatch_config_reloads_total{{result=\"ok\"}} {}\n", reloads_ok.load());
  o += fmt::format("sessnic_dispatch_config_reloads_total{{result=\"failed\"}} {}\n", reloads_failed.load());
  o += per_server;
  o += "# HELP sessnic_dispatch_transfers_total Session transfer decisions and results.\n"
       "# TYPE sessnic_dispatch_transfers_total counter\n";
  for (size_t i = 0; i < transfers_.size(); ++i)
    o += fmt::format("sessnic_dispatch_transfers_total{{outcome=\"{}\"}} {}\n",
                     to_string(static_cast<TransferOutcome>(i)), transfers_[i].load());
  o += "# HELP sessnic_dispatch_early_moves_total Moves fired at the hello for servers that wait for them, by answer.\n"
       "# TYPE sessnic_dispatch_early_moves_total counter\n";
  for (auto o2 : {TransferOutcome::moved, TransferOutcome::not_found, TransferOutcome::failed, TransferOutcome::overload})
    o += fmt::format("sessnic_dispatch_early_moves_total{{outcome=\"{}\"}} {}\n", to_string(o2), early_moves(o2));
  o += "# HELP sessnic_dispatch_transfer_latency_seconds Time from transfer request to answer.\n"
       "# TYPE sessnic_dispatch_transfer_latency_seconds histogram\n";
  uint64_t cum = 0;
  for (size_t i = 0; i < kBucketsUs.size(); ++i) {
    cum += latency_buckets_[i];
    o += fmt::format("sessnic_dispatch_transfer_latency_seconds_bucket{{le=\"{}\"}} {}\n", kBucketsUs[i] / 1e6, cum);
  }
  cum += latency_buckets_.back();
  o += fmt::format("sessnic_dispatch_transfer_latency_seconds_bucket{{le=\"+Inf\"}} {}\n", cum);
  o += fmt::format("sessnic_dispatch_transfer_latency_seconds_sum {}\n", static_cast<double>(latency_sum_ns_) / 1e9);
  o += fmt::format("sessnic_dispatch_transfer_latency_seconds_count {}\n", latency_count_.load());
  o += "# HELP sessnic_dispatch_phase_seconds Connection set-up by phase: hello (accept to parsed), forward (to "
       "the hello written to the server), server_hello (to the server's ServerHello).\n"
       "# TYPE sessnic_dispatch_phase_seconds histogram\n";
  for (size_t i = 0; i < phases_.size(); ++i)
    phases_[i].render(o, "sessnic_dispatch_phase_seconds", fmt::format("phase=\"{}\"", to_string(static_cast<SetupPhase>(i))));
  return o;
}

}  // namespace sessnic::dispatch
