// Server-side CPU per resumed handshake: sessnic (model device, sealed entries) vs
// OpenSSL's internal session cache, interleaved in one run so both arms see the same
// machine load. Also full vs resumed (TLS 1.2, internal cache) for the record.
//
// CPU time is the server thread's (CLOCK_THREAD_CPUTIME_ID) inside the server's SSL
// calls only (SSL_new, handshake, shutdown, SSL_free); the client runs in the same
// thread but is not counted. Figures are medians of per-handshake samples.
//
// Reading that clock is a system call (~0.5 us of thread CPU per measured window on the
// build VM, five windows per resumed handshake): the same constant in both arms, which
// pulls the ratio towards 1 and so flattered sessnic. The median CPU time of an empty
// window is measured at start and subtracted once per window.
//
// Writes $SESSNIC_BENCH_PARTS/openssl.json:
//   resume_cost_ratio_tls12, resume_cost_ratio_tls13  (sessnic / internal cache)
//   full_over_resumed_tls12
//
// `bench_resume --instructions [N]`, run under `valgrind --tool=callgrind
// --collect-atstart=no --toggle-collect='*on_server_side*'` (bench/openssl/
// resume_instructions.py does that): the same arms, N resumed handshakes each, one
// callgrind dump per arm and version (sessnic_tls12, internal_tls12, ...) holding only
// the server's instructions of those N handshakes. Instruction counts do not depend
// on the machine's load.
#include <algorithm>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sessnic/attach.hpp"
#include "sessnic/open_device.hpp"
#include "tls_test_support.hpp"

#if SESSNIC_HAVE_CALLGRIND
#include <valgrind/callgrind.h>
#endif

namespace {

using sessnic::testtls::handshake;

double median_us(std::vector<uint64_t> ns) {
  std::sort(ns.begin(), ns.end());
  return ns.empty() ? 0.0 : static_cast<double>(ns[ns.size() / 2]) / 1000.0;
}

// OpenSSL's own cache, configured like attach() configures sessnic (stateful tickets,
// one ticket per handshake) so only the cache differs.
sessnic::SslCtxPtr internal_cache_server(int version) {
  auto ctx = sessnic::testtls::make_server_ctx(version);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx.get(), 1);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_SERVER);
  return ctx;
}

// Median thread CPU time between two back-to-back clock reads: what each measured window
// adds on its own.
uint64_t empty_window_ns() {
  const auto now = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
  };
  std::vector<uint64_t> w(20001);
  for (auto& d : w) {
    const uint64_t t0 = now();
    d = now() - t0;
  }
  std::nth_element(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(w.size() / 2), w.end());
  return w[w.size() / 2];
}

struct Arm {
  SSL_CTX* server;
  sessnic::SslSessionPtr session;
  std::vector<uint64_t> samples;
  uint64_t server_calls = 0;  // SSL calls the samples cover (each costs its clock reads)
};

// One resumed handshake on `arm`; the client then holds the session it got back (TLS 1.3
// hands out a fresh single-use ticket each time).
bool resume_once(SSL_CTX* client, Arm& arm, uint64_t window_ns) {
  auto r = handshake(client, arm.server, arm.session.get());
  if (!r.ok || !r.reused_server) {
    fmt::print(stderr, "bench_resume: resumption failed: {}\n", r.ok ? "not reused" : r.error);
    return false;
  }
  const uint64_t overhead = window_ns * r.server_calls;
  arm.samples.push_back(r.server_cpu_ns > overhead ? r.server_cpu_ns - overhead : 0);
  arm.server_calls += r.server_calls;
  arm.session = std::move(r.client_session);
  return true;
}

struct Pair {
  double sessnic_us, internal_us;
  double ratio() const { return sessnic_us / internal_us; }
};

// Both arms of one TLS version, each with its session after a full handshake and 50
// resumptions of warm-up (not recorded).
struct Arms {
  sessnic::SslCtxPtr client, with_sessnic, internal;
  std::unique_ptr<sessnic::Attachment> attachment;
  Arm arms[2];  // [0] sessnic, [1] internal cache
};

std::unique_ptr<Arms> make_arms(int version, sessnic::Device& device, const sessnic::Sealer& sealer) {
  auto a = std::make_unique<Arms>();
  a->client = sessnic::testtls::make_client_ctx(TLS1_3_VERSION);
  a->with_sessnic = sessnic::testtls::make_server_ctx(version);
  sessnic::AttachOptions ao;
  ao.sealer = &sealer;
  ao.service = "bench";
  a->attachment = sessnic::attach(a->with_sessnic.get(), device, ao);
  a->internal = internal_cache_server(version);
  a->arms[0] = {a->with_sessnic.get(), nullptr, {}};
  a->arms[1] = {a->internal.get(), nullptr, {}};
  for (Arm& arm : a->arms) {
    auto r = handshake(a->client.get(), arm.server);
    if (!r.ok) {
      fmt::print(stderr, "bench_resume: full handshake failed: {}\n", r.error);
      std::exit(1);
    }
    arm.session = std::move(r.client_session);
    for (int i = 0; i < 50; ++i)  // warm-up, not recorded
      if (!resume_once(a->client.get(), arm, 0)) std::exit(1);
    arm.samples.clear();
    arm.server_calls = 0;
  }
  return a;
}

Pair compare(int version, unsigned rounds, uint64_t window_ns, sessnic::Device& device, const sessnic::Sealer& sealer) {
  auto a = make_arms(version, device, sealer);
  for (unsigned i = 0; i < rounds; ++i) {
    // Alternate which arm goes first so neither always runs on a warmer cache.
    Arm& first = a->arms[i & 1];
    Arm& second = a->arms[(i & 1) ^ 1];
    if (!resume_once(a->client.get(), first, window_ns) || !resume_once(a->client.get(), second, window_ns)) std::exit(1);
  }
  fmt::print("  TLS {}: sessnic {}\n", version == TLS1_3_VERSION ? "1.3" : "1.2", a->attachment->counters());
  for (const Arm& arm : a->arms)
    fmt::print("  {}: {:.2f} server SSL calls per handshake\n", &arm == &a->arms[0] ? "sessnic" : "internal",
               static_cast<double>(arm.server_calls) / static_cast<double>(arm.samples.size()));
  return {median_us(a->arms[0].samples), median_us(a->arms[1].samples)};
}

// --instructions: see the top of the file.
int instructions(unsigned n, sessnic::Device& device, const sessnic::Sealer& sealer) {
#if SESSNIC_HAVE_CALLGRIND
  if (RUNNING_ON_VALGRIND == 0) {
    fmt::print(stderr, "bench_resume --instructions: run it under valgrind --tool=callgrind "
                       "(bench/openssl/resume_instructions.py)\n");
    return 2;
  }
  for (const int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto a = make_arms(version, device, sealer);
    for (int i = 0; i < 2; ++i) {
      const std::string label =
          fmt::format("{}_tls{}", i == 0 ? "sessnic" : "internal", version == TLS1_3_VERSION ? 13 : 12);
      CALLGRIND_ZERO_STATS;
      for (unsigned k = 0; k < n; ++k)
        if (!resume_once(a->client.get(), a->arms[i], 0)) return 1;
      CALLGRIND_DUMP_STATS_AT(label.c_str());
    }
  }
  fmt::print("bench_resume --instructions: {} resumed handshakes per arm and version\n", n);
  return 0;
#else
  (void)n, (void)device, (void)sealer;
  fmt::print(stderr, "bench_resume --instructions: built without valgrind/callgrind.h\n");
  return 2;
#endif
}

double full_over_resumed_tls12(unsigned rounds, uint64_t window_ns) {
  auto client = sessnic::testtls::make_client_ctx(TLS1_2_VERSION);
  auto server = internal_cache_server(TLS1_2_VERSION);
  std::vector<uint64_t> full, resumed;
  auto r = handshake(client.get(), server.get());
  sessnic::SslSessionPtr session = std::move(r.client_session);
  for (unsigned i = 0; i < rounds; ++i) {
    auto f = handshake(client.get(), server.get());
    auto s = handshake(client.get(), server.get(), session.get());
    if (!f.ok || f.reused_server || !s.ok || !s.reused_server) {
      fmt::print(stderr, "bench_resume: full/resumed pair failed\n");
      std::exit(1);
    }
    full.push_back(f.server_cpu_ns - std::min(f.server_cpu_ns, window_ns * f.server_calls));
    resumed.push_back(s.server_cpu_ns - std::min(s.server_cpu_ns, window_ns * s.server_calls));
  }
  const double f_us = median_us(full), r_us = median_us(resumed);
  fmt::print("  TLS 1.2 server CPU: full {:.1f} us, resumed {:.1f} us\n", f_us, r_us);
  return f_us / r_us;
}

}  // namespace

int main(int argc, char** argv) {
  (void)sessnic::testtls::identity();  // key generation outside any measurement
  sessnic::DeviceConfig cfg;           // the production geometry (ModelTable)
  cfg.card_id = 1;
  cfg.prefault = true;  // steady state: a long-running server has touched its table pages
  auto device = sessnic::make_model_device(cfg);
  std::array<uint8_t, 32> key{};
  key.fill(0x5e);
  const sessnic::Sealer sealer(sessnic::Keyring(sessnic::ClusterKey(1, key)));
  if (argc >= 2 && std::string(argv[1]) == "--instructions")
    return instructions(argc >= 3 ? static_cast<unsigned>(std::strtoul(argv[2], nullptr, 10)) : 200, *device, sealer);

  constexpr unsigned kRounds = 3000;
  const uint64_t window_ns = empty_window_ns();
  fmt::print("bench_resume: server CPU per resumed handshake, median of {} interleaved pairs; {} ns of clock reads "
             "subtracted per measured server call\n",
             kRounds, window_ns);
  const Pair t12 = compare(TLS1_2_VERSION, kRounds, window_ns, *device, sealer);
  const Pair t13 = compare(TLS1_3_VERSION, kRounds, window_ns, *device, sealer);
  fmt::print("  TLS 1.2: sessnic {:.1f} us, internal cache {:.1f} us, ratio {:.3f}\n", t12.sessnic_us,
             t12.internal_us, t12.ratio());
  fmt::print("  TLS 1.3: sessnic {:.1f} us, internal cache {:.1f} us, ratio {:.3f}\n", t13.sessnic_us,
             t13.internal_us, t13.ratio());
  const double full_ratio = full_over_resumed_tls12(300, window_ns);
  fmt::print("  full_over_resumed_tls12 {:.2f}\n", full_ratio);

  const std::string json = fmt::format(
      "{{\"resume_cost_ratio_tls12\": {:.4f}, \"resume_cost_ratio_tls13\": {:.4f}, \"full_over_resumed_tls12\": "
      "{:.3f}}}\n",
      t12.ratio(), t13.ratio(), full_ratio);
  fmt::print("{}", json);
  if (const char* dir = std::getenv("SESSNIC_BENCH_PARTS"); dir != nullptr && *dir != '\0') {
    std::ofstream out(std::string(dir) + "/openssl.json");
    out << json;
    if (!out) {
      fmt::print(stderr, "bench_resume: cannot write {}/openssl.json\n", dir);
      return 1;
    }
  }
  return 0;
}
