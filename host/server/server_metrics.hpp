// sessnic-server's counters and their Prometheus rendering (text format 0.0.4, names
// sessnic_server_*). Counters are lock-free atomics bumped from the I/O threads; the
// /metrics endpoint reads them while they move, which is what a scrape expects.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "sessnic/attach.hpp"
#include "sessnic/device.hpp"

namespace sessnic::server {

// Where a connection was when a deadline cut it.
enum class TimeoutPhase : uint8_t { handshake, request, idle, send, count };
const char* to_string(TimeoutPhase p);

// Response status codes the server sends, for responses_total{code}.
inline constexpr std::array<int, 9> kStatusCodes{200, 400, 404, 405, 408, 413, 431, 500, 505};

struct ServerCounters {
  std::atomic<uint64_t> connections{0};          // accepted and served
  std::atomic<uint64_t> connections_refused{0};  // over max_connections: closed at once
  std::atomic<uint64_t> accept_errors{0};        // accept() failed (e.g. out of file descriptors)
  std::atomic<int64_t> connections_open{0};
  std::atomic<uint64_t> handshakes_full{0}, handshakes_resumed{0}, handshake_failures{0};
  std::atomic<uint64_t> proxy_header_errors{0};
  std::atomic<uint64_t> requests{0};
  std::array<std::atomic<uint64_t>, kStatusCodes.size()> responses{};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(TimeoutPhase::count)> timeouts{};

  void count_response(int status);
  uint64_t responses_with(int status) const;
  uint64_t timeouts_in(TimeoutPhase p) const { return timeouts[static_cast<size_t>(p)].load(); }
};

// The /metrics body. `table`: the card's STATS when it answered (occupancy gauges).
std::string render_prometheus(const ServerCounters& c, const AttachCounters& a, const std::optional<TableStats>& table);

}  // namespace sessnic::server
