#include "sessnic/logging.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cstdlib>
#include <stdexcept>

namespace sessnic::logging {

void init(std::string_view process, std::string_view level) {
  std::string name(level);
  if (name.empty()) {
    const char* env = std::getenv("SESSNIC_LOG_LEVEL");
    name = env && *env ? env : "info";
  }
  const auto lvl = spdlog::level::from_str(name);
  // from_str answers "off" for anything it does not know; only "off" itself may mean off.
  if (lvl == spdlog::level::off && name != "off")
    throw std::invalid_argument(fmt::format("unknown log level '{}' (use {})", name, kLevels));
  auto logger = std::make_shared<spdlog::logger>(std::string(process), std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l %n: %v", spdlog::pattern_time_type::utc);
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace sessnic::logging
