// The start-up every sessnic program shares (sessnic-server, sessnic-card,
// sessnic-dispatch, `sessnic cluster up`): its log set-up and its signal disposition.
//
// Signals a program acts on are taken synchronously: a SignalSet blocks them in the
// thread that makes it - before any other thread starts, so every thread inherits the
// mask - and the program receives them with wait() / wait_for() (sigwait), so no
// asynchronous handler ever runs. (sessnic-dispatch takes its own through asio instead.)
#pragma once
#include <signal.h>

#include <chrono>
#include <initializer_list>
#include <string_view>

namespace sessnic {

class SignalSet {
 public:
  // Blocks `signals` in the calling thread.
  SignalSet(std::initializer_list<int> signals);
  // The next of them (its number), waiting as long as it takes.
  int wait() const;
  // The next of them, or 0 when none came within `timeout`.
  int wait_for(std::chrono::nanoseconds timeout) const;

 private:
  sigset_t set_{};
};

// Ignores SIGPIPE (a peer that closed its socket is an error on that send, not the end of
// the process) and sets up logging for `process` (sessnic/logging.hpp: `level`, else
// $SESSNIC_LOG_LEVEL, else info). An unknown level is printed as "PROCESS: why" on stderr
// and answered false: the caller exits with status 2, as for any other usage error.
[[nodiscard]] bool start_process(std::string_view process, std::string_view log_level);

}  // namespace sessnic
