// bench_server: does a crowd of idle keep-alive connections slow a new client down?
// A real sessnic-server process (2 I/O threads, no backplane) on loopback; a new request
// is TCP connect + full TLS 1.3 handshake (RSA-2048 test certificate) + GET / + the whole
// response, timed by the client. Measured first with no other connection open, then with
// 10,000 idle keep-alive connections held open (fewer if the open-file hard limit is
// lower; the count is reported). Also the server's resident memory per idle connection,
// and the server's CPU time per resumed handshake (a second server process with the
// default settings; one client at a time, each connection resumed, GET /, closed): the
// sum of its threads' on-CPU time (/proc/<pid>/task/*/schedstat, nanoseconds), which a
// busy machine disturbs far less than wall time.
// Writes $SESSNIC_BENCH_PARTS/server.json when that variable is set.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "idle_connections.hpp"
#include "server_process.hpp"
#include "tls_test_support.hpp"

using namespace sessnic::servertest;
using namespace std::chrono_literals;

namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// Latency of `n` new requests, in microseconds; failures are counted, not timed.
std::vector<double> new_requests(uint16_t port, SSL_CTX* ctx, int n, int& failures) {
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    std::string err;
    auto c = HttpsClient::connect(port, ctx, "localhost", nullptr, 5s, &err);
    auto r = c ? c->get("/") : std::nullopt;
    auto t1 = std::chrono::steady_clock::now();
    if (!r || r->status != 200) {
      ++failures;
      continue;
    }
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return us;
}

long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

// Nanoseconds the process's threads have run on a CPU (all threads, also those ended).
uint64_t cpu_ns(pid_t pid) {
  uint64_t sum = 0;
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream f(t.path() / "schedstat");
    uint64_t ns = 0;
    if (f >> ns) sum += ns;
  }
  return sum;
}

struct ResumedCost {
  double cpu_us = 0;  // server CPU per resumed connection
  int resumed = 0, failures = 0;
};

// `n` connections, each resuming the session of the one before, GET / each.
ResumedCost resumed_cpu(const ServerProcess& server, int version, int n) {
  auto ctx = sessnic::testtls::make_client_ctx(version);
  ResumedCost out;
  sessnic::SslSessionPtr session;
  auto one = [&] {
    std::string err;
    auto c = HttpsClient::connect(server.port(), ctx.get(), "localhost", session.get(), 5s, &err);
    auto r = c ? c->get("/") : std::nullopt;
    if (!r || r->status != 200) {
      ++out.failures;
      return false;
    }
    if (c->resumed()) ++out.resumed;
    sessnic::SslSessionPtr next(c->session());
    if (next) session = std::move(next);
    return true;
  };
  for (int i = 0; i < 50; ++i) one();  // the first is full; warm-up
  out.resumed = 0;
  const uint64_t before = cpu_ns(server.pid());
  for (int i = 0; i < n; ++i) one();
  const uint64_t used = cpu_ns(server.pid()) - before;
  out.cpu_us = out.resumed ? static_cast<double>(used) / 1000.0 / out.resumed : 0;
  return out;
}

}  // namespace

int main() {
  const size_t idle_target = std::min<size_t>(10000, fd_budget());
  ServerProcessOptions o;
  o.server_fields = fmt::format("max_connections = {}\nidle_timeout_ms = 600000\n", idle_target + 100);
  ServerProcess server(o);
  auto ctx = sessnic::testtls::make_client_ctx(TLS1_3_VERSION);
  const int samples = 200;
  int failures = 0;

  new_requests(server.port(), ctx.get(), 20, failures);  // warm-up
  auto base = new_requests(server.port(), ctx.get(), samples, failures);
  long rss_before = rss_kib(server.pid());

  auto t0 = std::chrono::steady_clock::now();
  IdleConnections idle(server.port(), idle_target);
  double open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!idle.error().empty()) fmt::print(stderr, "idle connections: {}\n", idle.error());
  long rss_after = rss_kib(server.pid());
  auto loaded = new_requests(server.port(), ctx.get(), samples, failures);
  size_t still = idle.probe(100);

  double b50 = percentile(base, 0.5), b99 = percentile(base, 0.99);
  double l50 = percentile(loaded, 0.5), l99 = percentile(loaded, 0.99);
  double per_conn = idle.size() ? (rss_after - rss_before) * 1024.0 / static_cast<double>(idle.size()) : 0;
  fmt::print("new request (connect + full TLS 1.3 handshake + GET), {} samples each:\n", samples);
  fmt::print("  no other connection          p50 {:8.1f} us   p99 {:8.1f} us\n", b50, b99);
  fmt::print("  {:5} idle keep-alive open    p50 {:8.1f} us   p99 {:8.1f} us\n", idle.size(), l50, l99);
  fmt::print("idle connections opened in {:.1f} s; {} of {} probed still answer; server RSS +{:.0f} bytes each\n",
             open_s, still, (idle.size() + 99) / 100, per_conn);
  fmt::print("failed new requests: {}\n", failures);
  server.stop();

  ServerProcessOptions defaults;
  defaults.threads = 0;  // the server's default
  ServerProcess plain(defaults);
  constexpr int kResumed = 1000;
  const ResumedCost r12 = resumed_cpu(plain, TLS1_2_VERSION, kResumed);
  const ResumedCost r13 = resumed_cpu(plain, TLS1_3_VERSION, kResumed);
  fmt::print("server CPU per resumed connection (GET /), default settings, {} connections: TLS 1.2 {:.1f} us ({} "
             "resumed), TLS 1.3 {:.1f} us ({} resumed)\n",
             kResumed, r12.cpu_us, r12.resumed, r13.cpu_us, r13.resumed);
  failures += r12.failures + r13.failures + (kResumed - r12.resumed) + (kResumed - r13.resumed);

  if (const char* dir = std::getenv("SESSNIC_BENCH_PARTS")) {
    std::ofstream(std::string(dir) + "/server.json") << fmt::format(
        "{{\"server_idle_conns\": {}, \"server_new_request_p50_us\": {:.1f}, \"server_new_request_p99_us\": {:.1f}, "
        "\"server_idle_conns_new_request_p50_us\": {:.1f}, \"server_idle_conns_new_request_p99_us\": {:.1f}, "
        "\"server_idle_conn_rss_bytes\": {:.0f}, \"server_new_request_failures\": {}, "
        "\"server_resumed_cpu_us_tls12\": {:.1f}, \"server_resumed_cpu_us_tls13\": {:.1f}}}\n",
        idle.size(), b50, b99, l50, l99, per_conn, failures, r12.cpu_us, r13.cpu_us);
  }
  return failures == 0 && idle.size() == idle_target ? 0 : 1;
}
