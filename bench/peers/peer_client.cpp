// peer_client: the one neutral load client of the peer benchmark (issue 14, docs/benchmarks.md
// "Peers"). Plain OpenSSL over blocking loopback sockets, nothing of sessnic linked in, so every
// system under test (HAProxy -> nginx, HAProxy -> Apache + memcached, sessnic-dispatch ->
// sessnic-server, HAProxy -> sessnic-server) meets exactly the same client.
//
// Each system is one front end address; the SNI names the back end ("a", "b", "c" names route to
// servers 1, 2, 3 in every system). Three measurements, all systems interleaved in one process:
//   change      1 client: full handshake on server X, then, timed, TCP connect + handshake on
//               server Y offering that session (the "server change"); resumed or not.
//   saturation  N client threads, each changing server on every connection and offering its
//               latest session, for S seconds: completed connections per second.
//   added       the same back end reached directly and through each front end: TCP connect +
//               resumed handshake on the server that issued the session (nothing to move).
// With --cpu, each saturation window also records the CPU time (user + system, from /proc) of
// the system's processes and their descendants, and of this client, so the figures can say
// what one handshake costs each process (docs/benchmarks.md, "CPU per handshake").
// Every connection sends `GET / HTTP/1.0` and reads the whole answer (a TLS 1.3 server's stateful
// ticket arrives there) and must get `200`; anything else counts as a failure, never as a sample.
// Raw samples go to one JSON file; bench/peers/peer_figures.py turns them into figures.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
struct SessionFree {
  void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

// A socket closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

struct Endpoint {
  std::string name;
  sockaddr_in addr{};
  bool proxy_v2 = false;  // the client itself sends a PROXY v2 header (a back end reached directly)
};

// NAME=IP:PORT[+proxy]
Endpoint parse_endpoint(const std::string& spec) {
  Endpoint e;
  auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) throw std::invalid_argument("'" + spec + "': want NAME=IP:PORT[+proxy]");
  e.name = spec.substr(0, eq);
  std::string rest = spec.substr(eq + 1);
  if (rest.size() > 6 && rest.substr(rest.size() - 6) == "+proxy") {
    e.proxy_v2 = true;
    rest.resize(rest.size() - 6);
  }
  auto colon = rest.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("'" + spec + "': no port");
  e.addr.sin_family = AF_INET;
  if (inet_pton(AF_INET, rest.substr(0, colon).c_str(), &e.addr.sin_addr) != 1)
    throw std::invalid_argument("'" + spec + "': not an IPv4 address");
  int port = std::stoi(rest.substr(colon + 1));
  if (port <= 0 || port > 65535) throw std::invalid_argument("'" + spec + "': bad port");
  e.addr.sin_port = htons(static_cast<uint16_t>(port));
  return e;
}

// PROXY protocol v2 (binary, PROXY command, TCP over IPv4) naming the socket's own addresses:
// what HAProxy's send-proxy-v2 and sessnic-dispatch send, so a server that requires the header
// can be reached directly.
bool send_proxy_v2(int fd) {
  sockaddr_in src{}, dst{};
  socklen_t len = sizeof src;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&src), &len) != 0) return false;
  len = sizeof dst;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&dst), &len) != 0) return false;
  unsigned char h[28] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
                         0x21, 0x11, 0x00, 0x0C};
  std::memcpy(h + 16, &src.sin_addr, 4);
  std::memcpy(h + 20, &dst.sin_addr, 4);
  std::memcpy(h + 24, &src.sin_port, 2);
  std::memcpy(h + 26, &dst.sin_port, 2);
  return ::send(fd, h, sizeof h, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof h);
}

int connect_to(const Endpoint& e, int timeout_ms) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  // On Linux SO_SNDTIMEO bounds connect() too, so a full accept queue cannot hang a client.
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&e.addr), sizeof e.addr) != 0 ||
      (e.proxy_v2 && !send_proxy_v2(fd))) {
    ::close(fd);
    return -1;
  }
  return fd;
}

enum class Tls { v12, v13 };
const char* tls_name(Tls t) { return t == Tls::v12 ? "1.2" : "1.3"; }

// One client SSL_CTX per TLS version: no certificate verification (every system gets the same
// self-signed certificate; verifying is client cost that does not differ between them), one
// cipher suite and one group for everybody, no client-side session cache (the client hands its
// session over explicitly).
CtxPtr make_ctx(Tls tls) {
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw std::runtime_error("SSL_CTX_new failed");
  int v = tls == Tls::v12 ? TLS1_2_VERSION : TLS1_3_VERSION;
  SSL_CTX_set_min_proto_version(ctx.get(), v);
  SSL_CTX_set_max_proto_version(ctx.get(), v);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  // HTTP/1.0 answers end with the connection; a server that closes without close_notify then
  // reads as the end (SSL_ERROR_ZERO_RETURN), and SSL_ERROR_SYSCALL is left for real errors
  // such as a receive timeout, which must not pass as a complete answer.
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (SSL_CTX_set_cipher_list(ctx.get(), "ECDHE-RSA-AES128-GCM-SHA256") != 1 ||
      SSL_CTX_set_ciphersuites(ctx.get(), "TLS_AES_128_GCM_SHA256") != 1 ||
      SSL_CTX_set1_groups_list(ctx.get(), "X25519") != 1)
    throw std::runtime_error("client cipher/group settings refused");
  return ctx;
}

struct Outcome {
  bool ok = false;
  bool resumed = false;
  double setup_us = 0;   // TCP connect + TLS handshake, client side
  std::string error;
  SessionPtr session;    // the session to offer next (TLS 1.3: the ticket read with the answer)
};

// One connection: connect, handshake offering `offer`, GET /, read the answer to the end.
Outcome one_connection(SSL_CTX* ctx, const Endpoint& e, const std::string& sni, SSL_SESSION* offer, int timeout_ms) {
  Outcome out;
  auto t0 = Clock::now();
  Fd fd(connect_to(e, timeout_ms));
  if (fd.get() < 0) {
    out.error = "connect";
    return out;
  }
  SslPtr ssl(SSL_new(ctx));
  if (!ssl) {
    out.error = "SSL_new";
    return out;
  }
  SSL_set_fd(ssl.get(), fd.get());
  SSL_set_tlsext_host_name(ssl.get(), sni.c_str());
  if (offer) SSL_set_session(ssl.get(), offer);
  if (SSL_connect(ssl.get()) != 1) {
    out.error = "handshake";
    ERR_clear_error();
    return out;
  }
  out.setup_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  out.resumed = SSL_session_reused(ssl.get()) == 1;

  std::string req = "GET / HTTP/1.0\r\nHost: " + sni + "\r\n\r\n";
  if (SSL_write(ssl.get(), req.data(), static_cast<int>(req.size())) != static_cast<int>(req.size())) {
    out.error = "write";
    ERR_clear_error();
    return out;
  }
  std::string answer;
  char buf[4096];
  for (;;) {
    int n = SSL_read(ssl.get(), buf, sizeof buf);
    if (n > 0) {
      if (answer.size() < 64) answer.append(buf, static_cast<size_t>(n));
      continue;
    }
    int err = SSL_get_error(ssl.get(), n);
    ERR_clear_error();
    if (err == SSL_ERROR_ZERO_RETURN) break;  // HTTP/1.0: the server ends the answer by closing
    out.error = "read";
    return out;
  }
  if (answer.rfind("HTTP/1.", 0) != 0 || answer.size() < 12 || answer.compare(9, 3, "200") != 0) {
    out.error = "answer";
    return out;
  }
  SSL_shutdown(ssl.get());
  SSL_SESSION* s = SSL_get1_session(ssl.get());
  if (s && SSL_SESSION_is_resumable(s)) {
    out.session.reset(s);
  } else if (s) {
    SSL_SESSION_free(s);
  }
  out.ok = true;
  return out;
}

// --cpu SYSTEM:PART=PID[,PID...]: processes whose CPU time counts as PART of SYSTEM.
struct CpuWatch {
  std::string system, part;
  std::vector<int> pids;
};

struct Options {
  std::vector<CpuWatch> cpu;
  std::vector<Endpoint> systems;
  std::vector<Endpoint> added;
  std::vector<std::string> sni;
  std::vector<Tls> versions{Tls::v12, Tls::v13};
  int reps = 3;
  int change_samples = 100;
  int added_samples = 100;
  double sat_seconds = 5;
  int sat_clients = 32;
  int timeout_ms = 10000;
  std::string out;
};

using json = nlohmann::json;

// The "change" measurement of one sample on one system: a session from server i, offered to
// server i+1 (so consecutive samples rotate over the three servers).
void change_sample(SSL_CTX* ctx, const Options& o, const Endpoint& e, int i, json& rec) {
  const auto& from = o.sni[static_cast<size_t>(i) % o.sni.size()];
  const auto& to = o.sni[static_cast<size_t>(i + 1) % o.sni.size()];
  Outcome first = one_connection(ctx, e, from, nullptr, o.timeout_ms);
  if (!first.ok || !first.session) {
    rec["failures"] = rec["failures"].get<int>() + 1;
    rec["errors"].push_back("first:" + (first.ok ? std::string("no session") : first.error));
    return;
  }
  rec["full_us"].push_back(first.setup_us);
  Outcome change = one_connection(ctx, e, to, first.session.get(), o.timeout_ms);
  if (!change.ok) {
    rec["failures"] = rec["failures"].get<int>() + 1;
    rec["errors"].push_back("change:" + change.error);
    return;
  }
  rec["change_us"].push_back(change.setup_us);
  rec["change_resumed"].push_back(change.resumed ? 1 : 0);
}

json new_change_record() {
  return json{{"full_us", json::array()}, {"change_us", json::array()}, {"change_resumed", json::array()},
              {"failures", 0}, {"errors", json::array()}};
}

// User + system CPU seconds of `pid` and every descendant alive now (/proc/PID/stat, clock
// ticks: exited threads of a live process are included, exited child processes are not).
// A pid that is gone counts 0.
double tree_cpu_seconds(int pid) {
  static const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i)  // fields 14 and 15: utime, stime
    if (i >= 14) ticks += std::stod(f);
  double total = ticks / tick;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream children(task.path() / "children");
    for (int child; children >> child;) total += tree_cpu_seconds(child);
  }
  return total;
}

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// CPU seconds now of this client ("client") and of each watched part of `system`.
std::vector<std::pair<std::string, double>> cpu_now(const Options& o, const std::string& system) {
  std::vector<std::pair<std::string, double>> now{{"client", self_cpu_seconds()}};
  for (const auto& w : o.cpu) {
    if (w.system != system) continue;
    double s = 0;
    for (int pid : w.pids) s += tree_cpu_seconds(pid);
    now.emplace_back(w.part, s);
  }
  return now;
}

// Saturation on one system: `clients` threads, each on its own chain of server changes.
json saturation(SSL_CTX* ctx, const Options& o, const Endpoint& e) {
  struct PerThread {
    long done = 0, resumed = 0, offered = 0, failures = 0;
  };
  std::vector<PerThread> per(static_cast<size_t>(o.sat_clients));
  std::atomic<bool> stop{false};
  const auto cpu_before = cpu_now(o, e.name);
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.sat_seconds));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.sat_clients; ++t) {
    threads.emplace_back([&, t] {
      auto& me = per[static_cast<size_t>(t)];
      SessionPtr session;
      size_t k = static_cast<size_t>(t);
      while (!stop.load(std::memory_order_relaxed)) {
        const auto& sni = o.sni[k++ % o.sni.size()];
        bool offered = session != nullptr;
        Outcome r = one_connection(ctx, e, sni, session.get(), o.timeout_ms);
        if (Clock::now() > deadline) break;  // finished after the window: not counted
        if (!r.ok) {
          ++me.failures;
          session.reset();
          continue;
        }
        ++me.done;
        if (offered) ++me.offered;
        if (r.resumed) ++me.resumed;
        session = std::move(r.session);
      }
    });
  }
  std::this_thread::sleep_until(deadline);
  stop = true;
  for (auto& th : threads) th.join();
  // Connections still open at the deadline finish before the join: their CPU counts, they
  // do not (at most one per client thread).
  const auto cpu_after = cpu_now(o, e.name);
  json cpu_us = json::object();
  for (size_t i = 0; i < cpu_after.size(); ++i)
    cpu_us[cpu_after[i].first] = (cpu_after[i].second - cpu_before[i].second) * 1e6;
  PerThread sum;
  for (auto& p : per) {
    sum.done += p.done;
    sum.resumed += p.resumed;
    sum.offered += p.offered;
    sum.failures += p.failures;
  }
  return json{{"handshakes", sum.done},     {"resumed", sum.resumed},   {"offered", sum.offered},
              {"failures", sum.failures},   {"seconds", o.sat_seconds},
              {"hs_per_s", static_cast<double>(sum.done) / o.sat_seconds}, {"cpu_us", cpu_us}};
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (;;) {
    auto next = s.find(sep, pos);
    out.push_back(s.substr(pos, next - pos));
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return out;
}

int run(const Options& o) {
  json result;
  result["config"] = {{"reps", o.reps},           {"change_samples", o.change_samples},
                      {"added_samples", o.added_samples}, {"sat_seconds", o.sat_seconds},
                      {"sat_clients", o.sat_clients}, {"sni", o.sni}};
  for (const auto& e : o.systems) result["config"]["systems"].push_back(e.name);
  for (const auto& e : o.added) result["config"]["added"].push_back(e.name);

  json& change = result["change"];
  json& sat = result["saturation"];
  json& added = result["added"];
  for (Tls v : o.versions) {
    for (const auto& e : o.systems) {
      change[e.name][tls_name(v)] = new_change_record();
      sat[e.name][tls_name(v)] = json::array();
    }
    for (const auto& e : o.added)
      added[e.name][tls_name(v)] = json{{"us", json::array()}, {"resumed", 0}, {"failures", 0}};
  }

  for (int rep = 0; rep < o.reps; ++rep) {
    for (Tls v : o.versions) {
      CtxPtr ctx = make_ctx(v);
      const char* tn = tls_name(v);
      // Change latency: one sample per system per round, the systems in turn.
      std::vector<size_t> samples_before;
      std::vector<int> failures_before;
      for (const auto& e : o.systems) {
        samples_before.push_back(change[e.name][tn]["change_us"].size());
        failures_before.push_back(change[e.name][tn]["failures"].get<int>());
      }
      for (int i = 0; i < o.change_samples; ++i)
        for (const auto& e : o.systems) change_sample(ctx.get(), o, e, rep * o.change_samples + i, change[e.name][tn]);
      for (size_t k = 0; k < o.systems.size(); ++k) {
        const auto& r = change[o.systems[k].name][tn];
        long resumed = 0;
        for (size_t x = samples_before[k]; x < r["change_resumed"].size(); ++x) resumed += r["change_resumed"][x].get<int>();
        std::printf("rep %d TLS %s change     %-18s %4zu server changes, %4ld resumed, %d failures\n", rep + 1, tn,
                    o.systems[k].name.c_str(), r["change_us"].size() - samples_before[k], resumed,
                    r["failures"].get<int>() - failures_before[k]);
      }
      std::fflush(stdout);

      // Front-end added latency: a session of server 1, resumed on server 1 by every path in turn
      // (the order rotates so no path always goes first after a pause). One round = one sample
      // per path, back to back, kept together so the figures can pair them (rounds[tls]).
      if (!o.added.empty()) {
        std::vector<SessionPtr> sessions(o.added.size());
        json& rounds = result["added_rounds"][tn];
        if (rounds.is_null()) rounds = json::array();
        size_t rounds_before = rounds.size();
        for (int i = 0; i < o.added_samples; ++i) {
          json row = json::array();
          for (size_t p = 0; p < o.added.size(); ++p) row.push_back(nullptr);
          for (size_t j = 0; j < o.added.size(); ++j) {
            size_t p = (j + static_cast<size_t>(i)) % o.added.size();
            const auto& e = o.added[p];
            json& rec = added[e.name][tn];
            if (!sessions[p]) {
              Outcome first = one_connection(ctx.get(), e, o.sni[0], nullptr, o.timeout_ms);
              if (!first.ok || !first.session) {
                rec["failures"] = rec["failures"].get<int>() + 1;
                continue;
              }
              sessions[p] = std::move(first.session);
            }
            Outcome r = one_connection(ctx.get(), e, o.sni[0], sessions[p].get(), o.timeout_ms);
            if (!r.ok) {
              rec["failures"] = rec["failures"].get<int>() + 1;
              sessions[p].reset();
              continue;
            }
            if (!r.resumed) {
              // Not the measurement (a full handshake); start from this new session.
              rec["not_resumed"] = rec.value("not_resumed", 0) + 1;
              sessions[p] = std::move(r.session);
              continue;
            }
            rec["us"].push_back(r.setup_us);
            rec["resumed"] = rec["resumed"].get<int>() + 1;
            row[p] = r.setup_us;
            if (r.session) sessions[p] = std::move(r.session);
          }
          rounds.push_back(std::move(row));
        }
        for (size_t p = 0; p < o.added.size(); ++p) {
          size_t n = 0;
          for (size_t k = rounds_before; k < rounds.size(); ++k) n += rounds[k][p].is_null() ? 0 : 1;
          std::printf("rep %d TLS %s added      %-18s %4zu resumed samples\n", rep + 1, tn, o.added[p].name.c_str(), n);
        }
        std::fflush(stdout);
      }

      // Saturation: each system for the same window, in turn.
      if (o.sat_seconds > 0) {
        for (const auto& e : o.systems) {
          json r = saturation(ctx.get(), o, e);
          std::printf("rep %d TLS %s saturation %-18s %8.1f hs/s (%ld handshakes, %ld resumed of %ld offered, %ld failures)\n",
                      rep + 1, tn, e.name.c_str(), r["hs_per_s"].get<double>(), r["handshakes"].get<long>(),
                      r["resumed"].get<long>(), r["offered"].get<long>(), r["failures"].get<long>());
          std::fflush(stdout);
          sat[e.name][tn].push_back(std::move(r));
        }
      }
    }
  }
  std::ofstream f(o.out);
  f << result.dump(1) << "\n";
  if (!f) {
    std::fprintf(stderr, "peer_client: cannot write %s\n", o.out.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"peer_client: the neutral TLS load client of the peer benchmark"};
  Options o;
  std::vector<std::string> systems, added, cpu;
  std::string sni = "a.peers.test,b.peers.test,c.peers.test";
  std::string tls = "1.2,1.3";
  app.add_option("--system", systems, "NAME=IP:PORT of a front end (repeat; driven in this order, round by round)");
  app.add_option("--added", added, "NAME=IP:PORT[+proxy] of a path to server 1 for the added-latency measurement");
  app.add_option("--cpu", cpu,
                 "SYSTEM:PART=PID[,PID...]: count these processes' CPU (and their children's) as PART of "
                 "SYSTEM in its saturation windows (repeat)");
  app.add_option("--sni", sni, "comma-separated names routing to servers 1, 2, 3");
  app.add_option("--tls", tls, "TLS versions to measure: 1.2, 1.3 or 1.2,1.3");
  app.add_option("--reps", o.reps, "repetitions")->check(CLI::Range(1, 100));
  app.add_option("--change-samples", o.change_samples, "server changes per system, TLS version and repetition")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--added-samples", o.added_samples, "added-latency samples per path, TLS version and repetition")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--sat-seconds", o.sat_seconds, "saturation window per system, TLS version and repetition (0: skip)")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--sat-clients", o.sat_clients, "concurrent clients at saturation")->check(CLI::Range(1, 1024));
  app.add_option("--timeout-ms", o.timeout_ms, "per-socket-operation timeout")->check(CLI::Range(100, 120000));
  app.add_option("--out", o.out, "where to write the raw samples (JSON)")->required();
  CLI11_PARSE(app, argc, argv);
  try {
    for (const auto& s : systems) o.systems.push_back(parse_endpoint(s));
    for (const auto& s : added) o.added.push_back(parse_endpoint(s));
    for (const auto& s : cpu) {
      const auto colon = s.find(':'), eq = s.find('=');
      if (colon == std::string::npos || eq == std::string::npos || colon == 0 || eq < colon + 2 || eq + 1 == s.size())
        throw std::invalid_argument("--cpu '" + s + "': want SYSTEM:PART=PID[,PID...]");
      CpuWatch w{s.substr(0, colon), s.substr(colon + 1, eq - colon - 1), {}};
      if (w.part == "client") throw std::invalid_argument("--cpu '" + s + "': 'client' is this process");
      for (const auto& p : split(s.substr(eq + 1), ',')) {
        int pid = 0;
        const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), pid);
        if (ec != std::errc() || end != p.data() + p.size() || pid <= 0) throw std::invalid_argument("--cpu '" + s + "': '" + p + "' is not a pid");
        w.pids.push_back(pid);
      }
      o.cpu.push_back(std::move(w));
    }
    o.sni = split(sni, ',');
    for (const auto& s : o.sni)
      if (s.empty()) throw std::invalid_argument("--sni: empty name");
    o.versions.clear();
    for (const auto& v : split(tls, ',')) {
      if (v == "1.2") o.versions.push_back(Tls::v12);
      else if (v == "1.3") o.versions.push_back(Tls::v13);
      else throw std::invalid_argument("--tls: '" + v + "' is not 1.2 or 1.3");
    }
    if (o.systems.empty() && o.added.empty()) throw std::invalid_argument("nothing to drive: give --system or --added");
    return run(o);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "peer_client: %s\n", ex.what());
    return 2;
  }
}
