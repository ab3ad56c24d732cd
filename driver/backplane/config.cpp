#include <stdexcept>

#include "sessnic/backplane/config.hpp"

namespace sessnic::backplane {

Mode parse_mode(const std::string& name) {
  if (name == "replicate") return Mode::replicate;
  if (name == "transfer") return Mode::transfer;
  if (name == "hub") return Mode::hub;
  throw std::invalid_argument("backplane mode must be replicate, transfer or hub, got '" + name + "'");
}

const char* to_string(Mode m) {
  switch (m) {
    case Mode::replicate: return "replicate";
    case Mode::transfer: return "transfer";
    case Mode::hub: return "hub";
  }
  return "?";
}

}  // namespace sessnic::backplane
