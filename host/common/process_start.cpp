#include "sessnic/process_start.hpp"

#include <fmt/format.h>
#include <pthread.h>

#include <csignal>
#include <ctime>
#include <exception>

#include "sessnic/logging.hpp"

namespace sessnic {

SignalSet::SignalSet(std::initializer_list<int> signals) {
  sigemptyset(&set_);
  for (int s : signals) sigaddset(&set_, s);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

int SignalSet::wait() const {
  int sig = 0;
  while (sigwait(&set_, &sig) != 0) {
  }
  return sig;
}

int SignalSet::wait_for(std::chrono::nanoseconds timeout) const {
  if (timeout.count() < 0) timeout = std::chrono::nanoseconds(0);
  const timespec ts{static_cast<time_t>(timeout.count() / 1'000'000'000), static_cast<long>(timeout.count() % 1'000'000'000)};
  const int sig = sigtimedwait(&set_, nullptr, &ts);
  return sig > 0 ? sig : 0;  // EAGAIN (timeout) or EINTR (another signal): none of ours
}

bool start_process(std::string_view process, std::string_view log_level) {
  std::signal(SIGPIPE, SIG_IGN);
  try {
    logging::init(process, log_level);
    return true;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: {}\n", process, e.what());
    return false;
  }
}

}  // namespace sessnic
