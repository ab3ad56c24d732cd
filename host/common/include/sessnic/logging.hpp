// One log format for every sessnic process: timestamped (UTC, milliseconds), levelled,
// named after the process, to stderr (operators' supervisors and journald collect it).
//
//   2026-12-03T09:41:07.123Z info  sessnic-dispatch: listening on 127.0.0.1:8443
//
// The level comes from --log-level, else $SESSNIC_LOG_LEVEL, else "info".
#pragma once
#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace sessnic::logging {

// Sets the default spdlog logger. Throws std::invalid_argument on an unknown level name
// (trace, debug, info, warn, error, critical, off).
void init(std::string_view process, std::string_view level = {});

// The level names init() accepts, for --help texts.
inline constexpr const char* kLevels = "trace|debug|info|warn|error|critical|off";

}  // namespace sessnic::logging
