#include "travel_scenario.hpp"

#include <algorithm>

#include "tls_client.hpp"

namespace sessnic::dispatch {

std::vector<TravelStep> default_travel_steps() {
  return {{"book a flight", "flights.travel.test", "/book.json"},
          {"book a car", "cars.travel.test", "/book.json"},
          {"book a hotel", "hotels.travel.test", "/book.json"}};
}

size_t TravelRun::changes() const {
  size_t n = 0;
  for (auto& c : clients) n += c.empty() ? 0 : c.size() - 1;
  return n;
}
size_t TravelRun::resumed_changes() const {
  size_t n = 0;
  for (auto& c : clients)
    for (size_t i = 1; i < c.size(); ++i) n += (c[i].ok && c[i].resumed && c[i].server_resumed) ? 1 : 0;
  return n;
}
double TravelRun::resumption_rate() const {
  return changes() ? static_cast<double>(resumed_changes()) / static_cast<double>(changes()) : 0.0;
}
std::map<std::string, size_t> TravelRun::load() const {
  std::map<std::string, size_t> m;
  for (auto& c : clients)
    for (auto& s : c)
      if (s.ok) m[s.server]++;
  return m;
}
size_t TravelRun::failures() const {
  size_t n = 0;
  for (auto& c : clients)
    for (auto& s : c) n += s.ok ? 0 : 1;
  return n;
}
double TravelRun::median_us(size_t step) const {
  std::vector<double> v;
  for (auto& c : clients)
    if (step < c.size() && c[step].ok) v.push_back(c[step].handshake_us);
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

TravelRun run_travel(const std::string& host, uint16_t port, const std::vector<TravelStep>& steps, size_t clients,
                     int max_tls_version) {
  TlsClient client(max_tls_version);
  TravelRun run;
  for (size_t c = 0; c < clients; ++c) {
    std::vector<StepOutcome> out;
    SslSessionPtr session;
    for (auto& step : steps) {
      auto r = client.fetch(host, port, step.sni, step.path, session.get());
      StepOutcome o;
      o.ok = r.ok;
      o.error = r.error;
      o.server = r.server;
      o.resumed = r.resumed;
      o.server_resumed = r.server_handshake == "resumed";
      o.tls_version = r.tls_version;
      o.handshake_us = r.handshake_us;
      out.push_back(std::move(o));
      if (r.session) session = std::move(r.session);
    }
    run.clients.push_back(std::move(out));
  }
  return run;
}

}  // namespace sessnic::dispatch
