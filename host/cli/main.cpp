// `sessnic`: the operator's tool. Each subcommand lives in its own file and registers
// itself through one line in kSubcommands (see subcommand.hpp).
#include <fmt/format.h>

#include <exception>
#include <optional>
#include <string>

#include "sessnic/version.hpp"
#include "subcommand.hpp"

namespace {

constexpr sessnic::cli::Registrar kSubcommands[] = {
    sessnic::cli::register_keygen,
    sessnic::cli::register_cluster,
    sessnic::cli::register_stats,
    sessnic::cli::register_card,
    // Further subcommands are added here, one line each.
};

// CLI11 would report `sessnic frobnicate` as "arguments were not expected"; name the
// word and list what exists instead. Follows the words that are subcommands
// (`sessnic cluster frobnicate` too); a word after an option is left to CLI11.
std::optional<std::string> unknown_subcommand(const CLI::App& root, int argc, char** argv) {
  const CLI::App* node = &root;
  std::string path = root.get_name();
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    auto subs = node->get_subcommands([](const CLI::App*) { return true; });
    if (word.empty() || word[0] == '-' || subs.empty()) return std::nullopt;
    const CLI::App* next = nullptr;
    std::string names;
    for (const CLI::App* s : subs) {
      if (s->check_name(word)) next = s;
      names += (names.empty() ? "" : ", ") + s->get_name();
    }
    if (!next) return fmt::format("{}: unknown subcommand '{}' (subcommands: {}; see {} --help)", path, word, names, path);
    node = next;
    path += " " + next->get_name();
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sessnic: TLS session sharing across a cluster of servers"};
  app.name("sessnic");
  app.set_version_flag("--version", std::string("sessnic ") + sessnic::kVersion);
  app.require_subcommand(1);
  std::vector<sessnic::cli::Subcommand> subs;
  for (auto reg : kSubcommands) subs.push_back(reg(app));
  if (auto err = unknown_subcommand(app, argc, argv)) {
    fmt::print(stderr, "{}\n", *err);
    return 2;
  }
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
