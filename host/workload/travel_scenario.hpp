// The patent's travel scenario as a client workload: a client books a flight, then a car,
// then a hotel - three requests, three names, three servers - each over a new TLS
// connection that offers the session of the previous one (FIG. 2/3 vs FIG. 5/6).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sessnic::dispatch {

struct TravelStep {
  std::string label;  // "book a flight"
  std::string sni;    // "flights.travel.test"
  std::string path;   // "/book.json"
};
std::vector<TravelStep> default_travel_steps();

struct StepOutcome {
  bool ok = false;
  std::string error;
  std::string server;
  bool resumed = false;      // as the client saw it
  bool server_resumed = false;  // as the server reported it (X-Sessnic-Handshake)
  std::string tls_version;
  double handshake_us = 0;
};

struct TravelRun {
  std::vector<std::vector<StepOutcome>> clients;  // [client][step]
  // Connections after the first of each client, i.e. the server changes.
  size_t changes() const;
  size_t resumed_changes() const;
  double resumption_rate() const;  // resumed_changes / changes
  std::map<std::string, size_t> load() const;  // requests per server
  size_t failures() const;
  double median_us(size_t step) const;  // over clients, successful steps only
};

// Runs `clients` clients one after another through host:port.
TravelRun run_travel(const std::string& host, uint16_t port, const std::vector<TravelStep>& steps, size_t clients,
                     int max_tls_version);

}  // namespace sessnic::dispatch
