// `sessnic stats [CONFIG | --endpoint host:port] [--raw]`: reads the dispatcher's
// Prometheus metrics endpoint and prints a summary (or the raw text).
#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include "cluster_config.hpp"
#include "subcommand.hpp"

namespace sessnic::cli {
namespace {

std::string http_get(const config::Endpoint& ep, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(ep.port);
  if (::inet_pton(AF_INET, ep.host.c_str(), &a.sin_addr) != 1 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error(fmt::format("no metrics endpoint at {} (is the dispatcher running?)", ep.str()));
  }
  std::string req = fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", path, ep.str());
  (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string resp;
  char buf[8192];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  auto body = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos)
    throw std::runtime_error(fmt::format("unexpected answer from {}", ep.str()));
  return resp.substr(body + 4);
}

// name{labels} value lines -> map "name{labels}" -> value
std::map<std::string, double> parse(const std::string& text) {
  std::map<std::string, double> m;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    m[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return m;
}

// The q-quantile of a Prometheus histogram (cumulative `le` buckets), interpolated
// linearly inside the bucket that holds it, as PromQL's histogram_quantile does. nullopt
// when the histogram is empty; +inf when it lies in the +Inf bucket.
std::optional<double> histogram_quantile(const std::map<std::string, double>& m, const std::string& name, double q) {
  std::vector<std::pair<double, double>> buckets;  // (upper bound, cumulative count)
  const std::string prefix = name + "_bucket{le=\"";
  for (auto& [k, v] : m) {
    if (k.rfind(prefix, 0) != 0) continue;
    std::string le = k.substr(prefix.size(), k.size() - prefix.size() - 2);
    buckets.emplace_back(le == "+Inf" ? std::numeric_limits<double>::infinity() : std::strtod(le.c_str(), nullptr), v);
  }
  std::sort(buckets.begin(), buckets.end());
  if (buckets.empty() || buckets.back().second <= 0) return std::nullopt;
  const double rank = q * buckets.back().second;
  double lower = 0, below = 0;
  for (auto& [le, cum] : buckets) {
    if (cum >= rank) {
      if (std::isinf(le)) return le;
      return lower + (le - lower) * (cum > below ? (rank - below) / (cum - below) : 1.0);
    }
    lower = le;
    below = cum;
  }
  return std::nullopt;
}

void summary(const std::map<std::string, double>& m) {
  auto get = [&m](const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? 0.0 : it->second;
  };
  const std::string p = "sessnic_dispatch_";
  fmt::print("connections      {:.0f} total, {:.0f} open\n", get(p + "connections_total"), get(p + "connections_active"));
  fmt::print("hellos parsed    {:.0f}, offering a session: {:.0f}\n", get(p + "hellos_parsed_total"),
             get(p + "resumption_attempts_total"));
  auto section = [&m](const std::string& title, const std::string& prefix, bool skip_zero) {
    std::string line;
    for (auto& [k, v] : m) {
      if (k.rfind(prefix, 0) != 0 || (skip_zero && v == 0)) continue;
      auto q1 = k.find('"'), q2 = k.rfind('"');
      line += fmt::format("{}={:.0f} ", k.substr(q1 + 1, q2 - q1 - 1), v);
    }
    fmt::print("{:<17}{}\n", title, line.empty() ? "-" : line);
  };
  section("routed", p + "routed_total{", false);
  section("servers up", p + "server_up{", false);
  section("transfers", p + "transfers_total{", true);
  section("parse failures", p + "parse_failures_total{", true);
  section("closed", p + "closed_total{", true);
  double count = get(p + "transfer_latency_seconds_count");
  if (count > 0) {
    auto us = [](std::optional<double> s) {
      return !s ? std::string("-") : std::isinf(*s) ? std::string("above the largest bucket") : fmt::format("{:.0f} us", *s * 1e6);
    };
    fmt::print("transfer latency p50 {}, p99 {}, mean {:.1f} us over {:.0f} transfers\n",
               us(histogram_quantile(m, p + "transfer_latency_seconds", 0.5)),
               us(histogram_quantile(m, p + "transfer_latency_seconds", 0.99)),
               1e6 * get(p + "transfer_latency_seconds_sum") / count, count);
  }
}

}  // namespace

Subcommand register_stats(CLI::App& root) {
  auto* stats = root.add_subcommand("stats", "show the dispatcher's metrics");
  struct Args {
    std::string config, endpoint;
    bool raw = false;
  };
  auto args = std::make_shared<Args>();
  stats->add_option("config", args->config, "cluster config (TOML): reads dispatcher.metrics from it");
  stats->add_option("--endpoint", args->endpoint, "metrics endpoint host:port (default 127.0.0.1:9443)");
  stats->add_flag("--raw", args->raw, "print the Prometheus text as is");
  return {stats, [args] {
            config::Endpoint ep{"127.0.0.1", 9443};
            if (!args->config.empty()) ep = config::load_cluster_config(args->config).dispatcher.metrics;
            if (!args->endpoint.empty()) {
              auto e = config::parse_endpoint(args->endpoint);
              if (!e) throw std::invalid_argument(fmt::format("--endpoint '{}' is not host:port", args->endpoint));
              ep = *e;
            }
            auto text = http_get(ep, "/metrics");
            if (args->raw) fmt::print("{}", text);
            else summary(parse(text));
            return 0;
          }};
}

}  // namespace sessnic::cli
