#include "server_metrics.hpp"

#include <fmt/format.h>

#include <iterator>

namespace sessnic::server {

const char* to_string(TimeoutPhase p) {
  switch (p) {
    case TimeoutPhase::handshake: return "handshake";
    case TimeoutPhase::request: return "request";
    case TimeoutPhase::idle: return "idle";
    case TimeoutPhase::send: return "send";
    default: return "?";
  }
}

void ServerCounters::count_response(int status) {
  for (size_t i = 0; i < kStatusCodes.size(); ++i)
    if (kStatusCodes[i] == status) {
      responses[i]++;
      return;
    }
}

uint64_t ServerCounters::responses_with(int status) const {
  for (size_t i = 0; i < kStatusCodes.size(); ++i)
    if (kStatusCodes[i] == status) return responses[i].load();
  return 0;
}

std::string render_prometheus(const ServerCounters& c, const AttachCounters& a, const std::optional<TableStats>& table) {
  std::string out;
  auto it = std::back_inserter(out);
  auto family = [&](const char* name, const char* type, const char* help) {
    fmt::format_to(it, "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  auto sample = [&](const char* name, std::string_view labels, auto value) {
    if (labels.empty()) fmt::format_to(it, "{} {}\n", name, value);
    else fmt::format_to(it, "{}{{{}}} {}\n", name, labels, value);
  };

  family("sessnic_server_connections_open", "gauge", "Client connections open now.");
  sample("sessnic_server_connections_open", "", c.connections_open.load());
  family("sessnic_server_connections_total", "counter", "Client connections accepted and served.");
  sample("sessnic_server_connections_total", "", c.connections.load());
  family("sessnic_server_connections_refused_total", "counter", "Connections closed at once: max_connections reached.");
  sample("sessnic_server_connections_refused_total", "", c.connections_refused.load());
  family("sessnic_server_accept_errors_total", "counter", "accept() failures (e.g. out of file descriptors).");
  sample("sessnic_server_accept_errors_total", "", c.accept_errors.load());

  family("sessnic_server_handshakes_total", "counter", "TLS handshakes by result.");
  sample("sessnic_server_handshakes_total", "result=\"full\"", c.handshakes_full.load());
  sample("sessnic_server_handshakes_total", "result=\"resumed\"", c.handshakes_resumed.load());
  sample("sessnic_server_handshakes_total", "result=\"failed\"", c.handshake_failures.load());
  family("sessnic_server_proxy_header_errors_total", "counter", "Connections refused for a missing or bad PROXY v2 header.");
  sample("sessnic_server_proxy_header_errors_total", "", c.proxy_header_errors.load());
  family("sessnic_server_timeouts_total", "counter", "Connections closed by a deadline, by phase.");
  for (size_t i = 0; i < c.timeouts.size(); ++i)
    sample("sessnic_server_timeouts_total", fmt::format("phase=\"{}\"", to_string(static_cast<TimeoutPhase>(i))),
           c.timeouts[i].load());

  family("sessnic_server_requests_total", "counter", "HTTP requests parsed (complete or refused).");
  sample("sessnic_server_requests_total", "", c.requests.load());
  family("sessnic_server_responses_total", "counter", "HTTP responses by status code.");
  for (size_t i = 0; i < kStatusCodes.size(); ++i)
    sample("sessnic_server_responses_total", fmt::format("code=\"{}\"", kStatusCodes[i]), c.responses[i].load());

  // The session cache on the card (sessnic::attach counters).
  struct Named {
    const char* name;
    const char* help;
    uint64_t value;
  };
  const Named cache[] = {
      {"sessnic_server_session_stores_total", "Sessions written to the card.", a.stores},
      {"sessnic_server_session_store_failures_total", "Sessions the card refused or that failed to seal.", a.store_failed},
      {"sessnic_server_session_too_large_total", "Sessions too large for a table slot (kept locally).", a.too_large},
      {"sessnic_server_session_hits_total", "Resumptions served from the card.", a.hits},
      {"sessnic_server_session_decoded_reuse_total", "Card hits whose decoded copy was reused.", a.decoded_reuse},
      {"sessnic_server_session_local_hits_total", "Resumptions served from the local cache.", a.local_hits},
      {"sessnic_server_session_misses_total", "Resumption attempts finding no session.", a.misses},
      {"sessnic_server_session_expired_total", "Resumption attempts finding an expired session.", a.expired},
      {"sessnic_server_session_device_errors_total", "Card commands answered FAILED/BAD_CMD.", a.device_errors},
      {"sessnic_server_session_removes_total", "Sessions removed from the card by OpenSSL.", a.removes},
  };
  for (const auto& n : cache) {
    family(n.name, "counter", n.help);
    sample(n.name, "", n.value);
  }
  family("sessnic_server_session_seal_rejects_total", "counter", "Stored sessions refused at resumption, by reason.");
  for (size_t i = 0; i < a.rejected.size(); ++i)
    sample("sessnic_server_session_seal_rejects_total",
           fmt::format("reason=\"{}\"", sessnic::to_string(static_cast<RejectReason>(i))), a.rejected[i]);

  if (table) {
    family("sessnic_server_table_entries", "gauge", "Entries in the card's session table, by state.");
    sample("sessnic_server_table_entries", "state=\"live\"", (*table)[wire::STATS_LIVE]);
    sample("sessnic_server_table_entries", "state=\"tombstone\"", (*table)[wire::STATS_TOMBSTONES]);
  }
  return out;
}

}  // namespace sessnic::server
