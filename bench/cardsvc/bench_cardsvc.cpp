// bench_cardsvc: what a server process pays to reach the host's card through the card
// service (sessnic-card's CardService over a model card): the ServiceDevice (the one ring
// driver over the shared-memory rings, eventfd doorbells) doing one GET per execute(),
// as the OpenSSL session callbacks do.
//   cardsvc_cmds_per_s_1proc / _4proc   GETs/s summed over 1 or 4 client processes
//   cardsvc_get_p50_us / _p99_us        one GET's round trip, 1 client process
// Writes $SESSNIC_BENCH_PARTS/cardsvc.json when that variable is set.
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "card_service.hpp"
#include "sessnic/open_device.hpp"
#include "sessnic/shm/service_device.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kKeys = 1024;
constexpr auto kRun = std::chrono::milliseconds(1500);

sessnic::SessionKey key_n(unsigned n) {
  std::array<uint8_t, 32> id{};
  uint64_t x = n * 0x9E3779B97F4A7C15ull + 1;
  for (auto& b : id) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    b = static_cast<uint8_t>(x >> 24);
  }
  return sessnic::SessionKey::make(id, 1);
}

sessnic::shm::ServiceDeviceOptions client(const std::filesystem::path& sock) {
  sessnic::shm::ServiceDeviceOptions o;
  o.socket = sock;
  return o;
}

// A client process: attaches (retrying until the service listens), GETs until `end`
// starting at `start`, writes its count to `fd`.
[[noreturn]] void client_process(const std::filesystem::path& sock, Clock::time_point start, Clock::time_point end, int fd) {
  for (int attempt = 0; attempt < 500; ++attempt) {
    try {
      sessnic::shm::ServiceDevice dev(client(sock));
      std::this_thread::sleep_until(start);
      uint64_t n = 0, bad = 0;
      while (Clock::now() < end) {
        for (int i = 0; i < 64; ++i, ++n)
          if (dev.get(key_n(static_cast<unsigned>(n % kKeys))).status != sessnic::wire::Status::OK) ++bad;
      }
      const uint64_t msg[2] = {n, bad};
      [[maybe_unused]] auto w = ::write(fd, msg, sizeof msg);
      ::_exit(0);
    } catch (...) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ::_exit(3);
}

// GETs/s of `procs` client processes against a fresh service.
double rate(unsigned procs, const std::filesystem::path& dir) {
  const auto sock = dir / ("run" + std::to_string(procs)) / "card.sock";
  int fds[2];
  if (::pipe(fds) != 0) return 0;
  const auto start = Clock::now() + std::chrono::milliseconds(500);
  const auto end = start + kRun;
  std::vector<pid_t> kids;
  for (unsigned i = 0; i < procs; ++i) {  // forked before the service has threads
    const pid_t pid = ::fork();
    if (pid == 0) client_process(sock, start, end, fds[1]);
    kids.push_back(pid);
  }
  ::close(fds[1]);
  sessnic::DeviceConfig dc;
  dc.card_id = 1;
  auto card = sessnic::make_model_device(dc);
  for (int i = 0; i < kKeys; ++i) card->put(key_n(i), std::vector<uint8_t>(200, 7), sessnic::wall_clock_seconds() + 600);
  sessnic::cardsvc::CardServiceOptions o;
  o.socket = sock;
  sessnic::cardsvc::CardService svc(*card, o);
  svc.start();
  uint64_t total = 0, bad = 0;
  for (unsigned i = 0; i < procs; ++i) {
    uint64_t msg[2] = {0, 0};
    if (::read(fds[0], msg, sizeof msg) == sizeof msg) {
      total += msg[0];
      bad += msg[1];
    }
  }
  ::close(fds[0]);
  for (pid_t p : kids) ::waitpid(p, nullptr, 0);
  if (bad) std::fprintf(stderr, "bench_cardsvc: %llu GETs did not answer OK\n", static_cast<unsigned long long>(bad));
  return static_cast<double>(total) / std::chrono::duration<double>(kRun).count();
}

}  // namespace

int main() {
  std::string t = (std::filesystem::temp_directory_path() / "sessnic-bench-cardsvc.XXXXXX").string();
  const std::filesystem::path dir = ::mkdtemp(t.data());

  const double r1 = rate(1, dir);
  const double r4 = rate(4, dir);

  // Latency: one client in this process (the service's threads are started by now).
  double p50 = 0, p99 = 0;
  {
    sessnic::DeviceConfig dc;
    dc.card_id = 1;
    auto card = sessnic::make_model_device(dc);
    for (int i = 0; i < kKeys; ++i) card->put(key_n(i), std::vector<uint8_t>(200, 7), sessnic::wall_clock_seconds() + 600);
    sessnic::cardsvc::CardServiceOptions o;
    o.socket = dir / "lat" / "card.sock";
    sessnic::cardsvc::CardService svc(*card, o);
    svc.start();
    sessnic::shm::ServiceDevice dev(client(o.socket));
    std::vector<double> us;
    for (int i = 0; i < 21000; ++i) {
      const auto t0 = Clock::now();
      dev.get(key_n(static_cast<unsigned>(i % kKeys)));
      if (i >= 1000) us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    std::sort(us.begin(), us.end());
    p50 = us[us.size() / 2];
    p99 = us[us.size() * 99 / 100];
  }
  std::filesystem::remove_all(dir);

  std::printf("cardsvc_cmds_per_s_1proc %.0f\ncardsvc_cmds_per_s_4proc %.0f\ncardsvc_get_p50_us %.2f\ncardsvc_get_p99_us %.2f\n",
              r1, r4, p50, p99);
  if (const char* parts = std::getenv("SESSNIC_BENCH_PARTS")) {
    std::ofstream out(std::string(parts) + "/cardsvc.json");
    out << "{\"cardsvc_cmds_per_s_1proc\": " << static_cast<uint64_t>(r1)
        << ", \"cardsvc_cmds_per_s_4proc\": " << static_cast<uint64_t>(r4) << ", \"cardsvc_get_p50_us\": " << p50
        << ", \"cardsvc_get_p99_us\": " << p99 << "}\n";
  }
  return r1 > 0 && r4 > 0 ? 0 : 1;
}
