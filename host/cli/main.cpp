// `sessnic`: the operator's tool. Each subcommand lives in its own file and registers
// itself through one line in kSubcommands (see subcommand.hpp).
#include <fmt/format.h>

#include <exception>

#include "subcommand.hpp"

namespace {

constexpr sessnic::cli::Registrar kSubcommands[] = {
    sessnic::cli::register_keygen,
    sessnic::cli::register_cluster,
    sessnic::cli::register_stats,
    // Further subcommands (cluster up, stats, ...) are added here, one line each.
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sessnic: TLS session sharing across a cluster of servers"};
  app.require_subcommand(1);
  std::vector<sessnic::cli::Subcommand> subs;
  for (auto reg : kSubcommands) subs.push_back(reg(app));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (const auto& s : subs) {
    if (!s.app->parsed()) continue;
    try {
      return s.run();
    } catch (const std::exception& e) {
      fmt::print(stderr, "sessnic {}: {}\n", s.app->get_name(), e.what());
      return 1;
    }
  }
  return 1;  // unreachable: require_subcommand(1)
}
